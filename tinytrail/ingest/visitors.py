"""Visitor numbers: the compact visitor ids the store keeps instead of salted hashes.

A visitor is recognised by a salted hash of IP, User-Agent and site under the salt of the
site's day (privacy.py): a random 64-bit value, which no compression shrinks (8.6 bytes an
event in the event store, 3.6 more in visits, at 10 million events). The store keeps a *visitor
number* instead: the `seq` of the visitor's first event of that day. Numbers are unique, as
seqs are, small and rising with time, so they bit-pack to ~2 bytes an event, and they count
exactly as the hashes did (one number per visitor and day).

The hash -> number map is kept for the days whose salts are in use: in memory here, and on
disk in the store's `visitor_keys` table, written in the transaction that stores the event
introducing the number. That event carries the hash through the write-ahead log
(`Event.visitor_key`; never stored with the event), so a crash loses no mapping. Both are
pruned with the salts (`forget_before`): once a day's salt is deleted its hashes can never
recur, and nothing left on disk links a stored number to a person's IP.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date


class VisitorNumbers:
    """Salted visitor hashes of recent days -> visitor numbers."""

    def __init__(self) -> None:
        self._numbers: dict[int, int] = {}
        self._keys_by_day: dict[date, list[int]] = {}

    def __len__(self) -> int:
        return len(self._numbers)

    def get(self, key: int) -> int | None:
        return self._numbers.get(key)

    def add(self, key: int, number: int, day: date) -> None:
        """Remember `key`'s number; `day` is when it was introduced (UTC), for pruning."""
        self._numbers[key] = number
        keys = self._keys_by_day.get(day)
        if keys is None:
            self._keys_by_day[day] = [key]
        else:
            keys.append(key)

    def discard(self, key: int) -> None:
        """Forget a number whose introducing event was dropped (it was never logged)."""
        self._numbers.pop(key, None)

    def load(self, rows: Iterable[tuple[int, int, date]]) -> None:
        """Rows of (key, number, day) as the store keeps them."""
        for key, number, day in rows:
            self.add(key, number, day)

    def forget_before(self, day: date) -> None:
        for old in [d for d in self._keys_by_day if d < day]:
            for key in self._keys_by_day.pop(old):
                self._numbers.pop(key, None)
