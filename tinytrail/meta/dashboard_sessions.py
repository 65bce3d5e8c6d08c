"""Dashboard sessions: sign-in tokens kept server-side, looked up on every dashboard request.

The cookie holds a 256-bit random token; the table holds its SHA-256 digest, so a leaked
metadata database does not hand out sessions. A session acts with the rights of the API key
it was opened with and ends when that key goes (ON DELETE CASCADE) or when it expires.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from tinytrail.meta import keys
from tinytrail.meta.models import ApiKey, DashboardSession, User
from tinytrail.meta.repo import Principal


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
        with self._sessions() as s:
            row = s.execute(
                select(
                    DashboardSession.expires_at,
                    ApiKey.id,
                    ApiKey.scopes,
                    User.id,
                    User.account_id,
                    User.role,
                )
                .join(ApiKey, ApiKey.id == DashboardSession.key_id)
                .join(User, User.id == ApiKey.user_id)
                .where(DashboardSession.token_hash == keys.digest(token))
            ).first()
        if row is None:
            return None
        expires_at, key_id, scopes, user_id, account_id, role = row
        if expires_at <= now:
            return None
        return Principal(
            user_id=user_id,
            account_id=account_id,
            role=role,
            key_id=key_id,
            scopes=None if scopes is None else tuple(scopes),
        )

    def close(self, token: str) -> None:
        with self._sessions.begin() as s:
            s.execute(
                delete(DashboardSession).where(DashboardSession.token_hash == keys.digest(token))
            )

    def purge_expired(self, now: datetime) -> int:
        with self._sessions.begin() as s:
            result = s.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
        return int(getattr(result, "rowcount", 0) or 0)
