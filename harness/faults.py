"""A whole contactmoment stack of its own for fault injection: a three-node Kafka cluster and
a PostgreSQL cluster under `.local/faults/<run>/` on free loopback ports, the API, two stream
workers and the projector as real processes, and the simulator as the load.

The fault tests and `make soak` both drive it: start it, break something while the
simulator runs, mend it, then `audit()` what the read model and the signal topic hold.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import shutil
import signal
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg

from harness.kafka import read_all
from harness.processes import (
    RunningProcess,
    free_port,
    start_process,
    wait_ready,
    wait_worker_ready,
)
from services.dev.kafka import LocalKafka
from services.dev.postgres import LocalPostgres
from services.kafka.topics import create_topics
from services.ports import port_free, port_open
from services.readmodel.migrate import migrate
from services.settings import PROJECT_ROOT, Settings
from streams.app import internal_topics

FAST_NORMS = PROJECT_ROOT / "tests" / "e2e" / "fast-norms.toml"
BREACHED = "nl.contactmoment.deadline.breached.v1"
RECORDED = "nl.contactmoment.contact.recorded.v1"
WORKER_APP = "faults-worker"
# E-mail times come from the Date header, whole seconds: an answer stamped within this of
# the due instant may reach the worker after its tick saw the deadline pass. Either outcome
# (breach + met-late, or none) is right for such a request; more than one breach is not.
PRECISION = timedelta(seconds=1)
PARTITIONS = 6


def _six_free_ports() -> int:
    """A base b with b … b+5 free: brokers on b, b+2, b+4, controllers on b+1, b+3, b+5."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 40000, 2)
        if all(port_free("127.0.0.1", p) for p in range(base, base + 6)):
            return base
    raise RuntimeError("no six free consecutive ports on 127.0.0.1")


@dataclass
class Audit:
    """What the stack holds after a fault, against what the simulator was promised."""

    acknowledged: int
    missing: list[str]
    miscounted_customers: list[str]
    due_requests: int
    answered_in_time: int
    answered_at_the_due_instant: int
    answered_in_time_recorded_after_due: int
    breached_once: int
    without_breach: list[str]
    breached_in_time: list[str]
    several_breach_ids: list[str]
    duplicate_breach_records: int
    max_detection_delay: float | None

    @property
    def clean(self) -> bool:
        return not (
            self.missing
            or self.miscounted_customers
            or self.without_breach
            or self.breached_in_time
            or self.several_breach_ids
        )

    def summary(self) -> dict[str, object]:
        return {
            "acknowledged_ids": self.acknowledged,
            "missing_ids": len(self.missing),
            "miscounted_customers": len(self.miscounted_customers),
            "due_requests": self.due_requests,
            "answered_in_time": self.answered_in_time,
            "answered_within_a_second_of_due": self.answered_at_the_due_instant,
            "answered_in_time_but_seen_after_due": self.answered_in_time_recorded_after_due,
            "breached_exactly_once": self.breached_once,
            "due_without_breach": len(self.without_breach),
            "breached_though_answered_in_time": len(self.breached_in_time),
            "requests_with_several_breach_ids": len(self.several_breach_ids),
            "duplicate_breach_records_on_topic": self.duplicate_breach_records,
            "max_detection_delay_s": self.max_detection_delay,
            "clean": self.clean,
        }


