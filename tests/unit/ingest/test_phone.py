"""Phone webhook → contact.recorded (+ request.opened for a callback request)."""

import pytest
from pydantic import ValidationError

from schemas.events import ContactRecorded, EventType, RequestOpened
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from services.ingest.phone import PhoneCall, map_phone_call
from tests.unit.ingest.conftest import BSN_A

CALL = {
    "call_id": "c-1001",
    "direction": "inbound",
    "caller": "06-12345678",
    "started_at": "2026-11-30T09:12:00+01:00",
    "ended_at": "2026-11-30T09:19:30+01:00",
    "queue": "KCC",
    "agent": "medewerker-07",
    "subject": "parkeervergunning",
    "notes": "Vraagt naar de wachttijd.",
    "outcome": "answered",
}


def test_answered_call_is_one_contact_identified_by_the_caller(pseudonyms: Pseudonymiser) -> None:
    mapped = map_phone_call(PhoneCall.model_validate(CALL), pseudonyms)
    assert [e.type for e in mapped.events] == [EventType.CONTACT_RECORDED]
    contact = mapped.events[0].data
    assert isinstance(contact, ContactRecorded)
    assert (contact.channel, contact.direction, contact.outcome) == ("phone", "inbound", "answered")
    assert contact.subject == "parkeervergunning"
    assert contact.actor is not None and contact.actor.id == "medewerker-07"
    phone = pseudonyms.identifier(IdentifierKind.PHONE, "+31612345678")
    assert mapped.customer_key == customer_key([phone])
    assert mapped.events[0].time.isoformat() == "2026-11-30T09:12:00+01:00"


def test_verified_bsn_identifies_the_customer_and_keeps_the_number_as_link(
    pseudonyms: Pseudonymiser,
) -> None:
    mapped = map_phone_call(PhoneCall.model_validate({**CALL, "bsn": BSN_A}), pseudonyms)
    bsn = pseudonyms.identifier(IdentifierKind.BSN, BSN_A)
    assert mapped.customer_key == customer_key([bsn])
    contact = mapped.events[0].data
    assert isinstance(contact, ContactRecorded)
    assert [i.kind for i in contact.identifiers] == ["bsn", "phone"]
    assert BSN_A not in mapped.events[0].model_dump_json()


def test_callback_request_opens_a_callback_request(pseudonyms: Pseudonymiser) -> None:
    call = {
        **CALL,
        "outcome": "callback-requested",
        "callback": {"phone": "0612345678", "before": "2026-12-01T17:00:00+01:00"},
    }
    mapped = map_phone_call(PhoneCall.model_validate(call), pseudonyms)
    assert [e.type for e in mapped.events] == [
        EventType.CONTACT_RECORDED,
        EventType.REQUEST_OPENED,
    ]
    contact, opened = (e.data for e in mapped.events)
    assert isinstance(contact, ContactRecorded) and isinstance(opened, RequestOpened)
    assert opened.request_type == "callback"
    assert opened.request_id == contact.request_id
    assert opened.department == "KCC"
    assert len({e.id for e in mapped.events}) == 2


def test_the_same_call_maps_to_the_same_ids(pseudonyms: Pseudonymiser) -> None:
    call = {**CALL, "outcome": "callback-requested", "callback": {"phone": "0612345678"}}
    first = map_phone_call(PhoneCall.model_validate(call), pseudonyms)
    again = map_phone_call(PhoneCall.model_validate(call), pseudonyms)
    assert [e.id for e in first.events] == [e.id for e in again.events]


def test_free_text_bsn_is_redacted(pseudonyms: Pseudonymiser) -> None:
    call = {**CALL, "notes": f"Klant noemde BSN {BSN_A} aan de telefoon"}
    mapped = map_phone_call(PhoneCall.model_validate(call), pseudonyms)
    assert BSN_A not in mapped.events[0].model_dump_json()
    assert "[BSN verwijderd]" in mapped.events[0].model_dump_json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bsn": "123456789"}, "bsn"),
        ({"caller": "not-a-number"}, "caller"),
        ({"caller": None}, "caller"),
        ({"outcome": "callback-requested"}, "callback"),
        ({"outcome": "hung-up"}, "outcome"),
        ({"started_at": "2026-11-30T09:12:00"}, "started_at"),
    ],
)
def test_invalid_calls_name_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        PhoneCall.model_validate({**CALL, **change})
    text = str(exc.value)
    assert field in text
