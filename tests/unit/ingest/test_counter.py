"""Counter visit → contact.recorded, + document.issued per issued document."""

import pytest
from pydantic import ValidationError

from schemas.events import ContactRecorded, DocumentIssued, EventType
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from services.ingest.counter import CounterVisit, map_counter_visit
from tests.unit.ingest.conftest import BSN_A

VISIT = {
    "visit_id": "v-77",
    "appointment_id": "a-12",
    "location": "Stadskantoor Bergen op Zoom",
    "checked_in_at": "2026-11-30T10:00:00+01:00",
    "served_at": "2026-11-30T10:05:00+01:00",
    "ended_at": "2026-11-30T10:20:00+01:00",
    "product": "paspoort",
    "bsn": BSN_A,
    "outcome": "served",
    "documents_issued": [
        {"kind": "passport", "valid_until": "2036-11-30"},
        {"kind": "id-card", "valid_until": "2031-11-30"},
    ],
}


def test_served_visit_with_documents(pseudonyms: Pseudonymiser) -> None:
    mapped = map_counter_visit(CounterVisit.model_validate(VISIT), pseudonyms)
    assert [e.type for e in mapped.events] == [
        EventType.CONTACT_RECORDED,
        EventType.DOCUMENT_ISSUED,
        EventType.DOCUMENT_ISSUED,
    ]
    contact = mapped.events[0].data
    assert isinstance(contact, ContactRecorded)
    assert (contact.channel, contact.outcome, contact.subject) == ("counter", "served", "paspoort")
    docs = [e.data for e in mapped.events[1:]]
    assert all(isinstance(d, DocumentIssued) for d in docs)
    assert [(d.document_kind, d.valid_until.isoformat()) for d in docs] == [  # type: ignore[union-attr]
        ("passport", "2036-11-30"),
        ("id-card", "2031-11-30"),
    ]
    assert len({e.id for e in mapped.events}) == 3
    assert mapped.customer_key == customer_key([pseudonyms.identifier(IdentifierKind.BSN, BSN_A)])


def test_no_show_is_recorded_as_such(pseudonyms: Pseudonymiser) -> None:
    visit = {
        k: v
        for k, v in VISIT.items()
        if k not in ("checked_in_at", "served_at", "ended_at", "documents_issued")
    }
    visit.update(outcome="no-show", scheduled_at="2026-11-30T10:00:00+01:00")
    mapped = map_counter_visit(CounterVisit.model_validate(visit), pseudonyms)
    assert [e.type for e in mapped.events] == [EventType.CONTACT_RECORDED]
    contact = mapped.events[0].data
    assert isinstance(contact, ContactRecorded) and contact.outcome == "no-show"


def test_business_visit_is_keyed_by_kvk(pseudonyms: Pseudonymiser) -> None:
    visit = {**VISIT, "kvk": "69123456", "documents_issued": []}
    del visit["bsn"]
    mapped = map_counter_visit(CounterVisit.model_validate(visit), pseudonyms)
    assert mapped.customer_key == customer_key(
        [pseudonyms.identifier(IdentifierKind.KVK, "69123456")]
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bsn": None}, "needs the customer's bsn or kvk"),
        ({"bsn": "111222334"}, "fails the 11-check"),
        ({"kvk": "123"}, "8 digits"),
        ({"outcome": "no-show"}, "nothing can be issued at a no-show"),
        ({"checked_in_at": None, "served_at": None}, "checked_in_at"),
        ({"documents_issued": [{"kind": "boat-licence", "valid_until": "2030-01-01"}]}, "kind"),
    ],
)
def test_invalid_visits(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CounterVisit.model_validate({**VISIT, **change})
