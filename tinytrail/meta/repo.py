"""Small repository functions over the metadata database.

Every function opens its own short transaction. The returned ORM objects are detached
(`expire_on_commit=False`), plain records for the API adapters to shape.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta import keys
from tinytrail.meta.models import Account, ApiKey, Salt, Site, User

ROLES = ("admin", "user")


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the user behind an API key, and the key's scopes."""

    user_id: str
    account_id: str
    role: str
    key_id: str
    scopes: tuple[str, ...] | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def allows(self, wanted: str) -> bool:
        """Keys without scopes carry their user's full rights; `x:*` grants every `x:...`."""
        if self.scopes is None:
            return True
        return any(
            scope == wanted or (scope.endswith("*") and wanted.startswith(scope[:-1]))
            for scope in self.scopes
        )


def principal_query() -> Select[str, list[str] | None, str, str, str]:
    """The columns a Principal is made of, from an API key joined to its user."""
    return select(ApiKey.id, ApiKey.scopes, User.id, User.account_id, User.role).join(
        User, User.id == ApiKey.user_id
    )


def principal_of(row: Row[str, list[str] | None, str, str, str] | None) -> Principal | None:
    if row is None:
        return None
    key_id, scopes, user_id, account_id, role = row
    return Principal(
        user_id=user_id,
        account_id=account_id,
        role=role,
        key_id=key_id,
        scopes=None if scopes is None else tuple(scopes),
    )


# Sites looked up by UUID (every TinyTrail report request does) are kept this long. Changes
# made through this process clear the cache at once; this bounds how long a change made by
# another process (a second server on the same PostgreSQL, the CLI) can go unseen.
SITE_CACHE_SECONDS = 2.0
SITE_CACHE_SIZE = 10_000


