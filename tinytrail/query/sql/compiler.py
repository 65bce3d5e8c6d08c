"""The planner and SQL compiler: one internal query in, one SQL statement out.

A query is answered from up to two sides, joined on the dimension values:
  * the event side (`events`), for event metrics and whenever an event dimension groups rows;
  * the visit side (`all_sessions`), for visit metrics (bounce rate, duration, views per visit)
    and visit-only dimensions (entry and exit pages).
`visitors` and `visits` can come from either; the planner picks the side that needs no join.
Calculated metrics (percentage, conversion rates) divide by totals from small extra CTEs.
Every value is a bound parameter; backend specifics go through the dialect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tinytrail.ingest.sources import tinytrail_channel_sql_cases
from tinytrail.query import registry
from tinytrail.query.model import Filter, Node, Query
from tinytrail.query.sql.aggregates import event_metric_sql
from tinytrail.query.sql.context import EVENTS, SESSIONS, Context, hourly, time_unit, time_unit_of
from tinytrail.query.sql.dialect import Dialect
from tinytrail.query.sql.filters import FilterSQL, touches_events
from tinytrail.query.sql.rollups import (
    EVENT_ROWS_METRICS,
    KEYS,
    PAGEVIEW_FILTER,
    RollupKey,
    covers_whole_days,
    goal_rollup_rows,
    parts_sql,
    props_parts_sql,
    props_rollup_source,
    rollup_key_for,
)

E, S = "ev", "se"
MAX_STACKED_GOALS = 12  # goal breakdowns scan once per goal up to this many goals
MAX_OFFSET = 2**40  # past any real row count; keeps absurd offsets inside the engine's int range
LOCATION_COLUMNS = {"country": "''", "region": "''", "city": "''"}
SCREEN_BUCKETS = ((375, "320-375"), (768, "376-768"), (1024, "769-1024"), (1440, "1025-1440"))


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any]
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    time_unit: str | None


@dataclass
class Plan:
    """Which side computes which metric, and what the calculated metrics need."""

    event_metrics: list[str] = field(default_factory=list)
    session_metrics: list[str] = field(default_factory=list)
    either_side: str = S
    page_as_entry: bool = False  # event:page grouped by entry page on the visit side
    needs_total: bool = False  # percentage
    needs_conversion_total: bool = False  # conversion_rate
    needs_group_total: bool = False  # group_conversion_rate


def make_plan(query: Query) -> Plan:
    plan = Plan()
    scopes = {registry.dimension(d).scope for d in query.dimensions}  # type: ignore[union-attr]
    event_dims = [d for d in query.dimensions if registry.dimension(d).scope == "event"]  # type: ignore[union-attr]
    metrics = set(query.metrics)
    session_wanted = bool(metrics & registry.SESSION_METRICS)
    event_wanted = bool(metrics & registry.EVENT_METRICS)
    if event_dims:
        plan.either_side = E
        plan.page_as_entry = session_wanted and event_dims == ["event:page"]
    elif "session" in scopes or session_wanted:
        plan.either_side = S
    elif event_wanted or any(touches_events(f) for f in query.filters):
        plan.either_side = E
    for name in query.metrics:
        kind = registry.metric(name).kind  # type: ignore[union-attr]
        if kind == "event":
            plan.event_metrics.append(name)
        elif kind == "session":
            plan.session_metrics.append(name)
        elif kind == "either":
            (plan.event_metrics if plan.either_side == E else plan.session_metrics).append(name)
    plan.needs_total = "percentage" in metrics
    plan.needs_conversion_total = "conversion_rate" in metrics
    plan.needs_group_total = "group_conversion_rate" in metrics
    if metrics & {"percentage", "conversion_rate", "group_conversion_rate"}:
        side = plan.event_metrics if plan.either_side == E else plan.session_metrics
        if "visitors" not in side:
            side.append("visitors")
    return plan


def select(columns: list[str], source: str, where: list[str], group_by: int = 0) -> str:
    """`SELECT ... FROM ... WHERE ...`, grouped by the first `group_by` columns."""
    sql = f"SELECT {', '.join(columns)} FROM {source} WHERE {' AND '.join(where)}"
    if group_by:
        sql += " GROUP BY " + ", ".join(str(i + 1) for i in range(group_by))
    return sql


def without_goal_filters(filters: tuple[Node, ...]) -> tuple[Node, ...]:
    """Top-level filters minus goal and custom-property ones (conversion-rate denominators)."""
    return tuple(
        f
        for f in filters
        if not (
            isinstance(f, Filter)
            and (f.dimension == "event:goal" or f.dimension.startswith("event:props:"))
        )
    )


class Compiler:
    def __init__(self, query: Query, dialect: Dialect, visits_after_end: bool = True) -> None:
        self.query = query
        self.ctx = Context(query, dialect, visits_after_end)
        self.filters = FilterSQL(self.ctx)
        self.plan = make_plan(query)
        self.unit = time_unit(query)
        # Visits are counted in every hour they were active (reference 1.5) when a time
        # dimension is hourly; the visit side's other time dimensions then bucket that same
        # hour, so a row's day is its hour's day. (Plausible takes the visit's last activity
        # for those: a visit across midnight would give a row pairing 23:00 with the next day.)
        self.hourly = hourly(query)

    # -- dimensions -------------------------------------------------------------------------

    def dim_expr(self, name: str, side: str) -> str:
        dim = registry.dimension(name)
        assert dim is not None
        d = self.ctx.dialect
        if dim.scope == "time":
            unit = time_unit_of(self.query, name) or "day"
            if side == S and self.hourly:
                return self._time_bucket("__hour", unit)  # the hours a visit was active in
            moment = "ts" if side == E else self.ctx.last_activity_in_range()
            return self._time_bucket(self.ctx.local(moment), unit)
        if name == "event:goal":
            return "__goal.display_name"
        if name == "event:page" and side == S:
            return "entry_page"
        if dim.prop_key:
            value = d.map_get("props", self.ctx.params(dim.prop_key))
            return f"coalesce({value}, '{registry.NONE_PROP}')"
        if name == "visit:tinytrail_channel":
            cases = " ".join(
                f"WHEN channel IN ({', '.join(self.ctx.params(c) for c in plausible)}) "
                f"THEN {self.ctx.params(label)}"
                for label, plausible in tinytrail_channel_sql_cases()
                if plausible
            )
            return f"CASE {cases} ELSE 'Referral' END"
        if name == "visit:referrer_host":
            return self.ctx.dialect.first_segment("referrer")
        if name == "visit:screen_bucket":
            cases = " ".join(f"WHEN screen_width <= {w} THEN '{b}'" for w, b in SCREEN_BUCKETS)
            return f"CASE WHEN screen_width = 0 THEN 'unknown' {cases} ELSE '1441+' END"
        if dim.placeholder:
            return f"CASE WHEN {dim.column} = '' THEN '{dim.placeholder}' ELSE {dim.column} END"
        return dim.column

    def _time_bucket(self, local: str, unit: str) -> str:
        d = self.ctx.dialect
        if unit == "hour":
            return d.format_hour(d.truncate("hour", local))
        if unit == "week":
            first = self.ctx.params(self.query.date_range.first)
            return d.format_date(f"greatest({d.truncate('week', local)}, {first})")
        if unit == "month":
            return d.format_date(d.truncate("month", local))
        return d.format_date(d.truncate("day", local))

    def _location_guards(self, side: str) -> list[str]:
        """Breakdowns by location leave out rows whose location is unknown (as Plausible)."""
        guards = []
        for name in self.query.dimensions:
            dim = registry.dimension(name)
            if dim is not None and dim.column in LOCATION_COLUMNS and not dim.prop_key:
                guards.append(f"{dim.column} <> {LOCATION_COLUMNS[dim.column]}")
        return guards

    # -- the two sides ----------------------------------------------------------------------

    def event_metric_expr(self, name: str) -> str:
        return event_metric_sql(self.ctx.dialect, name)

    def session_metric_expr(self, name: str) -> str:
        if name == "bounce_rate":
            bounce = "avg(CASE WHEN is_bounce THEN 100.0 ELSE 0 END)"
            entry_filter = self._bounce_entry_filter()
            return f"{bounce} FILTER (WHERE {entry_filter})" if entry_filter else bounce
        if name == "visit_duration":
            return f"avg({self.ctx.dialect.seconds_between('start', 'last_event')})"
        return {
            "visitors": "count(DISTINCT visitor_id)",
            "visits": "count(*)",
            "views_per_visit": "sum(pageviews) / nullif(count(*), 0)",
            "exit_rate": "count(*)",
        }[name]

    def _bounce_entry_filter(self) -> str:
        """With a top-level event:page filter, bounce rate counts only visits entering there."""
        page_filters = [
            f for f in self.query.filters if isinstance(f, Filter) and f.dimension == "event:page"
        ]
        if not page_filters:
            return ""
        renamed = tuple(
            Filter(f.op, "visit:entry_page", f.clauses, f.case_sensitive) for f in page_filters
        )
        return " AND ".join(self.filters.on_sessions(renamed))

    def _goal_source(self) -> tuple[str, list[str]]:
        """One row per (event, goal it completes), for the `event:goal` breakdown: the FROM
        clause, with `__goal.display_name`, and conditions for the WHERE clause.

        With few goals, each goal's events are selected by their own scan and stacked (each
        scan's filter is pushed into it; an event completing two goals is in both); with
        many, one scan keeps the events completing any goal and a join pairs them with their
        goals (its OR of conditions is evaluated per pair of rows, so only those events).
        """
        p = self.ctx.params
        goals = self.query.site.goals
        if not goals:
            return f"{EVENTS} JOIN (SELECT '' AS display_name WHERE FALSE) __goal ON TRUE", []
        predicates = [self.filters.goal_predicate(goal) for goal in goals]
        if len(goals) <= MAX_STACKED_GOALS:
            stacked = " UNION ALL ".join(
                f"SELECT *, {p(goal.display_name)} AS display_name FROM {EVENTS} WHERE {pred}"
                for goal, pred in zip(goals, predicates, strict=True)
            )
            return f"({stacked}) __goal", []
        values = ", ".join(f"({i}, {p(goal.display_name)})" for i, goal in enumerate(goals))
        conditions = " OR ".join(
            f"(__goal.idx = {i} AND {pred})" for i, pred in enumerate(predicates)
        )
        join = f" JOIN (VALUES {values}) __goal(idx, display_name) ON ({conditions})"
        return EVENTS + join, ["(" + " OR ".join(predicates) + ")"]

    def event_side(
        self, metrics: list[str], filters: tuple[Node, ...], dims: tuple[str, ...]
    ) -> str:
        where = [self.ctx.event_base(), *self.filters.on_events(filters)]
        goal_dim = "event:goal" in dims
        if not goal_dim and not any(
            isinstance(f, Filter) and f.dimension == "event:goal" for f in filters
        ):
            where.append("name <> 'engagement'")
        where += self._location_guards(E)
        selects = [f"{self.dim_expr(n, E)} AS d{i}" for i, n in enumerate(dims)]
        selects += [f"{self.event_metric_expr(m)} AS m_{m}" for m in metrics if m in _EVENT_SQL]
        source = EVENTS
        if goal_dim:
            source, conditions = self._goal_source()
            where += conditions
        return select(selects, source, where, len(dims))

    def engagement_side(self, metric: str, dims: tuple[str, ...]) -> str:
        """scroll_depth and time_on_page: per visit first, then averaged (reference 1.4)."""
        where = [self.ctx.event_base(), *self.filters.on_events(self.query.filters)]
        where.append("name = 'engagement' AND session_id <> 0")
        keys = [f"{self.dim_expr(n, E)} AS d{i}" for i, n in enumerate(dims)]
        if metric == "scroll_depth":
            inner_value = "max(scroll_depth) AS v"
            where.append("scroll_depth IS NOT NULL AND scroll_depth <= 100")
            outer_value = "avg(v)"
        else:
            inner_value = "sum(engagement_ms) AS v"
            where.append("engagement_ms IS NOT NULL")
            outer_value = "sum(v) / 1000.0 / nullif(count(*), 0)"
        inner = select([*keys, "session_id AS __sid", inner_value], EVENTS, where, len(dims) + 1)
        outer_columns = [f"d{i}" for i in range(len(dims))] + [f"{outer_value} AS m_{metric}"]
        return select(outer_columns, f"({inner}) x", ["TRUE"], len(dims))

    def session_side(
        self, metrics: list[str], filters: tuple[Node, ...], dims: tuple[str, ...]
    ) -> str:
        session_filters = filters
        if self.plan.page_as_entry:
            # The visit side groups by entry page, so event:page filters become entry-page ones.
            session_filters = tuple(
                Filter(f.op, "visit:entry_page", f.clauses, f.case_sensitive)
                if isinstance(f, Filter) and f.dimension == "event:page"
                else f
                for f in filters
            )
        where = [self.ctx.session_base(), *self.filters.on_sessions(session_filters)]
        where += self._location_guards(S)
        source = SESSIONS
        if self.hourly and any(registry.dimension(d).scope == "time" for d in dims):  # type: ignore[union-attr]
            local_start = self.ctx.local("start")
            local_end = self.ctx.local("last_activity")
            first = self.ctx.params(self._local_naive(self.query.date_range.start))
            last = self.ctx.params(self._local_naive(self.query.date_range.end))
            hours = self.ctx.dialect.hours_spanned(local_start, local_end)
            source = (
                f"(SELECT * FROM (SELECT *, {hours} AS __hour FROM {SESSIONS} "
                f"WHERE {' AND '.join(where)}) h "
                f"WHERE __hour >= date_trunc('hour', {first}) AND __hour <= {last})"
            )
            where = ["TRUE"]
        selects = [f"{self.dim_expr(n, S)} AS d{i}" for i, n in enumerate(dims)]
        selects += [f"{self.session_metric_expr(m)} AS m_{m}" for m in metrics]
        return select(selects, source, where, len(dims))

    def _local_naive(self, moment: Any) -> Any:
        return moment.astimezone(self.query.date_range.timezone).replace(tzinfo=None)

    # -- assembly ---------------------------------------------------------------------------

    def compile(self, aggregated: set[date] | None = None) -> Compiled:
        """The raw-rows statement; `aggregated` (days with rollups) lets side totals such as
        the conversion rate's denominator come from the rollups."""
        q, plan = self.query, self.plan
        dims = q.dimensions
        ctes: list[tuple[str, str, list[str]]] = []  # (alias, sql, metric columns)
        event_sql_metrics = [m for m in plan.event_metrics if m in _EVENT_SQL]
        if event_sql_metrics:
            ctes.append((E, self.event_side(event_sql_metrics, q.filters, dims), event_sql_metrics))
        for metric in ("scroll_depth", "time_on_page"):
            if metric in plan.event_metrics:
                ctes.append((f"eng_{metric}", self.engagement_side(metric, dims), [metric]))
        if plan.session_metrics:
            ctes.append(
                (S, self.session_side(plan.session_metrics, q.filters, dims), plan.session_metrics)
            )

        either_table = E if plan.either_side == E else S
        if plan.needs_total:
            ctes.append(("tot", self._total_sql(either_table, q.filters), []))
        if plan.needs_conversion_total:
            ctes.append(("conv", self._conversion_total_sql(aggregated or set()), []))
        if plan.needs_group_total:
            ctes.append(("grp", self._group_total_sql(), []))

        main = [c for c in ctes if c[0] not in ("tot", "conv", "grp")]
        select_dims = self._merged_dims(main, len(dims))
        metric_cols = [self._metric_column(name, main) for name in q.metrics]
        from_clause = self._join(main, len(dims))
        extra = []
        if plan.needs_total:
            extra.append("CROSS JOIN tot")
        if plan.needs_conversion_total:
            extra.append("CROSS JOIN conv")
        if plan.needs_group_total:
            extra.append(self._group_join(main))
        columns = [*select_dims, *metric_cols]
        if q.total_rows:
            columns.append("count(*) OVER () AS __total")
        with_sql = ", ".join(f"{alias} AS ({sql})" for alias, sql, _ in ctes)
        sql = f"WITH {with_sql} SELECT {', '.join(columns)} FROM {from_clause} {' '.join(extra)}"
        return self._ordered(sql)

    # -- from daily rollups -----------------------------------------------------------------

    def compile_rollup(self, key: RollupKey, aggregated: set[date]) -> Compiled:
        """The same answer as `compile`, from rollup rows plus raw rows of other days."""
        q = self.query
        side = "ev" if self.plan.either_side == E else "se"
        dims = q.dimensions
        wanted = frozenset(c.format(side=side) for m in q.metrics for c in _ROLLUP_SUMS[m][1])
        ctes = [f"parts AS ({parts_sql(self.ctx, key, aggregated, wanted)})"]
        row_filters = tuple(f for f in q.filters if f != PAGEVIEW_FILTER)
        where = [*self.filters.on_rollup_rows(row_filters), *self._location_guards(E)]
        # Rollup rows hold whole local days (`day`); hourly queries never come here.
        columns = [f"{self._rollup_dim(name)} AS d{i}" for i, name in enumerate(dims)]
        sums = {m: expr.format(side=side) for m, (expr, _) in _ROLLUP_SUMS.items()}
        if "percentage" in q.metrics:
            totals = frozenset({f"{side}_visitors"})
            ctes.append(f"totals AS ({parts_sql(self.ctx, KEYS[0], aggregated, totals)})")
            total = f"(SELECT sum({side}_visitors) FROM totals)"
            sums["percentage"] = f"100.0 * sum({side}_visitors) / nullif({total}, 0)"
        columns += [f"{sums[m]} AS m_{m}" for m in q.metrics]
        if q.total_rows:
            columns.append("count(*) OVER () AS __total")
        sql = f"WITH {', '.join(ctes)} " + select(columns, "parts", where or ["TRUE"], len(dims))
        return self._ordered(sql)

    def _rollup_dim(self, name: str) -> str:
        unit = time_unit_of(self.query, name)
        return self._time_bucket("day", unit) if unit else self.dim_expr(name, E)

    def compile_goal_rollup(self, aggregated: set[date]) -> Compiled | None:
        """The goal conversions breakdown from rollup rows, when every goal's events are one
        rollup row per day (a plain page or event name), or None.

        Each goal sums its own rows (a page goal's pathname among pageviews, an event goal's
        name), so the answer is the raw breakdown's: the same events, counted the same way.
        """
        q = self.query
        goals = q.site.goals
        if (
            q.dimensions != ("event:goal",)
            or q.filters
            or q.include_bots
            or not aggregated
            or not goals
            or not set(q.metrics) <= EVENT_ROWS_METRICS
            or len({goal.display_name for goal in goals}) != len(goals)
            or not covers_whole_days(q)
        ):
            return None
        sources = [goal_rollup_rows(goal) for goal in goals]
        if any(source is None for source in sources):
            return None
        p = self.ctx.params
        counts = [m for m in q.metrics if m in _ROLLUP_SUMS]
        wanted = {"ev_visitors", "events"}
        wanted |= {c.format(side="ev") for m in counts for c in _ROLLUP_SUMS[m][1]}
        keys: list[RollupKey] = []
        rows = []
        for goal, source in zip(goals, sources, strict=True):
            assert source is not None
            key, column, value = source
            if key not in keys:
                keys.append(key)
            sums = [f"{_ROLLUP_SUMS[m][0].format(side='ev')} AS m_{m}" for m in counts]
            sums += ["sum(ev_visitors) AS __visitors", "sum(events) AS __events"]
            rows.append(
                f"SELECT {p(goal.display_name)} AS d0, {', '.join(sums)} "
                f"FROM k{keys.index(key)} WHERE {column} = {p(value)}"
            )
        ctes = [
            f"k{i} AS ({parts_sql(self.ctx, key, aggregated, frozenset(wanted))})"
            for i, key in enumerate(keys)
        ]
        ctes.append(f"goals AS ({' UNION ALL '.join(rows)})")
        columns = ["d0", *(f"m_{m}" for m in counts)]
        source_sql = "goals"
        if "conversion_rate" in q.metrics:
            ctes.append(f"conv AS ({self._conversion_total_sql(aggregated)})")
            columns.append(
                "coalesce(100.0 * __visitors / nullif(conv.v, 0), 0) AS m_conversion_rate"
            )
            source_sql += " CROSS JOIN conv"
        if q.total_rows:
            columns.append("count(*) OVER () AS __total")
        # A goal without events in the range has no row, as in the raw breakdown.
        sql = f"WITH {', '.join(ctes)} " + select(columns, source_sql, ["__events > 0"])
        return self._ordered(sql)

    def compile_props_rollup(self, aggregated: set[date]) -> Compiled | None:
        """A custom property's breakdown of one event name from the props rollup (plus raw
        rows of other days), or None when the query is not that (`props_rollup_source`).

        The rows are the raw breakdown's: the name's events by the property's value, those
        without it as "(none)", each counted as the raw event side counts them.
        """
        q = self.query
        source = props_rollup_source(q)
        if source is None or not aggregated:
            return None
        name, prop_key = source
        counts = [m for m in q.metrics if m in _ROLLUP_SUMS]
        wanted = {"ev_visitors"} | {c.format(side="ev") for m in counts for c in _ROLLUP_SUMS[m][1]}
        parts = props_parts_sql(self.ctx, name, prop_key, aggregated, frozenset(wanted))
        ctes = [f"parts AS ({parts})"]
        columns = ["prop_value AS d0"]
        columns += [f"{_ROLLUP_SUMS[m][0].format(side='ev')} AS m_{m}" for m in counts]
        source_sql = "parts"
        if "conversion_rate" in q.metrics:
            ctes.append(f"conv AS ({self._conversion_total_sql(aggregated)})")
            columns.append(
                "coalesce(100.0 * sum(ev_visitors) / nullif(any_value(conv.v), 0), 0) "
                "AS m_conversion_rate"
            )
            source_sql += " CROSS JOIN conv"
        if q.total_rows:
            columns.append("count(*) OVER () AS __total")
        sql = f"WITH {', '.join(ctes)} " + select(columns, source_sql, ["TRUE"], 1)
        return self._ordered(sql)

    def _ordered(self, sql: str) -> Compiled:
        """The statement with the query's order, limit and offset appended."""
        q = self.query
        if q.dimensions:  # without dimensions there is one row: sorting it costs ~0.2 ms
            sql += " ORDER BY " + self._order_by()
        if q.limit is not None:
            sql += f" LIMIT {int(q.limit)}"
        if q.offset:
            sql += f" OFFSET {min(int(q.offset), MAX_OFFSET)}"
        return Compiled(sql, self.ctx.params.values, q.dimensions, q.metrics, self.unit)

    def rollup_key(self) -> RollupKey | None:
        return rollup_key_for(self.query, self.plan.page_as_entry)

    def _conversion_total_sql(self, aggregated: set[date]) -> str:
        """Visitors of the range under the filters other than goal ones, as `v`: from the
        daily rollups (plus raw rows of other days) when those filters allow, else raw."""
        filters = without_goal_filters(self.query.filters)
        if aggregated:
            total = self.query.with_(metrics=("visitors",), dimensions=(), filters=filters)
            key = rollup_key_for(total, page_as_entry=False)
            if key is not None:
                parts = parts_sql(self.ctx, key, aggregated, frozenset({"ev_visitors"}))
                row_filters = tuple(f for f in filters if f != PAGEVIEW_FILTER)
                where = self.filters.on_rollup_rows(row_filters) or ["TRUE"]
                return select(["sum(ev_visitors) AS v"], f"({parts}) parts", where)
        return self._total_sql(E, filters)

    def _total_sql(self, side: str, filters: tuple[Node, ...]) -> str:
        visitors = ["count(DISTINCT visitor_id) AS v"]
        if side == E:
            where = [self.ctx.event_base(), *self.filters.on_events(filters)]
            return select(visitors, EVENTS, [*where, "name <> 'engagement'"])
        return select(
            visitors, SESSIONS, [self.ctx.session_base(), *self.filters.on_sessions(filters)]
        )

    def _group_dims(self) -> tuple[str, ...]:
        return tuple(d for d in self.query.dimensions if d != "event:goal")

    def _group_total_sql(self) -> str:
        dims = self._group_dims()
        filters = without_goal_filters(self.query.filters)
        where = [self.ctx.event_base(), *self.filters.on_events(filters), "name <> 'engagement'"]
        where += self._location_guards(E)
        keys = [f"{self.dim_expr(n, E)} AS g{i}" for i, n in enumerate(dims)]
        return select([*keys, "count(DISTINCT visitor_id) AS v"], EVENTS, where, len(dims))

    def _group_join(self, main: list[tuple[str, str, list[str]]]) -> str:
        dims = self._group_dims()
        if not dims:
            return "CROSS JOIN grp"
        index = {name: i for i, name in enumerate(self.query.dimensions)}
        conditions = [
            f"grp.g{gi} IS NOT DISTINCT FROM {self._dim_ref(main, index[name])}"
            for gi, name in enumerate(dims)
        ]
        return f"LEFT JOIN grp ON {' AND '.join(conditions)}"

    def _dim_ref(self, main: list[tuple[str, str, list[str]]], i: int) -> str:
        if len(main) == 1:
            return f"{main[0][0]}.d{i}"
        return "coalesce(" + ", ".join(f"{alias}.d{i}" for alias, _, _ in main) + ")"

    def _merged_dims(self, main: list[tuple[str, str, list[str]]], count: int) -> list[str]:
        return [f"{self._dim_ref(main, i)} AS d{i}" for i in range(count)]

    def _join(self, main: list[tuple[str, str, list[str]]], count: int) -> str:
        first = main[0][0]
        sql = first
        for alias, _, _ in main[1:]:
            if count == 0:
                sql += f" CROSS JOIN {alias}"
            else:
                on = " AND ".join(
                    f"{alias}.d{i} IS NOT DISTINCT FROM {self._dim_ref_upto(main, alias, i)}"
                    for i in range(count)
                )
                sql += f" FULL OUTER JOIN {alias} ON {on}"
        return sql

    def _dim_ref_upto(self, main: list[tuple[str, str, list[str]]], alias: str, i: int) -> str:
        before = [a for a, _, _ in main[: [m[0] for m in main].index(alias)]]
        if len(before) == 1:
            return f"{before[0]}.d{i}"
        return "coalesce(" + ", ".join(f"{a}.d{i}" for a in before) + ")"

    def _metric_column(self, name: str, main: list[tuple[str, str, list[str]]]) -> str:
        source = {m: alias for alias, _, metrics in main for m in metrics}
        visitors = f"{source['visitors']}.m_visitors" if "visitors" in source else "NULL"
        if name == "percentage":
            return f"100.0 * {visitors} / nullif(tot.v, 0) AS m_percentage"
        if name == "conversion_rate":
            return f"coalesce(100.0 * {visitors} / nullif(conv.v, 0), 0) AS m_conversion_rate"
        if name == "group_conversion_rate":
            return f"coalesce(100.0 * {visitors} / nullif(grp.v, 0), 0) AS m_group_conversion_rate"
        return f"{source[name]}.m_{name} AS m_{name}"

    def _order_by(self) -> str:
        """Plausible's default order: the first time dimension ascending, then the first
        metric descending. An entry names a column: `time` sorts by the `time` column, its
        own resolved bucket (Plausible maps `time` to the first time dimension; the two differ
        only with several time dimensions, where sorting by the named column is what the
        caller asked for)."""
        q = self.query
        order = list(q.order_by)
        if not order:
            time_dims = [d for d in q.dimensions if d.startswith("time")]
            if time_dims:
                order.append((time_dims[0], "asc"))
            order.append((q.metrics[0], "desc"))
        parts = []
        for name, direction in order:
            column = f"d{q.dimensions.index(name)}" if name in q.dimensions else f"m_{name}"
            if name == "visit:city":  # GeoNames ids are stored as text but sort as numbers
                column = f"TRY_CAST({column} AS UBIGINT)"
            parts.append(f"{column} {direction.upper()} NULLS LAST")
        # Plausible leaves ties in storage order; we break them by the dimensions for
        # answers that do not change between runs.
        parts += [f"d{i} ASC" for i in range(len(q.dimensions))]
        return ", ".join(parts)


