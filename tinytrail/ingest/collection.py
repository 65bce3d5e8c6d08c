"""What a site lets us collect: GoatCounter's per-site `collect` setting (reference 8.7).

A site whose owner set GoatCounter's `collect` bits keeps less about each visit, whichever
collector sent the hit: without referrers no acquisition data, without the User-Agent no
browser or system (bot detection still reads it), without screen sizes no width, without
countries no location, regions (and cities) only for the listed countries, and without
sessions every pageview is a visit of its own. Sites without GoatCounter settings keep
everything, as Plausible does.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinytrail.ingest import sources
from tinytrail.ingest.model import Event

REFERRER, USER_AGENT, SCREEN_SIZE, COUNTRY, REGION, SESSIONS = 2, 4, 8, 16, 32, 128
# GoatCounter's defaults: all of the above; regions only for these countries.
DEFAULT_COLLECT = REFERRER | USER_AGENT | SCREEN_SIZE | COUNTRY | REGION | SESSIONS  # 190
DEFAULT_REGIONS = "US,RU,CN"
_NO_ACQUISITION = {
    "referrer": "",
    "referrer_source": "",
    "utm_source": "",
    "utm_medium": "",
    "utm_campaign": "",
    "utm_content": "",
    "utm_term": "",
}


@dataclass(frozen=True)
class Collection:
    referrer: bool
    user_agent: bool
    screen_size: bool
    country: bool
    region_countries: frozenset[str]  # countries whose regions and cities are kept
    sessions: bool

    @classmethod
    def from_settings(cls, collect: int, collect_regions: str) -> Collection:
        regions = frozenset(
            code.strip().upper() for code in collect_regions.split(",") if code.strip()
        )
        return cls(
            referrer=bool(collect & REFERRER),
            user_agent=bool(collect & USER_AGENT),
            screen_size=bool(collect & SCREEN_SIZE),
            country=bool(collect & (COUNTRY | REGION)),  # a region implies its country
            region_countries=regions if collect & REGION else frozenset(),
            sessions=bool(collect & SESSIONS),
        )

    def reduce(self, event: Event) -> None:
        """Forget what the site does not collect, on a new visit's first event."""
        if not self.referrer:
            for name, empty in _NO_ACQUISITION.items():
                setattr(event, name, empty)
            event.channel = sources.channel("", "", "", "", "")
        if not self.user_agent:
            event.browser = event.browser_version = event.os = event.os_version = ""
            event.device = ""
        if not self.screen_size:
            event.screen_width = 0
        if not self.country:
            event.country = ""
        if event.country not in self.region_countries:
            event.region, event.city = "", 0
