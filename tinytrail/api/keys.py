"""API keys on requests: reading one (`X-API-KEY` or `Authorization: Bearer`, on every API) and
resolving it to its principal through an in-memory cache.

Every API request authenticates, and a metadata lookup costs about a millisecond, a tenth of a
fast report. `PrincipalCache` keeps key -> principal in memory. The metadata repository clears it
whenever a key, user or account is deleted (its `on_keys_changed` hook), so in this process a
revoked key stops working at once. Entries also expire after `ttl` seconds, which bounds how
long a change made by another process (the `tinytrail api-keys` command, another server on the
same PostgreSQL) can go unseen. Unknown keys are never cached.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from starlette.requests import Request

from tinytrail.meta.keys import digest
from tinytrail.meta.repo import Principal

CACHE_SECONDS = 2.0
CACHE_SIZE = 10_000


def api_key_of(request: Request) -> str:
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    return ""


class PrincipalCache:
    def __init__(
        self,
        load: Callable[[str], Principal | None],
        ttl: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        # Keyed by the key's digest, so no plain key is kept once its request is over.
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._generation = 0  # bumped by clear(): a lookup that raced a change is not kept

    def authenticate(self, plain_key: str) -> Principal | None:
        if not plain_key or len(plain_key) > 200:
            return None
        name = digest(plain_key)
        now = self._clock()
        found = self._entries.get(name)
        if found is not None and found[1] > now:
            return found[0]
        generation = self._generation
        principal = self._load(plain_key)
        if principal is not None:
            with self._lock:
                if generation == self._generation:
                    if len(self._entries) >= CACHE_SIZE:
                        self._entries = {}
                    self._entries[name] = (principal, now + self._ttl)
        return principal

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries = {}
