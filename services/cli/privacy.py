"""Erasure on request and retention of free text: `contactmoment privacy erase|retention`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, say
from services.settings import Settings


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
            say("nothing erased")
            return EXIT_FAIL

    def erased(report: ErasureReport) -> None:
        say(f"erased {', '.join(report.keys)} at {report.erased_at.isoformat()}")

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
        say(f"  data keys deleted: {report.data_keys_deleted} (their text on Kafka is unreadable)")
        for table, count in report.rows_purged.items():
            say(f"  {table:<22} {count} rows purged")
        say("  the stream processors were told (customer.erased): no more signals about it")
        say("  the access log is kept (accountability); replays drop the earlier events")
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
        say(f"free text older than {report.horizon:%Y-%m-%d} ({days} days):")
        say(f"  {verb} {report.data_keys_deleted} data keys (whole months before the horizon)")
        say(
            f"  {verb} the text of {report.timeline_rows} timeline and "
            f"{report.history_rows} request-history rows, and {report.identifiers} "
            "identifier displays no newer contact shows"
        )
        return EXIT_OK

    return asyncio.run(run())


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these commands to the top-level parser."""
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
