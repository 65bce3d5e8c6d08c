"""Synthetic but realistic traffic for one site, as NDJSON lines in the import format.

Used by `tinytrail demo` (a site to explore) and by the benchmark's data set (bench/generate.py).
Visitors have stable devices, software and places; each active day they get a fresh id (as a
daily salt gives) and one to five visits separated by more than the 30-minute visit timeout; a
visit is one to eight pageviews (45 % bounces) over Zipf-distributed pages, with a referrer
from about 300 sources or UTM tags (10 % of visits), and 5 % of all events are custom events
with props. Lines come in time order. Same seed, size and `now`: the same lines, byte for byte.
"""

from __future__ import annotations

import hashlib
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO, Generic, TypeVar

import msgspec

from tinytrail.demo import distributions as dist

T = TypeVar("T")
DAY = 86_400
VISIT_GAP_MIN = 31 * 60  # more than the 30-minute timeout: a new visit
ZIPF_PAGES = 1.07
ZIPF_TAIL = 1.2
HOME_ENTRY_SHARE = 0.3
CUSTOM_SHARE = 0.05

CORE_PAGES = (
    "/", "/pricing", "/features", "/blog", "/docs", "/about", "/signup", "/login", "/contact",
    "/changelog", "/integrations", "/customers", "/careers", "/security", "/privacy", "/terms",
)  # fmt: skip
_SLUG_WORDS = (
    "privacy", "analytics", "cookies", "gdpr", "dashboard", "metrics", "growth", "seo", "speed",
    "tracking", "events", "funnels", "goals", "api", "export", "import", "team", "launch",
    "guide", "tips", "release", "case", "study", "migration", "self-hosting", "docker", "scale",
)  # fmt: skip
_DOC_SECTIONS = ("getting-started", "tracking", "api", "reports", "self-hosting", "integrations")


class Picker(Generic[T]):
    """Draws from weighted values with one uniform number and a binary search."""

    def __init__(self, weighted: Sequence[tuple[T, float]]) -> None:
        self.values = [value for value, _ in weighted]
        self.cumulative: list[float] = []
        total = 0.0
        for _, weight in weighted:
            total += weight
            self.cumulative.append(total)
        self.total = total

    def __call__(self, rng: random.Random) -> T:
        index = bisect(self.cumulative, rng.random() * self.total)
        return self.values[min(index, len(self.values) - 1)]


def zipf(values: Sequence[T], exponent: float) -> Picker[T]:
    return Picker([(value, 1 / (rank + 1) ** exponent) for rank, value in enumerate(values)])


def page_paths(count: int, rng: random.Random) -> list[str]:
    """`count` distinct paths: the core pages first, then blog, docs and catalogue pages."""
    paths = list(CORE_PAGES[:count])
    seen = set(paths)
    rest: list[str] = []
    while len(paths) + len(rest) < count:
        kind = rng.random()
        words = "-".join(rng.sample(_SLUG_WORDS, 3))
        if kind < 0.5:
            path = f"/blog/{words}"
        elif kind < 0.8:
            path = f"/docs/{rng.choice(_DOC_SECTIONS)}/{words}"
        elif kind < 0.9:
            path = f"/integrations/{words.split('-')[0]}-{rng.randrange(100)}"
        else:
            path = f"/customers/{words.split('-')[1]}-{rng.randrange(100)}"
        if path not in seen:
            seen.add(path)
            rest.append(path)
    rng.shuffle(rest)
    return paths + rest


def _fragment(fields: dict[str, object]) -> bytes:
    """`,"key":value,...` for splicing into a JSON object; empty fields left out."""
    kept = {k: v for k, v in fields.items() if v not in ("", None, 0)}
    return b"," + msgspec.json.encode(kept)[1:-1] if kept else b""


@dataclass
class SiteStats:
    domain: str
    events: int = 0
    pageviews: int = 0
    custom_events: int = 0
    engagement_events: int = 0
    visits: int = 0
    bounces: int = 0
    utm_visits: int = 0
    visitor_days: int = 0
    pages: int = 0


