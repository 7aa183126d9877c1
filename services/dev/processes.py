"""Process helpers for the local stack: pid files, liveness, readiness waits.

Port checks live in services/ports.py: the production processes need them too."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from services.dev.errors import StackError

# Servers started by this process. Kept so they can be reaped when they exit (the fault
# tests kill and restart servers from one process) and so that a dropped Popen of a server
# that is meant to outlive us does not warn.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid in _CHILDREN:
        return _CHILDREN[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited child not yet reaped) still answers kill(0); look at its state.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return True


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def start_detached(argv: list[str], log_path: Path, pid_path: Path, cwd: Path) -> int:
    """Start a long-running server in its own session; output goes to log_path."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    pid_path.write_text(f"{proc.pid}\n")
    _CHILDREN[proc.pid] = proc
    return proc.pid


def wait_until(
    ready: Callable[[], bool],
    *,
    timeout: float,
    alive: Callable[[], bool],
    what: str,
    log_path: Path,
) -> float:
    """Poll `ready` until true; fail early if the process died. Returns seconds waited."""
    started = time.monotonic()
    while True:
        if ready():
            return time.monotonic() - started
        if not alive():
            raise StackError(f"{what} exited during start-up; read {log_path}")
        if time.monotonic() - started > timeout:
            raise StackError(f"{what} was not ready within {timeout:.0f} s; read {log_path}")
        time.sleep(0.25)


def stop_pid(pid: int, *, timeout: float = 30.0) -> None:
    """SIGTERM, wait for a clean shutdown, SIGKILL as a last resort."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
