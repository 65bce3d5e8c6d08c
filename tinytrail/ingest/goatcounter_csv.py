"""GoatCounter's CSV export format, version 2 (goatcounter-reference.md 4.5): write and import.

Writing turns stored events into rows: the hit id is the event's `seq`, the Session column is
the event's (day-scoped, salted) visitor id, and no IP or User-Agent is ever written (the store
holds neither). Importing decodes rows into `Hit`s that run through the same pipeline as live
traffic, via the raw-event `Importer` (its own visit book, no write-ahead log).
"""

from __future__ import annotations

import csv
import hashlib
import secrets
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, Protocol

from tinytrail.ingest import goatcounter_rules as rules
from tinytrail.ingest.importer import (
    Importer,
    ImportSummary,
    LineError,
    checked_moment,
    split_lines,
)
from tinytrail.ingest.model import NON_INTERACTIVE, PAGEVIEW, Hit
from tinytrail.ingest.sessions import VisitBook
from tinytrail.ingest.sites import SiteRules
from tinytrail.ingest.sources import source_category

if TYPE_CHECKING:
    from tinytrail.runtime import Runtime

VERSION = "2"
COLUMNS = (
    "Path",
    "Title",
    "Event",
    "UserAgent",
    "Browser",
    "System",
    "Session",
    "Bot",
    "Referrer",
    "Referrer scheme",
    "Screen size",
    "Location",
    "FirstVisit",
    "Date",
)
HEADER = [VERSION + COLUMNS[0], *COLUMNS[1:]]  # the version is glued to the first name
BATCH = 5000
# Tracker signals (engagement, scroll depth, ...) are not hits in GoatCounter's sense.
SKIPPED_NAMES = tuple(sorted(NON_INTERACTIVE))
_TRUE = frozenset({"1", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "n", "no"})

PathKey = tuple[bool, str]
Titles = Callable[[set[PathKey]], dict[PathKey, str]]


class CSVFormatError(ValueError):
    """The file as a whole cannot be imported (wrong version or header)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line, self.message = line, message


# -- writing --------------------------------------------------------------------------------


def referrer_of(event: dict[str, Any]) -> tuple[str, str]:
    """An event's acquisition as GoatCounter's (Referrer, Referrer scheme)."""
    referrer, source = event["referrer"], event["referrer_source"]
    if event["utm_source"] or event["utm_campaign"]:
        return event["utm_source"] or source or referrer, "c"
    if referrer:
        # A known source (google.com -> Google) is a generated group; any other keeps its URL.
        if source and not referrer.startswith(source):
            return source, "g"
        return referrer, "h"
    if source:
        return source, "g" if source_category(source) else "o"
    return "", "o"


def _with_version(name: str, version: str) -> str:
    return f"{name} {version}".strip()


def export_row(event: dict[str, Any], title: str) -> list[str]:
    is_event = event["name"] != PAGEVIEW
    referrer, scheme = referrer_of(event)
    moment: datetime = event["ts"]
    return [
        event["name"] if is_event else event["pathname"],
        title,
        "1" if is_event else "0",
        "",  # UserAgent: never stored, never exported
        _with_version(event["browser"], event["browser_version"]),
        _with_version(event["os"], event["os_version"]),
        f"0-{event['visitor_id']:x}",
        "0",  # bots are not exported, as upstream keeps them out of its hits table
        referrer,
        scheme,
        f"{event['screen_width']},0,1",
        event["region"] or event["country"],
        "1" if event["first_in_visit"] else "0",
        moment.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ]


class EventSource(Protocol):
    """Where the writer reads events from: the event store's `export_events`."""

    def export_events(
        self, site_id: int, after_seq: int, limit: int, skip_names: Sequence[str] = ()
    ) -> list[dict[str, Any]]: ...


def write_export(
    store: EventSource, site_id: int, after_seq: int, out: IO[str], titles: Titles
) -> tuple[int, int | None]:
    """Write the header and every event after `after_seq`; returns (rows, last hit id)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    rows, last = 0, None
    while True:
        batch = store.export_events(site_id, after_seq, BATCH, SKIPPED_NAMES)
        if not batch:
            return rows, last
        keys = {_key(event) for event in batch}
        known = titles(keys)
        for event in batch:
            writer.writerow(export_row(event, known.get(_key(event), "")))
        rows += len(batch)
        last = after_seq = int(batch[-1]["seq"])


def _key(event: dict[str, Any]) -> PathKey:
    is_event = event["name"] != PAGEVIEW
    return is_event, event["name"] if is_event else event["pathname"]


# -- importing ------------------------------------------------------------------------------


def gunzip_if_needed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The stream itself, or its decompressed content when it starts with gzip's magic."""
    stream = iter(chunks)
    first = next(stream, b"")
    if not first.startswith(b"\x1f\x8b"):
        if first:
            yield first
        yield from stream
        return
    inflater = zlib.decompressobj(wbits=47)
    for chunk in _chain(first, stream):
        out = inflater.decompress(chunk)
        if out:
            yield out
    tail = inflater.flush()
    if tail:
        yield tail


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _text_lines(chunks: Iterable[bytes]) -> Iterator[str]:
    for line in split_lines(chunks):
        yield line.decode("utf-8", "surrogateescape") + "\n"