class Pickers:
    """Every distribution of `distributions`, ready to draw."""

    def __init__(self) -> None:
        self.device = Picker(dist.DEVICES)
        self.os = {k: Picker(v) for k, v in dist.OS_BY_DEVICE.items()}
        self.os_version = {k: Picker(v) for k, v in dist.OS_VERSIONS.items()}
        self.browser = {k: Picker(v) for k, v in dist.BROWSERS_BY_OS.items()}
        self.browser_version = {k: Picker(v) for k, v in dist.BROWSER_VERSIONS.items()}
        self.country = Picker(dist.COUNTRIES)
        self.region = {
            k: Picker([((code, cities), w) for code, w, cities in v])
            for k, v in dist.REGIONS.items()
        }
        tail = dist.long_tail_hosts()
        tail_weights = [1 / (rank + 1) ** ZIPF_TAIL for rank in range(len(tail))]
        scale = dist.LONG_TAIL_WEIGHT / sum(tail_weights)
        self.referrer = Picker(
            [
                ("", dist.DIRECT_WEIGHT),
                *dist.SEARCH,
                *dist.SOCIAL,
                *((host, w * scale) for host, w in zip(tail, tail_weights, strict=True)),
            ]
        )
        self.campaign_source = Picker([(c[:3], c[3]) for c in dist.CAMPAIGN_SOURCES])
        self.campaign = zipf(dist.CAMPAIGNS, 1.0)
        self.pageviews = Picker(dist.PAGEVIEWS_PER_VISIT)
        self.visits = Picker(dist.VISITS_PER_VISITOR_DAY)
        self.hour = Picker(list(enumerate(dist.HOUR_WEIGHTS)))
        self.custom = Picker([((name, key, Picker([(v, 1) for v in values])), w)
                              for name, w, key, values in dist.CUSTOM_EVENTS])  # fmt: skip
        self.referrer_sources = 1 + len(dist.SEARCH) + len(dist.SOCIAL) + len(tail)


