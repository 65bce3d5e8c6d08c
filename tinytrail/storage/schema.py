"""The event store's tables, per backend (DuckDB now; ClickHouse joins behind the same names).

`events` is append-only: one row per accepted event, visit attributes stamped on each row.
Visits live in two tables with the same columns: `sessions` holds closed visits and is
append-only too; `sessions_open` holds the visits still running, rewritten row by row as they
change, small (the last half hour). Queries read `all_sessions`, the union of the two.
Visitor ids are visitor numbers; the salted hashes behind those of recent days are in
`visitor_keys` (see ingest/visitors.py).
Column types are the narrowest that hold the data: a site is a 4-byte integer, not a UUID,
and strings are left to DuckDB's dictionary and FSST compression. Times are whole seconds
(`TIMESTAMP_S`), as Plausible and GoatCounter keep them: microseconds cost ~20 bits more per
time after compression (3.75 against 0.81 bytes an event at 10 million events), and the order
of events within one second is their `seq`. Databases created with microsecond columns keep
them; every query reads either. City ids (GeoNames) are kept as text, "" when unknown: DuckDB
bit-packs integers over their range (~23 bits for these ids) but gives strings a dictionary per
segment, and a segment sees a few hundred cities (3.2 against ~0.8 bytes an event). Databases
that stored them as integers are converted when opened (`CITY_TEXT`).
"""

from __future__ import annotations

import zlib

from tinytrail.query.sql.rollups import COMPONENTS, KEYS, layout_signature

_VISIT_ATTRIBUTE_COLUMNS = """
    is_bot BOOLEAN NOT NULL,
    is_excluded BOOLEAN NOT NULL,
    referrer VARCHAR NOT NULL,
    referrer_source VARCHAR NOT NULL,
    channel VARCHAR NOT NULL,
    utm_source VARCHAR NOT NULL,
    utm_medium VARCHAR NOT NULL,
    utm_campaign VARCHAR NOT NULL,
    utm_content VARCHAR NOT NULL,
    utm_term VARCHAR NOT NULL,
    browser VARCHAR NOT NULL,
    browser_version VARCHAR NOT NULL,
    os VARCHAR NOT NULL,
    os_version VARCHAR NOT NULL,
    device VARCHAR NOT NULL,
    country VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    city VARCHAR NOT NULL,
    screen_width USMALLINT NOT NULL"""

_SESSION_COLUMNS = f"""
    session_id UBIGINT NOT NULL,
    site_id UINTEGER NOT NULL,
    visitor_id UBIGINT NOT NULL,
    start TIMESTAMP_S NOT NULL,
    last_activity TIMESTAMP_S NOT NULL,
    last_event TIMESTAMP_S NOT NULL,
    pageviews UINTEGER NOT NULL,
    events UINTEGER NOT NULL,
    interactive_events UINTEGER NOT NULL,
    is_bounce BOOLEAN NOT NULL,
    entry_page VARCHAR NOT NULL,
    exit_page VARCHAR NOT NULL,
    entry_hostname VARCHAR NOT NULL,
    exit_hostname VARCHAR NOT NULL,{_VISIT_ATTRIBUTE_COLUMNS}"""

DUCKDB_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS events (
    seq UBIGINT NOT NULL,
    site_id UINTEGER NOT NULL,
    ts TIMESTAMP_S NOT NULL,
    name VARCHAR NOT NULL,
    pathname VARCHAR NOT NULL,
    hostname VARCHAR NOT NULL,
    visitor_id UBIGINT NOT NULL,
    session_id UBIGINT NOT NULL,{_VISIT_ATTRIBUTE_COLUMNS},
    content_group VARCHAR NOT NULL,
    props MAP(VARCHAR, VARCHAR) NOT NULL,
    revenue_amount DECIMAL(18, 3),
    revenue_currency VARCHAR NOT NULL,
    scroll_depth UTINYINT,
    engagement_ms UINTEGER,
    interactive BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions ({_SESSION_COLUMNS}
);
CREATE TABLE IF NOT EXISTS sessions_open ({_SESSION_COLUMNS}
);
CREATE OR REPLACE VIEW all_sessions AS
    SELECT * FROM sessions UNION ALL SELECT * FROM sessions_open;
CREATE TABLE IF NOT EXISTS rollup_days (
    site_id UINTEGER NOT NULL,
    day DATE NOT NULL,
    built_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS visitor_keys (
    key UBIGINT NOT NULL,
    number UBIGINT NOT NULL,
    day DATE NOT NULL
);
CREATE TABLE IF NOT EXISTS ingest_state (
    name VARCHAR PRIMARY KEY,
    value UBIGINT NOT NULL
);
"""

# Daily rollups: one table per rollup key (see tinytrail/query/sql/rollups.py), its key columns
# in their stored types. `rollup_days` lists the site-days that are built.
_KEY_COLUMN_TYPES = {"screen_width": "USMALLINT"}
ROLLUP_TABLES = tuple(key.table for key in KEYS)
# Stored in `ingest_state` as 'rollup_layout'; rollups of another layout (keys, components or
# key column types) are dropped and rebuilt.
ROLLUP_LAYOUT = zlib.crc32(f"{layout_signature()};{sorted(_KEY_COLUMN_TYPES.items())}".encode())
# The tables with a `city` column, and the conversion from integer ids (0: unknown) to the
# stored text, for inserted rows and for databases of earlier versions.
CITY_TABLES = ("events", "sessions", "sessions_open")
CITY_TEXT = "CASE WHEN city = 0 THEN '' ELSE CAST(city AS VARCHAR) END"
# The single table of earlier versions (key name and text values); dropped on open, and the
# days it covered are rebuilt by the nightly job.
LEGACY_ROLLUP_TABLE = "rollups"


def _rollup_table(table: str, columns: tuple[str, ...]) -> str:
    keys = [f"{c} {_KEY_COLUMN_TYPES.get(c, 'VARCHAR')} NOT NULL" for c in columns]
    sums = [f"{c} {'DOUBLE' if c == 'duration_sum' else 'UBIGINT'}" for c in COMPONENTS]
    body = ",\n    ".join(["site_id UINTEGER NOT NULL", "day DATE NOT NULL", *keys, *sums])
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {body}\n);\n"


DUCKDB_ROLLUP_SCHEMA = "".join(_rollup_table(key.table, key.columns) for key in KEYS)
