"""Several API processes on one port: `contactmoment api --workers N`.

uvicorn's supervisor binds the port once and hands the socket to N worker processes, each
a whole API (its own Kafka producer, database pool, key cache and rate limits). What must
be one across them:

- /metrics: every worker writes its counters to files in PROMETHEUS_MULTIPROC_DIR and any
  worker answers a scrape with the sum over all of them (prometheus_client's multiprocess
  mode), so a scrape that lands on one worker still counts the calls the others took;
- SMTP ingress: one port, one listener. The worker holding an exclusive lock on a file in
  that directory serves it; when that worker dies the kernel drops its lock, and the worker
  uvicorn starts in its place takes it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO

from fastapi import FastAPI
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SMTP_ENV = "CONTACTMOMENT_API_WORKER_SMTP"  # "1": one worker serves SMTP ingress
SMTP_LOCK = "smtp.lock"

_held: IO[str] | None = None  # the lock file, open for this process's lifetime


def metrics_registry() -> CollectorRegistry:
    """The registry /metrics serves: the sum over every worker's files in multiprocess
    mode, this process's own metrics otherwise."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def prepare_directory(given: str | None) -> tuple[Path, bool]:
    """The metrics directory for a new set of workers, emptied (files of processes that
    ran before would be summed in); True when it is a temporary one this run made."""
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return path, False
    return Path(tempfile.mkdtemp(prefix="contactmoment-metrics-")), True


def remove_directory(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def claim_smtp(directory: str) -> bool:
    """Take the SMTP lock without waiting; True when this process now holds it."""
    global _held
    handle = open(Path(directory) / SMTP_LOCK, "a")  # held open until the process exits
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False
    _held = handle
    return True


def worker_app() -> FastAPI:
    """The app of one worker (uvicorn calls this in each worker process)."""
    from services.api.app import create_app
    from services.settings import load_settings

    smtp = os.environ.get(SMTP_ENV) == "1" and claim_smtp(os.environ[MULTIPROC_ENV])
    return create_app(load_settings(), smtp=smtp)
