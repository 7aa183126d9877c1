"""The typed clock state reads and writes the JSON shape the worker stored before it."""

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from domain.clock import requests
from domain.clock.norms import load as load_norms
from domain.clock.state import DocumentClock, EarlySteps, RequestClock, load
from services.settings import PROJECT_ROOT

# Written by the untyped clock code (request, early and document clocks as the worker saved
# them, `born` and `indexed` set); changelogs and RocksDB stores hold values like these.
V1 = json.loads((Path(__file__).parent / "fixtures" / "clock_state_v1.json").read_text())
KINDS = {
    "request_opened": RequestClock,
    "request_extended_suspended": RequestClock,
    "request_breached_answered_reopened": RequestClock,
    "early": EarlySteps,
    "early_without_born": EarlySteps,
    "document_pending": DocumentClock,
    "document_notified": DocumentClock,
    "document_notified_on_tick": DocumentClock,
}


@pytest.mark.parametrize("name", sorted(V1))
def test_a_stored_state_loads_and_is_written_back_identical(name: str) -> None:
    state = load(V1[name])
    assert type(state) is KINDS[name]
    assert state.to_json() == V1[name]
    assert json.loads(json.dumps(state.to_json())) == V1[name]


def test_steps_are_parsed_on_load() -> None:
    state = load(V1["request_extended_suspended"])
    assert isinstance(state, RequestClock)
    assert [s.kind for s in state.steps] == [
        "opened",
        "acknowledged",
        "extended",
        "suspended",
        "outbound",
    ]
    assert state.steps[2].extension == "P4W" and state.steps[0].at.tzinfo is not None


def test_what_a_stored_clock_emitted_is_not_emitted_again() -> None:
    """A callback the earlier code swept past its due instant (warning, breach, escalation
    and the interim reminder all emitted): its emission keys still match, so a later sweep
    emits nothing and the clock has nothing pending."""
    stored = json.loads(
        (Path(__file__).parent / "fixtures" / "clock_state_v1_swept.json").read_text()
    )
    state = load(stored["state"])
    assert isinstance(state, RequestClock)
    catalogue = load_norms(PROJECT_ROOT / "deploy" / "config" / "service-norms.toml")
    later = datetime.fromisoformat(stored["swept_at"]) + timedelta(days=3)
    swept, out = requests.sweep(state, later, requests.Context(catalogue, "phone"))
    assert out == []
    assert swept.to_json() == stored["state"]
    assert requests.next_instant(state, catalogue) is None
