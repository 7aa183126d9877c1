"""Projector and replay benchmark: a realistic backlog caught up, beside a raw COPY.

Generates years of a municipality's history at --scale (benchmarks/volume_data.py: contacts,
requests with their lifecycles, deadline signals, shared identifiers; sealed as the API
seals them, data keys COPYed into privacy.data_keys) onto a topic of its own, then in the
same run:
1. the in-process Projector catches up into a fresh schema (events/s from its first
   applied batch), with the CPU seconds of this process and of the PostgreSQL server's
   processes over that time (from /proc: the share each took of the machine);
2. `replay` rebuilds the read model from that topic into a second schema and is compared
   with the first (rows that differ per table: 0 everywhere, or the run fails);
3. the reference: the same events COPYed by raw asyncpg into a scratch table.
With --profile DIR, py-spy records this process during 1 and 2 (DIR/projector.svg,
DIR/replay.svg). JSON in benchmarks/results/projector.json; schemas, topics and keys are
dropped at the end.

    python -m benchmarks.projector [--scale 0.05] [--seed 1] [--profile docs/profiles]
    (make bench-projector; the local stack must be up)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from benchmarks.common import report
from benchmarks.volume import (
    PARTITIONS,
    copy_keys,
    drop,
    progress,
    project,
    publish,
    raw_copy,
)
from benchmarks.volume_data import Volume, anchor_now, plan
from harness.kafka import create_topic
from services.projector.apply import ProjectionConfig
from services.projector.replay import replay
from services.readmodel.migrate import migrate
from services.settings import load_settings

TARGETS = {"projector_events_per_s": 15_000, "replay_events_per_s": 25_000}
T = TypeVar("T")


def _ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


async def _backend_ticks(database_url: str, application: str, seen: dict[int, int]) -> None:
    """Until cancelled: the CPU ticks of every PostgreSQL backend serving `application`
    (its connections name themselves so), read from /proc twice a second; a backend's last
    reading stays when its connection closes."""
    conn = await asyncpg.connect(database_url)
    try:
        while True:
            for (pid,) in await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", application
            ):
                seen[pid] = max(seen.get(pid, 0), _ticks(pid))
            await asyncio.sleep(0.5)
    finally:
        await conn.close()


async def measured(
    database_url: str, application: str, work: Callable[[], Awaitable[T]]
) -> tuple[T, dict[str, float]]:
    """Run `work`; the CPU seconds this process and the PostgreSQL backends of its
    connections (named `application`) used meanwhile, and their share of the wall time."""
    hz = os.sysconf("SC_CLK_TCK")
    backends: dict[int, int] = {}
    sampler = asyncio.create_task(_backend_ticks(database_url, application, backends))
    me_before, wall_before = _ticks(os.getpid()), time.monotonic()
    try:
        result = await work()
    finally:
        wall = time.monotonic() - wall_before
        me = (_ticks(os.getpid()) - me_before) / hz
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)
    pg = sum(backends.values()) / hz
    return result, {
        "wall_s": round(wall, 2),
        "python_cpu_s": round(me, 2),
        "postgres_backends": len(backends),
        "postgres_backend_cpu_s": round(pg, 2),
        "python_cores": round(me / wall, 2),
        "postgres_cores": round(pg / wall, 2),
        "load_average_1_min_after": round(os.getloadavg()[0], 2),
    }


def start_profile(directory: Path | None, name: str) -> subprocess.Popen[bytes] | None:
    """py-spy recording this process into DIR/<name>.svg until `stop_profile`."""
    if directory is None:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            str(spy),
            *("record", "--pid", str(os.getpid()), "--rate", "50", "--nonblocking", "--idle"),
            *("--output", str(directory / f"{name}.svg")),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profile(spy: subprocess.Popen[bytes] | None) -> None:
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes the flame graph on SIGINT
        spy.wait(timeout=60)


def per_event(cpu: dict[str, float], events: int) -> dict[str, float]:
    """CPU microseconds per event of this process and of its PostgreSQL backends: what
    the machine's other load does not change much, unlike events/s."""
    return {
        **cpu,
        "python_cpu_us_per_event": round(cpu["python_cpu_s"] / events * 1e6),
        "postgres_cpu_us_per_event": round(cpu["postgres_backend_cpu_s"] / events * 1e6),
    }