@dataclass
class FaultStack:
    root: Path
    settings: Settings
    api_port: int
    env: dict[str, str]
    kafka: LocalKafka = field(init=False)
    postgres: LocalPostgres = field(init=False)
    api: RunningProcess | None = None
    projector: RunningProcess | None = None
    workers: dict[str, RunningProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.kafka = LocalKafka(self.settings, 3, jars=PROJECT_ROOT / ".local" / "kafka" / "lib")
        self.postgres = LocalPostgres(self.settings)

    @classmethod
    def create(cls, name: str) -> FaultStack:
        root = PROJECT_ROOT / ".local" / "faults" / f"{name}-{os.getpid()}"
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        base = _six_free_ports()
        bootstrap = ",".join(f"127.0.0.1:{base + 2 * i}" for i in range(3))
        database_url = f"postgresql://contactmoment@127.0.0.1:{free_port()}/contactmoment"
        api_port = free_port()
        env = {
            "CONTACTMOMENT_KAFKA_BOOTSTRAP": bootstrap,
            "CONTACTMOMENT_KAFKA_CONTROLLER_PORT": str(base + 1),
            "CONTACTMOMENT_DATABASE_URL": database_url,
            "CONTACTMOMENT_TOPIC_PARTITIONS": str(PARTITIONS),
            "CONTACTMOMENT_SERVICE_NORMS": str(FAST_NORMS),
            "CONTACTMOMENT_API_PORT": str(api_port),
            "CONTACTMOMENT_SMTP_PORT": str(free_port()),
            "CONTACTMOMENT_API_TOKEN": "faults-" + os.urandom(16).hex(),  # 32+ characters
            "CONTACTMOMENT_ALLOW_STATIC_TOKEN": "true",
            "CONTACTMOMENT_PSEUDONYM_KEY": "faults-key-" + os.urandom(12).hex(),
            "CONTACTMOMENT_MASTER_KEY": "faults-master-" + os.urandom(12).hex(),
            "CONTACTMOMENT_LOCAL_DIR": str(root),
        }
        settings = Settings(
            kafka_bootstrap=bootstrap,
            kafka_controller_port=base + 1,
            database_url=database_url,
            topic_partitions=PARTITIONS,
            local_dir=root,
        )
        return cls(root, settings, api_port, env)

    # -- servers --------------------------------------------------------------------------

    def servers_up(self) -> float:
        """PostgreSQL and the three Kafka nodes; topics and tables. Seconds it took."""
        started = time.monotonic()
        quiet = lambda _line: None  # noqa: E731
        self.postgres.up(quiet)
        self.kafka.up(quiet)
        bootstrap = self.settings.kafka_bootstrap
        asyncio.run(create_topics(bootstrap, PARTITIONS))
        asyncio.run(create_topics(bootstrap, PARTITIONS, internal_topics(WORKER_APP)))
        migrate(self.settings.database_url)
        return time.monotonic() - started

    def servers_down(self) -> None:
        self.kafka.down()
        self.postgres.down()

    # -- processes ------------------------------------------------------------------------

    def start_api(self) -> RunningProcess:
        self.api = start_process(
            "faults-api", ["api", "--no-smtp", "--log-level", "warning"], self.env
        )
        wait_ready(self.api, self._healthy, "the API")
        return self.api

    def start_projector(self) -> RunningProcess:
        port = free_port()
        env = {**self.env, "CONTACTMOMENT_PROJECTOR_METRICS_PORT": str(port)}
        self.projector = start_process("faults-projector", ["projector"], env)
        wait_ready(self.projector, lambda: port_open("127.0.0.1", port), "the projector")
        return self.projector

    def start_worker(self, name: str, app_id: str = WORKER_APP) -> RunningProcess:
        port = free_port()
        env = {
            **self.env,
            "CONTACTMOMENT_WORKER_METRICS_PORT": str(port),
            # Each worker keeps its RocksDB stores in its own directory, as on its own host.
            "CONTACTMOMENT_LOCAL_DIR": str(self.root / name),
        }
        args = ["worker", "--app-id", app_id, "--log-level", "info"]
        worker = start_process(f"faults-{name}", args, env)
        worker.metrics_port = port
        self.workers[name] = worker
        wait_worker_ready(worker, 120)
        return worker

    def start_processes(self, workers: tuple[str, ...] = ("worker-a", "worker-b")) -> None:
        self.start_api()
        self.start_projector()
        for name in workers:
            self.start_worker(name)

    def stop_processes(self) -> None:
        for process in (self.api, *self.workers.values(), self.projector):
            if process and process.process.poll() is None:
                process.stop()
        self.workers.clear()

    def exited(self) -> list[str]:
        """Processes of the stack that died on their own (a fault must not kill them)."""
        named = {"api": self.api, "projector": self.projector, **self.workers}
        return [
            f"{name} (exit {p.process.returncode}):\n{p.log()[-1500:]}"
            for name, p in named.items()
            if p is not None and p.process.poll() is not None
        ]

    def simulate(self, seconds: float, rate: float, acks: Path) -> RunningProcess:
        args = ["simulate", "--rate", str(rate), "--duration", str(seconds), "--acks", str(acks)]
        # A new seed each run: the same seed repeats the same calls, and so the same event
        # ids, which the stack rightly takes as retries of what it already has.
        seed = str(random.SystemRandom().randrange(2**31))
        return start_process("faults-simulate", [*args, "--seed", seed], self.env)

    def _healthy(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.api_port}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    # -- faults ---------------------------------------------------------------------------

    def controller_node(self) -> int:
        """The node id of the active KRaft controller (killing it is the harder case)."""
        from aiokafka.admin import AIOKafkaAdminClient

        async def ask() -> int:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.settings.kafka_bootstrap)
            await admin.start()
            try:
                return int((await admin.describe_cluster())["controller_id"])
            finally:
                await admin.close()

        return asyncio.run(ask())

    def kill_broker(self, down_for: float = 10.0) -> dict[str, object]:
        """kill -9 the node that is the active controller; start it again after `down_for`
        seconds (the two others keep min.insync.replicas=2 meanwhile)."""
        victim = self.controller_node()
        self.kafka.stop_node(victim, kill=True)
        time.sleep(down_for)
        back = self.kafka.start_node(victim, lambda _line: None)
        return {"killed_node": victim, "was_controller": True, "rejoin_s": round(back, 1)}

    def kill_and_restart_worker(self, name: str = "worker-b") -> dict[str, object]:
        """kill -9 one worker; past the 10 s session timeout the other owns every partition;
        then start it again, as a supervisor would."""
        killed = time.monotonic()
        self.kill_worker(name)
        time.sleep(12)
        self.start_worker(name)
        return {"worker_back_after_s": round(time.monotonic() - killed, 1)}

    def restart_everything(self) -> dict[str, object]:
        """Stop the processes and both servers cleanly, then start it all again."""
        stopped = time.monotonic()
        workers = tuple(self.workers)
        self.stop_processes()
        self.servers_down()
        down = time.monotonic() - stopped
        self.servers_up()
        self.start_processes(workers)
        return {
            "stop_s": round(down, 1),
            "whole_stack_back_after_s": round(time.monotonic() - stopped, 1),
        }

    def kill_worker(self, name: str) -> None:
        worker = self.workers.pop(name)
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.wait()

    def restart_postgres(self) -> dict[str, object]:
        """Stop PostgreSQL (fast shutdown: connections are cut), start it again."""
        started = time.monotonic()
        self.postgres.down()
        self.postgres.up(lambda _line: None)
        return {"postgres_down_s": round(time.monotonic() - started, 1)}

    # -- audit ----------------------------------------------------------------------------

    def audit(
        self,
        acks: Path,
        due_since: float,
        due_until: float,
        patience: float = 90.0,
        unowned: tuple[float, float] | None = None,
    ) -> Audit:
        """Wait (up to `patience` s) until the read model holds every acknowledged id and
        every request due in (`due_since`, `due_until`] has a breach or was answered in
        time; then report what holds, including duplicate breach records on the topic.
        `unowned`: when a killed worker's partitions had no owner (see `seen_after_due`)."""
        acked_at = {
            i: entry["at"]
            for entry in map(json.loads, acks.read_text().splitlines())
            for i in entry["ids"]
        }
        acked = set(acked_at)
        deadline = time.monotonic() + patience
        while True:
            state = self._read_model(acked, due_since, due_until)
            settled = not state["missing"] and not state["without_breach"]
            if settled or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        records = asyncio.run(read_all(self.settings.kafka_bootstrap, "contact.signals.v1"))
        breach_ids: dict[str, set[str]] = {}
        raw = 0
        for record in records:
            event = json.loads(record.value)
            if event["type"] == BREACHED and event["data"]["request_id"] in state["due"]:
                raw += 1
                breach_ids.setdefault(event["data"]["request_id"], set()).add(event["id"])
        return Audit(
            acknowledged=len(acked),
            missing=sorted(state["missing"]),
            miscounted_customers=state["miscounted"],
            due_requests=len(state["due"]),
            answered_in_time=len(state["in_time"]),
            answered_at_the_due_instant=len(state["on_the_edge"]),
            answered_in_time_recorded_after_due=len(
                late := seen_after_due(state, acked_at, unowned)
            ),
            breached_once=sum(1 for ids in breach_ids.values() if len(ids) == 1),
            without_breach=sorted(state["without_breach"]),
            breached_in_time=sorted((state["in_time"] - late) & breach_ids.keys()),
            several_breach_ids=sorted(r for r, ids in breach_ids.items() if len(ids) > 1),
            duplicate_breach_records=raw - sum(len(ids) for ids in breach_ids.values()),
            max_detection_delay=state["max_delay"],
        )

    def describe(self, request_ids: list[str]) -> list[dict[str, object]]:
        """What the read model knows of these requests: for an audit failure message."""
        with psycopg.connect(self.settings.database_url, connect_timeout=10) as conn:
            rows = conn.execute(
                """SELECT r.request_id, r.request_type, r.status, r.opened_at, r.due_at,
                          r.answered_at, r.closed_at,
                          (SELECT array_agg(h.event_type || '@' || h.occurred_at::text
                                            ORDER BY h.occurred_at)
                           FROM request_history h WHERE h.request_id = r.request_id),
                          (SELECT array_agg(s.event_type || '@' || s.occurred_at::text)
                           FROM signals s WHERE s.request_id = r.request_id)
                   FROM requests r WHERE r.request_id = ANY(%s)""",
                (request_ids,),
            ).fetchall()
        names = ("request_id", "type", "status", "opened", "due", "answered", "closed")
        return [
            {**dict(zip(names, map(str, r[:7]), strict=True)), "history": r[7], "signals": r[8]}
            for r in rows
        ]

    def _read_model(self, acked: set[str], since: float, until: float) -> dict:  # type: ignore[type-arg]
        with psycopg.connect(self.settings.database_url, connect_timeout=10) as conn:
            present = {
                str(r[0])
                for r in conn.execute(
                    "SELECT event_id FROM processed_events WHERE event_id = ANY(%s::uuid[])",
                    (list(acked),),
                )
            }
            # Counted once: each key's contact count equals its distinct contact events.
            miscounted = [
                r[0]
                for r in conn.execute(
                    """SELECT c.customer_key FROM customers c
                       LEFT JOIN (SELECT customer_key, count(*) AS n FROM timeline
                                  WHERE event_type = %s GROUP BY customer_key) t
                       USING (customer_key)
                       WHERE c.contact_count <> coalesce(t.n, 0)""",
                    (RECORDED,),
                )
            ]
            rows = conn.execute(
                """SELECT r.request_id,
                          coalesce(r.answered_at, r.closed_at) < r.due_at - %s AS in_time,
                          coalesce(r.answered_at, r.closed_at) <= r.due_at AS on_the_edge,
                          EXISTS (SELECT 1 FROM signals s WHERE s.request_id = r.request_id
                                  AND s.event_type = %s) AS breached,
                          extract(epoch FROM r.due_at),
                          (SELECT array_agg(h.event_id::text) FROM request_history h
                           WHERE h.request_id = r.request_id
                           AND h.occurred_at = coalesce(r.answered_at, r.closed_at))
                   FROM requests r
                   WHERE r.due_at > to_timestamp(%s) AND r.due_at <= to_timestamp(%s)""",
                (PRECISION, BREACHED, since, until),
            ).fetchall()
            delay = conn.execute(
                """SELECT max(extract(epoch FROM detected_at - due_at)) FROM signals
                   WHERE event_type = %s AND due_at > to_timestamp(%s)
                   AND due_at <= to_timestamp(%s)""",
                (BREACHED, since, until),
            ).fetchone()
        return {
            "missing": acked - present,
            "miscounted": miscounted,
            "due": {r[0] for r in rows},
            "in_time": {r[0] for r in rows if r[1]},
            # the due instant and the event ids of the answer, per request answered in time
            "answers": {r[0]: (float(r[4]), r[5] or []) for r in rows if r[1]},
            "on_the_edge": {r[0] for r in rows if r[2] and not r[1]},
            "without_breach": {r[0] for r in rows if not r[2] and not r[3]},
            "max_delay": float(delay[0]) if delay and delay[0] is not None else None,
        }


