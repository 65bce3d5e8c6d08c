"""Running a query: compile, execute on the event store, shape a neutral Result.

Rounding and defaults follow Plausible's metric table (plausible-reference.md 1.4), so every
API shows the same numbers. Runs synchronously; adapters call it on a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from tinytrail.ingest.model import ENGAGEMENT, PAGEVIEW
from tinytrail.query import names, registry
from tinytrail.query.funnels import WINDOW_SECONDS, FunnelResult, check_steps, shape_funnel
from tinytrail.query.hostnames import with_visit_hostname_filters
from tinytrail.query.model import Goal, Node, Query, Realtime, Result, ResultRow, SiteContext
from tinytrail.query.periods import from_dates
from tinytrail.query.sql.compiler import Compiler
from tinytrail.query.sql.context import time_unit
from tinytrail.query.sql.dialect import Dialect, DuckDBDialect
from tinytrail.query.sql.funnel import compile_funnel, compile_goal_funnel
from tinytrail.query.sql.realtime import ALL_EVENTS, PER_NAME, PER_PAGE, compile_realtime
from tinytrail.query.sql.rollups import build_statements
from tinytrail.query.validate import validate


class Store(Protocol):
    def fetch_dicts(
        self, sql: str, params: dict[str, Any], timeout: float | None = None
    ) -> list[dict[str, Any]]: ...
    def rollup_days(self, site_id: int, first: date, last: date) -> set[date]: ...
    def latest_activity(self, site_id: int) -> datetime | None: ...
    def seq_ceiling(self) -> int: ...
    def replace_rollups(
        self, site_id: int, day: date, statements: list[tuple[str, dict[str, Any]]]
    ) -> None: ...


def _round(value: Any, places: int) -> float | int | None:
    if value is None:
        return None
    quantum = Decimal(1).scaleb(-places)
    rounded = Decimal(str(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)
    return int(rounded) if places == 0 else float(rounded)


_SHAPERS: dict[str, Callable[[Any], Any]] = {
    "visitors": lambda v: int(v or 0),
    "visits": lambda v: int(v or 0),
    "pageviews": lambda v: int(v or 0),
    "events": lambda v: int(v or 0),
    "unique_pageviews": lambda v: int(v or 0),
    "views_per_visit": lambda v: _round(v or 0, 2),
    "bounce_rate": lambda v: _round(v or 0, 0),
    "visit_duration": lambda v: _round(v, 0),
    "percentage": lambda v: _round(v, 1),
    "conversion_rate": lambda v: _round(v or 0, 2),
    "group_conversion_rate": lambda v: _round(v or 0, 2),
    "scroll_depth": lambda v: _round(v, 0),
    "time_on_page": lambda v: _round(v, 0),
    "exit_rate": lambda v: _round(v, 1),
    "total_revenue": lambda v: None if v is None else float(v),
    "average_revenue": lambda v: None if v is None else float(v),
}


_COUNTS = frozenset({"visitors", "visits", "pageviews", "events", "unique_pageviews"})
# Sequence numbers (visit ids among them) are counted in a bitmap of one bit per number in use
# while there are at most this many: 8 MB per DuckDB thread at most. Past that, hashed.
SMALL_SEQ_CEILING = 1 << 26


class Engine:
    def __init__(self, store: Store, dialect: Dialect | None = None, timeout: float = 30) -> None:
        self.store = store
        self.dialect = dialect or DuckDBDialect()
        self.timeout = timeout

    def run(self, query: Query) -> Result:
        validate(query)
        query = with_visit_hostname_filters(query)
        rng = query.date_range
        latest = self.store.latest_activity(query.site.id)
        running_past = latest is not None and latest >= rng.end_exclusive
        compiler = Compiler(query, self.dialect, visits_after_end=running_past)
        compiled = None
        aggregated = self.store.rollup_days(query.site.id, rng.first, rng.last)
        if aggregated:
            # The rollup shapes, each None when it cannot answer this query exactly.
            key = compiler.rollup_key()
            compiled = (
                (compiler.compile_rollup(key, aggregated) if key is not None else None)
                or compiler.compile_goal_rollup(aggregated)
                or compiler.compile_props_rollup(aggregated)
            )
        if compiled is None:
            compiled = compiler.compile(aggregated)
        raw = self.store.fetch_dicts(compiled.sql, compiled.params, self.timeout)
        rows = []
        total = None
        for record in raw:
            dims = tuple(
                self._dimension_value(name, record[f"d{i}"])
                for i, name in enumerate(query.dimensions)
            )
            metrics = tuple(self._metric_value(query, m, record[f"m_{m}"]) for m in query.metrics)
            rows.append(ResultRow(dims, metrics))
            total = record.get("__total", total)
        if not query.dimensions and not rows:
            rows.append(ResultRow((), tuple(_SHAPERS[m](None) for m in query.metrics)))
        labels = time_labels(query) if query.time_labels else None
        return Result(
            query=query,
            rows=tuple(rows),
            total_rows=(int(total) if total is not None else 0) if query.total_rows else None,
            time_labels=labels,
        )

    def aggregate_day(self, site: SiteContext, day: date) -> None:
        """Build (or rebuild) the rollups of one closed local day of a site."""
        query = Query(
            site=site, metrics=("visits",), date_range=from_dates(day, day, site.timezone)
        )
        self.store.replace_rollups(site.id, day, build_statements(query, self.dialect))

    def funnel(self, query: Query, steps: tuple[Node, ...]) -> list[int]:
        """Visits reaching each step, in order (the query gives site, range and filters)."""
        small_seqs = self.store.seq_ceiling() <= SMALL_SEQ_CEILING
        compiled = compile_funnel(query, steps, self.dialect, small_seqs=small_seqs)
        [row] = self.store.fetch_dicts(compiled.sql, compiled.params, self.timeout)
        return [int(row[f"c{i}"]) for i in range(len(steps))]

    def realtime(self, query: Query, pages: int) -> Realtime:
        """Who is on the site in the query's range (a few minutes), its `pages` busiest pages
        and its events by name, from one statement over the raw events (sql/realtime.py)."""
        validate(query.with_(metrics=("visitors",), dimensions=(), time_labels=False))
        compiled = compile_realtime(query, self.dialect)
        rows = self.store.fetch_dicts(compiled.sql, compiled.params, self.timeout)
        active = 0
        paths: list[tuple[str, int]] = []
        names: list[tuple[str, int]] = []
        for row in rows:
            if row["level"] == ALL_EVENTS:
                active = int(row["visitors"])
            elif row["level"] == PER_NAME and row["name"] != ENGAGEMENT:
                names.append((row["name"], int(row["events"])))
            elif row["level"] == PER_PAGE and row["name"] == PAGEVIEW:
                paths.append((row["pathname"], int(row["visitors"])))
        paths.sort(key=lambda page: (-page[1], page[0]))
        names.sort(key=lambda name: (-name[1], name[0]))
        return Realtime(active, tuple(paths[:pages]), tuple(names))

    def goal_funnel(self, query: Query, steps: Sequence[Goal]) -> FunnelResult:
        """Evaluate a Plausible funnel: how many visitors completed the goals `steps` in order.

        `query` gives the site, the date range, bot handling and the filters (the same filters
        as any report: they select the events the funnel looks at); its metrics, dimensions,
        ordering and pagination are ignored. `steps` are 2 to 8 distinct goals of the site,
        in funnel order (e.g. a stored funnel's goal ids mapped onto `query.site.goals`).

        A visitor reaches step k when their events complete steps 1..k in time order (other
        events in between are fine, equal timestamps count as in order), the k-th at most 24
        hours after the first. The result has, per step, the goal's display name, the visitors
        who reached it, the conversion rate from the first and from the previous step and the
        drop-off from the previous step (count and percentage); plus all visitors of the range,
        and how many of them entered the funnel. Raises `InvalidInput` for a bad step list.
        """
        check_steps(steps)
        validate(query.with_(metrics=("visitors",), dimensions=(), time_labels=False))
        compiled = compile_goal_funnel(query, steps, self.dialect, WINDOW_SECONDS)
        [row] = self.store.fetch_dicts(compiled.sql, compiled.params, self.timeout)
        reached = [int(row[f"c{i}"]) for i in range(len(steps))]
        return shape_funnel(steps, reached, int(row["total"]))

    def _metric_value(self, query: Query, name: str, value: Any) -> Any:
        if query.precise and name not in _COUNTS:
            return None if value is None else float(value)
        return _SHAPERS[name](value)

    def _dimension_value(self, name: str, value: Any) -> Any:
        dim = registry.dimension(name)
        if dim is not None and dim.names:
            return names.name_of(dim.names, value)
        if name == "visit:city":
            return int(value or 0)  # a GeoNames id, stored as text
        return value


def time_labels(query: Query) -> tuple[str, ...]:
    """Every bucket label of the range (Plausible's include.time_labels), in the bucket of
    the first time dimension when there are several (as Plausible)."""
    unit = time_unit(query) or "day"
    first, last = query.date_range.first, query.date_range.last
    if unit == "hour":
        tz = query.date_range.timezone
        start = query.date_range.start.astimezone(tz).replace(minute=0, second=0, microsecond=0)
        end = query.date_range.end.astimezone(tz)
        labels, cursor = [], start.replace(tzinfo=None)
        while cursor <= end.replace(tzinfo=None):
            labels.append(cursor.strftime("%Y-%m-%d %H:00:00"))
            cursor += timedelta(hours=1)
        return tuple(labels)
    if unit == "day":
        return tuple(
            (first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)
        )
    if unit == "week":
        # first + k weeks, shown as its Monday when that Monday is inside the range.
        weeks: list[str] = []
        first_monday = first - timedelta(days=first.weekday())
        for k in range((last - first_monday).days // 7 + 1):
            day = first + timedelta(days=7 * k)
            monday = day - timedelta(days=day.weekday())
            weeks.append((monday if first <= monday <= last else day).isoformat())
        return tuple(weeks)
    months: list[str] = []
    cursor_m = date(first.year, first.month, 1)
    while cursor_m <= last:
        months.append(cursor_m.isoformat())
        cursor_m = date(cursor_m.year + cursor_m.month // 12, cursor_m.month % 12 + 1, 1)
    return tuple(months)
