"""Unauthenticated system endpoints: health check and the tracker script."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from tinytrail import __version__
from tinytrail.api.http import JSON

TRACKER_PATH = Path(__file__).resolve().parent.parent / "tracker" / "tracker.js"


async def health(request: Request) -> Response:
    if request.app.state.runtime.healthy():
        return JSON({"status": "ok", "db": "connected", "version": __version__})
    return JSON({"status": "degraded", "db": "disconnected"}, status_code=503)


async def plausible_health(request: Request) -> Response:
    """Plausible's `GET /api/health`: each backing part `ok` or `error`; 500 unless all are ok."""
    checks = request.app.state.runtime.health_checks()
    body = {name: "ok" if ok else "error" for name, ok in checks.items()}
    return JSON(body, status_code=200 if all(checks.values()) else 500)


@lru_cache(maxsize=1)
def _tracker() -> tuple[bytes, bytes]:
    source = TRACKER_PATH.read_bytes()
    return source, gzip.compress(source, 9)


async def tracker_js(request: Request) -> Response:
    source, compressed = _tracker()
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(compressed, media_type="application/javascript", headers=headers)
    return Response(source, media_type="application/javascript", headers=headers)
