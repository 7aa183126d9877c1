"""`contactmoment dev up | down | status`: both servers of the local stack together."""

from __future__ import annotations

import time
from collections.abc import Callable

from services.dev.kafka import LocalKafka
from services.dev.postgres import LocalPostgres
from services.settings import Settings

Progress = Callable[[str], None]


def up(settings: Settings, progress: Progress = print) -> dict[str, float]:
    """Start PostgreSQL and Kafka (each only if not running); seconds each took."""
    timings: dict[str, float] = {}
    settings.ensure_secrets()
    for name, server in (("postgres", LocalPostgres(settings)), ("kafka", LocalKafka(settings))):
        started = time.monotonic()
        was_running = server.status().running
        server.up(progress)
        timings[name] = time.monotonic() - started
        state = "already running" if was_running else "ready"
        progress(f"{name}: {state} ({timings[name]:.1f} s)")
    return timings


def down(settings: Settings, progress: Progress = print) -> None:
    for name, server in (("kafka", LocalKafka(settings)), ("postgres", LocalPostgres(settings))):
        stopped = server.down()
        progress(f"{name}: {'stopped' if stopped else 'was not running'}")


def status_lines(settings: Settings) -> tuple[list[str], bool]:
    """One line per server (name, state, address, pid, log) and whether all run."""
    lines, all_up = [], True
    for name, server in (("kafka", LocalKafka(settings)), ("postgres", LocalPostgres(settings))):
        st = server.status()
        all_up &= st.running
        state = f"running  pid {st.pid}" if st.running else "stopped"
        lines.append(f"{name:<9} {state:<18} {st.address:<22} log {st.log}")
    return lines, all_up
