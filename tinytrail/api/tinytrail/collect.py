"""`POST /api/v1/collect`: the TinyTrail tracker's endpoint (public, rate-limited per IP)."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.collecting import LOG_UNAVAILABLE, accept, cors_raw, decode_props, preflight
from tinytrail.api.http import BodyTooLarge, Incoming, Reply, decode_json, incoming_ip, reply
from tinytrail.api.tinytrail.envelope import failure, render_error, runtime_of
from tinytrail.errors import InvalidInput
from tinytrail.ingest.model import PAGEVIEW, TINYTRAIL_PAGE_VIEW, Hit
from tinytrail.ingest.pipeline import Outcome
from tinytrail.ingest.urls import clean_path, split_url
from tinytrail.ingest.wal import LogUnavailable
from tinytrail.runtime import Runtime

_STRING_FIELDS = ("referrer", "utm_source", "utm_medium", "utm_campaign")
MAX_URL = 2000
MAX_NAME = 120
ACCEPTED = b'{"status":"accepted"}'


async def collect_preflight(request: Request) -> Response:
    return preflight(request, max_age=86400)


async def collect(request: Request) -> Response:
    """The route table's entry; the server's hot path calls `collect_raw` directly."""
    reply = await collect_raw(runtime_of(request), Incoming(request.scope, request.receive))
    return reply.response()


async def collect_raw(runtime: Runtime, incoming: Incoming) -> Reply:
    cors = cors_raw(incoming)
    ip = incoming_ip(incoming, runtime.settings.trusted_proxies)
    retry_after = runtime.limiter.refuse("collect", ip, runtime.settings.rate_limit_collect)
    if retry_after:
        refused = failure("RATE_LIMITED", "Too many events from this address, retry later")
        return Reply.of(refused, [*cors, (b"retry-after", str(retry_after).encode())])
    try:
        body = await incoming.body(runtime.settings.max_body_bytes)
        if b"json" not in (incoming.headers.get(b"content-type") or b"").lower():
            raise InvalidInput("Content-Type must be application/json")
        try:
            payload = decode_json(body)
        except Exception as exc:
            raise InvalidInput("Malformed JSON body") from exc
        hit = _decode(payload, runtime, ip, incoming.header(b"user-agent"))
    except (InvalidInput, BodyTooLarge) as exc:
        return Reply.of(render_error(exc), cors)
    if hit is None:
        return reply(204, cors)
    try:
        outcomes = await accept(runtime, [hit])
    except LogUnavailable:
        return Reply.of(failure("INTERNAL_ERROR", LOG_UNAVAILABLE), cors)
    if outcomes[0] is Outcome.ACCEPTED:
        return reply(202, cors, ACCEPTED, b"application/json")
    return reply(204, cors)


def _decode(payload: Any, runtime: Runtime, ip: str, user_agent: str) -> Hit | None:
    """A Hit, None for a silent drop (unknown website), or InvalidInput saying what is wrong."""
    if not isinstance(payload, dict):
        raise InvalidInput("The JSON body must be an object")
    for name in ("website_id", "event_type", "url", "path"):
        if name not in payload or payload[name] is None:
            raise InvalidInput(f"{name} is required")
        if not isinstance(payload[name], str):
            raise InvalidInput(f"{name} must be a string")
    for name in _STRING_FIELDS:
        if payload.get(name) is not None and not isinstance(payload[name], str):
            raise InvalidInput(f"{name} must be a string")
    for name in ("screen_width", "screen_height"):
        value = payload.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidInput(f"{name} must be a number")
    event_type = payload["event_type"].strip()
    if not event_type or len(event_type) > MAX_NAME:
        raise InvalidInput(f"event_type must be 1 to {MAX_NAME} characters")
    url, path = payload["url"], payload["path"]
    if not url.strip() or not path.strip():
        raise InvalidInput("url and path must not be empty")
    if len(url) > MAX_URL or len(path) > MAX_URL:
        raise InvalidInput(f"url and path must be at most {MAX_URL} characters")
    props = decode_props(payload.get("properties"), "properties")
    website_uuid = _canonical_uuid(payload["website_id"])
    if website_uuid is None:
        return None  # the spec's silent drop for an invalid website_id
    site = runtime.sites.by_uuid(website_uuid)
    if site is None:
        return None
    page = split_url(url)
    width = payload.get("screen_width")
    return Hit(
        site_id=site.id,
        name=PAGEVIEW if event_type == TINYTRAIL_PAGE_VIEW else event_type,
        timestamp=runtime.clock(),
        hostname=page.hostname or site.domain,
        pathname=clean_path(path),
        ip=ip,
        user_agent=user_agent,
        referrer=(payload.get("referrer") or "")[:MAX_URL],
        params=page.params,
        utm_overrides={
            k: payload[k][:500]
            for k in ("utm_source", "utm_medium", "utm_campaign")
            if payload.get(k)
        },
        screen_width=int(width) if width is not None and 0 <= width < 100_000 else 0,
        props=props,
    )


@lru_cache(maxsize=4096)
def _canonical_uuid(text: str) -> str | None:
    """A website id in its canonical form, or None; memoised (a server has few websites)."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None
