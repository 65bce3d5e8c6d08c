"""A shortcut for the collectors around the application's middleware and router.

The collectors answer most of the server's requests and are timed in microseconds; routing
through Starlette's middleware stack and the route table roughly doubles their cost, and
Starlette's Request and Response objects (header views, streams, header encoding) cost about as
much again. So the two JSON collectors take the raw ASGI request (`Incoming`) and answer with a
prepared `Reply`; GoatCounter's `/count` pixel, an ordinary Starlette endpoint, is only called
directly. Every other request goes through the full application.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tinytrail.api.goatcounter import tracker as goatcounter_tracker
from tinytrail.api.http import JSON, Incoming, Reply
from tinytrail.api.plausible.events import post_event_raw
from tinytrail.api.tinytrail.collect import collect_raw
from tinytrail.runtime import Runtime

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
RawEndpoint = Callable[[Runtime, Incoming], Awaitable[Reply]]
RAW: dict[tuple[str, str], RawEndpoint] = {
    ("POST", "/api/v1/collect"): collect_raw,
    ("POST", "/api/event"): post_event_raw,
}
HOT: dict[tuple[str, str], Endpoint] = {
    ("GET", "/count"): goatcounter_tracker.count,
    ("POST", "/count"): goatcounter_tracker.count,
}
INTERNAL_ERROR = JSON(
    {"status": "error", "error": {"code": "INTERNAL_ERROR", "message": "Internal error"}},
    status_code=500,
)
# An unexpected failure is answered in the format of the API that was called.
FAILED: dict[tuple[str, str], Response] = {
    ("POST", "/api/event"): JSON({"errors": {"request": ["Internal error"]}}, status_code=500),
    ("GET", "/count"): goatcounter_tracker.gif(500, "internal error"),
    ("POST", "/count"): goatcounter_tracker.gif(500, "internal error"),
}


class HotPath:
    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state  # tests and tools reach the runtime as app.state.runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = (scope["method"], scope["path"])
        raw = RAW.get(key)
        if raw is not None:
            try:
                reply = await raw(self.state.runtime, Incoming(scope, receive))
            except ClientDisconnect:
                return  # nobody to answer; nothing was acknowledged
            except Exception:
                log.exception("unhandled error in a collector")
                reply = Reply.of(FAILED.get(key, INTERNAL_ERROR))
            start, body = reply.messages()
            await send(start)
            await send(body)
            return
        endpoint = HOT.get(key)
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app
        try:
            response = await endpoint(Request(scope, receive))
        except Exception:
            log.exception("unhandled error in a collector")
            response = FAILED.get(key, INTERNAL_ERROR)
        await response(scope, receive, send)
