"""The worklist and KPI pages' own rules, pure: which filters they accept (and how a bad one
is named), the department role's default, how long past due reads, and the KPI weeks."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.api.auth import Staff
from services.api.ui_kpis import TREND_WEEKS, BadWindow, weeks, window
from services.api.ui_lists import MAX_PAGE, BadFilter, is_overdue, overdue_for, parse_filters

KCC = Staff("k", frozenset({"kcc"}))
DEPT = Staff("d", frozenset({"department"}), "Vergunningen")
REGIE = Staff("r", frozenset({"regieteam"}))


def test_defaults_are_the_open_list_of_page_one() -> None:
    assert parse_filters({}, KCC) == {
        "status": "open",
        "soort": None,
        "afdeling": None,
        "pagina": 1,
    }
    assert parse_filters({}, REGIE)["afdeling"] is None


def test_the_department_role_sees_its_own_department_by_default() -> None:
    assert parse_filters({}, DEPT)["afdeling"] == "Vergunningen"
    # An explicitly emptied field is the staff member's choice (the policy then decides).
    assert parse_filters({"afdeling": ""}, DEPT)["afdeling"] is None
    assert parse_filters({"afdeling": " Burgerzaken "}, DEPT)["afdeling"] == "Burgerzaken"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "late"}, "Status"),
        ({"soort": "klacht"}, "Soort verzoek"),
        ({"pagina": "0"}, "Pagina"),
        ({"pagina": "x"}, "Pagina"),
        ({"pagina": str(MAX_PAGE + 1)}, "Pagina"),
        ({"afdeling": "a" * 101}, "Afdeling"),
    ],
)
def test_a_value_the_page_does_not_offer_is_named(query: dict[str, str], field: str) -> None:
    with pytest.raises(BadFilter, match=f"^{field}:"):
        parse_filters(query, KCC)


def test_past_due_reads_coarsely() -> None:
    assert overdue_for(timedelta(seconds=7)) == "7 s"
    assert overdue_for(timedelta(minutes=5, seconds=30)) == "5 min."
    assert overdue_for(timedelta(hours=3, minutes=2)) == "3 uur, 2 min."
    assert overdue_for(timedelta(days=1, hours=2)) == "1 dag, 2 uur"
    assert overdue_for(timedelta(days=12, hours=5, minutes=9)) == "12 dagen, 5 uur"
    assert overdue_for(timedelta(seconds=-3)) == "0 s"


def test_overdue_is_the_worklist_meaning() -> None:
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    past, future = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=1)).isoformat()
    row = {"status": "open", "due_at": future, "breached": False}
    assert not is_overdue(row, now)
    assert is_overdue({**row, "due_at": past}, now)
    assert is_overdue({**row, "due_at": None, "breached": True}, now)  # suspended after breach
    assert is_overdue({**row, "status": "suspended", "breached": True}, now)
    assert not is_overdue({**row, "status": "answered", "due_at": past, "breached": True}, now)


def test_the_default_window_is_the_last_four_weeks() -> None:
    assert window({}, date(2026, 3, 31)) == (date(2026, 3, 4), date(2026, 3, 31))
    assert window({"van": "2026-01-01", "tot": "2026-01-31"}, date(2026, 3, 31)) == (
        date(2026, 1, 1),
        date(2026, 1, 31),
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"van": "01-01-2026"}, "Van"),
        ({"tot": "morgen"}, "Tot en met"),
        ({"van": "2026-02-01", "tot": "2026-01-01"}, "Van"),
        ({"van": "2020-01-01", "tot": "2026-01-01"}, "Van"),
    ],
)
def test_a_bad_window_is_named(query: dict[str, str], field: str) -> None:
    with pytest.raises(BadWindow, match=f"^{field}:"):
        window(query, date(2026, 3, 31))


def test_weeks_run_monday_to_sunday_cut_to_the_window() -> None:
    # Wednesday 4 March to Tuesday 31 March 2026: ISO weeks 10 to 14, first and last cut.
    got = weeks(date(2026, 3, 4), date(2026, 3, 31))
    assert [label for label, _, _ in got] == ["wk 10", "wk 11", "wk 12", "wk 13", "wk 14"]
    assert got[0][1:] == (date(2026, 3, 4), date(2026, 3, 8))
    assert got[-1][1:] == (date(2026, 3, 30), date(2026, 3, 31))
    days = sum((b - a).days + 1 for _, a, b in got)
    assert days == 28  # every day of the window in exactly one week


def test_a_long_window_trends_its_last_weeks_only() -> None:
    got = weeks(date(2025, 1, 1), date(2026, 3, 31))
    assert len(got) == TREND_WEEKS
    assert got[-1][2] == date(2026, 3, 31)
