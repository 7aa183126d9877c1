"""The `contactmoment` command: local stack, topics, migrations, schemas and processes."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from domain.clock.norms import NormsError
from schemas.events import STAFF_ROLES
from services.dev.errors import StackError
from services.kafka.client import KafkaAuthError
from services.kafka.topics import TopicError
from services.settings import ConfigError, Settings, load_settings

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _say(message: str) -> None:
    print(message, flush=True)


# -- dev ------------------------------------------------------------------------------------


def cmd_dev_up(settings: Settings, args: argparse.Namespace) -> int:
    from services.dev import stack

    started = time.monotonic()
    kafka = stack.up(settings, _say, brokers=args.brokers, secure=args.secure)
    lines, _ = stack.status_lines(settings)
    for line in lines:
        _say(line)
    _say(f"local stack ready in {time.monotonic() - started:.1f} s")
    if kafka.brokers > 1 and settings.kafka_bootstrap != kafka.bootstrap:
        # One address would do while its node lives; every address survives its failure.
        _say(
            "clients should know every broker: "
            f"export CONTACTMOMENT_KAFKA_BOOTSTRAP={kafka.bootstrap}"
        )
    if kafka.secure and settings.kafka_security_protocol != "SASL_SSL":
        # Each process then signs in as its own user from .local/kafka/users/.
        _say("Kafka takes TLS + SCRAM only: export CONTACTMOMENT_KAFKA_SECURITY_PROTOCOL=SASL_SSL")
    return EXIT_OK


def cmd_dev_down(settings: Settings, args: argparse.Namespace) -> int:
    from services.dev import stack

    stack.down(settings, _say)
    return EXIT_OK


def cmd_dev_status(settings: Settings, args: argparse.Namespace) -> int:
    from services.dev import stack

    lines, all_up = stack.status_lines(settings)
    for line in lines:
        _say(line)
    return EXIT_OK if all_up else 3


def cmd_dev_clean(settings: Settings, args: argparse.Namespace) -> int:
    from services.dev import stack

    if not stack.clean(settings, _say):
        _say("no PostgreSQL cluster to delete")
    return EXIT_OK


def cmd_dev_secrets(settings: Settings, args: argparse.Namespace) -> int:
    from services.dev.tokens import ensure_issuer

    for name, path in settings.ensure_secrets().items():
        _say(f"{name}: {path}")
    key, jwks = ensure_issuer(settings.local_dir)
    _say(f"dev token issuer: {key} (public keys: {jwks})")
    return EXIT_OK


def cmd_dev_token(settings: Settings, args: argparse.Namespace) -> int:
    """Print a token of the development issuer (make run's API trusts it)."""
    from stdnum.nl import bsn

    from services.dev import tokens

    if args.resident:
        # The BSN comes on standard input, never as an argument (it would show in `ps`).
        if sys.stdin.isatty():
            print("BSN of the resident: ", end="", file=sys.stderr, flush=True)
        raw = sys.stdin.readline().strip()
        if not bsn.is_valid(raw):
            print("contactmoment: that is not a valid BSN (9 digits, 11-check)", file=sys.stderr)
            return EXIT_USAGE
        print(
            tokens.resident_token(
                settings.local_dir, bsn.compact(raw), settings.resident_audience, args.minutes
            )
        )
        return EXIT_OK
    if not args.role:
        print("contactmoment: give --role (one or more) or --resident", file=sys.stderr)
        return EXIT_USAGE
    if "department" in args.role and not args.department:
        print("contactmoment: the department role needs --department", file=sys.stderr)
        return EXIT_USAGE
    print(
        tokens.staff_token(
            settings.local_dir,
            args.subject,
            args.role,
            args.department,
            settings.jwt_audience,
            args.minutes,
        )
    )
    return EXIT_OK


# -- privacy ----------------------------------------------------------------------------------


def cmd_privacy_erase(settings: Settings, args: argparse.Namespace) -> int:
    import asyncpg

    from schemas.keys import is_customer_key
    from services.kafka.client import KafkaAuth
    from services.kafka.publisher import KafkaPublisher
    from services.privacy.erasure import ErasureReport, NotAnnounced, erase_customer

    if not is_customer_key(args.customer):
        print(f"contactmoment: {args.customer!r} is not a customer key", file=sys.stderr)
        return EXIT_USAGE
    if not args.yes:
        if not sys.stdin.isatty():
            print("contactmoment: erasure cannot be undone; confirm with --yes", file=sys.stderr)
            return EXIT_USAGE
        answer = input(f"Erase {args.customer} and every key linked to it? Type 'erase': ")
        if answer.strip() != "erase":
            _say("nothing erased")
            return EXIT_FAIL

    def erased(report: ErasureReport) -> None:
        _say(f"erased {', '.join(report.keys)} at {report.erased_at.isoformat()}")

    async def run() -> int:
        conn = await asyncpg.connect(settings.database_url_for("privacy"))
        publisher = KafkaPublisher(  # acks=all
            settings.kafka_bootstrap, auth=KafkaAuth.from_settings(settings, "tools")
        )
        try:
            await publisher.start()
            report = await erase_customer(conn, publisher, args.customer)
        except NotAnnounced as exc:
            erased(exc.report)
            then = "run the same command again" if exc.retriable else "retrying will not help"
            print(
                f"contactmoment: the read model and keys are erased, but Kafka did not take "
                f"the customer.erased events ({exc}); {then}",
                file=sys.stderr,
            )
            return EXIT_FAIL
        finally:
            await publisher.stop()
            await conn.close()
        erased(report)
        _say(f"  data keys deleted: {report.data_keys_deleted} (their text on Kafka is unreadable)")
        for table, count in report.rows_purged.items():
            _say(f"  {table:<22} {count} rows purged")
        _say("  the stream processors were told (customer.erased): no more signals about it")
        _say("  the access log is kept (accountability); replays drop the earlier events")
        return EXIT_OK

    return asyncio.run(run())


def cmd_privacy_retention(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import asyncpg

    from services.privacy.retention import enforce

    days = args.days or settings.text_retention_days

    async def run() -> int:
        conn = await asyncpg.connect(settings.database_url_for("privacy"))
        try:
            report = await enforce(conn, datetime.now(UTC), days, args.dry_run)
        finally:
            await conn.close()
        verb = "would forget" if args.dry_run else "forgot"
        _say(f"free text older than {report.horizon:%Y-%m-%d} ({days} days):")
        _say(f"  {verb} {report.data_keys_deleted} data keys (whole months before the horizon)")
        _say(
            f"  {verb} the text of {report.timeline_rows} timeline and "
            f"{report.history_rows} request-history rows, and {report.identifiers} "
            "identifier displays no newer contact shows"
        )
        return EXIT_OK

    return asyncio.run(run())


# -- smtp -------------------------------------------------------------------------------------


def _read_password() -> str:
    """The new password from standard input: asked twice without echo on a terminal, else
    the first line of the pipe. Never an argument: argv shows in `ps` and shell history."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("Password for the account: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the two passwords do not match")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_smtp_add_user(settings: Settings, args: argparse.Namespace) -> int:
    import secrets

    from services.ingest.smtp_auth import InvalidUsersFile, add_user

    try:
        password = secrets.token_urlsafe(24) if args.generate else _read_password()
        replaced = add_user(args.file, args.name, password)
    except InvalidUsersFile as exc:
        print(f"contactmoment: {exc}; the file was not changed", file=sys.stderr)
        return EXIT_FAIL
    except ValueError as exc:
        print(f"contactmoment: {exc}; the file was not changed", file=sys.stderr)
        return EXIT_USAGE
    verb = "replaced" if replaced else "added"
    # stderr: stdout carries only a generated password, so it can be piped into a vault.
    print(f"{verb} account {args.name} in {args.file} (mode 0600)", file=sys.stderr)
    if args.generate:
        print(password, flush=True)
        print(
            "the password above is shown once: give it to the mail gateway now",
            file=sys.stderr,
        )
    print("restart the API (or roll its pods) to load the new file", file=sys.stderr)
    return EXIT_OK


def cmd_smtp_check_config(settings: Settings, args: argparse.Namespace) -> int:
    from services.ingest.smtp_config_check import check

    overrides = {
        name: value
        for name, value in (
            ("smtp_users_file", args.users_file),
            ("smtp_tls_cert", args.cert),
            ("smtp_tls_key", args.key),
        )
        if value is not None
    }
    report = check(settings.model_copy(update=overrides))
    for fact in report.facts:
        _say(fact)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in report.problems:
        print(f"contactmoment: {problem}", file=sys.stderr)
    if not report.ok:
        print("the API would not start SMTP ingress with these files", file=sys.stderr)
        return EXIT_FAIL
    _say("SMTP ingress can start with these files")
    return EXIT_OK


# -- topics, db, schemas --------------------------------------------------------------------


def cmd_topics_create(settings: Settings, args: argparse.Namespace) -> int:
    from schemas.topics import TOPICS
    from services.kafka.client import KafkaAuth
    from services.kafka.topics import create_topics

    partitions = args.partitions or settings.topic_partitions
    auth = KafkaAuth.from_settings(settings, "tools")
    results = asyncio.run(create_topics(settings.kafka_bootstrap, partitions, TOPICS, auth))
    for result in results:
        note = f"  ({result.note})" if result.note else ""
        replicas = f", {result.replicas} replicas" if result.state == "created" else ""
        _say(f"{result.name:<26} {result.state:<8} {result.partitions} partitions{replicas}{note}")
    return EXIT_OK


def cmd_db_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from services.readmodel.migrate import migrate

    applied = migrate(settings.database_url)
    if applied:
        for mid in applied:
            _say(f"applied {mid}")
    else:
        _say("database schema is up to date")
    return EXIT_OK


def cmd_schemas_export(settings: Settings, args: argparse.Namespace) -> int:
    from schemas.export import drifted, write_all

    if args.check:
        stale = drifted()
        for path in stale:
            _say(f"out of date: {path}")
        if stale:
            _say("run `contactmoment schemas export` and commit the result")
            return EXIT_FAIL
        _say("schemas/json and schemas/asyncapi.json match the models")
        return EXIT_OK
    for path in write_all():
        _say(f"wrote {path}")
    return EXIT_OK


def cmd_api(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from services.api.app import create_app
    from services.ports import require_port_free

    host = settings.bind_host
    require_port_free(host, settings.api_port, "the API", "CONTACTMOMENT_API_PORT")
    if not args.no_smtp:
        require_port_free(host, settings.smtp_port, "SMTP ingress", "CONTACTMOMENT_SMTP_PORT")
    app = create_app(settings, smtp=not args.no_smtp)
    smtp = "" if args.no_smtp else f", SMTP ingress on {host}:{settings.smtp_port}"
    _say(f"API on http://{host}:{settings.api_port}{smtp}")
    uvicorn.run(
        app,
        host=host,
        port=settings.api_port,
        log_level=args.log_level,
        access_log=args.access_log,
    )
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
    _say(
        f"replayed {result.events} events into schema {result.schema} in "
        f"{result.seconds:.1f} s ({result.rate:.0f} events/s; {result.invalid} invalid "
        "records skipped)"
    )
    if result.differences is not None:
        for table, rows in result.differences.items():
            _say(f"  {table:<22} {'equal' if rows == 0 else f'{rows} rows differ'}")
        if not result.equal:
            _say("the live read model differs (is the projector caught up?)")
            return EXIT_FAIL
        _say("the rebuilt read model equals the live one")
    return EXIT_OK


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from services.runner import default_processes, run

    return run(settings, default_processes(settings, command_names(build_parser())))


def command_names(parser: argparse.ArgumentParser) -> set[str]:
    """The top-level subcommands this version provides."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


# -- parser ---------------------------------------------------------------------------------

Handler = Callable[[Settings, argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contactmoment",
        description="Event-driven contact-moment processor: channel events on Kafka, a "
        "unified customer view, request deadlines and proactive notifications. "
        "Configuration comes from CONTACTMOMENT_* environment variables (see README).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    dev = sub.add_parser("dev", help="the local stack (Kafka + PostgreSQL under .local/)")
    dev_sub = dev.add_subparsers(dest="dev_command", metavar="ACTION", required=True)
    dev_up = dev_sub.add_parser("up", help="install what is missing, start both, wait until ready")
    dev_up.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        help="Kafka nodes (KRaft, broker + controller each); default: the size started last, "
        "else 1. Three nodes listen on every second port from the first (9092, 9094, 9096).",
    )
    dev_up.add_argument(
        "--secure",
        action="store_true",
        help="Kafka with TLS and SASL/SCRAM-SHA-512, one user per process and ACLs "
        "(.local/kafka/tls, .local/kafka/users); clients then need "
        "CONTACTMOMENT_KAFKA_SECURITY_PROTOCOL=SASL_SSL",
    )
    dev_up.set_defaults(handler=cmd_dev_up)
    dev_sub.add_parser("down", help="stop both (data stays in .local/)").set_defaults(
        handler=cmd_dev_down
    )
    dev_sub.add_parser(
        "status", help="what runs, where, its pid and log (exit 3: not all up)"
    ).set_defaults(handler=cmd_dev_status)
    dev_sub.add_parser(
        "clean",
        help="stop both, delete the PostgreSQL cluster (also one kept outside the checkout)",
    ).set_defaults(handler=cmd_dev_clean)
    dev_sub.add_parser(
        "secrets", help="generate .local/api-token and .local/pseudonym-key"
    ).set_defaults(handler=cmd_dev_secrets)

    token = dev_sub.add_parser(
        "token",
        help="print a token of the development issuer (.local/jwt/)",
        description="Staff: --role kcc|department|regieteam|auditor|channel (repeatable). "
        "Resident: --resident, the BSN on standard input (never as an argument).",
    )
    token.add_argument("--role", action="append", choices=STAFF_ROLES)
    token.add_argument("--department", help="the department of a department role")
    token.add_argument("--subject", default="medewerker-dev", help="the staff member's id")
    token.add_argument("--resident", action="store_true", help="a resident (portal) token")
    token.add_argument("--minutes", type=int, default=60, help="lifetime (default 60)")
    token.set_defaults(handler=cmd_dev_token)

    privacy = sub.add_parser("privacy", help="erasure on request and retention of free text")
    privacy_sub = privacy.add_subparsers(dest="privacy_command", metavar="ACTION", required=True)
    erase = privacy_sub.add_parser(
        "erase",
        help="erase a customer (AVG art. 17): delete data keys, purge the read model",
    )
    erase.add_argument("--customer", required=True, help="the customer key (k-…)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.set_defaults(handler=cmd_privacy_erase)
    retention = privacy_sub.add_parser(
        "retention",
        help="forget free text older than CONTACTMOMENT_TEXT_RETENTION_DAYS (run daily)",
    )
    retention.add_argument("--days", type=int, help="override the retention in days")
    retention.add_argument("--dry-run", action="store_true", help="count, change nothing")
    retention.set_defaults(handler=cmd_privacy_retention)

    smtp = sub.add_parser("smtp", help="SMTP ingress: gateway accounts and the TLS files")
    smtp_sub = smtp.add_subparsers(dest="smtp_command", metavar="ACTION", required=True)
    add_user = smtp_sub.add_parser(
        "add-user",
        help="add or replace a gateway account in a users file (atomically, mode 0600)",
        description="The password is read from standard input: typed twice without echo on "
        "a terminal, else the first line of a pipe. It is never an argument. --generate "
        "makes one and prints it once on standard output.",
    )
    add_user.add_argument("name", help="the account the mail gateway signs in as")
    add_user.add_argument(
        "--file",
        type=Path,
        required=True,
        help="the users file (CONTACTMOMENT_SMTP_USERS_FILE of the API); created if missing",
    )
    add_user.add_argument(
        "--generate", action="store_true", help="generate a random password and print it once"
    )
    add_user.set_defaults(handler=cmd_smtp_add_user)
    check_config = smtp_sub.add_parser(
        "check-config",
        help="load the users file, certificate and key as the API does; say what is wrong",
        description="Reads CONTACTMOMENT_SMTP_USERS_FILE, _TLS_CERT and _TLS_KEY (or the "
        "options) the way `contactmoment api` does at start, and also checks the "
        "certificate's dates and names and the files' modes. Exit 1 when the API would "
        "refuse them.",
    )
    check_config.add_argument("--users-file", type=Path, help="instead of the setting")
    check_config.add_argument("--cert", type=Path, help="instead of the setting")
    check_config.add_argument("--key", type=Path, help="instead of the setting")
    check_config.set_defaults(handler=cmd_smtp_check_config)

    topics = sub.add_parser("topics", help="Kafka topics of the contract")
    topics_sub = topics.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    create = topics_sub.add_parser("create", help="create the topics (idempotent)")
    create.add_argument(
        "--partitions", type=int, help="default: CONTACTMOMENT_TOPIC_PARTITIONS (12)"
    )
    create.set_defaults(handler=cmd_topics_create)

    db = sub.add_parser("db", help="the PostgreSQL read model")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("migrate", help="apply pending versioned migrations").set_defaults(
        handler=cmd_db_migrate
    )

    schemas = sub.add_parser("schemas", help="the event contract as JSON Schema and AsyncAPI")
    schemas_sub = schemas.add_subparsers(dest="schemas_command", metavar="ACTION", required=True)
    export = schemas_sub.add_parser("export", help="write schemas/json/*.json, asyncapi.json")
    export.add_argument("--check", action="store_true", help="only report drift (exit 1)")
    export.set_defaults(handler=cmd_schemas_export)

    api = sub.add_parser("api", help="serve ingest, staff API, /metrics and SMTP ingress")
    api.add_argument("--no-smtp", action="store_true", help="do not listen for SMTP")
    api.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    api.add_argument("--access-log", action="store_true", help="log every request")
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

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        settings = load_settings()
        return handler(settings, args)
    except (ConfigError, StackError, TopicError, NormsError, KafkaAuthError) as exc:
        print(f"contactmoment: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
