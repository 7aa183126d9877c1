"""Events from before identifiers carried provenance still decode: a missing `verified` is
true for a BSN or KvK (an authenticated channel, as before) and false for e-mail and phone."""

import json

import pytest
from pydantic import ValidationError

from schemas.envelope import decode, encode, new_event
from schemas.events import ContactRecorded, CustomerLinked, EventType
from schemas.export import event_schema
from schemas.identifiers import IdentifierKind
from schemas.keys import Identifier, Pseudonymiser

P = Pseudonymiser("provenance-test-key-0123")
BSN = P.identifier(IdentifierKind.BSN, "111222333")
EMAIL = P.identifier(IdentifierKind.EMAIL, "jan@example.nl")
PHONE = P.identifier(IdentifierKind.PHONE, "0612345678")


def old_wire(event_type: EventType, data: dict[str, object]) -> bytes:
    """An event as the code before provenance wrote it: identifiers without `verified`."""
    event = new_event(
        event_type,
        source="urn:contactmoment:web",
        source_id="old-1",
        subject="k-" + BSN.hash[:32],
        time="2026-01-05T10:00:00+01:00",
        data=ContactRecorded.model_validate(data)
        if event_type is EventType.CONTACT_RECORDED
        else CustomerLinked.model_validate(data),
    )
    wire = json.loads(encode(event))
    for ident in wire["data"]["identifiers"]:
        ident.pop("verified", None)
    return json.dumps(wire).encode()


def bare(ident: Identifier) -> dict[str, str]:
    return {"kind": ident.kind.value, "hash": ident.hash, "masked": ident.masked}


def test_an_old_contact_decodes_with_the_default_of_each_kind() -> None:
    raw = old_wire(
        EventType.CONTACT_RECORDED,
        {
            "channel": "web",
            "direction": "inbound",
            "subject": "afval",
            "outcome": "submitted",
            "identifiers": [bare(BSN), bare(EMAIL), bare(PHONE)],
        },
    )
    assert b"verified" not in raw
    data = decode(raw).data
    assert isinstance(data, ContactRecorded)
    assert [(i.kind.value, i.verified) for i in data.identifiers] == [
        ("bsn", True),
        ("email", False),
        ("phone", False),
    ]


def test_an_old_customer_linked_decodes_unverified() -> None:
    raw = old_wire(EventType.CUSTOMER_LINKED, {"identifiers": [bare(BSN), bare(EMAIL)]})
    data = decode(raw).data
    assert isinstance(data, CustomerLinked)
    assert [i.verified for i in data.identifiers] == [True, False]


def test_a_stated_provenance_wins_over_the_default() -> None:
    verified_email = Identifier.model_validate({**bare(EMAIL), "verified": True})
    assert verified_email.verified
    assert not Identifier.model_validate({**bare(BSN), "verified": False}).verified
    with pytest.raises(ValidationError):
        Identifier.model_validate({**bare(EMAIL), "verified": "maybe"})


def test_the_published_schema_names_the_field_without_a_single_default() -> None:
    schema = json.dumps(event_schema(EventType.CONTACT_RECORDED))
    assert '"verified"' in schema
    identifier = event_schema(EventType.CONTACT_RECORDED)["$defs"]["Identifier"]
    assert "default" not in identifier["properties"]["verified"]
    assert "verified" not in identifier.get("required", [])
