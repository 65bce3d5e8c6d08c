"""The two reference engines: hand-written SQL in DuckDB, and the ClickHouse engine (chDB).

Both read the very data TinyTrail stored: DuckDB opens a copy of `events.duckdb` read-only
once the server has stopped (one process may own the file); ClickHouse loads the same rows,
exported to Parquet, into MergeTree tables laid out as Plausible lays out its own.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

Results = list[list[tuple[Any, ...]]]

_VISIT_ATTRIBUTES = """
    is_bot Bool, is_excluded Bool, referrer String, referrer_source String,
    channel LowCardinality(String), utm_source String, utm_medium String, utm_campaign String,
    utm_content String, utm_term String, browser LowCardinality(String),
    browser_version LowCardinality(String), os LowCardinality(String),
    os_version LowCardinality(String), device LowCardinality(String),
    country LowCardinality(String), region LowCardinality(String),
    city LowCardinality(String),
    screen_width UInt16"""
CLICKHOUSE_EVENTS = f"""
CREATE TABLE events (
    site_id UInt32, ts DateTime('UTC'), name LowCardinality(String), pathname String,
    hostname LowCardinality(String), visitor_id UInt64, session_id UInt64,{_VISIT_ATTRIBUTES},
    content_group LowCardinality(String), props Map(String, String),
    revenue_amount Nullable(Decimal(18, 3)), revenue_currency LowCardinality(String),
    scroll_depth Nullable(UInt8), engagement_ms Nullable(UInt32), interactive Bool
) ENGINE = MergeTree ORDER BY (site_id, toDate(ts), name, visitor_id, ts)
"""
CLICKHOUSE_SESSIONS = f"""
CREATE TABLE sessions (
    session_id UInt64, site_id UInt32, visitor_id UInt64, start DateTime('UTC'),
    last_activity DateTime('UTC'), last_event DateTime('UTC'), pageviews UInt32, events UInt32,
    interactive_events UInt32, is_bounce Bool, entry_page String, exit_page String,
    entry_hostname LowCardinality(String), exit_hostname LowCardinality(String),
    {_VISIT_ATTRIBUTES}
) ENGINE = MergeTree ORDER BY (site_id, toDate(last_activity), visitor_id, session_id)
"""


def median_ms(run: Callable[[], object], repeat: int, warmup: int = 2) -> float:
    """Median wall time of `repeat` runs after `warmup` untimed ones, in milliseconds."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


class DuckDBReference:
    """Hand-written SQL on the stored tables, opened read-only."""

    def __init__(self, path: Path) -> None:
        self.con = duckdb.connect(str(path), read_only=True, config={"threads": 2})

    def run(self, statements: list[str]) -> Results:
        return [self.con.execute(sql).fetchall() for sql in statements]

    def count(self, table: str) -> int:
        row = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()
        return int(row[0]) if row else 0

    def export(self, folder: Path) -> tuple[Path, Path]:
        """Events and visits as Parquet files, for the ClickHouse engine to load."""
        folder.mkdir(parents=True, exist_ok=True)
        events, sessions = folder / "events.parquet", folder / "sessions.parquet"
        self.con.execute(
            f"COPY (SELECT * EXCLUDE (seq) FROM events) TO '{events}' (FORMAT parquet)"
        )
        self.con.execute(f"COPY (SELECT * FROM all_sessions) TO '{sessions}' (FORMAT parquet)")
        return events, sessions

    def close(self) -> None:
        self.con.close()


class ClickHouseReference:
    """The ClickHouse engine in-process through chDB, reached with clickhouse-connect."""

    def __init__(self, folder: Path) -> None:
        import clickhouse_connect

        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.client = clickhouse_connect.get_client(dsn=f"chdb://{folder.resolve()}")

    def version(self) -> str:
        return str(self.client.query("SELECT version()").result_rows[0][0])

    def load(self, events: Path, sessions: Path) -> None:
        for ddl, table, source in (
            (CLICKHOUSE_EVENTS, "events", events),
            (CLICKHOUSE_SESSIONS, "sessions", sessions),
        ):
            self.client.command(ddl)
            self.client.command(
                f"INSERT INTO {table} SELECT * FROM file('{source.resolve()}', Parquet)"
            )
            self.client.command(f"OPTIMIZE TABLE {table} FINAL")

    def bytes_on_disk(self, table: str) -> int:
        sql = (
            "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND "
            f"database = currentDatabase() AND table = '{table}'"
        )
        return int(self.client.query(sql).result_rows[0][0])

    def run(self, statements: list[str]) -> Results:
        return [[tuple(row) for row in self.client.query(sql).result_rows] for sql in statements]

    def close(self) -> None:
        self.client.close()
