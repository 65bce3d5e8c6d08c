"""Daily rollups: additive per-day components that answer common reports without raw rows.

For each site and closed local day, and for each rollup key (a tuple of stored columns, or an
event name with one custom property's key and value), the rollup keeps sums that add up across
days: event-side visitors, visits, pageviews, events and unique pageviews, and visit-side
visitors, visits, bounces, duration and pageviews. They add up exactly because visitor ids are
scoped to one local day (the daily salt) and a visit is filed under the day of its last
activity. A query over a range reads rollup rows for aggregated days, the same components
computed from raw rows for the other days (today, say), and those of the visits still active
after the range's end (which count in it too), then sums them; the result equals the all-raw
answer, which the tests prove for every report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from tinytrail.query import registry
from tinytrail.query.goals import selected_goals
from tinytrail.query.model import Filter, Goal, Node, Query
from tinytrail.query.periods import from_dates
from tinytrail.query.sql.aggregates import event_metric_sql
from tinytrail.query.sql.context import EVENTS, SESSIONS, Context, hourly
from tinytrail.query.sql.dialect import Dialect
from tinytrail.query.sql.filters import FilterSQL

COMPONENTS = (
    "ev_visitors",
    "ev_visits",
    "pageviews",
    "events",
    "unique_pageviews",
    "se_visitors",
    "se_visits",
    "bounces",
    "duration_sum",
    "session_pageviews",
)
EVENT_COMPONENTS = COMPONENTS[:5]
_EVENT_METRICS = ("visitors", "visits", "pageviews", "events", "unique_pageviews")
SESSION_COMPONENTS = COMPONENTS[5:]
ROLLUP_METRICS = frozenset(
    {
        "visitors",
        "visits",
        "pageviews",
        "events",
        "unique_pageviews",
        "bounce_rate",
        "visit_duration",
        "views_per_visit",
        "percentage",
    }
)
PAGEVIEW_FILTER = Filter("is", "event:name", ("pageview",))
# What answers built from the event-side rows of single names (goal conversions, a property
# breakdown of one event name) can take from them: event-side counts and the conversion rate.
EVENT_ROWS_METRICS = frozenset(
    {"visitors", "visits", "pageviews", "events", "unique_pageviews", "conversion_rate"}
)
# Metrics whose rollup components add up across rows that split visits by a visit attribute
# (each visit, with its events, lies in one such row); visitors do not (one visitor, several
# visits with different attributes).
ROW_ADDITIVE_METRICS = frozenset(
    {"visits", "pageviews", "events", "unique_pageviews", "bounce_rate", "visit_duration"}
    | {"views_per_visit"}
)


@dataclass(frozen=True)
class RollupKey:
    columns: tuple[str, ...]  # stored columns, at most three
    events: bool = True  # has event-side components
    sessions: bool = True  # has visit-side components
    pageviews_only: bool = False  # event side restricted to pageviews
    # Custom properties: rows of (event name, property key, value), the value "(none)" for
    # the events of that name lacking a key others of its name have that day (see _prop_rows).
    props: bool = False

    @property
    def name(self) -> str:
        return ",".join(self.columns) + ("|pageviews" if self.pageviews_only else "")

    @property
    def table(self) -> str:
        """The key's own table of rollup rows."""
        suffix = "_pv" if self.pageviews_only else ""
        return "rollup_" + ("_".join(self.columns) or "total") + suffix


_VISIT_COLUMNS = (
    "referrer_source",
    "referrer",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "device",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "country",
    "region",
    "city",
    "screen_width",
)
# The props key's columns: not stored columns of events but the entries of their `props` map.
PROP_COLUMNS = ("name", "prop_key", "prop_value")
KEYS: tuple[RollupKey, ...] = (
    RollupKey(()),
    *(RollupKey((column,)) for column in _VISIT_COLUMNS if column != "referrer"),
    # Referrers with their source: a referrer breakdown filtered by source (TinyTrail's
    # domains, Plausible's referrer drill-down) reads these rows (see rollup_key_for).
    RollupKey(("referrer_source", "referrer")),
    RollupKey(("utm_source", "utm_medium", "utm_campaign")),
    RollupKey(("entry_page",), events=False),
    RollupKey(("exit_page",), events=False),
    RollupKey(("name",), sessions=False),
    RollupKey(("pathname",), sessions=False),
    RollupKey(("pathname",), sessions=False, pageviews_only=True),
    RollupKey(("pathname", "content_group"), sessions=False, pageviews_only=True),
    # A custom property's breakdown of one event name (Plausible's goal -> property panel).
    RollupKey(PROP_COLUMNS, sessions=False, props=True),
)
_BY_NAME = {key.name: key for key in KEYS}
NAME_KEY = _BY_NAME["name"]
PAGE_GOAL_KEY = _BY_NAME["pathname|pageviews"]
PROPS_KEY = _BY_NAME[",".join(PROP_COLUMNS)]


