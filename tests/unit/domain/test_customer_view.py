"""The stream's customer view fold (pure): counts, open requests, links, redeliveries."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.customer import view as customer_view
from schemas.envelope import Envelope, new_event
from schemas.events import (
    ContactRecorded,
    CustomerLinked,
    EventType,
    RequestAnswered,
    RequestOpened,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key

P = Pseudonymiser("stream-test-key-0123456")
BSN = P.identifier(IdentifierKind.BSN, "111222333")
EMAIL = P.identifier(IdentifierKind.EMAIL, "jan@example.nl")
PHONE = P.identifier(IdentifierKind.PHONE, "0612345678")
BSN_KEY, EMAIL_KEY, PHONE_KEY = (customer_key([i]) for i in (BSN, EMAIL, PHONE))
T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)


def contact(n: int, channel: str = "web", key: str = BSN_KEY, idents=None) -> Envelope:  # type: ignore[no-untyped-def]
    return new_event(
        EventType.CONTACT_RECORDED,
        source="urn:contactmoment:test",
        source_id=str(n),
        subject=key,
        time=T0 + timedelta(hours=n),
        data=ContactRecorded(
            channel=channel,
            direction="inbound",
            subject="afval",
            outcome="submitted",
            identifiers=idents or [BSN, EMAIL, PHONE],
        ),
    )


def test_contacts_are_counted_per_channel_with_first_and_last() -> None:
    state = None
    for n, channel in enumerate(["web", "phone", "phone"]):
        state, _ = customer_view.apply(state, contact(n, channel))
    assert state["contacts"] == 3
    assert state["channels"] == {"web": 1, "phone": 2}
    assert customer_view.preferred_channel(state) == "phone"
    assert (state["first"], state["last"]) == (
        T0.isoformat(),
        (T0 + timedelta(hours=2)).isoformat(),
    )


def test_a_redelivered_event_changes_nothing_but_resends_its_own_links() -> None:
    state, emitted = customer_view.apply(None, contact(1))
    again, emitted_again = customer_view.apply(state, contact(1))
    assert again == state and again["contacts"] == 1
    # After a crash the state may be in the changelog while the link was never sent.
    assert [e.id for e in emitted_again] == [e.id for e in emitted]
    _, from_later_contact = customer_view.apply(again, contact(2))
    assert from_later_contact == []


def test_a_bsn_key_links_the_email_and_phone_keys_it_carries_once() -> None:
    state, emitted = customer_view.apply(None, contact(1))
    assert sorted(e.subject for e in emitted) == sorted([EMAIL_KEY, PHONE_KEY])
    assert all(e.type is EventType.CUSTOMER_LINKED for e in emitted)
    assert customer_view.linked_keys(state) == sorted([EMAIL_KEY, PHONE_KEY])
    _, later = customer_view.apply(state, contact(2))
    assert later == []  # already linked: nothing new to say
    assert [e.id for e in customer_view.apply(None, contact(1))[1]] == [e.id for e in emitted]


def test_weak_keys_never_link_each_other() -> None:
    _, emitted = customer_view.apply(None, contact(1, key=EMAIL_KEY, idents=[EMAIL, PHONE]))
    assert emitted == []


def test_the_linked_key_learns_where_it_belongs() -> None:
    _, [to_email, _] = customer_view.apply(None, contact(1))
    assert isinstance(to_email.data, CustomerLinked)
    state, emitted = customer_view.apply(None, to_email)
    assert customer_view.linked_keys(state) == [BSN_KEY] and emitted == []


def test_open_requests_follow_the_lifecycle() -> None:
    opened = new_event(
        EventType.REQUEST_OPENED,
        source="urn:contactmoment:test",
        source_id="o",
        subject=BSN_KEY,
        time=T0,
        data=RequestOpened(
            request_id="r1", request_type="callback", subject="Wmo", channel="phone"
        ),
    )
    answered = new_event(
        EventType.REQUEST_ANSWERED,
        source="urn:contactmoment:test",
        source_id="a",
        subject=BSN_KEY,
        time=T0,
        data=RequestAnswered(request_id="r1"),
    )
    state, _ = customer_view.apply(None, opened)
    assert state["open_requests"] == {"r1": "callback"}
    state, _ = customer_view.apply(state, answered)
    assert state["open_requests"] == {}


@given(st.lists(st.integers(0, 30), max_size=60))
def test_any_redelivery_pattern_counts_each_contact_once(deliveries: list[int]) -> None:
    state = None
    for n in deliveries:
        state, _ = customer_view.apply(state, contact(n))
    expected = len(set(deliveries))
    assert (state["contacts"] if state else 0) == expected


def test_an_erasure_marks_the_history_before_it() -> None:
    """Clocks born before the erasure's offset in the customer's partition are of the erased
    history; clocks born after it (a new request) are not; without an erasure, none are."""
    state = customer_view.erase(120)
    assert state["contacts"] == 0 and state["open_requests"] == {}
    assert customer_view.erased_history(state, 119)
    assert customer_view.erased_history(state, None)  # a clock from before clocks had a birth
    assert not customer_view.erased_history(state, 121)
    assert not customer_view.erased_history(customer_view.empty(), 5)
    assert not customer_view.erased_history(None, 5)


LANDLINE = P.identifier(IdentifierKind.PHONE, "0201234567")
LANDLINE_KEY = customer_key([LANDLINE])
BSN_B = P.identifier(IdentifierKind.BSN, "123456782")
BSN_B_KEY = customer_key([BSN_B])


def linked_to(weak_key: str, *contacts: Envelope) -> customer_view.State:
    """The weak key's view after the customer.linked events these contacts send it."""
    state, strong = None, {}
    for event in contacts:
        strong[event.subject], emitted = customer_view.apply(strong.get(event.subject), event)
        for link in emitted:
            if link.subject == weak_key:
                state, _ = customer_view.apply(state, link)
    assert state is not None
    return state


