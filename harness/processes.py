"""A real `contactmoment api` process on free ports, its output captured for inspection."""

import os
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from services.dev.smtp_secrets import SmtpSecrets, ensure_smtp_secrets
from services.ports import port_open
from services.runner import local_sign_in
from services.settings import load_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningApi:
    process: subprocess.Popen[bytes]
    base_url: str
    smtp_port: int
    token: str
    pseudonym_key: str
    log_path: Path
    smtp_secrets: SmtpSecrets

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def smtp(self, login: bool = True) -> smtplib.SMTP:
        """A session with SMTP ingress after STARTTLS (the test certificate trusted), signed
        in as the gateway unless `login` is False."""
        context = ssl.create_default_context(cafile=str(self.smtp_secrets.cert))
        session = smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=30)
        session.starttls(context=context)
        if login:
            session.login(self.smtp_secrets.user, self.smtp_secrets.password)
        return session

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class RunningProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    metrics_port: int | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_process(name: str, args: list[str], env: dict[str, str] | None = None) -> RunningProcess:
    """`contactmoment <args>` in the background, its output in a temporary log file."""
    log_path = Path(tempfile.mkstemp(prefix=f"contactmoment-{name}-", suffix=".log")[1])
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_interruptible,
        )
    return RunningProcess(process, log_path)


def _interruptible() -> None:
    # The tests stop a process with SIGINT (the simulator, as Ctrl-C would). A shell that
    # runs the suite in the background starts it with SIGINT ignored, which every child
    # inherits and Python then honours: the process would never stop.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_ready(
    process: RunningProcess, ready: Callable[[], bool], what: str, timeout: float = 60
) -> None:
    """Until `ready()`; a process that exits or overruns is stopped and fails the test."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.process.poll() is not None or time.monotonic() > deadline:
            process.stop()
            raise AssertionError(f"{what} did not start:\n{process.log()[-3000:]}")
        time.sleep(0.2)


def wait_worker_ready(worker: RunningProcess, timeout: float = 90) -> None:
    """Until faust logs that the worker recovered its tables and is ready."""
    wait_ready(worker, lambda: "Worker]: Ready" in worker.log(), "the worker", timeout)


def start_projector(
    group: str = "contactmoment-projector", env: dict[str, str] | None = None
) -> RunningProcess:
    port = free_port()
    running = start_process(
        "projector",
        ["projector", "--group", group],
        {"CONTACTMOMENT_PROJECTOR_METRICS_PORT": str(port), **(env or {})},
    )
    running.metrics_port = port
    deadline = time.monotonic() + 30
    while not port_open("127.0.0.1", port):
        if running.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the projector did not start:\n{running.log()}")
        time.sleep(0.2)
    return running


PORTAL = "http://mijn.gemeente.example"  # the portal origin the test API trusts (http: an
# https page posting to the http test server would send `Origin: null`, a downgrade)


def start_api(
    extra_env: dict[str, str] | None = None,
    args: tuple[str, ...] = ("--log-level", "debug", "--access-log"),
) -> RunningApi:
    api_port, smtp_port = free_port(), free_port()
    key = "it-pseudonym-" + os.urandom(8).hex()
    log_path = Path(tempfile.mkstemp(prefix="contactmoment-api-", suffix=".log")[1])
    # the development issuer's JWTs (the API token is one with every role but department)
    # and cookies over plain http, as `make run` has them
    sign_in = local_sign_in(load_settings())
    token = sign_in["CONTACTMOMENT_API_TOKEN"]
    # Its own gateway account and TLS pair, not the ones `make run` keeps in .local/.
    smtp_secrets = ensure_smtp_secrets(Path(tempfile.mkdtemp(prefix="contactmoment-smtp-")))
    env = {
        **os.environ,
        "CONTACTMOMENT_API_PORT": str(api_port),
        "CONTACTMOMENT_SMTP_PORT": str(smtp_port),
        "CONTACTMOMENT_PORTAL_ORIGINS": PORTAL,
        # One API serves a whole test session, signing in and searching from one address
        # far more than a person would; the limits themselves are unit-tested.
        "CONTACTMOMENT_LOGIN_ATTEMPTS_PER_MINUTE": "100000",
        "CONTACTMOMENT_SEARCHES_PER_MINUTE": "100000",
        **sign_in,
        "CONTACTMOMENT_PSEUDONYM_KEY": key,
        **smtp_secrets.env(),
        **(extra_env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "api", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    api = RunningApi(
        process, f"http://127.0.0.1:{api_port}", smtp_port, token, key, log_path, smtp_secrets
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API process exited:\n{api.log()}")
        if port_open("127.0.0.1", api_port) and port_open("127.0.0.1", smtp_port):
            if httpx.get(f"{api.base_url}/healthz").status_code == 200:
                return api
        time.sleep(0.2)
    api.stop()
    raise RuntimeError(f"the API did not come up in 30 s:\n{api.log()}")