class SiteGenerator:
    """One site's traffic, day after day, written in time order."""

    def __init__(
        self, domain: str, events: int, days: int, now: int, seed: int, engagement: bool,
        page_count: int = 2000,
    ) -> None:  # fmt: skip
        self.domain = domain
        self.rng = random.Random(f"{seed}:{domain}")
        self.p = Pickers()
        self.days = days
        self.now = now
        self.engagement = engagement
        self.stats = SiteStats(domain)
        self.pages = page_paths(page_count, self.rng)
        self.stats.pages = len(self.pages)
        self.page_json = [b',"pathname":' + msgspec.json.encode(p) for p in self.pages]
        self.page_picker = zipf(range(len(self.pages)), ZIPF_PAGES)
        self.pricing = self.pages.index("/pricing") if "/pricing" in self.pages else -1
        self.targets = self._daily_targets(events)
        mean_events = 2.39 * 1.76 * (2 if engagement else 1)
        self.population = max(50, int(max(self.targets) / mean_events * 5))
        self.visitors: dict[int, bytes] = {}
        self.host = b',"hostname":' + msgspec.json.encode(domain)
        self.salt = hashlib.blake2b(f"{seed}:{domain}".encode(), digest_size=8).digest()
        # Custom events per multi-page visit, so that they make 5 % of all events.
        self.custom_rate = CUSTOM_SHARE / (1 - CUSTOM_SHARE) * 2.27 / 0.55

    def _daily_targets(self, events: int) -> list[float]:
        first = self.now - self.days * DAY
        weights = []
        for index in range(self.days):
            weekday = datetime.fromtimestamp(first + index * DAY, UTC).weekday()
            trend = 0.85 + 0.3 * index / max(1, self.days - 1)  # a growing site
            weights.append(dist.WEEKDAY_FACTORS[weekday] * trend)
        scale = events / sum(weights)
        return [w * scale for w in weights]

    # -- visitors and visits ----------------------------------------------------------------

    def _visitor(self, number: int) -> bytes:
        """A visitor's device, software and place, as a JSON fragment (drawn once, kept)."""
        cached = self.visitors.get(number)
        if cached is not None:
            return cached
        rng, p = self.rng, self.p
        device = p.device(rng)
        os = p.os[device](rng)
        browser = p.browser[os](rng)
        country = p.country(rng)
        region, city = "", 0
        if country in p.region and rng.random() < dist.LOCATED_SHARE:
            region, cities = p.region[country](rng)
            city = rng.choice(cities)
        fragment = _fragment(
            {
                "screen_size": device,
                "os": os,
                "os_version": p.os_version[os](rng),
                "browser": browser,
                "browser_version": p.browser_version[browser](rng),
                "country_code": country,
                "subdivision1_code": region,
                "city_geoname_id": city,
            }
        )
        self.visitors[number] = fragment
        return fragment

    def _acquisition(self) -> bytes:
        rng, p = self.rng, self.p
        if rng.random() < dist.UTM_SHARE:
            self.stats.utm_visits += 1
            source, medium, host = p.campaign_source(rng)
            fields: dict[str, object] = {
                "referrer": f"https://{host}/" if host else "",
                "utm_source": source,
                "utm_medium": medium,
                "utm_campaign": p.campaign(rng),
            }
            if rng.random() < 0.3:
                fields["utm_content"] = rng.choice(("banner", "textlink", "cta-top", "cta-footer"))
            if medium == "cpc":
                fields["utm_term"] = rng.choice(("web analytics", "privacy analytics", "gdpr"))
            return _fragment(fields)
        host = p.referrer(rng)
        if not host:
            return b""
        path = "" if rng.random() < 0.6 else f"{rng.randrange(1000)}"
        return _fragment({"referrer": f"https://{host}/{path}"})

    def _user_id(self, visitor: int, day: int) -> int:
        """The visitor's id of that day: it changes every day, as with a daily salt."""
        digest = hashlib.blake2b(
            visitor.to_bytes(8, "big") + day.to_bytes(4, "big"), digest_size=8, key=self.salt
        ).digest()
        return int.from_bytes(digest, "big") >> 1

    def _visit(self, start: int, head: bytes, tail: bytes, out: list[tuple[int, bytes]]) -> int:
        """Append one visit's lines; returns the time of its last event."""
        rng, p, stats = self.rng, self.p, self.stats
        count = p.pageviews(rng)
        pages = [0 if rng.random() < HOME_ENTRY_SHARE else self.page_picker(rng)]
        pages += [self.page_picker(rng) for _ in range(count - 1)]
        times = [start]
        for _ in range(count - 1):
            times.append(times[-1] + int(min(1700, max(2, rng.lognormvariate(3.6, 1.1)))))
        for ts, page in zip(times, pages, strict=True):
            out.append(
                (ts, head + b'"pageview","timestamp":"' + _iso(ts) + tail + self.page_json[page])
            )
            if self.engagement:
                depth = rng.choice((10, 25, 40, 60, 80, 100))
                extra = f',"scroll_depth":{depth},"engagement_time":{rng.randrange(500, 90000)}'
                line = head + b'"engagement","timestamp":"' + _iso(ts + 1) + tail
                out.append((ts + 1, line + self.page_json[page] + extra.encode()))
                stats.engagement_events += 1
        stats.visits += 1
        stats.pageviews += count
        if count == 1:
            stats.bounces += 1
            return times[-1]
        customs = int(self.custom_rate) + (rng.random() < self.custom_rate % 1)
        for _ in range(customs):
            self._custom(pages, times, head, tail, out)
        return times[-1] + 1

    def _custom(
        self, pages: list[int], times: list[int], head: bytes, tail: bytes,
        out: list[tuple[int, bytes]],
    ) -> None:  # fmt: skip
        rng = self.rng
        name, key, values = self.p.custom(rng)
        index = rng.randrange(len(pages))
        if name == "Signup" and self.pricing in pages:
            index = pages.index(self.pricing)
        ts = times[index] + 1
        value = values(rng)
        fields: dict[str, object] = {"props": {key: value}}
        if name == "Purchase":
            fields["revenue_reporting_amount"] = str(dist.PRICES[value])
            fields["revenue_reporting_currency"] = "USD"
        body = head + msgspec.json.encode(name) + b',"timestamp":"' + _iso(ts) + tail
        out.append((ts, body + self.page_json[pages[index]] + _fragment(fields)))
        self.stats.custom_events += 1

    # -- days -------------------------------------------------------------------------------

    def write(self, sink: BinaryIO) -> SiteStats:
        first = self.now - self.days * DAY
        carry: list[tuple[int, bytes]] = []
        for index, target in enumerate(self.targets):
            day_start = first + index * DAY
            lines = self._day(day_start, index, target)
            lines.extend(carry)
            lines.sort()
            day_end = day_start + DAY
            carry = [item for item in lines if item[0] >= day_end]
            today = [item for item in lines if item[0] < day_end]
            sink.writelines(line + b"}\n" for _, line in today)
            self.stats.events += len(today)
        # Visits running past `now` are cut there: the data set ends at `now`.
        return self.stats

    def _day(self, day_start: int, day: int, target: float) -> list[tuple[int, bytes]]:
        rng, p = self.rng, self.p
        out: list[tuple[int, bytes]] = []
        seen: set[int] = set()
        day_end = day_start + DAY
        while len(out) < target:
            visitor = rng.randrange(self.population)
            if visitor in seen:
                continue
            seen.add(visitor)
            self.stats.visitor_days += 1
            tail = self.host + self._visitor(visitor)
            head = b'{"user_id":%d,"name":' % self._user_id(visitor, day)
            start = day_start + p.hour(rng) * 3600 + rng.randrange(3600)
            for _ in range(p.visits(rng)):
                if start >= day_end:
                    break
                end = self._visit(start, head, self._acquisition() + tail, out)
                start = end + VISIT_GAP_MIN + int(rng.expovariate(1 / 7200))
        return out


_ISO_DAYS: dict[int, bytes] = {}


def _iso(ts: int) -> bytes:
    day, second = divmod(ts, DAY)
    prefix = _ISO_DAYS.get(day)
    if prefix is None:
        prefix = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT").encode()
        _ISO_DAYS[day] = prefix
    hour, rest = divmod(second, 3600)
    return prefix + b'%02d:%02d:%02d"' % (hour, rest // 60, rest % 60)
