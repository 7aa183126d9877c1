"""Identifier provenance per channel: what the channel verified for this person, and what
was typed in (docs/ingest.md). A typed e-mail or phone never proves whose it is."""

from schemas.envelope import decode, encode
from schemas.events import ContactRecorded
from schemas.keys import Pseudonymiser
from services.ingest.counter import CounterVisit, map_counter_visit
from services.ingest.email import map_email, parse_email
from services.ingest.phone import PhoneCall, map_phone_call
from services.ingest.web import WebSubmission, map_web_submission
from tests.unit.ingest.conftest import BSN_A
from tests.unit.ingest.test_counter import VISIT
from tests.unit.ingest.test_email import MULTIPART_ALTERNATIVE_QP, NOW, OWN
from tests.unit.ingest.test_phone import CALL
from tests.unit.ingest.test_web import FORM


def provenance(mapped) -> list[tuple[str, bool]]:  # type: ignore[no-untyped-def]
    contact = mapped.events[0].data
    assert isinstance(contact, ContactRecorded)
    return [(i.kind.value, i.verified) for i in contact.identifiers]


def test_digid_form_verifies_the_bsn_not_the_typed_contact_details(
    pseudonyms: Pseudonymiser,
) -> None:
    mapped = map_web_submission(WebSubmission.model_validate(FORM), pseudonyms)
    assert provenance(mapped) == [("bsn", True), ("email", False), ("phone", False)]


def test_eherkenning_form_verifies_the_kvk(pseudonyms: Pseudonymiser) -> None:
    form = {**FORM, "auth": {"method": "eherkenning", "kvk": "69123456"}}
    mapped = map_web_submission(WebSubmission.model_validate(form), pseudonyms)
    assert provenance(mapped) == [("kvk", True), ("email", False), ("phone", False)]


def test_anonymous_form_verifies_nothing(pseudonyms: Pseudonymiser) -> None:
    mapped = map_web_submission(WebSubmission.model_validate({**FORM, "auth": None}), pseudonyms)
    assert provenance(mapped) == [("email", False), ("phone", False)]


def test_a_call_whose_caller_the_agent_verified_verifies_the_line(
    pseudonyms: Pseudonymiser,
) -> None:
    mapped = map_phone_call(PhoneCall.model_validate({**CALL, "bsn": BSN_A}), pseudonyms)
    assert provenance(mapped) == [("bsn", True), ("phone", True)]


def test_an_unverified_caller_and_a_callback_number_are_typed(pseudonyms: Pseudonymiser) -> None:
    assert provenance(map_phone_call(PhoneCall.model_validate(CALL), pseudonyms)) == [
        ("phone", False)
    ]
    call = {
        **CALL,
        "bsn": BSN_A,
        "outcome": "callback-requested",
        "callback": {"phone": "0201234567"},
    }
    mapped = map_phone_call(PhoneCall.model_validate(call), pseudonyms)
    assert provenance(mapped) == [("bsn", True), ("phone", True), ("phone", False)]


def test_a_callback_on_the_verified_line_stays_verified(pseudonyms: Pseudonymiser) -> None:
    call = {
        **CALL,
        "bsn": BSN_A,
        "outcome": "callback-requested",
        "callback": {"phone": CALL["caller"]},
    }
    mapped = map_phone_call(PhoneCall.model_validate(call), pseudonyms)
    assert provenance(mapped) == [("bsn", True), ("phone", True)]


def test_the_counter_checked_the_id(pseudonyms: Pseudonymiser) -> None:
    mapped = map_counter_visit(CounterVisit.model_validate(VISIT), pseudonyms)
    assert provenance(mapped) == [("bsn", True)]


def test_an_e_mail_sender_is_typed(pseudonyms: Pseudonymiser) -> None:
    mapped = map_email(parse_email(MULTIPART_ALTERNATIVE_QP), pseudonyms, OWN, NOW)
    assert provenance(mapped) == [("email", False)]


def test_provenance_travels_on_the_topic(pseudonyms: Pseudonymiser) -> None:
    mapped = map_web_submission(WebSubmission.model_validate(FORM), pseudonyms)
    again = decode(encode(mapped.events[0]))
    assert provenance(type(mapped)(mapped.customer_key, [again])) == provenance(mapped)
