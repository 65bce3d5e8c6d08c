"""Turning lists of events and visits into Arrow tables: DuckDB's fastest insert path."""

from __future__ import annotations

import gc
import importlib.abc
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import msgspec
import pyarrow as pa

from tinytrail.ingest.model import EVENT_FIELDS, STORED_EVENT_FIELDS, Event
from tinytrail.ingest.sessions import VISIT_FIELDS, Visit


def _skip_pandas_probe() -> None:
    """Let pyarrow's "is this a pandas object?" check find no pandas, once, at import.

    `pa.array` asks that of every sequence it converts, and the first time it imports pandas
    to answer when pandas is installed (as it is next to the test and bench extras): about
    50 MB resident for good, and half a second inside the first flush while collectors wait.
    Our columns are tuples, never pandas objects. pyarrow remembers the answer; an explicit
    pandas conversion elsewhere (`Table.to_pandas`) still imports pandas, as pyarrow retries
    then. Done at import, before any thread could be importing pandas for itself.
    """
    if "pandas" in sys.modules:
        return  # already paid for; nothing to save
    sys.meta_path.insert(0, _NoPandas)
    try:
        pa.array((), type=pa.int8())
    finally:
        sys.meta_path.remove(_NoPandas)


class _NoPandas(importlib.abc.MetaPathFinder):
    """An import finder that reports pandas as missing."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "pandas":
            raise ModuleNotFoundError("pandas is hidden from pyarrow's probe", name=name)


_skip_pandas_probe()
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


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch is transposed.

    Transposing allocates a tuple per row, and every few hundred allocations would start a
    collection that walks the batch's objects again: about two thirds of the time for 50,000
    events. Nothing built here forms a cycle, and the pause lasts one batch.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _table(
    rows: Sequence[msgspec.Struct],
    names: tuple[str, ...],
    types: dict[str, pa.DataType],
    stored: tuple[str, ...],
) -> pa.Table:
    """The `stored` columns of `rows`, whose fields are `names`."""
    with _collector_paused():
        # Transposing tuples with zip(*) runs in C: far cheaper than a getattr per cell.
        columns = zip(*(msgspec.structs.astuple(row) for row in rows), strict=True)
        arrays = []
        for name, values in zip(names, columns, strict=True):
            if name not in stored:
                continue
            if name == "props":
                values = tuple(list(v.items()) for v in values)
            elif name == "revenue_amount" and values.count(None) < len(values):
                values = _storable_amounts(values)
            arrays.append(pa.array(values, type=types.get(name, pa.string())))
        return pa.Table.from_arrays(arrays, names=list(stored))


def _storable_amounts(amounts: tuple[float | None, ...]) -> tuple[float | None, ...]:
    """Amounts the store's DECIMAL(18, 3) can hold; others (NaN, infinite, huge) become None.

    The collectors refuse such amounts already; this keeps one that slipped through (an older
    log, another collector) from failing every flush after it.
    """
    return tuple(a if a is None or abs(a) < 1e15 else None for a in amounts)  # NaN: False


def events_table(events: Sequence[Event]) -> pa.Table:
    return _table(events, EVENT_FIELDS, _EVENT_TYPES, STORED_EVENT_FIELDS)


def visits_table(visits: Sequence[Visit]) -> pa.Table:
    return _table(visits, VISIT_FIELDS, _VISIT_TYPES, VISIT_FIELDS)