def layout_signature() -> str:
    """Names the rollup layout (keys and components): stored rollups built under another
    layout lack rows of keys added since, so the store drops them for a rebuild."""
    return ";".join([",".join(COMPONENTS), *(key.name for key in KEYS)])


def goal_rollup_rows(goal: Goal) -> tuple[RollupKey, str, str] | None:
    """The rollup key, column and value whose rows count exactly the goal's events, or None.

    A page goal without wildcards is the pageviews of one pathname; a custom event goal is
    the events of one name. Scroll-depth goals (engagement events, which rollups leave out),
    wildcards and custom-property conditions need raw events.
    """
    if goal.scroll_threshold >= 0 or goal.custom_props:
        return None
    if goal.page_path:
        if "*" in goal.page_path or "|" in goal.page_path:
            return None
        return PAGE_GOAL_KEY, "pathname", goal.page_path
    if goal.event_name and goal.event_name != "engagement":
        return NAME_KEY, "name", goal.event_name
    return None


def props_rollup_source(query: Query) -> tuple[str, str] | None:
    """(event name, property key) when the props rollup can answer the query, or None: one
    custom property as the only dimension, under one filter that selects the events of one
    name (an `event:name` or a goal that is a plain custom event)."""
    if query.include_bots or hourly(query) or len(query.dimensions) != 1:
        return None
    dim = registry.dimension(query.dimensions[0])
    if dim is None or not dim.prop_key or len(query.filters) != 1:
        return None
    if not set(query.metrics) <= EVENT_ROWS_METRICS or not covers_whole_days(query):
        return None
    node = query.filters[0]
    if not isinstance(node, Filter):
        return None
    if node.dimension == "event:goal" and node.op in ("is", "contains"):
        goals = selected_goals(query.site.goals, node)
        source = goal_rollup_rows(goals[0]) if len(goals) == 1 else None
        if source is not None and source[0] is NAME_KEY:
            return source[2], dim.prop_key
        return None
    one_name = node.dimension == "event:name" and node.op == "is" and len(node.clauses) == 1
    if one_name and node.case_sensitive and node.clauses[0] != "engagement":
        return str(node.clauses[0]), dim.prop_key
    return None


def covers_whole_days(query: Query) -> bool:
    """Rollups hold whole local days: instants (realtime, 24h, datetime pairs) need raw rows."""
    rng = query.date_range
    whole_days = from_dates(rng.first, rng.last, rng.timezone)
    return (whole_days.start, whole_days.end) == (rng.start, rng.end)


def _dimension_columns(dimensions: tuple[str, ...]) -> tuple[str, ...] | None:
    columns: list[str] = []
    for name in dimensions:
        dim = registry.dimension(name)
        if dim is None or dim.prop_key or name == "event:goal":
            return None
        if dim.scope != "time":
            columns.append(dim.column)
    return tuple(columns)


def _filter_columns(node: Node) -> set[str] | None:
    """The stored columns a filter reads, or None if it cannot run on rollup rows."""
    if isinstance(node, Filter):
        dim = registry.dimension(node.dimension)
        if dim is None or dim.prop_key or dim.scope == "time" or node.dimension == "event:goal":
            return None
        return {dim.column}
    children = (node.child,) if hasattr(node, "child") else getattr(node, "children", ())
    if not children or type(node).__name__ == "HasDone":
        return None
    found: set[str] = set()
    for child in children:
        columns = _filter_columns(child)
        if columns is None:
            return None
        found |= columns
    return found


