"""`/api/v0/paths`, `/stats/total`, `/stats/hits`, `/stats/hits/{path_id}` (reference 7).

Answered by the shared query engine: every count is the engine's `visitors` metric, so these
numbers agree with the Plausible and TinyTrail APIs for the same site and range. Paths get
GoatCounter's stable integer ids from `goatcounter_paths`, allocated when first listed.
"""

from __future__ import annotations

import asyncio
import heapq
from datetime import date, timedelta
from typing import Any

from starlette.responses import Response

from tinytrail.api.goatcounter import stats_params as sp
from tinytrail.api.goatcounter.auth import Call, api
from tinytrail.api.goatcounter.common import error, field_errors, not_found
from tinytrail.api.http import JSON
from tinytrail.ingest.goatcounter_csv import referrer_of
from tinytrail.meta.goatcounter import GoatCounterRepo
from tinytrail.meta.models import Site
from tinytrail.query import periods, registry
from tinytrail.query.model import Filter, Query, Result

PathKey = tuple[bool, str]
RANGE = ("start", "end")


def counts(result: Result) -> dict[tuple[object, ...], int]:
    return {row.dimensions: int(str(row.metrics[0])) for row in result.rows}


async def sync_paths(call: Call, site: Site) -> dict[PathKey, int]:
    """Give every page and event name the site has ever had a path id."""
    context = call.runtime.site_context(site.id)
    today = call.runtime.clock().astimezone(context.timezone).date()
    everything = periods.from_dates(context.stats_start or today, today, context.timezone)
    keys: set[PathKey] = set()
    for event, dimension, only in (
        (False, "event:page", sp.PAGEVIEWS),
        (True, "event:name", sp.EVENTS),
    ):
        query = Query(
            site=context,
            metrics=("visitors",),
            date_range=everything,
            dimensions=(dimension,),
            filters=(only,),
        )
        result = await asyncio.to_thread(call.runtime.engine.run, query)
        keys.update((event, str(row.dimensions[0])) for row in result.rows)
    repo = call.runtime.goatcounter.repo
    return await asyncio.to_thread(repo.ensure_paths, site.id, sorted(keys))


@api("stats")
async def paths(call: Call) -> Response:
    values = call.query
    for name in values:
        if name not in ("limit", "after"):
            raise error(400, f'unknown parameter: "{name}"')
    limit = max(1, min(sp.integer(values, "limit", 20), 200))
    after = sp.integer(values, "after", 0)
    site = call.site()
    await sync_paths(call, site)
    rows = await asyncio.to_thread(
        call.runtime.goatcounter.repo.paths_after, site.id, after, limit + 1
    )
    listed = [
        {"id": row.id, "path": row.path, "title": row.title, "event": row.event}
        for row in rows[:limit]
    ]
    return JSON({"paths": listed, "more": len(rows) > limit})


def _days(params: sp.StatsParams) -> list[date]:
    first, last = params.range.first, params.range.last
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def day_stats(
    days: list[date], hourly: dict[str, list[int]], daily: dict[str, int], group: int
) -> list[dict[str, Any]]:
    """GoatCounter's per-day rows; weekly/monthly sums sit on the first day of each block."""
    stats = []
    for index, day in enumerate(days):
        key = day.isoformat()
        row: dict[str, Any] = {"day": key, "hourly": hourly.get(key, [0] * 24)}
        row["daily"] = daily.get(key, 0)
        if group >= 2 and index % 7 == 0:
            week = sum(daily.get(d.isoformat(), 0) for d in days[index : index + 7])
            if week:
                row["weekly"] = week
        if group >= 3 and (index == 0 or day.day == 1):
            month = sum(
                daily.get(d.isoformat(), 0)
                for d in days[index:]
                if (d.year, d.month) == (day.year, day.month)
            )
            if month:
                row["monthly"] = month
        stats.append(row)
    return stats


def peak(stats: list[dict[str, Any]], group: int) -> int:
    if group == 0:
        return max((max(row["hourly"]) for row in stats), default=0)
    field = ("daily", "daily", "weekly", "monthly")[group]
    return max((row.get(field, 0) for row in stats), default=0)


def _series(
    hourly: Result, daily: Result, lead: int
) -> tuple[dict[Any, dict[str, list[int]]], dict[Any, dict[str, int]]]:
    """Per key (the first `lead` dimensions): hourly arrays and daily counts by ISO day."""
    hours: dict[Any, dict[str, list[int]]] = {}
    for dims, value in counts(hourly).items():
        key, stamp = dims[:lead], str(dims[lead])
        day, hour = stamp[:10], int(stamp[11:13])
        hours.setdefault(key, {}).setdefault(day, [0] * 24)[hour] = value
    days: dict[Any, dict[str, int]] = {}
    for dims, value in counts(daily).items():
        days.setdefault(dims[:lead], {})[str(dims[lead])[:10]] = value
    return hours, days


@api("stats")
async def total(call: Call) -> Response:
    params = await sp.parse(call, (*RANGE, "include_paths", "path_by_name"))
    visitors = counts(await sp.run(call, params, (), sp.PAGEVIEWS)).get((), 0)
    events = counts(await sp.run(call, params, (), sp.EVENTS)).get((), 0)
    hourly = await sp.run(call, params, ("time:hour",), sp.PAGEVIEWS)
    daily = await sp.run(call, params, ("time:day",), sp.PAGEVIEWS)
    hours, days = _series(hourly, daily, 0)
    stats = day_stats(_days(params), hours.get((), {}), days.get((), {}), 1)
    # Days are the site's days already, so the UTC total is the same number here.
    return JSON({"total": visitors, "total_events": events, "total_utc": visitors, "stats": stats})


