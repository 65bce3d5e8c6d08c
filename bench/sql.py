"""The SQL both reference engines share: ranges, the site, dialect helpers, building blocks.

The engine's definitions, written by hand: the event side reads `events` of the site and range
without bots, excluded traffic or `engagement` events; the visit side reads visits active in the
range (last activity at or after its start, started before its end), filed under the day of
their last activity or the range's last day; rows are ordered by the first metric (time first
when grouped by time), ties broken by the dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from tinytrail.ingest.sources import tinytrail_channel_sql_cases


@dataclass(frozen=True)
class Range:
    label: str
    first: date
    last: date

    @property
    def start(self) -> str:
        return f"{self.first.isoformat()} 00:00:00"

    @property
    def end(self) -> str:
        return f"{(self.last + timedelta(days=1)).isoformat()} 00:00:00"

    @property
    def last_second(self) -> str:
        return f"{self.last.isoformat()} 23:59:59"


@dataclass(frozen=True)
class Site:
    id: int
    domain: str
    uuid: str
    goals: tuple[tuple[str, str, str], ...]  # (display name, page path, event name)
    funnel: tuple[str, ...]  # TinyTrail funnel report steps: paths or event names


class Sql:
    """The bits of SQL that differ between DuckDB and ClickHouse."""

    name = "duckdb"
    sessions = "all_sessions"

    def count_if(self, condition: str) -> str:
        return f"count(*) FILTER (WHERE {condition})"

    def visits_if(self, condition: str) -> str:
        """Distinct (visit, visitor id) pairs: a visit counts once per day it has events on."""
        # The visitor half XOR-ed with a constant: DuckDB hashes a 128-bit value as the XOR of
        # its halves' hashes, and a visit's id often equals its visitor number.
        mixed = "xor(visitor_id, 11400714819323198485::UBIGINT)"
        pair = f"((session_id::UHUGEINT << 64) | {mixed}::UHUGEINT)"
        return f"count(DISTINCT {pair}) FILTER (WHERE {condition})"

    def day(self, column: str) -> str:
        return f"strftime({column}, '%Y-%m-%d')"

    def timestamp(self, text: str) -> str:
        return f"TIMESTAMP '{text}'"

    def prop(self, key: str) -> str:
        return f"coalesce(props['{key}'], '(none)')"

    def host(self, column: str) -> str:
        return f"split_part({column}, '/', 1)"

    def seconds(self, start: str, end: str) -> str:
        return f"date_diff('second', {start}, {end})"

    def literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"


class ClickHouseSql(Sql):
    name = "clickhouse"
    sessions = "sessions"

    def count_if(self, condition: str) -> str:
        return f"countIf({condition})"

    def visits_if(self, condition: str) -> str:
        return f"uniqExactIf(session_id, visitor_id, {condition})"

    def day(self, column: str) -> str:
        return f"toString(toDate({column}))"

    def timestamp(self, text: str) -> str:
        return f"toDateTime('{text}', 'UTC')"

    def prop(self, key: str) -> str:
        return f"if(mapContains(props, '{key}'), props['{key}'], '(none)')"

    def host(self, column: str) -> str:
        return f"splitByChar('/', {column})[1]"

    def seconds(self, start: str, end: str) -> str:
        return f"dateDiff('second', {start}, {end})"

    def literal(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# -- building blocks ------------------------------------------------------------------------


def event_where(site: Site, rng: Range, *extra: str, engagement: bool = False) -> str:
    parts = [
        f"site_id = {site.id}",
        f"ts >= '{rng.start}'",
        f"ts < '{rng.end}'",
        "NOT is_bot",
        "NOT is_excluded",
    ]
    if not engagement:
        parts.append("name <> 'engagement'")
    return " AND ".join([*parts, *extra])


def visit_where(site: Site, rng: Range, *extra: str) -> str:
    parts = [
        f"site_id = {site.id}",
        f"last_activity >= '{rng.start}'",
        f"start < '{rng.end}'",
        "NOT is_bot",
        "NOT is_excluded",
    ]
    return " AND ".join([*parts, *extra])


def grouped(
    table: str, dims: list[str], metrics: list[str], where: str, limit: int | None,
    time_first: bool = False,
) -> str:  # fmt: skip
    """SELECT dims, metrics ... GROUP BY dims, ordered as the engine orders, limited."""
    columns = [f"{d} AS d{i}" for i, d in enumerate(dims)]
    columns += [f"{m} AS m{i}" for i, m in enumerate(metrics)]
    order = ["d0 ASC"] if time_first else []
    order += ["m0 DESC", *(f"d{i} ASC" for i in range(len(dims)))]
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {where}"
    sql += f" GROUP BY {', '.join(f'd{i}' for i in range(len(dims)))}"
    sql += f" ORDER BY {', '.join(order)}"
    return sql + (f" LIMIT {limit}" if limit else "")


def placeholder(column: str, shown: str) -> str:
    return f"CASE WHEN {column} = '' THEN '{shown}' ELSE {column} END"


def channel_case() -> str:
    cases = " ".join(
        f"WHEN channel IN ({', '.join(repr(p) for p in plausible)}) THEN '{name}'"
        for name, plausible in tinytrail_channel_sql_cases()
        if plausible
    )
    return f"CASE {cases} ELSE 'Referral' END"


def screen_bucket() -> str:
    return (
        "CASE WHEN screen_width = 0 THEN 'unknown' WHEN screen_width <= 375 THEN '320-375' "
        "WHEN screen_width <= 768 THEN '376-768' WHEN screen_width <= 1024 THEN '769-1024' "
        "WHEN screen_width <= 1440 THEN '1025-1440' ELSE '1441+' END"
    )


VISITORS = "count(DISTINCT visitor_id)"
PAGEVIEW = "name = 'pageview'"
BOUNCE = "avg(CASE WHEN is_bounce THEN 100.0 ELSE 0 END)"
