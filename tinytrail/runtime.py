"""Everything a running server owns, wired together once: stores, ingestion, limiter, jobs."""

from __future__ import annotations

import logging
import threading
import time as clock_time
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import text

from tinytrail import privacy
from tinytrail.api.goatcounter.service import GoatCounter
from tinytrail.api.keys import PrincipalCache
from tinytrail.api.ratelimit import RateLimiter
from tinytrail.ingest import useragent
from tinytrail.ingest.collection import DEFAULT_COLLECT, DEFAULT_REGIONS, Collection
from tinytrail.ingest.flusher import Flusher, recover
from tinytrail.ingest.geo import GeoLocator
from tinytrail.ingest.pipeline import Ingestor
from tinytrail.ingest.sessions import VisitBook
from tinytrail.ingest.sites import SitesCache
from tinytrail.ingest.wal import WriteAheadLog
from tinytrail.meta.dashboard_sessions import DashboardSessions
from tinytrail.meta.db import make_engine, make_sessionmaker, migrate
from tinytrail.meta.goatcounter import GoatCounterRepo
from tinytrail.meta.keys import KeyVault
from tinytrail.meta.repo import MetaRepo
from tinytrail.meta.site_config import SiteConfigRepo
from tinytrail.query import periods
from tinytrail.query.engine import Engine
from tinytrail.query.model import Goal, SiteContext
from tinytrail.settings import Settings
from tinytrail.storage.duckdb_store import DuckDBStore
from tinytrail.timeutil import utcnow

log = logging.getLogger(__name__)

# How long a site's goals are kept in memory at most: goal changes made in this process drop
# them at once; this bounds how long a change made by another process can go unseen.
GOALS_CACHE_SECONDS = 2.0
DASHBOARD_SESSION_DAYS = 14  # a dashboard sign-in lasts two weeks, or until its API key goes


