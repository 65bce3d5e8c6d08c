"""Turning lists of events and visits into Arrow tables: DuckDB's fastest insert path."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import pyarrow as pa

from tinytrail.ingest.model import EVENT_FIELDS, Event
from tinytrail.ingest.sessions import VISIT_FIELDS, Visit

_TIMESTAMP = pa.timestamp("us")
_EVENT_TYPES: dict[str, pa.DataType] = {
    "seq": pa.uint64(),
    "site_id": pa.uint32(),
    "ts": _TIMESTAMP,
    "visitor_id": pa.uint64(),
    "session_id": pa.uint64(),
    "city": pa.uint32(),
    "screen_width": pa.uint16(),
    "props": pa.map_(pa.string(), pa.string()),
    "revenue_amount": pa.float64(),
    "scroll_depth": pa.uint8(),
    "engagement_ms": pa.uint32(),
    "is_bot": pa.bool_(),
    "is_excluded": pa.bool_(),
    "interactive": pa.bool_(),
}
_VISIT_TYPES: dict[str, pa.DataType] = {
    "session_id": pa.uint64(),
    "site_id": pa.uint32(),
    "visitor_id": pa.uint64(),
    "start": _TIMESTAMP,
    "last_activity": _TIMESTAMP,
    "last_event": _TIMESTAMP,
    "pageviews": pa.uint32(),
    "events": pa.uint32(),
    "interactive_events": pa.uint32(),
    "is_bounce": pa.bool_(),
    "city": pa.uint32(),
    "screen_width": pa.uint16(),
    "is_bot": pa.bool_(),
    "is_excluded": pa.bool_(),
}


def _table(
    rows: Sequence[msgspec.Struct], names: tuple[str, ...], types: dict[str, pa.DataType]
) -> pa.Table:
    # Transposing tuples with zip(*) runs in C: far cheaper than a getattr per cell.
    columns = zip(*(msgspec.structs.astuple(row) for row in rows), strict=True)
    arrays = []
    for name, values in zip(names, columns, strict=True):
        if name == "props":
            values = tuple(list(v.items()) for v in values)
        arrays.append(pa.array(values, type=types.get(name, pa.string())))
    return pa.Table.from_arrays(arrays, names=list(names))


def events_table(events: Sequence[Event]) -> pa.Table:
    return _table(events, EVENT_FIELDS, _EVENT_TYPES)


def visits_table(visits: Sequence[Visit]) -> pa.Table:
    return _table(visits, VISIT_FIELDS, _VISIT_TYPES)
