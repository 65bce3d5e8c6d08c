"""Per-site configuration: goals, funnels, shared links, custom props, aliases, tracker options.

`SiteConfigRepo` is the one object the server uses. It composes small repositories in MetaRepo's
style (each method opens its own short transaction and returns detached rows): goals and funnels
in `goal_repos`; shared links, custom props and aliases in `config_repos`. Sites themselves stay
MetaRepo's; this module only reads them (lookups by alias, paged listings) and keeps the tracker
script options. Goal validation lives in `goals`, keyset paging in `paging`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tinytrail.meta.config_repos import AliasesRepo, CustomPropsRepo, SharedLinksRepo
from tinytrail.meta.goal_repos import FunnelsRepo, GoalsRepo
from tinytrail.meta.models import Account, Site, SiteAlias, SiteTrackerConfig
from tinytrail.meta.paging import Page, PageRequest, keyset_page

TRACKER_FLAGS = (
    "track_404_pages",
    "hash_based_routing",
    "outbound_links",
    "file_downloads",
    "revenue_tracking",
    "tagged_events",
    "form_submissions",
    "pageview_props",
)
INSTALLATION_TYPES = ("manual", "wordpress", "gtm", "npm")
TRACKER_DEFAULTS: dict[str, Any] = {
    "installation_type": None,
    **dict.fromkeys(TRACKER_FLAGS, False),
}


class SiteConfigRepo(GoalsRepo, FunnelsRepo, SharedLinksRepo, CustomPropsRepo, AliasesRepo):
    """Every per-site configuration store in one object, plus site lookups and tracker options."""

    # -- sites and teams (read only; MetaRepo writes them) -----------------------------------

    def find_site(self, domain: str) -> Site | None:
        """The site whose current domain, or failing that a previous one, is `domain`."""
        with self._sessions() as s:
            site = s.scalar(select(Site).where(Site.domain == domain))
            if site is not None:
                return site
            return s.scalar(
                select(Site)
                .join(SiteAlias, SiteAlias.site_id == Site.id)
                .where(SiteAlias.domain == domain)
            )

    def sites_page(self, account_id: str | None, request: PageRequest) -> Page[Site]:
        """`account_id` None = every site (admins)."""
        query = select(Site)
        if account_id is not None:
            query = query.where(Site.account_id == account_id)
        with self._sessions() as s:
            return keyset_page(s, query, Site.id, request)

    def accounts_page(self, account_id: str | None, request: PageRequest) -> Page[Account]:
        query = select(Account)
        if account_id is not None:
            query = query.where(Account.id == account_id)
        with self._sessions() as s:
            return keyset_page(s, query, Account.id, request, text_key=True)

    # -- tracker script options ---------------------------------------------------------------

    def tracker_config(self, site_id: int) -> dict[str, Any]:
        with self._sessions() as s:
            row = s.get(SiteTrackerConfig, site_id)
            stored = dict(row.config) if row is not None else {}
        return {name: stored.get(name, default) for name, default in TRACKER_DEFAULTS.items()}

    def update_tracker_config(self, site_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge validated `changes` into the stored options; returns the full configuration."""
        with self._sessions.begin() as s:
            row = s.get(SiteTrackerConfig, site_id)
            if row is None:
                s.add(SiteTrackerConfig(site_id=site_id, config=dict(changes)))
            else:
                row.config = {**row.config, **changes}
        return self.tracker_config(site_id)
