"""Personal free text in events travels sealed: encrypted with the customer's data key.

A sealed value is `enc:v1:<key id>:<base64url(nonce + ciphertext + tag)>` (AES-256-GCM, see
services/privacy/crypto.py). The models accept either form of a personal field — plain
before the API seals it, sealed on the topics — and bound each form by its own length, so
the contract stays one string field while Kafka only ever holds the ciphertext.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field

# Which fields of the event contract are personal free text: top-level text fields (a
# required one cannot vanish when its key is gone: it reads ERASED), and lists whose items
# carry a personal `masked` display (required as well). The sealer, the projector and
# retention all go by these.
OPTIONAL_TEXT = ("summary", "note", "comment")
REQUIRED_TEXT = ("reason",)
TEXT_FIELDS = OPTIONAL_TEXT + REQUIRED_TEXT
IDENTIFIER_LISTS = ("identifiers",)
ERASED = "[gewist]"
"""What a required personal text reads once its key is gone (erasure, retention)."""

PREFIX = "enc:v1:"
SEALED = re.compile(r"^enc:v1:([0-9a-f]{32}):([A-Za-z0-9_-]{38,})$")
NONCE_BYTES, TAG_BYTES = 12, 16


def is_sealed(value: str) -> bool:
    return value.startswith(PREFIX)


def sealed_length(plain_chars: int) -> int:
    """The longest sealed form of a text of `plain_chars` characters (UTF-8: ≤ 4 bytes each)."""
    raw = NONCE_BYTES + 4 * plain_chars + TAG_BYTES
    return len(PREFIX) + 32 + 1 + math.ceil(raw / 3) * 4


def _plain_at_most(max_chars: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if is_sealed(value):
            if not SEALED.match(value):
                raise ValueError("malformed sealed text (expected enc:v1:<key id>:<base64url>)")
        elif len(value) > max_chars:
            raise ValueError(f"at most {max_chars} characters")
        return value

    return check


# Personal free-text fields: plain up to the limit, or the sealed form of such a text.
PersonalLongText = Annotated[
    str, Field(max_length=sealed_length(20_000)), AfterValidator(_plain_at_most(20_000))
]
PersonalText = Annotated[
    str, Field(min_length=1, max_length=sealed_length(500)), AfterValidator(_plain_at_most(500))
]
PersonalMasked = Annotated[
    str, Field(min_length=1, max_length=sealed_length(320)), AfterValidator(_plain_at_most(320))
]
