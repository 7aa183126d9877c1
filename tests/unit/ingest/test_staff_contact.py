"""Contact registreren → the events the phone channel makes: contact.recorded, and with a
Terugbelverzoek request.opened of type callback for the department; the customer's key is
kept, the callback number is a typed identifier, a double submit is the same events."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from schemas.events import Actor, ContactRecorded, EventType, RequestOpened
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, key_of
from services.ingest.staff_contact import StaffContact, map_staff_contact
from tests.unit.ingest.conftest import BSN_A

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
ACTOR = Actor(kind="employee", id="medewerker-07", department="KCC")
FORM = {
    "form_id": "f" * 32,
    "channel": "phone",
    "subject": "parkeervergunning",
    "summary": "Vraagt naar de wachttijd; BSN 111222333.",
    "outcome": "answered",
}


def test_a_contact_is_one_contact_recorded_for_the_customer(pseudonyms: Pseudonymiser) -> None:
    bsn = pseudonyms.identifier(IdentifierKind.BSN, BSN_A)
    mapped = map_staff_contact(StaffContact.model_validate(FORM), [bsn], pseudonyms, ACTOR, AT)
    assert mapped.customer_key == key_of(bsn.hash)
    [event] = mapped.events
    assert event.type is EventType.CONTACT_RECORDED and event.subject == mapped.customer_key
    contact = event.data
    assert isinstance(contact, ContactRecorded)
    assert (contact.channel, contact.direction, contact.outcome) == ("phone", "inbound", "answered")
    assert contact.actor == ACTOR and contact.request_id is None
    assert contact.summary is not None and BSN_A not in contact.summary  # redacted


def test_a_callback_opens_a_callback_request_for_the_department(
    pseudonyms: Pseudonymiser,
) -> None:
    phone = pseudonyms.identifier(IdentifierKind.PHONE, "0612345678", verified=False)
    form = {
        **FORM,
        "callback": {
            "department": "Burgerzaken",
            "phone": "06-87654321",
            "before": "2026-12-07T14:00:00+01:00",
        },
    }
    mapped = map_staff_contact(StaffContact.model_validate(form), [phone], pseudonyms, ACTOR, AT)
    assert [e.type for e in mapped.events] == [
        EventType.CONTACT_RECORDED,
        EventType.REQUEST_OPENED,
    ]
    contact, opened = (e.data for e in mapped.events)
    assert isinstance(contact, ContactRecorded) and isinstance(opened, RequestOpened)
    assert contact.outcome == "callback-requested" and contact.request_id == opened.request_id
    assert (opened.request_type, opened.department, opened.channel) == (
        "callback",
        "Burgerzaken",
        "phone",
    )
    assert mapped.customer_key == key_of(phone.hash)  # the first of its kind keeps the key
    number = pseudonyms.identifier(IdentifierKind.PHONE, "0687654321")
    assert [(i.hash, i.verified) for i in contact.identifiers][1] == (number.hash, False)
    assert contact.summary is not None and "Terugbellen op 06-87654321" in contact.summary
    assert "07-12-2026 14:00" in contact.summary


def test_the_same_form_is_the_same_events(pseudonyms: Pseudonymiser) -> None:
    bsn = pseudonyms.identifier(IdentifierKind.BSN, BSN_A)
    form = StaffContact.model_validate(FORM)
    first = map_staff_contact(form, [bsn], pseudonyms, ACTOR, AT)
    again = map_staff_contact(form, [bsn], pseudonyms, ACTOR, AT)
    assert [e.id for e in first.events] == [e.id for e in again.events]
    other = StaffContact.model_validate({**FORM, "form_id": "e" * 32})
    assert map_staff_contact(other, [bsn], pseudonyms, ACTOR, AT).events[0].id != first.events[0].id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"channel": "fax"}, "channel"),
        ({"outcome": "misschien"}, "outcome"),
        ({"callback": {"department": "Burgerzaken", "phone": "abc"}}, "callback"),
    ],
)
def test_bad_fields_are_named(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StaffContact.model_validate({**FORM, **change})
    assert caught.value.errors()[0]["loc"][0] == field
