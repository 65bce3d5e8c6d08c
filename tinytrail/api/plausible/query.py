"""`POST /api/v2/query`: Plausible's Stats API v2 on the shared engine."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.http import JSON, BodyTooLarge, decode_json, read_body
from tinytrail.api.plausible.common import (
    INVALID_KEY_OR_SITE,
    MISSING_SITE_ID,
    PlausibleError,
    accessible_site,
    authenticate,
    runtime_of,
)
from tinytrail.api.plausible.query_parser import parse_query
from tinytrail.api.plausible.revenue import shape_revenue
from tinytrail.errors import InvalidInput
from tinytrail.query.hostnames import VISIT_HOSTNAME_OF
from tinytrail.query.model import Result
from tinytrail.storage.duckdb_store import QueryTimeout

MAX_QUERY_BODY = 256 * 1024
STATS_SCOPE = "stats:read:*"
# Plausible makes `stats:read:*` implicit for every key, so a Sites API key reads stats too; a
# key scoped only to GoatCounter's API (`count`, say) does not.
READS_STATS = (STATS_SCOPE, "sites:provision:*")


async def post_query(request: Request) -> Response:
    runtime = runtime_of(request)
    try:
        principal = authenticate(request)
        if not any(principal.allows(scope) for scope in READS_STATS):
            raise PlausibleError(403, f"This API key lacks the {STATS_SCOPE} scope")
        try:
            body = decode_json(await read_body(request, MAX_QUERY_BODY))
        except BodyTooLarge:
            raise PlausibleError(413, "Request body is too large") from None
        except Exception:
            raise PlausibleError(400, "Invalid JSON in request body") from None
        if not isinstance(body, dict):
            raise PlausibleError(400, "#: Type mismatch. Expected Object but got Array.")
        site_id = body.get("site_id")
        if not isinstance(site_id, str) or not site_id:
            raise PlausibleError(400, MISSING_SITE_ID)
        site = accessible_site(runtime, principal, site_id)
        if site is None:
            raise PlausibleError(401, INVALID_KEY_OR_SITE)
        context = runtime.site_context(site.id)
        query = parse_query(body, context, runtime.clock())
        result = await asyncio.to_thread(runtime.engine.run, query)
        return JSON(shape(result, body, site.domain))
    except PlausibleError as exc:
        return exc.response()
    except InvalidInput as exc:
        return JSON({"error": exc.message}, status_code=400)
    except QueryTimeout:
        return JSON({"error": "The query took too long. Try a shorter date range."}, 400)


def shape(result: Result, body: dict[str, Any], domain: str) -> dict[str, Any]:
    query = result.query
    meta: dict[str, Any] = {}
    include = {k: v for k, v in (body.get("include") or {}).items() if v}
    if include.get("imports"):
        # Imported events live in the same tables as collected ones, so they are always in.
        meta["imports_included"] = True
    if result.time_labels is not None:
        meta["time_labels"] = list(result.time_labels)
    if result.total_rows is not None:
        meta["total_rows"] = result.total_rows
    metrics, warnings = shape_revenue(result)
    if warnings:
        meta["metric_warnings"] = warnings
    order_by = [list(entry) for entry in query.order_by]
    if not order_by:
        time_dims = [d for d in query.dimensions if d.startswith("time")]
        order_by = [[time_dims[0], "asc"]] if time_dims else []
        order_by.append([query.metrics[0], "desc"])
    echo = {
        "site_id": domain,
        "metrics": list(query.metrics),
        "date_range": list(query.date_range.local_iso()),
        "filters": echo_filters(body.get("filters", []), query.dimensions),
        "dimensions": list(query.dimensions),
        "order_by": order_by,
        "include": include,
        "pagination": {"offset": query.offset, "limit": query.limit},
    }
    return {
        "results": [
            {"dimensions": list(row.dimensions), "metrics": values}
            for row, values in zip(result.rows, metrics, strict=True)
        ],
        "meta": meta,
        "query": echo,
    }


def echo_filters(raw: Any, dimensions: tuple[str, ...]) -> Any:
    """The filters as sent, plus the visit hostname filters the engine added (Plausible echoes
    those too, `tinytrail.query.hostnames`)."""
    if not isinstance(raw, list):
        return raw
    hostname = [f for f in raw if isinstance(f, list) and len(f) >= 3 and f[1] == "event:hostname"]
    extra = [
        [f[0], VISIT_HOSTNAME_OF[name], *f[2:]]
        for name in dimensions
        if name in VISIT_HOSTNAME_OF
        for f in hostname
    ]
    return raw + extra
