"""Repository for the GoatCounter tables: site fields, path ids and titles, export jobs.

Like `MetaRepo`, every method runs its own short transaction and returns detached records.
The collectors call `remember_titles` on every hit, so it answers from memory whenever the
database already holds what it would write.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tinytrail.meta.models import (
    GoatCounterCampaign,
    GoatCounterExport,
    GoatCounterPath,
    GoatCounterSite,
    Site,
    path_digest,
)

PathKey = tuple[bool, str]  # (is an event, path or event name)
TITLE_CACHE_LIMIT = 200_000
T = TypeVar("T")


def new_code() -> str:
    """A self-hosted GoatCounter site's code looks like `serve-<random>`; so do ours."""
    return "serve-" + secrets.token_hex(5)


class GoatCounterRepo:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.Lock()
        self._titles: dict[tuple[int, bool, str], str] = {}
        self._hosts: dict[str, int] | None = None
        # Called after a site's settings change (collection reads its `collect` bits).
        self.on_settings_changed: list[Callable[[], None]] = []

    # -- sites ------------------------------------------------------------------------------

    def site(self, site_id: int) -> GoatCounterSite:
        """The GoatCounter fields of a site, created with defaults on first use.

        A new row's `link_domain` is the site's domain: an empty one is one a client emptied
        (a POST without `link_domain`, reference 5.2).
        """
        with self._sessions() as s:
            row = s.get(GoatCounterSite, site_id)
        if row is not None:
            return row
        try:
            with self._sessions.begin() as s:
                domain = s.scalar(select(Site.domain).where(Site.id == site_id))
                row = GoatCounterSite(
                    site_id=site_id,
                    code=new_code(),
                    cname=None,
                    link_domain=domain or "",
                    settings={},
                )
                s.add(row)
        except IntegrityError:  # created concurrently
            with self._sessions() as s:
                found = s.get(GoatCounterSite, site_id)
                assert found is not None
                return found
        self._hosts = None
        return row

    def save_site(self, site_id: int, at: datetime, **fields: Any) -> GoatCounterSite:
        """Write cname / link_domain / settings; raises IntegrityError on a taken cname."""
        self.site(site_id)
        with self._sessions.begin() as s:
            row = s.get(GoatCounterSite, site_id)
            assert row is not None
            for name, value in fields.items():
                setattr(row, name, value)
            row.updated_at = at
        self._hosts = None
        if "settings" in fields:
            for hook in self.on_settings_changed:
                hook()
        return row

    def stored_settings(self) -> dict[int, dict[str, Any]]:
        """Every site's settings as stored (sites never configured have none)."""
        with self._sessions() as s:
            rows = s.execute(select(GoatCounterSite.site_id, GoatCounterSite.settings)).all()
        return {site_id: settings or {} for site_id, settings in rows}

    def cname_owner(self, cname: str) -> int | None:
        """The site whose cname this is: its own cname, or its domain when it has none (the
        cname the Site object shows for it)."""
        with self._sessions() as s:
            owner: int | None = s.scalar(
                select(GoatCounterSite.site_id).where(GoatCounterSite.cname == cname)
            )
            if owner is None:
                owner = s.scalar(
                    select(Site.id)
                    .outerjoin(GoatCounterSite, GoatCounterSite.site_id == Site.id)
                    .where(Site.domain == cname, GoatCounterSite.cname.is_(None))
                )
        return owner

    def code_owner(self, code: str) -> int | None:
        with self._sessions() as s:
            owner: int | None = s.scalar(
                select(GoatCounterSite.site_id).where(GoatCounterSite.code == code)
            )
        return owner

    def site_for_host(self, host: str) -> int | None:
        """The site whose cname is `host`, or whose code is the host's first label."""
        hosts = self._hosts
        if hosts is None:
            with self._sessions() as s:
                rows = s.execute(
                    select(GoatCounterSite.site_id, GoatCounterSite.code, GoatCounterSite.cname)
                ).all()
            hosts = {}
            for site_id, code, cname in rows:
                hosts[f"code:{code}"] = site_id
                if cname:
                    hosts[cname] = site_id
            self._hosts = hosts
        host = host.lower()
        return hosts.get(host) or hosts.get("code:" + host.split(".", 1)[0])

    # -- paths ------------------------------------------------------------------------------

    def ensure_paths(self, site_id: int, keys: Iterable[PathKey]) -> dict[PathKey, int]:
        """Ids for these paths, allocating ids for the ones seen for the first time.

        New ids are given in the order of `keys`, in bulk: a few hundred rows per short
        transaction, which another request adding the same paths cannot fail (duplicates are
        skipped) and a busy database only delays (retried).
        """
        wanted = list(dict.fromkeys(keys))
        known = self.path_ids(site_id, wanted)
        missing = [key for key in wanted if key not in known]
        if not missing:
            return known
        for chunk in _chunks(missing, 500):
            _retry_when_locked(self._insert_paths, site_id, chunk)
        return self.path_ids(site_id, wanted)

    def _insert_paths(self, site_id: int, keys: list[PathKey]) -> None:
        rows = [
            {
                "site_id": site_id,
                "event": event,
                "path": path,
                "path_digest": path_digest(path),
                "title": "",
            }
            for event, path in keys
        ]
        with self._sessions.begin() as s:
            dialect = s.get_bind().dialect.name
            if dialect in ("sqlite", "postgresql"):
                insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
                s.execute(insert(GoatCounterPath).on_conflict_do_nothing(), rows)
                return
        for event, path in keys:  # other databases: one by one, a concurrent insert is no error
            self._add_path(site_id, event, path, "")

    def path_ids(self, site_id: int, keys: Iterable[PathKey]) -> dict[PathKey, int]:
        """Ids of the paths that have one (nothing is allocated)."""
        wanted = set(keys)
        found: dict[PathKey, int] = {}
        with self._sessions() as s:
            for is_event in (False, True):
                # By the whole unique key (site, event, digest): its index answers each digest.
                digests = sorted({path_digest(path) for event, path in wanted if event == is_event})
                for chunk in _chunks(digests, 500):
                    rows = s.execute(
                        select(GoatCounterPath.id, GoatCounterPath.path).where(
                            GoatCounterPath.site_id == site_id,
                            GoatCounterPath.event == is_event,
                            GoatCounterPath.path_digest.in_(chunk),
                        )
                    )
                    for path_id, path in rows:
                        if (is_event, path) in wanted:
                            found[(is_event, path)] = path_id
        return found

    def oldest_path_ids(self, site_id: int, keys: set[PathKey], count: int) -> dict[PathKey, int]:
        """The `count` lowest ids among these paths (fewer when fewer have one).

        A long list is not looked up key by key: the site's paths are read in id order until
        enough of them are found.
        """
        if count <= 0 or not keys:
            return {}
        if len(keys) <= 2000:
            found = sorted(self.path_ids(site_id, keys).items(), key=lambda item: item[1])
            return dict(found[:count])
        oldest: dict[PathKey, int] = {}
        with self._sessions() as s:
            rows = s.execute(
                select(GoatCounterPath.id, GoatCounterPath.event, GoatCounterPath.path)
                .where(GoatCounterPath.site_id == site_id)
                .order_by(GoatCounterPath.id)
                .execution_options(yield_per=1000)
            )
            for path_id, event, path in rows:
                if (event, path) in keys:
                    oldest[(event, path)] = path_id
                    if len(oldest) == count:
                        break
        return oldest

    def _add_path(self, site_id: int, event: bool, path: str, title: str) -> None:
        try:
            with self._sessions.begin() as s:
                s.add(_new_path(site_id, event, path, title))
        except IntegrityError:
            pass

    # -- campaigns --------------------------------------------------------------------------

    def ensure_campaigns(self, site_id: int, names: Iterable[str]) -> dict[str, int]:
        """Ids for these campaign names, allocating ids for the ones seen for the first time."""
        wanted = set(names)
        known = self._campaign_ids(site_id, wanted)
        missing = sorted(wanted - set(known))
        if not missing:
            return known
        try:
            with self._sessions.begin() as s:
                s.add_all(_new_campaign(site_id, name) for name in missing)
        except IntegrityError:  # a concurrent request added some of them: one by one
            for name in missing:
                try:
                    with self._sessions.begin() as s:
                        s.add(_new_campaign(site_id, name))
                except IntegrityError:
                    pass
        return self._campaign_ids(site_id, wanted)

    def _campaign_ids(self, site_id: int, names: set[str]) -> dict[str, int]:
        if not names:
            return {}
        found: dict[str, int] = {}
        digests = sorted({path_digest(name) for name in names})
        with self._sessions() as s:
            for chunk in _chunks(digests, 500):
                rows = s.execute(
                    select(GoatCounterCampaign.id, GoatCounterCampaign.name).where(
                        GoatCounterCampaign.site_id == site_id,
                        GoatCounterCampaign.name_digest.in_(chunk),
                    )
                )
                found.update({name: ident for ident, name in rows if name in names})
        return found

    def campaign_name(self, site_id: int, campaign_id: int) -> str | None:
        with self._sessions() as s:
            return s.execute(
                select(GoatCounterCampaign.name).where(
                    GoatCounterCampaign.site_id == site_id, GoatCounterCampaign.id == campaign_id
                )
            ).scalar()

    def paths_after(self, site_id: int, after: int, limit: int) -> list[GoatCounterPath]:
        with self._sessions() as s:
            query = (
                select(GoatCounterPath)
                .where(GoatCounterPath.site_id == site_id, GoatCounterPath.id > after)
                .order_by(GoatCounterPath.id)
                .limit(limit)
            )
            return list(s.scalars(query))

    def paths_by_id(self, site_id: int, ids: Iterable[int]) -> list[GoatCounterPath]:
        with self._sessions() as s:
            query = select(GoatCounterPath).where(
                GoatCounterPath.site_id == site_id, GoatCounterPath.id.in_(list(ids))
            )
            return list(s.scalars(query))

    def paths_by_name(self, site_id: int, names: Iterable[str]) -> list[GoatCounterPath]:
        """GoatCounter matches `path_by_name` case-insensitively."""
        lowered = [name.lower() for name in names]
        with self._sessions() as s:
            query = select(GoatCounterPath).where(
                GoatCounterPath.site_id == site_id, func.lower(GoatCounterPath.path).in_(lowered)
            )
            return list(s.scalars(query))

    def unknown_titles(
        self, site_id: int, items: Iterable[tuple[bool, str, str]]
    ) -> list[tuple[bool, str, str]]:
        """The items `remember_titles` would store, from memory alone: collectors call it
        on the event loop and hand the store a thread only when some title is new (a
        thread hop costs a /count request more than the lookups, under load)."""
        return [item for item in items if self._title_is_new(site_id, *item)]

    def _title_is_new(self, site_id: int, event: bool, path: str, title: str) -> bool:
        cached = self._titles.get((site_id, event, path))
        return cached is None or (not cached and bool(title))

    def remember_titles(self, site_id: int, items: Iterable[tuple[bool, str, str]]) -> None:
        """Keep the first title seen for each path (later ones only replace an empty title)."""
        for event, path, title in items:
            if not self._title_is_new(site_id, event, path, title):
                continue
            key = (site_id, event, path)
            _retry_when_locked(self._store_title, site_id, event, path, title)
            with self._lock:
                if len(self._titles) >= TITLE_CACHE_LIMIT:
                    self._titles.clear()
                self._titles[key] = title

    def _store_title(self, site_id: int, event: bool, path: str, title: str) -> None:
        with self._sessions.begin() as s:
            row = s.scalar(
                select(GoatCounterPath).where(
                    GoatCounterPath.site_id == site_id,
                    GoatCounterPath.event == event,
                    GoatCounterPath.path_digest == path_digest(path),
                )
            )
            if row is not None:
                if not row.title and title:
                    row.title = title
                return
        self._add_path(site_id, event, path, title)

    def titles(self, site_id: int, keys: Iterable[PathKey]) -> dict[PathKey, str]:
        ids = self.path_ids(site_id, keys)
        rows = self.paths_by_id(site_id, ids.values()) if ids else []
        return {(row.event, row.path): row.title for row in rows}

    # -- exports ----------------------------------------------------------------------------

    def create_export(self, site_id: int, start: int, path: str, at: datetime) -> GoatCounterExport:
        with self._sessions.begin() as s:
            export = GoatCounterExport(
                site_id=site_id, format="csv", start_from_hit_id=start, path=path, created_at=at
            )
            s.add(export)
        return export

    def get_export(self, export_id: int) -> GoatCounterExport | None:
        with self._sessions() as s:
            return s.get(GoatCounterExport, export_id)

    def update_export(self, export_id: int, **fields: Any) -> None:
        with self._sessions.begin() as s:
            s.execute(
                update(GoatCounterExport).where(GoatCounterExport.id == export_id).values(**fields)
            )

    def finished_exports(self) -> list[GoatCounterExport]:
        with self._sessions() as s:
            query = select(GoatCounterExport).where(GoatCounterExport.finished_at.is_not(None))
            return list(s.scalars(query))

    def unfinished_exports(self) -> list[GoatCounterExport]:
        with self._sessions() as s:
            query = select(GoatCounterExport).where(GoatCounterExport.finished_at.is_(None))
            return list(s.scalars(query))


def _new_path(site_id: int, event: bool, path: str, title: str) -> GoatCounterPath:
    return GoatCounterPath(
        site_id=site_id, path=path, path_digest=path_digest(path), event=event, title=title
    )


def _new_campaign(site_id: int, name: str) -> GoatCounterCampaign:
    return GoatCounterCampaign(site_id=site_id, name=name, name_digest=path_digest(name))


def _chunks(items: list[T], size: int) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _retry_when_locked(work: Callable[..., None], *args: Any, attempts: int = 8) -> None:
    """Run a write; SQLite's "database is locked" (another writer outlasted the busy timeout)
    is retried after a growing pause instead of failing the request."""
    for attempt in range(attempts):
        try:
            work(*args)
            return
        except OperationalError as exc:
            if "locked" not in str(exc).lower() or attempt == attempts - 1:
                raise
            time.sleep(min(0.05 * 2**attempt, 2.0))
