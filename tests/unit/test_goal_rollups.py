"""Which goal breakdowns the daily rollups answer, and the store's rollup layout check.

That rollup answers equal raw ones is proven over HTTP in tests/api/test_reports_consistency.py;
these tests pin down that the rollups are used at all, and are dropped when their layout changes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from tinytrail.query.model import Filter, Goal, Query, SiteContext
from tinytrail.query.periods import from_dates
from tinytrail.query.sql.compiler import Compiler
from tinytrail.query.sql.dialect import DuckDBDialect
from tinytrail.query.sql.rollups import goal_rollup_rows
from tinytrail.storage.duckdb_store import DuckDBStore
from tinytrail.storage.schema import ROLLUP_LAYOUT

UTC = ZoneInfo("UTC")
PLAIN = (Goal(1, "Visit /pricing", page_path="/pricing"), Goal(2, "Signup", event_name="Signup"))
DAYS = {date(2026, 3, 1), date(2026, 3, 2)}


def goal_query(goals: tuple[Goal, ...], **changes: object) -> Query:
    site = SiteContext(7, "example.com", UTC, goals)
    query = Query(
        site=site,
        metrics=("visitors", "events", "conversion_rate"),
        date_range=from_dates(date(2026, 3, 1), date(2026, 3, 3), UTC),
        dimensions=("event:goal",),
    )
    return query.with_(**changes) if changes else query


def test_plain_page_and_event_goals_are_rollup_rows() -> None:
    assert goal_rollup_rows(PLAIN[0])[1:] == ("pathname", "/pricing")  # type: ignore[index]
    assert goal_rollup_rows(PLAIN[1])[1:] == ("name", "Signup")  # type: ignore[index]
    assert goal_rollup_rows(Goal(3, "Blog", page_path="/blog/*")) is None
    assert goal_rollup_rows(Goal(4, "Scroll", page_path="/", scroll_threshold=50)) is None
    assert goal_rollup_rows(Goal(5, "Pro", event_name="Signup", custom_props=(("p", "x"),))) is None


def test_goal_breakdown_reads_rollup_tables_when_every_goal_is_plain() -> None:
    compiled = Compiler(goal_query(PLAIN), DuckDBDialect()).compile_goal_rollup(DAYS)
    assert compiled is not None
    assert "rollup_pathname_pv" in compiled.sql and "rollup_name" in compiled.sql
    mixed = (*PLAIN, Goal(3, "Blog", page_path="/blog/*"))
    dialect = DuckDBDialect()
    assert Compiler(goal_query(mixed), dialect).compile_goal_rollup(DAYS) is None
    filtered = goal_query(PLAIN, filters=(Filter("is", "visit:source", ("Google",)),))
    assert Compiler(filtered, dialect).compile_goal_rollup(DAYS) is None
    bots = goal_query(PLAIN, include_bots=True)
    assert Compiler(bots, dialect).compile_goal_rollup(DAYS) is None
    assert Compiler(goal_query(PLAIN), dialect).compile_goal_rollup(set()) is None


def test_rollups_of_another_layout_are_dropped_on_open(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    store = DuckDBStore(path)
    store.close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO rollup_days VALUES (1, DATE '2026-03-01', now()::TIMESTAMP)")
    con.execute("INSERT INTO rollup_total (site_id, day, ev_visitors) VALUES (1, '2026-03-01', 5)")
    con.execute("CREATE TABLE rollup_retired (site_id UINTEGER)")
    con.execute("UPDATE ingest_state SET value = 1 WHERE name = 'rollup_layout'")
    con.close()

    store = DuckDBStore(path)
    assert store.rollup_days(1, date(2026, 1, 1), date(2026, 12, 31)) == set()
    assert store.fetch("SELECT count(*) FROM rollup_total") == [(0,)]
    tables = {row[0] for row in store.fetch("SELECT table_name FROM duckdb_tables()")}
    assert "rollup_retired" not in tables and "rollup_pathname_pv" in tables
    layout = store.fetch("SELECT value FROM ingest_state WHERE name = 'rollup_layout'")
    assert layout == [(ROLLUP_LAYOUT,)]
    store.close()


def test_rollups_of_the_current_layout_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "events.duckdb"
    DuckDBStore(path).close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO rollup_days VALUES (1, DATE '2026-03-01', now()::TIMESTAMP)")
    con.close()
    store = DuckDBStore(path)
    assert store.rollup_days(1, date(2026, 1, 1), date(2026, 12, 31)) == {date(2026, 3, 1)}
    store.close()
