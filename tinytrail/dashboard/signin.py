"""Sign in with an API key, sign out.

A successful sign-in opens a server-side session and sets `tt_session` (HttpOnly, SameSite=Lax,
Secure over HTTPS). Attempts are rate-limited per client address, so keys cannot be guessed
through this form faster than through the APIs.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tinytrail.api.http import client_ip
from tinytrail.dashboard.access import (
    COOKIE,
    STATS_SCOPE,
    bad_form_token,
    csrf_ok,
    runtime_of,
    safe_next,
    same_origin,
    signed_in_viewer,
)
from tinytrail.dashboard.rendering import page
from tinytrail.runtime import DASHBOARD_SESSION_DAYS

MAX_FORM = 4096


async def login_form(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if signed_in_viewer(request) is not None:
        return RedirectResponse(target, status_code=303)
    return page(request, "login.html", next=target, error=None)


async def login(request: Request) -> Response:
    runtime = runtime_of(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=MAX_FORM)
    target = safe_next(str(form.get("next") or ""))
    key = str(form.get("api_key") or "").strip()

    def refuse(message: str, status: int) -> Response:
        return page(request, "login.html", status, next=target, error=message)

    if not same_origin(request):
        return refuse("This form must be sent from this server's own page.", 403)
    ip = client_ip(request, runtime.settings.trusted_proxies)
    verdict = runtime.limiter.check("dashboard-login", ip, runtime.settings.rate_limit_api)
    if not verdict.allowed:
        return refuse(f"Too many attempts. Try again in {verdict.reset_after} seconds.", 429)
    principal = await asyncio.to_thread(runtime.repo.authenticate, key) if key else None
    if principal is None:
        return refuse("That API key is not valid.", 401)
    if not principal.allows(STATS_SCOPE):
        return refuse(f"This API key lacks the {STATS_SCOPE} scope needed to view stats.", 403)
    token = await asyncio.to_thread(runtime.dashboard_sessions.open, principal, runtime.clock())
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=DASHBOARD_SESSION_DAYS * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
    )
    return response


async def logout(request: Request) -> Response:
    viewer = signed_in_viewer(request)
    response = RedirectResponse("/login", status_code=303)
    if viewer is not None:
        form = await request.form(max_files=0, max_fields=5, max_part_size=MAX_FORM)
        if not csrf_ok(request, viewer, str(form.get("csrf") or "")):
            return bad_form_token()
        await asyncio.to_thread(runtime_of(request).dashboard_sessions.close, viewer.token)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    return response


def _is_https(request: Request) -> bool:
    """Over HTTPS, or behind a TLS-terminating proxy announced by an https base URL."""
    base_url = runtime_of(request).settings.base_url
    return request.url.scheme == "https" or base_url.startswith("https://")
