"""`POST /api/v1/admin/import`: load raw historical events (NDJSON, Plausible columns).

The body may be far larger than the collectors' limit, so it is never read whole: the import
runs on a worker thread and pulls the body chunk by chunk from the event loop, which also paces
the upload to the speed of the import.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tinytrail.api.tinytrail.envelope import endpoint, runtime_of, success
from tinytrail.errors import InvalidInput, NotFound
from tinytrail.ingest.importer import Importer, ImportSummary, find_site, split_lines
from tinytrail.ingest.sites import SiteRules
from tinytrail.runtime import Runtime

CONTENT_TYPES = ("application/x-ndjson", "application/jsonl", "application/json", "text/plain")


def import_routes() -> list[Route]:
    return [Route("/api/v1/admin/import", import_events, methods=["POST"])]


@endpoint(admin=True)
async def import_events(request: Request) -> Response:
    runtime = runtime_of(request)
    site = _site(runtime, request.query_params.get("site_id", ""))
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES:
        raise InvalidInput("Content-Type must be application/x-ndjson")
    chunks = _pull(request.stream(), asyncio.get_running_loop())
    summary = await asyncio.to_thread(Importer.of(runtime).import_lines, site, split_lines(chunks))
    # Raw-IP lines created salts for their historical dates; drop them now, not at the next job.
    await asyncio.to_thread(runtime.forget_old_salts)
    return success(summary_json(summary))


def _site(runtime: Runtime, site_id: str) -> SiteRules:
    if not site_id.strip():
        raise InvalidInput("site_id is required (a domain or a website id)")
    site = find_site(runtime.sites, site_id)
    if site is None:
        raise NotFound("Website not found")
    return site


def summary_json(summary: ImportSummary) -> dict[str, Any]:
    return {
        "loaded": summary.loaded,
        "skipped": summary.skipped,
        "errors": [{"line": line, "message": message} for line, message in summary.errors],
    }


def _pull(stream: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> Iterator[bytes]:
    """The body's chunks for a worker thread, each fetched on the event loop when needed."""

    async def next_chunk() -> bytes | None:
        return await anext(stream, None)

    while (chunk := asyncio.run_coroutine_threadsafe(next_chunk(), loop).result()) is not None:
        if chunk:
            yield chunk
