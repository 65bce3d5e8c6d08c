"""Number formats and CSV output of the TinyTrail reports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from starlette.responses import Response

from tinytrail.ingest.model import PAGEVIEW, TINYTRAIL_PAGE_VIEW


def _round(value: float, places: int) -> float | int:
    quantum = Decimal(1).scaleb(-places)
    rounded = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    return int(rounded) if places == 0 else float(rounded)


def metric_value(engine_metric: str, value: Any) -> float | int:
    """Counts as integers, bounce rate in percent to one decimal, durations in whole seconds."""
    if engine_metric == "bounce_rate":
        return float(_round(float(value or 0), 1))
    if value is None:
        return 0
    if engine_metric == "visit_duration":
        return _round(float(value), 0)
    return int(value)


def change_pct(value: float, previous: float) -> float | None:
    """Relative change in percent, two decimals; null when there is nothing to compare to."""
    if not previous:
        return None
    return _round((value - previous) / previous * 100, 2)


def ratio(part: int, whole: int) -> float:
    return _round(part / whole * 100, 2) if whole else 0.0


def event_type(name: object) -> str:
    return TINYTRAIL_PAGE_VIEW if name == PAGEVIEW else str(name)


def device_label(dimension: str, raw: object) -> str:
    value = str(raw)
    if dimension == "visit:device":
        return value.lower() if value and value != "(not set)" else "unknown"
    return value if value and value != "(not set)" else "Unknown"


def _csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()


def csv_response(name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    return Response(
        _csv(columns, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def csv_rows(name: str, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Response:
    return csv_response(name, columns, ([row.get(c) for c in columns] for row in rows))
