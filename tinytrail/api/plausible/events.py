"""Plausible's Events API, `POST /api/event`, so the official tracker can point at us.

Same pipeline as every collector. Plausible answers 202 for accepted *and* silently dropped
events (dropped ones carry `x-plausible-dropped`), and 400 `{"errors": {field: [msg]}}` for
requests it cannot read (plausible-reference.md section 2).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.collecting import LOG_UNAVAILABLE, accept, cors_raw, preflight
from tinytrail.api.http import (
    JSON,
    BodyTooLarge,
    Incoming,
    Reply,
    decode_json,
    incoming_ip,
    plausible_client_ip,
    reply,
)
from tinytrail.ingest.model import ENGAGEMENT, Hit
from tinytrail.ingest.pipeline import Outcome
from tinytrail.ingest.urls import split_url
from tinytrail.ingest.wal import LogUnavailable
from tinytrail.runtime import Runtime

MAX_URL_BYTES = 2000
MAX_NAME = 120
MAX_ENGAGEMENT_MS = 30 * 24 * 3600 * 1000
MAX_PROPS = 30
MAX_PROP_KEY_BYTES = 300
MAX_PROP_VALUE_BYTES = 2000
TEXT = b"text/plain; charset=utf-8"


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
        outcomes = await accept(runtime, hits) if hits else []
    except LogUnavailable:
        return Reply.of(_errors("request", LOG_UNAVAILABLE, 500), cors)
    dropped = sum(1 for o in outcomes if o is not Outcome.ACCEPTED) + unknown
    if dropped:
        cors.append((b"x-plausible-dropped", str(dropped).encode()))
    return reply(202, cors, b"ok", TEXT)


def _first(payload: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in payload:
            return payload[name]
    return None


def _decode(
    payload: dict[str, Any], runtime: Runtime, ip: str, user_agent: str
) -> tuple[list[Hit], int]:
    """The hits to ingest (one per known domain) and how many domains were unknown."""
    name = _first(payload, "n", "name")
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not name.strip():
        raise FieldError("event_name", "can't be blank")
    if len(name) > MAX_NAME:
        raise FieldError("event_name", f"should be at most {MAX_NAME} character(s)")
    url = _first(payload, "u", "url")
    if not isinstance(url, str) or not url.strip():
        raise FieldError("url", "is required")
    if len(url.encode("utf-8", "surrogatepass")) > MAX_URL_BYTES:
        raise FieldError("url", f"must be at most {MAX_URL_BYTES} bytes")
    if url.strip().lower().startswith("data:"):
        raise FieldError("url", "is invalid")
    page = split_url(url, hash_mode=bool(_first(payload, "h", "hashMode")))
    domain_field = _first(payload, "d", "domain")
    if domain_field is None:
        domains = [page.hostname]
    elif not isinstance(domain_field, str) or not domain_field.strip():
        raise FieldError("domain", "can't be blank")
    else:
        domains = [d.strip().lower().removeprefix("www.") for d in domain_field.split(",")]
    referrer = _first(payload, "r", "referrer")
    props_raw = _first(payload, "p", "props", "m", "meta")
    if isinstance(props_raw, str):
        try:
            props_raw = decode_json(props_raw.encode())
        except Exception:
            props_raw = None
    props = _props(props_raw)
    scroll_depth, engagement_ms = _engagement(payload, name)
    amount, currency = _revenue(_first(payload, "$", "revenue"))
    interactive = _first(payload, "i", "interactive")
    hits: list[Hit] = []
    unknown = 0
    for domain in domains:
        site = runtime.sites.by_domain(domain) if domain else None
        if site is None:
            unknown += 1
            continue
        hits.append(
            Hit(
                site_id=site.id,
                name=name.strip(),
                timestamp=runtime.clock(),
                hostname=page.hostname or "(none)",
                pathname=page.pathname,
                ip=ip,
                user_agent=user_agent,
                referrer=referrer[:MAX_URL_BYTES] if isinstance(referrer, str) else "",
                params=page.params,
                props=props,
                revenue_amount=amount,
                revenue_currency=currency,
                interactive=interactive is not False,
                scroll_depth=scroll_depth,
                engagement_ms=engagement_ms,
            )
        )
    return hits, unknown


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
