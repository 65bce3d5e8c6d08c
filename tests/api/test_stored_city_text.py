"""City ids (GeoNames) are stored as text, "" when unknown; APIs show them as integers.

Databases of earlier versions stored them as integers (0: unknown). Opening one converts the
column, and rollups built with integer keys are dropped for a rebuild.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support import ADMIN_KEY, Clock, Server, start_server

DAY = "2026-03-17"  # the day before the clock's
BERLIN, PARIS, MOSCOW = 2950159, 2988507, 524901
CITY_TABLES = ("events", "sessions", "sessions_open")


def _import(server: Server, *cities: int) -> None:
    lines = [
        {
            "name": "pageview",
            "timestamp": f"{DAY}T10:{minute:02d}:00Z",
            "user_id": minute,
            "pathname": "/",
            **({"country_code": "DE", "city_geoname_id": city} if city else {}),
        }
        for minute, city in enumerate(cities)
    ]
    response = server.client.post(
        "/api/v1/admin/import",
        params={"site_id": "example.com"},
        content="".join(json.dumps(line) + "\n" for line in lines).encode(),
        headers={"X-API-KEY": ADMIN_KEY, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    server.flush()


def _rows(server: Server, key: str, **query: Any) -> list[list[Any]]:
    response = server.client.post(
        "/api/v2/query",
        json={"site_id": "example.com", "date_range": [DAY, DAY], "metrics": ["visitors"], **query},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    return [r["dimensions"] + r["metrics"] for r in response.json()["results"]]


def _city_types(server: Server) -> dict[str, str]:
    rows = server.runtime.store.fetch(
        "SELECT table_name, data_type FROM duckdb_columns() "
        "WHERE column_name = 'city' AND table_name IN (SELECT unnest(?))",
        [[*CITY_TABLES, "rollup_city"]],
    )
    return {str(table): str(kind) for table, kind in rows}


def test_cities_are_stored_as_text_and_shown_as_ids(tmp_path: Path) -> None:
    for server in start_server(tmp_path / "data", Clock(datetime(2026, 3, 18, 12, tzinfo=UTC))):
        key, _ = server.tenant("example.com")
        _import(server, BERLIN, BERLIN, PARIS, 0)
        assert [e["city"] for e in server.events()] == ["2950159", "2950159", "2988507", ""]
        assert set(_city_types(server).values()) == {"VARCHAR"}
        by_city = _rows(server, key, dimensions=["visit:city"])
        assert by_city == [[BERLIN, 2], [PARIS, 1]]  # unknown cities left out, as Plausible
        for clause in (PARIS, str(PARIS)):
            only = _rows(server, key, filters=[["is", "visit:city", [clause]]])
            assert only == [[1]]
        assert _rows(server, key, filters=[["contains", "visit:city", ["9501"]]]) == [[2]]
        named = _rows(server, key, dimensions=["visit:city_name"])
        assert named == [["Berlin", 2], ["Paris", 1]]
        server.aggregate(DAY)  # the same answers from rollups
        assert _rows(server, key, dimensions=["visit:city"]) == by_city


def test_city_ids_filter_and_sort_as_numbers(tmp_path: Path) -> None:
    for server in start_server(tmp_path / "data", Clock(datetime(2026, 3, 18, 12, tzinfo=UTC))):
        key, _ = server.tenant("example.com")
        _import(server, BERLIN, MOSCOW, MOSCOW, 0, 0, 0)
        # 0 is the unknown city, as Plausible stores it; leading zeros name the same id.
        assert _rows(server, key, filters=[["is", "visit:city", [0]]]) == [[3]]
        assert _rows(server, key, filters=[["is", "visit:city", ["0524901"]]]) == [[2]]
        assert _rows(server, key, filters=[["is_not", "visit:city", [0]]]) == [[3]]
        ascending = _rows(server, key, dimensions=["visit:city"], order_by=[["visit:city", "asc"]])
        assert ascending == [[MOSCOW, 2], [BERLIN, 1]]  # as numbers, not as text
        descending = _rows(
            server, key, dimensions=["visit:city"], order_by=[["visit:city", "desc"]]
        )
        assert descending == [[BERLIN, 1], [MOSCOW, 2]]


def test_integer_city_ids_of_earlier_versions_are_converted(tmp_path: Path) -> None:
    clock = Clock(datetime(2026, 3, 18, 12, tzinfo=UTC))
    for server in start_server(tmp_path / "data", clock):
        key, _ = server.tenant("example.com")
        _import(server, BERLIN, 0)
        server.aggregate(DAY)
        store = server.runtime.store
        # The layout before: integer ids, 0 for unknown, and rollups keyed by them.
        old = "CASE WHEN city = '' THEN 0 ELSE CAST(city AS UINTEGER) END"
        for table in (*CITY_TABLES, "rollup_city"):
            store.fetch(f"ALTER TABLE {table} ALTER city SET DATA TYPE UINTEGER USING {old}")
        store.fetch("UPDATE ingest_state SET value = 1 WHERE name = 'rollup_layout'")
        assert set(_city_types(server).values()) == {"UINTEGER"}
    for server in start_server(tmp_path / "data", clock):
        assert set(_city_types(server).values()) == {"VARCHAR"}
        assert [e["city"] for e in server.events()] == ["2950159", ""]
        assert sorted(v["city"] for v in server.visits()) == ["", "2950159"]
        assert server.runtime.store.fetch("SELECT count(*) FROM rollup_city") == [(0,)]
        assert _rows(server, key, dimensions=["visit:city"]) == [[BERLIN, 1]]
        server.aggregate(DAY)
        assert _rows(server, key, dimensions=["visit:city"]) == [[BERLIN, 1]]
        rebuilt = server.runtime.store.fetch("SELECT city FROM rollup_city ORDER BY city")
        assert rebuilt == [("",), ("2950159",)]
