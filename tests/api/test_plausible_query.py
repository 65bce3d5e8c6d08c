"""Plausible Stats API v2, `POST /api/v2/query`, over HTTP: metrics, response shape, echo.

Every expected number below is derived by hand from the dataset documented here. The other
`test_plausible_query_*.py` modules reuse this dataset (`seeded`) and the helpers.

The dataset is loaded through `POST /api/v1/admin/import` (Plausible's column names, fixed
timestamps, explicit attributes), so visits, bounces and durations come from the real ingestion
pipeline. The site `stats.test` is in `Etc/UTC`; the server clock stands at 2026-03-18 12:00 UTC
(a Wednesday). Goals (Sites API): `Signup` (event), `Visit /pricing` (page), `Visit /blog/**`
(page, wildcard).

The main week, 2026-03-10 (Tue) .. 2026-03-16 (Mon), all times UTC. Attributes belong to a visit
(taken from its first event); host `stats.test` unless noted.

V1a  user 1, 03-10 10:00: pv / (Google, referrer google.com; Chrome 120.0, Windows 10,
     Desktop; GB, GB-ENG, city 2643743); 10:00:50 eng / (40 %, 20000 ms); 10:01 pv /pricing;
     10:02 eng /pricing (80 %, 60000 ms); 10:03 Signup on /pricing {plan: pro};
     10:04 eng /pricing (70 %, 16000 ms); 10:05 pv /blog/post-1;
     10:06 eng /blog/post-1 (100 %, 30000 ms).
V2   user 2, 03-10 11:00: pv /blog/post-1 {author: ann} (Twitter, referrer t.co/abc, utm
     source twitter, medium social, campaign launch, term analytics; Safari 17.1, iOS 17.1,
     Mobile; EE, EE-37, 588409); 11:00:40 eng /blog/post-1 (50 %, 10000 ms).
V1b  user 1, 03-10 14:00: pv /contact (direct; Chrome 120.0, Windows 10, Desktop; GB, GB-ENG,
     2643743): the same visitor as V1a, a new visit (4 hours later).
V3   user 3, 03-11 09:00, host blog.stats.test: pv /pricing (direct; Firefox 123.0, Linux
     without a version, Desktop; DE, DE-BE, 2950159); 09:01:30 eng /pricing (60 %, 40000 ms);
     09:02 Download on /pricing {file: a.pdf}; 09:04 pv /signup; 09:05 eng /signup (30 %,
     5000 ms).
V4   user 4, 03-12 14:00: pv / (utm source newsletter, medium email, campaign spring, content
     hero, source newsletter; Chrome 121.0, Mac 14.2, Tablet; US, US-CA, 5391959).
V5   user 5, 03-12 20:00: pv /blog/post-2 {author: bob} (nothing known: direct, no browser,
     OS, device or location); 20:10 pv /about.
V6   user 6, 03-14 08:00: pv /pricing (Google, google.com; Chrome 120.0, Windows 11, Desktop;
     GB, GB-SCT, 2648579); 08:01 Signup on /pricing {plan: free}.
V7   user 7, 03-15 23:30: pv / (direct; Firefox 124.0, Android 14, Mobile; FR, FR-IDF,
     2988507).

(pv = pageview, eng = engagement event with scroll depth and engaged time.)

Per visit: pageviews / events (engagement excluded) / duration (first to last non-engagement
event) / bounce (one interactive event):
V1a 3/4/300 s/no, V2 1/1/0/yes, V1b 1/1/0/yes, V3 2/3/240 s/no, V4 1/1/0/yes, V5 2/2/600 s/no,
V6 1/2/60 s/no, V7 1/1/0/yes.

Week totals: visitors 7 (users 1-7), visits 8, pageviews 12, events 15, bounce rate 4/8 = 50,
visit duration (300+240+600+60)/8 = 150, views per visit 12/8 = 1.5.

Single pageviews (users 8-15, host stats.test, direct, no attributes) place data for the named
ranges: 8 at 2026-03-18 11:00 (today), 9 at 03-17 13:00, 10 at 02-20 12:00, 11 at 02-17 12:00,
12 at 2025-12-20 12:00, 13 at 2025-10-01 12:00, 14 at 2025-04-01 12:00, 15 at 2025-02-15 12:00.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import ADMIN_KEY, CHROME_UA, Server, start_server
from tinytrail.query.sql import compiler

QUERY = "/api/v2/query"
DOMAIN = "stats.test"
WEEK = ["2026-03-10", "2026-03-16"]
WEEK_ECHO = ["2026-03-10T00:00:00Z", "2026-03-16T23:59:59Z"]
DEFAULT_PAGINATION = {"offset": 0, "limit": 10000}

# Visit attributes, as Plausible's export columns.
V1 = {
    "browser": "Chrome",
    "browser_version": "120.0",
    "os": "Windows",
    "os_version": "10",
    "screen_size": "Desktop",
    "country_code": "GB",
    "subdivision1_code": "GB-ENG",
    "city_geoname_id": 2643743,
}
GOOGLE = {"referrer": "google.com", "referrer_source": "Google"}
V2 = {
    "referrer": "t.co/abc",
    "referrer_source": "Twitter",
    "utm_source": "twitter",
    "utm_medium": "social",
    "utm_campaign": "launch",
    "utm_term": "analytics",
    "browser": "Safari",
    "browser_version": "17.1",
    "os": "iOS",
    "os_version": "17.1",
    "screen_size": "Mobile",
    "country_code": "EE",
    "subdivision1_code": "EE-37",
    "city_geoname_id": 588409,
}
V3 = {
    "hostname": "blog.stats.test",
    "browser": "Firefox",
    "browser_version": "123.0",
    "os": "Linux",
    "screen_size": "Desktop",
    "country_code": "DE",
    "subdivision1_code": "DE-BE",
    "city_geoname_id": 2950159,
}
V4 = {
    "referrer_source": "newsletter",
    "utm_source": "newsletter",
    "utm_medium": "email",
    "utm_campaign": "spring",
    "utm_content": "hero",
    "browser": "Chrome",
    "browser_version": "121.0",
    "os": "Mac",
    "os_version": "14.2",
    "screen_size": "Tablet",
    "country_code": "US",
    "subdivision1_code": "US-CA",
    "city_geoname_id": 5391959,
}
V6 = {
    **GOOGLE,
    "browser": "Chrome",
    "browser_version": "120.0",
    "os": "Windows",
    "os_version": "11",
    "screen_size": "Desktop",
    "country_code": "GB",
    "subdivision1_code": "GB-SCT",
    "city_geoname_id": 2648579,
}
V7 = {
    "browser": "Firefox",
    "browser_version": "124.0",
    "os": "Android",
    "os_version": "14",
    "screen_size": "Mobile",
    "country_code": "FR",
    "subdivision1_code": "FR-IDF",
    "city_geoname_id": 2988507,
}
BLOG_HOST = {"hostname": "blog.stats.test"}


def line(stamp: str, user: int, path: str, name: str = "pageview", **fields: Any) -> dict[str, Any]:
    """One NDJSON import line; `stamp` is UTC without the offset (as Plausible exports)."""
    return {"name": name, "timestamp": stamp, "user_id": user, "pathname": path, **fields}


def engagement(stamp: str, user: int, path: str, depth: int, ms: int, **fields: Any) -> Any:
    return line(stamp, user, path, "engagement", scroll_depth=depth, engagement_time=ms, **fields)


MAIN_WEEK = [
    line("2026-03-10T10:00:00", 1, "/", **GOOGLE, **V1),
    engagement("2026-03-10T10:00:50", 1, "/", 40, 20000),
    line("2026-03-10T10:01:00", 1, "/pricing"),
    engagement("2026-03-10T10:02:00", 1, "/pricing", 80, 60000),
    line("2026-03-10T10:03:00", 1, "/pricing", "Signup", props={"plan": "pro"}),
    engagement("2026-03-10T10:04:00", 1, "/pricing", 70, 16000),
    line("2026-03-10T10:05:00", 1, "/blog/post-1"),
    engagement("2026-03-10T10:06:00", 1, "/blog/post-1", 100, 30000),
    line("2026-03-10T11:00:00", 2, "/blog/post-1", props={"author": "ann"}, **V2),
    engagement("2026-03-10T11:00:40", 2, "/blog/post-1", 50, 10000),
    line("2026-03-10T14:00:00", 1, "/contact", **V1),
    line("2026-03-11T09:00:00", 3, "/pricing", **V3),
    engagement("2026-03-11T09:01:30", 3, "/pricing", 60, 40000, **BLOG_HOST),
    line("2026-03-11T09:02:00", 3, "/pricing", "Download", props={"file": "a.pdf"}, **BLOG_HOST),
    line("2026-03-11T09:04:00", 3, "/signup", **BLOG_HOST),
    engagement("2026-03-11T09:05:00", 3, "/signup", 30, 5000, **BLOG_HOST),
    line("2026-03-12T14:00:00", 4, "/", **V4),
    line("2026-03-12T20:00:00", 5, "/blog/post-2", props={"author": "bob"}),
    line("2026-03-12T20:10:00", 5, "/about"),
    line("2026-03-14T08:00:00", 6, "/pricing", **V6),
    line("2026-03-14T08:01:00", 6, "/pricing", "Signup", props={"plan": "free"}),
    line("2026-03-15T23:30:00", 7, "/", **V7),
]
OTHER_DAYS = [
    line("2026-03-18T11:00:00", 8, "/"),
    line("2026-03-17T13:00:00", 9, "/"),
    line("2026-02-20T12:00:00", 10, "/"),
    line("2026-02-17T12:00:00", 11, "/"),
    line("2025-12-20T12:00:00", 12, "/"),
    line("2025-10-01T12:00:00", 13, "/"),
    line("2025-04-01T12:00:00", 14, "/"),
    line("2025-02-15T12:00:00", 15, "/"),
]
GOALS = [
    {"goal_type": "event", "event_name": "Signup"},
    {"goal_type": "page", "page_path": "/pricing"},
    {"goal_type": "page", "page_path": "/blog/**"},
]


# -- helpers --------------------------------------------------------------------------------


@dataclass
class Data:
    server: Server
    key: str  # the owner's API key
    site: dict[str, Any]  # the website (TinyTrail API shape)

    def post(self, body: Any, key: str | None = None) -> Any:
        return post(self.server, body, self.key if key is None else key)

    def query(self, **fields: Any) -> dict[str, Any]:
        """A successful query on the site (date range: the main week unless given)."""
        body = {"site_id": DOMAIN, "date_range": WEEK, **fields}
        response = self.post(body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def rows(self, **fields: Any) -> list[list[Any]]:
        """Result rows flattened as `[*dimensions, *metrics]`."""
        return [[*r["dimensions"], *r["metrics"]] for r in self.query(**fields)["results"]]

    def metrics(self, **fields: Any) -> list[Any]:
        """The single row of an aggregate query."""
        [row] = self.query(**fields)["results"]
        assert row["dimensions"] == []
        return list(row["metrics"])

    def error(self, body: Any, status: int = 400) -> str:
        response = self.post(body)
        assert response.status_code == status, response.text
        payload = response.json()
        assert set(payload) == {"error"}, payload
        message: str = payload["error"]
        return message


def post(server: Server, body: Any, key: str | None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if isinstance(body, bytes | str):
        headers["Content-Type"] = "application/json"
        response = server.client.post(QUERY, content=body, headers=headers)
    else:
        response = server.client.post(QUERY, json=body, headers=headers)
    assert response.status_code != 500, response.text
    assert "Traceback" not in response.text
    return response


def import_lines(server: Server, domain: str, lines: list[dict[str, Any]]) -> None:
    ordered = sorted(lines, key=lambda item: item["timestamp"])
    body = "".join(json.dumps(item) + "\n" for item in ordered).encode()
    response = server.client.post(
        "/api/v1/admin/import",
        params={"site_id": domain},
        content=body,
        headers={"X-API-KEY": ADMIN_KEY, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 200, response.text
    summary = response.json()["data"]
    assert summary["skipped"] == 0 and summary["loaded"] == len(lines), summary


def add_goal(server: Server, key: str, domain: str, **goal: Any) -> dict[str, Any]:
    response = server.client.put(
        "/api/v1/sites/goals",
        json={"site_id": domain, **goal},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def set_timezone(server: Server, key: str, website_id: str, timezone: str) -> None:
    response = server.client.patch(
        f"/api/v1/websites/{website_id}",
        json={"timezone": timezone},
        headers={"X-API-KEY": key},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["timezone"] == timezone


def seeded(data_dir: Path) -> Iterator[Data]:
    """A server with the documented dataset and goals (for module-scoped fixtures)."""
    for server in start_server(data_dir):
        key, site = server.tenant(DOMAIN)
        import_lines(server, DOMAIN, MAIN_WEEK + OTHER_DAYS)
        for goal in GOALS:
            add_goal(server, key, DOMAIN, **goal)
        yield Data(server, key, site)


def by_first(rows: list[list[Any]]) -> dict[Any, list[Any]]:
    """Rows keyed by their first value (for breakdowns with ties in the sort order)."""
    keyed = {row[0]: row[1:] for row in rows}
    assert len(keyed) == len(rows), rows
    return keyed


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    yield from seeded(tmp_path_factory.mktemp("query") / "data")


def unordered(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows in a canonical order, for comparing breakdowns whose ties may come in any order."""
    return sorted(rows, key=lambda row: json.dumps(row))


