"""Importing raw historical events: newline-delimited JSON with Plausible's column names.

Each line is decoded and validated whole into a `Hit` before anything of it is kept, so a bad
line is skipped entirely (and reported by its number) and never half-loaded. Good lines run
through the same pipeline as live traffic (`Ingestor.ingest_into`), in file order, into one
visit book private to the import: sessions follow the live rules, but imported visits never mix
with live ones. The write-ahead log is bypassed: lines are streamed and each batch goes to the
store in one transaction of its own, so memory stays bounded however long the file is.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec

from tinytrail.ingest.model import PAGEVIEW, TINYTRAIL_PAGE_VIEW, Event, Hit
from tinytrail.ingest.pipeline import UTM_FIELDS, Ingestor
from tinytrail.ingest.sessions import Visit, VisitBook
from tinytrail.ingest.sites import SiteRules, SitesCache
from tinytrail.ingest.urls import clean_path, split_url
from tinytrail.storage.duckdb_store import DuckDBStore
from tinytrail.timeutil import utc_date

if TYPE_CHECKING:
    from tinytrail.runtime import Runtime

MAX_LINE_BYTES = 1 << 20  # a longer line is skipped, and never buffered beyond this
MAX_NAME = 120
MAX_TEXT = 2000  # referrer, user agent, URL, pathname
MAX_ATTRIBUTE = 500  # utm_*, browser, os, region, ...
MAX_PROPS = 30
MAX_PROP_KEY = 300
MAX_PROP_VALUE = 2000
MAX_ERRORS = 100  # messages kept in a summary; every bad line is still counted
BATCH_SIZE = 50_000  # lines per store commit
INGEST_CHUNK = 1_000  # hits per hold of the ingestor's lock, so live collectors keep flowing
FUTURE_SLACK = timedelta(minutes=1)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
U64 = (1 << 64) - 1
U32 = (1 << 32) - 1

# Plausible's `screen_size` values, whatever their case, in the spelling its reports use.
DEVICES = {name.lower(): name for name in ("Desktop", "Laptop", "Tablet", "Mobile")}
# Plain string columns copied onto the event, by Plausible column -> Event field.
PRESET_TEXT = {
    "referrer_source": "referrer_source",
    "browser": "browser",
    "browser_version": "browser_version",
    "os": "os",
    "os_version": "os_version",
    "subdivision1_code": "region",
}
# Plausible's operating system names (UAInspector's) as collected traffic names them (ua-parser,
# tinytrail/ingest/useragent.py), so imported and collected visits share a row.
OS_NAMES = {"mac": "macOS", "gnu/linux": "Linux", "chrome os": "ChromeOS"}


class LineError(ValueError):
    """Why one line cannot be imported; names the field, never echoes its value."""


@dataclass
class ImportSummary:
    loaded: int = 0
    skipped: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)

    def reject(self, line_no: int, message: str) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append((line_no, message))


def find_site(sites: SitesCache, ref: str) -> SiteRules | None:
    """The site an import names: by website UUID, else by domain."""
    ref = ref.strip()
    try:
        return sites.by_uuid(str(uuid.UUID(ref)))
    except ValueError:
        return sites.by_domain(ref) if ref else None


# -- field readers: each returns None for an absent or null field ---------------------------


def _text(obj: dict[str, Any], name: str, limit: int = MAX_ATTRIBUTE) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise LineError(f"{name} must be a string")
    if len(value) > limit:
        raise LineError(f"{name} must be at most {limit} characters")
    return value


def _integer(obj: dict[str, Any], name: str, low: int, high: int) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    # ClickHouse quotes 64-bit integers in JSON output, so digit strings are numbers too.
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise LineError(f"{name} must be an integer")
    if not low <= value <= high:
        raise LineError(f"{name} must be between {low} and {high}")
    return value


def _number(obj: dict[str, Any], name: str) -> float | None:
    value = obj.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):  # ClickHouse renders Decimal columns as strings
        try:
            value = float(value)
        except ValueError:
            raise LineError(f"{name} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LineError(f"{name} must be a number")
    if not math.isfinite(value) or abs(value) >= 1e15:
        raise LineError(f"{name} is out of range")
    return float(value)


# -- the line decoder -----------------------------------------------------------------------


def decode_line(obj: Any, site: SiteRules, now: datetime | None = None) -> Hit:
    """One parsed JSON line as a Hit for `site`, or LineError saying which field is wrong."""
    if not isinstance(obj, dict):
        raise LineError("each line must be a JSON object")
    name = _name(obj)
    timestamp = _timestamp(obj, now or datetime.now(UTC))
    hostname, pathname, params = _page(obj, site)
    ip, user_agent = _client(obj)
    preset = _preset(obj)
    visitor = _visitor_id(obj)
    if visitor is None and not ip and not user_agent:
        # No identity at all: the event stands alone rather than merging with every other
        # anonymous line into one giant visitor.
        visitor = secrets.randbits(64)
    if visitor is not None:
        preset["visitor_id"] = visitor
    return Hit(
        site_id=site.id,
        name=name,
        timestamp=timestamp,
        hostname=hostname,
        pathname=pathname,
        ip=ip,
        user_agent=user_agent,
        referrer=_referrer(obj),
        params=params,
        utm_overrides=_utm(obj),
        props=_props(obj),
        revenue_amount=_number(obj, "revenue_reporting_amount"),
        revenue_currency=_currency(obj),
        scroll_depth=_scroll_depth(obj),
        engagement_ms=_integer(obj, "engagement_time", 0, U32),
        preset=preset,
    )


def _name(obj: dict[str, Any]) -> str:
    name = _text(obj, "name", MAX_NAME)
    if name is None or not name.strip():
        raise LineError("name is required")
    name = name.strip()
    # TinyTrail's own spelling of the pageview, so its exports import as pageviews.
    return PAGEVIEW if name == TINYTRAIL_PAGE_VIEW else name


def _timestamp(obj: dict[str, Any], now: datetime) -> datetime:
    text = _text(obj, "timestamp", 64)
    if text is None:
        raise LineError("timestamp is required")
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise LineError("timestamp must be an ISO 8601 date and time") from None
    # Plausible exports UTC without an offset.
    return checked_moment(moment, now, "timestamp")


def checked_moment(moment: datetime, now: datetime, column: str) -> datetime:
    """The moment in UTC, refused when in the future or before 1970 (naive means UTC)."""
    try:
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # an offset that takes it off the calendar (year 1 or 9999)
        raise LineError(f"{column} must be after 1970-01-01 and not in the future") from None
    if moment > now + FUTURE_SLACK:
        raise LineError(f"{column} is in the future")
    if moment < EARLIEST:
        raise LineError(f"{column} must be after 1970-01-01")
    return moment


def _page(obj: dict[str, Any], site: SiteRules) -> tuple[str, str, dict[str, str]]:
    """Hostname, pathname and query parameters; explicit columns win over `url`."""
    url = _text(obj, "url", MAX_TEXT)
    hostname = _text(obj, "hostname", 255)
    pathname = _text(obj, "pathname", MAX_TEXT)
    page = split_url(url) if url else None
    if hostname:
        hostname = hostname.strip().lower().removeprefix("www.")
    host = hostname or (page.hostname if page else "") or site.domain
    path = clean_path(pathname) if pathname else (page.pathname if page else "/")
    return host, path, page.params if page else {}


def _client(obj: dict[str, Any]) -> tuple[str, str]:
    """The raw IP and User-Agent, for enrichment in memory only (never stored)."""
    ip = (_text(obj, "ip", 64) or "").strip()
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise LineError("ip must be an IPv4 or IPv6 address") from None
    return ip, _text(obj, "user_agent", MAX_TEXT) or ""


def _visitor_id(obj: dict[str, Any]) -> int | None:
    value = obj.get("user_id")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise LineError("user_id must be an integer or a string")
    if isinstance(value, int):
        return value & U64  # Plausible's ids are UInt64; negative Int64 renderings wrap
    if value.isascii() and value.isdigit() and int(value) <= U64:
        return int(value)  # a quoted UInt64 (ClickHouse's JSON output)
    # Any other string is hashed to a stable 64-bit id: the same user_id, the same visitor.
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


def _referrer(obj: dict[str, Any]) -> str:
    """The referrer as a URL for the pipeline to clean and name a source from.

    Plausible exports referrers already cleaned (`t.co/abc`, no scheme); given a scheme they
    clean the same way, so one rule serves both.
    """
    referrer = (_text(obj, "referrer", MAX_TEXT) or "").strip()
    if referrer and "://" not in referrer:
        referrer = "https://" + referrer
    return referrer


def _utm(obj: dict[str, Any]) -> dict[str, str]:
    utm = {name: _text(obj, name) for name in UTM_FIELDS}
    return {name: value for name, value in utm.items() if value}


def _preset(obj: dict[str, Any]) -> dict[str, str | int]:
    """Enrichment the line carries, by Event field name.

    Blank columns are left out: the pipeline then derives the field from `user_agent`, `ip`
    or `referrer` when the line has them, and leaves it empty otherwise.
    """
    preset: dict[str, str | int] = {}
    for column, event_field in PRESET_TEXT.items():
        value = (_text(obj, column) or "").strip()
        if value:
            preset[event_field] = value
    if "os" in preset:
        preset["os"] = OS_NAMES.get(str(preset["os"]).lower(), preset["os"])
    device = (_text(obj, "screen_size") or _text(obj, "device") or "").strip()
    if device:
        preset["device"] = DEVICES.get(device.lower(), device)
    country = _country(obj)
    if country:
        preset["country"] = country
    city = _integer(obj, "city_geoname_id", 0, U32)
    if city:
        preset["city"] = city
    return preset


def _country(obj: dict[str, Any]) -> str:
    code = _text(obj, "country_code", 8) or ""
    # Plausible stores an unknown country as two NUL bytes (FixedString) and ignores `ZZ`.
    code = code.strip("\x00 ").upper()
    if code in ("", "ZZ"):
        return ""
    if len(code) != 2 or not code.isascii() or not code.isalnum():
        raise LineError("country_code must be a two-letter ISO 3166-1 code")
    return code


def _currency(obj: dict[str, Any]) -> str:
    currency = (_text(obj, "revenue_reporting_currency", 8) or "").strip().upper()
    if currency and (len(currency) != 3 or not currency.isascii() or not currency.isalpha()):
        raise LineError("revenue_reporting_currency must be a three-letter ISO 4217 code")
    return currency


def _scroll_depth(obj: dict[str, Any]) -> int | None:
    depth = _integer(obj, "scroll_depth", 0, 255)
    # Plausible writes 255 (and its queries ignore anything over 100) when nothing was measured.
    return depth if depth is None or depth <= 100 else None


def _props(obj: dict[str, Any]) -> dict[str, str]:
    value = obj.get("props")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LineError("props must be an object")
    props: dict[str, str] = {}
    for key, raw in value.items():
        if raw is None or raw == "":
            continue
        if isinstance(raw, dict | list):
            raise LineError("props values must be strings, numbers or booleans")
        text = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
        if len(key) > MAX_PROP_KEY or len(text) > MAX_PROP_VALUE:
            raise LineError(
                f"props keys are limited to {MAX_PROP_KEY} characters, values to {MAX_PROP_VALUE}"
            )
        props[key] = text
    if len(props) > MAX_PROPS:
        raise LineError(f"props may hold at most {MAX_PROPS} properties")
    return props


# -- streaming lines ------------------------------------------------------------------------


def split_lines(chunks: Iterable[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """Lines of a byte stream, keeping at most `limit + 1` bytes of each.

    An over-long line comes out cut just past the limit (so it is recognised and skipped)
    instead of being buffered whole: a file without newlines cannot exhaust memory.
    """
    pending = bytearray()
    for chunk in chunks:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            _keep(pending, chunk, start, end, limit)
            yield bytes(pending)
            pending.clear()
            start = end + 1
        _keep(pending, chunk, start, len(chunk), limit)
    if pending:
        yield bytes(pending)


def _keep(pending: bytearray, chunk: bytes, start: int, end: int, limit: int) -> None:
    room = limit + 1 - len(pending)
    if room > 0:
        pending += chunk[start : min(end, start + room)]


# -- the importer ---------------------------------------------------------------------------


END_OF_TIME = 2**62  # microseconds, far beyond any event


class Importer:
    def __init__(
        self,
        ingestor: Ingestor,
        store: DuckDBStore,
        clock: Callable[[], datetime],
        timeout_min: int,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.ingestor = ingestor
        self.store = store
        self.clock = clock
        self.timeout_min = timeout_min
        self.batch_size = batch_size

    @classmethod
    def of(cls, runtime: Runtime) -> Importer:
        return cls(
            runtime.ingestor, runtime.store, runtime.clock, runtime.settings.session_timeout_min
        )

    def import_lines(self, site: SiteRules, lines: Iterable[bytes | str]) -> ImportSummary:
        summary = ImportSummary()
        book = VisitBook(self.timeout_min)
        now = self.clock()
        hits: list[Hit] = []
        for line_no, line in enumerate(lines, start=1):
            hit = self._decode(line_no, line, site, now, summary)
            if hit is not None:
                hits.append(hit)
            if len(hits) >= self.batch_size:
                summary.loaded += self._commit(hits, book, final=False)
                hits = []
        summary.loaded += self._commit(hits, book, final=True)
        return summary

    def _decode(
        self,
        line_no: int,
        line: bytes | str,
        site: SiteRules,
        now: datetime,
        summary: ImportSummary,
    ) -> Hit | None:
        if not line.strip():
            return None  # blank lines (a trailing newline, spacing) are no events
        if len(line) > MAX_LINE_BYTES:
            summary.reject(line_no, f"line is longer than {MAX_LINE_BYTES} bytes")
            return None
        try:
            obj = msgspec.json.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            summary.reject(line_no, "malformed JSON (or not UTF-8)")
            return None
        try:
            return decode_line(obj, site, now)
        except LineError as exc:
            summary.reject(line_no, str(exc))
            return None

    def _commit(self, hits: list[Hit], book: VisitBook, final: bool) -> int:
        """Ingest and store one batch; returns how many events it stored."""
        events: list[Event] = []
        for start in range(0, len(hits), INGEST_CHUNK):
            events += self.ingestor.ingest_into(hits[start : start + INGEST_CHUNK], book)
        # At the end every visit is over: expiring "at the end of time" closes them all,
        # including visits a newer visit of the same visitor displaced.
        closed, running = (book.expire(END_OF_TIME), []) if final else self._settle(events, book)
        if events or closed or running:
            self.store.commit_batch(events, running, closed, None)
        return len(events)

    def _settle(self, events: list[Event], book: VisitBook) -> tuple[list[Visit], list[Visit]]:
        """Visits over by this batch's newest event, and the running ones it changed.

        The running ones are stored as open visits so that, should the import die, the server
        closes them at its next start instead of leaving their events without a visit.
        """
        if not events:
            return [], []
        closed = book.expire(max(event.ts for event in events))
        # A file in time order (as every export is) never needs the visitor numbers of days
        # well behind this batch again: forgetting them bounds an import's memory. A row more
        # than two days older than the batch before it counts its visitor anew.
        book.numbers.forget_before(utc_date(min(event.ts for event in events)) - timedelta(days=2))
        changed = {event.session_id for event in events}
        return closed, [visit for visit in book.all() if visit.session_id in changed]
