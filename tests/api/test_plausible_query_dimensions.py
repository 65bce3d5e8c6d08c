"""`POST /api/v2/query` breakdowns: every dimension family, time buckets and site timezones.

The dataset and the hand-derived numbers are documented in `test_plausible_query.py`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.test_plausible_query import (
    Data,
    assert_sorted_desc,
    import_lines,
    line,
    post,
    seeded,
    set_timezone,
    unordered,
)
from tests.support import CHROME_UA, Server


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    yield from seeded(tmp_path_factory.mktemp("dimensions") / "data")


# -- one dimension at a time, visitors (and a second metric where it says more) ---------------

BREAKDOWNS: list[tuple[list[str], list[str], list[list[Any]]]] = [
    # Pages: every non-engagement event's pathname. / users 1, 4, 7 (3 pageviews); /pricing
    # users 1, 3, 6 (pageviews of V1a, V3, V6, plus 2 Signups and a Download = 6 events);
    # /blog/post-1 users 1, 2; the rest one visit each.
    (
        ["event:page"],
        ["visitors", "pageviews", "events"],
        [
            ["/", 3, 3, 3],
            ["/pricing", 3, 3, 6],
            ["/blog/post-1", 2, 2, 2],
            ["/about", 1, 1, 1],
            ["/blog/post-2", 1, 1, 1],
            ["/contact", 1, 1, 1],
            ["/signup", 1, 1, 1],
        ],
    ),
    # Event names: engagement is never a row.
    (
        ["event:name"],
        ["visitors", "events"],
        [["pageview", 7, 12], ["Signup", 2, 2], ["Download", 1, 1]],
    ),
    (
        ["event:hostname"],
        ["visitors", "pageviews"],
        [["stats.test", 6, 10], ["blog.stats.test", 1, 2]],
    ),
    # Props: events lacking the key are "(none)"; every visitor had such an event.
    (
        ["event:props:plan"],
        ["visitors", "events"],
        [["(none)", 7, 13], ["pro", 1, 1], ["free", 1, 1]],
    ),
    # User 2's only event carries an author, so 6 visitors had an event without one.
    (
        ["event:props:author"],
        ["visitors", "pageviews"],
        [["(none)", 6, 10], ["ann", 1, 1], ["bob", 1, 1]],
    ),
    # Sources: direct visits V1b, V3, V5, V7 (users 1, 3, 5, 7); Google V1a, V6.
    (
        ["visit:source"],
        ["visitors", "visits"],
        [["Direct / None", 4, 4], ["Google", 2, 2], ["Twitter", 1, 1], ["newsletter", 1, 1]],
    ),
    # Referrers: V4 (utm only) has none either.
    (
        ["visit:referrer"],
        ["visitors", "visits"],
        [["Direct / None", 5, 5], ["google.com", 2, 2], ["t.co/abc", 1, 1]],
    ),
    (
        ["visit:channel"],
        ["visitors", "visits"],
        [["Direct", 4, 4], ["Organic Search", 2, 2], ["Email", 1, 1], ["Organic Social", 1, 1]],
    ),
    (
        ["visit:utm_source"],
        ["visitors"],
        [["(not set)", 5], ["newsletter", 1], ["twitter", 1]],
    ),
    (
        ["visit:utm_medium"],
        ["visitors"],
        [["(not set)", 5], ["email", 1], ["social", 1]],
    ),
    (
        ["visit:utm_campaign"],
        ["visitors"],
        [["(not set)", 5], ["launch", 1], ["spring", 1]],
    ),
    (["visit:utm_content"], ["visitors"], [["(not set)", 6], ["hero", 1]]),
    (["visit:utm_term"], ["visitors"], [["(not set)", 6], ["analytics", 1]]),
    # Devices: Desktop V1a, V1b, V3, V6 (users 1, 3, 6), Mobile V2, V7, Tablet V4, none V5.
    (
        ["visit:device"],
        ["visitors", "visits"],
        [["Desktop", 3, 4], ["Mobile", 2, 2], ["Tablet", 1, 1], ["(not set)", 1, 1]],
    ),
    (
        ["visit:browser"],
        ["visitors", "visits"],
        [["Chrome", 3, 4], ["Firefox", 2, 2], ["Safari", 1, 1], ["(not set)", 1, 1]],
    ),
    (
        ["visit:browser", "visit:browser_version"],
        ["visitors"],
        [
            ["Chrome", "120.0", 2],
            ["Chrome", "121.0", 1],
            ["Firefox", "123.0", 1],
            ["Firefox", "124.0", 1],
            ["Safari", "17.1", 1],
            ["(not set)", "(not set)", 1],
        ],
    ),
    (
        ["visit:os"],
        ["visitors"],
        [
            ["Windows", 2],
            ["iOS", 1],
            ["Linux", 1],
            ["macOS", 1],
            ["Android", 1],
            ["(not set)", 1],
        ],
    ),
    (
        ["visit:os", "visit:os_version"],
        ["visitors"],
        [
            ["Windows", "10", 1],
            ["Windows", "11", 1],
            ["iOS", "17.1", 1],
            ["Linux", "(not set)", 1],
            ["macOS", "14.2", 1],
            ["Android", "14", 1],
            ["(not set)", "(not set)", 1],
        ],
    ),
    # Locations: V5 has none and is left out of location breakdowns.
    (
        ["visit:country"],
        ["visitors"],
        [["GB", 2], ["EE", 1], ["DE", 1], ["US", 1], ["FR", 1]],
    ),
    (
        ["visit:region"],
        ["visitors"],
        [["GB-ENG", 1], ["GB-SCT", 1], ["EE-37", 1], ["DE-BE", 1], ["US-CA", 1], ["FR-IDF", 1]],
    ),
    # visit:city is the GeoNames id, as an integer.
    (
        ["visit:city"],
        ["visitors"],
        [[2643743, 1], [2648579, 1], [588409, 1], [2950159, 1], [5391959, 1], [2988507, 1]],
    ),
    (
        ["visit:country_name"],
        ["visitors"],
        [
            ["United Kingdom", 2],
            ["Estonia", 1],
            ["Germany", 1],
            ["United States", 1],
            ["France", 1],
        ],
    ),
    (
        ["visit:region_name"],
        ["visitors"],
        [
            ["England", 1],
            ["Scotland", 1],
            ["Harjumaa", 1],
            ["Berlin", 1],
            ["California", 1],
            ["Île-de-France", 1],
        ],
    ),
    (
        ["visit:country", "visit:region", "visit:city"],
        ["visitors"],
        [
            ["GB", "GB-ENG", 2643743, 1],
            ["GB", "GB-SCT", 2648579, 1],
            ["EE", "EE-37", 588409, 1],
            ["DE", "DE-BE", 2950159, 1],
            ["US", "US-CA", 5391959, 1],
            ["FR", "FR-IDF", 2988507, 1],
        ],
    ),
    # Entry pages: V1a, V4, V7 entered on /; V3, V6 on /pricing. Bounces: V4, V7 of the three
    # on / (2/3 = 67), none on /pricing, V2 on /blog/post-1, V1b on /contact.
    (
        ["visit:entry_page"],
        ["visits", "visitors", "bounce_rate", "visit_duration"],
        [
            ["/", 3, 3, 67, 100],
            ["/pricing", 2, 2, 0, 150],
            ["/blog/post-1", 1, 1, 100, 0],
            ["/blog/post-2", 1, 1, 0, 600],
            ["/contact", 1, 1, 100, 0],
        ],
    ),
    # Exit pages: the last pageview (V6's Signup on /pricing changes nothing).
    (
        ["visit:exit_page"],
        ["visits"],
        [
            ["/", 2],
            ["/blog/post-1", 2],
            ["/about", 1],
            ["/contact", 1],
            ["/pricing", 1],
            ["/signup", 1],
        ],
    ),
    (
        ["visit:entry_page", "visit:exit_page"],
        ["visits"],
        [
            ["/", "/", 2],
            ["/", "/blog/post-1", 1],
            ["/blog/post-1", "/blog/post-1", 1],
            ["/blog/post-2", "/about", 1],
            ["/contact", "/contact", 1],
            ["/pricing", "/pricing", 1],
            ["/pricing", "/signup", 1],
        ],
    ),
    # Goals: a row per goal an event completes; events matching no goal are dropped.
    (
        ["event:goal"],
        ["visitors", "events"],
        [["Visit /pricing", 3, 3], ["Visit /blog/**", 3, 3], ["Signup", 2, 2]],
    ),
    (
        ["event:name", "event:page"],
        ["visitors", "events"],
        [
            ["pageview", "/", 3, 3],
            ["pageview", "/pricing", 3, 3],
            ["pageview", "/blog/post-1", 2, 2],
            ["pageview", "/about", 1, 1],
            ["pageview", "/blog/post-2", 1, 1],
            ["pageview", "/contact", 1, 1],
            ["pageview", "/signup", 1, 1],
            ["Signup", "/pricing", 2, 2],
            ["Download", "/pricing", 1, 1],
        ],
    ),
]


@pytest.mark.parametrize(
    ("dimensions", "metrics", "expected"),
    BREAKDOWNS,
    ids=[",".join(d) for d, _, _ in BREAKDOWNS],
)
def test_breakdown(
    data: Data, dimensions: list[str], metrics: list[str], expected: list[list[Any]]
) -> None:
    body = data.query(metrics=metrics, dimensions=dimensions)
    rows = [[*r["dimensions"], *r["metrics"]] for r in body["results"]]
    assert unordered(rows) == unordered(expected)
    # Default order: the first metric, descending.
    assert_sorted_desc(rows, len(dimensions))
    assert body["query"]["dimensions"] == dimensions
    assert body["query"]["order_by"] == [[metrics[0], "desc"]]


def test_city_is_an_integer_id(data: Data) -> None:
    body = data.query(metrics=["visitors"], dimensions=["visit:city"])
    assert all(type(r["dimensions"][0]) is int for r in body["results"])


def test_city_names(data: Data) -> None:
    # GeoNames: 2643743 London, 2648579 Glasgow, 588409 Tallinn, 2950159 Berlin,
    # 5391959 San Francisco, 2988507 Paris (reference 1.5: names from a location dataset).
    rows = data.rows(metrics=["visitors"], dimensions=["visit:city_name", "visit:country_name"])
    assert unordered(rows) == unordered(
        [
            ["London", "United Kingdom", 1],
            ["Glasgow", "United Kingdom", 1],
            ["Tallinn", "Estonia", 1],
            ["Berlin", "Germany", 1],
            ["San Francisco", "United States", 1],
            ["Paris", "France", 1],
        ]
    )


def test_a_city_missing_from_geonames_has_an_empty_name(server: Server) -> None:
    # Plausible's location dictionary answers "" for an id it does not know.
    key, _ = server.tenant("cities.test")
    import_lines(
        server,
        "cities.test",
        [
            line("2026-03-17T10:00:00", 1, "/", country_code="EE", city_geoname_id=588409),
            line("2026-03-17T11:00:00", 2, "/", country_code="EE", city_geoname_id=999999999),
        ],
    )
    body = {
        "site_id": "cities.test",
        "metrics": ["visitors"],
        "date_range": ["2026-03-17", "2026-03-17"],
        "dimensions": ["visit:city_name", "visit:city"],
    }
    response = post(server, body, key)
    assert response.status_code == 200, response.text
    rows = [[*r["dimensions"], *r["metrics"]] for r in response.json()["results"]]
    assert unordered(rows) == unordered([["Tallinn", 588409, 1], ["", 999999999, 1]])


def test_event_page_with_visit_metrics_groups_visits_by_entry_page(data: Data) -> None:
    # Visit metrics under event:page are those of visits that entered on the page:
    # / (V1a 300 s, V4, V7) 67 % and 100 s; /pricing (V3 240 s, V6 60 s) 0 % and 150 s.
    rows = data.rows(
        metrics=["visitors", "bounce_rate", "visit_duration"],
        dimensions=["event:page"],
        order_by=[["visitors", "desc"], ["event:page", "asc"]],
        pagination={"limit": 3},
    )
    assert rows == [["/", 3, 67, 100], ["/pricing", 3, 0, 150], ["/blog/post-1", 2, 100, 0]]


def test_breakdown_with_filters_on_other_dimensions(data: Data) -> None:
    # Pages of the blog host only.
    rows = data.rows(
        metrics=["visitors", "pageviews"],
        dimensions=["event:hostname", "event:page"],
        filters=[["is", "event:hostname", ["blog.stats.test"]]],
    )
    assert unordered(rows) == unordered(
        [["blog.stats.test", "/pricing", 1, 1], ["blog.stats.test", "/signup", 1, 1]]
    )
    # Custom events by page.
    rows = data.rows(
        metrics=["visitors", "events"],
        dimensions=["event:name", "event:page"],
        filters=[["is_not", "event:name", ["pageview"]]],
    )
    assert rows == [["Signup", "/pricing", 2, 2], ["Download", "/pricing", 1, 1]]


# -- time buckets ---------------------------------------------------------------------------


def test_time_day_buckets_and_labels(data: Data) -> None:
    body = data.query(
        metrics=["visitors", "pageviews"],
        dimensions=["time:day"],
        include={"time_labels": True},
    )
    assert [[*r["dimensions"], *r["metrics"]] for r in body["results"]] == [
        ["2026-03-10", 2, 5],
        ["2026-03-11", 1, 2],
        ["2026-03-12", 2, 3],
        ["2026-03-14", 1, 1],
        ["2026-03-15", 1, 1],
    ]
    # Empty days are labelled but get no row.
    assert body["meta"]["time_labels"] == [
        "2026-03-10",
        "2026-03-11",
        "2026-03-12",
        "2026-03-13",
        "2026-03-14",
        "2026-03-15",
        "2026-03-16",
    ]
    assert body["query"]["order_by"] == [["time:day", "asc"], ["visitors", "desc"]]


def test_time_hour_buckets_and_labels(data: Data) -> None:
    # 2026-03-10: V1a at 10:00 (user 1), V2 at 11:00 (user 2), V1b at 14:00 (user 1).
    body = data.query(
        metrics=["visitors", "visits", "pageviews"],
        dimensions=["time:hour"],
        date_range=["2026-03-10", "2026-03-10"],
        include={"time_labels": True},
    )
    assert [[*r["dimensions"], *r["metrics"]] for r in body["results"]] == [
        ["2026-03-10 10:00:00", 1, 1, 3],
        ["2026-03-10 11:00:00", 1, 1, 1],
        ["2026-03-10 14:00:00", 1, 1, 1],
    ]
    assert body["meta"]["time_labels"] == [f"2026-03-10 {h:02d}:00:00" for h in range(24)]


def test_time_week_never_starts_before_the_range(data: Data) -> None:
    # 2026-03-10 is a Tuesday: its week's Monday (03-09) is before the range, so the first
    # bucket is labelled 2026-03-10. Labels: for k = 0.. (weeks from the Monday of the first
    # week to the last date) the date first + k weeks, or its Monday if inside the range:
    # 03-10, then 03-17 -> Monday 03-16.
    body = data.query(
        metrics=["visitors", "visits"], dimensions=["time:week"], include={"time_labels": True}
    )
    assert body["results"] == [{"dimensions": ["2026-03-10"], "metrics": [7, 8]}]
    assert body["meta"]["time_labels"] == ["2026-03-10", "2026-03-16"]


def test_time_week_labels_from_a_sunday(data: Data) -> None:
    # Plausible's own example: 2020-12-20 (a Sunday) .. 2021-01-07.
    body = data.query(
        metrics=["visitors"],
        dimensions=["time:week"],
        date_range=["2020-12-20", "2021-01-07"],
        include={"time_labels": True},
    )
    assert body["results"] == []
    assert body["meta"]["time_labels"] == ["2020-12-20", "2020-12-21", "2020-12-28", "2021-01-04"]


def test_time_week_buckets_over_a_month(data: Data) -> None:
    # 2026-02-16 (Mon) .. 2026-03-17: users 11 (02-17) and 10 (02-20) in the week of 02-16;
    # the main week splits into the weeks of 03-09 (users 1-6) and 03-16 (user 9 on 03-17;
    # user 7 was on Sunday 03-15).
    rows = data.rows(metrics=["visitors"], dimensions=["time:week"], date_range="30d")
    assert rows == [["2026-02-16", 2], ["2026-03-09", 7], ["2026-03-16", 1]]


def test_time_month_buckets_and_labels(data: Data) -> None:
    # 12mo = 2025-03-01 .. 2026-02-28: users 14 (2025-04), 13 (2025-10), 12 (2025-12),
    # 10 and 11 (2026-02).
    body = data.query(
        metrics=["visitors", "visits"],
        dimensions=["time:month"],
        date_range="12mo",
        include={"time_labels": True},
    )
    assert [[*r["dimensions"], *r["metrics"]] for r in body["results"]] == [
        ["2025-04-01", 1, 1],
        ["2025-10-01", 1, 1],
        ["2025-12-01", 1, 1],
        ["2026-02-01", 2, 2],
    ]
    assert body["meta"]["time_labels"] == [
        "2025-03-01",
        "2025-04-01",
        "2025-05-01",
        "2025-06-01",
        "2025-07-01",
        "2025-08-01",
        "2025-09-01",
        "2025-10-01",
        "2025-11-01",
        "2025-12-01",
        "2026-01-01",
        "2026-02-01",
    ]


def test_time_with_other_dimensions(data: Data) -> None:
    rows = data.rows(
        metrics=["visitors"],
        dimensions=["time:day", "visit:device"],
        date_range=["2026-03-10", "2026-03-11"],
    )
    # 03-10: V1a, V1b (user 1) Desktop, V2 Mobile; 03-11: V3 Desktop. Time first.
    assert unordered(rows) == unordered(
        [["2026-03-10", "Desktop", 1], ["2026-03-10", "Mobile", 1], ["2026-03-11", "Desktop", 1]]
    )
    assert [row[0] for row in rows] == ["2026-03-10", "2026-03-10", "2026-03-11"]


# -- site timezones ---------------------------------------------------------------------------


def timezone_site(data: Data, domain: str, timezone: str, lines: list[Any]) -> str:
    """A new site of its own account in `timezone` (set before importing: visitor ids and
    visits follow local days), with `lines` imported. Returns its owner's key."""
    key, site = data.server.tenant(domain)
    set_timezone(data.server, key, site["id"], timezone)
    if lines:
        import_lines(data.server, domain, lines)
    return key


