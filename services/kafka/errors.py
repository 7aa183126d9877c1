"""The Kafka adapter's errors: one root, and flags that say what a caller may do next.

Callers branch on `retriable` and `retry_after`, never on a list of classes: a retriable
error is answered "try again later" (HTTP 503 with Retry-After, SMTP 451), one that is not
retriable gets an answer that says what to change instead.
"""

from __future__ import annotations


class KafkaAdapterError(Exception):
    """Kafka did not take every record; nothing may be reported as stored."""

    retriable: bool = True
    """Whether the same call may succeed later unchanged."""
    retry_after: int | None = 5
    """Seconds a caller should wait before retrying (None when it should not retry)."""


class Unavailable(KafkaAdapterError):
    """Kafka cannot be reached or did not acknowledge in time. Some records may have been
    written: event ids are deterministic, so retrying the same call is harmless."""

    def __init__(self, message: str, retry_after: int = 5) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecordTooLarge(KafkaAdapterError):
    """A record is over the size Kafka accepts: retrying cannot help, the input must shrink."""

    retriable = False
    retry_after = None

    def __init__(self, size: int | None, limit: int | None) -> None:
        self.size, self.limit = size, limit
        got = f"{size} bytes" if size is not None else "a record"
        over = f"the limit of {limit} bytes" if limit is not None else "the broker's size limit"
        super().__init__(f"{got} is over {over} for one Kafka record")
