"""Admin endpoints behind `tinytrail import/export --format goatcounter` when a server is running.

The data folder has one owner (DuckDB), so the CLI hands the file to the server instead of
opening the store itself. Both speak the TinyTrail envelope and need an admin key:
`POST /api/v1/admin/goatcounter/import?site_id=` takes a GoatCounter CSV (plain or gzipped)
as the body; `GET /api/v1/admin/goatcounter/export?site_id=&start_from_hit_id=` streams one.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Iterator

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from tinytrail.api.tinytrail.envelope import endpoint, runtime_of, success
from tinytrail.api.tinytrail.imports import summary_json
from tinytrail.errors import InvalidInput, NotFound
from tinytrail.ingest.goatcounter_csv import CSVFormatError, GoatCounterImporter, write_export
from tinytrail.ingest.importer import find_site
from tinytrail.ingest.sites import SiteRules
from tinytrail.runtime import Runtime


def admin_routes() -> list[Route]:
    return [
        Route("/api/v1/admin/goatcounter/import", import_csv, methods=["POST"]),
        Route("/api/v1/admin/goatcounter/export", export_csv, methods=["GET"]),
    ]


def _site(runtime: Runtime, request: Request) -> SiteRules:
    ref = request.query_params.get("site_id", "")
    if not ref.strip():
        raise InvalidInput("site_id is required (a domain or a website id)")
    site = find_site(runtime.sites, ref)
    if site is None:
        raise NotFound("Website not found")
    return site


@endpoint(admin=True)
async def import_csv(request: Request) -> Response:
    runtime = runtime_of(request)
    site = _site(runtime, request)
    loop = asyncio.get_running_loop()
    chunks = _pull(request.stream(), loop)
    importer = GoatCounterImporter.of(runtime)

    def remember(items: list[tuple[bool, str, str]]) -> None:
        runtime.goatcounter.repo.remember_titles(site.id, items)

    try:
        summary = await asyncio.to_thread(importer.import_csv, site, chunks, remember)
    except CSVFormatError as exc:
        raise InvalidInput(str(exc)) from None
    await asyncio.to_thread(runtime.forget_old_salts)
    return success(summary_json(summary))


def _pull(stream: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> Iterator[bytes]:
    """The body's chunks for a worker thread, each awaited on the event loop when needed."""

    async def next_chunk() -> bytes | None:
        return await anext(stream, None)

    while (chunk := asyncio.run_coroutine_threadsafe(next_chunk(), loop).result()) is not None:
        if chunk:
            yield chunk


@endpoint(admin=True)
async def export_csv(request: Request) -> Response:
    runtime = runtime_of(request)
    site = _site(runtime, request)
    raw = request.query_params.get("start_from_hit_id", "0").strip() or "0"
    if not raw.isdigit():
        raise InvalidInput("start_from_hit_id must be a non-negative integer")
    path = await asyncio.to_thread(_render, runtime, site.id, int(raw))
    # Written to a file first, so a large export never sits in memory; removed once sent.
    return FileResponse(
        path,
        media_type="text/csv; charset=utf-8",
        background=BackgroundTask(os.remove, path),
    )


def _render(runtime: Runtime, site_id: int, start: int) -> str:
    runtime.flusher.flush()
    folder = runtime.settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix="admin-export-", suffix=".csv", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
        write_export(
            runtime.store,
            site_id,
            start,
            out,
            lambda keys: runtime.goatcounter.repo.titles(site_id, keys),
        )
    return path
