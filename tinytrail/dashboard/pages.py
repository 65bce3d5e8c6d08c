"""The dashboard's pages: sites list (with 24-hour sparklines), add a site, its snippet, a
site's dashboard, and the public shared-link dashboard.

Pages are rendered on the server; the site dashboard's panels are filled by `dashboard.js`
from the data endpoints in `data.py`, which run Stats API v2 queries on the shared engine.
"""

from __future__ import annotations

import asyncio
import functools
import zoneinfo
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tinytrail.api.plausible.query_parser import parse_query
from tinytrail.dashboard.access import (
    Viewer,
    bad_form_token,
    csrf_ok,
    login_redirect,
    runtime_of,
    signed_in_viewer,
    site_for,
    site_for_share,
)
from tinytrail.dashboard.rendering import page
from tinytrail.dashboard.sparkline import sparkline_points
from tinytrail.errors import InvalidInput
from tinytrail.meta import validate
from tinytrail.meta.models import Site
from tinytrail.meta.paging import PageRequest
from tinytrail.runtime import Runtime

MAX_FORM = 16 * 1024
SITES_SHOWN = 200


@cache
def timezones() -> list[str]:
    return sorted(zoneinfo.available_timezones() - {"localtime"})


def public_base(request: Request, runtime: Runtime) -> str:
    return (runtime.settings.base_url or str(request.base_url)).rstrip("/")


def snippet(request: Request, runtime: Runtime, site: Site) -> str:
    base = public_base(request, runtime)
    return f'<script defer data-id="{site.uuid}" src="{base}/js/tracker.js"></script>'


def _last_24h(runtime: Runtime, site: Site) -> dict[str, Any]:
    """Visitors in the last 24 hours, in total and per hour, through the Stats API's parser."""
    context = runtime.site_context(site.id)
    now = runtime.clock()
    base = {"site_id": site.domain, "metrics": ["visitors"], "date_range": "24h"}
    total = runtime.engine.run(parse_query(base, context, now))
    hourly_body = {**base, "dimensions": ["time:hour"], "include": {"time_labels": True}}
    hourly = runtime.engine.run(parse_query(hourly_body, context, now))
    by_hour = {str(row.dimensions[0]): int(str(row.metrics[0])) for row in hourly.rows}
    values = [by_hour.get(label, 0) for label in hourly.time_labels or ()]
    return {
        "site": site,
        "visitors": total.rows[0].metrics[0] if total.rows else 0,
        "points": sparkline_points(values[-24:]),
    }


async def home(request: Request) -> Response:
    target = "/sites" if signed_in_viewer(request) else "/login"
    return RedirectResponse(target, status_code=303)


async def sites_list(request: Request) -> Response:
    viewer = signed_in_viewer(request)
    if viewer is None or viewer.principal is None:
        return login_redirect(request)
    runtime = runtime_of(request)
    principal = viewer.principal
    account = None if principal.is_admin else principal.account_id
    sites = runtime.repo.list_sites(account)[:SITES_SHOWN]
    cards = [await asyncio.to_thread(_last_24h, runtime, site) for site in sites]
    return page(request, "sites.html", viewer=viewer, cards=cards)


async def new_site_form(request: Request) -> Response:
    viewer = signed_in_viewer(request)
    if viewer is None:
        return login_redirect(request)
    return page(request, "new_site.html", viewer=viewer, timezones=timezones(), error=None)


async def create_site(request: Request) -> Response:
    viewer = signed_in_viewer(request)
    if viewer is None or viewer.principal is None:
        return login_redirect(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=MAX_FORM)
    if not csrf_ok(request, viewer, str(form.get("csrf") or "")):
        return bad_form_token()
    runtime = runtime_of(request)

    def again(message: str, status: int) -> Response:
        return page(
            request, "new_site.html", status, viewer=viewer, timezones=timezones(), error=message
        )

    if not viewer.can_edit:
        return again("This API key may not add sites.", 403)
    try:
        domain = validate.normalize_domain(str(form.get("domain") or ""))
        timezone = validate.validate_timezone(str(form.get("timezone") or "Etc/UTC"))
        site = await asyncio.to_thread(
            runtime.repo.create_site, viewer.principal.account_id, domain, timezone=timezone
        )
    except InvalidInput as exc:
        return again(exc.message, 400)
    return RedirectResponse(f"/sites/{site.domain}/snippet", status_code=303)


def not_found(request: Request, viewer: Viewer | None) -> Response:
    return page(request, "not_found.html", 404, viewer=viewer)


SitePage = Callable[[Request, Viewer, Site], Awaitable[Response]]


def site_page(handler: SitePage) -> Callable[[Request], Awaitable[Response]]:
    """A page of one site (`{domain}` in the path) for a signed-in user: signed-out users go
    to sign in first, a site they may not see is not found."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        viewer = signed_in_viewer(request)
        if viewer is None:
            return login_redirect(request)
        site = site_for(request, viewer, request.path_params["domain"])
        if site is None:
            return not_found(request, viewer)
        return await handler(request, viewer, site)

    return endpoint


@site_page
async def site_snippet(request: Request, viewer: Viewer, site: Site) -> Response:
    runtime = runtime_of(request)
    return page(
        request, "snippet.html", viewer=viewer, site=site, snippet=snippet(request, runtime, site)
    )


def dashboard_config(request: Request, site: Site, viewer: Viewer) -> dict[str, Any]:
    """What dashboard.js needs to start: the site, its goals, props and funnels."""
    runtime = runtime_of(request)
    goals = runtime.site_config.list_goals(site.id)
    funnels = runtime.site_config.funnels_page(site.id, PageRequest(limit=100)).items
    return {
        "domain": site.domain,
        "timezone": site.timezone,
        "auth": viewer.share_slug,
        "goals": [g.display_name for g in goals],
        "props": runtime.site_config.list_custom_props(site.id),
        "funnels": [{"id": f.id, "name": f.name} for f in funnels],
        "signed_in": viewer.signed_in,
    }


@site_page
async def site_dashboard(request: Request, viewer: Viewer, site: Site) -> Response:
    config = await asyncio.to_thread(dashboard_config, request, site, viewer)
    return page(request, "dashboard.html", viewer=viewer, site=site, config=config, embed=False)


async def shared_dashboard(request: Request) -> Response:
    """A shared link: read-only, no sign-in, embeddable (`&embed=true` drops the header)."""
    slug = request.query_params.get("auth", "")
    runtime = runtime_of(request)
    site = site_for_share(runtime, request.path_params["domain"], slug)
    if site is None:
        return page(request, "not_found.html", 404, viewer=None, shared=True, embeddable=True)
    viewer = Viewer(share_slug=slug)
    config = await asyncio.to_thread(dashboard_config, request, site, viewer)
    embed = request.query_params.get("embed") == "true"
    return page(
        request,
        "dashboard.html",
        embeddable=True,
        viewer=viewer,
        site=site,
        config=config,
        embed=embed,
    )
