"""BSNs typed into free text are removed before the text travels, in whatever form they are
written; numbers that fail the 11-check stay as they are."""

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum.nl import bsn as stdnum_bsn

from schemas.identifiers import BSN_REDACTED, redact_bsns
from schemas.keys import Pseudonymiser
from services.ingest.counter import CounterVisit, map_counter_visit
from services.ingest.phone import PhoneCall, map_phone_call
from services.ingest.web import WebSubmission, map_web_submission

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"
BSN = "123456782"  # passes the 11-check


def _with_check_digit(first_eight: str) -> str | None:
    """The valid BSN with these first eight digits, if one exists."""
    for last in "0123456789":
        if stdnum_bsn.is_valid(first_eight + last):
            return first_eight + last
    return None


valid_bsns = (
    st.text(alphabet="0123456789", min_size=8, max_size=8)
    .map(_with_check_digit)
    .filter(lambda b: b is not None and int(b) > 0)
)
separator = st.sampled_from([" ", ".", "-", "\u00a0"])
prefix = st.sampled_from(["", "BSN ", "bsn:", "BSN-", "Bsn: ", "bSn.", "BSN nr. ", "(", "#"])
# Text around the number: anything but digits (a digit next to it would make it part of a
# longer number), meeting it at whitespace or punctuation.
around = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Nd", "No", "Nl"]), max_size=30
)
boundary = st.sampled_from(["", " ", "\n", "\t", ": ", "(", ")", "!", "? ", "'", '"', "/"])


@st.composite
def written(draw: st.DrawFn) -> str:
    """A valid BSN, written one way a resident might write it."""
    number = draw(valid_bsns)
    assert number is not None
    sep = draw(separator)
    shapes = [
        number,
        f"{number[:3]}{sep}{number[3:6]}{sep}{number[6:]}",
        f"{number[:4]}{sep}{number[4:6]}{sep}{number[6:]}",
    ]
    if number.startswith("0"):
        shapes.append(number[1:])  # written as a number: the leading zero dropped
    return draw(prefix) + draw(st.sampled_from(shapes))


@given(written(), around, boundary, boundary, around)
def test_no_written_bsn_survives_redaction(
    shown: str, before: str, left: str, right: str, after: str
) -> None:
    cleaned = redact_bsns(before + left + shown + right + after)
    assert BSN_REDACTED in cleaned
    assert not any(c in "0123456789" for c in cleaned), cleaned


@given(st.text(alphabet="0123456789", min_size=9, max_size=9), around, around)
def test_nine_digits_failing_the_11_check_stay(digits: str, before: str, after: str) -> None:
    if stdnum_bsn.is_valid(digits) or stdnum_bsn.is_valid(digits[1:]):
        return
    text = f"{before} {digits} {after}"
    assert redact_bsns(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "mijn bsn is 123 456 782, graag terugbellen",
        "123-456-782",
        "123.456.782",
        "1234.56.782",
        "BSN-123456782",
        "bsn:123456782",
        "Bsn 12345672 (voorloopnul weggelaten)",
    ],
)
def test_each_written_form_is_redacted(text: str) -> None:
    cleaned = redact_bsns(text)
    assert BSN_REDACTED in cleaned
    assert not any(run in cleaned for run in ("123", "12345672", "782"))


@pytest.mark.parametrize(
    "text",
    [
        "factuur 123456789",  # fails the 11-check
        "bel 0612345678",  # a phone number: ten digits
        "IBAN NL91ABNA0417164300",
        "bedrag 1.123.456.782 euro",  # a longer number, not a BSN
        "zaak 2024-123456",
    ],
)
def test_numbers_that_are_not_a_bsn_stay(text: str) -> None:
    assert redact_bsns(text) == text


PSEUDONYMS = Pseudonymiser("unit-test-pseudonym-key-0123")


def _published(mapped: object) -> str:
    return "".join(e.model_dump_json() for e in mapped.events)  # type: ignore[attr-defined]


def test_every_free_text_field_of_the_phone_channel_is_redacted() -> None:
    call = json.loads((EXAMPLES / "phone-callback.json").read_text())
    call |= {
        "queue": "Burgerzaken 123.456.782",
        "agent": "bsn:123456782",
        "subject": "BSN-123456782",
    }
    call["notes"] = "1234 56 782"
    published = _published(map_phone_call(PhoneCall.model_validate(call), PSEUDONYMS))
    assert "782" not in published.replace(call["bsn"], "")


def test_every_free_text_field_of_the_web_and_counter_channels_is_redacted() -> None:
    form = {
        "submission_id": "f-1",
        "form": "melding 123 456 782",
        "submitted_at": "2026-03-02T09:00:00+01:00",
        "contact": {"email": "a@example.nl"},
        "subject": "BSN-123456782",
        "message": "bsn:123456782",
        "request_type": "report",
    }
    published = _published(map_web_submission(WebSubmission.model_validate(form), PSEUDONYMS))
    assert "782" not in published
    visit = {
        "visit_id": "v-1",
        "location": "Balie 123-456-782",
        "checked_in_at": "2026-03-02T09:00:00+01:00",
        "product": "paspoort voor 123.456.782",
        "kvk": "12345678",
        "outcome": "served",
    }
    published = _published(map_counter_visit(CounterVisit.model_validate(visit), PSEUDONYMS))
    assert "456" not in published
