"""Query parameters of GoatCounter's stats endpoints, turned into engine filters and ranges.

Dates are `YYYY-MM-DD` (whole days in the site's timezone) or RFC 3339 instants; the default is
the start of the day a week ago to the end of today. `include_paths`/`exclude_paths` name path
ids (or, with `path_by_name`, paths matched case-insensitively) and become engine filters.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tinytrail.api.goatcounter.auth import Call
from tinytrail.api.goatcounter.common import error
from tinytrail.ingest.model import NON_INTERACTIVE, PAGEVIEW
from tinytrail.meta.models import GoatCounterPath, Site
from tinytrail.query import periods
from tinytrail.query.model import And, Filter, Node, Not, Or, Query, Result, SiteContext
from tinytrail.query.periods import DateRange

PAGEVIEWS = Filter("is", "event:name", (PAGEVIEW,))
# Tracker signals (engagement, scroll depth) are no GoatCounter hits; neither are pageviews
# when events are counted.
NOT_SIGNALS = Filter("is_not", "event:name", tuple(sorted(NON_INTERACTIVE)))
EVENTS = Filter("is_not", "event:name", (PAGEVIEW, *sorted(NON_INTERACTIVE)))
NOTHING = Filter("is", "event:name", ())
GROUPS = {"hour": 0, "day": 1, "week": 2, "month": 3, "0": 0, "1": 1, "2": 2, "3": 3}


@dataclass
class StatsParams:
    site: Site
    context: SiteContext
    range: DateRange
    filters: tuple[Node, ...]
    limit: int
    offset: int
    group: int
    values: dict[str, str]


def _date(value: str, name: str) -> date | datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError(text)
        return periods.clamp_instant(moment)  # an offset may take it off the calendar
    except ValueError:
        raise error(
            400, f'invalid query parameters: {name}: cannot parse "{text}" as a date'
        ) from None


def _range(values: dict[str, str], context: SiteContext, now: datetime) -> DateRange:
    """The requested range; an end after today is read as today, as no data lies beyond it
    (upstream answers an end like 9999-12-31 with no data after today), or, for a range that
    starts after today, as its first day."""
    tz = context.timezone
    today = now.astimezone(tz).date()
    start = _date(values["start"], "start") if values.get("start") else None
    end = _date(values["end"], "end") if values.get("end") else None
    start = start if start is not None else today - timedelta(days=7)
    end = end if end is not None else today
    if isinstance(start, datetime) or isinstance(end, datetime):
        first = start if isinstance(start, datetime) else _day_start(start, tz, True)
        last = end if isinstance(end, datetime) else _day_start(end, tz, False)
        if last < first:
            raise error(400, "end is before start")
        found = periods.from_instants(first, last, tz)
        horizon = max(today, found.first)
        if found.last <= horizon:
            return found
        return periods.from_instants(found.start, _day_start(horizon, tz, False), tz)
    if end < start:
        raise error(400, "end is before start")
    return periods.from_dates(start, min(end, max(today, start)), tz)


def _day_start(day: date, tz: ZoneInfo, is_start: bool) -> datetime:
    at = time(0) if is_start else time(23, 59, 59)
    return periods.local_to_utc(day, at, tz, is_start=is_start)


def integer(values: dict[str, str], name: str, default: int) -> int:
    text = values.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise error(400, f'invalid query parameters: {name}: invalid number "{text}"') from None


def truthy(values: dict[str, str], name: str) -> bool:
    return values.get(name, "").strip().lower() in ("1", "t", "true", "on", "y", "yes")


async def path_rows(
    call: Call, site: Site, raw: str, by_name: bool, param: str = "include_paths"
) -> list[GoatCounterPath]:
    items = [part.strip() for part in raw.split(",") if part.strip()]
    repo = call.runtime.goatcounter.repo
    if by_name:
        return await asyncio.to_thread(repo.paths_by_name, site.id, items)
    ids = []
    for item in items:
        if not item.isdigit():
            raise error(400, f"invalid number in {param}: {item}")
        ids.append(int(item))
    return await asyncio.to_thread(repo.paths_by_id, site.id, ids)


def path_filter(rows: list[GoatCounterPath]) -> Node:
    """Events of these paths: page paths among pageviews, names among events."""
    pages = tuple(row.path for row in rows if not row.event)
    names = tuple(row.path for row in rows if row.event)
    parts: list[Node] = []
    if pages:
        parts.append(And((PAGEVIEWS, Filter("is", "event:page", pages))))
    if names:
        parts.append(Filter("is", "event:name", names))
    if not parts:
        return NOTHING
    return parts[0] if len(parts) == 1 else Or(tuple(parts))


async def parse(call: Call, allowed: tuple[str, ...], max_limit: int = 100) -> StatsParams:
    values = call.query
    for name in values:
        if name not in allowed:
            raise error(400, f'unknown parameter: "{name}"')
    site = call.site()
    context = call.runtime.site_context(site.id)
    date_range = _range(values, context, call.runtime.clock())
    by_name = truthy(values, "path_by_name")
    filters: list[Node] = [NOT_SIGNALS]
    if values.get("include_paths", "").strip():
        rows = await path_rows(call, site, values["include_paths"], by_name)
        filters.append(path_filter(rows))
    if values.get("exclude_paths", "").strip():
        rows = await path_rows(call, site, values["exclude_paths"], by_name, "exclude_paths")
        if rows:
            filters.append(Not(path_filter(rows)))
    group_text = values.get("group", "").strip().lower()
    if group_text and group_text not in GROUPS:
        raise error(400, f'invalid query parameters: group: unknown value "{group_text}"')
    group = GROUPS.get(group_text, 1 if truthy(values, "daily") else 0)
    limit = max(1, min(integer(values, "limit", 20), max_limit))
    offset = max(0, integer(values, "offset", 0))
    return StatsParams(site, context, date_range, tuple(filters), limit, offset, group, values)


async def run(
    call: Call, params: StatsParams, dimensions: tuple[str, ...], *filters: Node
) -> Result:
    """Visitors by `dimensions`, on the engine every API shares, off the event loop."""
    query = Query(
        site=params.context,
        metrics=("visitors",),
        date_range=params.range,
        dimensions=dimensions,
        filters=(*params.filters, *filters),
    )
    return await asyncio.to_thread(call.runtime.engine.run, query)
