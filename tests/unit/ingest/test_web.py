"""Web form → contact.recorded + request.opened, carrying every identifier."""

import pytest
from pydantic import ValidationError

from schemas.events import ContactRecorded, EventType, RequestOpened
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from services.ingest.web import WebSubmission, map_web_submission
from tests.unit.ingest.conftest import BSN_A

FORM = {
    "submission_id": "s-501",
    "form": "Melding openbare ruimte",
    "submitted_at": "2026-11-30T21:40:00+01:00",
    "auth": {"method": "digid", "bsn": BSN_A},
    "contact": {"email": "Jan@Example.nl", "phone": "0612345678"},
    "subject": "losliggende stoeptegel",
    "message": "Voor de deur van Kerkstraat 1 ligt een tegel los.",
    "request_type": "report",
}


def test_digid_submission_carries_all_identifiers(pseudonyms: Pseudonymiser) -> None:
    mapped = map_web_submission(WebSubmission.model_validate(FORM), pseudonyms)
    assert [e.type for e in mapped.events] == [
        EventType.CONTACT_RECORDED,
        EventType.REQUEST_OPENED,
    ]
    contact, opened = (e.data for e in mapped.events)
    assert isinstance(contact, ContactRecorded) and isinstance(opened, RequestOpened)
    assert [i.kind for i in contact.identifiers] == ["bsn", "email", "phone"]
    assert opened.request_type == "report"
    assert opened.request_id == contact.request_id
    assert mapped.customer_key == customer_key([pseudonyms.identifier(IdentifierKind.BSN, BSN_A)])
    assert BSN_A not in "".join(e.model_dump_json() for e in mapped.events)


def test_email_identifier_links_to_the_email_channel(pseudonyms: Pseudonymiser) -> None:
    mapped = map_web_submission(WebSubmission.model_validate(FORM), pseudonyms)
    contact = mapped.events[0].data
    assert isinstance(contact, ContactRecorded)
    email = pseudonyms.identifier(IdentifierKind.EMAIL, "jan@example.nl")
    assert email in contact.identifiers


def test_eherkenning_submission_is_keyed_by_kvk(pseudonyms: Pseudonymiser) -> None:
    form = {**FORM, "auth": {"method": "eherkenning", "kvk": "69123456"}}
    mapped = map_web_submission(WebSubmission.model_validate(form), pseudonyms)
    assert mapped.customer_key == customer_key(
        [pseudonyms.identifier(IdentifierKind.KVK, "69123456")]
    )


def test_anonymous_submission_is_keyed_by_email(pseudonyms: Pseudonymiser) -> None:
    form = {**FORM, "auth": None}
    mapped = map_web_submission(WebSubmission.model_validate(form), pseudonyms)
    assert mapped.customer_key == customer_key(
        [pseudonyms.identifier(IdentifierKind.EMAIL, "jan@example.nl")]
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"auth": {"method": "digid", "bsn": "123456789"}}, "fails the 11-check"),
        ({"auth": {"method": "password", "bsn": BSN_A}}, "method"),
        ({"auth": None, "contact": {}}, "needs contact.email or contact.phone"),
        ({"contact": {"email": "jan@"}}, "not a valid e-mail address"),
        ({"request_type": "wish"}, "request_type"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_submissions(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WebSubmission.model_validate({**FORM, **change})
