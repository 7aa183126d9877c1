"""Which event fields are sealed, and how they open: with the key exactly as they were,
without it as nothing (optional text) or as ERASED (required text)."""

from datetime import UTC, date, datetime
from typing import Any

from schemas.envelope import Envelope, new_event
from schemas.events import (
    DATA_MODELS,
    ContactRecorded,
    DocumentIssued,
    EventType,
    FeedbackGiven,
    RequestAnswered,
    RequestInterimUpdate,
    RequestOpened,
    RequestReopened,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from schemas.sealed import ERASED, OPTIONAL_TEXT, REQUIRED_TEXT, SEALED, is_sealed
from services.privacy import crypto, sealing
from services.privacy.sealer import memory_sealer

PSEUDONYMS = Pseudonymiser("unit-test-pseudonym-key-0123")
IDENTIFIERS = [
    PSEUDONYMS.identifier(IdentifierKind.BSN, "111222333"),
    PSEUDONYMS.identifier(IdentifierKind.PHONE, "06-12345678"),
    PSEUDONYMS.identifier(IdentifierKind.EMAIL, "j.de.vries@example.nl"),
]
KEY = customer_key(IDENTIFIERS)
OTHER = customer_key([PSEUDONYMS.identifier(IdentifierKind.BSN, "999993653")])
T0 = datetime(2026, 11, 30, 9, 12, tzinfo=UTC)
NOTES = "Meneer Öztürk vraagt naar de wachttijd; belt terug na 17:00 — ‘dringend’."


def event(
    event_type: EventType, data: Any, *, subject: str = KEY, time: datetime = T0, n: str = "1"
) -> Envelope:
    return new_event(
        event_type,
        source="urn:contactmoment:test",
        source_id=n,
        subject=subject,
        time=time,
        data=data,
    )


def contact(summary: str | None = NOTES, **kw: Any) -> Envelope:
    return event(
        EventType.CONTACT_RECORDED,
        ContactRecorded(
            channel="phone",
            direction="inbound",
            subject="parkeervergunning",
            outcome="answered",
            identifiers=IDENTIFIERS,
            summary=summary,
            actor={"kind": "employee", "id": "medewerker-07", "department": "KCC"},
            request_id="call-c-1001",
        ),
        **kw,
    )


def reopened(reason: str = "Het antwoord klopt niet, mevrouw is het oneens") -> Envelope:
    return event(EventType.REQUEST_REOPENED, RequestReopened(request_id="r-1", reason=reason))


def dump(e: Envelope) -> dict[str, Any]:
    return e.data.model_dump(mode="json", exclude_none=True)


KEY_ID, DATA_KEY = crypto.new_key_id(), crypto.new_data_key()


def test_a_contact_has_its_summary_and_every_masked_identifier_sealed_and_nothing_else() -> None:
    plain = contact()
    sealed = sealing.seal_event(plain, KEY_ID, DATA_KEY)
    before, after = dump(plain), dump(sealed)
    assert set(after) == set(before)
    for name in set(before) - {"summary", "identifiers"}:
        assert after[name] == before[name], name
    assert after["subject"] == "parkeervergunning"
    assert after["outcome"] == "answered"
    assert after["channel"] == "phone"
    assert SEALED.match(after["summary"])
    assert (
        crypto.open_sealed(after["summary"], DATA_KEY, customer_key=plain.subject, field="summary")
        == NOTES
    )
    assert len(after["identifiers"]) == len(IDENTIFIERS)
    for was, now in zip(before["identifiers"], after["identifiers"], strict=True):
        assert {k: v for k, v in now.items() if k != "masked"} == {
            k: v for k, v in was.items() if k != "masked"
        }
        assert SEALED.match(now["masked"])
        field = sealing.item_field("identifiers", now["hash"])
        opened = crypto.open_sealed(
            now["masked"], DATA_KEY, customer_key=plain.subject, field=field
        )
        assert opened == was["masked"]
    assert (sealed.id, sealed.subject, sealed.time, sealed.type) == (
        plain.id,
        plain.subject,
        plain.time,
        plain.type,
    )
    assert NOTES not in sealed.model_dump_json()


def test_plain_fields_and_key_ids_before_and_after_sealing() -> None:
    for plain in (contact(), contact(summary=None), reopened()):
        assert sealing.plain_fields(plain)
        assert sealing.key_ids(plain) == set()
        sealed = sealing.seal_event(plain, KEY_ID, DATA_KEY)
        assert not sealing.plain_fields(sealed)
        assert sealing.key_ids(sealed) == {KEY_ID}


def test_sealing_twice_changes_nothing() -> None:
    once = sealing.seal_event(contact(), KEY_ID, DATA_KEY)
    twice = sealing.seal_event(once, crypto.new_key_id(), crypto.new_data_key())
    assert twice == once


def test_opening_with_the_key_restores_the_exact_original() -> None:
    for plain in (
        contact(),
        contact(summary=None),
        reopened(),
        event(EventType.REQUEST_INTERIM_UPDATE, RequestInterimUpdate(request_id="r-1", note="x")),
        event(EventType.FEEDBACK_GIVEN, FeedbackGiven(request_id="r-1", score=2, comment="Traag")),
    ):
        sealed = sealing.seal_event(plain, KEY_ID, DATA_KEY)
        assert sealed != plain
        opened = sealing.open_event(sealed, {KEY_ID: DATA_KEY, OTHER: crypto.new_data_key()})
        assert opened == plain
        assert dump(opened) == dump(plain)


def test_without_the_key_optional_text_vanishes_and_required_text_reads_erased() -> None:
    sealed = sealing.seal_event(contact(), KEY_ID, DATA_KEY)
    opened = sealing.open_event(sealed, {crypto.new_key_id(): crypto.new_data_key()})
    assert isinstance(opened.data, ContactRecorded)
    assert opened.data.summary is None
    assert "summary" not in dump(opened)
    assert [i.masked for i in opened.data.identifiers] == [ERASED] * len(IDENTIFIERS)
    assert [(i.kind, i.hash) for i in opened.data.identifiers] == [
        (i.kind, i.hash) for i in IDENTIFIERS
    ]
    assert (opened.data.subject, opened.data.outcome) == ("parkeervergunning", "answered")

    reason = sealing.open_event(sealing.seal_event(reopened(), KEY_ID, DATA_KEY), {})
    assert isinstance(reason.data, RequestReopened)
    assert reason.data.reason == ERASED

    note = event(EventType.REQUEST_INTERIM_UPDATE, RequestInterimUpdate(request_id="r-1", note="n"))
    gone = sealing.open_event(sealing.seal_event(note, KEY_ID, DATA_KEY), {})
    assert isinstance(gone.data, RequestInterimUpdate)
    assert gone.data.note is None
    assert gone.data.request_id == "r-1"


def test_events_without_personal_text_come_back_unchanged() -> None:
    for plain in (
        event(EventType.REQUEST_ANSWERED, RequestAnswered(request_id="r-1")),
        event(
            EventType.REQUEST_OPENED,
            RequestOpened(request_id="r-1", request_type="question", subject="wmo", channel="web"),
        ),
        event(
            EventType.DOCUMENT_ISSUED,
            DocumentIssued(document_kind="passport", valid_until=date(2036, 11, 30)),
        ),
        event(EventType.FEEDBACK_GIVEN, FeedbackGiven(request_id="r-1", score=4)),
    ):
        assert not sealing.plain_fields(plain)
        assert sealing.seal_event(plain, KEY_ID, DATA_KEY) == plain
        assert sealing.key_ids(plain) == set()
        assert sealing.open_event(plain, {}) == plain


def test_plain_text_is_left_as_it_is_when_opening() -> None:
    """External producers may publish plain text: the projector takes it as it is."""
    plain = contact()
    assert sealing.open_event(plain, {}) == plain


def test_period_is_the_first_of_the_month() -> None:
    assert sealing.period_of(datetime(2026, 2, 28, 23, 59, tzinfo=UTC)) == date(2026, 2, 1)
    assert sealing.period_of(datetime(2026, 3, 1, 0, 0, tzinfo=UTC)) == date(2026, 3, 1)


async def test_memory_sealer_uses_one_key_per_customer_and_month() -> None:
    sealer = memory_sealer()
    nov_a = contact(n="a")
    nov_b = contact(n="b", time=datetime(2026, 11, 1, 0, 0, tzinfo=UTC))
    dec = contact(n="c", time=datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    other = contact(n="d", subject=OTHER)
    answered = event(EventType.REQUEST_ANSWERED, RequestAnswered(request_id="r-1"), n="e")
    sealed = await sealer.seal([nov_a, nov_b, dec, other, answered])
    ids = [sealing.key_ids(e) for e in sealed]
    assert all(len(found) == 1 for found in ids[:4])
    assert ids[0] == ids[1]
    assert ids[2] != ids[0]
    assert ids[3] != ids[0]
    assert ids[3] != ids[2]
    assert ids[4] == set()
    assert sealed[4] == answered
    assert all(not sealing.plain_fields(e) for e in sealed)
    assert all(is_sealed(i.masked) for e in sealed[:4] for i in e.data.identifiers)  # type: ignore[attr-defined]


async def test_memory_sealer_keys_open_what_it_sealed() -> None:
    keys: dict[tuple[str, date], tuple[str, bytes]] = {}
    sealed = (await memory_sealer(keys).seal([contact()]))[0]
    assert list(keys) == [(KEY, date(2026, 11, 1))]
    key_id, data_key = keys[(KEY, date(2026, 11, 1))]
    assert sealing.key_ids(sealed) == {key_id}
    assert sealing.open_event(sealed, {key_id: data_key}) == contact()


def test_which_personal_text_is_required_follows_the_event_models() -> None:
    """Opening without a key drops an optional text and marks a required one ERASED, and
    retention does the same in SQL: both read OPTIONAL/REQUIRED_TEXT, so they must say what
    the models say."""
    seen: dict[str, set[bool]] = {}
    for model in DATA_MODELS.values():
        for name in sealing.TEXT_FIELDS:
            if name in model.model_fields:
                seen.setdefault(name, set()).add(model.model_fields[name].is_required())
    assert seen == {
        **{name: {False} for name in OPTIONAL_TEXT},
        **{name: {True} for name in REQUIRED_TEXT},
    }
