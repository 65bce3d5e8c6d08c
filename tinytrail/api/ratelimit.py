"""Rate limits on top of the `limits` library (moving windows, in memory).

One process owns the server, so in-memory counters are exact; a multi-node deployment would
point `limits` at Redis instead.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from tinytrail.settings import RateLimit


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_after: int  # seconds until the window frees a slot


class RateLimiter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._items: dict[RateLimit, RateLimitItem] = {}

    def check(self, scope: str, key: str, rate: RateLimit) -> Verdict:
        if not self.enabled:
            return Verdict(True, rate.count, rate.count, 0)
        item = self._item(rate)
        allowed = self._limiter.hit(item, scope, key)
        stats = self._limiter.get_window_stats(item, scope, key)
        reset_after = max(1, math.ceil(stats.reset_time - time.time()))
        return Verdict(allowed, rate.count, max(0, stats.remaining), reset_after)

    def refuse(self, scope: str, key: str, rate: RateLimit) -> int:
        """Count a hit: 0 when allowed, else the seconds to wait (no window stats when allowed)."""
        if not self.enabled:
            return 0
        item = self._item(rate)
        if self._limiter.hit(item, scope, key):
            return 0
        stats = self._limiter.get_window_stats(item, scope, key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _item(self, rate: RateLimit) -> RateLimitItem:
        item = self._items.get(rate)
        if item is None:
            item = RateLimitItemPerSecond(rate.count, rate.seconds)
            self._items[rate] = item
        return item
