"""Turning lists of events and visits into Arrow tables: DuckDB's fastest insert path."""

from __future__ import annotations

from collections.abc import Sequence

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


def events_table(events: Sequence[Event]) -> pa.Table:
    columns = []
    for name in EVENT_FIELDS:
        values = [getattr(e, name) for e in events]
        if name == "props":
            values = [list(v.items()) for v in values]
        columns.append(pa.array(values, type=_EVENT_TYPES.get(name, pa.string())))
    return pa.Table.from_arrays(columns, names=list(EVENT_FIELDS))


def visits_table(visits: Sequence[Visit]) -> pa.Table:
    columns = [
        pa.array([getattr(v, name) for v in visits], type=_VISIT_TYPES.get(name, pa.string()))
        for name in VISIT_FIELDS
    ]
    return pa.Table.from_arrays(columns, names=list(VISIT_FIELDS))
