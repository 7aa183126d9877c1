"""Every event type round-trips through the CloudEvents SDK; bad records name the field."""

import json
import typing
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.envelope import InvalidEvent, decode, encode, new_event
from schemas.events import (
    DATA_MODELS,
    ContactRecorded,
    DeadlineBreached,
    EventType,
    RequestExtended,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from tests.strategies import aware, event_data

PSEUDONYMS = Pseudonymiser("test-key-material-0123456789")
IDENTS = [
    PSEUDONYMS.identifier(IdentifierKind.BSN, "111222333"),
    PSEUDONYMS.identifier(IdentifierKind.EMAIL, "jan@example.nl"),
]
KEY = customer_key(IDENTS)
WHEN = datetime(2026, 11, 30, 9, 12, tzinfo=UTC)


@pytest.mark.parametrize("event_type", list(EventType), ids=lambda t: t.value)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_event_type_round_trips(event_type: EventType, data: st.DataObject) -> None:
    model = data.draw(event_data(event_type))
    when = data.draw(aware)
    event = new_event(
        event_type,
        source="urn:contactmoment:test",
        source_id="r-1",
        subject=KEY,
        time=when,
        data=model,
    )
    wire = encode(event)
    assert json.loads(wire)["specversion"] == "1.0"
    assert decode(wire) == event


def test_structured_mode_json_has_the_contract_attributes() -> None:
    event = new_event(
        EventType.CONTACT_RECORDED,
        source="urn:contactmoment:phone",
        source_id="call-1",
        subject=KEY,
        time=WHEN,
        data=ContactRecorded(
            channel="phone",
            direction="inbound",
            subject="paspoort",
            outcome="answered",
            identifiers=IDENTS,
        ),
    )
    wire = json.loads(encode(event))
    assert set(wire) == {
        "specversion",
        "id",
        "source",
        "type",
        "subject",
        "time",
        "datacontenttype",
        "data",
    }
    assert wire["type"] == "nl.contactmoment.contact.recorded.v1"
    assert wire["subject"] == KEY
    assert "111222333" not in json.dumps(wire)


def _valid_wire(**overrides: Any) -> bytes:
    base = {
        "specversion": "1.0",
        "id": "d6fa7e1f-7fab-5a2d-a477-5ee80505a4a9",
        "source": "urn:contactmoment:phone",
        "type": "nl.contactmoment.request.extended.v1",
        "subject": KEY,
        "time": "2026-11-30T09:12:00+01:00",
        "datacontenttype": "application/json",
        "data": {"request_id": "r-1", "extension": "P4W"},
    }
    base.update(overrides)
    return json.dumps(base).encode()


def test_the_valid_fixture_is_valid() -> None:
    assert isinstance(decode(_valid_wire()).data, RequestExtended)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"data": {"request_id": "r-1", "extension": "4 weeks"}}, "data.extension: "),
        ({"data": {"request_id": "r-1"}}, "data.extension: Field required"),
        ({"data": {"request_id": "r-1", "extension": "P4W", "x": 1}}, "data.x: Extra inputs"),
        ({"subject": "111222333"}, "subject: String should match pattern"),
        ({"type": "nl.contactmoment.unknown.v1"}, "type: unknown event type"),
        ({"time": "2026-11-30T09:12:00"}, "time"),
        ({"specversion": "0.3"}, "specversion"),
    ],
)
def test_malformed_events_are_rejected_naming_the_field(
    overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidEvent) as exc:
        decode(_valid_wire(**overrides))
    assert reason in exc.value.reason


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"\xff\xfe", b"{}"])
def test_garbage_is_rejected_with_a_reason(raw: bytes) -> None:
    with pytest.raises(InvalidEvent) as exc:
        decode(raw)
    assert exc.value.reason


def _nullable(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


@pytest.mark.parametrize(
    "model", sorted(set(DATA_MODELS.values()), key=lambda m: m.__name__), ids=lambda m: m.__name__
)
def test_a_field_that_may_be_none_may_also_be_absent(model: type) -> None:
    """The encoder leaves None out of the JSON, so a field that admits None must have a
    default, or its own events fail to decode (a breach of a request without department
    once went to the dead-letter topic for exactly this)."""
    required = [
        name
        for name, field in model.model_fields.items()
        if _nullable(field.annotation) and field.is_required()
    ]
    assert required == []


def test_a_breach_without_department_round_trips() -> None:
    data = DeadlineBreached(
        request_id="req-1",
        request_type="callback",
        department=None,
        opened_at=WHEN,
        due_at=WHEN,
        norm="PT4S",
        detected_at=WHEN,
    )
    event = new_event(
        EventType.DEADLINE_BREACHED,
        source="urn:contactmoment:worker",
        source_id="req-1",
        subject=KEY,
        time=WHEN,
        data=data,
    )
    assert decode(encode(event)) == event
