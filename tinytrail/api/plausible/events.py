"""Plausible's Events API, `POST /api/event`, so the official tracker can point at us.

Same pipeline as every collector. Plausible answers 202 for accepted *and* silently dropped
events (dropped ones carry `x-plausible-dropped`), and 400 `{"errors": {field: [msg]}}` for
requests it cannot read (plausible-reference.md section 2).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.collecting import LOG_UNAVAILABLE, accept, accept_one, cors_raw, preflight
from tinytrail.api.http import (
    JSON,
    BodyTooLarge,
    Incoming,
    Reply,
    decode_json,
    incoming_ip,
    plausible_client_ip,
)
from tinytrail.ingest.model import ENGAGEMENT, Hit
from tinytrail.ingest.pipeline import Outcome
from tinytrail.ingest.urls import CACHED_URL, PageUrl, split_url
from tinytrail.ingest.wal import LogUnavailable
from tinytrail.runtime import Runtime

MAX_URL_BYTES = 2000
MAX_NAME = 120
MAX_ENGAGEMENT_MS = 30 * 24 * 3600 * 1000
MAX_PROPS = 30
MAX_PROP_KEY_BYTES = 300
MAX_PROP_VALUE_BYTES = 2000
TEXT = b"text/plain; charset=utf-8"
# The 202's own headers, after the CORS ones (what `reply` adds for this body).
_OK_HEADERS = [(b"content-length", b"2"), (b"content-type", TEXT)]
MAX_CACHED_DOMAINS = 512  # longer `d` fields are split every time (the cache stays small)


class FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _errors(field: str, message: str, status: int = 400) -> JSON:
    return JSON({"errors": {field: [message]}}, status_code=status)


async def event_preflight(request: Request) -> Response:
    return preflight(request)


async def post_event(request: Request) -> Response:
    """The route table's entry; the server's hot path calls `post_event_raw` directly."""
    runtime: Runtime = request.app.state.runtime
    reply = await post_event_raw(runtime, Incoming(request.scope, request.receive))
    return reply.response()


async def post_event_raw(runtime: Runtime, incoming: Incoming) -> Reply:
    cors = cors_raw(incoming)
    limit = runtime.settings.rate_limit_events  # off unless configured, as in Plausible
    if limit is not None:
        sender = incoming_ip(incoming, runtime.settings.trusted_proxies)
        if retry_after := runtime.limiter.refuse("events", sender, limit):
            refused = _errors("request", "Too many requests", 429)
            return Reply.of(refused, [*cors, (b"retry-after", str(retry_after).encode())])
    try:
        body = await incoming.body(runtime.settings.max_body_bytes)
    except BodyTooLarge:
        return Reply.of(_errors("request", "Request body is too large", 413), cors)
    try:
        payload = decode_json(body)
        if not isinstance(payload, dict):
            raise ValueError
    except Exception:
        return Reply.of(_errors("request", "Unable to parse request body as json"), cors)
    try:
        visitor_ip = plausible_client_ip(incoming)
        hits, unknown = _decode(payload, runtime, visitor_ip, incoming.header(b"user-agent"))
    except FieldError as exc:
        return Reply.of(_errors(exc.field, exc.message), cors)
    try:
        if len(hits) == 1:  # the usual request: one event for one site
            dropped = unknown + (await accept_one(runtime, hits[0]) is not Outcome.ACCEPTED)
        else:
            outcomes = await accept(runtime, hits) if hits else []
            dropped = sum(1 for o in outcomes if o is not Outcome.ACCEPTED) + unknown
    except LogUnavailable:
        return Reply.of(_errors("request", LOG_UNAVAILABLE, 500), cors)
    if dropped:
        cors.append((b"x-plausible-dropped", str(dropped).encode()))
    return Reply(202, cors + _OK_HEADERS, b"ok")


def _first(payload: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in payload:
            return payload[name]
    return None


def _decode(
    payload: dict[str, Any], runtime: Runtime, ip: str, user_agent: str
) -> tuple[list[Hit], int]:
    """The hits to ingest (one per known domain) and how many domains were unknown.

    The short keys the tracker sends are looked up inline before their long forms (as
    `_first` does): this runs for every event, and the calls were a visible part of it.
    """
    get = payload.get
    name = payload["n"] if "n" in payload else get("name")
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not name.strip():
        raise FieldError("event_name", "can't be blank")
    if len(name) > MAX_NAME:
        raise FieldError("event_name", f"should be at most {MAX_NAME} character(s)")
    url = payload["u"] if "u" in payload else get("url")
    if not isinstance(url, str):
        raise FieldError("url", "is required")
    hash_mode = bool(payload["h"] if "h" in payload else get("hashMode"))
    page = _cached_page(url, hash_mode) if len(url) <= CACHED_URL else _page(url, hash_mode)
    if isinstance(page, str):
        raise FieldError("url", page)
    domain_field = payload["d"] if "d" in payload else get("domain")
    if domain_field is None:
        domains: tuple[str, ...] = (page.hostname,)
    elif not isinstance(domain_field, str) or not domain_field.strip():
        raise FieldError("domain", "can't be blank")
    elif len(domain_field) <= MAX_CACHED_DOMAINS:
        domains = _domains(domain_field)
    else:
        domains = _domains.__wrapped__(domain_field)
    referrer = payload["r"] if "r" in payload else get("referrer")
    props_raw = _first(payload, "p", "props", "m", "meta")
    if isinstance(props_raw, str):
        try:
            props_raw = decode_json(props_raw.encode())
        except Exception:
            props_raw = None
    props = _props(props_raw) if props_raw else {}
    if "sd" in payload or "e" in payload or name == ENGAGEMENT:
        scroll_depth, engagement_ms = _engagement(payload, name)
    else:
        scroll_depth = engagement_ms = None  # what `_engagement` finds in neither
    revenue = _first(payload, "$", "revenue")
    amount, currency = _revenue(revenue) if revenue is not None else (None, "")
    interactive = payload["i"] if "i" in payload else get("interactive")
    hits: list[Hit] = []
    unknown = 0
    for domain in domains:
        site = runtime.sites.by_domain(domain) if domain else None
        if site is None:
            unknown += 1
            continue
        hits.append(
            Hit(  # positional, in field order: see the TinyTrail collector's `_decode`
                site.id,  # site_id
                name.strip(),  # name
                runtime.clock(),  # timestamp
                page.hostname or "(none)",  # hostname
                page.pathname,  # pathname
                ip,  # ip
                user_agent,  # user_agent
                referrer[:MAX_URL_BYTES] if isinstance(referrer, str) else "",  # referrer
                page.params,  # params
                {},  # utm_overrides
                0,  # screen_width
                props,  # props
                amount,  # revenue_amount
                currency,  # revenue_currency
                interactive is not False,  # interactive
                scroll_depth,  # scroll_depth
                engagement_ms,  # engagement_ms
            )
        )
    return hits, unknown


def _page(url: str, hash_mode: bool) -> PageUrl | str:
    """The page a `u` string names, or what is wrong with it."""
    stripped = url.strip()
    if not stripped:
        return "is required"
    if _utf8_size(url) > MAX_URL_BYTES:
        return f"must be at most {MAX_URL_BYTES} bytes"
    if stripped.lower().startswith("data:"):
        return "is invalid"
    return split_url(url, hash_mode)


# A site's pages are sent over and over: short URLs are checked and split once (the result
# is shared, read-only, as `split_url`'s is).
_cached_page = lru_cache(maxsize=8192)(_page)


def _utf8_size(text: str) -> int:
    """`len(text.encode("utf-8", "surrogatepass"))`, without encoding ASCII text."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