def rollup_key_for(query: Query, page_as_entry: bool) -> RollupKey | None:
    """The rollup that can answer this query exactly, or None."""
    if query.include_bots or page_as_entry or not set(query.metrics) <= ROLLUP_METRICS:
        return None
    if hourly(query):  # rollups hold days (also when `time` resolves to hours)
        return None
    columns = _dimension_columns(query.dimensions)
    if columns is None:
        return None
    if not covers_whole_days(query):
        return None
    filters = list(query.filters)
    pageviews_only = PAGEVIEW_FILTER in filters
    if pageviews_only:
        filters.remove(PAGEVIEW_FILTER)
    needed = set(columns)
    for node in filters:
        used = _filter_columns(node)
        if used is None:
            return None
        needed |= used
    if filters and "percentage" in query.metrics:
        return None  # a filtered total is not a sum of rollup rows
    if needed == set(columns):
        return _BY_NAME.get(RollupKey(columns, pageviews_only=pageviews_only).name)
    if not set(query.metrics) <= ROW_ADDITIVE_METRICS:
        return None
    # Filters on other columns: a finer key serves when it splits the rows by visit attributes
    # only and the metrics add up across those rows (a visit has one value of each, so it and
    # its events lie in one row).
    finer = [
        key
        for key in KEYS
        if key.events
        and key.sessions
        and key.pageviews_only == pageviews_only
        and set(key.columns) >= needed
        and set(key.columns) - set(columns) <= set(_VISIT_COLUMNS)
    ]
    return min(finer, key=lambda key: len(key.columns), default=None)


def components_select(
    ctx: Context,
    key: RollupKey,
    days: list[tuple[date, date]] | None,
    wanted: frozenset[str] = frozenset(COMPONENTS),
    expressions: dict[str, str] | None = None,
    conditions: tuple[str, ...] = (),
) -> str:
    """Per-day components for `key` from raw rows, over `days` (None: the query's range).

    Day ranges are inclusive local dates; the result has columns `day`, the key's columns and
    every component (NULL where a side does not apply or the component is not `wanted`: a
    query that needs only visit-side sums must not pay for distinct counts over raw events).
    `expressions` computes key columns that are not stored ones, `conditions` narrows the
    event side (both for the props key's rows of one name and property key).
    """
    filters = FilterSQL(ctx)
    cols = list(key.columns)
    computed = [f"{(expressions or {}).get(c, c)} AS {c}" for c in cols]
    keys = ", ".join(["day", *cols])
    parts = []
    d = ctx.dialect
    spans = days if days is not None else [(ctx.range.first, ctx.range.last)]
    by_time = any(name.startswith("time") for name in ctx.query.dimensions)

    def day_and_group(column: str) -> tuple[str, str]:
        """`day` of raw rows and the GROUP BY clause. Grouping by a computed local date costs
        as much as the aggregates; it is only needed to split several days by time."""
        if len(spans) == 1 and spans[0][0] == spans[0][1]:
            day, computed = ctx.params(spans[0][0]), False  # one day (today): a constant
        elif not by_time:
            # Summed over the range anyway: visitor ids are per day, so a distinct count
            # over several days is the sum of the daily ones.
            day, computed = "CAST(NULL AS DATE)", False
        else:
            day, computed = f"CAST({ctx.local(column)} AS DATE)", True
        positions = range(1 if computed else 2, len(cols) + 2)
        if not positions:
            # An ungrouped aggregate answers one row even over no rows; a day without data
            # must add no row (a time series would show it as a zero bucket).
            return day, " HAVING count(*) > 0"
        return day, " GROUP BY " + ", ".join(map(str, positions))

    if key.events and wanted & set(EVENT_COMPONENTS):
        where = [_time_predicate(ctx, "ts", days), ctx.traffic_flags(), "name <> 'engagement'"]
        where.insert(0, f"site_id = {ctx.params(ctx.query.site.id)}")
        if key.pageviews_only:
            where.append(filters.on_events((PAGEVIEW_FILTER,))[0])
        where += conditions
        day, group = day_and_group("ts")
        event_parts = [
            f"{event_metric_sql(d, metric) if component in wanted else 'NULL'} AS {component}"
            for component, metric in zip(EVENT_COMPONENTS, _EVENT_METRICS, strict=True)
        ]
        select = [f"{day} AS day", *computed, *event_parts]
        parts.append(
            ("ev", f"SELECT {', '.join(select)} FROM {EVENTS} WHERE {' AND '.join(where)}{group}")
        )
    if key.sessions and wanted & set(SESSION_COMPONENTS):
        where = [f"site_id = {ctx.params(ctx.query.site.id)}", ctx.traffic_flags()]
        where.append(_time_predicate(ctx, "last_activity", days))
        day, group = day_and_group("last_activity")
        select = [f"{day} AS day", *cols, *_session_sums(d, wanted)]
        parts.append(
            ("se", f"SELECT {', '.join(select)} FROM {SESSIONS} WHERE {' AND '.join(where)}{group}")
        )
    return _join_sides(parts, ["day", *cols], keys)


