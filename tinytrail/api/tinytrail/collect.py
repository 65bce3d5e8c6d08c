"""`POST /api/v1/collect`: the TinyTrail tracker's endpoint (public, rate-limited per IP)."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.collecting import (
    LOG_UNAVAILABLE,
    accept_one,
    cors_raw,
    decode_props,
    preflight,
)
from tinytrail.api.http import BodyTooLarge, Incoming, Reply, decode_json, incoming_ip, reply
from tinytrail.api.tinytrail.envelope import failure, render_error, runtime_of
from tinytrail.errors import InvalidInput
from tinytrail.ingest.model import PAGEVIEW, TINYTRAIL_PAGE_VIEW, Hit
from tinytrail.ingest.pipeline import Outcome
from tinytrail.ingest.urls import clean_path, split_url
from tinytrail.ingest.wal import LogUnavailable
from tinytrail.runtime import Runtime

_REQUIRED = ("website_id", "event_type", "url", "path")
_STRING_FIELDS = ("referrer", "utm_source", "utm_medium", "utm_campaign")
_NUMBER_FIELDS = ("screen_width", "screen_height")
MAX_URL = 2000
MAX_NAME = 120
ACCEPTED = b'{"status":"accepted"}'
# The 202's own headers, after the CORS ones (what `reply` would add for this body).
_ACCEPTED_HEADERS = [
    (b"content-length", str(len(ACCEPTED)).encode()),
    (b"content-type", b"application/json"),
]


class Body(msgspec.Struct, gc=False):
    """The fields of a collect request that are read, type-checked; other keys are ignored.

    As the type of a JSON decoder it is also the fast way in: a body that is an object with
    these fields of these types is decoded and checked in C (`_common`, a fraction of what
    the checks cost in Python). Anything else (missing or null required fields, other types,
    malformed JSON) takes `_checked`, which words the first problem as before. Untracked by
    the garbage collector (`gc=False`): it holds JSON values, which cannot refer back to it.
    """

    website_id: str
    event_type: str
    url: str
    path: str
    referrer: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    screen_width: int | float | None = None  # JSON true/false are not numbers here either
    screen_height: int | float | None = None
    properties: Any = None  # checked by `decode_props`


_FAST = msgspec.json.Decoder(Body)


async def collect_preflight(request: Request) -> Response:
    return preflight(request, max_age=86400)


async def collect(request: Request) -> Response:
    """The route table's entry; the server's hot path calls `collect_raw` directly."""
    reply = await collect_raw(runtime_of(request), Incoming(request.scope, request.receive))
    return reply.response()


async def collect_raw(runtime: Runtime, incoming: Incoming) -> Reply:
    cors = cors_raw(incoming)
    settings = runtime.settings
    ip = incoming_ip(incoming, settings.trusted_proxies)
    retry_after = runtime.limiter.refuse("collect", ip, settings.rate_limit_collect)
    if retry_after:
        refused = failure("RATE_LIMITED", "Too many events from this address, retry later")
        return Reply.of(refused, [*cors, (b"retry-after", str(retry_after).encode())])
    try:
        body = await incoming.body(settings.max_body_bytes)
        if b"json" not in (incoming.headers.get(b"content-type") or b"").lower():
            raise InvalidInput("Content-Type must be application/json")
        fields = _common(body) or _checked(body)
        hit = _decode(fields, runtime, ip, incoming.header(b"user-agent"))
    except (InvalidInput, BodyTooLarge) as exc:
        return Reply.of(render_error(exc), cors)
    if hit is None:
        return reply(204, cors)
    try:
        outcome = await accept_one(runtime, hit)
    except LogUnavailable:
        return Reply.of(failure("INTERNAL_ERROR", LOG_UNAVAILABLE), cors)
    if outcome is Outcome.ACCEPTED:
        return Reply(202, cors + _ACCEPTED_HEADERS, ACCEPTED)
    return reply(204, cors)


def _common(body: bytes) -> Body | None:
    """The body decoded and type-checked in C when it has the common shape, else None."""
    try:
        return _FAST.decode(body)
    except Exception:
        # Not the common shape (or not JSON at all): `_checked` decides, and words what is
        # wrong as it always did.
        return None


def _checked(body: bytes) -> Body:
    """The body parsed and type-checked field by field: InvalidInput names the first problem."""
    try:
        payload = decode_json(body)
    except Exception as exc:
        raise InvalidInput("Malformed JSON body") from exc
    if not isinstance(payload, dict):
        raise InvalidInput("The JSON body must be an object")
    for name in _REQUIRED:
        if name not in payload or payload[name] is None:
            raise InvalidInput(f"{name} is required")
        if not isinstance(payload[name], str):
            raise InvalidInput(f"{name} must be a string")
    for name in _STRING_FIELDS:
        if payload.get(name) is not None and not isinstance(payload[name], str):
            raise InvalidInput(f"{name} must be a string")
    for name in _NUMBER_FIELDS:
        value = payload.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidInput(f"{name} must be a number")
    known = _REQUIRED + _STRING_FIELDS + _NUMBER_FIELDS + ("properties",)
    return Body(**{name: payload[name] for name in known if payload.get(name) is not None})


def _decode(fields: Body, runtime: Runtime, ip: str, user_agent: str) -> Hit | None:
    """A Hit, None for a silent drop (unknown website), or InvalidInput saying what is wrong."""
    event_type = fields.event_type.strip()
    if not event_type or len(event_type) > MAX_NAME:
        raise InvalidInput(f"event_type must be 1 to {MAX_NAME} characters")
    url, path = fields.url, fields.path
    if not url.strip() or not path.strip():
        raise InvalidInput("url and path must not be empty")
    if len(url) > MAX_URL or len(path) > MAX_URL:
        raise InvalidInput(f"url and path must be at most {MAX_URL} characters")
    props = decode_props(fields.properties, "properties")
    website_uuid = _canonical_uuid(fields.website_id)
    if website_uuid is None:
        return None  # the spec's silent drop for an invalid website_id
    site = runtime.sites.by_uuid(website_uuid)
    if site is None:
        return None
    page = split_url(url)
    width = fields.screen_width
    overrides: dict[str, str] = {}
    if fields.utm_source or fields.utm_medium or fields.utm_campaign:
        for name in ("utm_source", "utm_medium", "utm_campaign"):
            if value := getattr(fields, name):
                overrides[name] = value[:500]
    # Positional arguments, in the field order of `Hit`: matching a dozen keywords costs
    # more than building the rest of the hit (1.2 against 0.55 µs).
    return Hit(
        site.id,  # site_id
        PAGEVIEW if event_type == TINYTRAIL_PAGE_VIEW else event_type,  # name
        runtime.clock(),  # timestamp
        page.hostname or site.domain,  # hostname
        clean_path(path),  # pathname
        ip,  # ip
        user_agent,  # user_agent
        (fields.referrer or "")[:MAX_URL],  # referrer
        page.params,  # params
        overrides,  # utm_overrides
        int(width) if width is not None and 0 <= width < 100_000 else 0,  # screen_width
        props,  # props
    )


@lru_cache(maxsize=4096)
def _canonical_uuid(text: str) -> str | None:
    """A website id in its canonical form, or None; memoised (a server has few websites)."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None