# How each metric sums from rollup components: its SQL (`{side}` is "ev" or "se", the side
# the query counts visitors on) and the components it reads, which are all a rollup query
# computes from raw rows of days without rollups. `percentage` divides by a total that
# `compile_rollup` adds.
_ROLLUP_SUMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "visitors": ("sum({side}_visitors)", ("{side}_visitors",)),
    "visits": ("sum({side}_visits)", ("{side}_visits",)),
    "pageviews": ("sum(pageviews)", ("pageviews",)),
    "events": ("sum(events)", ("events",)),
    "unique_pageviews": ("sum(unique_pageviews)", ("unique_pageviews",)),
    "bounce_rate": ("100.0 * sum(bounces) / nullif(sum(se_visits), 0)", ("bounces", "se_visits")),
    "visit_duration": (
        "sum(duration_sum) / nullif(sum(se_visits), 0)",
        ("duration_sum", "se_visits"),
    ),
    "views_per_visit": (
        "sum(session_pageviews) / nullif(sum(se_visits), 0)",
        ("session_pageviews", "se_visits"),
    ),
    "percentage": ("", ("{side}_visitors",)),
}


_EVENT_SQL = {
    "visitors",
    "visits",
    "pageviews",
    "events",
    "unique_pageviews",
    "total_revenue",
    "average_revenue",
}


def compile_query(query: Query, dialect: Dialect) -> Compiled:
    return Compiler(query, dialect).compile()