class Runtime:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.meta_db = make_engine(settings.metadata_url)
        migrate(self.meta_db)
        self.repo = MetaRepo(
            make_sessionmaker(self.meta_db), KeyVault(settings.data_dir / "secret.key")
        )
        self.site_config = SiteConfigRepo(make_sessionmaker(self.meta_db))
        self.salts = privacy.SaltBook(self.repo.get_or_create_salt)
        self.geo = GeoLocator(settings.geoip_db)
        self.goatcounter_repo = GoatCounterRepo(make_sessionmaker(self.meta_db))
        self.sites = SitesCache(
            self.repo.list_sites, self.site_config.all_aliases, self._collections
        )
        self.store = DuckDBStore(settings.events_path, memory_limit=settings.duckdb_memory_limit)
        self.wal = WriteAheadLog(settings.wal_dir, settings.wal_fsync)
        visits = VisitBook(settings.session_timeout_min)
        for visit in self.store.open_visits():
            visits.open(visit)
        last_seq = self.store.max_event_seq()
        horizon = self._visitor_keys_horizon()
        visits.numbers.load(self.store.visitor_keys(horizon))
        visits.numbers.load(self.store.hashed_visitor_ids(horizon, last_seq))
        self.ingestor = Ingestor(self.sites, self.salts, self.geo, visits, self.wal, last_seq)
        known_sites = self.sites.ids()
        recover(self.store, self.ingestor, known_sites=known_sites)
        self._purge_orphans(known_sites)
        self.flusher = Flusher(
            self.store,
            self.ingestor,
            settings.flush_interval_ms,
            clock,
            max_backlog=settings.max_backlog,
        )
        self.limiter = RateLimiter(settings.rate_limits)
        self.engine = Engine(self.store)
        self.repo.on_sites_changed.append(self.sites.reload)
        self.repo.on_sites_deleted.append(self._purge_sites)
        self.repo.on_domain_changed.append(self.site_config.record_domain_change)
        self.repo.on_timezone_changed.append(self._forget_rollups)
        self.site_config.on_aliases_changed.append(self.sites.reload)
        self.goatcounter_repo.on_settings_changed.append(self.sites.reload)
        # Who each API key is, and each site's goals, kept in memory: every query needs them.
        self.principals = PrincipalCache(self.repo.authenticate)
        self.repo.on_keys_changed.append(self.principals.clear)
        self._goals: dict[int, tuple[tuple[Goal, ...], float]] = {}
        self._goals_generation = 0
        self.site_config.on_goals_changed.append(self._forget_goals)
        self.repo.on_sites_changed.append(self._forget_goals)
        self.goatcounter = GoatCounter(self)  # GoatCounter sites, path ids, export jobs
        self.dashboard_sessions = DashboardSessions(
            make_sessionmaker(self.meta_db), timedelta(days=DASHBOARD_SESSION_DAYS)
        )

    def _collections(self) -> dict[int, Collection]:
        """What each site with GoatCounter collection settings keeps (reference 8.7); sites
        never given such settings keep everything."""
        found = {}
        for site_id, stored in self.goatcounter_repo.stored_settings().items():
            if "collect" in stored or "collect_regions" in stored:
                found[site_id] = Collection.from_settings(
                    int(stored.get("collect", DEFAULT_COLLECT)),
                    str(stored.get("collect_regions", DEFAULT_REGIONS)),
                )
        return found

    def _purge_orphans(self, known_sites: set[int]) -> None:
        """Delete the data of sites deleted from the metadata while their purge was cut short
        (a crash right after the delete): deleting a site deletes its events, eventually."""
        orphans = self.store.stored_site_ids() - known_sites
        if orphans:
            log.warning("deleting the stored data of %d deleted site(s)", len(orphans))
            self.store.delete_sites(sorted(orphans))

    def bootstrap_admin(self) -> str | None:
        """On an empty installation, create the admin account and return its key (else None)."""
        if self.repo.list_users():
            return None
        _, key = self.repo.create_admin("Admin", self.settings.admin_api_key or None)
        return key

    def start(self) -> None:
        self.flusher.start()
        # UA and bot pattern sets are built on first use; build them before the first event.
        threading.Thread(target=useragent.warm, name="tinytrail-warm-up", daemon=True).start()

    def stop(self) -> None:
        self.flusher.stop()
        self.wal.close()
        self.store.checkpoint()
        self.store.close()
        self.geo.close()
        self.meta_db.dispose()

    def healthy(self) -> bool:
        return all(self.health_checks().values())

    def health_checks(self) -> dict[str, bool]:
        """Whether each part answers: the metadata database, the event store, ingestion."""
        try:
            with self.meta_db.connect() as connection:
                connection.execute(text("SELECT 1"))
            metadata = True
        except Exception:
            metadata = False
        return {
            "metadata": metadata,
            "events": self.store.ping(),
            "ingestion": self.flusher.healthy and self.wal.healthy,
        }

    def site_context(self, site_id: int) -> SiteContext:
        """What the query engine needs to know about a site: timezone, goals, first data."""
        rules = self.sites.by_id(site_id)
        if rules is None:
            raise KeyError(site_id)
        return SiteContext(
            id=site_id,
            domain=rules.domain,
            timezone=rules.timezone,
            goals=self._site_goals(site_id),
            stats_start=self.store.first_event_date(site_id, rules.timezone),
        )

    def _site_goals(self, site_id: int) -> tuple[Goal, ...]:
        now = clock_time.monotonic()
        found = self._goals.get(site_id)
        if found is not None and found[1] > now:
            return found[0]
        generation = self._goals_generation
        goals = self.site_config.goals_for_query(site_id)
        if generation == self._goals_generation:  # no goal changed while we read them
            self._goals[site_id] = (goals, now + GOALS_CACHE_SECONDS)
        return goals

    def _forget_goals(self, site_id: int | None = None) -> None:
        self._goals_generation += 1
        self._goals = {}

    def aggregate(self, day: date | None = None) -> list[str]:
        """Roll up `day` (default: yesterday, UTC) for every site where that day is over.

        A day is over for a site once its local midnight is a visit timeout (plus a minute)
        behind: no visit can still end on that day. Idempotent: re-running rebuilds the same
        rows. Returns the domains that were aggregated.
        """
        now = self.clock()
        day = day or (now.astimezone(UTC).date() - timedelta(days=1))
        self.flusher.flush()
        done = []
        for site in self.repo.list_sites():
            context = self.site_context(site.id)
            if self._day_closed(context, day, now):
                self.engine.aggregate_day(context, day)
                done.append(site.domain)
        return done

    def aggregate_pending(self, max_days: int = 31) -> int:
        """Nightly work: roll up closed days that have no rollups yet, oldest first."""
        now = self.clock()
        built = 0
        for site in self.repo.list_sites():
            context = self.site_context(site.id)
            if context.stats_start is None:
                continue
            today = now.astimezone(context.timezone).date()
            first = max(context.stats_start, today - timedelta(days=3660))
            done = self.store.rollup_days(site.id, first, today)
            day = first
            while day < today and built < max_days:
                if day not in done and self._day_closed(context, day, now):
                    self.flusher.flush()
                    self.engine.aggregate_day(context, day)
                    built += 1
                day += timedelta(days=1)
        return built

    def _forget_rollups(self, site_id: int) -> None:
        """A site's rollups are of its days in its old timezone: drop them all. Reports read
        the events until the nightly job has built the days again in the new timezone."""
        self.store.invalidate_rollups(site_id, date.min, date.max)

    def _day_closed(self, context: SiteContext, day: date, now: datetime) -> bool:
        if day > now.date() + timedelta(days=1):  # not over anywhere (nor near date.max)
            return False
        local_midnight = periods.local_to_utc(
            day + timedelta(days=1), time(0), context.timezone, is_start=True
        )
        grace = timedelta(minutes=self.settings.session_timeout_min + 1)
        return now >= local_midnight + grace

    def _purge_sites(self, site_ids: list[int]) -> None:
        """A deleted site's events and visits go too, including those not yet flushed."""
        self.sites.reload()
        self.flusher.flush()
        self.ingestor.drop_sites(set(site_ids))
        self.store.delete_sites(site_ids)

    def _visitor_keys_horizon(self) -> date:
        """The UTC day before which visitor numbers were introduced under salts now gone
        (a salt's date is at most a day from the UTC date of the events hashed with it)."""
        return privacy.oldest_salt_needed(self.clock()) - timedelta(days=1)

    def forget_old_salts(self) -> None:
        oldest = privacy.oldest_salt_needed(self.clock())
        self.repo.delete_salts_before(oldest.isoformat())
        self.salts.forget_before(oldest)
        horizon = self._visitor_keys_horizon()
        self.ingestor.forget_visitors_before(horizon)
        self.store.forget_visitor_keys(horizon)
