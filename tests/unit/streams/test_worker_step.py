"""The worker's pure step (domain.worker) on dict tables, no faust: what it writes and
emits for events and ticks, as the agent in streams/app.py applies it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from domain import worker
from domain.clock.norms import load
from domain.overlay import Put
from schemas.envelope import Envelope, new_event
from schemas.events import (
    ContactRecorded,
    CustomerErased,
    DocumentIssued,
    EventData,
    EventType,
    RequestAnswered,
    RequestOpened,
)
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key

CATALOGUE = load(Path(__file__).parents[3] / "deploy" / "config" / "service-norms.toml")
P = Pseudonymiser("worker-step-test-key-0123")
BSN = P.identifier(IdentifierKind.BSN, "111222333")
EMAIL = P.identifier(IdentifierKind.EMAIL, "jan@example.nl")
KEY, EMAIL_KEY = customer_key([BSN]), customer_key([EMAIL])
OPENED = datetime(2026, 11, 30, 8, tzinfo=UTC)  # Monday 09:00 Amsterdam
WARN = datetime(2026, 12, 1, 12, 15, tzinfo=UTC)  # 75 % of the callback's 16 workhours
DUE = datetime(2026, 12, 2, 8, tzinfo=UTC)  # Wednesday 09:00
ESCALATE = datetime(2026, 12, 3, 8, tzinfo=UTC)


class Worker:
    """The four tables as dicts, and a partition's offsets; applies each step's writes."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Any]] = {
            "customers": {},
            "clocks": {},
            "index": {},
            "cursors": {},
        }
        self.offset = 0

    def views(self) -> worker.Tables:
        return worker.Tables(**self.tables)

    def apply(self, outcome: worker.Outcome) -> list[Envelope]:
        for name, table in self.tables.items():
            for write in getattr(outcome, name):
                if isinstance(write, Put):
                    table[write.key] = write.value
                else:
                    del table[write.key]
        return [*outcome.linked, *outcome.outputs]

    def event(self, event: Envelope, now: datetime, offset: int | None = None) -> list[Envelope]:
        if offset is None:
            self.offset += 1
            offset = self.offset
        step = worker.on_event(self.views(), CATALOGUE, 0, offset, event, now.timestamp())
        return self.apply(step)

    def tick(self, now: datetime) -> list[Envelope]:
        return self.apply(worker.on_tick(self.views(), CATALOGUE, 0, now.timestamp()))


def ev(kind: EventType, sid: str, at: datetime, data: EventData, key: str = KEY) -> Envelope:
    return new_event(
        kind, source="urn:contactmoment:test", source_id=sid, subject=key, time=at, data=data
    )


def opening(rid: str = "r1", at: datetime = OPENED) -> Envelope:
    data = RequestOpened(
        request_id=rid, request_type="callback", subject="Wmo", channel="phone", department="KCC"
    )
    return ev(EventType.REQUEST_OPENED, f"o-{rid}", at, data)


def answer(at: datetime, rid: str = "r1") -> Envelope:
    return ev(EventType.REQUEST_ANSWERED, f"a-{rid}", at, RequestAnswered(request_id=rid))


def kinds(out: list[Envelope]) -> list[str]:
    return [
        f"{o.data.kind.value}/{o.data.audience.value}"  # type: ignore[attr-defined]
        if o.type is EventType.NOTIFICATION
        else o.type.value.split(".")[-2]
        for o in out
    ]


def test_early_steps_wait_for_the_opening_and_are_taken_in_then() -> None:
    w = Worker()
    w.tick(OPENED)  # the partition's first sweep sets its cursor
    assert w.event(answer(OPENED + timedelta(hours=1)), OPENED, offset=4) == []
    assert w.tables["clocks"]["r1"]["early"][0][0] == "answered"
    assert w.tables["clocks"]["r1"]["born"] == 4 and w.tables["index"] == {}
    assert w.event(opening(), OPENED + timedelta(hours=2), offset=9) == []
    clock = w.tables["clocks"]["r1"]
    assert [s[0] for s in clock["steps"]] == ["opened", "answered"]
    assert clock["born"] == 4 and clock["indexed"] is None  # answered: nothing pending
    assert w.tick(ESCALATE) == []


def test_ticks_warn_breach_and_escalate_once_and_a_late_answer_is_met_late() -> None:
    w = Worker()
    w.tick(OPENED)
    w.event(opening(), OPENED)
    assert w.tables["clocks"]["r1"]["indexed"] == int(WARN.timestamp())
    assert w.tick(WARN - timedelta(seconds=1)) == []
    assert kinds(w.tick(WARN + timedelta(seconds=0.5))) == ["warning"]
    breach = w.tick(DUE + timedelta(seconds=0.5))
    assert kinds(breach) == ["breached", "callback-missed/customer", "callback-missed/staff"]
    assert kinds(w.tick(ESCALATE + timedelta(seconds=0.5))) == [
        "escalated",
        "deadline-breached/regieteam",
    ]
    assert kinds(w.event(answer(ESCALATE + timedelta(hours=1)), ESCALATE)) == ["met-late"]
    assert w.tables["clocks"]["r1"]["indexed"] is None and w.tables["index"] == {}


