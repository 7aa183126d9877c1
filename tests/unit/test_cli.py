"""The command line: help lists the subcommands, usage errors exit 2."""

import pytest

from services.cli import build_parser, main


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("dev", "topics", "db", "schemas"):
        assert command in out


def test_dev_actions() -> None:
    parser = build_parser()
    for action in ("up", "down", "status", "secrets"):
        assert parser.parse_args(["dev", action]).handler.__name__ == f"cmd_dev_{action}"


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_bad_configuration_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTACTMOMENT_API_PORT", "nope")
    assert main(["dev", "status"]) == 1
    assert "CONTACTMOMENT_API_PORT" in capsys.readouterr().err


def test_smtp_actions() -> None:
    parser = build_parser()
    add = parser.parse_args(["smtp", "add-user", "gateway", "--file", "users"])
    assert add.handler.__name__ == "cmd_smtp_add_user"
    assert parser.parse_args(["smtp", "check-config"]).handler.__name__ == "cmd_smtp_check_config"
