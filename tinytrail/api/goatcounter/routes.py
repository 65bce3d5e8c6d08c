"""Every GoatCounter URL: the API v0 and the `/count` tracker endpoint.

Unknown paths under `/api/v0/` and wrong methods on known ones are answered here too, in
GoatCounter's `{"error": ...}` shape rather than the TinyTrail envelope; so are CORS
preflights and trailing slashes (redirected away, as upstream does).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Match, Route

from tinytrail.api.goatcounter import count, exports, me, sites, stats, stats_pages, tracker
from tinytrail.api.goatcounter.admin import admin_routes
from tinytrail.api.goatcounter.common import ALLOWED_METHODS, cors_headers, error

_API: list[Route] = [
    Route("/api/v0/count", count.count, methods=["POST"]),
    Route("/api/v0/export", exports.start_export, methods=["POST"]),
    Route("/api/v0/export/{id}", exports.get_export, methods=["GET"]),
    Route("/api/v0/export/{id}/download", exports.download_export, methods=["GET"]),
    Route("/api/v0/sites", sites.list_sites, methods=["GET"]),
    Route("/api/v0/sites", sites.create_site, methods=["PUT"]),
    Route("/api/v0/sites/{id}", sites.get_site, methods=["GET"]),
    Route("/api/v0/sites/{id}", sites.replace_site, methods=["POST"]),
    Route("/api/v0/sites/{id}", sites.patch_site, methods=["PATCH"]),
    Route("/api/v0/me", me.me, methods=["GET"]),
    Route("/api/v0/paths", stats.paths, methods=["GET"]),
    Route("/api/v0/stats/total", stats.total, methods=["GET"]),
    Route("/api/v0/stats/hits", stats.hits, methods=["GET"]),
    Route("/api/v0/stats/hits/{path_id}", stats.hit_refs, methods=["GET"]),
    Route("/api/v0/stats/{page}", stats_pages.stats_page, methods=["GET"]),
    # Top referrer ids are referrer URLs without scheme (`example.org/links`): slashes included.
    Route("/api/v0/stats/{page}/{id:path}", stats_pages.stats_detail, methods=["GET"]),
]


async def fallback(request: Request) -> Response:
    """Whatever no API route took: a preflight, a trailing slash, a wrong method, or nothing."""
    headers = cors_headers(request)
    if request.method == "OPTIONS":
        headers.update(
            {
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Allow-Methods": ALLOWED_METHODS,
                "Allow": ALLOWED_METHODS,
            }
        )
        return Response(status_code=200, headers=headers)
    path = request.url.path
    if path.endswith("/") and _matches(request, path.rstrip("/")):
        target = path.rstrip("/") + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(target, status_code=301, headers=headers)
    if _matches(request, path):
        return error(405, "method not allowed", **headers).response()
    return error(404, "not found", **headers).response()


def _matches(request: Request, path: str) -> bool:
    scope = {**request.scope, "path": path, "method": "GET"}
    return any(route.matches(scope)[0] is not Match.NONE for route in _API)


def goatcounter_routes() -> list[Route]:
    return [
        *_API,
        Route("/count", tracker.count, methods=["GET", "POST"]),
        *admin_routes(),
        Route("/api/v0/{rest:path}", fallback, methods=[*ALLOWED_METHODS.split(", ")]),
        Route("/api/v0", fallback, methods=[*ALLOWED_METHODS.split(", ")]),
    ]
