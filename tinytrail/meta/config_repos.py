"""The smaller parts of `SiteConfigRepo`: shared links, custom properties, domain aliases.

Each part is a small repository in MetaRepo's style (every method opens its own short
transaction and returns detached rows); `SiteConfigRepo` composes them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta.models import CustomProp, SharedLink, SiteAlias
from tinytrail.meta.paging import Page, PageRequest, keyset_page

MAX_CUSTOM_PROPS = 300


def now() -> datetime:
    return datetime.now(UTC)


class ConfigRepo:
    """What every part shares: the sessions it opens its transactions with."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions


class SharedLinksRepo(ConfigRepo):
    def shared_link(self, site_id: int, name: str) -> SharedLink:
        """Find or create the site's link of that name; a new one gets a fresh random slug."""
        found = self._shared_link_named(site_id, name)
        if found is not None:
            return found
        try:
            with self._sessions.begin() as s:
                link = SharedLink(
                    site_id=site_id,
                    name=name,
                    slug=secrets.token_urlsafe(18),
                    created_at=now(),
                )
                s.add(link)
            return link
        except IntegrityError:
            found = self._shared_link_named(site_id, name)
            if found is None:
                raise
            return found

    def _shared_link_named(self, site_id: int, name: str) -> SharedLink | None:
        with self._sessions() as s:
            return s.scalar(
                select(SharedLink).where(SharedLink.site_id == site_id, SharedLink.name == name)
            )

    def shared_links_page(self, site_id: int, request: PageRequest) -> Page[SharedLink]:
        query = select(SharedLink).where(SharedLink.site_id == site_id)
        with self._sessions() as s:
            return keyset_page(s, query, SharedLink.id, request)

    def delete_shared_link(self, site_id: int, name: str) -> None:
        with self._sessions.begin() as s:
            result = s.execute(
                delete(SharedLink).where(SharedLink.site_id == site_id, SharedLink.name == name)
            )
            if not getattr(result, "rowcount", 0):
                raise NotFound("Shared link could not be found")

    def shared_link_by_slug(self, slug: str) -> SharedLink | None:
        with self._sessions() as s:
            return s.scalar(select(SharedLink).where(SharedLink.slug == slug))


class CustomPropsRepo(ConfigRepo):
    def list_custom_props(self, site_id: int) -> list[str]:
        with self._sessions() as s:
            query = select(CustomProp.property).where(CustomProp.site_id == site_id)
            return list(s.scalars(query.order_by(CustomProp.id)))

    def add_custom_prop(self, site_id: int, prop: str) -> None:
        props = self.list_custom_props(site_id)
        if prop in props:
            return
        if len(props) >= MAX_CUSTOM_PROPS:
            raise InvalidInput("Can't add any more custom properties")
        try:
            with self._sessions.begin() as s:
                s.add(CustomProp(site_id=site_id, property=prop))
        except IntegrityError:
            pass  # added concurrently: the property is allowed either way

    def remove_custom_prop(self, site_id: int, prop: str) -> None:
        with self._sessions.begin() as s:
            s.execute(
                delete(CustomProp).where(CustomProp.site_id == site_id, CustomProp.property == prop)
            )


class AliasesRepo(ConfigRepo):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions)
        # Called after a domain change recorded an alias, so caches that resolve domains
        # (ingestion's sites cache) can learn the old domain.
        self.on_aliases_changed: list[Callable[[], None]] = []

    def record_domain_change(self, site_id: int, old: str, new: str) -> None:
        """Keep `old` naming this site; `new` is current now, so it is no alias any more."""
        with self._sessions.begin() as s:
            s.execute(delete(SiteAlias).where(SiteAlias.domain == new))
            alias = s.get(SiteAlias, old)
            if alias is None:
                s.add(SiteAlias(domain=old, site_id=site_id, created_at=now()))
            else:
                alias.site_id = site_id
        for hook in self.on_aliases_changed:
            hook()

    def aliases_of(self, site_id: int) -> list[str]:
        with self._sessions() as s:
            query = select(SiteAlias.domain).where(SiteAlias.site_id == site_id)
            return list(s.scalars(query.order_by(SiteAlias.created_at, SiteAlias.domain)))

    def alias_owner(self, domain: str) -> int | None:
        with self._sessions() as s:
            return s.scalar(select(SiteAlias.site_id).where(SiteAlias.domain == domain))

    def all_aliases(self) -> dict[str, int]:
        """Every previous domain and its site's integer id, for in-memory domain lookups."""
        with self._sessions() as s:
            return {
                domain: site_id
                for domain, site_id in s.execute(select(SiteAlias.domain, SiteAlias.site_id))
            }
