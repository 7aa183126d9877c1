"""The projection plan (pure): what a batch of events writes, without a database."""

from datetime import UTC, datetime, timedelta

from schemas.envelope import Envelope, new_event
from schemas.events import (
    ContactRecorded,
    DocumentIssued,
    EventType,
    RequestAcknowledged,
    RequestAnswered,
    RequestOpened,
    RequestReopened,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key
from schemas.sealed import ERASED
from services.readmodel.projection import plan_batch

P = Pseudonymiser("projection-test-key-0123")
BSN = P.identifier(IdentifierKind.BSN, "111222333")
EMAIL = P.identifier(IdentifierKind.EMAIL, "jan@example.nl")
KEY = customer_key([BSN])
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def event(event_type: EventType, data, minutes: int = 0, source_id: str = "x") -> Envelope:  # type: ignore[no-untyped-def]
    return new_event(
        event_type,
        source="urn:contactmoment:test",
        source_id=source_id,
        subject=KEY,
        time=T0 + timedelta(minutes=minutes),
        data=data,
    )


def contact(channel: str, minutes: int, direction: str = "inbound") -> Envelope:
    return event(
        EventType.CONTACT_RECORDED,
        ContactRecorded(
            channel=channel,
            direction=direction,
            subject="paspoort",
            outcome="served",
            identifiers=[BSN, EMAIL],
        ),
        minutes,
        source_id=f"{channel}-{minutes}",
    )


def test_contacts_fold_into_one_counter_delta_per_customer() -> None:
    plan = plan_batch([contact("phone", 5), contact("counter", 0), contact("phone", 9, "outbound")])
    delta = plan.customers[KEY]
    assert delta.contacts == 3
    assert delta.channels == {"phone": 2, "counter": 1}
    assert delta.inbound == {"phone": 1, "counter": 1}
    assert (delta.first, delta.last) == (T0, T0 + timedelta(minutes=9))
    assert len(plan.timeline) == 3


def test_identifiers_are_deduplicated_keeping_the_first_sighting() -> None:
    plan = plan_batch([contact("phone", 5), contact("counter", 1), contact("web", 3)])
    assert sorted(plan.identifiers) == sorted([(KEY, BSN.hash), (KEY, EMAIL.hash)])
    assert {row[4] for row in plan.identifiers.values()} == {T0 + timedelta(minutes=1)}


def test_a_readable_identifier_display_wins_over_one_past_its_retention() -> None:
    """An old contact opened without its (shredded) key shows `[gewist]`; a newer one of the
    same identifier still shows it: the row keeps the readable display and the first time."""
    old = contact("phone", 0)
    erased = [i.model_copy(update={"masked": ERASED}) for i in old.data.identifiers]  # type: ignore[attr-defined]
    old = old.model_copy(update={"data": old.data.model_copy(update={"identifiers": erased})})
    for batch in ([old, contact("web", 5)], [contact("web", 5), old]):
        rows = plan_batch(batch).identifiers
        assert rows[(KEY, BSN.hash)][3:5] == (BSN.masked, T0)
        assert rows[(KEY, EMAIL.hash)][3:5] == (EMAIL.masked, T0)
    assert plan_batch([old]).identifiers[(KEY, BSN.hash)][3] == ERASED


def test_an_identifier_verified_by_any_event_of_the_batch_is_verified() -> None:
    typed = contact("web", 1)
    verified = contact("phone", 2)
    idents = [i.model_copy(update={"verified": True}) for i in verified.data.identifiers]  # type: ignore[attr-defined]
    verified = verified.model_copy(
        update={"data": verified.data.model_copy(update={"identifiers": idents})}
    )
    for batch in ([typed, verified], [verified, typed]):
        assert plan_batch(batch).identifiers[(KEY, EMAIL.hash)][5] is True
    assert plan_batch([typed]).identifiers[(KEY, EMAIL.hash)][5] is False
    assert plan_batch([typed]).identifiers[(KEY, BSN.hash)][5] is True


def test_request_lifecycle_goes_into_its_history() -> None:
    opened = RequestOpened(request_id="r1", request_type="callback", subject="Wmo", channel="phone")
    plan = plan_batch(
        [
            event(EventType.REQUEST_OPENED, opened, 0, "o"),
            event(EventType.REQUEST_ACKNOWLEDGED, RequestAcknowledged(request_id="r1"), 1, "a"),
            event(EventType.REQUEST_ANSWERED, RequestAnswered(request_id="r1"), 2, "b"),
            event(
                EventType.REQUEST_REOPENED,
                RequestReopened(request_id="r1", reason="niet opgelost"),
                3,
                "c",
            ),
        ]
    )
    assert [row[0] for row in plan.requests] == ["r1"]
    assert [row[3].split(".")[3] for row in plan.history] == [
        "opened",
        "acknowledged",
        "answered",
        "reopened",
    ]


def test_document_issued_is_shown_with_its_validity() -> None:
    plan = plan_batch(
        [
            event(
                EventType.DOCUMENT_ISSUED,
                DocumentIssued(document_kind="passport", valid_until="2036-11-30"),
            )
        ]
    )
    [row] = plan.timeline
    assert (row[6], row[7]) == ("passport", "geldig tot 30-11-2036")
    assert not plan.customers  # a document is not a contact


def test_timeline_rows_carry_no_plain_identifier() -> None:
    plan = plan_batch([contact("web", 0)])
    assert "111222333" not in str(plan.timeline) + str(plan.identifiers)
