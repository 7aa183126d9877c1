"""Customer identifiers: normalisation, validation and masked display.

BSN: nine digits passing the 11-check (python-stdnum), never logged or keyed in plain text;
KvK number: eight digits; phone numbers: E.164 (phonenumbers, region NL); e-mail: valid
syntax, compared lower-cased.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum import exceptions as stdnum_errors
from stdnum.nl import bsn as stdnum_bsn


class IdentifierKind(StrEnum):
    """Kinds of identifier, strongest first: the customer key derives from the strongest."""

    BSN = "bsn"
    KVK = "kvk"
    EMAIL = "email"
    PHONE = "phone"


STRENGTH: tuple[IdentifierKind, ...] = tuple(IdentifierKind)
STRONG_KINDS = frozenset({IdentifierKind.BSN, IdentifierKind.KVK})
"""Kinds that identify one person or business; e-mail and phone can be shared."""
DEFAULT_PHONE_REGION = "NL"
_KVK = re.compile(r"^\d{8}$")


class InvalidIdentifier(ValueError):
    """An identifier failed validation; `str()` reads like "bsn: fails the 11-check"."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def normalise(kind: IdentifierKind, raw: str, *, field: str | None = None) -> str:
    """The canonical form of an identifier, or InvalidIdentifier naming `field`."""
    name = field or kind.value
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidIdentifier(name, "is empty")
    value = raw.strip()
    if kind is IdentifierKind.BSN:
        return _normalise_bsn(value, name)
    if kind is IdentifierKind.KVK:
        compact = re.sub(r"[\s.-]", "", value)
        if not _KVK.match(compact):
            raise InvalidIdentifier(name, "must be exactly 8 digits (a KvK number)")
        return compact
    if kind is IdentifierKind.EMAIL:
        try:
            checked = validate_email(value, check_deliverability=False)
        except EmailNotValidError as exc:
            raise InvalidIdentifier(name, f"is not a valid e-mail address ({exc})") from None
        return checked.normalized.lower()
    return _normalise_phone(value, name)


def _normalise_bsn(value: str, name: str) -> str:
    try:
        return str(stdnum_bsn.validate(value))
    except stdnum_errors.InvalidChecksum:
        raise InvalidIdentifier(name, "fails the 11-check") from None
    except stdnum_errors.InvalidLength:
        raise InvalidIdentifier(name, "must be 9 digits") from None
    except stdnum_errors.ValidationError:
        raise InvalidIdentifier(name, "must contain only digits") from None


def _normalise_phone(value: str, name: str) -> str:
    result = _phone_e164(value)
    if result.startswith("!"):
        raise InvalidIdentifier(name, result[1:])
    return result


@lru_cache(maxsize=32_768)
def _phone_e164(value: str) -> str:
    """E.164 form, or "!problem". Cached: parsing dominates ingest cost and callers repeat."""
    try:
        number = phonenumbers.parse(value, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return "!is not a phone number"
    if not phonenumbers.is_valid_number(number):
        return "!is not a valid phone number"
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# A BSN as people write it: nine digits, as one run or grouped 3-3-3 or 4-2-3 with a space,
# dot or hyphen; or eight digits when it was written as a number and lost its leading zero.
# The run must not continue a longer number (a digit, or a digit and a dot or comma, on
# either side), so amounts, phone numbers and IBANs are left alone. A prefix like "BSN-" or
# "bsn:" stays: only the digits go.
_SEP = r"[ .\-\u00a0]"
_BSN_LIKE = re.compile(
    r"(?<![0-9])(?<![0-9][.,])"
    + "("
    + "|".join(
        (
            "[0-9]{9}",
            f"[0-9]{{3}}{_SEP}[0-9]{{3}}{_SEP}[0-9]{{3}}",
            f"[0-9]{{4}}{_SEP}[0-9]{{2}}{_SEP}[0-9]{{3}}",
            "[0-9]{8}",
        )
    )
    + ")"
    + r"(?![0-9])(?![.,][0-9])"
)
_NOT_DIGIT = re.compile(r"[^0-9]")
BSN_REDACTED = "[BSN verwijderd]"


def redact_bsns(text: str) -> str:
    """Replace every number in free text that is written like a BSN and passes the 11-check
    (python-stdnum; an eight-digit number is read with its leading zero back).

    Residents type their BSN into messages and notes, staff into notes and purposes; free
    text travels in events and the access log, so it is cleaned at the edge like the
    identifier fields. The 11-check keeps most other numbers (one in eleven passes it).
    """

    def replace(match: re.Match[str]) -> str:
        digits = _NOT_DIGIT.sub("", match.group(1))
        return BSN_REDACTED if stdnum_bsn.is_valid(digits.zfill(9)) else match.group(0)

    return _BSN_LIKE.sub(replace, text)


def mask(kind: IdentifierKind, normalised: str) -> str:
    """What staff may see: enough to recognise, not enough to reuse."""
    if kind is IdentifierKind.EMAIL:
        local, _, domain = normalised.partition("@")
        return f"{local[:1]}***@{domain}"
    if kind is IdentifierKind.PHONE:
        # +31612345678 → +31******5678: country code and the last four digits stay.
        number = phonenumbers.parse(normalised)
        prefix = f"+{number.country_code}"
        return prefix + "*" * (len(normalised) - len(prefix) - 4) + normalised[-4:]
    return "*" * (len(normalised) - 4) + normalised[-4:]
