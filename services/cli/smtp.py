"""SMTP ingress accounts and files: `contactmoment smtp add-user|check-config`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.cli.common import EXIT_FAIL, EXIT_OK, EXIT_USAGE, say
from services.settings import Settings


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
        say(fact)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for problem in report.problems:
        print(f"contactmoment: {problem}", file=sys.stderr)
    if not report.ok:
        print("the API would not start SMTP ingress with these files", file=sys.stderr)
        return EXIT_FAIL
    say("SMTP ingress can start with these files")
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add these commands to the top-level parser."""
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