def test_a_landline_two_residents_call_from_belongs_to_neither() -> None:
    verified = LANDLINE.model_copy(update={"verified": True})
    a = contact(1, "phone", BSN_KEY, [BSN, verified])
    b = contact(2, "phone", BSN_B_KEY, [BSN_B, verified])
    assert customer_view.owner(linked_to(LANDLINE_KEY, a), LANDLINE_KEY) is not None
    state = linked_to(LANDLINE_KEY, a, b)
    assert customer_view.owner(state, LANDLINE_KEY) is None
    assert customer_view.linked_keys(state) == sorted([BSN_KEY, BSN_B_KEY])


def test_the_link_carries_the_identifiers_provenance() -> None:
    typed = contact(1, "web", BSN_KEY, [BSN, EMAIL])  # a contact address typed on a form
    [link] = customer_view.apply(None, typed)[1]
    assert isinstance(link.data, CustomerLinked)
    assert [i.verified for i in link.data.identifiers] == [True, False]
    owner = customer_view.owner(linked_to(EMAIL_KEY, typed), EMAIL_KEY)
    assert owner is not None and (owner.owner, owner.verified) == (BSN_KEY, False)


def test_a_link_verified_later_is_told_again() -> None:
    typed = contact(1, "web", BSN_KEY, [BSN, PHONE])
    verified = contact(2, "phone", BSN_KEY, [BSN, PHONE.model_copy(update={"verified": True})])
    state, first = customer_view.apply(None, typed)
    state, second = customer_view.apply(state, verified)
    assert len(first) == len(second) == 1 and first[0].id != second[0].id
    _, third = customer_view.apply(state, contact(3, "phone", BSN_KEY, verified.data.identifiers))
    assert third == []  # verified already: nothing new to say
    _, again = customer_view.apply(state, verified)  # a redelivery sends its news again
    assert [e.id for e in again] == [second[0].id]
    owner = customer_view.owner(linked_to(PHONE_KEY, typed, verified), PHONE_KEY)
    assert owner is not None and owner.verified
