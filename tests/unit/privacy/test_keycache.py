"""The data-key cache of the API: used only while erasures can be heard, and an announced
customer's keys are dropped and not cached again for a while."""

from datetime import date

from services.privacy.keycache import HOLD_OFF, KeyCache

MONTH = date(2026, 11, 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def listening_cache(clock: Clock, ttl: float = 300.0) -> KeyCache:
    cache = KeyCache(ttl=ttl, clock=clock)
    cache.listening = True
    return cache


def test_a_cached_key_is_served_until_it_expires() -> None:
    clock = Clock()
    cache = listening_cache(clock, ttl=60)
    cache.put("k-a", MONTH, "id-a", b"key-a")
    assert cache.get("k-a", MONTH) == ("id-a", b"key-a")
    assert cache.get("k-a", date(2026, 12, 1)) is None  # another month, another key
    clock.now += 61
    assert cache.get("k-a", MONTH) is None


def test_nothing_is_cached_or_served_while_erasures_cannot_be_heard() -> None:
    clock = Clock()
    cache = KeyCache(clock=clock)
    cache.put("k-a", MONTH, "id-a", b"key-a")
    assert cache.get("k-a", MONTH) is None
    cache.listening = True
    cache.put("k-a", MONTH, "id-a", b"key-a")
    cache.off()  # the LISTEN connection dropped
    assert cache.get("k-a", MONTH) is None
    cache.listening = True  # back: what was cached before is gone, not revived
    assert cache.get("k-a", MONTH) is None


def test_an_announced_erasure_drops_the_keys_and_holds_off_caching() -> None:
    clock = Clock()
    cache = listening_cache(clock)
    cache.put("k-a", MONTH, "id-a", b"key-a")
    cache.put("k-b", MONTH, "id-b", b"key-b")
    cache.forget(["k-a"])
    assert cache.get("k-a", MONTH) is None
    assert cache.get("k-b", MONTH) == ("id-b", b"key-b")  # others keep theirs
    cache.put("k-a", MONTH, "id-a", b"key-a")  # read again before the delete: not kept
    assert cache.get("k-a", MONTH) is None
    clock.now += HOLD_OFF + 1
    cache.put("k-a", MONTH, "id-new", b"key-new")
    assert cache.get("k-a", MONTH) == ("id-new", b"key-new")
