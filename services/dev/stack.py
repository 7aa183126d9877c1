"""`contactmoment dev up | down | status | clean`: both servers of the local stack together."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from services.dev.kafka import LocalKafka
from services.dev.postgres import LocalPostgres
from services.dev.tokens import ensure_issuer
from services.settings import Settings

Progress = Callable[[str], None]


def up(
    settings: Settings,
    progress: Progress = print,
    brokers: int | None = None,
    secure: bool = False,
) -> LocalKafka:
    """Start PostgreSQL and Kafka (each only if not running); the Kafka cluster started.
    `secure`: Kafka with TLS, SASL/SCRAM-SHA-512 and ACLs (services/dev/kafka.py)."""
    settings.ensure_secrets()
    ensure_issuer(settings.local_dir)
    postgres, kafka = LocalPostgres(settings), LocalKafka(settings, brokers, secure=secure)
    for name, server, was_running in (
        ("postgres", postgres, postgres.status().running),
        ("kafka", kafka, kafka.running),
    ):
        started = time.monotonic()
        server.up(progress)
        took = time.monotonic() - started
        progress(f"{name}: {'already running' if was_running else 'ready'} ({took:.1f} s)")
    return kafka


def down(settings: Settings, progress: Progress = print) -> None:
    progress(f"kafka: {'stopped' if LocalKafka(settings).down() else 'was not running'}")
    postgres = LocalPostgres(settings).down()
    progress(f"postgres: {'stopped' if postgres else 'was not running'}")


def status_lines(settings: Settings) -> tuple[list[str], bool]:
    """One line per server (name, state, address, pid, log) and whether all run."""
    kafka = LocalKafka(settings)
    rows = [
        (f"kafka-{s.node_id}" if kafka.brokers > 1 else "kafka", s.running, s.pid, s.address, s.log)
        for s in kafka.status()
    ]
    pg = LocalPostgres(settings).status()
    rows.append(("postgres", pg.running, pg.pid, pg.address, pg.log))
    lines = [
        f"{name:<9} {f'running  pid {pid}' if running else 'stopped':<18} {address:<22} log {log}"
        for name, running, pid, address, log in rows
    ]
    outside = f" (outside the checkout: {pg.moved_because})" if pg.moved_because else ""
    lines.append(f"{'':<9} postgres cluster in {pg.data}{outside}")
    return lines, all(row[1] for row in rows)


def clean(settings: Settings, progress: Progress = print) -> list[Path]:
    """Stop both servers, then delete the PostgreSQL cluster wherever it lives (with the
    checkout's clusters kept outside it); the directories deleted. `.local/` is the caller's."""
    down(settings, progress)
    deleted = LocalPostgres(settings).clean()
    for path in deleted:
        progress(f"deleted {path}")
    return deleted
