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
import hmac
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

# The earliest timezone (UTC+14) starts a date 14 h before UTC does, the latest (UTC-12) ends it
# 12 h after; a salt must survive until the date *after* it has ended everywhere, because that
# day's events look up the previous salt to continue sessions.
_LATEST_OFFSET = timedelta(hours=12)


class SaltBook:
    """Salts by ISO date, created on first use and persisted through `load`."""

    def __init__(self, load: Callable[[str, Callable[[], bytes]], bytes]) -> None:
        self._load = load
        self._cache: dict[date, hmac.HMAC] = {}
        self._lock = threading.Lock()

    def salt(self, day: date) -> hmac.HMAC:
        """The day's salt as a keyed HMAC-SHA256, ready to be copied per message.

        Keying once per day and copying is several times cheaper than keying per call (which
        makes OpenSSL look the digest up every time), and this runs for every event.
        """
        cached = self._cache.get(day)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._cache.get(day)
            if cached is None:
                secret = self._load(day.isoformat(), lambda: secrets.token_bytes(32))
                cached = hmac.new(secret, digestmod=hashlib.sha256)
                self._cache[day] = cached
            return cached

    def forget_before(self, day: date) -> None:
        with self._lock:
            for key in [k for k in self._cache if k < day]:
                del self._cache[key]


def visitor_id(salt: hmac.HMAC, ip: str, user_agent: str, site_id: int) -> int:
    keyed = salt.copy()
    keyed.update(f"{ip}\x00{user_agent}\x00{site_id}".encode("utf-8", "surrogateescape"))
    return int.from_bytes(keyed.digest()[:8], "big")


def day_scoped_id(stable_id: int, day: date) -> int:
    """An imported visitor id turned into a per-day id, as collected ids are."""
    message = f"{stable_id}:{day.isoformat()}".encode()
    return int.from_bytes(hashlib.blake2b(message, digest_size=8).digest(), "big")


def oldest_salt_needed(now: datetime) -> date:
    """The earliest date whose salt may still be used: the previous date of the latest zone."""
    latest_local_date = (now.astimezone(UTC) - _LATEST_OFFSET).date()
    return latest_local_date - timedelta(days=1)