def seen_after_due(
    state: dict,  # type: ignore[type-arg]
    acked_at: dict[str, float],
    unowned: tuple[float, float] | None = None,
) -> set[str]:
    """Requests answered in time (by the answer's own time stamp, e.g. an e-mail's Date)
    that no worker could have seen before the due instant: the API could only accept the
    answer after it (the stack was down), or accepted it while its partition had no owner
    and the due instant fell before the new owner took over (`unowned`: from the kill to
    past the session timeout) — the new owner's first tick can come before it has read the
    backlog of the partition it inherited. The worker then breaches, and reports met-late
    when it reads the answer. Either outcome is correct for these; still at most one breach."""
    late = set()
    for request_id, (due, ids) in state["answers"].items():
        accepted = min((acked_at[i] for i in ids if i in acked_at), default=None)
        if accepted is None:
            continue
        orphaned = unowned is not None and unowned[0] <= accepted and due <= unowned[1]
        if accepted > due or orphaned:
            late.add(request_id)
    return late


def ack_gaps(acks: Path, since: float, until: float) -> float:
    """The longest time without an acknowledged call between `since` and `until`: how long
    ingest stalled while the fault was being handled."""
    times = sorted(
        float(t)
        for line in acks.read_text().splitlines()
        if since <= (t := json.loads(line)["at"]) <= until
    )
    points = [since, *times, until]
    return max(b - a for a, b in itertools.pairwise(points))
