"""`/api/v0/stats/{page}` and `/api/v0/stats/{page}/{id}`: the dashboard's side panels.

Browsers, systems, locations, screen sizes, campaigns and top referrers, with a detail view of
each, on the shared engine. TinyTrail does not collect languages, so that panel is empty.
Screen sizes are GoatCounter's five buckets of the stored screen widths.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.goatcounter import stats_params as sp
from tinytrail.api.goatcounter.auth import Call, api
from tinytrail.api.goatcounter.common import GoatCounterError, field_errors
from tinytrail.api.goatcounter.stats import REF_DIMENSIONS, counts, plain, refs_of
from tinytrail.api.http import JSON
from tinytrail.query import names, registry
from tinytrail.query.model import Filter, Node, Or

PAGES = ("browsers", "systems", "locations", "languages", "sizes", "campaigns", "toprefs")
DETAIL_PAGES = ("browsers", "systems", "locations", "sizes", "campaigns", "toprefs")
PARAMS = ("start", "end", "include_paths", "path_by_name", "limit", "offset")
# GoatCounter's screen-size buckets by their widest width; wider is "desktophd", 0 "unknown".
SIZE_LIMITS = (("phone", 600), ("tablet", 1000), ("desktop", 1920))
SIZE_IDS = ("phone", "tablet", "desktop", "desktophd", "unknown")
UNKNOWN = "(unknown)"


def _one_of(options: tuple[str, ...]) -> str:
    return "must be one of \u2018" + ", ".join(options) + "\u2019"


def check_page(request: Request, detail: bool) -> str:
    """The panel name; an unknown one is refused before authentication, as upstream does."""
    page = str(request.path_params.get("page", ""))
    allowed = DETAIL_PAGES if detail else PAGES
    if page not in allowed:
        raise field_errors({"page": [_one_of(allowed)]})
    return page


def _items(rows: list[tuple[str, str, int]], params: sp.StatsParams) -> dict[str, Any]:
    page = rows[params.offset : params.offset + params.limit]
    stats = [{"id": ident or name, "name": name, "count": n} for ident, name, n in page]
    return {"stats": stats, "more": len(rows) > params.offset + len(page)}


async def _simple(
    call: Call, params: sp.StatsParams, dimension: str, *filters: Node
) -> list[tuple[str, str, int]]:
    result = counts(await sp.run(call, params, (dimension,), *filters))
    rows = [(plain(dims[0], registry.NOT_SET) or UNKNOWN, n) for dims, n in result.items()]
    rows.sort(key=lambda row: (-row[1], row[0]))
    return [(name, name, n) for name, n in rows]


def size_bucket(width: int) -> str:
    if width <= 0:
        return "unknown"
    return next((name for name, widest in SIZE_LIMITS if width <= widest), "desktophd")


async def _widths(call: Call, params: sp.StatsParams) -> dict[int, int]:
    result = counts(await sp.run(call, params, ("visit:screen_width",)))
    return {int(str(dims[0])): n for dims, n in result.items()}


async def panel(call: Call, page: str) -> dict[str, Any]:
    params = await sp.parse(call, PARAMS)
    if page == "browsers":
        return _items(await _simple(call, params, "visit:browser"), params)
    if page == "systems":
        return _items(await _simple(call, params, "visit:os"), params)
    if page == "campaigns":
        campaigns = [
            row for row in await _simple(call, params, "visit:utm_campaign") if row[0] != UNKNOWN
        ]
        repo = call.runtime.goatcounter.repo
        ids = await asyncio.to_thread(
            repo.ensure_campaigns, call.site().id, [name for name, _, _ in campaigns]
        )
        return _items([(str(ids[name]), name, n) for name, _, n in campaigns], params)
    if page == "locations":
        result = counts(await sp.run(call, params, ("visit:country",)))
        rows = [(str(d[0]), names.country_name(str(d[0])), n) for d, n in result.items()]
        return _items(sorted(rows, key=lambda r: (-r[2], r[0])), params)
    if page == "sizes":
        # Always the five buckets, whatever limit and offset say (upstream does the same).
        sizes = dict.fromkeys(SIZE_IDS, 0)
        for width, n in (await _widths(call, params)).items():
            sizes[size_bucket(width)] += n
        return {
            "stats": [{"id": name, "name": "", "count": n} for name, n in sizes.items()],
            "more": False,
        }
    if page == "toprefs":
        refs = refs_of(await sp.run(call, params, REF_DIMENSIONS))
        window = refs[params.offset : params.offset + params.limit]
        stats = [{"id": r["name"], **r} for r in window]
        return {"stats": stats, "more": len(refs) > params.offset + len(window)}
    return {"stats": [], "more": False}  # languages: not collected


async def detail(call: Call, page: str, ident: str) -> dict[str, Any]:
    params = await sp.parse(call, PARAMS)
    if page in ("browsers", "systems"):
        column = "browser" if page == "browsers" else "os"
        chosen = Filter("is", f"visit:{column}", ("" if ident == UNKNOWN else ident,))
        versions = await _simple(call, params, f"visit:{column}_version", chosen)
        rows = [(v, f"{ident} {v}".strip() if v != UNKNOWN else ident, n) for v, _, n in versions]
        return _items(rows, params)
    if page == "locations":
        chosen = Filter("is", "visit:country", (ident.upper(),))
        result = counts(await sp.run(call, params, ("visit:region",), chosen))
        rows = [(str(d[0]), names.region_name(str(d[0])), n) for d, n in result.items()]
        return _items(sorted(rows, key=lambda r: (-r[2], r[0])), params)
    if page == "sizes":
        if ident not in SIZE_IDS:
            raise field_errors({"id": [_one_of(SIZE_IDS)]})
        # Named as upstream names them: "↔︎ 1920px" (the arrow in text presentation).
        widths = [
            ("", f"\u2194\ufe0e {width}px", n)
            for width, n in (await _widths(call, params)).items()
            if size_bucket(width) == ident
        ]
        return _items(sorted(widths, key=lambda row: (-row[2], row[1])), params)
    if page == "campaigns":
        if not ident.isascii() or not ident.isdigit():
            raise field_errors({"id": ["must be a number"]})
        repo = call.runtime.goatcounter.repo
        number = int(ident)
        name = None
        if number < 2**31:  # ids are 32-bit
            name = await asyncio.to_thread(repo.campaign_name, call.site().id, number)
        if name is None:
            return _items([], params)
        chosen = Filter("is", "visit:utm_campaign", (name,))
        return _items(await _simple(call, params, "visit:source", chosen), params)
    # toprefs: the pages a referrer sent visitors to
    source = Or(
        (
            Filter("is", "visit:source", (ident,)),
            Filter("is", "visit:referrer", (ident,)),
            Filter("is", "visit:utm_source", (ident,)),
        )
    )
    result = counts(await sp.run(call, params, ("event:page",), sp.PAGEVIEWS, source))
    rows = sorted(
        ((str(d[0]), str(d[0]), n) for d, n in result.items()), key=lambda r: (-r[2], r[0])
    )
    return _items(rows, params)


async def stats_page(request: Request) -> Response:
    try:
        check_page(request, detail=False)
    except GoatCounterError as exc:
        return exc.response()
    return await _stats_page(request)


@api("stats")
async def _stats_page(call: Call) -> Response:
    return JSON(await panel(call, str(call.request.path_params["page"])))


async def stats_detail(request: Request) -> Response:
    try:
        check_page(request, detail=True)
    except GoatCounterError as exc:
        return exc.response()
    return await _stats_detail(request)


@api("stats")
async def _stats_detail(call: Call) -> Response:
    params = call.request.path_params
    return JSON(await detail(call, str(params["page"]), str(params["id"])))
