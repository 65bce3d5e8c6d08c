"""Who is looking at the dashboard, and which site they may see.

Two kinds of viewers: a user signed in with an API key (a server-side session behind an
HttpOnly, SameSite=Lax cookie), and anyone holding a shared link (`?auth=<slug>`), who sees one
site read-only. Visitors of tracked sites never get a cookie: only this module sets one.

State-changing requests (forms, sign-out) must carry a CSRF token bound to the session and come
from our own origin; SameSite=Lax already keeps the cookie off cross-site POSTs, the token covers
older browsers and same-site subdomains.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tinytrail.meta.models import Site
from tinytrail.meta.repo import Principal
from tinytrail.runtime import Runtime

COOKIE = "tt_session"
STATS_SCOPE = "stats:read:*"
PROVISION_SCOPE = "sites:provision:*"


@dataclass(frozen=True)
class Viewer:
    """A signed-in user (`principal`, `token`) or a shared-link guest (`share_slug`)."""

    principal: Principal | None = None
    token: str = ""
    share_slug: str | None = None

    @property
    def signed_in(self) -> bool:
        return self.principal is not None

    @property
    def can_edit(self) -> bool:
        return self.principal is not None and self.principal.allows(PROVISION_SCOPE)

    @property
    def csrf(self) -> str:
        return csrf_token(self.token) if self.token else ""


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def csrf_token(session_token: str) -> str:
    return hashlib.sha256(b"tinytrail-csrf:" + session_token.encode()).hexdigest()[:32]


def signed_in_viewer(request: Request) -> Viewer | None:
    token = request.cookies.get(COOKIE, "")
    if not token:
        return None
    runtime = runtime_of(request)
    principal = runtime.dashboard_sessions.principal(token, runtime.clock())
    if principal is None or not principal.allows(STATS_SCOPE):
        return None
    return Viewer(principal=principal, token=token)


def login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


def safe_next(target: str | None) -> str:
    """Only local paths: an open redirect after sign-in would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/sites"
    return target


def same_origin(request: Request) -> bool:
    """The request's Origin (or Referer) names this server: the host it was sent to, or the
    public URL it is configured with (`TINYTRAIL_BASE_URL`; a reverse proxy may pass its
    upstream's name as Host). Absent both headers, browsers that send neither are old enough
    for the CSRF token alone to decide."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source is None
    origin = urlsplit(source)
    if origin.netloc == request.headers.get("host", ""):
        return True
    public = urlsplit(runtime_of(request).settings.base_url)
    return bool(public.netloc) and (origin.scheme, origin.netloc.lower()) == (
        public.scheme,
        public.netloc.lower(),
    )


def bad_form_token() -> Response:
    return Response("Invalid form token; reload the page and try again.", 403)


def csrf_ok(request: Request, viewer: Viewer, sent: str | None) -> bool:
    if not viewer.token or not same_origin(request):
        return False
    return hmac.compare_digest(sent or "", viewer.csrf)


def site_for_user(runtime: Runtime, principal: Principal, domain: str) -> Site | None:
    site = runtime.site_config.find_site(domain.strip().lower())
    if site is None or not (principal.is_admin or site.account_id == principal.account_id):
        return None
    return site


def site_for_share(runtime: Runtime, domain: str, slug: str) -> Site | None:
    """The site a shared link opens; a revoked link or another site's link sees nothing."""
    if not slug or len(slug) > 64:
        return None
    link = runtime.site_config.shared_link_by_slug(slug)
    site = runtime.site_config.find_site(domain.strip().lower())
    if link is None or site is None or link.site_id != site.id:
        return None
    return site


def site_for(request: Request, viewer: Viewer, domain: str) -> Site | None:
    runtime = runtime_of(request)
    if viewer.principal is not None:
        return site_for_user(runtime, viewer.principal, domain)
    if viewer.share_slug is not None:
        return site_for_share(runtime, domain, viewer.share_slug)
    return None


def viewer_for_data(request: Request) -> Viewer | None:
    """Data requests accept either a session or the shared link's `auth` parameter."""
    slug = request.query_params.get("auth")
    if slug:
        return Viewer(share_slug=slug)
    return signed_in_viewer(request)
