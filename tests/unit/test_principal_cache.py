"""The in-memory cache of API key -> principal: hits, clears, expiry, races, unknown keys."""

from __future__ import annotations

from collections.abc import Callable

from tinytrail.api.keys import PrincipalCache
from tinytrail.meta.repo import Principal

ALICE = Principal("u1", "a1", "user", "k1", None)


class Keys:
    """A stand-in for the metadata lookup that counts its calls."""

    def __init__(self) -> None:
        self.known: dict[str, Principal] = {"alice-key": ALICE}
        self.calls = 0
        self.during_load: list[Callable[[], None]] = []

    def load(self, key: str) -> Principal | None:
        self.calls += 1
        found = self.known.get(key)
        for action in self.during_load:
            action()
        return found


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_known_key_is_looked_up_once_until_cleared() -> None:
    keys = Keys()
    cache = PrincipalCache(keys.load, ttl=60)
    assert cache.authenticate("alice-key") == ALICE
    assert cache.authenticate("alice-key") == ALICE
    assert keys.calls == 1
    del keys.known["alice-key"]
    cache.clear()  # what MetaRepo's on_keys_changed hook does after a deletion
    assert cache.authenticate("alice-key") is None


def test_entries_expire_so_changes_by_other_processes_show() -> None:
    keys, clock = Keys(), Clock()
    cache = PrincipalCache(keys.load, ttl=2, clock=clock)
    cache.authenticate("alice-key")
    clock.now += 1.9
    cache.authenticate("alice-key")
    assert keys.calls == 1
    del keys.known["alice-key"]
    clock.now += 0.2
    assert cache.authenticate("alice-key") is None


def test_unknown_and_oversized_keys_are_not_cached() -> None:
    keys = Keys()
    cache = PrincipalCache(keys.load, ttl=60)
    assert cache.authenticate("nobody") is None
    assert cache.authenticate("nobody") is None
    assert keys.calls == 2
    assert cache.authenticate("") is None
    assert cache.authenticate("x" * 201) is None
    assert keys.calls == 2


def test_a_lookup_that_raced_a_deletion_is_not_kept() -> None:
    keys = Keys()
    cache = PrincipalCache(keys.load, ttl=60)
    keys.during_load.append(cache.clear)  # the key is deleted while it is being looked up
    assert cache.authenticate("alice-key") == ALICE
    keys.during_load.clear()
    del keys.known["alice-key"]
    assert cache.authenticate("alice-key") is None
