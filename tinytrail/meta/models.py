"""Metadata tables (accounts, users, API keys, sites, salts, per-site configuration).

Portable SQLAlchemy 2 models: nothing here may rely on SQLite-only behaviour, because the same
schema runs on PostgreSQL by URL; the column types of `columns` make both backends refuse and
return the same values. Ids exposed by the TinyTrail API are UUID strings; a site also has a
small integer id, which GoatCounter's API exposes and which keys the site's rows in the event
store (four bytes per event instead of sixteen).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, LargeBinary, UniqueConstraint, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tinytrail.meta.columns import Int32, Text, UTCDateTime, check_row


class Base(DeclarativeBase):
    pass


# Whatever PostgreSQL would refuse (U+0000, too long, out of range) is refused on SQLite too.
event.listen(Base, "before_insert", check_row, propagate=True)
event.listen(Base, "before_update", check_row, propagate=True)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(Text(36), primary_key=True)
    name: Mapped[str] = mapped_column(Text(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    users: Mapped[list[User]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )
    sites: Mapped[list[Site]] = relationship(
        back_populates="account", cascade="all, delete-orphan", passive_deletes=True
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(Text(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(Text(320))
    role: Mapped[str] = mapped_column(Text(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(back_populates="users")
    api_keys: Mapped[list[ApiKey]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class ApiKey(Base):
    """A key is stored as a SHA-256 digest for lookup plus a Fernet-encrypted copy for retrieval."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(Text(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(Text(255), default="default")
    key_hash: Mapped[str] = mapped_column(Text(64), unique=True)
    key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    key_prefix: Mapped[str] = mapped_column(Text(16))
    # None = the user's full rights; otherwise a list of scope names.
    scopes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # The user's primary key is the one `GET /api/v1/users/:id/api-key` returns.
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="api_keys")


class Site(Base):
    __tablename__ = "sites"
    # Never reuse a deleted site's id: the event store keys rows by it.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Int32, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(Text(36), unique=True)
    account_id: Mapped[str] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    domain: Mapped[str] = mapped_column(Text(255), unique=True)
    timezone: Mapped[str] = mapped_column(Text(64), default="Etc/UTC")
    content_groups: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    excluded_ips: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship(back_populates="sites")


class Salt(Base):
    """One random salt per calendar date; deleted once no timezone can still use it."""

    __tablename__ = "salts"

    day: Mapped[str] = mapped_column(Text(10), primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)


# -- per-site configuration (goals, funnels, shared links, props, aliases, tracker) ----------------
# Every row hangs off a site with ON DELETE CASCADE, so deleting a site removes its configuration
# in the same statement, on SQLite (foreign_keys pragma) and PostgreSQL alike.


def _site_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)