def _boolean(value: str, column: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise LineError(f"{column} must be a boolean (0 or 1), not {value[:20]!r}")


def _split_version(text: str) -> tuple[str, str]:
    name, _, version = text.strip().rpartition(" ")
    if name and version[:1].isdigit():
        return name, version
    return text.strip(), ""


def _device(width: int) -> str:
    """Plausible's device classes by screen width, for rows that carry no User-Agent."""
    if not width:
        return ""
    for limit, device in ((576, "Mobile"), (992, "Tablet"), (1440, "Laptop")):
        if width < limit:
            return device
    return "Desktop"


def decode_row(row: list[str], site: SiteRules, now: datetime) -> tuple[Hit, str]:
    """One CSV record as a Hit and its title, or LineError naming the bad column."""
    if len(row) != len(COLUMNS):
        raise LineError(f"wrong number of fields: {len(row)} (want: {len(COLUMNS)})")
    for value in row:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise LineError("the line is not valid UTF-8") from None
    (path, title, event_text, agent, browser, system, session, bot_text, ref, scheme) = row[:10]
    size, location, first_visit, date_text = row[10:]
    event = _boolean(event_text, "Event")
    _boolean(first_visit, "FirstVisit")  # validated as upstream does; visits are rebuilt
    try:
        bot = int(bot_text.strip() or "0")
    except ValueError:
        raise LineError(f"Bot must be an integer, not {bot_text[:20]!r}") from None
    try:
        moment = datetime.fromisoformat(date_text.strip())
        if moment.tzinfo is None:
            raise ValueError(date_text)
    except ValueError:
        raise LineError(f"Date must be an RFC 3339 date and time, not {date_text[:40]!r}") from None
    moment = checked_moment(moment, now, "Date")
    if scheme not in ("", "h", "g", "c", "o"):
        raise LineError(f"Referrer scheme must be one of h, g, c, o; not {scheme[:5]!r}")
    try:
        width = rules.screen_width(rules.parse_size(size)) if size.strip() else 0
    except ValueError:
        raise LineError(f"Screen size must be numbers, not {size[:40]!r}") from None
    cleaned = rules.clean_path(path, event)
    problems = rules.validate_hit(cleaned, title, ref, agent, event)
    if problems:
        raise LineError(rules.validation_message(problems).strip())
    preset = _preset(location, browser, system, agent, width, session)
    referrer, utm, source = _acquisition(ref.strip(), scheme)
    if source:
        preset["referrer_source"] = source
    hit = Hit(
        site_id=site.id,
        name=cleaned if event else PAGEVIEW,
        timestamp=moment,
        hostname=site.domain,
        pathname="/" if event else cleaned,
        ip="",
        user_agent=agent,
        referrer=referrer,
        utm_overrides=utm,
        screen_width=width,
        bot_hint=bot > 0,
        preset=preset,
    )
    return hit, title


def _preset(
    location: str, browser: str, system: str, agent: str, width: int, session: str
) -> dict[str, str | int]:
    """The enrichment a row carries, by Event field, for the pipeline to apply."""
    preset: dict[str, str | int] = rules.location_preset(location) if location else {}
    for fields, text in ((("browser", "browser_version"), browser), (("os", "os_version"), system)):
        if text.strip():
            preset.update(zip(fields, _split_version(text), strict=True))
    if not agent and _device(width):
        preset["device"] = _device(width)
    # Session strings name a visitor: hashed to a stable id, scoped per day by the pipeline.
    key = session.strip() or secrets.token_hex(16)
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    preset["visitor_id"] = int.from_bytes(digest, "big")
    return preset


def _acquisition(ref: str, scheme: str) -> tuple[str, dict[str, str], str]:
    """(referrer URL, utm overrides, source) for a row's Referrer and its scheme."""
    if not ref:
        return "", {}, ""
    if scheme == "h":
        return (ref if "://" in ref else "https://" + ref), {}, ""
    if scheme == "c":
        return "", {"utm_source": ref}, ""
    # A group name or free text names the visit's source; not a campaign tag (utm_source).
    return "", {}, ref


class GoatCounterImporter(Importer):
    """The raw-event importer, fed from GoatCounter CSV records instead of NDJSON lines."""

    @classmethod
    def of(cls, runtime: Runtime) -> GoatCounterImporter:
        settings = runtime.settings
        return cls(runtime.ingestor, runtime.store, runtime.clock, settings.session_timeout_min)

    def import_csv(
        self,
        site: SiteRules,
        chunks: Iterable[bytes],
        remember_titles: Callable[[list[tuple[bool, str, str]]], None] | None = None,
    ) -> ImportSummary:
        summary = ImportSummary()
        book = VisitBook(self.timeout_min)
        now = self.clock()
        reader = csv.reader(_text_lines(gunzip_if_needed(chunks)))
        self._check_header(next(reader, None))
        hits: list[Hit] = []
        titles: dict[PathKey, str] = {}
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                summary.reject(reader.line_num, f"malformed CSV: {exc}")
                continue
            if not any(cell.strip() for cell in row):
                continue
            try:
                hit, title = decode_row(row, site, now)
            except LineError as exc:
                summary.reject(reader.line_num, str(exc))
                continue
            hits.append(hit)
            if title:
                titles.setdefault(_key({"name": hit.name, "pathname": hit.pathname}), title)
            if len(hits) >= self.batch_size:
                summary.loaded += self._commit(hits, book, final=False)
                hits = []
        summary.loaded += self._commit(hits, book, final=True)
        if remember_titles is not None and titles:
            remember_titles([(event, path, title) for (event, path), title in titles.items()])
        return summary

    def _check_header(self, header: list[str] | None) -> None:
        if not header:
            raise CSVFormatError(1, "the file is empty: expected GoatCounter's CSV header")
        first = header[0].lstrip("\ufeff")
        if not first.startswith(VERSION):
            version = first[:1] or "(none)"
            raise CSVFormatError(
                1, f"wrong version of CSV database: {version} (expected: {VERSION})"
            )
        if [first[len(VERSION) :], *header[1:]] != list(COLUMNS):
            raise CSVFormatError(1, "unexpected header: expected " + ",".join(HEADER))