def site_query(data: Data, key: str, domain: str, **fields: Any) -> dict[str, Any]:
    response = post(data.server, {"site_id": domain, **fields}, key)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_buckets_in_europe_berlin(data: Data) -> None:
    # CET (UTC+1) in March 2026: 03-15 23:30 UTC is 03-16 00:30 local, 03-16 22:59 UTC is
    # 23:59 local, 03-16 23:00 UTC is already 03-17 00:00 local.
    lines = [
        line("2026-03-15T23:30:00", 1, "/"),
        line("2026-03-16T22:59:00", 2, "/"),
        line("2026-03-16T23:00:00", 3, "/"),
    ]
    key = timezone_site(data, "berlin.test", "Europe/Berlin", lines)
    day = site_query(
        data, key, "berlin.test", metrics=["visitors"], date_range=["2026-03-16", "2026-03-16"]
    )
    assert day["results"] == [{"dimensions": [], "metrics": [2]}]
    assert day["query"]["date_range"] == ["2026-03-16T00:00:00+01:00", "2026-03-16T23:59:59+01:00"]
    days = site_query(
        data,
        key,
        "berlin.test",
        metrics=["visitors"],
        dimensions=["time:day"],
        date_range=["2026-03-15", "2026-03-17"],
    )
    assert days["results"] == [
        {"dimensions": ["2026-03-16"], "metrics": [2]},
        {"dimensions": ["2026-03-17"], "metrics": [1]},
    ]
    hours = site_query(
        data,
        key,
        "berlin.test",
        metrics=["visitors"],
        dimensions=["time:hour"],
        date_range=["2026-03-16", "2026-03-16"],
    )
    assert hours["results"] == [
        {"dimensions": ["2026-03-16 00:00:00"], "metrics": [1]},
        {"dimensions": ["2026-03-16 23:00:00"], "metrics": [1]},
    ]


