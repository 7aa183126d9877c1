"""The `contactmoment` command: parses the arguments and dispatches to one command module
per concern (dev, setup, processes, privacy, smtp); the work itself lives in the packages
those call."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from domain.clock.norms import NormsError
from services.cli import dev, privacy, processes, setup, smtp
from services.cli.common import EXIT_FAIL, Handler
from services.dev.errors import StackError
from services.kafka.client import KafkaAuthError
from services.kafka.topics import TopicError
from services.settings import ConfigError, load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contactmoment",
        description="Event-driven contact-moment processor: channel events on Kafka, a "
        "unified customer view, request deadlines and proactive notifications. "
        "Configuration comes from CONTACTMOMENT_* environment variables (see README).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    for module in (dev, privacy, smtp, setup, processes):
        module.add_commands(sub)
    return parser


def command_names(parser: argparse.ArgumentParser) -> set[str]:
    """The top-level subcommands this version provides."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


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