class MetaRepo:
    def __init__(self, sessions: sessionmaker[Session], vault: keys.KeyVault) -> None:
        self._sessions = sessions
        self._vault = vault
        # Site lookups -> (answer, expiry): ("uuid", UUID) -> a site, as every TinyTrail report
        # request asks; ("account", id) -> its sites, as the GoatCounter API asks on every
        # request (each /count batch too). A lookup costs about a millisecond of the event
        # loop's time, as much as a small report's query.
        self._site_cache: dict[tuple[str, str], tuple[Any, float]] = {}
        self._site_cache_lock = threading.Lock()
        self._site_generation = 0  # bumped by every change: a lookup that raced one is not kept
        # Called with the site's integer id after a site (or its account) is deleted, so the
        # event store and caches can drop what hangs off it.
        self.on_sites_deleted: list[Callable[[list[int]], None]] = []
        self.on_sites_changed: list[Callable[[], None]] = []
        # Called with (site id, old domain, new domain) after a domain change.
        self.on_domain_changed: list[Callable[[int, str, str], None]] = []
        # (site id): its timezone changed, so its days are other days now.
        self.on_timezone_changed: list[Callable[[int], None]] = []
        # Called after API keys, users or accounts are deleted, so caches of who a key
        # authenticates as (tinytrail.api.keys.PrincipalCache) forget them at once.
        self.on_keys_changed: list[Callable[[], None]] = []

    # -- accounts ---------------------------------------------------------------------------

    def list_accounts(self) -> list[Account]:
        with self._sessions() as s:
            return list(s.scalars(select(Account).order_by(Account.created_at, Account.id)))

    def create_account(self, name: str) -> Account:
        with self._sessions.begin() as s:
            account = Account(id=_uuid(), name=name, created_at=_now())
            s.add(account)
        return account

    def get_account(self, account_id: str) -> Account | None:
        with self._sessions() as s:
            return s.get(Account, account_id)

    def delete_account(self, account_id: str) -> Account:
        with self._sessions.begin() as s:
            account = s.get(Account, account_id)
            if account is None:
                raise NotFound("Account not found")
            site_ids = list(s.scalars(select(Site.id).where(Site.account_id == account_id)))
            _keep_an_admin(s, User.account_id != account_id)
            s.execute(delete(Account).where(Account.id == account_id))
        self._keys_changed()
        self._sites_deleted(site_ids)
        return account

    # -- users and keys ---------------------------------------------------------------------

    def list_users(self) -> list[User]:
        with self._sessions() as s:
            return list(s.scalars(select(User).order_by(User.created_at, User.id)))

    def first_admin(self) -> User | None:
        """The installation's first admin: what the command line creates goes to its account."""
        with self._sessions() as s:
            query = select(User).where(User.role == "admin").order_by(User.created_at, User.id)
            return s.scalars(query.limit(1)).first()

    def get_user(self, user_id: str) -> User | None:
        with self._sessions() as s:
            return s.get(User, user_id)

    def create_user(self, account_id: str, role: str, email: str | None) -> tuple[User, str]:
        if role not in ROLES:
            raise InvalidInput("role must be 'admin' or 'user'")
        with self._sessions.begin() as s:
            if s.get(Account, account_id) is None:
                raise InvalidInput("account_id does not name an existing account")
            user = User(
                id=_uuid(), account_id=account_id, role=role, email=email, created_at=_now()
            )
            s.add(user)
            s.flush()
            key = self._add_key(s, user.id, "default", None, primary=True)
        return user, key

    def create_admin(self, account_name: str, key: str | None) -> tuple[User, str]:
        """The bootstrap admin of a new installation, optionally with an operator-chosen key."""
        account = self.create_account(account_name)
        with self._sessions.begin() as s:
            user = User(id=_uuid(), account_id=account.id, role="admin", created_at=_now())
            s.add(user)
            s.flush()
            plain = self._add_key(s, user.id, "bootstrap", None, primary=True, key=key)
        return user, plain

    def delete_user(self, user_id: str) -> User:
        with self._sessions.begin() as s:
            user = s.get(User, user_id)
            if user is None:
                raise NotFound("User not found")
            _keep_an_admin(s, User.id != user_id)
            s.execute(delete(User).where(User.id == user_id))
        self._keys_changed()
        return user

    def primary_key_of(self, user_id: str) -> str | None:
        with self._sessions() as s:
            sealed = s.scalar(
                select(ApiKey.key_encrypted)
                .where(ApiKey.user_id == user_id, ApiKey.is_primary.is_(True))
                .limit(1)
            )
        return None if sealed is None else self._vault.open(sealed)

    def create_api_key(
        self, user_id: str, name: str, scopes: list[str] | None
    ) -> tuple[ApiKey, str]:
        with self._sessions.begin() as s:
            plain = self._add_key(s, user_id, name, scopes, primary=False)
            record = s.scalar(select(ApiKey).where(ApiKey.key_hash == keys.digest(plain)))
            assert record is not None
        return record, plain

    def list_api_keys(self, user_id: str) -> list[ApiKey]:
        with self._sessions() as s:
            return list(
                s.scalars(
                    select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at)
                )
            )

    def delete_api_key(self, user_id: str, key_id: str) -> ApiKey:
        with self._sessions.begin() as s:
            record = s.get(ApiKey, key_id)
            if record is None or record.user_id != user_id:
                raise NotFound("API key not found")
            s.delete(record)
        self._keys_changed()
        return record

    def _keys_changed(self) -> None:
        for hook in self.on_keys_changed:
            hook()

    def authenticate(self, plain_key: str) -> Principal | None:
        if not plain_key or len(plain_key) > 200:
            return None
        with self._sessions() as s:
            query = principal_query().where(ApiKey.key_hash == keys.digest(plain_key))
            return principal_of(s.execute(query).first())

    def _add_key(
        self,
        s: Session,
        user_id: str,
        name: str,
        scopes: list[str] | None,
        *,
        primary: bool,
        key: str | None = None,
    ) -> str:
        plain = key or keys.new_api_key()
        s.add(
            ApiKey(
                id=_uuid(),
                user_id=user_id,
                name=name,
                key_hash=keys.digest(plain),
                key_encrypted=self._vault.seal(plain),
                key_prefix=keys.display_prefix(plain),
                scopes=scopes,
                is_primary=primary,
                created_at=_now(),
            )
        )
        return plain

    # -- sites ------------------------------------------------------------------------------

    def list_sites(self, account_id: str | None = None) -> list[Site]:
        with self._sessions() as s:
            query = select(Site).order_by(Site.id)
            if account_id is not None:
                query = query.where(Site.account_id == account_id)
            return list(s.scalars(query))

    def account_sites(self, account_id: str) -> list[Site]:
        """The account's sites, oldest first, detached; cached briefly (SITE_CACHE_SECONDS)
        like get_site_by_uuid. Never mutate them."""
        now = time.monotonic()
        found = self._site_cache.get(("account", account_id))
        if found is not None and found[1] > now:
            return list(found[0])
        generation = self._site_generation
        sites = self.list_sites(account_id)
        self._remember(("account", account_id), tuple(sites), generation, now)
        return sites

    def get_site_by_uuid(self, site_uuid: str) -> Site | None:
        """The site, detached; cached briefly (see SITE_CACHE_SECONDS). Never mutate it."""
        now = time.monotonic()
        found = self._site_cache.get(("uuid", site_uuid))
        if found is not None and found[1] > now:
            cached: Site = found[0]
            return cached
        generation = self._site_generation
        with self._sessions() as s:
            site = s.scalar(select(Site).where(Site.uuid == site_uuid))
        if site is not None:  # unknown UUIDs are not cached: a site may be created any time
            self._remember(("uuid", site_uuid), site, generation, now)
        return site

    def _remember(self, key: tuple[str, str], answer: Any, generation: int, now: float) -> None:
        """Keep a site lookup for SITE_CACHE_SECONDS, unless a site changed while it ran."""
        with self._site_cache_lock:
            if generation == self._site_generation:
                if len(self._site_cache) >= SITE_CACHE_SIZE:
                    self._site_cache = {}
                self._site_cache[key] = (answer, now + SITE_CACHE_SECONDS)

    def get_site_by_domain(self, domain: str) -> Site | None:
        with self._sessions() as s:
            return s.scalar(select(Site).where(Site.domain == domain))

    def create_site(self, account_id: str, domain: str, **fields: Any) -> Site:
        try:
            with self._sessions.begin() as s:
                if s.get(Account, account_id) is None:
                    raise InvalidInput("account_id does not name an existing account")
                if s.scalar(select(Site.id).where(Site.domain == domain)) is not None:
                    raise InvalidInput(f"domain {domain!r} is already taken")
                site = Site(
                    uuid=_uuid(),
                    account_id=account_id,
                    domain=domain,
                    timezone=fields.get("timezone") or "Etc/UTC",
                    content_groups=fields.get("content_groups") or [],
                    excluded_ips=fields.get("excluded_ips") or [],
                    created_at=_now(),
                )
                s.add(site)
        except IntegrityError as exc:  # a concurrent create of the same domain
            raise InvalidInput(f"domain {domain!r} is already taken") from exc
        self._sites_changed()
        return site

    def update_site(self, site_id: int, **fields: Any) -> Site:
        try:
            with self._sessions.begin() as s:
                site = s.get(Site, site_id)
                if site is None:
                    raise NotFound("Website not found")
                domain = fields.get("domain")
                old_domain, old_timezone = site.domain, site.timezone
                if domain is not None and domain != site.domain:
                    taken = s.scalar(select(Site.id).where(Site.domain == domain))
                    if taken is not None:
                        raise InvalidInput(f"domain {domain!r} is already taken")
                for name, value in fields.items():
                    if value is not None:
                        setattr(site, name, value)
        except IntegrityError as exc:
            raise InvalidInput("domain is already taken") from exc
        if site.domain != old_domain:
            for hook in self.on_domain_changed:
                hook(site.id, old_domain, site.domain)
        self._sites_changed()
        if site.timezone != old_timezone:
            for timezone_hook in self.on_timezone_changed:
                timezone_hook(site.id)
        return site

    def delete_site(self, site_id: int) -> Site:
        with self._sessions.begin() as s:
            site = s.get(Site, site_id)
            if site is None:
                raise NotFound("Website not found")
            s.delete(site)
        self._sites_deleted([site_id])
        return site

    def _sites_deleted(self, site_ids: list[int]) -> None:
        for hook in self.on_sites_deleted:
            hook(site_ids)
        self._sites_changed()

    def _sites_changed(self) -> None:
        with self._site_cache_lock:
            self._site_generation += 1
            self._site_cache = {}
        for hook in self.on_sites_changed:
            hook()

    # -- salts ------------------------------------------------------------------------------

    def get_or_create_salt(self, day: str, fresh: Callable[[], bytes]) -> bytes:
        with self._sessions() as s:
            row = s.get(Salt, day)
            if row is not None:
                return row.secret
        try:
            with self._sessions.begin() as s:
                secret = fresh()
                s.add(Salt(day=day, secret=secret))
            return secret
        except IntegrityError:
            # Another thread created the same day first; use its salt.
            with self._sessions() as s:
                row = s.get(Salt, day)
                assert row is not None
                return row.secret

    def delete_salts_before(self, day: str) -> int:
        with self._sessions.begin() as s:
            result = s.execute(delete(Salt).where(Salt.day < day))
            return int(getattr(result, "rowcount", 0) or 0)


def _keep_an_admin(s: Session, staying: ColumnElement[bool]) -> None:
    """Refuse a delete that leaves no admin user (`staying` selects the users it keeps): the
    admin API would answer nobody, and only `tinytrail create-admin` on the server could help."""
    if s.scalar(select(User.id).where(User.role == "admin", staying).limit(1)) is None:
        raise InvalidInput("the last admin user cannot be deleted; create another admin first")
