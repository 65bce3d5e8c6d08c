"""Reading an API key from a request: `X-API-KEY` or `Authorization: Bearer` on every API."""

from __future__ import annotations

from starlette.requests import Request


def api_key_of(request: Request) -> str:
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip()
    return ""