def _session_sums(d: Dialect, wanted: frozenset[str]) -> list[str]:
    """The visit-side components over raw visits (NULL where not wanted)."""
    sums = (
        "count(DISTINCT visitor_id)",
        "count(*)",
        "sum(CASE WHEN is_bounce THEN 1 ELSE 0 END)",
        f"sum({d.seconds_between('start', 'last_event')})",
        "sum(pageviews)",
    )
    return [
        f"{expr if component in wanted else 'NULL'} AS {component}"
        for component, expr in zip(SESSION_COMPONENTS, sums, strict=True)
    ]


def crossing_select(ctx: Context, key: RollupKey, wanted: frozenset[str]) -> str | None:
    """Visit-side components of the visits still active after the range's end, filed under
    its last day; None when the query wants no visit-side sums of this key.

    A visit counts in every range it was active in (reference 4.2), but a rollup files it
    under the day it ended: one that started in the range and ended after it is in no day of
    the range. Its id already is the next day's (the visit took the new salt's id at
    midnight), so its visitor adds to the range's visitors without double counting.
    """
    if not key.sessions or not wanted & set(SESSION_COMPONENTS) or not ctx.visits_after_end:
        return None
    p = ctx.params
    end = p(ctx.range.end_exclusive.replace(tzinfo=None))
    where = [
        f"site_id = {p(ctx.query.site.id)}",
        ctx.traffic_flags(),
        f"start < {end}",
        f"last_activity >= {end}",
    ]
    cols = list(key.columns)
    events = [f"NULL AS {component}" for component in EVENT_COMPONENTS]
    select = [f"{p(ctx.range.last)} AS day", *cols, *events, *_session_sums(ctx.dialect, wanted)]
    group = " GROUP BY " + ", ".join(cols) if cols else " HAVING count(*) > 0"
    return f"SELECT {', '.join(select)} FROM {SESSIONS} WHERE {' AND '.join(where)}{group}"


def _join_sides(parts: list[tuple[str, str]], keys: list[str], key_list: str) -> str:
    ev_cols = EVENT_COMPONENTS
    se_cols = SESSION_COMPONENTS
    if not parts:  # nothing wanted from this key's sides: no rows
        columns = ", ".join(f"NULL AS {c}" for c in [*keys, *COMPONENTS])
        return f"SELECT {columns} WHERE FALSE"
    if len(parts) == 1:
        alias, sql = parts[0]
        present = ev_cols if alias == "ev" else se_cols
        # Canonical column order: the rollup rows are UNIONed with these by position.
        values = [c if c in present else f"NULL AS {c}" for c in COMPONENTS]
        return f"SELECT {key_list}, {', '.join(values)} FROM ({sql}) {alias}"
    (_, ev_sql), (_, se_sql) = parts
    merged = ", ".join(f"coalesce(ev.{k}, se.{k}) AS {k}" for k in keys)
    on = " AND ".join(f"ev.{k} IS NOT DISTINCT FROM se.{k}" for k in keys)
    both = ", ".join([*(f"ev.{c}" for c in ev_cols), *(f"se.{c}" for c in se_cols)])
    return f"SELECT {merged}, {both} FROM ({ev_sql}) ev FULL OUTER JOIN ({se_sql}) se ON {on}"


def _time_predicate(ctx: Context, column: str, days: list[tuple[date, date]] | None) -> str:
    tz = ctx.range.timezone
    spans = days if days is not None else [(ctx.range.first, ctx.range.last)]
    parts = []
    for first, last in spans:
        rng = from_dates(first, last, tz)
        start = ctx.params(rng.start.replace(tzinfo=None))
        end = ctx.params(rng.end_exclusive.replace(tzinfo=None))
        parts.append(f"({column} >= {start} AND {column} < {end})")
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


EV_TEMP = "_rollup_ev"  # one site-day's countable events, while its rollups are built
SE_TEMP = "_rollup_se"  # one site-day's visits, likewise


def build_statements(query: Query, dialect: Dialect) -> list[tuple[str, dict[str, Any]]]:
    """Statements that build the rollup rows of the query's day (one site, one local day).

    Two statements copy the day's countable events and visits into temporary tables; then one
    INSERT per key fills that key's table from them. The caller runs them in one transaction
    after deleting the site-day's old rows, and drops the temporary tables afterwards.
    """
    statements = [_copy_events(query, dialect), _copy_visits(query, dialect)]
    for key in KEYS:
        ctx = Context(query, dialect)
        inner = _key_components(ctx, key)
        site = ctx.params(query.site.id)
        names = ["site_id", "day", *key.columns, *COMPONENTS]
        values = [site, "day", *key.columns, *COMPONENTS]
        statements.append(
            (
                f"INSERT INTO {key.table} ({', '.join(names)}) "
                f"SELECT {', '.join(values)} FROM ({inner}) c",
                ctx.params.values,
            )
        )
    return statements


