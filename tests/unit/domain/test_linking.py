"""The one linking rule (domain/customer/linking.py): a weak key joins a strong key's view
only when exactly one strong key carries it; provenance rides along."""

from hypothesis import given
from hypothesis import strategies as st

from domain.customer.linking import Claim, Link, is_strong_key, owned_by, owner_of, owners
from schemas.identifiers import IdentifierKind
from schemas.keys import Pseudonymiser, key_of

P = Pseudonymiser("linking-test-key-0123456")
BSN_A = P.identifier(IdentifierKind.BSN, "111222333")
BSN_B = P.identifier(IdentifierKind.BSN, "123456782")
KVK = P.identifier(IdentifierKind.KVK, "69123456")
LANDLINE = P.identifier(IdentifierKind.PHONE, "0201234567")
MOBILE_A = P.identifier(IdentifierKind.PHONE, "0612345678")
EMAIL_A = P.identifier(IdentifierKind.EMAIL, "a@example.nl")
A, B = key_of(BSN_A.hash), key_of(BSN_B.hash)


def claim(carrier: str, ident, verified: bool = True) -> Claim:  # type: ignore[no-untyped-def]
    return Claim(carrier, ident.kind, ident.hash, verified)


def test_a_weak_key_one_strong_key_carries_is_that_ones() -> None:
    links = owners([claim(A, MOBILE_A), claim(A, EMAIL_A, verified=False)])
    assert links == {
        key_of(MOBILE_A.hash): Link(A, key_of(MOBILE_A.hash), True),
        key_of(EMAIL_A.hash): Link(A, key_of(EMAIL_A.hash), False),
    }


def test_a_shared_landline_belongs_to_nobody() -> None:
    claims = [claim(A, LANDLINE), claim(B, LANDLINE), claim(A, MOBILE_A)]
    assert key_of(LANDLINE.hash) not in owners(claims)
    assert owner_of(key_of(LANDLINE.hash), claims) is None
    assert [link.weak_key for link in owned_by(A, claims)] == [key_of(MOBILE_A.hash)]
    assert owned_by(B, claims) == []


def test_an_unverified_claim_takes_a_link_away_but_never_gives_one() -> None:
    # An attacker typing A's address on their own form: A's verified link goes (fail safe),
    # and the attacker's own claim is no link either.
    claims = [claim(A, EMAIL_A), claim(B, EMAIL_A, verified=False)]
    assert owners(claims) == {}


def test_verified_once_is_verified() -> None:
    claims = [claim(A, EMAIL_A, verified=False), claim(A, EMAIL_A, verified=True)]
    assert owner_of(key_of(EMAIL_A.hash), claims) == Link(A, key_of(EMAIL_A.hash), True)


def test_strong_keys_never_join_and_a_key_never_claims_itself() -> None:
    claims = [claim(A, BSN_B), claim(A, KVK), claim(key_of(EMAIL_A.hash), EMAIL_A)]
    assert owners(claims) == {}


def test_which_keys_are_strong() -> None:
    assert is_strong_key(A, [("bsn", BSN_A.hash), ("phone", LANDLINE.hash)])
    assert not is_strong_key(A, [("bsn", BSN_B.hash)])  # carries a BSN, defined by another
    assert not is_strong_key(key_of(EMAIL_A.hash), [("email", EMAIL_A.hash)])


@given(st.lists(st.tuples(st.sampled_from([A, B, "k-" + "c" * 32]), st.booleans()), max_size=8))
def test_a_link_exists_exactly_when_one_carrier_claims(carriers: list[tuple[str, bool]]) -> None:
    claims = [claim(c, LANDLINE, v) for c, v in carriers]
    link = owner_of(key_of(LANDLINE.hash), claims)
    distinct = {c for c, _ in carriers}
    assert (link is not None) == (len(distinct) == 1)
    if link is not None:
        assert link.verified == any(v for _, v in carriers)
