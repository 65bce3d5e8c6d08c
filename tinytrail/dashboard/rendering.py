"""HTML pages and static assets of the dashboard: Jinja2 templates, headers, cache busting.

Every page gets a strict Content-Security-Policy (only our own scripts and styles, no inline
script), and may not be framed, except the public shared-link dashboard, which exists to be
embedded. Static files are read once, gzipped once, and served with a content hash in the URL
so browsers keep them for a year.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors {frames}"
)


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    version: str


@cache
def assets() -> dict[str, Asset]:
    found = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if not path.is_file():
            continue
        body = path.read_bytes()
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type.endswith("javascript"):
            media_type += "; charset=utf-8"
        version = hashlib.sha256(body).hexdigest()[:12]
        found[path.name] = Asset(body, gzip.compress(body, 9, mtime=0), media_type, version)
    return found


def asset_url(name: str) -> str:
    return f"/dashboard/static/{name}?v={assets()[name].version}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset_url"] = asset_url
    return env


def page(
    request: Request,
    template: str,
    status_code: int = 200,
    *,
    embeddable: bool = False,
    **context: Any,
) -> Response:
    html = environment().get_template(template).render(request=request, **context)
    headers = {
        "Content-Security-Policy": CSP.format(frames="*" if embeddable else "'none'"),
        "Cache-Control": "no-store",
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
    }
    if not embeddable:
        headers["X-Frame-Options"] = "DENY"
    return HTMLResponse(html, status_code=status_code, headers=headers)


async def static_file(request: Request) -> Response:
    asset = assets().get(request.path_params["name"])
    if asset is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
    headers["ETag"] = f'"{asset.version}"'
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