def _copy_events(query: Query, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    ctx = Context(query, dialect)
    where = [
        f"site_id = {ctx.params(query.site.id)}",
        _time_predicate(ctx, "ts", None),
        ctx.traffic_flags(),
        "name <> 'engagement'",
    ]
    pageview = FilterSQL(ctx).on_events((PAGEVIEW_FILTER,))[0]
    columns = sorted({c for key in KEYS if key.events for c in key.columns} - set(PROP_COLUMNS))
    columns += ["name", "props"]
    select = [
        f"CAST({ctx.local('ts')} AS DATE) AS day",
        "visitor_id",
        "session_id",
        "name = 'pageview' AS is_pageview",  # as event_metric_sql counts pageviews
        f"({pageview}) AS in_pageview_keys",  # as the pageview filter of pageviews_only keys
        *columns,
    ]
    sql = (
        f"CREATE OR REPLACE TEMP TABLE {EV_TEMP} AS SELECT {', '.join(select)} "
        f"FROM {EVENTS} WHERE {' AND '.join(where)}"
    )
    return sql, ctx.params.values


def _copy_visits(query: Query, dialect: Dialect) -> tuple[str, dict[str, Any]]:
    ctx = Context(query, dialect)
    where = [
        f"site_id = {ctx.params(query.site.id)}",
        ctx.traffic_flags(),
        _time_predicate(ctx, "last_activity", None),
    ]
    columns = sorted({c for key in KEYS if key.sessions for c in key.columns})
    select = [
        f"CAST({ctx.local('last_activity')} AS DATE) AS day",
        "visitor_id",
        "is_bounce",
        f"{dialect.seconds_between('start', 'last_event')} AS duration",
        "pageviews",
        *columns,
    ]
    sql = (
        f"CREATE OR REPLACE TEMP TABLE {SE_TEMP} AS SELECT {', '.join(select)} "
        f"FROM {SESSIONS} WHERE {' AND '.join(where)}"
    )
    return sql, ctx.params.values


def _key_components(ctx: Context, key: RollupKey) -> str:
    """One key's per-day components from the day's temporary tables (see components_select).

    The event side first groups by (key, visitor id, visit id): each (visit, visitor) pair is
    then one row, so visits and unique pageviews are plain counts of those rows.
    """
    cols = list(key.columns)
    keys = ", ".join(["day", *cols])
    parts = []
    if key.events:
        source = _prop_rows(ctx.dialect) if key.props else EV_TEMP
        pairs = (
            f"SELECT {keys}, visitor_id, session_id, count(*) AS n, "
            f"{ctx.dialect.count_if('is_pageview')} AS pv FROM {source}"
            + (" WHERE in_pageview_keys" if key.pageviews_only else "")
            + f" GROUP BY {keys}, visitor_id, session_id"
        )
        sides = (
            "count(DISTINCT visitor_id) AS ev_visitors",
            f"{ctx.dialect.count_if('session_id <> 0')} AS ev_visits",
            "sum(pv) AS pageviews",
            "sum(n) AS events",
            f"{ctx.dialect.count_if('pv > 0 AND session_id <> 0')} AS unique_pageviews",
        )
        parts.append(("ev", f"SELECT {keys}, {', '.join(sides)} FROM ({pairs}) p GROUP BY {keys}"))
    if key.sessions:
        sides = (
            "count(DISTINCT visitor_id) AS se_visitors",
            "count(*) AS se_visits",
            "sum(CASE WHEN is_bounce THEN 1 ELSE 0 END) AS bounces",
            "sum(duration) AS duration_sum",
            "sum(pageviews) AS session_pageviews",
        )
        parts.append(("se", f"SELECT {keys}, {', '.join(sides)} FROM {SE_TEMP} GROUP BY {keys}"))
    return _join_sides(parts, ["day", *cols], keys)


def _prop_rows(d: Dialect) -> str:
    """The day's events as props-key rows: each once per property it has, and once with the
    value "(none)" per key that other events of its name have that day but it lacks. A key
    no event of a name has that day gets no rows: then every event of the name is "(none)",
    which the name's own rollup row counts (see props_parts_sql).

    "(none)" is folded in here, as the raw breakdown folds it (`coalesce(value, '(none)')`):
    an event whose value is the text "(none)" and one without the property are one group,
    whose visitors and visits are counted once.
    """
    entries = (
        f"SELECT day, name, visitor_id, session_id, is_pageview, "
        f"{d.map_entries('props')} AS kv FROM {EV_TEMP} WHERE {d.map_size('props')} > 0"
    )
    having = (
        "SELECT day, name, kv.key AS prop_key, kv.value AS prop_value, visitor_id, session_id, "
        f"is_pageview FROM ({entries}) e"
    )
    lacking = (
        f"SELECT e.day, e.name, k.prop_key, '{registry.NONE_PROP}' AS prop_value, e.visitor_id, "
        "e.session_id, "
        f"e.is_pageview FROM {EV_TEMP} e JOIN (SELECT DISTINCT day, name, prop_key FROM h) k "
        f"ON e.day = k.day AND e.name = k.name WHERE NOT {d.map_has('e.props', 'k.prop_key')}"
    )
    return f"(WITH h AS ({having}) SELECT * FROM h UNION ALL {lacking}) r"


def props_parts_sql(
    ctx: Context, name: str, prop_key: str, aggregated: set[date], wanted: frozenset[str]
) -> str:
    """The events of one name split by one property's value, per day: columns `day`,
    `prop_value` ("(none)" for the events without that property) and every component.

    Built days read the props rollup; a built day without rows for the key (no event of the
    name had it) files all the name's events under "(none)", from the name's rollup row.
    Other days come from raw events, like `parts_sql`.
    """
    rng = ctx.range
    p = ctx.params
    name_sql, key_sql = p(name), p(prop_key)
    site = p(ctx.query.site.id)
    in_range = f"site_id = {site} AND day >= {p(rng.first)} AND day <= {p(rng.last)}"
    components = ", ".join(COMPONENTS)
    sql = (
        f"SELECT day, prop_value, {components} FROM {PROPS_KEY.table} "
        f"WHERE {in_range} AND name = {name_sql} AND prop_key = {key_sql} "
        f"UNION ALL SELECT day, '{registry.NONE_PROP}', {components} FROM {NAME_KEY.table} n "
        f"WHERE {in_range} AND name = {name_sql} AND NOT EXISTS (SELECT 1 FROM "
        f"{PROPS_KEY.table} r WHERE r.site_id = n.site_id AND r.day = n.day "
        f"AND r.name = n.name AND r.prop_key = {key_sql})"
    )
    spans = missing_spans(rng.first, rng.last, aggregated)
    if spans:
        one_value = RollupKey(("prop_value",), sessions=False)
        value = f"coalesce({ctx.dialect.map_get('props', key_sql)}, '{registry.NONE_PROP}')"
        raw = components_select(
            ctx, one_value, spans, wanted, {"prop_value": value}, (f"name = {name_sql}",)
        )
        sql += " UNION ALL " + raw
    return sql


def missing_spans(first: date, last: date, aggregated: set[date]) -> list[tuple[date, date]]:
    """Contiguous runs of days in [first, last] that have no rollup yet."""
    spans: list[tuple[date, date]] = []
    day = first
    while day <= last:
        if day not in aggregated:
            if spans and (day - spans[-1][1]).days == 1:
                spans[-1] = (spans[-1][0], day)
            else:
                spans.append((day, day))
        day = date.fromordinal(day.toordinal() + 1)
    return spans


def parts_sql(
    ctx: Context,
    key: RollupKey,
    aggregated: set[date],
    wanted: frozenset[str] = frozenset(COMPONENTS),
) -> str:
    """Rollup rows of aggregated days plus raw components of the others, same columns.

    Only the `wanted` components are computed from raw rows; the others are NULL there.
    """
    rng = ctx.range
    p = ctx.params
    rollup_cols = ", ".join(["day", *key.columns, *COMPONENTS])
    sql = (
        f"SELECT {rollup_cols} FROM {key.table} WHERE site_id = {p(ctx.query.site.id)} "
        f"AND day >= {p(rng.first)} AND day <= {p(rng.last)}"
    )
    spans = missing_spans(rng.first, rng.last, aggregated)
    if spans:
        sql += " UNION ALL " + components_select(ctx, key, spans, wanted)
    crossing = crossing_select(ctx, key, wanted)
    if crossing is not None:
        sql += " UNION ALL " + crossing
    return sql