@lru_cache(maxsize=1024)
def _domains(field: str) -> tuple[str, ...]:
    """The domains of a `d` field, normalised; memoised (a site sends the same one)."""
    return tuple(d.strip().lower().removeprefix("www.") for d in field.split(","))


def _props(value: Any) -> dict[str, str]:
    """Plausible's rules: scalar values only, blanks dropped, the first 30 kept, sizes in bytes."""
    if not isinstance(value, dict):
        return {}
    props: dict[str, str] = {}
    for key, raw in value.items():
        if isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, int | float | str):
            text = str(raw)
        else:
            continue  # lists, objects and null are not custom properties
        if not text.strip() or not key.strip():
            continue
        if len(key.encode("utf-8", "surrogatepass")) > MAX_PROP_KEY_BYTES:
            raise FieldError("props", f"keys should be at most {MAX_PROP_KEY_BYTES} bytes")
        if len(text.encode("utf-8", "surrogatepass")) > MAX_PROP_VALUE_BYTES:
            raise FieldError("props", f"values should be at most {MAX_PROP_VALUE_BYTES} bytes")
        if len(props) < MAX_PROPS:
            props[key] = text
    return props


def _engagement(payload: dict[str, Any], name: str) -> tuple[int | None, int | None]:
    depth, engaged = _integer(payload.get("sd")), _integer(payload.get("e"))
    scroll = min(depth, 100) if depth is not None and depth >= 0 else None
    time_ms = engaged if engaged is not None and 0 <= engaged < MAX_ENGAGEMENT_MS else None
    if name == ENGAGEMENT and scroll is None and time_ms is None:
        raise FieldError(
            "event_name",
            "engagement event requires a valid integer value for at least one of 'sd' or 'e' "
            "fields",
        )
    return scroll, time_ms


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


MAX_REVENUE = 1e15  # the stored amount is a DECIMAL(18, 3)


def _revenue(value: Any) -> tuple[float | None, str]:
    """Plausible silently discards invalid revenue rather than rejecting the event."""
    if not isinstance(value, dict):
        return None, ""
    currency = value.get("currency")
    amount = value.get("amount")
    if isinstance(amount, str):
        try:
            amount = float(amount)
        except ValueError:
            return None, ""
    if (
        not isinstance(currency, str)
        or len(currency) != 3
        or not currency.isalpha()
        or isinstance(amount, bool)
        or not isinstance(amount, int | float)
        or not abs(amount) < MAX_REVENUE  # also NaN and infinities
    ):
        return None, ""
    return float(amount), currency.upper()
