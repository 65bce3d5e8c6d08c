"""The embedded event store: one DuckDB file in the data folder, owned by this process.

DuckDB allows a single process to open a file, so the server is the store's only owner: the
flusher thread writes through one connection, queries run on cursors (one per worker thread).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from tinytrail.errors import InvalidInput
from tinytrail.ingest.model import Event
from tinytrail.ingest.sessions import Visit
from tinytrail.storage.arrow_batches import events_table, visits_table
from tinytrail.storage.schema import (
    CITY_TABLES,
    CITY_TEXT,
    DUCKDB_ROLLUP_SCHEMA,
    DUCKDB_SCHEMA,
    LEGACY_ROLLUP_TABLE,
    ROLLUP_LAYOUT,
    ROLLUP_TABLES,
)
from tinytrail.storage.watchdog import Watchdog
from tinytrail.timeutil import from_us, to_us, utcnow

log = logging.getLogger(__name__)


class QueryTimeout(Exception):
    pass


# What a row-level export may show: never an IP or a User-Agent (the store holds neither).
_EXPORT_COLUMNS = (
    "seq, ts, name, pathname, visitor_id, session_id, referrer, referrer_source, utm_source, "
    "utm_campaign, browser, browser_version, os, os_version, country, region, screen_width"
)


# Queries read visits from `all_sessions`, the union of closed and open visits (schema.py).
# DuckDB binds every column of the view's two `SELECT *` (33 columns each) before it prunes
# them: ~0.3 ms a statement, a fifth of a small report such as realtime. The store writes the
# union out itself with only the visit columns a statement names (any word of the statement
# that is a visit column's name: a superset of what it reads). A statement selecting `*`
# may hand every column back, and reads the view.
_VISIT_UNION = re.compile(r"\ball_sessions\b")
_SELECT_ALL = re.compile(r"SELECT\s+(?:DISTINCT\s+)?\*", re.IGNORECASE)
_WORD = re.compile(r"[a-z_][a-z0-9_]*")


def _bind(params: Sequence[Any] | dict[str, Any]) -> list[Any] | dict[str, Any]:
    return params if isinstance(params, dict) else list(params)


ALLOCATOR_FLUSH_THRESHOLD = "16MB"
# Rows per Arrow batch handed to an INSERT. A commit can hold tens of thousands of events
# (a burst of GoatCounter batches, or what arrived while a checkpoint ran); converting them
# in slices bounds the transient copies (row tuples, columns, Arrow buffers) to one slice,
# where the whole batch at once added ~60 MB to the peak at 76,000 events.
INSERT_ROWS = 8192
# What a failed write raises when the machine, not the data, is at fault (disk full, I/O
# errors, out of memory): worth retrying, never a reason to set events aside.
MACHINE_FAILURES: tuple[type[BaseException], ...] = (
    OSError,
    MemoryError,
    duckdb.IOException,
    duckdb.OutOfMemoryException,
    duckdb.FatalException,
)


def _insert(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: Sequence[Any],
    to_arrow: Callable[[Sequence[Any]], pa.Table],
) -> None:
    """Append `rows` (events or visits) to `table`, `INSERT_ROWS` at a time.

    City ids arrive as integers and are stored as text (`CITY_TEXT`, see schema.py); DuckDB
    converts a batch in a few milliseconds where Python would take a call per row.
    """
    for start in range(0, len(rows), INSERT_ROWS):
        batch = to_arrow(rows[start : start + INSERT_ROWS])  # noqa: F841 - read by name
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT * REPLACE ({CITY_TEXT} AS city) FROM batch"
        )


def _insert_visitor_keys(con: duckdb.DuckDBPyConnection, events: Sequence[Event]) -> None:
    """The salted hashes behind the visitor numbers these events introduced."""
    rows = [(e.visitor_key, e.visitor_id, e.ts) for e in events if e.visitor_key]
    if not rows:
        return
    keys, numbers, times = zip(*rows, strict=True)
    batch = pa.table(  # noqa: F841 - read by name
        {
            "key": pa.array(keys, pa.uint64()),
            "number": pa.array(numbers, pa.uint64()),
            "ts": pa.array(times, pa.timestamp("us")),
        }
    )
    con.execute("INSERT INTO visitor_keys SELECT key, number, CAST(ts AS DATE) FROM batch")


class DuckDBStore:
    dialect = "duckdb"

    def __init__(self, path: Path, memory_limit: str = "160MB", threads: int = 2) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": memory_limit,
            "threads": threads,
            # DuckDB's allocator keeps freed memory for reuse until this much is held (128 MB
            # by default): on top of the memory limit, that is the process's largest slack.
            "allocator_flush_threshold": ALLOCATOR_FLUSH_THRESHOLD,
        }
        self._con = duckdb.connect(str(path), config=config)
        self._con.execute(DUCKDB_SCHEMA)
        self._convert_city_ids()
        self._check_rollup_layout()
        self._con.execute(DUCKDB_ROLLUP_SCHEMA)
        self._visit_columns = self._columns_of_both("sessions", "sessions_open")
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._watchdog = Watchdog()
        self._first_ts: dict[int, int | None] = {}  # site -> earliest event (µs), when known
        # No sequence number stored is above it (once known): see seq_ceiling.
        self._seq_ceiling: int | None = None
        # site -> latest last activity of its visits (µs), when known; never below the truth:
        # raised before each commit (see latest_activity).
        self._last_activity: dict[int, int | None] = {}
        # site -> its built rollup days, loaded on first use and kept in step by every write
        # to `rollup_days` (all of them go through this object, under the write lock).
        self._built: dict[int, set[date]] = {}

    def _columns_of_both(self, first: str, second: str) -> tuple[str, ...]:
        """The columns two tables share, in the first one's order."""
        sql = (
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
            "AND database_name = current_database() ORDER BY column_index"
        )
        ours = [row[0] for row in self._con.execute(sql, [first]).fetchall()]
        theirs = {row[0] for row in self._con.execute(sql, [second]).fetchall()}
        return tuple(name for name in ours if name in theirs)

    def _with_visit_union(self, sql: str) -> str:
        """`sql` with `all_sessions` written out as a union of the columns it names."""
        if "all_sessions" not in sql or _SELECT_ALL.search(sql):
            return sql
        named = set(_WORD.findall(sql))
        columns = ", ".join(c for c in self._visit_columns if c in named) or "site_id"
        union = f"(SELECT {columns} FROM sessions UNION ALL SELECT {columns} FROM sessions_open)"
        return _VISIT_UNION.sub(union, sql)

    def _convert_city_ids(self) -> None:
        """Earlier versions stored city ids as integers (0: unknown); they are text now
        (schema.py). The conversion rewrites the column once, in one transaction: about a
        second for 10 million events."""
        con = self._con
        tables = [
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_columns() WHERE column_name = 'city' "
                "AND data_type <> 'VARCHAR' AND table_name IN (SELECT unnest(?))",
                [list(CITY_TABLES)],
            ).fetchall()
        ]
        if not tables:
            return
        log.info("converting the stored city ids to text (%s)", ", ".join(tables))
        con.execute("BEGIN")
        for table in tables:
            con.execute(f"ALTER TABLE {table} ALTER city SET DATA TYPE VARCHAR USING {CITY_TEXT}")
        con.execute("COMMIT")
        con.execute("CHECKPOINT")

    def _check_rollup_layout(self) -> None:
        """Rollups built under another layout (keys, components or key types since changed)
        are dropped, and their days are built again by the nightly job (or the admin
        endpoint): a day missing a new key's rows would answer from an empty table."""
        con = self._con
        stored = con.execute(
            "SELECT value FROM ingest_state WHERE name = 'rollup_layout'"
        ).fetchall()
        if stored and stored[0][0] == ROLLUP_LAYOUT:
            return
        existing = {
            row[0]
            for row in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary"
            ).fetchall()
        }
        # Dropped rather than emptied: DUCKDB_ROLLUP_SCHEMA creates them again with the
        # current key types.
        obsolete = [
            t
            for t in existing
            if (t == LEGACY_ROLLUP_TABLE or t.startswith("rollup_")) and t != "rollup_days"
        ]
        built = con.execute("SELECT count(*) FROM rollup_days").fetchall()[0][0]
        if built or obsolete:
            log.info("rollups were built under another layout; the nightly job rebuilds them")
        con.execute("BEGIN")
        for table in obsolete:
            con.execute(f"DROP TABLE {table}")
        con.execute("DELETE FROM rollup_days")
        con.execute(
            "INSERT OR REPLACE INTO ingest_state VALUES ('rollup_layout', ?)", [ROLLUP_LAYOUT]
        )
        con.execute("COMMIT")

    # -- writing ----------------------------------------------------------------------------

    def commit_batch(
        self,
        events: Sequence[Event],
        touched: Sequence[Visit],
        closed: Sequence[Visit],
        max_seq: int | None,
    ) -> None:
        """Insert events, upsert running visits, move closed visits; one transaction.

        `max_seq` is the log position this batch completes (None for imports, which do not
        come through the log).
        """
        with self._write_lock:
            con = self._con
            con.execute("BEGIN")
            try:
                _insert(con, "events", events, events_table)
                _insert_visitor_keys(con, events)
                changed = list({v.session_id: v for v in [*touched, *closed]}.values())
                if changed:
                    ids = [v.session_id for v in changed]
                    con.execute(
                        "DELETE FROM sessions_open WHERE session_id IN (SELECT unnest(?))", [ids]
                    )
                closed_ids = {c.session_id for c in closed}
                open_rows = [v for v in touched if v.session_id not in closed_ids]
                _insert(con, "sessions_open", open_rows, visits_table)
                _insert(con, "sessions", closed, visits_table)
                self._invalidate_late(con, events)
                self._lower_first_ts(events)
                self._raise_seq_ceiling(events)
                self._raise_last_activity(changed)
                if max_seq is not None:
                    con.execute(
                        "INSERT OR REPLACE INTO ingest_state VALUES ('max_seq', ?)", [max_seq]
                    )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                self._built.clear()  # late events may have dropped rollup days from it
                raise

    def replace_rollups(
        self, site_id: int, day: date, statements: list[tuple[str, dict[str, Any]]]
    ) -> None:
        """Rebuild one site-day of rollups atomically: readers see the old or the new rows.

        `statements` (from rollups.build_statements) fill the key tables, using temporary
        tables that are dropped here afterwards.
        """
        with self._write_lock:
            con = self._con
            con.execute("BEGIN")
            try:
                self._delete_rollups(con, site_id, day, day)
                for sql, params in statements:
                    con.execute(sql, params)
                con.execute(
                    "INSERT INTO rollup_days VALUES (?, ?, now()::TIMESTAMP)", [site_id, day]
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                self._built.pop(site_id, None)
                raise
            finally:
                for name in ("_rollup_ev", "_rollup_se"):
                    con.execute(f"DROP TABLE IF EXISTS temp.{name}")
            built = self._built.get(site_id)
            if built is not None:  # replaced, never changed in place: readers iterate it
                self._built[site_id] = built | {day}

    def _delete_rollups(
        self, con: duckdb.DuckDBPyConnection, site_id: int, first: date, last: date
    ) -> None:
        """Forget a site's rollups of [first, last]; the key tables are touched only if some
        of those days were built (late events in imports ask this for every batch)."""
        gone = con.execute(
            "DELETE FROM rollup_days WHERE site_id = ? AND day >= ? AND day <= ? RETURNING day",
            [site_id, first, last],
        ).fetchall()
        if not gone:
            return
        for table in ROLLUP_TABLES:
            con.execute(
                f"DELETE FROM {table} WHERE site_id = ? AND day >= ? AND day <= ?",
                [site_id, first, last],
            )
        built = self._built.get(site_id)
        if built is not None:
            self._built[site_id] = built - {row[0] for row in gone}

    def _invalidate_late(self, con: duckdb.DuckDBPyConnection, events: Sequence[Event]) -> None:
        """Events older than a day may land in already rolled-up days: drop those rollups.

        UTC dates widened by a day on each side cover every site timezone.
        """
        if not events:
            return
        horizon = to_us(utcnow()) - 25 * 3600 * 1_000_000
        late: dict[int, tuple[int, int]] = {}
        for event in events:
            if event.ts < horizon:
                low, high = late.get(event.site_id, (event.ts, event.ts))
                late[event.site_id] = (min(low, event.ts), max(high, event.ts))
        for site_id, (low, high) in late.items():
            first = from_us(low).date() - timedelta(days=1)
            last = from_us(high).date() + timedelta(days=1)
            self._delete_rollups(con, site_id, first, last)

    def _lower_first_ts(self, events: Sequence[Event]) -> None:
        lowest: dict[int, int] = {}
        for event in events:
            if event.site_id in self._first_ts and event.ts < lowest.get(event.site_id, 2**63):
                lowest[event.site_id] = event.ts
        for site_id, ts in lowest.items():
            known = self._first_ts.get(site_id)
            if known is None or ts < known:
                self._first_ts[site_id] = ts

    def _raise_seq_ceiling(self, events: Sequence[Event]) -> None:
        if self._seq_ceiling is not None and events:
            self._seq_ceiling = max(self._seq_ceiling, max(event.seq for event in events))

    def _raise_last_activity(self, visits: Sequence[Visit]) -> None:
        for visit in visits:
            if visit.site_id in self._last_activity:
                known = self._last_activity[visit.site_id]
                if known is None or known < visit.last_activity:
                    self._last_activity[visit.site_id] = visit.last_activity

    def latest_activity(self, site_id: int) -> datetime | None:
        """The latest last activity of a site's visits (UTC), None without visits; it may be
        later than the truth, never earlier.

        Queries ask it on every run (a range ending after it has no visit running past its
        end), so it is kept per site and raised by every batch before the batch commits.
        Read the first time under the write lock, so no commit slips in between.
        """
        if site_id not in self._last_activity:
            with self._write_lock:
                rows = (
                    self._cursor()
                    .execute(
                        "SELECT max(last_activity) FROM all_sessions WHERE site_id = ?", [site_id]
                    )
                    .fetchall()
                )
                found = rows[0][0] if rows else None
                self._last_activity[site_id] = None if found is None else to_us(found)
        last_us = self._last_activity[site_id]
        return None if last_us is None else from_us(last_us)

    def rollup_days(self, site_id: int, first: date, last: date) -> set[date]:
        """The built rollup days of a site in [first, last]; asked by every query, so kept in
        memory once read."""
        built = self._built.get(site_id)
        if built is None:
            with self._write_lock:  # no rollup write in between: the set is complete
                rows = (
                    self._cursor()
                    .execute("SELECT day FROM rollup_days WHERE site_id = ?", [site_id])
                    .fetchall()
                )
                built = self._built[site_id] = {row[0] for row in rows}
        return {day for day in built if first <= day <= last}

    def invalidate_rollups(self, site_id: int, first: date, last: date) -> None:
        """Late events (imports, back-dated hits) make those days' rollups stale: drop them."""
        with self._write_lock:
            self._con.execute("BEGIN")
            try:
                self._delete_rollups(self._con, site_id, first, last)
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                self._built.pop(site_id, None)
                raise

    def stored_site_ids(self) -> set[int]:
        """Every site that has events or visits stored."""
        rows = self.fetch(
            "SELECT DISTINCT site_id FROM events UNION SELECT DISTINCT site_id FROM all_sessions"
        )
        return {int(site_id) for (site_id,) in rows}

    def delete_sites(self, site_ids: Sequence[int]) -> None:
        with self._write_lock:
            ids = list(site_ids)
            self._con.execute("BEGIN")
            for site_id in ids:
                self._first_ts.pop(site_id, None)
                self._built.pop(site_id, None)
            tables = ("events", "sessions", "sessions_open", *ROLLUP_TABLES, "rollup_days")
            for table in tables:
                self._con.execute(f"DELETE FROM {table} WHERE site_id IN (SELECT unnest(?))", [ids])
            self._con.execute("COMMIT")

    # -- reading ----------------------------------------------------------------------------

    def flushed_seq(self) -> int:
        """The log position the store has committed: logged events beyond it need replay."""
        cursor = self._cursor()
        rows = cursor.execute("SELECT value FROM ingest_state WHERE name = 'max_seq'").fetchall()
        return int(rows[0][0]) if rows else 0

    def max_event_seq(self) -> int:
        """The highest sequence number in use (imports allocate numbers outside the log)."""
        rows = self._cursor().execute("SELECT coalesce(max(seq), 0) FROM events").fetchall()
        highest = max(int(rows[0][0]), self.flushed_seq())
        self._seq_ceiling = max(self._seq_ceiling or 0, highest)
        return highest

    def seq_ceiling(self) -> int:
        """A number no stored sequence number exceeds (visit ids are sequence numbers too).

        Read once (the runtime asks `max_event_seq` at start-up, before any commit), then
        raised by every batch before it commits. The engine asks it whether a bitmap of the
        numbers is small enough; no count depends on it (DuckDB sizes the bitmap from the
        column's own statistics).
        """
        if self._seq_ceiling is None:
            with self._write_lock:  # no commit in between
                if self._seq_ceiling is None:
                    self.max_event_seq()
        assert self._seq_ceiling is not None
        return self._seq_ceiling

    def visitor_keys(self, since: date) -> list[tuple[int, int, date]]:
        """(hash, visitor number, day introduced) for the numbers introduced since `since`."""
        sql = "SELECT key, number, day FROM visitor_keys WHERE day >= ?"
        return [(int(k), int(n), d) for k, n, d in self._cursor().execute(sql, [since]).fetchall()]

    def hashed_visitor_ids(self, since: date, last_seq: int) -> list[tuple[int, int, date]]:
        """Visitor ids stored as hashes (before visitor numbers) since `since`, as rows of
        `visitor_keys` mapping each hash to itself: a visitor seen before an upgrade keeps
        their id, and their running visit, that day. A number never exceeds the highest seq
        (`last_seq`, `max_event_seq`); a hash does (but for odds of about 2^-40)."""
        sql = (
            "SELECT DISTINCT visitor_id, CAST(ts AS DATE) FROM events "
            "WHERE ts >= ? AND visitor_id > ? "
            "UNION SELECT DISTINCT visitor_id, CAST(start AS DATE) FROM sessions_open "
            "WHERE visitor_id > ?"
        )
        rows = self._cursor().execute(sql, [since, last_seq, last_seq]).fetchall()
        return [(int(v), int(v), d) for v, d in rows]

    def forget_visitor_keys(self, before: date) -> None:
        with self._write_lock:
            self._con.execute("DELETE FROM visitor_keys WHERE day < ?", [before])

    def first_event_date(self, site_id: int, timezone: ZoneInfo) -> date | None:
        """The local date of a site's earliest event (Plausible's stats start for "all")."""
        first = self.first_event_at(site_id)
        return None if first is None else first.astimezone(timezone).date()

    def first_event_at(self, site_id: int) -> datetime | None:
        """The moment (UTC) of a site's earliest event, None without events.

        Asked on every query, so the earliest timestamp is kept per site and lowered as
        batches commit, instead of scanning the site's events each time.
        """
        if site_id not in self._first_ts:
            rows = (
                self._cursor()
                .execute("SELECT min(ts) FROM events WHERE site_id = ?", [site_id])
                .fetchall()
            )
            found = rows[0][0] if rows else None
            self._first_ts[site_id] = None if found is None else to_us(found)
        first_us = self._first_ts[site_id]
        return None if first_us is None else from_us(first_us)

    def open_visits(self) -> list[Visit]:
        cursor = self._cursor()
        cursor.execute("SELECT * FROM sessions_open")
        names = [d[0] for d in cursor.description or []]
        visits = []
        for row in cursor.fetchall():
            values = dict(zip(names, row, strict=True))
            for key in ("start", "last_activity", "last_event"):
                values[key] = to_us(values[key])
            values["city"] = int(values["city"] or 0)  # stored as text (schema.py)
            visits.append(Visit(**values))
        return visits

    def fetch(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        return self._cursor().execute(self._with_visit_union(sql), _bind(params)).fetchall()

    def fetch_dicts(
        self,
        sql: str,
        params: Sequence[Any] | dict[str, Any] = (),
        timeout: float | None = None,
    ) -> list[dict[str, Any]]:
        """Rows as dicts; a query running past `timeout` seconds is interrupted (QueryTimeout)."""
        cursor = self._cursor()
        watch = self._watchdog.watch(cursor, timeout) if timeout else None
        try:
            cursor.execute(self._with_visit_union(sql), _bind(params))
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.InterruptException as exc:
            raise QueryTimeout("The query took too long and was stopped") from exc
        except duckdb.InvalidInputException as exc:
            # Values the database refuses (an invalid regular expression, say) are bad input.
            detail = str(exc).splitlines()[0].removeprefix("Invalid Input Error: ")
            raise InvalidInput(f"Invalid query: {detail}") from exc
        finally:
            if watch is not None:
                self._watchdog.done(watch)

    def export_events(
        self, site_id: int, after_seq: int, limit: int, skip_names: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """A site's events after `after_seq`, oldest first: raw rows for row-level exports.

        Bots, excluded traffic and the names in `skip_names` are left out. Each row carries
        `first_in_visit`: whether it is its visit's first event with this name and path. A
        visit's events all have sequence numbers from its id (the first event's) on, so the
        earlier events that decide the flag lie in a bounded range of the table.
        """
        cursor = self._cursor()
        skip = list(skip_names)
        rows = cursor.execute(
            f"SELECT {_EXPORT_COLUMNS} FROM events WHERE site_id = ? AND seq > ? "
            "AND NOT is_bot AND NOT is_excluded AND NOT list_contains(?, name) "
            "ORDER BY seq LIMIT ?",
            [site_id, after_seq, skip, limit],
        ).fetchall()
        names = [d[0] for d in cursor.description or []]
        found = [dict(zip(names, row, strict=True)) for row in rows]
        sessions = sorted({row["session_id"] for row in found if row["session_id"]})
        seen: set[tuple[int, str, str]] = set()
        if sessions and sessions[0] <= after_seq:
            earlier = cursor.execute(
                "SELECT DISTINCT session_id, name, pathname FROM events WHERE site_id = ? "
                "AND seq >= ? AND seq <= ? AND session_id IN (SELECT unnest(?)) "
                "AND NOT is_bot AND NOT is_excluded AND NOT list_contains(?, name)",
                [site_id, sessions[0], after_seq, sessions, skip],
            ).fetchall()
            seen = {(int(a), str(b), str(c)) for a, b, c in earlier}
        for row in found:
            key = (row["session_id"], row["name"], row["pathname"])
            row["first_in_visit"] = bool(row["session_id"]) and key not in seen
            seen.add(key)
        return found

    def ping(self) -> bool:
        try:
            self._cursor().execute("SELECT 1").fetchall()
            return True
        except duckdb.Error:
            return False

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._con.cursor()
            self._local.cursor = cursor
        return cursor

    def checkpoint(self) -> None:
        with self._write_lock:
            self._con.execute("CHECKPOINT")

    def close(self) -> None:
        with self._write_lock:
            self._con.close()
