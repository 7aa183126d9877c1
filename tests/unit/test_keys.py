"""Customer keys and event ids: stable, keyed, deterministic."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, customer_key, event_id, is_customer_key

KEY_A = "a" * 32
KEY_B = "b" * 32
BSN = "111222333"


def test_customer_key_is_stable_for_the_same_identifier_and_key() -> None:
    one = customer_key([Pseudonymiser(KEY_A).identifier(IdentifierKind.BSN, BSN)])
    two = customer_key([Pseudonymiser(KEY_A).identifier(IdentifierKind.BSN, " 1112.22.333 ")])
    assert one == two
    assert re.fullmatch(r"k-[0-9a-f]{32}", one)


def test_customer_key_depends_on_the_key_material() -> None:
    one = customer_key([Pseudonymiser(KEY_A).identifier(IdentifierKind.BSN, BSN)])
    other = customer_key([Pseudonymiser(KEY_B).identifier(IdentifierKind.BSN, BSN)])
    assert one != other


def test_customer_key_uses_the_strongest_identifier_whatever_the_order() -> None:
    p = Pseudonymiser(KEY_A)
    phone = p.identifier(IdentifierKind.PHONE, "0612345678")
    email = p.identifier(IdentifierKind.EMAIL, "jan@example.nl")
    kvk = p.identifier(IdentifierKind.KVK, "69123456")
    bsn = p.identifier(IdentifierKind.BSN, BSN)
    assert customer_key([phone, email, kvk, bsn]) == "k-" + bsn.hash[:32]
    assert customer_key([phone, email, kvk]) == "k-" + kvk.hash[:32]
    assert customer_key([phone, email]) == "k-" + email.hash[:32]
    assert customer_key([phone]) == "k-" + phone.hash[:32]


def test_identical_values_of_different_kinds_hash_differently() -> None:
    p = Pseudonymiser(KEY_A)
    assert p.hash(IdentifierKind.BSN, "12345678") != p.hash(IdentifierKind.KVK, "12345678")


def test_the_key_never_contains_the_bsn() -> None:
    ident = Pseudonymiser(KEY_A).identifier(IdentifierKind.BSN, BSN)
    assert BSN not in customer_key([ident])
    assert BSN not in ident.model_dump_json()


def test_short_key_material_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Pseudonymiser("short")


def test_no_identifiers_no_key() -> None:
    with pytest.raises(ValueError, match="at least one identifier"):
        customer_key([])


@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
def test_event_ids_are_deterministic_and_distinguish_their_parts(
    source: str, source_id: str, event_type: str
) -> None:
    first = event_id(source, source_id, event_type)
    assert first == event_id(source, source_id, event_type)
    assert first != event_id(source, source_id, event_type, "1")
    assert first != event_id(source, source_id + "x", event_type)
    assert not is_customer_key(first)
