"""`contactmoment run`: the long-running processes of the local stack in the foreground.

Each process is a child `contactmoment <command>`; their output is interleaved with a name
prefix. Ctrl-C (or one child dying) stops them all; the stack's data stays in `.local/`.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from services.dev.postgres import process_database_urls
from services.dev.smtp_secrets import ensure_smtp_secrets
from services.dev.tokens import DEV_ISSUER, DEV_SUBJECT, ensure_issuer, staff_token
from services.settings import Settings


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]


def default_processes(settings: Settings, available: set[str]) -> list[ProcessSpec]:
    """The processes `make run` starts, limited to those this version provides."""
    wanted = [
        ProcessSpec("api", ("api",)),
        ProcessSpec("worker", ("worker",)),
        ProcessSpec("projector", ("projector",)),
        ProcessSpec("simulate", ("simulate", "--rate", "2", "--duration", "0")),
    ]
    return [spec for spec in wanted if spec.argv[0] in available]


def banner(settings: Settings, processes: Sequence[ProcessSpec], token: str | None = None) -> str:
    base = f"http://127.0.0.1:{settings.api_port}"
    lines = [
        "contactmoment is running",
        f"  Kafka        {settings.kafka_bootstrap}",
        f"  PostgreSQL   {settings.database_url}",
        f"  processes    {', '.join(p.name for p in processes) or '(none yet)'}",
    ]
    if any(p.name == "api" for p in processes):
        lines += [
            f"  API          {base}/v1  (OpenAPI: {base}/openapi.json)",
            f"  metrics      {base}/metrics",
            f"  API token    {token}  (development only: every staff role but department, "
            "valid 7 days)"
            if token
            else "  API token    your issuer's JWTs (CONTACTMOMENT_JWT_JWKS)",
            "  role tokens  .venv/bin/contactmoment dev token --role kcc|department|regieteam|"
            "auditor|channel [--department D]",
            f"  resident     {base}/ui/mijn  (token: echo BSN | .venv/bin/contactmoment dev token"
            " --resident)",
        ]
    lines.append("Ctrl-C stops the processes; `make down` stops Kafka and PostgreSQL.")
    return "\n".join(lines)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the children the same way Ctrl-C does


DEV_TOKEN_MINUTES = 7 * 24 * 60


def local_sign_in(settings: Settings) -> dict[str, str]:
    """The local stack signs in with the development issuer's JWTs (`contactmoment dev
    token`), unless an issuer is configured. The static token is off: it is refused beside a
    key set. CONTACTMOMENT_API_TOKEN becomes a development JWT with every staff role but
    department, for the simulator and the banner. Cookies go over plain http on localhost."""
    env = {
        "PYTHONUNBUFFERED": "1",
        "CONTACTMOMENT_ALLOW_STATIC_TOKEN": "false",
        "CONTACTMOMENT_INSECURE_COOKIES": "true",
    }
    if not settings.jwt_jwks:
        _, jwks = ensure_issuer(settings.local_dir)
        token = staff_token(
            settings.local_dir,
            DEV_SUBJECT,
            ["kcc", "regieteam", "auditor", "channel"],
            minutes=DEV_TOKEN_MINUTES,
        )
        env |= {
            "CONTACTMOMENT_JWT_ISSUER": DEV_ISSUER,
            "CONTACTMOMENT_JWT_JWKS": str(jwks),
            "CONTACTMOMENT_API_TOKEN": token,
        }
    return env


def local_smtp(settings: Settings) -> tuple[dict[str, str], str]:
    """SMTP ingress settings for the local stack (the generated gateway account and TLS pair
    under `.local/smtp/`, unless configured) and the banner line that says how to sign in."""
    given = (settings.smtp_users_file, settings.smtp_tls_cert, settings.smtp_tls_key)
    where = f"127.0.0.1:{settings.smtp_port}"
    if all(given):
        return {}, f"  SMTP         {where}  (TLS and users as configured)"
    made = ensure_smtp_secrets(settings.local_dir / "smtp")
    tls = "implicit TLS" if settings.smtp_implicit_tls else "STARTTLS"
    return made.env(), (
        f"  SMTP         {where}  ({tls}, AUTH user {made.user!r} password {made.password}; "
        f"from {made.users_file.parent}, certificate {made.cert})"
    )


def run(settings: Settings, processes: Sequence[ProcessSpec]) -> int:
    sign_in = local_sign_in(settings)
    smtp_env, smtp_line = local_smtp(settings)
    sign_in |= smtp_env
    print(banner(settings, processes, sign_in.get("CONTACTMOMENT_API_TOKEN")), flush=True)
    if any(p.name == "api" for p in processes):
        print(smtp_line, flush=True)
    if not processes:
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    children: dict[str, subprocess.Popen[bytes]] = {}
    selector = selectors.DefaultSelector()
    for spec in processes:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *spec.argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            # Each process kind's own database role (0005_roles.sql) unless set already.
            env={**process_database_urls(settings.database_url), **os.environ, **sign_in},
            start_new_session=True,
        )
        children[spec.name] = proc
        assert proc.stdout is not None
        selector.register(proc.stdout, selectors.EVENT_READ, spec.name)
    width = max(len(n) for n in children)
    show_customer_at = time.monotonic() + 20 if "api" in children else None
    try:
        while True:
            if show_customer_at and time.monotonic() > show_customer_at:
                show_customer_at = _print_rich_customer(settings)
            for key, _ in selector.select(timeout=1.0):
                line = key.fileobj.readline()  # type: ignore[union-attr]
                if line:
                    print(f"{key.data:<{width}} | {line.decode(errors='replace').rstrip()}")
            exited = {n: p.returncode for n, p in children.items() if p.poll() is not None}
            if exited:
                name, code = next(iter(exited.items()))
                print(f"{name} exited with status {code}; stopping the others", flush=True)
                return code or 1
    except KeyboardInterrupt:
        print("\nstopping …", flush=True)
        return 0
    finally:
        _stop_all(list(children.values()))


def _print_rich_customer(settings: Settings) -> float | None:
    """Point the demo at a customer with a rich history; try again later if none yet."""
    import psycopg

    from services.readmodel.customers import RICHEST_BSN_CUSTOMER

    try:
        with psycopg.connect(settings.database_url, connect_timeout=3) as conn:
            row = conn.execute(RICHEST_BSN_CUSTOMER).fetchone()
    except psycopg.Error:
        row = None
    if not row:
        return time.monotonic() + 10
    url = f"http://127.0.0.1:{settings.api_port}/ui/customers/{row[0]}"
    print(
        f"\n  staff page of a customer with a rich history: {url}\n"
        "  (log in with the API token shown above)\n",
        flush=True,
    )
    return None


def _stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    for proc in children:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in children:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