def named(database_url: str, application: str) -> str:
    """The URL with an application_name: asyncpg passes it as a server setting, and
    pg_stat_activity shows it (the backends whose CPU is counted)."""
    return f"{database_url}{'&' if '?' in database_url else '?'}application_name={application}"


async def main(scale: float, seed: int, profile: Path | None) -> dict[str, Any]:
    settings = load_settings()
    db = settings.database_url
    config = ProjectionConfig.from_settings(settings)
    run = uuid.uuid4().hex[:8]
    schema, copy = f"bench_proj_{run}", f"bench_replay_{run}"
    volume = Volume.at(scale)
    cleanup: list[Any] = []
    try:
        p = plan(volume, seed, anchor_now())
        topic = await create_topic(
            settings.kafka_bootstrap, f"bench.volume.{run}.events", PARTITIONS
        )
        dlq = await create_topic(settings.kafka_bootstrap, f"bench.volume.{run}.dlq", PARTITIONS)
        cleanup.append(("topics", [topic, dlq]))
        progress(f"publishing {len(p.rows):,} events to {topic}")
        rows, key_rows, _ = await publish(
            settings.kafka_bootstrap, topic, p, run, f"bench-proj-{run}", config.master
        )
        cleanup.append(("keys", [row[0] for row in key_rows]))
        await copy_keys(db, key_rows)
        migrate(db, schema)
        cleanup.append(("schema", schema))
        cleanup.append(("schema", copy))

        progress(f"projecting into {schema}")
        proj_settings = settings.model_copy(update={"database_url": named(db, f"{run}-projector")})
        spy = start_profile(profile, "projector")
        try:
            projected, projected_cpu = await measured(
                db,
                f"{run}-projector",
                lambda: project(proj_settings, config, topic, len(rows), run, schema),
            )
        finally:
            stop_profile(spy)
        progress(f"  projector {projected['events_per_s']:,}/s; replay into {copy}")
        spy = start_profile(profile, "replay")
        try:
            replayed, replay_cpu = await measured(
                db,
                f"{run}-replay",
                lambda: replay(
                    settings.kafka_bootstrap,
                    named(db, f"{run}-replay"),
                    config,
                    schema=copy,
                    topics=[topic],
                    compare_with=schema,
                ),
            )
        finally:
            stop_profile(spy)
        progress(f"  replay {round(replayed.rate):,}/s; raw COPY")
        reference = await raw_copy(db, schema, rows)
        conn = await asyncpg.connect(db)
        try:
            requests = await conn.fetchval(
                f"SELECT count(*) FROM {schema}.requests"  # noqa: S608 (our own schema name)
            )
        finally:
            await conn.close()
    finally:
        progress("dropping schemas, topics and data keys")
        await drop(settings, cleanup)
    raw = max(reference["events_per_s"], 1)
    replay_rate = round(replayed.rate)
    return {
        "scale": scale,
        "seed": seed,
        "events": len(rows),
        "by_kind": p.counts(),
        "requests_projected": requests,
        "projector": {**projected, "cpu": per_event(projected_cpu, len(rows))},
        "replay": {
            "events": replayed.events,
            "seconds": round(replayed.seconds, 2),
            "events_per_s": replay_rate,
            "differences_from_projected": replayed.differences,
            "equal_to_projected": replayed.equal,
            "cpu": per_event(replay_cpu, len(rows)),
        },
        "reference_raw_asyncpg_copy": reference,
        "ratio_projector_over_copy": round(projected["events_per_s"] / raw, 3),
        "ratio_replay_over_copy": round(replay_rate / raw, 3),
        "load_average_1_5_15_min": os.getloadavg(),
        "targets": TARGETS,
        "met": {
            "projector": projected["events_per_s"] >= TARGETS["projector_events_per_s"],
            "replay": replay_rate >= TARGETS["replay_events_per_s"],
        },
        "profiles": str(profile) if profile else None,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=0.05, help="0.05: about 80 k events")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=Path, help="py-spy flame graphs into this folder")
    parser.add_argument("--name", default="projector", help="result file name (no .json)")
    args = parser.parse_args()
    result = asyncio.run(main(args.scale, args.seed, args.profile))
    if not result["replay"]["equal_to_projected"]:
        print(f"replay differs: {result['replay']['differences_from_projected']}")
        sys.exit(1)
    report(args.name, result)