def assert_sorted_desc(rows: list[list[Any]], column: int) -> None:
    """Plausible's default order: the first metric, descending (ties in any order)."""
    values = [row[column] for row in rows]
    assert values == sorted(values, reverse=True), rows


# -- every metric ---------------------------------------------------------------------------

ALL_AGGREGATE = [
    "visitors",
    "visits",
    "pageviews",
    "events",
    "views_per_visit",
    "bounce_rate",
    "visit_duration",
]


def test_aggregate_of_every_count_and_visit_metric(data: Data) -> None:
    # Week totals from the module docstring: 7 visitors, 8 visits, 12 pageviews, 15 events
    # (engagement events never count), 12/8 = 1.5 views per visit, 4 bounces of 8 = 50 %,
    # (300 + 240 + 600 + 60) / 8 = 150 s.
    values = data.metrics(metrics=ALL_AGGREGATE)
    assert values == [7, 8, 12, 15, 1.5, 50, 150]
    assert [type(v) for v in values] == [int, int, int, int, float, int, int]


def test_rounding_of_rates_and_averages(data: Data) -> None:
    # Everything but V7 (the only FR visit; V5's unknown country is "not FR"): 7 visits of
    # users 1-6, bounces V1b, V2, V4 = 3/7 = 42.86 -> 43; durations 1200/7 = 171.4 -> 171;
    # pageviews 11/7 = 1.571 -> 1.57.
    values = data.metrics(
        metrics=["visits", "bounce_rate", "visit_duration", "views_per_visit", "visitors"],
        filters=[["is_not", "visit:country", ["FR"]]],
    )
    assert values == [7, 43, 171, 1.57, 6]
    # Not Mobile (V2, V7 out): 3+1+2+1+2+1 = 10 pageviews over 6 visits = 1.67.
    assert data.metrics(
        metrics=["views_per_visit"], filters=[["is_not", "visit:device", ["Mobile"]]]
    ) == [1.67]


