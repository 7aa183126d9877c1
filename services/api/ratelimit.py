"""Rate limits per caller: a small in-process token bucket per key.

Each API process counts on its own: with several replicas a caller gets up to the limit
from each (docs/staff.md). The buckets are bounded (the least recently seen are forgotten),
so callers with ever new addresses cannot grow the table without end.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from services.api.problems import Problem
from services.settings import Settings

MAX_KEYS = 50_000


class TokenBuckets:
    """`per_minute` calls per key, refilled evenly (a burst of `per_minute` at most)."""

    def __init__(
        self,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float | None:
        """Take one call for `key`: None when allowed, else the seconds until the next one."""
        now = self.clock()
        tokens, since = self._buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - since) * self.rate)
        wait = None
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait


@dataclass(frozen=True)
class RateLimits:
    """The API's limiters, one per kind of call."""

    logins: TokenBuckets
    """/ui/login and /ui/mijn/login, per client address (before anything is read)."""
    searches: TokenBuckets
    """POST /v1/customers/search, per staff subject (after authentication)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        return cls(
            logins=TokenBuckets(settings.login_attempts_per_minute),
            searches=TokenBuckets(settings.searches_per_minute),
        )


def too_many(wait: float, what: str, per_minute: int, setting: str) -> Problem:
    """429 naming the limit and when to try again."""
    seconds = max(1, math.ceil(wait))
    return Problem(
        429,
        "Too many requests",
        f"at most {per_minute} {what} per minute ({setting}); try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
        limit_per_minute=per_minute,
    )


def rate_limits(connection: HTTPConnection) -> RateLimits:
    """The limiters of the app serving this request (create_app attaches them)."""
    found = getattr(connection.app.state, "rate_limits", None)
    if not isinstance(found, RateLimits):
        raise TypeError("this app was not built by services.api.app.create_app")
    return found


def check_search(connection: HTTPConnection, subject: str) -> None:
    """Raise 429 when staff member `subject` searched too often this minute."""
    buckets = rate_limits(connection).searches
    wait = buckets.take(subject)
    if wait is not None:
        raise too_many(
            wait, "customer searches", int(buckets.capacity), "CONTACTMOMENT_SEARCHES_PER_MINUTE"
        )
