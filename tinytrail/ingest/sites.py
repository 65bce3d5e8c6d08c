"""What ingestion needs to know about each site, compiled once and kept in memory.

Collect requests must not touch the metadata database, so sites are cached by every key a
collector may address them with (UUID, domain, integer id) and reloaded whenever a site changes.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from tinytrail.ingest.collection import Collection
from tinytrail.meta.models import Site
from tinytrail.settings import Network


@dataclass(frozen=True)
class SiteRules:
    id: int
    uuid: str
    domain: str
    account_id: str
    timezone: ZoneInfo
    excluded: tuple[Network, ...]
    content_groups: tuple[tuple[str, re.Pattern[str]], ...]
    collection: Collection | None = None  # None: everything is collected

    def is_excluded(self, ip: str) -> bool:
        if not self.excluded:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self.excluded)

    def content_group(self, path: str) -> str:
        for name, pattern in self.content_groups:
            if pattern.match(path):
                return name
        return ""


@lru_cache(maxsize=1024)
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Plausible's page-pattern syntax: `*` and `**` match anything, `|` separates choices."""
    escaped = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", ".*").replace(r"\|", "|")
    return re.compile(f"^(?:{escaped})$")


def compile_site(site: Site, collection: Collection | None = None) -> SiteRules:
    return SiteRules(
        id=site.id,
        uuid=site.uuid,
        domain=site.domain,
        account_id=site.account_id,
        timezone=ZoneInfo(site.timezone or "Etc/UTC"),
        excluded=tuple(ipaddress.ip_network(ip, strict=False) for ip in site.excluded_ips or []),
        content_groups=tuple(
            (group["name"], glob_to_regex(group["pattern"])) for group in site.content_groups or []
        ),
        collection=collection,
    )


class SitesCache:
    def __init__(
        self,
        load: Callable[[], Iterable[Site]],
        aliases: Callable[[], dict[str, int]] = dict,
        collections: Callable[[], dict[int, Collection]] = dict,
    ) -> None:
        self._load = load
        self._load_aliases = aliases
        self._load_collections = collections
        self._lock = threading.Lock()
        self._by_uuid: dict[str, SiteRules] = {}
        self._by_domain: dict[str, SiteRules] = {}
        self._by_id: dict[int, SiteRules] = {}
        self.reload()

    def reload(self) -> None:
        collections = self._load_collections()
        rules = [compile_site(site, collections.get(site.id)) for site in self._load()]
        with self._lock:
            self._by_uuid = {r.uuid: r for r in rules}
            self._by_id = {r.id: r for r in rules}
            # A renamed site keeps receiving events sent under its previous domains.
            by_domain = {
                alias: self._by_id[site_id]
                for alias, site_id in self._load_aliases().items()
                if site_id in self._by_id
            }
            by_domain.update({r.domain: r for r in rules})
            self._by_domain = by_domain

    def ids(self) -> set[int]:
        return set(self._by_id)

    def by_uuid(self, value: str) -> SiteRules | None:
        return self._by_uuid.get(value)

    def by_domain(self, domain: str) -> SiteRules | None:
        return self._by_domain.get(domain.lower().removeprefix("www."))

    def by_id(self, site_id: int) -> SiteRules | None:
        return self._by_id.get(site_id)