def test_empty_range_gives_one_row_of_defaults(data: Data) -> None:
    # 2026-03-13 has no data: counts 0, bounce rate 0, views per visit 0.0 and no visit
    # duration at all (null), as the engine returns for an empty aggregate.
    values = data.metrics(metrics=ALL_AGGREGATE, date_range=["2026-03-13", "2026-03-13"])
    assert values == [0, 0, 0, 0, 0.0, 0, None]
    # A breakdown with no data has no rows.
    empty = data.query(
        metrics=["visitors"], dimensions=["event:page"], date_range=["2026-03-13"] * 2
    )
    assert empty["results"] == []


def test_percentage_has_one_decimal(data: Data) -> None:
    # Devices: Desktop users 1, 3, 6; Mobile 2, 7; Tablet 4; (not set) 5 -- of 7 visitors.
    rows = data.rows(metrics=["visitors", "percentage"], dimensions=["visit:device"])
    assert unordered(rows) == unordered(
        [
            ["Desktop", 3, 42.9],
            ["Mobile", 2, 28.6],
            ["Tablet", 1, 14.3],
            ["(not set)", 1, 14.3],
        ]
    )
    assert_sorted_desc(rows, 1)
    # Percentage alone: Direct / None 4/7, Google 2/7, Twitter and newsletter 1/7 each.
    rows = data.rows(metrics=["percentage"], dimensions=["visit:source"])
    assert by_first(rows) == {
        "Direct / None": [57.1],
        "Google": [28.6],
        "Twitter": [14.3],
        "newsletter": [14.3],
    }


