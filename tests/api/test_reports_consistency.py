"""TinyTrail reports agree with Plausible's Stats API v2 (`POST /api/v2/query`) on the same data.

Both answer from the same engine, so for the same site and range they must give the same
visitors, visits, pageviews, bounce rate and visit duration, and the same breakdowns. Plausible
rounds the bounce rate to an integer percent and the duration to whole seconds, TinyTrail the
bounce rate to one decimal: rates are compared after rounding TinyTrail's half up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from tests.api.report_data import DOMAIN, Dataset, ok, report, seeded_server
from tests.support import ADMIN_KEY

RANGES = [
    ("2026-03-11", "2026-03-17"),  # 7d
    ("2026-03-15", "2026-03-15"),
    ("2026-03-16", "2026-03-17"),  # V5 crosses this range's midnight
    ("2026-03-18", "2026-03-18"),  # today
    ("2026-02-16", "2026-03-18"),
    ("2025-03-01", "2026-03-18"),
    ("2026-03-12", "2026-03-14"),  # empty
]
# The spec's channel table folds Plausible's finer channels into six.
CHANNELS = {
    "Organic Search": "Organic Search",
    "Paid Search": "Paid Search",
    "Organic Social": "Social",
    "Paid Social": "Social",
    "Email": "Email",
    "Direct": "Direct",
}
BUILT_IN = {"pageview", "engagement", "close_tab", "scroll_25", "scroll_50", "scroll_75"}
BUILT_IN |= {"outbound_link"}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataset]:
    yield from seeded_server(tmp_path_factory)


def half_up(value: float) -> int:
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def referrer_host(referrer: str) -> str:
    """The domain of a Plausible `visit:referrer` (`t.co/abc` -> `t.co`; app referrers keep
    their scheme: `android-app://com.slack`)."""
    scheme, sep, rest = referrer.partition("://")
    if sep:
        return f"{scheme}://{rest.split('/')[0]}"
    return referrer.split("/")[0]


def v2(data: Dataset, **body: Any) -> list[tuple[list[Any], list[Any]]]:
    response = data.server.client.post(
        "/api/v2/query",
        json={"site_id": DOMAIN, **body},
        headers={"Authorization": f"Bearer {data.key}"},
    )
    assert response.status_code == 200, response.text
    return [(row["dimensions"], row["metrics"]) for row in response.json()["results"]]


def tt(data: Dataset, endpoint: str, first: str, last: str, **params: Any) -> Any:
    return ok(report(data, endpoint, start_date=first, end_date=last, per_page=500, **params))


@pytest.mark.parametrize(("first", "last"), RANGES)
def test_summary_matches_aggregate(data: Dataset, first: str, last: str) -> None:
    metrics = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]
    [(_, plausible)] = v2(data, metrics=metrics, date_range=[first, last])
    ours = {k: v["value"] for k, v in tt(data, "summary", first, last)["metrics"].items()}
    assert plausible[0] == ours["unique_visitors"]
    assert plausible[1] == ours["visits"]
    assert plausible[2] == ours["pageviews"]
    assert plausible[3] == half_up(ours["bounce_rate"])
    # Plausible's duration of no visits may be null; TinyTrail's is 0.
    assert (plausible[4] or 0) == ours["avg_session_duration_sec"]


def test_summary_matches_aggregate_exact_numbers(data: Dataset) -> None:
    # 7d: 6 visitors, 7 visits, 12 pageviews, 57.1 % -> 57, 259 s (test_reports_endpoints).
    metrics = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]
    assert v2(data, metrics=metrics, date_range=list(RANGES[0])) == [([], [6, 7, 12, 57, 259])]


@pytest.mark.parametrize(
    ("period", "shorthand"),
    [("today", "day"), ("7d", "7d"), ("30d", "30d"), ("90d", "90d"), ("12m", "12mo")],
)
def test_period_presets_match_plausible_shorthands(
    data: Dataset, period: str, shorthand: str
) -> None:
    metrics = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]
    response = data.server.client.post(
        "/api/v2/query",
        json={"site_id": DOMAIN, "metrics": metrics, "date_range": shorthand},
        headers={"Authorization": f"Bearer {data.key}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    start, end = body["query"]["date_range"]
    ours = ok(report(data, "summary", period=period))
    assert ours["period"] == {"start": start[:10], "end": end[:10]}
    values = {k: v["value"] for k, v in ours["metrics"].items()}
    plausible = body["results"][0]["metrics"]
    assert plausible[:3] == [values["unique_visitors"], values["visits"], values["pageviews"]]
    assert plausible[3] == half_up(values["bounce_rate"])
    assert (plausible[4] or 0) == values["avg_session_duration_sec"]


@pytest.mark.parametrize(("first", "last"), RANGES)
def test_pages_match_event_page_breakdown(data: Dataset, first: str, last: str) -> None:
    # uniquePageviews are the visits that viewed the page: visits, filtered to pageviews.
    rows = v2(
        data,
        metrics=["pageviews", "visits"],
        date_range=[first, last],
        dimensions=["event:page"],
        filters=[["is", "event:name", ["pageview"]]],
    )
    plausible = [(dims[0], m[0], m[1]) for dims, m in rows]
    ours = [
        (r["path"], r["pageviews"], r["uniquePageviews"])
        for r in tt(data, "pages", first, last)["rows"]
    ]
    assert ours == plausible


@pytest.mark.parametrize(("first", "last"), RANGES)
def test_sources_match_channel_referrer_and_utm_breakdowns(
    data: Dataset, first: str, last: str
) -> None:
    rows = v2(data, metrics=["visits"], date_range=[first, last], dimensions=["visit:channel"])
    channels: Counter[str] = Counter()
    for dims, metrics in rows:
        channels[CHANNELS.get(dims[0], "Referral")] += metrics[0]
    ours = tt(data, "sources", first, last, group_by="channel")["rows"]
    assert {r["channel"]: r["visits"] for r in ours} == dict(channels)

    rows = v2(data, metrics=["visits"], date_range=[first, last], dimensions=["visit:referrer"])
    hosts: Counter[str] = Counter()
    for dims, metrics in rows:
        if dims[0] != "Direct / None":
            hosts[referrer_host(dims[0])] += metrics[0]
    ours = tt(data, "sources", first, last, group_by="domain")["rows"]
    assert {r["referrer"]: r["visits"] for r in ours} == dict(hosts)

    utm_dims = ["visit:utm_source", "visit:utm_medium", "visit:utm_campaign"]
    rows = v2(data, metrics=["visits"], date_range=[first, last], dimensions=utm_dims)
    tagged = {
        tuple(None if d == "(not set)" else d for d in dims): metrics[0]
        for dims, metrics in rows
        if dims != ["(not set)"] * 3
    }
    ours = tt(data, "sources", first, last, group_by="utm")["rows"]
    assert {(r["utmSource"], r["utmMedium"], r["utmCampaign"]): r["visits"] for r in ours} == (
        tagged
    )


def test_sources_exact_numbers_against_plausible(data: Dataset) -> None:
    # 7d: Plausible calls t.co "Organic Social", which the spec's table names "Social".
    rows = v2(data, metrics=["visits"], date_range=list(RANGES[0]), dimensions=["visit:channel"])
    assert rows == [
        (["Direct"], [2]),
        (["Organic Search"], [2]),
        (["Email"], [1]),
        (["Organic Social"], [1]),
        (["Referral"], [1]),
    ]


@pytest.mark.parametrize(("first", "last"), RANGES)
def test_devices_match_device_browser_os_breakdowns(data: Dataset, first: str, last: str) -> None:
    ours = tt(data, "devices", first, last)
    for key, dimension, label in (
        ("device_types", "visit:device", "deviceType"),
        ("browsers", "visit:browser", "browserFamily"),
        ("os_families", "visit:os", "osFamily"),
    ):
        rows = v2(data, metrics=["visits"], date_range=[first, last], dimensions=[dimension])
        plausible = {dims[0]: metrics[0] for dims, metrics in rows}
        if key == "device_types":
            plausible = {name.lower(): count for name, count in plausible.items()}
        assert {r[label]: r["visits"] for r in ours[key]} == plausible
        # And the sum of each list is the number of visits.
        [(_, [visits])] = v2(data, metrics=["visits"], date_range=[first, last])
        assert sum(r["visits"] for r in ours[key]) == visits
    assert sum(r["visits"] for r in ours["screen_resolutions"]) == visits


@pytest.mark.parametrize(("first", "last"), RANGES)
def test_flow_matches_entry_and_exit_page_breakdowns(data: Dataset, first: str, last: str) -> None:
    ours = tt(data, "flow", first, last)
    for key, dimension, label in (
        ("landing_pages", "visit:entry_page", "entries"),
        ("exit_pages", "visit:exit_page", "exits"),
    ):
        rows = v2(data, metrics=["visits"], date_range=[first, last], dimensions=[dimension])
        assert [(r["path"], r[label]) for r in ours[key]] == [(d[0], m[0]) for d, m in rows]


@pytest.mark.parametrize(("first", "last"), RANGES)
def test_custom_events_match_event_name_breakdown(data: Dataset, first: str, last: str) -> None:
    rows = v2(data, metrics=["events"], date_range=[first, last], dimensions=["event:name"])
    plausible = [(d[0], m[0]) for d, m in rows if d[0] not in BUILT_IN]
    ours = [(r["name"], r["count"]) for r in tt(data, "custom-events", first, last)["rows"]]
    assert ours == plausible


def test_custom_event_properties_are_kept(data: Dataset) -> None:
    # V3's signup carried {"plan": "pro"}; V1's two video plays {"t": "a"} and {"t": "b"}.
    rows = v2(
        data,
        metrics=["events"],
        date_range=list(RANGES[0]),
        dimensions=["event:props:plan"],
        filters=[["is", "event:name", ["signup"]]],
    )
    assert rows == [(["pro"], [1])]
    rows = v2(
        data,
        metrics=["events"],
        date_range=list(RANGES[0]),
        dimensions=["event:props:t"],
        filters=[["is", "event:name", ["video_play"]]],
    )
    assert rows == [(["a"], [1]), (["b"], [1])]


@pytest.mark.parametrize(
    ("metric", "plausible_metric"),
    [
        ("pageviews", "pageviews"),
        ("visits", "visits"),
        ("bounce_rate", "bounce_rate"),
        ("avg_session_duration", "visit_duration"),
        ("landing_page_entries", "visits"),
        ("exit_page_exits", "visits"),
    ],
)
@pytest.mark.parametrize(("first", "last"), RANGES)
def test_timeseries_match_time_day(
    data: Dataset, first: str, last: str, metric: str, plausible_metric: str
) -> None:
    rows = v2(data, metrics=[plausible_metric], date_range=[first, last], dimensions=["time:day"])
    plausible = {d[0]: m[0] for d, m in rows}
    series = tt(data, "timeseries", first, last, metric=metric)["series"]
    for point in series:
        value = point["value"]
        if metric == "bounce_rate":
            value = half_up(value)
        assert value == (plausible.get(point["date"]) or 0), point


@pytest.mark.parametrize(
    ("metric", "plausible_metric", "path", "dimension"),
    [
        ("pageviews", "pageviews", "/blog/post-1", "event:page"),
        ("visits", "visits", "/pricing", "event:page"),
        ("bounce_rate", "bounce_rate", "/blog/post-1", "event:page"),
        ("avg_session_duration", "visit_duration", "/", "event:page"),
        ("landing_page_entries", "visits", "/", "visit:entry_page"),
        ("exit_page_exits", "visits", "/pricing", "visit:exit_page"),
    ],
)
def test_timeseries_for_a_path_match_filtered_time_day(
    data: Dataset, metric: str, plausible_metric: str, path: str, dimension: str
) -> None:
    first, last = RANGES[0]
    rows = v2(
        data,
        metrics=[plausible_metric],
        date_range=[first, last],
        dimensions=["time:day"],
        filters=[["is", dimension, [path]]],
    )
    plausible = {d[0]: m[0] for d, m in rows}
    series = tt(data, "timeseries", first, last, metric=metric, path=path)["series"]
    assert len(series) == 7
    for point in series:
        value = point["value"]
        if metric == "bounce_rate":
            value = half_up(value)
        assert value == (plausible.get(point["date"]) or 0), point


# -- daily rollups answer exactly as raw events ---------------------------------------------

ROLLUP_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    *(
        ("summary", {"period": period, **extra})
        for period in ("yesterday", "7d", "30d", "12m", "ytd", "all")
        for extra in ({}, {"compare": "previous_period"}, {"compare": "yoy"})
    ),
    ("summary", {"include_bots": "true"}),
    ("summary", {"content_group": "Blog"}),
    ("summary", {"start_date": "2026-03-16", "end_date": "2026-03-18"}),
    # V5 is still active after this range: rolled-up days plus the visits crossing its end.
    *(
        (endpoint, {"start_date": "2026-03-15", "end_date": "2026-03-16"})
        for endpoint in ("summary", "sources", "devices", "flow")
    ),
    ("timeseries", {"start_date": "2026-03-15", "end_date": "2026-03-16", "metric": "visits"}),
    ("summary", {"format": "csv", "compare": "yoy"}),
    *(
        (endpoint, {"period": period, **extra})
        for endpoint in ("pages", "sources", "devices", "flow", "custom-events")
        for period in ("7d", "all")
        for extra in (
            {},
            {"include_bots": "true"},
            {"content_group": "Blog"},
            {"per_page": "2", "page": "2"},
            {"format": "csv"},
        )
    ),
    *(("sources", {"period": "all", "group_by": group}) for group in ("domain", "utm")),
    *(
        ("timeseries", {"period": "30d", "metric": metric, **extra})
        for metric in (
            "visits",
            "pageviews",
            "unique_pageviews",
            "bounce_rate",
            "avg_session_duration",
            "landing_page_entries",
            "exit_page_exits",
        )
        for extra in ({}, {"path": "/blog/post-1"}, {"include_bots": "true"}, {"format": "csv"})
    ),
    ("funnel", {"period": "all", "steps[]": ["/", "/pricing"]}),
    ("funnel", {"period": "all", "steps[]": ["/pricing", "signup", "/signup"]}),
    ("realtime", {}),
]
V2_REQUESTS: list[dict[str, Any]] = [
    {"metrics": ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]},
    {"metrics": ["visitors", "pageviews"]},
    {"metrics": ["visits", "pageviews"], "dimensions": ["event:page"]},
    {"metrics": ["visits", "bounce_rate"], "dimensions": ["visit:channel"]},
    {"metrics": ["visitors", "visit_duration"], "dimensions": ["visit:source"]},
    {"metrics": ["visits"], "dimensions": ["visit:entry_page"]},
    {"metrics": ["visits", "pageviews", "bounce_rate"], "dimensions": ["time:day"]},
    {"metrics": ["events"], "dimensions": ["event:name"]},
    # Visits add up over rows of a finer key (one visit, one row): filtered totals and
    # referrers by source come from the rollups; with visitors they stay raw.
    {
        "metrics": ["visits", "pageviews", "bounce_rate", "visit_duration"],
        "filters": [["is", "visit:source", ["Google"]]],
    },
    {
        "metrics": ["visits", "bounce_rate"],
        "dimensions": ["visit:referrer"],
        "filters": [["is_not", "visit:source", ["Direct / None"]]],
    },
    {
        "metrics": ["visitors", "visits"],
        "dimensions": ["visit:referrer"],
        "filters": [["is_not", "visit:source", ["Direct / None"]]],
    },
    # Goal conversions: plain page and event goals are rollup rows too, and so is the
    # denominator; with other filters the goals come from raw events.
    {
        "metrics": ["visitors", "visits", "pageviews"],
        "dimensions": ["event:goal"],
        "order_by": [["visits", "asc"]],
        "include": {"total_rows": True},
    },
    {
        "metrics": ["events", "conversion_rate"],
        "dimensions": ["event:goal"],
        "pagination": {"limit": 1, "offset": 1},
    },
    {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"]},
    {
        "metrics": ["visitors", "conversion_rate"],
        "dimensions": ["event:goal"],
        "filters": [["is", "visit:source", ["Google"]]],
    },
    {"metrics": ["visitors", "conversion_rate"], "filters": [["is", "event:goal", ["Signup"]]]},
]


def snapshot(data: Dataset) -> list[Any]:
    answers: list[Any] = []
    for endpoint, params in ROLLUP_REQUESTS:
        response = report(data, endpoint, **params)
        assert response.status_code == 200, (endpoint, params, response.text)
        answers.append((endpoint, params, response.text))
    # Raw spans of several days, one empty day (2026-03-13) and one day with data (today).
    ranges = (["2025-03-01", "2026-03-18"], ["2026-03-11", "2026-03-17"])
    ranges += (["2026-03-12", "2026-03-13"], ["2026-03-16", "2026-03-18"])
    ranges += (["2026-03-15", "2026-03-16"],)  # V5 runs on past its end
    for body in V2_REQUESTS:
        for date_range in ranges:
            answers.append((body, date_range, v2(data, date_range=date_range, **body)))
    return answers


def test_rollups_answer_exactly_as_raw_events(tmp_path_factory: pytest.TempPathFactory) -> None:
    for data in seeded_server(tmp_path_factory):
        goals = ({"goal_type": "event", "event_name": "signup", "display_name": "Signup"},)
        goals += ({"goal_type": "page", "page_path": "/pricing"},)
        for goal in goals:
            response = data.server.client.put(
                "/api/v1/sites/goals",
                json={"site_id": DOMAIN, **goal},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            )
            assert response.status_code == 200, response.text
        raw = snapshot(data)
        conversions = v2(data, date_range=["2025-03-01", "2026-03-18"], **V2_REQUESTS[-3])
        assert sorted(row[0][0] for row in conversions) == ["Signup", "Visit /pricing"]
        assert all(0 < row[1][2] < 100 for row in conversions)  # not a vacuous comparison
        # Roll up the days with data and some empty ones over HTTP (2026-03-18 is still open:
        # it stays raw), the last one by the default date (yesterday, 2026-03-17).
        days = ["2025-03-14", "2026-03-09", "2026-03-10", "2026-03-12", "2026-03-15"]
        days += ["2026-03-16", None]
        for day in days:
            response = data.server.client.post(
                "/api/v1/admin/aggregate",
                json={"date": day} if day else None,
                headers={"X-API-KEY": ADMIN_KEY},
            )
            assert response.status_code == 200, response.text
            message = f"Aggregation completed for {day or '2026-03-17'}"
            assert response.json()["data"] == {"message": message}
        rolled = snapshot(data)
        for before, after in zip(raw, rolled, strict=True):
            assert after == before
