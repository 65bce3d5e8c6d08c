"""create_app(settings): the ASGI application. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.hotpath import HotPath
from tinytrail.api.http import JSON
from tinytrail.api.routes import routes
from tinytrail.jobs import run_jobs
from tinytrail.runtime import Runtime
from tinytrail.settings import Settings
from tinytrail.timeutil import utcnow

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    clock: Callable[[], datetime] = utcnow,
    runtime: Runtime | None = None,
    note_address: bool = False,
) -> HotPath:
    """The application; `note_address`: note the listening URL in the data folder while serving
    (the `serve` command), so `import`, `demo` and the others find this server."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        rt = runtime or Runtime(settings, clock)
        app.state.runtime = rt
        rt.start()
        jobs = asyncio.create_task(run_jobs(rt))
        if note_address:
            settings.address_note.write_text(settings.local_url + "\n")
            _settle_heap()
        try:
            yield
        finally:
            if note_address:
                settings.address_note.unlink(missing_ok=True)
            jobs.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await jobs
            rt.stop()

    app = Starlette(
        routes=routes(),
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    return HotPath(app)


def _settle_heap() -> None:
    """Keep what start-up built out of every later full garbage collection.

    Modules, routes, caches and parsers are ~130k objects that live as long as the server.
    A full collection walked all of them each time (40-60 ms at a time under ingestion load,
    every few seconds), which showed in the p99 latency of collection. Frozen, they are never
    walked again. Only the serving process does this (see create_app's note_address): a test
    process that builds many apps must still collect their garbage.
    """
    gc.collect()
    gc.freeze()


# Paths whose API answers errors as `{"error": message}`: Plausible's and GoatCounter's.
_BARE_ERROR_PREFIXES = ("/api/v2/", "/api/v0/", "/api/v1/sites/")


def _error(request: Request, status: int, code: str, message: str, **kwargs: Any) -> Response:
    """An error the router or an unexpected exception answers, in the envelope of the API the
    path belongs to (each API owns its error format, even for a wrong method)."""
    path = request.url.path
    body: dict[str, Any]
    if path == "/api/event":  # the Events API's shape (api/plausible/events.py)
        body = {"errors": {"request": [message]}}
    elif path == "/api/v1/sites" or path.startswith(_BARE_ERROR_PREFIXES):
        body = {"error": message}
    else:
        body = {"status": "error", "error": {"code": code, "message": message}}
    return JSON(body, status_code=status, **kwargs)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods."""
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "INVALID_PAYLOAD"}.get(exc.status_code, "INTERNAL_ERROR")
    message = "Not found" if exc.status_code == 404 else str(exc.detail)
    return _error(request, exc.status_code, code, message, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error")
    return _error(request, 500, "INTERNAL_ERROR", "Internal error")
