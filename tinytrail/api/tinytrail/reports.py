"""The nine TinyTrail reports: thin adapters from query parameters to engine queries.

No report writes SQL. Each builds internal queries, runs them on a worker thread and shapes
the rows into the spec's JSON (or CSV). Metric definitions are the engine's, so these numbers
match `/api/v2/query` for the same site and range.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.tinytrail import report_shapes as shapes
from tinytrail.api.tinytrail.envelope import endpoint, runtime_of, success
from tinytrail.api.tinytrail.report_funnel import goal_funnel
from tinytrail.api.tinytrail.report_params import ReportParams, parse_params
from tinytrail.errors import InvalidInput
from tinytrail.ingest.model import NON_INTERACTIVE, PAGEVIEW, TINYTRAIL_PAGE_VIEW
from tinytrail.query import periods
from tinytrail.query.model import And, Filter, Node, Or, Query, Result
from tinytrail.runtime import Runtime

Rows = list[dict[str, Any]]
# Scoped keys that may read reports: Plausible's and GoatCounter's read-only stats scopes.
STATS_SCOPES = ("stats:read:*", "stats")
PAGEVIEWS_ONLY = Filter("is", "event:name", (PAGEVIEW,))
REALTIME_PAGES = 10  # the realtime report's top pages
# Custom events are what a site sends itself: not pageviews nor the tracker's own signals.
BUILT_IN_EVENTS = (PAGEVIEW, *sorted(NON_INTERACTIVE))

SUMMARY_METRICS = (
    ("visits", "visits"),
    ("unique_visitors", "visitors"),
    ("pageviews", "pageviews"),
    ("bounce_rate", "bounce_rate"),
    ("avg_session_duration_sec", "visit_duration"),
)
TIMESERIES_METRICS = {
    "visits": "visits",
    "pageviews": "pageviews",
    "unique_pageviews": "unique_pageviews",
    "bounce_rate": "bounce_rate",
    "avg_session_duration": "visit_duration",
    "landing_page_entries": "visits",
    "exit_page_exits": "visits",
}


async def _run(runtime: Runtime, query: Query) -> Result:
    return await asyncio.to_thread(runtime.engine.run, query)


async def _run_side_by_side(runtime: Runtime, queries: list[Query]) -> list[Result]:
    """Independent small queries of one report, in order: run at once (each on its own
    thread and cursor), they cost about the slowest one's time."""
    return list(await asyncio.gather(*(_run(runtime, query) for query in queries)))


def _period(params: ReportParams) -> dict[str, str]:
    return {"start": params.period.first.isoformat(), "end": params.period.last.isoformat()}


def _page_envelope(params: ReportParams, rows: Rows) -> dict[str, Any]:
    return {
        "period": _period(params),
        "page": params.page,
        "per_page": params.per_page,
        "rows": rows,
    }


Handler = Callable[[Request, ReportParams], Awaitable[Response]]


