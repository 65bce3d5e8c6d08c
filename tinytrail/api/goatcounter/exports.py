"""`/api/v0/export...`: start a CSV export, poll it, download it (reference section 4)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from starlette.responses import FileResponse, Response

from tinytrail.api.goatcounter import decode as d
from tinytrail.api.goatcounter.auth import Call, api
from tinytrail.api.goatcounter.common import error, field_errors, not_found, rfc3339
from tinytrail.api.http import JSON
from tinytrail.meta.models import GoatCounterExport

STRUCT = "apiExportRequest"
REQUEST = {"format": "string", "start_from_hit_id": "int64", "start_from_day": "time.Time"}
GONE = "exports are kept for 24 hours; this export file has been deleted"


def export_json(export: GoatCounterExport) -> dict[str, Any]:
    shaped = {
        "id": export.id,
        "site_id": export.site_id,
        "format": export.format,
        # v2.7 always sends the cursor (HEAD omits a zero one); older clients expect it.
        "start_from_hit_id": export.start_from_hit_id,
        "last_hit_id": export.last_hit_id,
        "path": export.path,
        "created_at": rfc3339(export.created_at),
        "finished_at": rfc3339(export.finished_at),
        "num_rows": export.num_rows,
        "size": export.size,
        "hash": export.hash,
    }
    # `error` only when there is one: goatpie treats any `error` key in the answer to
    # POST /export as a failure, `null` included.
    if export.error is not None:
        shaped["error"] = export.error
    return shaped


@api("export", bucket="export", struct=STRUCT)
async def start_export(call: Call) -> Response:
    body = d.pick(call.body, REQUEST)
    form = d.string(body.get("format", ""), STRUCT, "format")
    if form not in ("", "csv"):
        # A missing format means CSV, as documented (quirk Q5); JSON (zip) exports are
        # upstream's unreleased work and not offered here.
        raise error(400, f'unknown format: "{form}"')
    if "start_from_day" in body:
        raise error(400, "start_from_day is only valid for JSON exports")
    start = d.integer(body.get("start_from_hit_id", 0), STRUCT, "start_from_hit_id")
    if start < 0:
        raise field_errors({"start_from_hit_id": ["must be 0 or greater"]})
    site = call.site()
    service = call.runtime.goatcounter
    code = (await asyncio.to_thread(service.repo.site, site.id)).code
    export = await asyncio.to_thread(service.exports.start, site.id, code, start)
    return JSON(export_json(export), status_code=202)


def _export_id(call: Call) -> int:
    raw = str(call.request.path_params.get("id", ""))
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise field_errors({"id": ["must be a number"]})
    return int(raw)


def _owned_export(call: Call) -> GoatCounterExport:
    """An export of the request's site (reference 4.3); anything else is `not found`.

    The site is one of the key's account (`Call.site`), so other accounts' exports are never
    found either."""
    export = call.runtime.goatcounter.repo.get_export(_export_id(call))
    if export is None or export.site_id != call.site().id:
        raise not_found()
    return export


@api("export")
async def get_export(call: Call) -> Response:
    return JSON(export_json(_owned_export(call)))


@api("export")
async def download_export(call: Call) -> Response:
    export = _owned_export(call)
    if export.finished_at is None:
        # An error text on a 2xx is upstream's contract (quirk Q7); clients poll finished_at.
        return JSON({"error": "still being generated"}, status_code=202)
    if export.error:
        raise error(400, export.error)
    if not os.path.exists(export.path):
        # Upstream answers 500 once the file is older than a day (quirk Q6); 400 is the
        # documented answer for a deleted export.
        raise error(400, GONE)
    return FileResponse(
        export.path,
        media_type="application/gzip",
        filename=os.path.basename(export.path),
    )
