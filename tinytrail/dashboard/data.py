"""The dashboard's data endpoints: Stats API v2 queries, answered exactly as `/api/v2/query`.

`POST /dashboard/api/{domain}/query` takes `{"query": <v2 query without site_id>,
"comparison": "previous_period" | "year_over_year" | null}`. The query goes through the same
parser, engine and response shaping as the public Stats API, so the dashboard shows the numbers
the API returns. The dashboard-only parts: the viewer is a session or a shared link instead of
a Bearer key (no hourly API quota, a per-viewer rate limit instead), `"realtime"` and `"30m"`
ranges (Plausible's internal ones), `include.trim_relative_date_range` (Plausible's internal
flag for the main graph: today, this month and this year end at the present, so the graph has
no future buckets), and the comparison period, answered as a second result. As in Plausible,
the comparison period is computed from the range cut at today (`Comparisons`): "this month" on
the 22nd compares with the 22 days before it, not with the whole previous month.

`POST /dashboard/api/{domain}/funnel` evaluates a stored funnel (`{"funnel_id", "query"}`) with
the engine's goal funnel, over the same period and filters.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.http import JSON, BodyTooLarge, client_ip, decode_json, read_body
from tinytrail.api.plausible.query import shape
from tinytrail.api.plausible.query_parser import parse_query
from tinytrail.api.tinytrail.report_funnel import funnel_goals, step_rows, stored_funnel
from tinytrail.dashboard.access import runtime_of, site_for, viewer_for_data
from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta.models import Site
from tinytrail.query import periods
from tinytrail.query.model import Query
from tinytrail.runtime import Runtime
from tinytrail.storage.duckdb_store import QueryTimeout

MAX_BODY = 64 * 1024
INTERNAL_RANGES = ("realtime", "30m")
TRIM = "trim_relative_date_range"
TRIMMED_RANGES = ("day", "month", "year")
COMPARISONS: dict[str, Callable[[periods.DateRange], periods.DateRange]] = {
    "previous_period": periods.previous_period,
    "year_over_year": periods.year_over_year,
}
TOO_LONG = "The query took too long. Try a shorter date range."


class Refused(Exception):
    """Ends a request early with an error response in this endpoint's format."""

    def __init__(self, message: str, status: int = 400) -> None:
        self.response = JSON({"error": message}, status_code=status)


async def _read(request: Request) -> tuple[Runtime, Site, dict[str, Any]]:
    """The viewer's site and the request body, after access and rate checks."""
    viewer = viewer_for_data(request)
    runtime = runtime_of(request)
    if viewer is None:
        raise Refused("Sign in to see this dashboard.", 401)
    site = site_for(request, viewer, request.path_params["domain"])
    if site is None:
        raise Refused("Site not found, or this link was revoked.", 404)
    if viewer.principal is not None:
        who = viewer.principal.key_id
    else:
        who = client_ip(request, runtime.settings.trusted_proxies)
    verdict = runtime.limiter.check("dashboard", who, runtime.settings.rate_limit_dashboard)
    if not verdict.allowed:
        raise Refused("Too many requests; slow down a little.", 429)
    try:
        body = decode_json(await read_body(request, MAX_BODY))
    except BodyTooLarge:
        raise Refused("Request body is too large", 413) from None
    except Exception:
        raise Refused("Invalid JSON in request body") from None
    if not isinstance(body, dict) or not isinstance(body.get("query"), dict):
        raise Refused('Send {"query": {...}} with a Stats API v2 query.')
    return runtime, site, body


def _parse(runtime: Runtime, site: Site, v2_query: dict[str, Any]) -> tuple[dict[str, Any], Query]:
    context = runtime.site_context(site.id)
    now = runtime.clock()
    v2 = {**v2_query, "site_id": site.domain}
    include = v2.get("include")
    trim = isinstance(include, dict) and include.get(TRIM) is True
    if isinstance(include, dict) and TRIM in include:
        v2["include"] = {k: v for k, v in include.items() if k != TRIM}
    if v2.get("date_range") in INTERNAL_RANGES:
        resolved = periods.named_range(v2["date_range"], now, context.timezone)
        v2["date_range"] = [resolved.start.isoformat(), resolved.end.isoformat()]
    parsed = parse_query(v2, context, now)
    if trim and v2.get("date_range") in TRIMMED_RANGES:
        parsed = replace(parsed, date_range=_up_to_now(parsed.date_range, now))
    return v2, parsed