@api("stats")
async def hits(call: Call) -> Response:
    allowed = (*RANGE, "limit", "include_paths", "exclude_paths", "path_by_name", "group", "daily")
    params = await sp.parse(call, allowed)
    pages = counts(await sp.run(call, params, ("event:page",), sp.PAGEVIEWS))
    events = counts(await sp.run(call, params, ("event:name",), sp.EVENTS))
    found: dict[PathKey, int] = {(False, str(k[0])): v for k, v in pages.items()}
    found.update({(True, str(k[0])): v for k, v in events.items()})
    repo = call.runtime.goatcounter.repo
    chosen, ids = await asyncio.to_thread(top_paths, repo, params.site.id, found, params.limit)
    titles = await asyncio.to_thread(repo.titles, params.site.id, set(chosen))
    series = await _chosen_series(call, params, chosen)
    days = _days(params)
    hit_lists = []
    for key in chosen:
        hours, daily = series[key]
        stats = day_stats(days, hours, daily, params.group)
        hit_lists.append(
            {
                "count": found[key],
                "path_id": ids[key],
                "path": key[1],
                "event": key[0],
                "title": titles.get(key, ""),
                "max": peak(stats, params.group),
                "stats": stats,
            }
        )
    count = sum(found[key] for key in chosen)
    return JSON({"hits": hit_lists, "total": count, "more": len(found) > len(chosen)})


def top_paths(
    repo: GoatCounterRepo, site_id: int, found: dict[PathKey, int], limit: int
) -> tuple[list[PathKey], dict[PathKey, int]]:
    """The `limit` paths with the most visitors and their ids; only these paths get ids
    allocated, however many `found` holds (one short write, not one per path of the site).

    Equal counts are ordered by path id, oldest first (upstream: newest first), then paths that
    have no id yet, in text order; those get ids in that order now. Ids given later are higher,
    so a page stays the same, in the same order, when it is asked for again, also after the next
    page (`exclude_paths`) was fetched; newest first would put the next page's paths on it.
    """
    if len(found) > limit:
        boundary = heapq.nlargest(limit, found.values())[-1]
        above = [key for key, n in found.items() if n > boundary]
        tied = {key for key, n in found.items() if n == boundary}
        slots = limit - len(above)
        oldest = repo.oldest_path_ids(site_id, tied, slots)
        fill = heapq.nsmallest(slots - len(oldest), tied.difference(oldest))
        chosen = above + list(oldest) + fill
    else:
        chosen = list(found)
    known = repo.path_ids(site_id, chosen)
    fresh = sorted(key for key in chosen if key not in known)
    ids = {**known, **repo.ensure_paths(site_id, fresh)} if fresh else known
    chosen.sort(key=lambda key: (-found[key], ids[key]))
    return chosen, ids


async def _chosen_series(
    call: Call, params: sp.StatsParams, chosen: list[PathKey]
) -> dict[PathKey, tuple[dict[str, list[int]], dict[str, int]]]:
    series: dict[PathKey, tuple[dict[str, list[int]], dict[str, int]]] = {}
    for event, dimension, only in (
        (False, "event:page", sp.PAGEVIEWS),
        (True, "event:name", sp.EVENTS),
    ):
        names = tuple(path for is_event, path in chosen if is_event == event)
        if not names:
            continue
        wanted = Filter("is", dimension, names)
        hourly = await sp.run(call, params, (dimension, "time:hour"), only, wanted)
        daily = await sp.run(call, params, (dimension, "time:day"), only, wanted)
        hours, days = _series(hourly, daily, 1)
        for name in names:
            series[(event, name)] = (hours.get((name,), {}), days.get((name,), {}))
    return series


def plain(value: object, placeholder: str) -> str:
    text = str(value)
    return "" if text == placeholder else text


REF_DIMENSIONS = ("visit:referrer", "visit:source", "visit:utm_source", "visit:utm_campaign")


def refs_of(result: Result) -> list[dict[str, Any]]:
    """Referrer rows as GoatCounter's (name, scheme) pairs, most visitors first."""
    merged: dict[tuple[str, str], int] = {}
    for dims, value in counts(result).items():
        referrer, source, utm_source, campaign = dims
        name, scheme = referrer_of(
            {
                "referrer": plain(referrer, registry.DIRECT),
                "referrer_source": plain(source, registry.DIRECT),
                "utm_source": plain(utm_source, registry.NOT_SET),
                "utm_campaign": plain(campaign, registry.NOT_SET),
            }
        )
        if name:  # direct visits have no referrer to list
            merged[(name, scheme)] = merged.get((name, scheme), 0) + value
    ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    return [{"name": name, "count": n, "ref_scheme": scheme} for (name, scheme), n in ranked]


@api("stats")
async def hit_refs(call: Call) -> Response:
    raw = str(call.request.path_params.get("path_id", ""))
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise field_errors({"path_id": ["must be a number"]})
    params = await sp.parse(call, (*RANGE, "limit", "offset"))
    rows = await asyncio.to_thread(
        call.runtime.goatcounter.repo.paths_by_id, params.site.id, [int(raw)]
    )
    if not rows:
        raise not_found()
    refs = refs_of(await sp.run(call, params, REF_DIMENSIONS, sp.path_filter(rows)))
    page = refs[params.offset : params.offset + params.limit]
    return JSON({"refs": page, "more": len(refs) > params.offset + len(page)})