class Goal(Base):
    """A conversion: a custom event (optionally a revenue goal), a pageview or a scroll depth."""

    __tablename__ = "goals"
    # Never reuse a deleted goal's id: API clients and funnels refer to goals by id.
    __table_args__ = (
        UniqueConstraint("site_id", "display_name", name="uq_goals_site_display_name"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Int32, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = _site_fk()
    display_name: Mapped[str] = mapped_column(Text(255))
    event_name: Mapped[str | None] = mapped_column(Text(120), nullable=True)
    page_path: Mapped[str | None] = mapped_column(Text(2000), nullable=True)
    # -1 = not a scroll-depth goal; 1..100 = the depth a visit must reach on page_path.
    scroll_threshold: Mapped[int] = mapped_column(Int32, default=-1)
    currency: Mapped[str | None] = mapped_column(Text(3), nullable=True)
    custom_props: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Funnel(Base):
    __tablename__ = "funnels"
    __table_args__ = (
        UniqueConstraint("site_id", "name", name="uq_funnels_site_name"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Int32, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = _site_fk()
    name: Mapped[str] = mapped_column(Text(255))
    # Goal ids in step order, 2 to 8 of them; deleting a goal rewrites the funnels using it.
    steps: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SharedLink(Base):
    """A secret URL that shows a site's dashboard without an account."""

    __tablename__ = "shared_links"
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_shared_links_site_name"),)

    id: Mapped[int] = mapped_column(Int32, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = _site_fk()
    name: Mapped[str] = mapped_column(Text(255))
    slug: Mapped[str] = mapped_column(Text(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CustomProp(Base):
    """One allowed custom property key of a site (Plausible's `allowed_event_props`)."""

    __tablename__ = "custom_props"
    __table_args__ = (UniqueConstraint("site_id", "property", name="uq_custom_props_site_prop"),)

    # A surrogate id keeps the order in which properties were added, as Plausible lists them.
    id: Mapped[int] = mapped_column(Int32, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = _site_fk()
    property: Mapped[str] = mapped_column(Text(300))


class SiteAlias(Base):
    """A previous domain of a site, still accepted wherever a site is named by its domain."""

    __tablename__ = "site_aliases"

    domain: Mapped[str] = mapped_column(Text(255), primary_key=True)
    site_id: Mapped[int] = _site_fk()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SiteTrackerConfig(Base):
    """The tracker script options of a site; only what differs from the defaults is stored."""

    __tablename__ = "site_tracker_configs"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# -- GoatCounter compatibility ------------------------------------------------------------------
# GoatCounter's sites carry fields TinyTrail has no use for elsewhere (a code, a cname, a settings
# object); its paths have stable integer ids and titles; its exports are background jobs. Each
# lives in a table of its own so the core models stay GoatCounter-free.


class GoatCounterSite(Base):
    """GoatCounter's view of a site; created on first use through the GoatCounter API."""

    __tablename__ = "goatcounter_sites"

    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(Text(64), unique=True)
    cname: Mapped[str | None] = mapped_column(Text(255), unique=True, nullable=True)
    link_domain: Mapped[str] = mapped_column(Text(255), default="")
    # The `setttings` object minus `ignore_ips`, which is the site's `excluded_ips`.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class GoatCounterPath(Base):
    """A page path or event name with the integer id GoatCounter's stats API addresses it by."""

    __tablename__ = "goatcounter_paths"
    # A path is unique by its digest: 2048 characters can take 8 KiB of UTF-8, more than a
    # PostgreSQL B-tree entry may hold (2704 bytes).
    __table_args__ = (
        UniqueConstraint(
            "site_id", "event", "path_digest", name="uq_goatcounter_paths_site_digest"
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Int32, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = _site_fk()
    path: Mapped[str] = mapped_column(Text(2048))
    # `path_digest(path)`: the SHA-256 of the path, hex.
    path_digest: Mapped[str] = mapped_column(Text(64))
    event: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(Text(1024), default="")


def path_digest(path: str) -> str:
    return hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()


class GoatCounterCampaign(Base):
    """A campaign name (utm_campaign) with the integer id GoatCounter's stats API uses for it."""

    __tablename__ = "goatcounter_campaigns"
    __table_args__ = (
        UniqueConstraint("site_id", "name_digest", name="uq_goatcounter_campaigns_site_digest"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Int32, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = _site_fk()
    name: Mapped[str] = mapped_column(Text(2048))
    name_digest: Mapped[str] = mapped_column(Text(64))  # path_digest(name), unique per site


class GoatCounterExport(Base):
    """One CSV export job; the file lives under `data_dir/exports/` for 24 hours."""

    __tablename__ = "goatcounter_exports"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Int32, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = _site_fk()
    format: Mapped[str] = mapped_column(Text(8), default="csv")
    start_from_hit_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hit_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    path: Mapped[str] = mapped_column(Text(1024))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    num_rows: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    size: Mapped[str | None] = mapped_column(Text(32), nullable=True)
    hash: Mapped[str | None] = mapped_column(Text(80), nullable=True)
    error: Mapped[str | None] = mapped_column(Text(1000), nullable=True)


class DashboardSession(Base):
    """A signed-in dashboard user: the browser holds a random token, we keep only its digest.

    Tied to the API key used to sign in, so revoking or deleting that key (or its user) ends the
    session at once.
    """

    __tablename__ = "dashboard_sessions"

    token_hash: Mapped[str] = mapped_column(Text(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
