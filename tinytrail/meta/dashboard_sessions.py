"""Dashboard sessions: sign-in tokens kept server-side, looked up on every dashboard request.

The cookie holds a 256-bit random token; the table holds its SHA-256 digest, so a leaked
metadata database does not hand out sessions. A session acts with the rights of the API key
it was opened with and ends when that key goes (ON DELETE CASCADE) or when it expires.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from tinytrail.meta import keys
from tinytrail.meta.models import ApiKey, DashboardSession
from tinytrail.meta.repo import Principal, principal_of, principal_query


class DashboardSessions:
    def __init__(self, sessions: sessionmaker[Session], lifetime: timedelta) -> None:
        self._sessions = sessions
        self.lifetime = lifetime

    def open(self, principal: Principal, now: datetime) -> str:
        """A new session for `principal`; returns the token for the cookie (shown once)."""
        token = secrets.token_urlsafe(32)
        with self._sessions.begin() as s:
            s.add(
                DashboardSession(
                    token_hash=keys.digest(token),
                    key_id=principal.key_id,
                    created_at=now,
                    expires_at=now + self.lifetime,
                )
            )
        return token

    def principal(self, token: str, now: datetime) -> Principal | None:
        if not token or len(token) > 100:
            return None
        query = principal_query().join(DashboardSession, DashboardSession.key_id == ApiKey.id)
        query = query.where(
            DashboardSession.token_hash == keys.digest(token), DashboardSession.expires_at > now
        )
        with self._sessions() as s:
            return principal_of(s.execute(query).first())

    def close(self, token: str) -> None:
        with self._sessions.begin() as s:
            s.execute(
                delete(DashboardSession).where(DashboardSession.token_hash == keys.digest(token))
            )

    def purge_expired(self, now: datetime) -> int:
        with self._sessions.begin() as s:
            result = s.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)
