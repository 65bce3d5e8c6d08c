"""Visits built at ingestion, Plausible's way (plausible-reference.md 4.2).

A visit is keyed by (site, visitor id). An event continues the visit when the gap since the
visit's last activity, in whole minutes, is at most the timeout (30): a gap of 30 min 59 s
continues, 31 min starts a new visit. Across midnight the visitor id changes with the salt, so
the ingestor also looks the visit up under the previous day's id; the visit then adopts the new
id. The first event's acquisition and device attributes become the visit's and are stamped on
every later event, so `visit:*` filters work on the event rows alone.
"""

from __future__ import annotations

import msgspec

from tinytrail.ingest.model import ENGAGEMENT, PAGEVIEW, SESSION_ATTRIBUTES, Event
from tinytrail.ingest.visitors import VisitorNumbers

MINUTE_US = 60_000_000


class Visit(msgspec.Struct, array_like=True, gc=False):
    session_id: int
    site_id: int
    visitor_id: int
    start: int  # µs
    last_activity: int  # µs, any event including engagement
    last_event: int  # µs, last non-engagement event (visit duration)
    pageviews: int
    events: int
    interactive_events: int
    is_bounce: bool
    entry_page: str
    exit_page: str
    entry_hostname: str
    exit_hostname: str
    is_bot: bool
    is_excluded: bool
    referrer: str
    referrer_source: str
    channel: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_content: str
    utm_term: str
    browser: str
    browser_version: str
    os: str
    os_version: str
    device: str
    country: str
    region: str
    city: int
    screen_width: int

    @property
    def duration_s(self) -> int:
        return max(0, (self.last_event - self.start) // 1_000_000)


VISIT_FIELDS: tuple[str, ...] = Visit.__struct_fields__


def start_visit(event: Event) -> Visit:
    is_page = event.name == PAGEVIEW
    page = event.pathname if is_page else ""
    host = event.hostname if is_page else ""
    attributes = {name: getattr(event, name) for name in SESSION_ATTRIBUTES}
    return Visit(
        session_id=event.session_id,
        site_id=event.site_id,
        visitor_id=event.visitor_id,
        start=event.ts,
        last_activity=event.ts,
        last_event=event.ts,
        pageviews=1 if is_page else 0,
        events=1,
        interactive_events=1 if event.interactive else 0,
        is_bounce=True,
        entry_page=page,
        exit_page=page,
        entry_hostname=host,
        exit_hostname=host,
        **attributes,
    )


def continues(visit: Visit, ts: int, timeout_min: int) -> bool:
    """Whether an event at `ts` belongs to `visit` (gaps counted in truncated whole minutes)."""
    if ts >= visit.last_activity:
        return (ts - visit.last_activity) // MINUTE_US <= timeout_min
    # A late event (imports, GoatCounter created_at) inside or just before the visit's span.
    return (visit.start - ts) // MINUTE_US <= timeout_min


def apply_event(visit: Visit, event: Event) -> None:
    """Fold a later event into its visit and stamp the visit's attributes onto the event."""
    for name in SESSION_ATTRIBUTES:
        setattr(event, name, getattr(visit, name))
    event.session_id = visit.session_id
    fold_event(visit, event)


def fold_event(visit: Visit, event: Event) -> None:
    """Fold a later event, already carrying the visit's attributes, into the visit."""
    # Comparisons rather than min() and max(): this runs for almost every event.
    ts = event.ts
    visit.visitor_id = event.visitor_id
    if ts > visit.last_activity:
        visit.last_activity = ts
    if event.name == ENGAGEMENT:
        return
    if ts < visit.start:
        visit.start = ts
    if ts > visit.last_event:
        visit.last_event = ts
    visit.events += 1
    if event.interactive:
        visit.interactive_events += 1
    if event.name == PAGEVIEW:
        visit.pageviews += 1
        if not visit.entry_page:
            visit.entry_page, visit.entry_hostname = event.pathname, event.hostname
        visit.exit_page, visit.exit_hostname = event.pathname, event.hostname
    # Plausible: a bounce is a visit with a single interactive event.
    visit.is_bounce = visit.interactive_events <= 1


class VisitBook:
    """Open visits by (site, visitor number), and the numbers of the visitors of recent days."""

    def __init__(self, timeout_min: int) -> None:
        self.timeout_min = timeout_min
        self.numbers = VisitorNumbers()
        self._open: dict[tuple[int, int], Visit] = {}
        self._by_id: dict[int, Visit] = {}
        # Visits displaced by a newer visit of the same visitor: closed at the next expiry.
        self._retired: list[Visit] = []

    def __len__(self) -> int:
        return len(self._open)

    def find(self, site_id: int, visitor_id: int, ts: int) -> Visit | None:
        visit = self._open.get((site_id, visitor_id))
        if visit is not None and continues(visit, ts, self.timeout_min):
            return visit
        return None

    def open(self, visit: Visit) -> None:
        self._file(visit)
        self._by_id[visit.session_id] = visit

    def rekey(self, visit: Visit, old_visitor_id: int) -> None:
        """After a visit adopted a new visitor id (midnight), index it under the new one."""
        if old_visitor_id != visit.visitor_id:
            if self._open.get((visit.site_id, old_visitor_id)) is visit:
                del self._open[(visit.site_id, old_visitor_id)]
            self._file(visit)

    def _file(self, visit: Visit) -> None:
        """Index a visit under its visitor; a visit it displaces has ended and is retired."""
        key = (visit.site_id, visit.visitor_id)
        old = self._open.get(key)
        if old is not None and old is not visit:
            self._by_id.pop(old.session_id, None)
            self._retired.append(old)
        self._open[key] = visit

    def expire(self, now_us: int) -> list[Visit]:
        """Remove and return visits idle longer than the timeout (plus a minute of slack)."""
        cutoff = now_us - (self.timeout_min + 1) * MINUTE_US
        closed = [v for v in self._by_id.values() if v.last_activity < cutoff]
        closed += self._retired
        self._retired = []
        for visit in closed:
            self._by_id.pop(visit.session_id, None)
            key = (visit.site_id, visit.visitor_id)
            if self._open.get(key) is visit:
                del self._open[key]
        return closed

    def drop_sites(self, site_ids: set[int]) -> None:
        for key in [k for k in self._open if k[0] in site_ids]:
            visit = self._open.pop(key)
            self._by_id.pop(visit.session_id, None)

    def all(self) -> list[Visit]:
        return list(self._by_id.values())
