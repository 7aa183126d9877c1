"""Identifier normalisation, validation messages and masking."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.identifiers import IdentifierKind, InvalidIdentifier, mask, normalise


def with_check_digit(first8: str) -> str | None:
    """A BSN from 8 digits: the 11-check is sum(d_i * (9..2)) - d_9 ≡ 0 (mod 11)."""
    total = sum(int(d) * w for d, w in zip(first8, range(9, 1, -1), strict=True))
    last = total % 11
    return None if last > 9 else first8 + str(last)


valid_bsns = (
    st.text("0123456789", min_size=8, max_size=8)
    .map(with_check_digit)
    .filter(lambda b: b is not None and int(b) > 0)
)


@given(valid_bsns)
def test_every_bsn_with_a_valid_11_check_normalises_to_itself(bsn: str) -> None:
    assert normalise(IdentifierKind.BSN, bsn) == bsn
    assert normalise(IdentifierKind.BSN, f" {bsn[:4]}.{bsn[4:6]}.{bsn[6:]} ") == bsn


@given(valid_bsns, st.integers(1, 9))
def test_changing_one_digit_breaks_the_11_check(bsn: str, delta: int) -> None:
    broken = str((int(bsn[0]) + delta) % 10) + bsn[1:]
    with pytest.raises(InvalidIdentifier, match=r"^bsn: fails the 11-check$"):
        normalise(IdentifierKind.BSN, broken)


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        (IdentifierKind.BSN, "1234567890", "bsn: must be 9 digits"),
        (IdentifierKind.BSN, "12345678a", "bsn: must contain only digits"),
        (IdentifierKind.BSN, "", "bsn: is empty"),
        (IdentifierKind.KVK, "1234567", "kvk: must be exactly 8 digits (a KvK number)"),
        (IdentifierKind.KVK, "12345678 9", "kvk: must be exactly 8 digits (a KvK number)"),
        (IdentifierKind.PHONE, "call me", "phone: is not a phone number"),
        (IdentifierKind.PHONE, "+31 6 123", "phone: is not a valid phone number"),
    ],
)
def test_invalid_identifiers_are_rejected_naming_the_field(
    kind: IdentifierKind, raw: str, message: str
) -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        normalise(kind, raw)
    assert str(exc.value) == message
    assert exc.value.field == kind.value


def test_invalid_email_names_the_field_given_by_the_caller() -> None:
    with pytest.raises(InvalidIdentifier) as exc:
        normalise(IdentifierKind.EMAIL, "jan.example.nl", field="contact.email")
    assert str(exc.value).startswith("contact.email: is not a valid e-mail address")


@pytest.mark.parametrize(
    ("kind", "raw", "normal"),
    [
        (IdentifierKind.PHONE, "06-12345678", "+31612345678"),
        (IdentifierKind.PHONE, "+31 (0)164 277 000", "+31164277000"),
        (IdentifierKind.PHONE, "0031164277000", "+31164277000"),
        (IdentifierKind.PHONE, "+32 470 12 34 56", "+32470123456"),
        (IdentifierKind.EMAIL, " Jan.Jansen@Example.NL ", "jan.jansen@example.nl"),
        (IdentifierKind.KVK, "6912.3456", "69123456"),
    ],
)
def test_normal_forms(kind: IdentifierKind, raw: str, normal: str) -> None:
    assert normalise(kind, raw) == normal


@pytest.mark.parametrize(
    ("kind", "normal", "masked"),
    [
        (IdentifierKind.BSN, "111222333", "*****2333"),
        (IdentifierKind.KVK, "69123456", "****3456"),
        (IdentifierKind.EMAIL, "jan@example.nl", "j***@example.nl"),
        (IdentifierKind.PHONE, "+31612345678", "+31*****5678"),
    ],
)
def test_masked_display_keeps_only_what_staff_need(
    kind: IdentifierKind, normal: str, masked: str
) -> None:
    assert mask(kind, normal) == masked


@given(valid_bsns)
def test_a_masked_bsn_never_contains_the_bsn(bsn: str) -> None:
    shown = mask(IdentifierKind.BSN, bsn)
    assert bsn not in shown
    assert shown.count("*") == 5
