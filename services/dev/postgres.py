"""PostgreSQL from the distribution's packages, as a private cluster under `.local/pg`.

The cluster listens on 127.0.0.1 only and trusts local TCP connections, so the default
CONTACTMOMENT_DATABASE_URL needs no password; it is a development and test stack.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.dev.errors import StackError
from services.dev.processes import pid_alive, port_open, require_port_free, wait_until
from services.dev.system import postgres_bindir
from services.settings import Settings

READY_TIMEOUT = 60.0
# initdb and the server refuse to run as root; as root we run them as this system user.
SERVICE_USER = "postgres"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class PostgresStatus:
    running: bool
    pid: int | None
    address: str
    log: Path


class LocalPostgres:
    """Files under `.local/pg`: data/ (the cluster), run/ (socket), postgres.log."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = settings.database
        self.home = settings.local_dir / "pg"
        self.data = self.home / "data"
        self.run_dir = self.home / "run"
        self.log = self.home / "postgres.log"

    def _pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, PermissionError, ValueError, IndexError):
            return None

    def status(self) -> PostgresStatus:
        pid = self._pid()
        alive = pid_alive(pid)
        return PostgresStatus(
            running=alive,
            pid=pid if alive else None,
            address=f"{self.db.host}:{self.db.port}",
            log=self.log,
        )

    def _as_service_user(self, argv: list[str]) -> list[str]:
        if os.geteuid() != 0:
            return argv
        return ["runuser", "-u", SERVICE_USER, "--", *argv]

    def _run(self, argv: list[str], what: str) -> None:
        result = subprocess.run(self._as_service_user(argv), capture_output=True, text=True)
        if result.returncode != 0:
            raise StackError(
                f"{what} failed (read {self.log}):\n{(result.stdout + result.stderr)[-3000:]}"
            )

    def up(self, progress: Progress = print) -> float:
        """Start the cluster unless it runs; create role and database. Seconds until ready."""
        host, port = self.db.host, self.db.port
        if not self.status().running:
            require_port_free(host, port, "PostgreSQL", "CONTACTMOMENT_DATABASE_URL")
            bindir = postgres_bindir()
            self._prepare_dirs()
            if not (self.data / "PG_VERSION").exists():
                progress(f"creating the PostgreSQL cluster in {self.data} (first start only) …")
                self._run(
                    [
                        str(bindir / "initdb"),
                        "-D",
                        str(self.data),
                        "-U",
                        "postgres",
                        "--auth=trust",
                        "-E",
                        "UTF8",
                        "--locale=C.UTF-8",
                    ],
                    "initdb",
                )
            self._write_config()
            progress(f"starting PostgreSQL on {host}:{port} (log: {self.log})")
            self._run(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.log),
                    "-w",
                    "-t",
                    str(int(READY_TIMEOUT)),
                    "start",
                ],
                "pg_ctl start",
            )
        waited = wait_until(
            lambda: port_open(host, port),
            timeout=READY_TIMEOUT,
            alive=lambda: self.status().running,
            what="PostgreSQL",
            log_path=self.log,
        )
        self._ensure_role_and_database()
        return waited

    def _prepare_dirs(self) -> None:
        for path in (self.home, self.run_dir):
            path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam(SERVICE_USER)
            except KeyError:
                subprocess.run(
                    [
                        "useradd",
                        "--system",
                        "--no-create-home",
                        "--shell",
                        "/usr/sbin/nologin",
                        SERVICE_USER,
                    ],
                    check=True,
                )
                user = pwd.getpwnam(SERVICE_USER)
            for path in (self.home, self.run_dir, *([self.data] if self.data.exists() else [])):
                shutil.chown(path, user.pw_uid, user.pw_gid)
            self.log.touch(exist_ok=True)
            shutil.chown(self.log, user.pw_uid, user.pw_gid)

    def _write_config(self) -> None:
        # Written on every start so a changed port in CONTACTMOMENT_DATABASE_URL takes effect.
        conf = self.data / "postgresql.auto.conf"
        settings = {
            "listen_addresses": f"'{self.db.host}'",
            "port": str(self.db.port),
            "unix_socket_directories": f"'{self.run_dir}'",
            "max_connections": "200",
            "shared_buffers": "'256MB'",
        }
        text = "# written by `contactmoment dev up`\n" + "".join(
            f"{key} = {value}\n" for key, value in settings.items()
        )
        conf.write_text(text)
        if os.geteuid() == 0:
            shutil.chown(conf, SERVICE_USER, SERVICE_USER)

    def _ensure_role_and_database(self) -> None:
        import psycopg
        from psycopg import sql

        dsn = f"host={self.db.host} port={self.db.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
            role = conn.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s", (self.db.user,)
            ).fetchone()
            if not role:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(self.db.user)))
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.db.name,)
            ).fetchone()
            if not exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(self.db.name), sql.Identifier(self.db.user)
                    )
                )

    def down(self) -> bool:
        if not self.status().running:
            return False
        bindir = postgres_bindir()
        self._run(
            [str(bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
            "pg_ctl stop",
        )
        return True
