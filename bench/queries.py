"""Every query the benchmark times: TinyTrail's HTTP request and the same numbers in plain SQL.

Each `Bench` names a TinyTrail report or a dashboard panel (a `/api/v2/query` body), how to
read its answer into canonical rows `(dimensions, metrics)`, and the hand-written SQL that
computes the same rows with the engine's definitions:

* event side: `events` of the site and range, no bots or excluded traffic, no `engagement`;
  visitors = count(DISTINCT visitor_id), pageviews = events named `pageview`;
* visit side: visits active in the range (last activity at or after its start, started before
  its end), by day of last activity clamped to the range's last day; bounce rate = share of
  `is_bounce`, duration = avg(last_event - start) in seconds;
* rows ordered by the first metric (time first when grouped by time), ties by the dimensions.

The SQL is written once per statement with a few dialect helpers (`Sql`), so DuckDB and the
ClickHouse engine run the same logic, each in its own idiom.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.agreement import Rows, plain, rows_of, v2_rows
from bench.sql import (
    BOUNCE,
    PAGEVIEW,
    VISITORS,
    ClickHouseSql,
    Range,
    Site,
    Sql,
    channel_case,
    event_where,
    grouped,
    placeholder,
    screen_bucket,
    visit_where,
)

BUILT_IN_EVENTS = (
    "pageview", "close_tab", "engagement", "outbound_link", "scroll_25", "scroll_50", "scroll_75",
)  # fmt: skip


# -- the catalogue --------------------------------------------------------------------------

Request = tuple[str, str, dict[str, Any]]  # method, path, params (GET) or JSON body (POST)


@dataclass(frozen=True)
class Bench:
    name: str
    kind: str  # "report" or "panel"
    request: Callable[[Site, Range], Request]
    extract: Callable[[dict[str, Any]], Rows]
    statements: Callable[[Sql, Site, Range], list[str]]
    shape: Callable[[list[list[tuple[Any, ...]]]], Rows]
    target_ms: dict[str, float]  # by range label
    ranges: tuple[str, ...] = ("30 days", "all time")


REPORT_TARGETS = {"30 days": 50.0, "all time": 150.0, "last 30 minutes": 50.0}


def report(path: str, **extra: Any) -> Callable[[Site, Range], Request]:
    def build(site: Site, rng: Range) -> Request:
        params = {"website_id": site.uuid, "start_date": rng.first.isoformat()}
        params["end_date"] = rng.last.isoformat()
        return "GET", f"/api/v1/reports/{path}", {**params, **extra}

    return build


def panel(**body: Any) -> Callable[[Site, Range], Request]:
    def build(site: Site, rng: Range) -> Request:
        dates = [rng.first.isoformat(), rng.last.isoformat()]
        return "POST", "/api/v2/query", {"site_id": site.domain, "date_range": dates, **body}

    return build


def _summary_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    visits = (
        f"SELECT count(*) AS visits, {VISITORS} AS visitors, {BOUNCE} AS bounce_rate, "
        f"avg({q.seconds('start', 'last_event')}) AS duration "
        f"FROM {q.sessions} WHERE {visit_where(site, rng)}"
    )
    pageviews = f"SELECT {q.count_if(PAGEVIEW)} AS pageviews FROM events "
    pageviews += f"WHERE {event_where(site, rng)}"
    return [
        f"SELECT s.visits, s.visitors, e.pageviews, s.bounce_rate, s.duration "
        f"FROM ({visits}) s CROSS JOIN ({pageviews}) e"
    ]


def _summary_rows(body: dict[str, Any]) -> Rows:
    m = body["data"]["metrics"]
    names = ("visits", "unique_visitors", "pageviews", "bounce_rate", "avg_session_duration_sec")
    return [((), tuple(m[name]["value"] for name in names))]


def _pages_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    metrics = [q.count_if(PAGEVIEW), q.visits_if("session_id <> 0")]
    where = event_where(site, rng, "name = 'pageview'")
    return [grouped("events", ["pathname", "content_group"], metrics, where, 50)]


def _pages_rows(body: dict[str, Any]) -> Rows:
    return [
        ((r["path"], plain(r["contentGroup"])), (r["pageviews"], r["uniquePageviews"]))
        for r in body["data"]["rows"]
    ]


def _source_rows(keys: tuple[str, ...]) -> Callable[[dict[str, Any]], Rows]:
    def extract(body: dict[str, Any]) -> Rows:
        return [(tuple(plain(r[k]) for k in keys), (r["visits"],)) for r in body["data"]["rows"]]

    return extract


def _channels_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    return [grouped(q.sessions, [channel_case()], ["count(*)"], visit_where(site, rng), 50)]


def _domains_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    where = visit_where(site, rng, "referrer <> ''")
    return [grouped(q.sessions, [q.host("referrer")], ["count(*)"], where, 50)]


UTM_COLUMNS = ("utm_source", "utm_medium", "utm_campaign")


def _utm_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    tagged = "(" + " OR ".join(f"{c} <> ''" for c in UTM_COLUMNS) + ")"
    dims = [placeholder(c, "(not set)") for c in UTM_COLUMNS]
    return [grouped(q.sessions, dims, ["count(*)"], visit_where(site, rng, tagged), 50)]


DEVICE_LISTS = (
    ("device_types", "deviceType"),
    ("browsers", "browserFamily"),
    ("os_families", "osFamily"),
    ("screen_resolutions", "bucket"),
)


def _devices_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    dims = [
        placeholder("device", "(not set)"),
        placeholder("browser", "(not set)"),
        placeholder("os", "(not set)"),
        screen_bucket(),
    ]
    where = visit_where(site, rng)
    return [grouped(q.sessions, [d], ["count(*)"], where, None) for d in dims]


def _device_label(index: int, value: Any) -> str:
    text = str(value)
    if index == 0:
        return text.lower() if text and text != "(not set)" else "unknown"
    return text if text and text != "(not set)" else "Unknown"


def _devices_shape(results: list[list[tuple[Any, ...]]]) -> Rows:
    rows: Rows = []
    for index, (key, _) in enumerate(DEVICE_LISTS):
        rows += [((key, _device_label(index, r[0])), (r[1],)) for r in results[index]]
    return rows


def _devices_rows(body: dict[str, Any]) -> Rows:
    data = body["data"]
    return [
        ((key, entry[label]), (entry["visits"],))
        for key, label in DEVICE_LISTS
        for entry in data[key]
    ]


def _flow_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    return [
        grouped(q.sessions, [c], ["count(*)"], visit_where(site, rng, f"{c} <> ''"), 50)
        for c in ("entry_page", "exit_page")
    ]


def _flow_shape(results: list[list[tuple[Any, ...]]]) -> Rows:
    entries, exits = results
    return [(("landing", r[0]), (r[1],)) for r in entries] + [
        (("exit", r[0]), (r[1],)) for r in exits
    ]


def _flow_rows(body: dict[str, Any]) -> Rows:
    data = body["data"]
    return [(("landing", r["path"]), (r["entries"],)) for r in data["landing_pages"]] + [
        (("exit", r["path"]), (r["exits"],)) for r in data["exit_pages"]
    ]


def _step_predicate(q: Sql, step: str) -> str:
    if step.startswith("/"):
        return f"(name = 'pageview' AND pathname = {q.literal(step)})"
    return f"name = {q.literal(step)}"


def _funnel_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    flags = [_step_predicate(q, step) for step in site.funnel]
    where = event_where(site, rng, "session_id <> 0", engagement=True)
    where += " AND (" + " OR ".join(flags) + ")"
    if isinstance(q, ClickHouseSql):
        # Plausible's way: windowFunnel over each visit's events (a window wider than a visit).
        levels = f"windowFunnel(86400, 'strict_increase')(ts, {', '.join(flags)})"
        counts = ", ".join(f"countIf(level >= {i + 1})" for i in range(len(flags)))
        inner = f"SELECT session_id, {levels} AS level FROM events WHERE {where} GROUP BY 1"
        return [f"SELECT {counts} FROM ({inner})"]
    # DuckDB: the first time each visit reaches each step, chained.
    columns = ", ".join(f"{flag} AS s{i}" for i, flag in enumerate(flags))
    ctes = [f"base AS (SELECT session_id, ts, {columns} FROM events WHERE {where})"]
    ctes.append("f0 AS (SELECT session_id, min(ts) AS t FROM base WHERE s0 GROUP BY 1)")
    for i in range(1, len(flags)):
        ctes.append(
            f"f{i} AS (SELECT b.session_id, min(b.ts) AS t FROM base b JOIN f{i - 1} p "
            f"ON b.session_id = p.session_id AND b.ts > p.t WHERE b.s{i} GROUP BY 1)"
        )
    counts = ", ".join(f"(SELECT count(*) FROM f{i})" for i in range(len(flags)))
    return [f"WITH {', '.join(ctes)} SELECT {counts}"]


def _funnel_shape(results: list[list[tuple[Any, ...]]]) -> Rows:
    [[counts]] = results
    return [((i,), (int(c),)) for i, c in enumerate(counts)]


def _funnel_rows(body: dict[str, Any]) -> Rows:
    return [((i,), (r["sessions"],)) for i, r in enumerate(body["data"]["funnel"])]


def _custom_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    names = ", ".join(f"'{n}'" for n in BUILT_IN_EVENTS)
    where = event_where(site, rng, f"name NOT IN ({names})")
    return [grouped("events", ["name"], ["count(*)"], where, 50)]


def _custom_rows(body: dict[str, Any]) -> Rows:
    return [((r["name"],), (r["count"],)) for r in body["data"]["rows"]]


def _timeseries_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    where = event_where(site, rng)
    return [grouped("events", [q.day("ts")], [q.count_if(PAGEVIEW)], where, None, True)]


def _nonzero(rows: Rows) -> Rows:
    return [row for row in rows if any(row[1])]


def _timeseries_rows(body: dict[str, Any]) -> Rows:
    return _nonzero([((r["date"],), (r["value"],)) for r in body["data"]["series"]])


# -- realtime: the last 30 minutes, whatever the range --------------------------------------


def _realtime_range() -> tuple[str, str]:
    """The last 30 minutes, as naive UTC like the stored timestamps."""
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    start, end = now - timedelta(minutes=30), now + timedelta(seconds=1)
    return start.isoformat(" "), end.isoformat(" ")


def _realtime_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    start, end = _realtime_range()
    # The raw events of the window; any event makes its visitor active, engagement too.
    window = f"site_id = {site.id} AND ts >= '{start}' AND ts < '{end}'"
    window += " AND NOT is_bot AND NOT is_excluded"
    events = window + " AND name <> 'engagement'"
    return [
        f"SELECT {VISITORS} FROM events WHERE {window}",
        grouped("events", ["pathname"], [VISITORS], events + " AND name = 'pageview'", 10),
        grouped("events", ["name"], ["count(*)"], events, None),
    ]


def _realtime_shape(results: list[list[tuple[Any, ...]]]) -> Rows:
    active, pages, names = results
    rows: Rows = [(("active",), (active[0][0],))]
    rows += [(("page", r[0]), (r[1],)) for r in pages]
    rows += [(("type", "page_view" if r[0] == "pageview" else r[0]), (r[1],)) for r in names]
    return rows


def _realtime_rows(body: dict[str, Any]) -> Rows:
    data = body["data"]
    rows: Rows = [(("active",), (data["active_visitors"],))]
    rows += [(("page", r["path"]), (r["visitors"],)) for r in data["top_pages"]]
    rows += [(("type", r["eventType"]), (r["count"],)) for r in data["events_by_type"]]
    return rows


# -- dashboard panels (Plausible's, through /api/v2/query) ----------------------------------


def _by_visit(column: str, limit: int = 10, *extra: str) -> Callable[[Sql, Site, Range], list[str]]:
    def statements(q: Sql, site: Site, rng: Range) -> list[str]:
        where = visit_where(site, rng, *extra)
        return [grouped(q.sessions, [column], [VISITORS], where, limit)]

    return statements


def _top_stats_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    visits = (
        f"SELECT {VISITORS} AS visitors, count(*) AS visits, "
        f"sum(pageviews) / nullif(count(*), 0) AS per_visit, {BOUNCE} AS bounce_rate, "
        f"avg({q.seconds('start', 'last_event')}) AS duration "
        f"FROM {q.sessions} WHERE {visit_where(site, rng)}"
    )
    pageviews = f"SELECT {q.count_if(PAGEVIEW)} AS pageviews FROM events "
    pageviews += f"WHERE {event_where(site, rng)}"
    return [
        "SELECT s.visitors, s.visits, e.pageviews, s.per_visit, s.bounce_rate, s.duration "
        f"FROM ({visits}) s CROSS JOIN ({pageviews}) e"
    ]


def _main_graph_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    where = visit_where(site, rng)
    day = q.day(f"least(last_activity, {q.timestamp(rng.last_second)})")
    return [grouped(q.sessions, [day], [VISITORS], where, None, True)]


def _pages_panel_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    metrics = [VISITORS, q.count_if(PAGEVIEW)]
    return [grouped("events", ["pathname"], metrics, event_where(site, rng), 10)]


def _entry_exit_sql(column: str) -> Callable[[Sql, Site, Range], list[str]]:
    def statements(q: Sql, site: Site, rng: Range) -> list[str]:
        return [grouped(q.sessions, [column], [VISITORS, "count(*)"], visit_where(site, rng), 10)]

    return statements


def _goals_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    parts = []
    for display, page, event in site.goals:
        predicate = _step_predicate(q, page) if page else f"name = {q.literal(event)}"
        parts.append(
            f"SELECT {q.literal(display)} AS goal, {VISITORS} AS visitors, count(*) AS events "
            f"FROM events WHERE {event_where(site, rng, predicate, engagement=True)}"
        )
    total = f"SELECT {VISITORS} AS v FROM events WHERE {event_where(site, rng)}"
    rate = "coalesce(100.0 * g.visitors / nullif(t.v, 0), 0)"
    return [
        f"SELECT g.goal, g.visitors, g.events, {rate} FROM ({' UNION ALL '.join(parts)}) g "
        f"CROSS JOIN ({total}) t WHERE g.events > 0 "
        "ORDER BY g.visitors DESC, g.goal ASC LIMIT 10"
    ]


def _props_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    where = event_where(site, rng, "name = 'Signup'", engagement=True)
    return [grouped("events", [q.prop("plan")], [VISITORS, "count(*)"], where, 10)]


def _two_filters_sql(q: Sql, site: Site, rng: Range) -> list[str]:
    metrics = [VISITORS, q.count_if(PAGEVIEW)]
    where = event_where(site, rng, "country IN ('US')", "device IN ('Mobile')")
    return [grouped("events", ["pathname"], metrics, where, 10)]


def _one_dim(results: list[list[tuple[Any, ...]]]) -> Rows:
    return rows_of(results, 1)


def _no_dim(results: list[list[tuple[Any, ...]]]) -> Rows:
    return rows_of(results, 0)


def _visitors_by(dimension: str, **body: Any) -> Callable[[Site, Range], Request]:
    body.setdefault("pagination", {"limit": 10})
    return panel(metrics=["visitors"], dimensions=[dimension], **body)


def catalogue() -> list[Bench]:
    r = p = REPORT_TARGETS
    utm_keys = ("utmSource", "utmMedium", "utmCampaign")
    return [
        # TinyTrail reports
        Bench("summary", "report", report("summary"), _summary_rows, _summary_sql, _no_dim, r),
        Bench("pages", "report", report("pages"), _pages_rows, _pages_sql,
              lambda res: rows_of(res, 2), r),
        Bench("sources (channel)", "report", report("sources", group_by="channel"),
              _source_rows(("channel",)), _channels_sql, _one_dim, r),
        Bench("sources (domain)", "report", report("sources", group_by="domain"),
              _source_rows(("referrer",)), _domains_sql, _one_dim, r),
        Bench("sources (utm)", "report", report("sources", group_by="utm"),
              _source_rows(utm_keys), _utm_sql, lambda res: rows_of(res, 3), r),
        Bench("devices", "report", report("devices"), _devices_rows, _devices_sql,
              _devices_shape, r),
        Bench("flow", "report", report("flow"), _flow_rows, _flow_sql, _flow_shape, r),
        Bench("funnel", "report", report("funnel", **{"steps[]": ["/", "/pricing", "Signup"]}),
              _funnel_rows, _funnel_sql, _funnel_shape, r),
        Bench("realtime", "report", report("realtime"), _realtime_rows, _realtime_sql,
              _realtime_shape, r, ("last 30 minutes",)),
        Bench("custom-events", "report", report("custom-events"), _custom_rows, _custom_sql,
              _one_dim, r),
        Bench("timeseries", "report", report("timeseries", metric="pageviews"),
              _timeseries_rows, _timeseries_sql, lambda res: _nonzero(rows_of(res, 1)), r),
        # Dashboard panels
        Bench("top stats", "panel",
              panel(metrics=["visitors", "visits", "pageviews", "views_per_visit",
                             "bounce_rate", "visit_duration"]),
              v2_rows, _top_stats_sql, _no_dim, p),
        Bench("main graph (visitors by day)", "panel",
              panel(metrics=["visitors"], dimensions=["time:day"]), v2_rows,
              _main_graph_sql, _one_dim, p),
        Bench("sources", "panel", _visitors_by("visit:source"), v2_rows,
              _by_visit(placeholder("referrer_source", "Direct / None")), _one_dim, p),
        Bench("channels", "panel", _visitors_by("visit:channel"), v2_rows,
              _by_visit(placeholder("channel", "Direct")), _one_dim, p),
        Bench("UTM sources", "panel",
              _visitors_by("visit:utm_source",
                           filters=[["is_not", "visit:utm_source", ["(not set)"]]]),
              v2_rows, _by_visit("utm_source", 10, "utm_source <> ''"), _one_dim, p),
        Bench("top pages", "panel",
              panel(metrics=["visitors", "pageviews"], dimensions=["event:page"],
                    pagination={"limit": 10}),
              v2_rows, _pages_panel_sql, _one_dim, p),
        Bench("entry pages", "panel",
              panel(metrics=["visitors", "visits"], dimensions=["visit:entry_page"],
                    pagination={"limit": 10}),
              v2_rows, _entry_exit_sql("entry_page"), _one_dim, p),
        Bench("exit pages", "panel",
              panel(metrics=["visitors", "visits"], dimensions=["visit:exit_page"],
                    pagination={"limit": 10}),
              v2_rows, _entry_exit_sql("exit_page"), _one_dim, p),
        Bench("countries", "panel", _visitors_by("visit:country"), v2_rows,
              _by_visit("country", 10, "country <> ''"), _one_dim, p),
        Bench("regions", "panel", _visitors_by("visit:region"), v2_rows,
              _by_visit("region", 10, "region <> ''"), _one_dim, p),
        Bench("cities", "panel", _visitors_by("visit:city"), v2_rows,
              _by_visit("city", 10, "city <> ''"), _one_dim, p),
        Bench("browsers", "panel", _visitors_by("visit:browser"), v2_rows,
              _by_visit(placeholder("browser", "(not set)")), _one_dim, p),
        Bench("operating systems", "panel", _visitors_by("visit:os"), v2_rows,
              _by_visit(placeholder("os", "(not set)")), _one_dim, p),
        Bench("devices", "panel", _visitors_by("visit:device"), v2_rows,
              _by_visit(placeholder("device", "(not set)")), _one_dim, p),
        Bench("goals (conversions)", "panel",
              panel(metrics=["visitors", "events", "conversion_rate"],
                    dimensions=["event:goal"], pagination={"limit": 10}),
              v2_rows, _goals_sql, _one_dim, p),
        Bench("custom props (plan of Signup)", "panel",
              panel(metrics=["visitors", "events"], dimensions=["event:props:plan"],
                    filters=[["is", "event:goal", ["Signup"]]], pagination={"limit": 10}),
              v2_rows, _props_sql, _one_dim, p),
        Bench("two filters and a breakdown", "panel",
              panel(metrics=["visitors", "pageviews"], dimensions=["event:page"],
                    filters=[["is", "visit:country", ["US"]],
                             ["is", "visit:device", ["Mobile"]]],
                    pagination={"limit": 10}),
              v2_rows, _two_filters_sql, _one_dim, {"30 days": 100.0, "all time": 150.0}),
    ]  # fmt: skip