def _up_to_now(current: periods.DateRange, now: datetime) -> periods.DateRange:
    """Today, this month or this year ending at the present (Plausible's
    `trim_relative_date_range`): today at this moment, longer ranges at the end of today."""
    today = now.astimezone(current.timezone).date()
    if not current.first <= today <= current.last:
        return current
    if current.first == current.last:
        moment = min(now.replace(microsecond=0), current.end)
        return periods.from_instants(current.start, moment, current.timezone)
    return periods.from_dates(current.first, today, current.timezone)


def _compared(current: periods.DateRange, mode: str, now: datetime) -> periods.DateRange:
    """The comparison period of a range cut at today, as Plausible's `Comparisons` does
    (`earliest(last, now)`): the rest of this month or year is not compared."""
    today = now.astimezone(current.timezone).date()
    if current.first <= today < current.last:
        current = periods.from_dates(current.first, today, current.timezone)
    return COMPARISONS[mode](current)


Answer = Callable[[Runtime, Site, dict[str, Any]], Awaitable[dict[str, Any]]]


async def _respond(request: Request, answer: Answer) -> Response:
    """Read and check the request, run `answer`, and map failures to `{"error"}` replies."""
    try:
        runtime, site, body = await _read(request)
        return JSON(await answer(runtime, site, body))
    except Refused as refused:
        return refused.response
    except InvalidInput as exc:
        return JSON({"error": exc.message}, status_code=400)
    except NotFound as exc:
        return JSON({"error": exc.message}, status_code=404)
    except QueryTimeout:
        return JSON({"error": TOO_LONG}, status_code=400)


async def _query(runtime: Runtime, site: Site, body: dict[str, Any]) -> dict[str, Any]:
    comparison = body.get("comparison")
    if comparison is not None and comparison not in COMPARISONS:
        raise Refused(f"Unknown comparison {comparison!r}")
    v2, parsed = _parse(runtime, site, body["query"])
    queries = [parsed]
    if comparison is not None:
        compared = _compared(parsed.date_range, comparison, runtime.clock())
        queries.append(replace(parsed, date_range=compared))
    # Both periods at once: the top stats wait for the comparison too.
    results = await asyncio.gather(*(asyncio.to_thread(runtime.engine.run, q) for q in queries))
    answer = shape(results[0], v2, site.domain)
    if comparison is not None:
        answer["comparison"] = shape(results[1], v2, site.domain)
    return answer


async def _funnel(runtime: Runtime, site: Site, body: dict[str, Any]) -> dict[str, Any]:
    """The steps as the TinyTrail funnel report lists them (`step_rows`), each also `name`d."""
    funnel_id = body.get("funnel_id")
    if not isinstance(funnel_id, int) or isinstance(funnel_id, bool):
        raise Refused("funnel_id must be a number")
    stored = stored_funnel(runtime, site.id, funnel_id)
    _, parsed = _parse(runtime, site, {**body["query"], "metrics": ["visitors"]})
    steps = funnel_goals(stored, parsed.site.goals)
    result = await asyncio.to_thread(runtime.engine.goal_funnel, parsed, steps)
    return {
        "name": stored.name,
        "all_visitors": result.all_visitors,
        "entering_visitors": result.entering_visitors,
        "conversion_rate": result.steps[-1].conversion_rate if result.steps else 0,
        "steps": [{"name": row["step"], **row} for row in step_rows(result)],
    }


async def query(request: Request) -> Response:
    return await _respond(request, _query)


async def funnel(request: Request) -> Response:
    return await _respond(request, _funnel)
