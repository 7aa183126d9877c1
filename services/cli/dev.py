"""The local stack: `contactmoment dev up|down|status|clean|secrets|token`."""

from __future__ import annotations

import argparse
import sys
import time

from schemas.events import STAFF_ROLES
from services.cli.common import EXIT_OK, EXIT_USAGE, say
from services.settings import Settings


def cmd_dev_up(settings: Settings, args: argparse.Namespace) -> int:
    from services.dev import stack

    started = time.monotonic()
    kafka = stack.up(settings, say, brokers=args.brokers, secure=args.secure)
    lines, _ = stack.status_lines(settings)
    for line in lines:
        say(line)
    say(f"local stack ready in {time.monotonic() - started:.1f} s")
    if kafka.brokers > 1 and settings.kafka_bootstrap != kafka.bootstrap:
        # One address would do while its node lives; every address survives its failure.
        say(
            "clients should know every broker: "
            f"export CONTACTMOMENT_KAFKA_BOOTSTRAP={kafka.bootstrap}"
        )
    if kafka.secure and settings.kafka_security_protocol != "SASL_SSL":
        # Each process then signs in as its own user from .local/kafka/users/.
        say("Kafka takes TLS + SCRAM only: export CONTACTMOMENT_KAFKA_SECURITY_PROTOCOL=SASL_SSL")
    return EXIT_OK


def cmd_dev_down(settings: Settings, args: argparse.Namespace) -> int:
    from services.dev import stack

    stack.down(settings, say)
    return EXIT_OK


def cmd_dev_status(settings: Settings, args: argparse.Namespace) -> int:
    from services.dev import stack

    lines, all_up = stack.status_lines(settings)
    for line in lines:
        say(line)
    return EXIT_OK if all_up else 3


def cmd_dev_clean(settings: Settings, args: argparse.Namespace) -> int:
    from services.dev import stack

    if not stack.clean(settings, say):
        say("no PostgreSQL cluster to delete")
    return EXIT_OK


def cmd_dev_secrets(settings: Settings, args: argparse.Namespace) -> int:
    from services.dev.tokens import ensure_issuer

    for name, path in settings.ensure_secrets().items():
        say(f"{name}: {path}")
    key, jwks = ensure_issuer(settings.local_dir)
    say(f"dev token issuer: {key} (public keys: {jwks})")
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


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these commands to the top-level parser."""
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