def test_redelivery_and_repeated_ticks_emit_nothing_twice() -> None:
    w = Worker()
    w.tick(OPENED)
    w.event(opening(), OPENED)
    before = {name: dict(t) for name, t in w.tables.items()}
    assert w.event(opening(), OPENED) == []  # the same event again
    assert w.tables["clocks"] == before["clocks"] and w.tables["index"] == before["index"]
    assert kinds(w.tick(WARN + timedelta(seconds=0.5))) == ["warning"]
    assert w.tick(WARN + timedelta(seconds=0.7)) == []
    late = answer(DUE + timedelta(minutes=5))
    first = w.event(late, DUE + timedelta(minutes=6))
    assert kinds(first) == ["breached", "met-late"]  # no tick saw the breach: caught up
    assert w.event(late, DUE + timedelta(minutes=7)) == []
    assert w.tick(ESCALATE + timedelta(days=1)) == []


def test_a_crash_repeat_of_a_tick_emits_the_same_ids() -> None:
    """A tick whose writes were lost (a crash before the changelog) runs again on the
    same tables: the same events, with the same ids."""
    w = Worker()
    w.tick(OPENED)
    w.event(opening(), OPENED)
    views = w.views()
    first = worker.on_tick(views, CATALOGUE, 0, (DUE + timedelta(seconds=1)).timestamp())
    again = worker.on_tick(views, CATALOGUE, 0, (DUE + timedelta(seconds=2)).timestamp())
    assert [e.id for e in first.outputs] == [e.id for e in again.outputs] and first.outputs


def test_an_erasure_drops_the_clocks_born_before_it_when_they_come_up() -> None:
    w = Worker()
    w.tick(OPENED)
    w.event(opening("r1"), OPENED, offset=5)
    w.event(ev(EventType.CUSTOMER_ERASED, "x", OPENED, CustomerErased()), OPENED, offset=10)
    w.event(opening("r2"), OPENED, offset=11)  # after the erasure: kept
    out = w.tick(DUE + timedelta(seconds=0.5))
    assert {o.data.request_id for o in out if o.type is EventType.DEADLINE_BREACHED} == {"r2"}  # type: ignore[attr-defined]
    assert "r1" not in w.tables["clocks"] and "r2" in w.tables["clocks"]
    assert all("r1" not in keys for keys in w.tables["index"].values())


def test_a_document_clock_tells_the_customer_six_weeks_before_expiry() -> None:
    w = Worker()
    w.tick(OPENED)
    issued = ev(
        EventType.DOCUMENT_ISSUED,
        "d",
        OPENED,
        DocumentIssued(document_kind="passport", valid_until=date(2027, 3, 1)),
    )
    assert w.event(issued, OPENED, offset=3) == []
    key = f"doc:{issued.id}"
    doc = w.tables["clocks"][key]
    assert doc["doc"] is True and doc["born"] == 3 and "emitted" not in doc
    notice = datetime(2027, 1, 17, 23, tzinfo=UTC)  # 18 January 00:00 in Amsterdam
    assert doc["indexed"] == int(notice.timestamp())
    w.tables["cursors"]["0"] = int(notice.timestamp()) - 10  # the sweeps went on meanwhile
    out = w.tick(notice + timedelta(seconds=0.5))
    assert kinds(out) == ["document-expiring/customer"]
    assert w.tables["clocks"][key]["emitted"] is True and w.tables["clocks"][key]["indexed"] is None
    assert w.tick(notice + timedelta(days=1)) == []


def test_a_contact_links_weak_keys_and_counts_repeat_contact() -> None:
    w = Worker()
    out = []
    for n in range(3):
        contact = ev(
            EventType.CONTACT_RECORDED,
            f"c{n}",
            OPENED + timedelta(days=n),
            ContactRecorded(
                channel="web",
                direction="inbound",
                subject="afval",
                outcome="submitted",
                identifiers=[BSN, EMAIL],
            ),
        )
        out += w.event(contact, OPENED)
    linked = [o for o in out if o.type is EventType.CUSTOMER_LINKED]
    assert [o.subject for o in linked] == [EMAIL_KEY]  # linked by the first contact only
    assert kinds(out).count("repeat-contact/staff") == 1
    resent = w.event(contact, OPENED)  # a redelivery sends no notice, only its own links
    assert resent == [] and w.tables["customers"][KEY]["contacts"] == 3


def test_a_tick_writes_the_cursor_only_when_it_moves() -> None:
    # Ticks come five times a second, the cursor moves once a second: each unmoved write
    # was a changelog record for nothing.
    w = Worker()
    w.tick(OPENED)
    first = worker.on_tick(w.views(), CATALOGUE, 0, OPENED.timestamp() + 0.4)
    assert first.cursors == []
    later = worker.on_tick(w.views(), CATALOGUE, 0, OPENED.timestamp() + 1.0)
    assert later.cursors == [Put("0", int(OPENED.timestamp()))]


def test_a_redelivered_event_writes_its_clock_and_bucket_again() -> None:
    # A crash can leave a step's writes in the worker's local store without their
    # changelog records (still in the producer): the redelivered event finds its request
    # known and must write the clock and its deadline bucket again, or a worker that takes
    # the partition over from the changelog never sees the request and it never breaches.
    w = Worker()
    w.tick(OPENED)
    w.event(opening(), OPENED)
    clock = w.tables["clocks"]["r1"]
    bucket = f"0|{clock['indexed']}"
    again = worker.on_event(w.views(), CATALOGUE, 0, 99, opening(), OPENED.timestamp())
    assert again.clocks == [Put("r1", clock)]
    assert again.index == [Put(bucket, w.tables["index"][bucket])]
    assert again.outputs == [] and again.linked == []
    late = answer(DUE + timedelta(minutes=5))
    w.event(late, DUE + timedelta(minutes=6))
    answered = w.tables["clocks"]["r1"]
    redelivered = worker.on_event(w.views(), CATALOGUE, 0, 100, late, DUE.timestamp())
    assert redelivered.clocks == [Put("r1", answered)] and redelivered.outputs == []
