"""Setting up Kafka, PostgreSQL and the contract files: `contactmoment topics create`,
`db migrate`, `schemas export`."""

from __future__ import annotations

import argparse
import asyncio

from services.cli.common import EXIT_FAIL, EXIT_OK, say
from services.settings import Settings


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
        say(f"{result.name:<26} {result.state:<8} {result.partitions} partitions{replicas}{note}")
    return EXIT_OK


def cmd_db_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from services.readmodel.migrate import migrate

    applied = migrate(settings.database_url)
    if applied:
        for mid in applied:
            say(f"applied {mid}")
    else:
        say("database schema is up to date")
    return EXIT_OK


def cmd_schemas_export(settings: Settings, args: argparse.Namespace) -> int:
    from schemas.export import drifted, write_all

    if args.check:
        stale = drifted()
        for path in stale:
            say(f"out of date: {path}")
        if stale:
            say("run `contactmoment schemas export` and commit the result")
            return EXIT_FAIL
        say("schemas/json and schemas/asyncapi.json match the models")
        return EXIT_OK
    for path in write_all():
        say(f"wrote {path}")
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these commands to the top-level parser."""
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
