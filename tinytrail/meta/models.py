"""Metadata tables (accounts, users, API keys, sites, salts).

Portable SQLAlchemy 2 models: nothing here may rely on SQLite-only behaviour, because the same
schema runs on PostgreSQL by URL. Ids exposed by the TinyTrail API are UUID strings; a site also
has a small integer id, which GoatCounter's API exposes and which keys the site's rows in the
event store (four bytes per event instead of sixteen).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    users: Mapped[list[User]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )
    sites: Mapped[list[Site]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship(back_populates="users")
    api_keys: Mapped[list[ApiKey]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class ApiKey(Base):
    """A key is stored as a SHA-256 digest for lookup plus a Fernet-encrypted copy for retrieval."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255), default="default")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    key_prefix: Mapped[str] = mapped_column(String(16))
    # None = the user's full rights; otherwise a list of scope names.
    scopes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # The user's primary key is the one `GET /api/v1/users/:id/api-key` returns.
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="api_keys")


class Site(Base):
    __tablename__ = "sites"
    # Never reuse a deleted site's id: the event store keys rows by it.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Etc/UTC")
    content_groups: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    excluded_ips: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    account: Mapped[Account] = relationship(back_populates="sites")


class Salt(Base):
    """One random salt per calendar date; deleted once no timezone can still use it."""

    __tablename__ = "salts"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)
