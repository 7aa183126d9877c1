"""The typed clock state reads and writes the JSON shape the worker stored before it."""

import json
from pathlib import Path

import pytest

from domain.clock.state import DocumentClock, EarlySteps, RequestClock, load

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
