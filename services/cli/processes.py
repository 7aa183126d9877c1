"""The processes: `contactmoment api|worker|projector|replay|simulate|run`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from services.cli.common import EXIT_FAIL, EXIT_OK, say
from services.settings import Settings


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from services.ports import require_port_free

    host = settings.bind_host
    workers = getattr(args, "workers", None) or settings.api_workers
    require_port_free(host, settings.api_port, "the API", "CONTACTMOMENT_API_PORT")
    if not args.no_smtp:
        require_port_free(host, settings.smtp_port, "SMTP ingress", "CONTACTMOMENT_SMTP_PORT")
    smtp = "" if args.no_smtp else f", SMTP ingress on {host}:{settings.smtp_port}"
    options = {"log_level": args.log_level, "access_log": args.access_log}
    if workers == 1:
        from services.api.app import create_app

        app = create_app(settings, smtp=not args.no_smtp)
        say(f"API on http://{host}:{settings.api_port}{smtp}")
        uvicorn.run(app, host=host, port=settings.api_port, **options)
        return EXIT_OK
    return _api_workers(settings, args, workers, smtp, options)


def _api_workers(
    settings: Settings, args: argparse.Namespace, workers: int, smtp: str, options: dict[str, Any]
) -> int:
    """N processes on one port (services/api/multiprocess.py): metrics summed over them,
    SMTP in one of them."""
    import os

    import uvicorn

    from services.api import multiprocess
    from services.settings import load_settings

    load_settings()  # each worker reads the same environment: refuse here, once, if it is bad
    directory, made = multiprocess.prepare_directory(os.environ.get(multiprocess.MULTIPROC_ENV))
    # Set before any worker starts: prometheus_client picks its storage when imported.
    os.environ[multiprocess.MULTIPROC_ENV] = str(directory)
    os.environ[multiprocess.SMTP_ENV] = "0" if args.no_smtp else "1"
    say(f"API on http://{settings.bind_host}:{settings.api_port}{smtp} ({workers} processes)")
    try:
        uvicorn.run(
            "services.api.multiprocess:worker_app",
            factory=True,
            host=settings.bind_host,
            port=settings.api_port,
            workers=workers,
            **options,
        )
    finally:
        if made:
            multiprocess.remove_directory(directory)
    return EXIT_OK


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from services.simulate.run import simulate

    return asyncio.run(
        simulate(
            settings,
            rate=args.rate,
            duration=args.duration,
            seed=args.seed,
            progress=not args.quiet,
            acks=args.acks,
        )
    )


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    import faust

    from domain.clock.norms import load as load_norms
    from services.kafka.client import KafkaAuth
    from services.kafka.topics import create_topics
    from services.runtime import serve_metrics
    from streams.app import create_app, internal_topics

    catalogue = load_norms(settings.service_norms)
    datadir = settings.local_dir / "worker"  # RocksDB stores; faust expects the directory
    datadir.mkdir(parents=True, exist_ok=True)
    # Co-partitioned with the events: ticks and table changelogs, created before faust runs.
    own = internal_topics(args.app_id)
    auth = KafkaAuth.from_settings(settings, "worker")
    asyncio.run(create_topics(settings.kafka_bootstrap, settings.topic_partitions, own, auth))
    serve_metrics(settings.worker_metrics_port, "worker", host=settings.bind_host)
    app = create_app(
        settings.kafka_bootstrap,
        catalogue=catalogue,
        partitions=settings.topic_partitions,
        app_id=args.app_id,
        store=args.store,
        datadir=str(datadir),
        offset_reset=args.offset_reset,
        events_topic=args.events_topic,
        deadletter_topic=args.deadletter_topic,
        auth=auth,
    )
    # faust's own worker: signal handling, rebalances, table recovery from changelogs.
    faust.Worker(app, loglevel=args.log_level, quiet=True).execute_from_commandline()
    return EXIT_OK


def cmd_projector(settings: Settings, args: argparse.Namespace) -> int:
    from services.kafka.client import KafkaAuth
    from services.projector.apply import ProjectionConfig
    from services.projector.run import TOPICS, Projector
    from services.readmodel.migrate import migrate
    from services.runtime import run_until_signal, serve_metrics

    serve_metrics(settings.projector_metrics_port, "projector", host=settings.bind_host)
    topics = tuple(args.topics.split(",")) if args.topics else TOPICS
    if args.schema:
        migrate(settings.database_url, args.schema)
    projector = Projector(
        settings.kafka_bootstrap,
        settings.database_url_for("projector"),
        ProjectionConfig.from_settings(settings),
        group_id=args.group,
        topics=topics,
        schema=args.schema,
        deadletter_topic=args.deadletter_topic,
        gauges=args.schema is None,
        auth=KafkaAuth.from_settings(settings, "projector"),
    )
    return run_until_signal(projector.run)


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from services.kafka.client import KafkaAuth
    from services.projector.apply import ProjectionConfig
    from services.projector.replay import replay
    from services.readmodel.compare import SchemasDiffer

    try:
        result = asyncio.run(
            replay(
                settings.kafka_bootstrap,
                settings.database_url,
                ProjectionConfig.from_settings(settings),
                schema=args.schema,
                progress=True,
                compare_with="public" if args.compare else None,
                # Replay builds a new schema (the owner's URL) from topics the projector reads.
                auth=KafkaAuth.from_settings(settings, "projector"),
            )
        )
    except SchemasDiffer as exc:
        print(f"contactmoment: {exc}", file=sys.stderr)
        return EXIT_FAIL
    say(
        f"replayed {result.events} events into schema {result.schema} in "
        f"{result.seconds:.1f} s ({result.rate:.0f} events/s; {result.invalid} invalid "
        "records skipped)"
    )
    if result.differences is not None:
        for table, rows in result.differences.items():
            say(f"  {table:<22} {'equal' if rows == 0 else f'{rows} rows differ'}")
        if not result.equal:
            say("the live read model differs (is the projector caught up?)")
            return EXIT_FAIL
        say("the rebuilt read model equals the live one")
    return EXIT_OK


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from services.cli import build_parser, command_names
    from services.runner import default_processes, run

    return run(settings, default_processes(settings, command_names(build_parser())))


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these commands to the top-level parser."""
    api = sub.add_parser("api", help="serve ingest, staff API, /metrics and SMTP ingress")
    api.add_argument("--no-smtp", action="store_true", help="do not listen for SMTP")
    api.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    api.add_argument("--access-log", action="store_true", help="log every request")
    api.add_argument(
        "--workers",
        type=int,
        choices=range(1, 65),
        metavar="N",
        help="API processes sharing the port (default CONTACTMOMENT_API_WORKERS, 1); "
        "/metrics sums them, one of them serves SMTP",
    )
    api.set_defaults(handler=cmd_api)

    simulate = sub.add_parser("simulate", help="realistic Dutch traffic through the ingest API")
    simulate.add_argument("--rate", type=float, default=5.0, help="ingest calls per second")
    simulate.add_argument(
        "--duration", type=float, default=60.0, help="seconds to run; 0 runs until Ctrl-C"
    )
    simulate.add_argument("--seed", type=int, default=None, help="repeatable traffic")
    simulate.add_argument("--quiet", action="store_true", help="no live progress line")
    simulate.add_argument(
        "--acks",
        type=Path,
        metavar="FILE",
        help="append each accepted call's event ids to FILE (JSON lines) for an audit",
    )
    simulate.set_defaults(handler=cmd_simulate)

    worker = sub.add_parser("worker", help="the stream processor (faust): customer view")
    worker.add_argument(
        "--app-id",
        default="contactmoment-worker",
        help="faust app id = consumer group; workers of one id share partitions",
    )
    worker.add_argument(
        "--store",
        default="rocksdb://",
        help="table store: rocksdb:// (default, RocksDB via rocksdict) or memory://",
    )
    worker.add_argument(
        "--offset-reset",
        choices=["earliest", "latest"],
        default="earliest",
        help="where a new app id starts reading",
    )
    worker.add_argument(
        "--log-level", default="info", choices=["crit", "error", "warn", "info", "debug"]
    )
    worker.add_argument("--events-topic", default="contact.events.v1", help=argparse.SUPPRESS)
    worker.add_argument(
        "--deadletter-topic", default="contact.deadletter.v1", help=argparse.SUPPRESS
    )
    worker.set_defaults(handler=cmd_worker)

    projector = sub.add_parser("projector", help="project contact.* topics into PostgreSQL")
    projector.add_argument(
        "--group",
        default="contactmoment-projector",
        help="Kafka consumer group (replicas share one)",
    )
    projector.add_argument("--topics", help="comma-separated topics (default: the contract's)")
    projector.add_argument("--schema", help="project into this schema (created and migrated)")
    projector.add_argument("--deadletter-topic", help="default: contact.deadletter.v1")
    projector.set_defaults(handler=cmd_projector)

    replay = sub.add_parser("replay", help="rebuild the read model from the topics")
    replay.add_argument("--schema", help="target schema (default: replay_<timestamp>)")
    replay.add_argument(
        "--compare",
        action="store_true",
        help="compare the rebuilt tables with the live ones (exit 1: differ)",
    )
    replay.set_defaults(handler=cmd_replay)

    sub.add_parser(
        "run", help="start every long-running process in the foreground (make run)"
    ).set_defaults(handler=cmd_run)