def test_buckets_across_a_dst_change_in_europe_berlin(data: Data) -> None:
    # 2025-03-30 02:00 CET jumps to 03:00 CEST: 00:30 UTC is 01:30 local, 01:30 UTC 03:30.
    lines = [line("2025-03-30T00:30:00", 1, "/"), line("2025-03-30T01:30:00", 2, "/")]
    key = timezone_site(data, "dst-berlin.test", "Europe/Berlin", lines)
    body = site_query(
        data,
        key,
        "dst-berlin.test",
        metrics=["visitors", "visits"],
        dimensions=["time:hour"],
        date_range=["2025-03-30", "2025-03-30"],
    )
    assert body["results"] == [
        {"dimensions": ["2025-03-30 01:00:00"], "metrics": [1, 1]},
        {"dimensions": ["2025-03-30 03:00:00"], "metrics": [1, 1]},
    ]
    # The range starts in CET and ends in CEST.
    body = site_query(
        data, key, "dst-berlin.test", metrics=["visitors"], date_range=["2025-03-29", "2025-03-31"]
    )
    assert body["query"]["date_range"] == [
        "2025-03-29T00:00:00+01:00",
        "2025-03-31T23:59:59+02:00",
    ]
    assert body["results"] == [{"dimensions": [], "metrics": [2]}]


