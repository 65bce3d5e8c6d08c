"""A shortcut for the collectors around the application's middleware and router.

The collectors answer most of the server's requests and are timed in microseconds; routing
through Starlette's middleware stack and the route table roughly doubles their cost. Their
handlers are ordinary Starlette endpoints, so the shortcut only calls them directly; every other
request goes through the full application.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tinytrail.api.goatcounter import tracker as goatcounter_tracker
from tinytrail.api.http import JSON
from tinytrail.api.plausible.events import post_event
from tinytrail.api.tinytrail.collect import collect

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
HOT: dict[tuple[str, str], Endpoint] = {
    ("POST", "/api/v1/collect"): collect,
    ("POST", "/api/event"): post_event,
    ("GET", "/count"): goatcounter_tracker.count,
    ("POST", "/count"): goatcounter_tracker.count,
}


class HotPath:
    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state  # tests and tools reach the runtime as app.state.runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = None
        if scope["type"] == "http":
            endpoint = HOT.get((scope["method"], scope["path"]))
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        scope["app"] = self.app
        try:
            response = await endpoint(Request(scope, receive))
        except Exception:
            log.exception("unhandled error in a collector")
            response = JSON(
                {
                    "status": "error",
                    "error": {"code": "INTERNAL_ERROR", "message": "Internal error"},
                },
                status_code=500,
            )
        await response(scope, receive, send)
