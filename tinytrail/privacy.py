"""Cookie-less visitor identity: daily salts and salted visitor ids.

A visitor id is HMAC-SHA256(salt, IP + User-Agent + site id), cut to 64 bits. There is one random
salt per calendar date, and each event uses the salt of its site's *local* date, so ids change at
the site's midnight and per-day unique visitors add up exactly over whole days (the rollups rely
on it). The previous date's salt is kept just long enough to continue sessions across midnight,
then deleted: after that nobody, us included, can link an id to an IP address again.

The raw IP and User-Agent only ever live in memory, for the duration of one request.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

# The earliest timezone (UTC+14) starts a date 14 h before UTC does, the latest (UTC-12) ends it
# 12 h after; a salt must survive until the date *after* it has ended everywhere, because that
# day's events look up the previous salt to continue sessions.
_LATEST_OFFSET = timedelta(hours=12)
_BLOCK = 64  # SHA-256's block size: HMAC pads (or first hashes) the key to it


class Salt:
    """A day's salt as a keyed HMAC-SHA256 (RFC 2104), ready to sign one message at a time.

    HMAC(K, m) = SHA256((K ^ opad) + SHA256((K ^ ipad) + m)). The two padded-key states are
    hashed once per day and copied per message: this runs for every event, and copying two
    `hashlib` states costs half of what `hmac.HMAC.copy` and `digest` cost through their Python
    wrappers (keying per call is slower still). Tests check it against `hmac.digest`.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: bytes) -> None:
        if len(secret) > _BLOCK:
            secret = hashlib.sha256(secret).digest()
        key = secret.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class SaltBook:
    """Salts by ISO date, created on first use and persisted through `load`."""

    def __init__(self, load: Callable[[str, Callable[[], bytes]], bytes]) -> None:
        self._load = load
        self._cache: dict[date, Salt] = {}
        self._lock = threading.Lock()

    def salt(self, day: date) -> Salt:
        """The day's salt, keyed once (this runs for every event)."""
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._cache.get(day)
            if cached is None:
                secret = self._load(day.isoformat(), lambda: secrets.token_bytes(32))
                cached = Salt(secret)
                self._cache[day] = cached
            return cached

    def forget_before(self, day: date) -> None:
        with self._lock:
            for key in [k for k in self._cache if k < day]:
                del self._cache[key]


def visitor_id(salt: Salt, ip: str, user_agent: str, site_id: int) -> int:
    message = f"{ip}\x00{user_agent}\x00{site_id}".encode("utf-8", "surrogateescape")
    return int.from_bytes(salt.digest(message)[:8], "big")


def day_scoped_id(stable_id: int, day: date) -> int:
    """An imported visitor id turned into a per-day id, as collected ids are."""
    message = f"{stable_id}:{day.isoformat()}".encode()
    return int.from_bytes(hashlib.blake2b(message, digest_size=8).digest(), "big")


def oldest_salt_needed(now: datetime) -> date:
    """The earliest date whose salt may still be used: the previous date of the latest zone."""
    latest_local_date = (now.astimezone(UTC) - _LATEST_OFFSET).date()
    return latest_local_date - timedelta(days=1)