def test_buckets_in_america_new_york(data: Data) -> None:
    # EDT (UTC-4) since 2026-03-08: 2026-03-10 02:00 UTC is 03-09 22:00 local.
    key = timezone_site(data, "ny.test", "America/New_York", [line("2026-03-10T02:00:00", 1, "/")])
    body = site_query(
        data,
        key,
        "ny.test",
        metrics=["visitors"],
        dimensions=["time:day"],
        date_range=["2026-03-09", "2026-03-10"],
    )
    assert body["results"] == [{"dimensions": ["2026-03-09"], "metrics": [1]}]
    assert body["query"]["date_range"] == ["2026-03-09T00:00:00-04:00", "2026-03-10T23:59:59-04:00"]
    hours = site_query(
        data,
        key,
        "ny.test",
        metrics=["visitors"],
        dimensions=["time:hour"],
        date_range=["2026-03-09", "2026-03-09"],
    )
    assert hours["results"] == [{"dimensions": ["2026-03-09 22:00:00"], "metrics": [1]}]


def test_quarter_hour_timezone_buckets(data: Data) -> None:
    # Asia/Kathmandu is UTC+05:45: one visit with pageviews at 05:00, 05:50 and 06:30 UTC, i.e.
    # 10:45, 11:35 and 12:15 local (reference 4.9).
    lines = [
        line("2026-03-10T05:00:00", 1, "/"),
        line("2026-03-10T05:50:00", 1, "/a"),
        line("2026-03-10T06:30:00", 1, "/b"),
    ]
    key = timezone_site(data, "ktm.test", "Asia/Kathmandu", lines)
    body = site_query(
        data,
        key,
        "ktm.test",
        metrics=["visitors", "visits", "pageviews"],
        dimensions=["time:hour"],
        date_range=["2026-03-10", "2026-03-10"],
    )
    assert body["results"] == [
        {"dimensions": ["2026-03-10 10:00:00"], "metrics": [1, 1, 1]},
        {"dimensions": ["2026-03-10 11:00:00"], "metrics": [1, 1, 1]},
        {"dimensions": ["2026-03-10 12:00:00"], "metrics": [1, 1, 1]},
    ]
    assert body["query"]["date_range"] == ["2026-03-10T00:00:00+05:45", "2026-03-10T23:59:59+05:45"]


