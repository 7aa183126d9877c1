"""PostgreSQL from the distribution's packages, as a private cluster of the local stack.

The cluster lives in `.local/pg`, or, when its server user cannot reach the checkout (a
clone in a private home, started as root), under /var/lib/contactmoment (see
pg_placement.py). It listens on 127.0.0.1 only and trusts local TCP connections, so the
default CONTACTMOMENT_DATABASE_URL needs no password; it is a development and test stack.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from services.dev.errors import StackError
from services.dev.pg_placement import (
    RELOCATED_ROOT,
    Account,
    DirEntry,
    Placement,
    first_barrier,
    place_cluster,
    relocated_base,
    relocated_home,
)
from services.dev.processes import pid_alive, wait_until
from services.dev.system import postgres_bindir
from services.ports import port_open, require_port_free
from services.settings import PROJECT_ROOT, Settings

READY_TIMEOUT = 60.0
# The group roles of 0005_roles.sql (NOLOGIN; the migration grants them their rights) and
# the LOGIN user the local stack makes in each, one per process kind.
GROUP_ROLES = {
    "api": "contactmoment_api",
    "projector": "contactmoment_projector",
    "privacy": "contactmoment_privacy",
}
LOGIN_USERS = {kind: f"{role}_local" for kind, role in GROUP_ROLES.items()}
# initdb and the server refuse to run as root; as root we run them as this system user.
SERVICE_USER = "postgres"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class PostgresStatus:
    running: bool
    pid: int | None
    address: str
    log: Path
    data: Path
    moved_because: str | None


class LocalPostgres:
    """Files under its home: data/ (the cluster), run/ (socket), postgres.log."""

    def __init__(
        self,
        settings: Settings,
        relocated_root: Path = RELOCATED_ROOT,
        checkout: Path = PROJECT_ROOT,
    ) -> None:
        self.settings = settings
        self.db = settings.database
        local_dir = settings.local_dir.resolve()
        self.local_home = local_dir / "pg"
        self.relocated_root = relocated_root
        self.relocated_base = relocated_base(relocated_root, checkout)
        self.relocated_home = relocated_home(relocated_root, checkout, local_dir)
        try:
            self.placement = self._place(service_account(create=False))
        except StackError:
            # Nothing can start there; status and down still look in the checkout, and
            # `up` raises the error again before it creates anything.
            self.placement = Placement(self.local_home)

    @property
    def home(self) -> Path:
        return self.placement.home

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def log(self) -> Path:
        return self.home / "postgres.log"

    def _place(self, server: Account) -> Placement:
        return place_cluster(
            local=self.local_home,
            relocated=self.relocated_home,
            server=server,
            can_relocate=running_as_root(),
            exists_local=has_cluster(self.local_home),
            exists_relocated=has_cluster(self.relocated_home),
            local_barrier=first_barrier(directory_chain(self.local_home.parent), server),
            relocated_barrier=first_barrier(directory_chain(self.relocated_home), server),
        )

    def _pid(self) -> int | None:
        return _postmaster_pid(self.data)

    def status(self) -> PostgresStatus:
        pid = self._pid()
        alive = pid_alive(pid)
        return PostgresStatus(
            running=alive,
            pid=pid if alive else None,
            address=f"{self.db.host}:{self.db.port}",
            log=self.log,
            data=self.data,
            moved_because=self.placement.moved_because,
        )

    def _as_service_user(self, argv: list[str]) -> list[str]:
        if not running_as_root():
            return argv
        return ["runuser", "-u", SERVICE_USER, "--", *argv]

    def _run(self, argv: list[str], what: str) -> None:
        # cwd: the service user may not be able to enter the caller's working directory.
        result = subprocess.run(
            self._as_service_user(argv), capture_output=True, text=True, cwd=self.home
        )
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
            # Placed again now the service user exists: it decides who must reach the cluster.
            self.placement = self._place(service_account(create=True))
            self._prepare_dirs()
            if not (self.data / "PG_VERSION").exists():
                if self.placement.relocated:
                    progress(
                        f"{self.placement.moved_because}, so the PostgreSQL cluster lives in "
                        f"{self.home} (`make clean` deletes it)"
                    )
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
        # A relocated home and the two directories above it belong to the service user,
        # mode 700: nobody else needs to enter them.
        private = (
            [self.relocated_root, self.relocated_base, self.home]
            if self.placement.relocated
            else []
        )
        for path in private:
            path.mkdir(mode=0o700, exist_ok=True)
            path.chmod(0o700)
        for path in (self.home, self.run_dir):
            path.mkdir(parents=True, exist_ok=True)
        if running_as_root():
            user = pwd.getpwnam(SERVICE_USER)
            data = [self.data] if self.data.exists() else []
            for path in {*private, self.home, self.run_dir, *data}:
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
        if running_as_root():
            shutil.chown(conf, SERVICE_USER, SERVICE_USER)

    def _ensure_role_and_database(self) -> None:
        import psycopg
        from psycopg import sql

        dsn = f"host={self.db.host} port={self.db.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:

            def ensure_role(name: str, options: str, member_of: str | None = None) -> None:
                if not conn.execute(
                    "SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)
                ).fetchone():
                    conn.execute(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(name)))
                if member_of:
                    conn.execute(
                        sql.SQL("GRANT {} TO {}").format(
                            sql.Identifier(member_of), sql.Identifier(name)
                        )
                    )

            ensure_role(self.db.user, "LOGIN")
            # Least privilege (0005_roles.sql): the owner above runs the migrations; each
            # process kind logs in as its own user, a member of its group role.
            for kind, group in GROUP_ROLES.items():
                ensure_role(group, "NOLOGIN")
                ensure_role(LOGIN_USERS[kind], "LOGIN", member_of=group)
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

    def clean(self) -> list[Path]:
        """Delete this stack's stopped cluster and every cluster of the checkout kept under
        RELOCATED_ROOT (the fault tests' stacks too); the directories deleted.

        Refuses, deleting nothing, while any of them runs."""
        relocated = self.relocated_base if _is_dir(self.relocated_base) else None
        clusters = [self.home, self.local_home]
        if relocated:
            clusters += [p for p in relocated.iterdir() if p.is_dir()]
        running = [home for home in clusters if pid_alive(_postmaster_pid(home / "data"))]
        if running:
            raise StackError(
                f"PostgreSQL is running in {running[0]}; stop it first (`make down`, or let "
                "the tests that started it finish)"
            )
        deleted = [home for home in (self.local_home, relocated) if home and home.exists()]
        for home in deleted:
            shutil.rmtree(home)
        if relocated and self.relocated_root.is_dir() and not any(self.relocated_root.iterdir()):
            self.relocated_root.rmdir()
        return deleted


def running_as_root() -> bool:
    """As root the server runs as SERVICE_USER, and a cluster may be relocated."""
    return os.geteuid() == 0


def service_account(*, create: bool) -> Account:
    """Who runs the server: the `postgres` system user as root (made when `create` and
    missing), else the caller. A user that does not exist yet owns nothing and is in no
    group, so it can enter only what everybody can."""
    if not running_as_root():
        return Account(
            pwd.getpwuid(os.geteuid()).pw_name,
            os.geteuid(),
            frozenset({os.getegid(), *os.getgroups()}),
        )
    try:
        user = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        if not create:
            return Account(SERVICE_USER, -1, frozenset())
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
    groups = {g.gr_gid for g in grp.getgrall() if SERVICE_USER in g.gr_mem}
    return Account(SERVICE_USER, user.pw_uid, frozenset({user.pw_gid, *groups}))


def directory_chain(path: Path) -> list[DirEntry]:
    """Every directory from / down to `path` that exists, as stat(2) shows it.

    Stops at the first one missing (it will be created) or unreadable to the caller."""
    chain = []
    for directory in (*reversed(path.parents), path):
        try:
            info = directory.stat()
        except OSError:
            break
        chain.append(DirEntry(directory, info.st_mode, info.st_uid, info.st_gid))
    return chain


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, PermissionError, ValueError, IndexError):
        return None


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # not ours to enter (made by root for the service user)
        return False


def has_cluster(home: Path) -> bool:
    """Whether `home` holds an initialised cluster (unreadable counts as no)."""
    try:
        return (home / "data" / "PG_VERSION").exists()
    except OSError:
        return False


def process_database_urls(database_url: str) -> dict[str, str]:
    """The local stack's URL per process kind (its LOGIN user instead of the owner), as the
    environment variables that select them (CONTACTMOMENT_API_DATABASE_URL, …)."""
    parts = urlsplit(database_url)
    host = parts.netloc.rpartition("@")[2]
    return {
        f"CONTACTMOMENT_{kind.upper()}_DATABASE_URL": urlunsplit(
            parts._replace(netloc=f"{user}@{host}")
        )
        for kind, user in LOGIN_USERS.items()
    }