def test_conversion_rate_of_goals(data: Data) -> None:
    # Signup: users 1 and 6, 2 events; Visit /pricing: pageviews of users 1, 3, 6;
    # Visit /blog/**: /blog/post-1 (users 1, 2) and /blog/post-2 (user 5). Of 7 visitors:
    # 2/7 = 28.57, 3/7 = 42.86.
    rows = data.rows(metrics=["visitors", "events", "conversion_rate"], dimensions=["event:goal"])
    assert unordered(rows) == unordered(
        [
            ["Visit /pricing", 3, 3, 42.86],
            ["Visit /blog/**", 3, 3, 42.86],
            ["Signup", 2, 2, 28.57],
        ]
    )
    assert_sorted_desc(rows, 1)


def test_goal_breakdown_is_the_same_stacked_or_joined(
    data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few goals are scanned one by one and stacked, many joined in one scan: same answers.
    bodies: list[dict[str, Any]] = [
        {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"]},
        {"metrics": ["visitors"], "dimensions": ["event:goal", "visit:device"]},
        {
            "metrics": ["visitors", "events"],
            "dimensions": ["event:goal"],
            "filters": [["is", "visit:source", ["Google"]]],
        },
    ]
    stacked = [unordered(data.rows(**body)) for body in bodies]
    monkeypatch.setattr(compiler, "MAX_STACKED_GOALS", 0)
    assert [unordered(data.rows(**body)) for body in bodies] == stacked
    assert len(stacked[0]) == 3 and stacked[1] and stacked[2]
    # A goal filter: visitors are unique conversions, events total conversions.
    assert data.metrics(
        metrics=["visitors", "events", "conversion_rate"],
        filters=[["is", "event:goal", ["Signup"]]],
    ) == [2, 2, 28.57]


def test_conversion_rate_denominator_drops_only_goal_and_prop_filters(data: Data) -> None:
    # Desktop visitors are users 1, 3, 6; Signup converts 1 and 6: 2/3 = 66.67 (the device
    # filter stays in the denominator).
    assert data.metrics(
        metrics=["visitors", "conversion_rate"],
        filters=[["is", "event:goal", ["Signup"]], ["is", "visit:device", ["Desktop"]]],
    ) == [2, 66.67]
    # A top-level prop filter leaves the denominator: 1 pro signup of 7 visitors = 14.29.
    assert data.metrics(
        metrics=["visitors", "conversion_rate"],
        filters=[["is", "event:goal", ["Signup"]], ["is", "event:props:plan", ["pro"]]],
    ) == [1, 14.29]


def test_group_conversion_rate(data: Data) -> None:
    # Chrome visitors: users 1, 4, 6; the Signup ones 1 and 6: group rate 2/3 = 66.67,
    # conversion rate 2/7 = 28.57.
    rows = data.rows(
        metrics=["visitors", "conversion_rate", "group_conversion_rate"],
        dimensions=["visit:browser"],
        filters=[["is", "event:goal", ["Signup"]]],
    )
    assert rows == [["Chrome", 2, 28.57, 66.67]]
    # Goals by device. Group sizes: Desktop 3 (users 1, 3, 6), Mobile 2 (2, 7), (not set) 1
    # (5). Visit /pricing: Desktop 1, 3, 6 = 3/3; Signup: Desktop 1, 6 = 2/3; Visit /blog/**:
    # Desktop 1 = 1/3, Mobile 2 = 1/2, (not set) 5 = 1/1. Conversion rates over all 7.
    rows = data.rows(
        metrics=["visitors", "conversion_rate", "group_conversion_rate"],
        dimensions=["event:goal", "visit:device"],
    )
    assert unordered(rows) == unordered(
        [
            ["Visit /pricing", "Desktop", 3, 42.86, 100.0],
            ["Signup", "Desktop", 2, 28.57, 66.67],
            ["Visit /blog/**", "Desktop", 1, 14.29, 33.33],
            ["Visit /blog/**", "Mobile", 1, 14.29, 50.0],
            ["Visit /blog/**", "(not set)", 1, 14.29, 100.0],
        ]
    )
    # With only the goal dimension the group is everyone: the same as conversion_rate.
    rows = data.rows(metrics=["group_conversion_rate"], dimensions=["event:goal"])
    assert by_first(rows) == {
        "Visit /pricing": [42.86],
        "Visit /blog/**": [42.86],
        "Signup": [28.57],
    }


def test_scroll_depth_and_time_on_page_from_imported_engagement(data: Data) -> None:
    # Per visit and page: max scroll depth, summed engaged time; then averaged over visits.
    # /: V1a 40 %, 20 s. /pricing: V1a max(80, 70) = 80 and 60 + 16 = 76 s, V3 60 % and 40 s
    # -> (80 + 60) / 2 = 70 %, (76 + 40) / 2 = 58 s. /blog/post-1: V1a 100 % 30 s, V2 50 %
    # 10 s -> 75 %, 20 s. /signup: V3 30 %, 5 s. Pages without engagement: null.
    rows = data.rows(
        metrics=["visitors", "scroll_depth", "time_on_page"], dimensions=["event:page"]
    )
    assert unordered(rows) == unordered(
        [
            ["/", 3, 40, 20],
            ["/pricing", 3, 70, 58],
            ["/blog/post-1", 2, 75, 20],
            ["/signup", 1, 30, 5],
            ["/about", 1, None, None],
            ["/blog/post-2", 1, None, None],
            ["/contact", 1, None, None],
        ]
    )
    # A top-level page filter: the same numbers as that page's row.
    assert data.metrics(
        metrics=["scroll_depth", "time_on_page"], filters=[["is", "event:page", ["/pricing"]]]
    ) == [70, 58]
    # Several pages: each visit's deepest scroll on them: V1a 100 (post-1), V2 50 -> 75.
    assert data.metrics(
        metrics=["scroll_depth"], filters=[["contains", "event:page", ["blog"]]]
    ) == [75]


def send_event(server: Server, ip: str, **body: Any) -> None:
    response = server.client.post(
        "/api/event",
        content=json.dumps({"d": "live.test", **body}),
        headers={"Content-Type": "text/plain", "User-Agent": CHROME_UA, "X-Forwarded-For": ip},
    )
    assert response.status_code == 202, response.text


def test_scroll_depth_and_time_on_page_from_live_engagement_events(server: Server) -> None:
    # Through Plausible's Events API, the clock moved between events (2026-03-18 12:00 UTC):
    # A: pv /docs, +30 s engagement /docs sd 60 e 25 s, +30 s pv /docs/install, +10 s
    #    engagement /docs/install sd 120 (clamped to 100) e 9 s;
    # B: pv /docs, +20 s engagement /docs sd 20 e 5 s;
    # C: an engagement on /docs (sd 90, e 99 s) with no visit at all: it starts no visit and
    #    counts nowhere (reference 4.2: engagement without a session is dropped).
    key, _ = server.tenant("live.test")
    send_event(server, "203.0.113.1", n="pageview", u="https://live.test/docs")
    server.clock.advance(seconds=30)
    send_event(server, "203.0.113.1", n="engagement", u="https://live.test/docs", sd=60, e=25000)
    server.clock.advance(seconds=30)
    send_event(server, "203.0.113.1", n="pageview", u="https://live.test/docs/install")
    server.clock.advance(seconds=10)
    url = "https://live.test/docs/install"
    send_event(server, "203.0.113.1", n="engagement", u=url, sd=120, e=9000)
    send_event(server, "203.0.113.2", n="pageview", u="https://live.test/docs")
    server.clock.advance(seconds=20)
    send_event(server, "203.0.113.2", n="engagement", u="https://live.test/docs", sd=20, e=5000)
    send_event(server, "203.0.113.3", n="engagement", u="https://live.test/docs", sd=90, e=99000)
    server.flush()
    # Visits: A 60 s (engagement excluded from duration), B a bounce of 0 s.
    body = {
        "site_id": "live.test",
        "date_range": "day",
        "metrics": ["visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration"],
    }
    response = post(server, body, key)
    assert response.json()["results"] == [{"dimensions": [], "metrics": [2, 2, 3, 3, 50, 30]}]
    body = {
        "site_id": "live.test",
        "date_range": "day",
        "metrics": ["visitors", "scroll_depth", "time_on_page"],
        "dimensions": ["event:page"],
    }
    response = post(server, body, key)
    assert response.status_code == 200, response.text
    rows = [[*r["dimensions"], *r["metrics"]] for r in response.json()["results"]]
    # /docs: (60 + 20) / 2 = 40 %, (25 + 5) / 2 = 15 s; /docs/install: 100 %, 9 s.
    assert rows == [["/docs", 2, 40, 15], ["/docs/install", 1, 100, 9]]


# -- response shape -------------------------------------------------------------------------


def test_response_shape_and_query_echo(data: Data) -> None:
    body = data.query(metrics=["visitors", "pageviews"])
    assert list(body) == ["results", "meta", "query"]
    assert body["results"] == [{"dimensions": [], "metrics": [7, 12]}]
    assert body["meta"] == {}
    query = body["query"]
    assert list(query) == [
        "site_id",
        "metrics",
        "date_range",
        "filters",
        "dimensions",
        "order_by",
        "include",
        "pagination",
    ]
    assert query == {
        "site_id": DOMAIN,
        "metrics": ["visitors", "pageviews"],
        "date_range": WEEK_ECHO,
        "filters": [],
        "dimensions": [],
        "order_by": [["visitors", "desc"]],
        "include": {},
        "pagination": DEFAULT_PAGINATION,
    }


def test_echo_keeps_filters_as_sent_and_only_true_include_flags(data: Data) -> None:
    filters = [
        ["is", "event:page", ["/PRICING"], {"case_sensitive": False}],
        ["or", [["is", "visit:device", ["Desktop"]], ["not", ["is", "visit:os", ["Mac"]]]]],
    ]
    body = data.query(
        metrics=["pageviews"],
        dimensions=["visit:browser"],
        filters=filters,
        order_by=[["visit:browser", "asc"]],
        include={"imports": False, "total_rows": True, "time_labels": False},
        pagination={"limit": 2},
    )
    query = body["query"]
    assert query["filters"] == filters
    assert query["dimensions"] == ["visit:browser"]
    assert query["order_by"] == [["visit:browser", "asc"]]
    assert query["include"] == {"total_rows": True}
    assert query["pagination"] == {"offset": 0, "limit": 2}
    # /pricing pageviews: V1a (Chrome), V3 (Firefox), V6 (Chrome); none on a Mac.
    assert body["results"] == [
        {"dimensions": ["Chrome"], "metrics": [2]},
        {"dimensions": ["Firefox"], "metrics": [1]},
    ]
    assert body["meta"] == {"total_rows": 2}


def test_time_dimension_is_echoed_as_sent_with_default_order(data: Data) -> None:
    # The main week is 7 days: "time" resolves to days. The echo keeps "time" as sent
    # (plausible-reference.md 1.8, our contract; newer Plausible builds echo the resolved
    # dimension instead).
    body = data.query(metrics=["visitors", "visits", "pageviews"], dimensions=["time"])
    # Days: 03-10 users 1, 2 (visits V1a, V2, V1b; 3 + 1 + 1 pageviews), 03-11 user 3 (2 pv),
    # 03-12 users 4, 5 (1 + 2 pv), 03-14 user 6, 03-15 user 7. Empty days have no row.
    assert body["results"] == [
        {"dimensions": ["2026-03-10"], "metrics": [2, 3, 5]},
        {"dimensions": ["2026-03-11"], "metrics": [1, 1, 2]},
        {"dimensions": ["2026-03-12"], "metrics": [2, 2, 3]},
        {"dimensions": ["2026-03-14"], "metrics": [1, 1, 1]},
        {"dimensions": ["2026-03-15"], "metrics": [1, 1, 1]},
    ]
    assert body["query"]["dimensions"] == ["time"]
    assert body["query"]["order_by"] == [["time", "asc"], ["visitors", "desc"]]


def test_explicit_time_order_sorts_by_the_resolved_buckets(data: Data) -> None:
    body = data.query(metrics=["visitors"], dimensions=["time"], order_by=[["time", "desc"]])
    days = [r["dimensions"][0] for r in body["results"]]
    assert days == ["2026-03-15", "2026-03-14", "2026-03-12", "2026-03-11", "2026-03-10"]
    assert body["query"]["order_by"] == [["time", "desc"]]


ROUND_TRIPS = [
    {"metrics": ["visitors", "pageviews", "bounce_rate"], "dimensions": ["event:page"]},
    {"metrics": ["visitors"], "dimensions": ["time"], "include": {"time_labels": True}},
    {
        "metrics": ["visitors", "conversion_rate"],
        "dimensions": ["visit:source"],
        "filters": [["is", "event:goal", ["Signup"]]],
        "include": {"total_rows": True},
        "pagination": {"limit": 1, "offset": 0},
    },
    {"metrics": ["visits"], "date_range": "7d", "dimensions": ["visit:entry_page"]},
    {"metrics": ["visitors"], "date_range": ["2026-03-10T09:30:00+01:00", "2026-03-12T15:00:00Z"]},
]


@pytest.mark.parametrize("fields", ROUND_TRIPS)
def test_posting_the_echoed_query_back_gives_the_same_answer(
    data: Data, fields: dict[str, Any]
) -> None:
    first = data.query(**fields)
    response = data.post(first["query"])
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["results"] == first["results"]
    assert second["meta"] == first["meta"]
    assert second["query"] == first["query"]


# -- order, pagination, include -------------------------------------------------------------

PAGES_BY_VISITORS = [
    # visitors, then path ascending: / users 1, 4, 7; /pricing 1, 3, 6; /blog/post-1 1, 2.
    ["/", 3],
    ["/pricing", 3],
    ["/blog/post-1", 2],
    ["/about", 1],
    ["/blog/post-2", 1],
    ["/contact", 1],
    ["/signup", 1],
]
PAGE_ORDER = [["visitors", "desc"], ["event:page", "asc"]]


def test_order_by_metrics_and_dimensions(data: Data) -> None:
    rows = data.rows(metrics=["visitors"], dimensions=["event:page"], order_by=PAGE_ORDER)
    assert rows == PAGES_BY_VISITORS
    rows = data.rows(
        metrics=["visitors", "events"],
        dimensions=["event:page"],
        order_by=[["events", "asc"], ["event:page", "desc"]],
    )
    # Events per page: /pricing 6 (pv + Signup, pv + Download, pv + Signup), / 3,
    # /blog/post-1 2, the others 1.
    assert [row[0] for row in rows] == [
        "/signup",
        "/contact",
        "/blog/post-2",
        "/about",
        "/blog/post-1",
        "/",
        "/pricing",
    ]


@pytest.mark.parametrize(
    ("pagination", "expected"),
    [
        ({"limit": 3}, PAGES_BY_VISITORS[:3]),
        ({"limit": 3, "offset": 2}, PAGES_BY_VISITORS[2:5]),
        ({"limit": 3, "offset": 6}, PAGES_BY_VISITORS[6:]),
        ({"offset": 5}, PAGES_BY_VISITORS[5:]),
        ({"limit": 10000, "offset": 0}, PAGES_BY_VISITORS),
    ],
)
def test_pagination_with_total_rows(
    data: Data, pagination: dict[str, int], expected: list[list[Any]]
) -> None:
    body = data.query(
        metrics=["visitors"],
        dimensions=["event:page"],
        order_by=PAGE_ORDER,
        pagination=pagination,
        include={"total_rows": True},
    )
    assert [[*r["dimensions"], *r["metrics"]] for r in body["results"]] == expected
    # total_rows counts the rows before pagination.
    assert body["meta"] == {"total_rows": 7}
    assert body["query"]["pagination"] == {**DEFAULT_PAGINATION, **pagination}


def test_offset_past_the_end_gives_no_rows(data: Data) -> None:
    body = data.query(
        metrics=["visitors"], dimensions=["event:page"], pagination={"limit": 3, "offset": 9}
    )
    assert body["results"] == []


def test_include_imports_reports_imported_data_as_included(data: Data) -> None:
    # The dataset was imported; imported events are stored with the native ones.
    body = data.query(metrics=["visitors"], include={"imports": True})
    assert body["results"] == [{"dimensions": [], "metrics": [7]}]
    assert body["meta"] == {"imports_included": True}
    assert body["query"]["include"] == {"imports": True}


def test_meta_keys_together(data: Data) -> None:
    body = data.query(
        metrics=["visitors"],
        dimensions=["time:day"],
        include={"imports": True, "time_labels": True, "total_rows": True},
    )
    assert list(body["meta"]) == ["imports_included", "time_labels", "total_rows"]
    assert body["meta"]["time_labels"] == [f"2026-03-{day}" for day in range(10, 17)]
    assert body["meta"]["total_rows"] == 5


# -- consistency with TinyTrail's own reports -----------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-03-10", "2026-03-16"), ("2026-03-10", "2026-03-10"), ("2025-01-01", "2026-03-18")],
)
def test_same_numbers_as_the_summary_report(data: Data, start: str, end: str) -> None:
    response = data.server.client.get(
        "/api/v1/reports/summary",
        params={"website_id": data.site["id"], "start_date": start, "end_date": end},
        headers={"X-API-KEY": data.key},
    )
    assert response.status_code == 200, response.text
    summary = response.json()["data"]["metrics"]
    visits, visitors, pageviews, duration = data.metrics(
        metrics=["visits", "visitors", "pageviews", "visit_duration"], date_range=[start, end]
    )
    assert summary["visits"]["value"] == visits
    assert summary["unique_visitors"]["value"] == visitors
    assert summary["pageviews"]["value"] == pageviews
    assert summary["avg_session_duration_sec"]["value"] == duration
    if (start, end) == ("2026-03-10", "2026-03-16"):
        assert (visits, visitors, pageviews) == (8, 7, 12)


ROLLUP_QUERIES = [
    {"metrics": ALL_AGGREGATE},
    {
        "metrics": ["visitors", "visits", "bounce_rate", "visit_duration"],
        "dimensions": ["visit:source"],
    },
    {"metrics": ["visitors", "percentage"], "dimensions": ["visit:device"]},
    {"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["time:day"]},
    {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"]},
    {"metrics": ["visits", "bounce_rate"], "dimensions": ["visit:entry_page"]},
    {"metrics": ["visitors"], "dimensions": ["visit:city"]},
    {
        "metrics": ["visitors"],
        "dimensions": ["visit:country"],
        "filters": [["is", "visit:country", ["GB", "DE"]]],
    },
]


def test_daily_rollups_give_the_same_answers(tmp_path: Path) -> None:
    servers = seeded(tmp_path / "data")
    data = next(servers)
    try:
        before = [data.query(**fields) for fields in ROLLUP_QUERIES]
        data.server.aggregate(*(f"2026-03-{day}" for day in range(10, 17)))
        after = [data.query(**fields) for fields in ROLLUP_QUERIES]
        assert after == before
    finally:
        servers.close()