def report(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate, parse the common parameters, then run the report."""

    @endpoint(scopes=STATS_SCOPES)
    async def wrapped(request: Request) -> Response:
        return await handler(request, parse_params(request))

    wrapped.__name__ = handler.__name__
    return wrapped


# -- summary --------------------------------------------------------------------------------


@report
async def summary(request: Request, params: ReportParams) -> Response:
    runtime = runtime_of(request)
    metrics = tuple(engine_name for _, engine_name in SUMMARY_METRICS)
    current = (await _run(runtime, params.query(metrics))).rows[0].metrics
    previous_range = params.comparison_range()
    previous = None
    if previous_range is not None:
        query = params.query(metrics, date_range=previous_range)
        previous = (await _run(runtime, query)).rows[0].metrics
    values = {}
    for index, (name, engine_name) in enumerate(SUMMARY_METRICS):
        value = shapes.metric_value(engine_name, current[index])
        entry: dict[str, Any] = {"value": value}
        if previous is not None:
            before = shapes.metric_value(engine_name, previous[index])
            entry["previous"] = before
            entry["change_pct"] = shapes.change_pct(value, before)
        values[name] = entry
    data: dict[str, Any] = {"period": _period(params)}
    if previous_range is not None:
        data["comparison"] = f"{previous_range.first} to {previous_range.last}"
    data["metrics"] = values
    if params.csv:
        rows = [
            [name, entry["value"], entry.get("previous"), entry.get("change_pct")]
            for name, entry in values.items()
        ]
        return shapes.csv_response("summary", ["metric", "value", "previous", "change_pct"], rows)
    return success(data)


# -- pages ----------------------------------------------------------------------------------


@report
async def pages(request: Request, params: ReportParams) -> Response:
    query = params.query(
        ("pageviews", "unique_pageviews"),
        dimensions=("event:page", "event:content_group"),
        filters=(PAGEVIEWS_ONLY,),
        limit=params.per_page,
        offset=params.offset,
    )
    result = await _run(runtime_of(request), query)
    rows = [
        {
            "path": row.dimensions[0],
            "contentGroup": row.dimensions[1] or None,
            "pageviews": row.metrics[0],
            "uniquePageviews": row.metrics[1],
        }
        for row in result.rows
    ]
    if params.csv:
        columns = ["path", "contentGroup", "pageviews", "uniquePageviews"]
        return shapes.csv_rows("pages", columns, rows)
    return success(_page_envelope(params, rows))


# -- sources --------------------------------------------------------------------------------


def _utm_present() -> Node:
    """Visits that carried any of the three UTM tags."""
    unset = ("(not set)",)
    names = ("utm_source", "utm_medium", "utm_campaign")
    return Or(tuple(Filter("is_not", f"visit:{name}", unset) for name in names))


# group_by -> (dimensions, row keys, extra filters)
_SOURCE_GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[Node, ...]]] = {
    "channel": (("visit:tinytrail_channel",), ("channel",), ()),
    "domain": (
        ("visit:referrer_host",),
        ("referrer",),
        # Visits with a referrer that is also a source: one that counts as Direct (localhost,
        # the site itself) names no acquisition domain.
        (
            Filter("is_not", "visit:referrer", ("Direct / None",)),
            Filter("is_not", "visit:source", ("Direct / None",)),
        ),
    ),
    "utm": (
        ("visit:utm_source", "visit:utm_medium", "visit:utm_campaign"),
        ("utmSource", "utmMedium", "utmCampaign"),
        (_utm_present(),),
    ),
}


@report
async def sources(request: Request, params: ReportParams) -> Response:
    group_by = request.query_params.get("group_by", "channel")
    if group_by not in _SOURCE_GROUPS:
        raise InvalidInput("group_by must be one of: channel, domain, utm")
    dimensions, keys, filters = _SOURCE_GROUPS[group_by]
    query = params.query(
        ("visits",),
        dimensions=dimensions,
        filters=filters,
        limit=params.per_page,
        offset=params.offset,
    )
    result = await _run(runtime_of(request), query)
    rows = []
    for row in result.rows:
        values = {
            key: None if value in ("", "(not set)") else value
            for key, value in zip(keys, row.dimensions, strict=True)
        }
        rows.append({**values, "visits": row.metrics[0]})
    if params.csv:
        return shapes.csv_rows("sources", [*keys, "visits"], rows)
    return success(_page_envelope(params, rows))


# -- devices --------------------------------------------------------------------------------

_DEVICE_LISTS = (
    ("device_types", "visit:device", "deviceType"),
    ("browsers", "visit:browser", "browserFamily"),
    ("os_families", "visit:os", "osFamily"),
    ("screen_resolutions", "visit:screen_bucket", "bucket"),
)


@report
async def devices(request: Request, params: ReportParams) -> Response:
    runtime = runtime_of(request)
    data: dict[str, Any] = {"period": _period(params)}
    queries = [params.query(("visits",), dimensions=(dim,)) for _, dim, _ in _DEVICE_LISTS]
    results = await _run_side_by_side(runtime, queries)
    for (key, dimension, label), result in zip(_DEVICE_LISTS, results, strict=True):
        data[key] = [
            {label: shapes.device_label(dimension, row.dimensions[0]), "visits": row.metrics[0]}
            for row in result.rows
        ]
    if params.csv:
        return shapes.csv_rows("devices", ["deviceType", "visits"], data["device_types"])
    return success(data)


# -- flow -----------------------------------------------------------------------------------

_FLOW_LISTS = (
    ("landing_pages", "visit:entry_page", "entries"),
    ("exit_pages", "visit:exit_page", "exits"),
)


@report
async def flow(request: Request, params: ReportParams) -> Response:
    runtime = runtime_of(request)
    queries = [
        params.query(
            ("visits",),
            dimensions=(dimension,),
            # Visits made only of custom events have no entry or exit page.
            filters=(Filter("is_not", dimension, ("",)),),
            limit=params.per_page,
            offset=params.offset,
        )
        for _, dimension, _ in _FLOW_LISTS
    ]
    results = await _run_side_by_side(runtime, queries)
    lists = {
        key: [{"path": r.dimensions[0], label: r.metrics[0]} for r in result.rows]
        for (key, _, label), result in zip(_FLOW_LISTS, results, strict=True)
    }
    if params.csv:
        return shapes.csv_rows("flow", ["path", "entries"], lists["landing_pages"])
    return success(
        {"period": _period(params), "page": params.page, "per_page": params.per_page, **lists}
    )


# -- funnel ---------------------------------------------------------------------------------


def funnel_step(step: str) -> Node:
    """A path (`/pricing`, wildcards allowed) is a pageview of it; anything else an event."""
    if step.startswith("/"):
        op = "matches_wildcard" if "*" in step else "is"
        return And((PAGEVIEWS_ONLY, Filter(op, "event:page", (step,))))
    name = PAGEVIEW if step == TINYTRAIL_PAGE_VIEW else step
    return Filter("is", "event:name", (name,))


@report
async def funnel(request: Request, params: ReportParams) -> Response:
    steps = request.query_params.getlist("steps[]") or request.query_params.getlist("steps")
    funnel_ids = request.query_params.getlist("funnel_id")
    if funnel_ids:
        if steps or len(funnel_ids) > 1:
            raise InvalidInput("give either steps[] or one funnel_id")
        return await goal_funnel(request, params, funnel_ids[0])
    steps = [s.strip() for s in steps]
    if len(steps) < 2:
        raise InvalidInput("funnel needs at least 2 steps (steps[]=...) or a funnel_id")
    if len(steps) > 20 or any(not s or len(s) > 500 for s in steps):
        raise InvalidInput(
            "funnel steps must be 2 to 20 non-empty values of at most 500 characters"
        )
    nodes = tuple(funnel_step(step) for step in steps)
    runtime = runtime_of(request)
    counts = await asyncio.to_thread(runtime.engine.funnel, params.query(("visits",)), nodes)
    rows = []
    for index, (step, count) in enumerate(zip(steps, counts, strict=True)):
        rate = 100 if index == 0 else shapes.ratio(count, counts[index - 1])
        rows.append({"step": step, "sessions": count, "conversion_rate": rate})
    if params.csv:
        return shapes.csv_rows("funnel", ["step", "sessions", "conversion_rate"], rows)
    return success({"period": _period(params), "funnel": rows})


# -- realtime -------------------------------------------------------------------------------


@report
async def realtime(request: Request, params: ReportParams) -> Response:
    runtime = runtime_of(request)
    now = runtime.clock()
    window = periods.from_instants(now - timedelta(minutes=30), now, params.site.timezone)
    # The spec: realtime always leaves bots and excluded traffic out, whatever include_bots says.
    params = replace(params, include_bots=False)
    query = params.query(("visitors",), date_range=window)
    found = await asyncio.to_thread(runtime.engine.realtime, query, REALTIME_PAGES)
    return success(
        {
            "active_visitors": found.active_visitors,
            "top_pages": [{"path": path, "visitors": n} for path, n in found.top_pages],
            "events_by_type": [
                {"eventType": shapes.event_type(name), "count": n}
                for name, n in found.events_by_name
            ],
        }
    )


# -- custom events --------------------------------------------------------------------------


@report
async def custom_events(request: Request, params: ReportParams) -> Response:
    filters: list[Node] = [Filter("is_not", "event:name", BUILT_IN_EVENTS)]
    name = request.query_params.get("event_name")
    if name is not None:
        if not name.strip() or len(name) > 120:
            raise InvalidInput("event_name must be 1 to 120 characters")
        filters.append(Filter("is", "event:name", (name,)))
    query = params.query(
        ("events",),
        dimensions=("event:name",),
        filters=tuple(filters),
        limit=params.per_page,
        offset=params.offset,
    )
    result = await _run(runtime_of(request), query)
    rows = [{"name": r.dimensions[0], "count": r.metrics[0]} for r in result.rows]
    if params.csv:
        return shapes.csv_rows("custom-events", ["name", "count"], rows)
    return success(_page_envelope(params, rows))


# -- timeseries -----------------------------------------------------------------------------


def _timeseries_filters(metric: str, path: str | None) -> tuple[Node, ...]:
    if metric == "landing_page_entries":
        return (Filter("is", "visit:entry_page", (path,)),) if path else ()
    if metric == "exit_page_exits":
        return (Filter("is", "visit:exit_page", (path,)),) if path else ()
    return (Filter("is", "event:page", (path,)),) if path else ()


@report
async def timeseries(request: Request, params: ReportParams) -> Response:
    metric = request.query_params.get("metric", "pageviews")
    if metric not in TIMESERIES_METRICS:
        raise InvalidInput(f"metric must be one of: {', '.join(TIMESERIES_METRICS)}")
    path = request.query_params.get("path") or None
    if path is not None and (not path.startswith("/") or len(path) > 2000):
        raise InvalidInput("path must start with '/' and be at most 2000 characters")
    engine_metric = TIMESERIES_METRICS[metric]
    query = params.query(
        (engine_metric,), dimensions=("time:day",), filters=_timeseries_filters(metric, path)
    )
    result = await _run(runtime_of(request), query)
    by_day = {row.dimensions[0]: row.metrics[0] for row in result.rows}
    series = []
    day = params.period.first
    while day <= params.period.last:
        value = by_day.get(day.isoformat())
        series.append({"date": day.isoformat(), "value": shapes.metric_value(engine_metric, value)})
        day += timedelta(days=1)
    if params.csv:
        return shapes.csv_rows("timeseries", ["date", "value"], series)
    return success(
        {"period": _period(params), "metric": metric, "path": path or "*", "series": series}
    )
