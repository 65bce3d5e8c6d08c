"""What every collector endpoint shares: CORS, custom props, handing hits to the pipeline."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.http import Incoming, RawHeaders
from tinytrail.errors import InvalidInput
from tinytrail.ingest.model import Hit
from tinytrail.ingest.pipeline import Outcome
from tinytrail.runtime import Runtime

MAX_PROPS = 30
MAX_PROP_KEY = 300
MAX_PROP_VALUE = 2000


def cors_headers(request: Request) -> dict[str, str]:
    """Collectors are called from any site's pages; echo the origin (credentials never used)."""
    origin = request.headers.get("origin")
    headers = {"Vary": "Origin", "Access-Control-Allow-Credentials": "true"}
    headers["Access-Control-Allow-Origin"] = origin or "*"
    return headers


def preflight(request: Request, max_age: int | None = None) -> Response:
    """The answer to a collector's CORS preflight: a JSON POST from any origin."""
    headers = cors_headers(request)
    headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    headers["Access-Control-Allow-Headers"] = "Content-Type"
    if max_age is not None:
        headers["Access-Control-Max-Age"] = str(max_age)
    return Response(status_code=204, headers=headers)


def cors_raw(incoming: Incoming) -> RawHeaders:
    """`cors_headers` for the collectors' raw replies: the origin's bytes echoed as they came."""
    return [
        (b"vary", b"Origin"),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-allow-origin", incoming.headers.get(b"origin") or b"*"),
    ]


def decode_props(value: Any, field: str) -> dict[str, str]:
    """Custom properties as strings: scalars kept, nested values JSON-encoded, blanks dropped."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be an object")
    props: dict[str, str] = {}
    for key, raw in value.items():
        if raw is None or raw == "":
            continue
        if len(key) > MAX_PROP_KEY:
            raise InvalidInput(f"{field}: keys must be at most {MAX_PROP_KEY} characters")
        if isinstance(raw, str):
            text = raw
        elif isinstance(raw, bool):
            text = "true" if raw else "false"
        elif isinstance(raw, int | float):
            text = str(raw)
        else:
            text = msgspec.json.encode(raw).decode()
        if len(text) > MAX_PROP_VALUE:
            raise InvalidInput(f"{field}: values must be at most {MAX_PROP_VALUE} characters")
        props[key] = text
        if len(props) > MAX_PROPS:
            raise InvalidInput(f"{field}: at most {MAX_PROPS} properties per event")
    return props


# What a collector answers (500, in its API's format) when the log cannot write.
LOG_UNAVAILABLE = "Could not store the event (the server's event log cannot write); try again"


# How long one request may be held while the store works through a backlog (see `_hold`),
# and how often it looks again: from 10 ms up to 100 ms (the backlog only shrinks when a
# flush completes, every few hundred ms; frequent wake-ups of many held requests would take
# CPU from the flusher they wait for).
MAX_HOLD_S = 5.0
FIRST_LOOK_S, LAST_LOOK_S = 0.01, 0.1


async def _hold(runtime: Runtime) -> None:
    """Backpressure: while more accepted events wait for the store than
    `TINYTRAIL_MAX_BACKLOG`, hold this request until the flusher has caught up.

    Every event stays accepted (the log has it) however far behind the store is; holding
    answers only slows the senders, so that a sustained overload cannot grow the server's
    memory without bound. A request is held at most `MAX_HOLD_S` (a store that fails for good
    must not stop ingestion: the log keeps what arrives).
    """
    flusher, limit = runtime.flusher, runtime.settings.max_backlog
    loop = asyncio.get_running_loop()
    until = loop.time() + MAX_HOLD_S
    pause = FIRST_LOOK_S
    while flusher.backlog() >= limit and loop.time() < until:
        await asyncio.sleep(pause)
        pause = min(pause * 2, LAST_LOOK_S)


async def accept(runtime: Runtime, hits: list[Hit]) -> list[Outcome]:
    """Run hits through the pipeline; return once counted events are durable in the log.

    Raises `LogUnavailable` when the log could not write them: nothing is acknowledged then.
    """
    if runtime.flusher.backlog() >= runtime.settings.max_backlog:
        await _hold(runtime)
    result = runtime.ingestor.ingest(hits)
    runtime.flusher.nudge()
    if any(outcome is Outcome.ACCEPTED for outcome in result.outcomes):
        await runtime.wal.wait(result.ticket)
    return result.outcomes


async def accept_one(runtime: Runtime, hit: Hit) -> Outcome:
    """`accept` for a request of one hit (most of them), without its lists."""
    if runtime.flusher.backlog() >= runtime.settings.max_backlog:
        await _hold(runtime)
    outcome, ticket = runtime.ingestor.ingest_one(hit)
    runtime.flusher.nudge()
    if outcome is Outcome.ACCEPTED and (on_disk := runtime.wal.durable(ticket)) is not None:
        await on_disk
    return outcome