# -- event:hostname with entry-attributed visit dimensions -----------------------------------


def pageview(server: Server, url: str) -> None:
    response = server.client.post(
        "/api/event",
        content=json.dumps({"n": "pageview", "u": url, "d": "hosts.test"}),
        headers={
            "Content-Type": "text/plain",
            "User-Agent": CHROME_UA,
            "X-Forwarded-For": "203.0.113.9",
        },
    )
    assert response.status_code == 202, response.text


def test_hostname_filter_also_applies_to_the_entry_hostname(server: Server) -> None:
    # One visit: it lands on two.hosts.test with utm_source=ad, then views one.hosts.test.
    # Nobody landed on one.hosts.test from "ad", so a utm_source breakdown filtered to that
    # hostname is empty (reference 1.6: the hostname condition is copied to
    # visit:entry_page_hostname, and the echo shows the extra filter).
    key, _ = server.tenant("hosts.test")
    pageview(server, "https://two.hosts.test/?utm_source=ad")
    server.clock.advance(minutes=5)
    pageview(server, "https://one.hosts.test/")
    server.flush()
    body = {
        "site_id": "hosts.test",
        "metrics": ["visitors"],
        "date_range": "day",
        "dimensions": ["visit:utm_source"],
        "filters": [["is", "event:hostname", ["one.hosts.test"]]],
    }
    response = post(server, body, key)
    assert response.status_code == 200, response.text
    assert response.json()["results"] == []
    assert response.json()["query"]["filters"] == [
        ["is", "event:hostname", ["one.hosts.test"]],
        ["is", "visit:entry_page_hostname", ["one.hosts.test"]],
    ]
    # The landing hostname keeps its source.
    body["filters"] = [["is", "event:hostname", ["two.hosts.test"]]]
    response = post(server, body, key)
    assert response.json()["results"] == [{"dimensions": ["ad"], "metrics": [1]}]
    # Without a visit dimension nothing is added: both hostnames saw the visitor.
    body = {
        "site_id": "hosts.test",
        "metrics": ["visitors", "pageviews"],
        "date_range": "day",
        "filters": [["is", "event:hostname", ["one.hosts.test"]]],
    }
    response = post(server, body, key)
    assert response.json()["results"] == [{"dimensions": [], "metrics": [1, 1]}]
    assert response.json()["query"]["filters"] == body["filters"]
    # Entry pages take the entry hostname (two), exit pages the exit hostname (one); the
    # modifier travels with the copied filter.
    for dimension, hostname, expected in (
        ("visit:entry_page", "TWO.hosts.test", [{"dimensions": ["/"], "metrics": [1]}]),
        ("visit:entry_page", "ONE.hosts.test", []),
        ("visit:exit_page", "ONE.hosts.test", [{"dimensions": ["/"], "metrics": [1]}]),
        ("visit:exit_page", "TWO.hosts.test", []),
    ):
        flt = ["is", "event:hostname", [hostname], {"case_sensitive": False}]
        body = {
            "site_id": "hosts.test",
            "metrics": ["visitors"],
            "date_range": "day",
            "dimensions": [dimension],
            "filters": [flt],
        }
        response = post(server, body, key)
        assert response.status_code == 200, response.text
        assert response.json()["results"] == expected, (dimension, hostname)
        visit_dimension = f"{dimension}_hostname"
        assert response.json()["query"]["filters"] == [flt, [flt[0], visit_dimension, *flt[2:]]]
