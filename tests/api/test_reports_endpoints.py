"""Every TinyTrail report on the hand-checked dataset of `report_data`: exact numbers, JSON and
CSV, bots in and out, content groups, pagination edges.

The dataset (see `report_data` for the full table) is collected through the real pipeline with a
frozen clock. Unless a test says otherwise the period is the default `7d`: 2026-03-11 ..
2026-03-17, which holds the visits V1, V1b, V2, V3, V4, V5, V8 (seven counted visits), the bot
visit V6 and the excluded visit V7.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.report_data import (
    Dataset,
    at,
    csv_of,
    days,
    get_report,
    invalid,
    ok,
    report,
    seeded_server,
)
from tests.support import CHROME_UA, Clock, Server
from tinytrail.query import engine

MakeServer = Callable[..., AbstractContextManager[Server]]

PERIOD = {"start": "2026-03-11", "end": "2026-03-17"}
PAGINATED = ("pages", "sources", "flow", "custom-events")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataset]:
    yield from seeded_server(tmp_path_factory)


def paged(rows: list[dict[str, Any]], page: int = 1, per_page: int = 50) -> dict[str, Any]:
    return {"period": PERIOD, "page": page, "per_page": per_page, "rows": rows}


# -- summary --------------------------------------------------------------------------------

# Visits in 7d: V1, V1b, V2, V3, V4, V5, V8 = 7. Visitors: V1 and V1b are one visitor (same IP,
# UA and day) = 6. Pageviews: V1 3 + V1b 1 + V2 1 + V3 3 + V4 1 + V5 2 + V8 1 = 12. Bounces:
# V1b, V2, V4, V8 = 4/7 = 57.14 -> 57.1. Durations: 300 + 0 + 30 + 240 + 0 + 1200 + 40 = 1810 s,
# / 7 = 258.57 -> 259.
SUMMARY_7D = {
    "visits": 7,
    "unique_visitors": 6,
    "pageviews": 12,
    "bounce_rate": 57.1,
    "avg_session_duration_sec": 259,
}


def test_summary(data: Dataset) -> None:
    body = ok(report(data, "summary"))
    assert body == {
        "period": PERIOD,
        "metrics": {name: {"value": value} for name, value in SUMMARY_7D.items()},
    }
    assert isinstance(body["metrics"]["bounce_rate"]["value"], float)
    assert isinstance(body["metrics"]["avg_session_duration_sec"]["value"], int)


def test_summary_compare_previous_period(data: Dataset) -> None:
    # Previous period 2026-03-04 .. 2026-03-10: P1 (bounce, 0 s) and P2 (two pageviews, 110 s):
    # visits 2, visitors 2, pageviews 3, bounce rate 50.0, duration 55.
    # change_pct: 7/2 -> 250.0; 6/2 -> 200.0; 12/3 -> 300.0; (57.1 - 50) / 50 -> 14.2;
    # (259 - 55) / 55 = 370.909.. -> 370.91.
    body = ok(report(data, "summary", compare="previous_period"))
    assert body == {
        "period": PERIOD,
        "comparison": "2026-03-04 to 2026-03-10",
        "metrics": {
            "visits": {"value": 7, "previous": 2, "change_pct": 250.0},
            "unique_visitors": {"value": 6, "previous": 2, "change_pct": 200.0},
            "pageviews": {"value": 12, "previous": 3, "change_pct": 300.0},
            "bounce_rate": {"value": 57.1, "previous": 50.0, "change_pct": 14.2},
            "avg_session_duration_sec": {"value": 259, "previous": 55, "change_pct": 370.91},
        },
    }
    assert list(body) == ["period", "comparison", "metrics"]


def test_summary_compare_yoy_null_change_when_previous_is_zero(data: Dataset) -> None:
    # A year before (2025-03-11 .. 2025-03-17) there is only Y1: one bouncing pageview of 0 s.
    # The duration was 0, so its change is null; (57.1 - 100) / 100 -> -42.9.
    body = ok(report(data, "summary", compare="yoy"))
    assert body == {
        "period": PERIOD,
        "comparison": "2025-03-11 to 2025-03-17",
        "metrics": {
            "visits": {"value": 7, "previous": 1, "change_pct": 600.0},
            "unique_visitors": {"value": 6, "previous": 1, "change_pct": 500.0},
            "pageviews": {"value": 12, "previous": 1, "change_pct": 1100.0},
            "bounce_rate": {"value": 57.1, "previous": 100.0, "change_pct": -42.9},
            "avg_session_duration_sec": {"value": 259, "previous": 0, "change_pct": None},
        },
    }


def test_summary_compare_with_an_empty_previous_period(data: Dataset) -> None:
    # 2026-03-15 .. 2026-03-17 against 2026-03-12 .. 2026-03-14, when nothing happened: every
    # change is null. The three days hold the same seven visits as 7d.
    body = ok(
        report(
            data,
            "summary",
            start_date="2026-03-15",
            end_date="2026-03-17",
            compare="previous_period",
        )
    )
    assert body["period"] == {"start": "2026-03-15", "end": "2026-03-17"}
    assert body["comparison"] == "2026-03-12 to 2026-03-14"
    assert body["metrics"] == {
        name: {"value": value, "previous": 0, "change_pct": None}
        for name, value in SUMMARY_7D.items()
    }


def test_summary_bots_in_and_out(data: Dataset) -> None:
    # include_bots adds V6 (Googlebot: 1 visit, 2 pageviews, no bounce, 5 s); V7's excluded IP
    # stays out: visits 8, visitors 7, pageviews 14, bounce 4/8 = 50.0, (1810 + 5) / 8 = 226.9.
    with_bots = ok(report(data, "summary", include_bots="true"))["metrics"]
    assert {name: entry["value"] for name, entry in with_bots.items()} == {
        "visits": 8,
        "unique_visitors": 7,
        "pageviews": 14,
        "bounce_rate": 50.0,
        "avg_session_duration_sec": 227,
    }
    without = ok(report(data, "summary", include_bots="false"))["metrics"]
    assert {name: entry["value"] for name, entry in without.items()} == SUMMARY_7D


def test_summary_content_group(data: Dataset) -> None:
    # Visits with a Blog event: V1, V2, V5, V8. Blog pageviews: /blog/post-1 x3 + /blog/post-2.
    # Bounces V2 and V8 = 50.0; durations (300 + 30 + 1200 + 40) / 4 = 392.5 -> 393.
    metrics = ok(report(data, "summary", content_group="Blog"))["metrics"]
    assert {name: entry["value"] for name, entry in metrics.items()} == {
        "visits": 4,
        "unique_visitors": 4,
        "pageviews": 4,
        "bounce_rate": 50.0,
        "avg_session_duration_sec": 393,
    }


def test_summary_content_group_with_compare(data: Dataset) -> None:
    # The previous period had no Blog traffic at all: previous 0, change null everywhere.
    body = ok(report(data, "summary", content_group="Blog", compare="previous_period"))
    assert {n: (e["previous"], e["change_pct"]) for n, e in body["metrics"].items()} == {
        name: (0, None) for name in SUMMARY_7D
    }


def test_summary_csv(data: Dataset) -> None:
    rows = csv_of(report(data, "summary", format="csv"), "summary")
    assert rows == [
        ["metric", "value", "previous", "change_pct"],
        ["visits", "7", "", ""],
        ["unique_visitors", "6", "", ""],
        ["pageviews", "12", "", ""],
        ["bounce_rate", "57.1", "", ""],
        ["avg_session_duration_sec", "259", "", ""],
    ]


def test_summary_csv_with_compare(data: Dataset) -> None:
    rows = csv_of(report(data, "summary", format="csv", compare="yoy"), "summary")
    assert rows == [
        ["metric", "value", "previous", "change_pct"],
        ["visits", "7", "1", "600.0"],
        ["unique_visitors", "6", "1", "500.0"],
        ["pageviews", "12", "1", "1100.0"],
        ["bounce_rate", "57.1", "100.0", "-42.9"],
        ["avg_session_duration_sec", "259", "0", ""],
    ]
    rows = csv_of(report(data, "summary", format="csv", compare="previous_period"), "summary")
    assert rows[1:] == [
        ["visits", "7", "2", "250.0"],
        ["unique_visitors", "6", "2", "200.0"],
        ["pageviews", "12", "3", "300.0"],
        ["bounce_rate", "57.1", "50.0", "14.2"],
        ["avg_session_duration_sec", "259", "55", "370.91"],
    ]


# -- pages ----------------------------------------------------------------------------------

# Pageviews / visits that viewed the page, sorted by pageviews, ties by path:
#   /blog/post-1: V1, V2, V8                  3 / 3   Blog
#   /pricing:     V1, V3 twice (a reload)     3 / 2
#   /:            V1, V4                      2 / 2
#   /about (V5), /blog/post-2 (V5, Blog), /contact (V1b), /signup (V3): 1 / 1
PAGES = [
    {"path": "/blog/post-1", "contentGroup": "Blog", "pageviews": 3, "uniquePageviews": 3},
    {"path": "/pricing", "contentGroup": None, "pageviews": 3, "uniquePageviews": 2},
    {"path": "/", "contentGroup": None, "pageviews": 2, "uniquePageviews": 2},
    {"path": "/about", "contentGroup": None, "pageviews": 1, "uniquePageviews": 1},
    {"path": "/blog/post-2", "contentGroup": "Blog", "pageviews": 1, "uniquePageviews": 1},
    {"path": "/contact", "contentGroup": None, "pageviews": 1, "uniquePageviews": 1},
    {"path": "/signup", "contentGroup": None, "pageviews": 1, "uniquePageviews": 1},
]


def test_pages(data: Dataset) -> None:
    assert ok(report(data, "pages")) == paged(PAGES)


def test_pages_bots_in_and_out(data: Dataset) -> None:
    # Googlebot viewed / and /pricing once each (in its one visit); V7's /pricing never counts.
    rows = ok(report(data, "pages", include_bots="true"))["rows"]
    assert rows[:3] == [
        {"path": "/pricing", "contentGroup": None, "pageviews": 4, "uniquePageviews": 3},
        {"path": "/", "contentGroup": None, "pageviews": 3, "uniquePageviews": 3},
        {"path": "/blog/post-1", "contentGroup": "Blog", "pageviews": 3, "uniquePageviews": 3},
    ]
    assert rows[3:] == PAGES[3:]


def test_pages_content_group(data: Dataset) -> None:
    rows = ok(report(data, "pages", content_group="Blog"))["rows"]
    assert rows == [PAGES[0], PAGES[4]]


def test_pages_csv(data: Dataset) -> None:
    rows = csv_of(report(data, "pages", format="csv"), "pages")
    assert rows == [
        ["path", "contentGroup", "pageviews", "uniquePageviews"],
        ["/blog/post-1", "Blog", "3", "3"],
        ["/pricing", "", "3", "2"],
        ["/", "", "2", "2"],
        ["/about", "", "1", "1"],
        ["/blog/post-2", "Blog", "1", "1"],
        ["/contact", "", "1", "1"],
        ["/signup", "", "1", "1"],
    ]


def test_pages_csv_is_paginated_too(data: Dataset) -> None:
    rows = csv_of(report(data, "pages", format="csv", page=2, per_page=3), "pages")
    assert rows == [
        ["path", "contentGroup", "pageviews", "uniquePageviews"],
        ["/about", "", "1", "1"],
        ["/blog/post-2", "Blog", "1", "1"],
        ["/contact", "", "1", "1"],
    ]
    rows = csv_of(report(data, "pages", format="csv", page=9), "pages")
    assert rows == [["path", "contentGroup", "pageviews", "uniquePageviews"]]


# -- pagination, on every paginated report ----------------------------------------------------


def all_rows(data: Dataset, endpoint: str) -> list[Any]:
    body = ok(report(data, endpoint, per_page=500))
    assert body["page"] == 1
    assert body["per_page"] == 500
    if endpoint == "flow":
        return list(zip(body["landing_pages"], body["exit_pages"], strict=False))
    return list(body["rows"])


def page_rows(data: Dataset, endpoint: str, page: int, per_page: int) -> Any:
    body = ok(report(data, endpoint, page=page, per_page=per_page))
    assert body["page"] == page
    assert body["per_page"] == per_page
    if endpoint == "flow":
        return body["landing_pages"], body["exit_pages"]
    return body["rows"]


@pytest.mark.parametrize("endpoint", PAGINATED)
def test_pagination_edges(data: Dataset, endpoint: str) -> None:
    everything = ok(report(data, endpoint, per_page=500))
    default = ok(report(data, endpoint))
    assert default["page"] == 1
    assert default["per_page"] == 50
    assert {k: v for k, v in everything.items() if k != "per_page"} == {
        k: v for k, v in default.items() if k != "per_page"
    }
    keys = ("landing_pages", "exit_pages") if endpoint == "flow" else ("rows",)
    total = max(len(everything[k]) for k in keys)
    assert total >= 2
    for page in range(1, total + 1):
        one = ok(report(data, endpoint, page=page, per_page=1))
        assert one["page"] == page
        assert one["per_page"] == 1
        for k in keys:
            assert one[k] == everything[k][page - 1 : page]
    for page in (total + 1, 1_000_000):
        beyond = ok(report(data, endpoint, page=page, per_page=1))
        assert all(beyond[k] == [] for k in keys)
        assert beyond["page"] == page
    beyond = ok(report(data, endpoint, page=2))
    assert all(beyond[k] == [] for k in keys)


@pytest.mark.parametrize("endpoint", PAGINATED)
@pytest.mark.parametrize("per_page", ["0", "501", "10000", "-1"])
def test_per_page_out_of_range(data: Dataset, endpoint: str, per_page: str) -> None:
    invalid(report(data, endpoint, per_page=per_page), "per_page", "500")


@pytest.mark.parametrize("endpoint", ["devices", "timeseries", "funnel"])
def test_unpaginated_reports_ignore_per_page(data: Dataset, endpoint: str) -> None:
    params: dict[str, Any] = {"steps[]": ["/pricing", "/signup"]} if endpoint == "funnel" else {}
    assert ok(report(data, endpoint, per_page=1, page=3, **params)) == ok(
        report(data, endpoint, **params)
    )


# -- sources --------------------------------------------------------------------------------

# Channels of the seven visits: V1 google and V5 google -> Organic Search; V1b and V3 (no
# referrer) -> Direct; V2 t.co -> Social; V4 utm_medium=email -> Email; V8 blog.example.org ->
# Referral. Ties are sorted by name.
CHANNELS = [
    {"channel": "Direct", "visits": 2},
    {"channel": "Organic Search", "visits": 2},
    {"channel": "Email", "visits": 1},
    {"channel": "Referral", "visits": 1},
    {"channel": "Social", "visits": 1},
]


def test_sources_by_channel(data: Dataset) -> None:
    assert ok(report(data, "sources")) == paged(CHANNELS)
    assert ok(report(data, "sources", group_by="channel")) == paged(CHANNELS)


def test_sources_by_domain(data: Dataset) -> None:
    # Referrer hosts: google.com (V1 from /search, V5 from /), t.co (V2), blog.example.org (V8);
    # direct visits (V1b, V3) and V4 (UTM only, no referrer) have no domain.
    assert ok(report(data, "sources", group_by="domain")) == paged(
        [
            {"referrer": "google.com", "visits": 2},
            {"referrer": "blog.example.org", "visits": 1},
            {"referrer": "t.co", "visits": 1},
        ]
    )


def test_sources_by_utm(data: Dataset) -> None:
    # Only V4 carried UTM tags (in its page URL).
    assert ok(report(data, "sources", group_by="utm")) == paged(
        [{"utmSource": "newsletter", "utmMedium": "email", "utmCampaign": "spring", "visits": 1}]
    )


def test_sources_bots_in_and_out(data: Dataset) -> None:
    # Googlebot's visit had no referrer: Direct 2 -> 3. The excluded V7 (direct) stays out.
    rows = ok(report(data, "sources", include_bots="true"))["rows"]
    assert rows == [{"channel": "Direct", "visits": 3}, *CHANNELS[1:]]
    assert ok(report(data, "sources", include_bots="false"))["rows"] == CHANNELS


def test_sources_content_group(data: Dataset) -> None:
    # Visits with a Blog event: V1 (google), V2 (t.co), V5 (google), V8 (blog.example.org).
    assert ok(report(data, "sources", content_group="Blog"))["rows"] == [
        {"channel": "Organic Search", "visits": 2},
        {"channel": "Referral", "visits": 1},
        {"channel": "Social", "visits": 1},
    ]
    assert ok(report(data, "sources", content_group="Blog", group_by="utm"))["rows"] == []


def test_sources_csv(data: Dataset) -> None:
    rows = csv_of(report(data, "sources", format="csv"), "sources")
    assert rows == [
        ["channel", "visits"],
        ["Direct", "2"],
        ["Organic Search", "2"],
        ["Email", "1"],
        ["Referral", "1"],
        ["Social", "1"],
    ]
    rows = csv_of(report(data, "sources", format="csv", group_by="domain"), "sources")
    assert rows == [
        ["referrer", "visits"],
        ["google.com", "2"],
        ["blog.example.org", "1"],
        ["t.co", "1"],
    ]
    rows = csv_of(report(data, "sources", format="csv", group_by="utm"), "sources")
    assert rows == [
        ["utmSource", "utmMedium", "utmCampaign", "visits"],
        ["newsletter", "email", "spring", "1"],
    ]


def test_sources_unknown_group_by(data: Dataset) -> None:
    invalid(report(data, "sources", group_by="country"), "group_by")


# -- devices --------------------------------------------------------------------------------

# Device, browser and OS come from the first event's User-Agent: V2 is the iPhone (mobile,
# Safari, iOS), the six others Chrome on Windows. Screen widths: V1 and V1b 1920 (1441+), V3
# 1280 (1025-1440), V4 800 (769-1024), V2 390 (376-768), V5 360 (320-375), V8 none (unknown).
DEVICES = {
    "period": PERIOD,
    "device_types": [
        {"deviceType": "desktop", "visits": 6},
        {"deviceType": "mobile", "visits": 1},
    ],
    "browsers": [
        {"browserFamily": "Chrome", "visits": 6},
        {"browserFamily": "Safari", "visits": 1},
    ],
    "os_families": [
        {"osFamily": "Windows", "visits": 6},
        {"osFamily": "iOS", "visits": 1},
    ],
    "screen_resolutions": [
        {"bucket": "1441+", "visits": 2},
        {"bucket": "1025-1440", "visits": 1},
        {"bucket": "320-375", "visits": 1},
        {"bucket": "376-768", "visits": 1},
        {"bucket": "769-1024", "visits": 1},
        {"bucket": "unknown", "visits": 1},
    ],
}
SCREEN_BUCKETS = {"320-375", "376-768", "769-1024", "1025-1440", "1441+", "unknown"}


def test_devices(data: Dataset) -> None:
    body = ok(report(data, "devices"))
    assert body == DEVICES
    assert {row["bucket"] for row in body["screen_resolutions"]} == SCREEN_BUCKETS


def test_devices_bots_in_and_out(data: Dataset) -> None:
    # Googlebot: a desktop "browser" Googlebot with no OS and no screen width.
    body = ok(report(data, "devices", include_bots="true"))
    assert body["device_types"] == [
        {"deviceType": "desktop", "visits": 7},
        {"deviceType": "mobile", "visits": 1},
    ]
    assert body["browsers"] == [
        {"browserFamily": "Chrome", "visits": 6},
        {"browserFamily": "Googlebot", "visits": 1},
        {"browserFamily": "Safari", "visits": 1},
    ]
    assert [row["visits"] for row in body["os_families"]] == [6, 1, 1]
    assert body["os_families"][0] == {"osFamily": "Windows", "visits": 6}
    assert {"osFamily": "iOS", "visits": 1} in body["os_families"]
    assert body["screen_resolutions"][:2] == [
        {"bucket": "1441+", "visits": 2},
        {"bucket": "unknown", "visits": 2},
    ]
    assert ok(report(data, "devices", include_bots="false")) == DEVICES


def test_devices_content_group(data: Dataset) -> None:
    # Blog visits: V1 (1920), V2 (iPhone, 390), V5 (360), V8 (no width).
    assert ok(report(data, "devices", content_group="Blog")) == {
        "period": PERIOD,
        "device_types": [
            {"deviceType": "desktop", "visits": 3},
            {"deviceType": "mobile", "visits": 1},
        ],
        "browsers": [
            {"browserFamily": "Chrome", "visits": 3},
            {"browserFamily": "Safari", "visits": 1},
        ],
        "os_families": [
            {"osFamily": "Windows", "visits": 3},
            {"osFamily": "iOS", "visits": 1},
        ],
        "screen_resolutions": [
            {"bucket": "1441+", "visits": 1},
            {"bucket": "320-375", "visits": 1},
            {"bucket": "376-768", "visits": 1},
            {"bucket": "unknown", "visits": 1},
        ],
    }


def test_devices_csv(data: Dataset) -> None:
    rows = csv_of(report(data, "devices", format="csv"), "devices")
    assert rows == [["deviceType", "visits"], ["desktop", "6"], ["mobile", "1"]]


# -- flow -----------------------------------------------------------------------------------

# Entry and exit pages of the seven visits:
#   V1 / -> /pricing, V1b /contact, V2 /blog/post-1, V3 /pricing -> /signup, V4 /,
#   V5 /blog/post-2 -> /about, V8 /blog/post-1.
LANDING = [
    {"path": "/", "entries": 2},
    {"path": "/blog/post-1", "entries": 2},
    {"path": "/blog/post-2", "entries": 1},
    {"path": "/contact", "entries": 1},
    {"path": "/pricing", "entries": 1},
]
EXITS = [
    {"path": "/blog/post-1", "exits": 2},
    {"path": "/", "exits": 1},
    {"path": "/about", "exits": 1},
    {"path": "/contact", "exits": 1},
    {"path": "/pricing", "exits": 1},
    {"path": "/signup", "exits": 1},
]


def test_flow(data: Dataset) -> None:
    assert ok(report(data, "flow")) == {
        "period": PERIOD,
        "page": 1,
        "per_page": 50,
        "landing_pages": LANDING,
        "exit_pages": EXITS,
    }


def test_flow_pagination_applies_to_both_lists(data: Dataset) -> None:
    body = ok(report(data, "flow", page=3, per_page=2))
    assert body["landing_pages"] == LANDING[4:6]
    assert body["exit_pages"] == EXITS[4:6]
    body = ok(report(data, "flow", page=4, per_page=2))
    assert body["landing_pages"] == []
    assert body["exit_pages"] == []


def test_flow_bots_in_and_out(data: Dataset) -> None:
    # Googlebot entered at / and left from /pricing.
    body = ok(report(data, "flow", include_bots="true"))
    assert body["landing_pages"] == [{"path": "/", "entries": 3}, *LANDING[1:]]
    assert body["exit_pages"] == [
        {"path": "/blog/post-1", "exits": 2},
        {"path": "/pricing", "exits": 2},
        {"path": "/", "exits": 1},
        {"path": "/about", "exits": 1},
        {"path": "/contact", "exits": 1},
        {"path": "/signup", "exits": 1},
    ]


def test_flow_content_group(data: Dataset) -> None:
    # The visits that touched the Blog: V1 (/ -> /pricing), V2 and V8 (/blog/post-1), V5
    # (/blog/post-2 -> /about).
    body = ok(report(data, "flow", content_group="Blog"))
    assert body["landing_pages"] == [
        {"path": "/blog/post-1", "entries": 2},
        {"path": "/", "entries": 1},
        {"path": "/blog/post-2", "entries": 1},
    ]
    assert body["exit_pages"] == [
        {"path": "/blog/post-1", "exits": 2},
        {"path": "/about", "exits": 1},
        {"path": "/pricing", "exits": 1},
    ]


def test_flow_csv(data: Dataset) -> None:
    rows = csv_of(report(data, "flow", format="csv"), "flow")
    assert rows == [
        ["path", "entries"],
        ["/", "2"],
        ["/blog/post-1", "2"],
        ["/blog/post-2", "1"],
        ["/contact", "1"],
        ["/pricing", "1"],
    ]


# -- funnel ---------------------------------------------------------------------------------


def funnel(data: Dataset, *steps: str, **params: Any) -> list[dict[str, Any]]:
    body = ok(report(data, "funnel", **{"steps[]": list(steps)}, **params))
    assert set(body) == {"period", "funnel"}
    assert body["period"] == PERIOD
    return list(body["funnel"])


def test_funnel_paths(data: Dataset) -> None:
    # /pricing viewed in V1 and V3; /signup after it only in V3: 1 / 2 = 50.0.
    assert funnel(data, "/pricing", "/signup") == [
        {"step": "/pricing", "sessions": 2, "conversion_rate": 100},
        {"step": "/signup", "sessions": 1, "conversion_rate": 50.0},
    ]


def test_funnel_mixes_paths_and_event_types(data: Dataset) -> None:
    # V3: /pricing 09:00, signup 09:01, /signup 09:04.
    assert funnel(data, "/pricing", "signup", "/signup") == [
        {"step": "/pricing", "sessions": 2, "conversion_rate": 100},
        {"step": "signup", "sessions": 1, "conversion_rate": 50.0},
        {"step": "/signup", "sessions": 1, "conversion_rate": 100.0},
    ]
    # Every visit has a pageview; one of the 7 went on to sign up: 14.285.. -> 14.29.
    assert funnel(data, "page_view", "signup") == [
        {"step": "page_view", "sessions": 7, "conversion_rate": 100},
        {"step": "signup", "sessions": 1, "conversion_rate": 14.29},
    ]


def test_funnel_steps_are_ordered(data: Dataset) -> None:
    # V1 saw / (10:00) before /pricing (10:05): counts one way, not the other.
    assert funnel(data, "/", "/pricing") == [
        {"step": "/", "sessions": 2, "conversion_rate": 100},
        {"step": "/pricing", "sessions": 1, "conversion_rate": 50.0},
    ]
    assert funnel(data, "/pricing", "/") == [
        {"step": "/pricing", "sessions": 2, "conversion_rate": 100},
        {"step": "/", "sessions": 0, "conversion_rate": 0.0},
    ]


def test_funnel_stays_within_one_visit(data: Dataset) -> None:
    # The visitor of V1 saw /blog/post-1 at 10:02 and came back for /contact at 14:00, in a new
    # visit (V1b): that is no conversion.
    assert funnel(data, "/blog/post-1", "/contact") == [
        {"step": "/blog/post-1", "sessions": 3, "conversion_rate": 100},
        {"step": "/contact", "sessions": 0, "conversion_rate": 0.0},
    ]


def test_funnel_wildcard_step(data: Dataset) -> None:
    # Blog pages in V1, V2, V5, V8; only V1 went on to /pricing: 25.0.
    assert funnel(data, "/blog/*", "/pricing") == [
        {"step": "/blog/*", "sessions": 4, "conversion_rate": 100},
        {"step": "/pricing", "sessions": 1, "conversion_rate": 25.0},
    ]


def test_funnel_bots_in_and_out(data: Dataset) -> None:
    # Googlebot went / -> /pricing: 3 and 2 -> 66.666.. -> 66.67. V7 (excluded) never counts.
    assert funnel(data, "/", "/pricing", include_bots="true") == [
        {"step": "/", "sessions": 3, "conversion_rate": 100},
        {"step": "/pricing", "sessions": 2, "conversion_rate": 66.67},
    ]
    assert funnel(data, "/pricing", "signup", include_bots="true")[1]["sessions"] == 1


def test_funnel_content_group(data: Dataset) -> None:
    # Only Blog events are left: / is not in the Blog, so nothing enters the funnel.
    assert funnel(data, "/", "/blog/post-1", content_group="Blog") == [
        {"step": "/", "sessions": 0, "conversion_rate": 100},
        {"step": "/blog/post-1", "sessions": 0, "conversion_rate": 0.0},
    ]
    # V1 played a video on /blog/post-1 after viewing it: 1 of 3.
    assert funnel(data, "/blog/post-1", "video_play", content_group="Blog") == [
        {"step": "/blog/post-1", "sessions": 3, "conversion_rate": 100},
        {"step": "video_play", "sessions": 1, "conversion_rate": 33.33},
    ]


@pytest.mark.parametrize(
    "steps",
    [("/", "/pricing"), ("/blog/*", "/pricing"), ("page_view", "signup"), ("/", "/nowhere")],
)
def test_funnel_counts_visits_alike_in_a_bitmap_and_hashed(
    data: Dataset, steps: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first step's visits are counted in a bitmap while visit ids are small, hashed past
    # SMALL_SEQ_CEILING: both must give the same funnel, bots in or out.
    for bots in ("false", "true"):
        small = funnel(data, *steps, include_bots=bots)
        with monkeypatch.context() as patch:
            patch.setattr(engine, "SMALL_SEQ_CEILING", 0)
            assert funnel(data, *steps, include_bots=bots) == small


def test_funnel_plain_steps_parameter(data: Dataset) -> None:
    body = ok(report(data, "funnel", steps=["/pricing", "/signup"]))
    assert [row["sessions"] for row in body["funnel"]] == [2, 1]


def test_funnel_csv(data: Dataset) -> None:
    rows = csv_of(report(data, "funnel", format="csv", **{"steps[]": ["/", "/pricing"]}), "funnel")
    assert rows[1:] == [["/", "2", "100"], ["/pricing", "1", "50.0"]]
    assert rows[0][:2] == ["step", "sessions"]


@pytest.mark.parametrize(
    ("steps", "words"),
    [
        ([], ["2", "step"]),
        (["/pricing"], ["2", "step"]),
        ([" ", "/pricing"], ["step", "empty"]),
        (["/a", ""], ["step", "empty"]),
        ([f"/step-{n}" for n in range(21)], ["step", "20"]),
        # A step too long to be a path or an event name: the message must say so.
        (["/a", "/" + "a" * 600], ["step", "500"]),
    ],
)
def test_funnel_bad_steps(data: Dataset, steps: list[str], words: list[str]) -> None:
    invalid(report(data, "funnel", **{"steps[]": steps}), *words)


# -- realtime -------------------------------------------------------------------------------

# The clock is at 2026-03-18 12:00; the window is 11:30 .. 12:00. R1 (11:20) is outside it;
# the Googlebot (11:45) and the excluded IP (11:46) are filtered out. Left: R2 (/ + scroll_25),
# R3 (iPhone: /blog/post-1, /), R4 (/pricing + signup).
REALTIME = {
    "active_visitors": 3,
    "top_pages": [
        {"path": "/", "visitors": 2},
        {"path": "/blog/post-1", "visitors": 1},
        {"path": "/pricing", "visitors": 1},
    ],
    "events_by_type": [
        {"eventType": "page_view", "count": 4},
        {"eventType": "scroll_25", "count": 1},
        {"eventType": "signup", "count": 1},
    ],
}


def test_realtime(data: Dataset) -> None:
    assert ok(report(data, "realtime")) == REALTIME


def test_realtime_ignores_the_period(data: Dataset) -> None:
    assert ok(report(data, "realtime", period="30d")) == REALTIME
    assert ok(report(data, "realtime", start_date="2025-01-01", end_date="2025-01-31")) == REALTIME


def test_realtime_always_leaves_bots_out(data: Dataset) -> None:
    # The spec: realtime "Excludes bot and excluded traffic"; it takes only website_id.
    assert ok(report(data, "realtime", include_bots="true")) == REALTIME


def test_realtime_reads_the_raw_events_of_the_window(make_server: MakeServer) -> None:
    # A reader opened /article at 11:10, before the window (11:30 .. 12:00); the tracker's
    # engagement ping at 11:35 is their only event in it, and it makes them an active visitor
    # (engagement is no event type, and no page view). Another visitor viewed /pricing at 11:40.
    with make_server(clock=Clock(datetime(2026, 3, 18, 11, 0, tzinfo=UTC))) as server:
        key, site = server.tenant("live.example")
        reader = {"User-Agent": CHROME_UA, "X-Forwarded-For": "203.0.113.61"}

        def plausible(name: str, **fields: Any) -> None:
            body = {"n": name, "u": "https://live.example/article", "d": "live.example"}
            response = server.client.post("/api/event", json={**body, **fields}, headers=reader)
            assert response.status_code == 202, response.text

        at(server, "2026-03-18 11:10")
        plausible("pageview")
        at(server, "2026-03-18 11:35")
        plausible("engagement", sd=60, e=20_000)
        at(server, "2026-03-18 11:40")
        assert server.collect(site["id"], "/pricing", ip="203.0.113.62").status_code == 202
        at(server, "2026-03-18 12:00")
        server.flush()
        body = ok(get_report(server, "realtime", key, {"website_id": site["id"]}))
        assert body == {
            "active_visitors": 2,
            "top_pages": [{"path": "/pricing", "visitors": 1}],
            "events_by_type": [{"eventType": "page_view", "count": 1}],
        }


# -- custom events --------------------------------------------------------------------------

# Custom events (not pageviews nor the tracker's scroll/close_tab/outbound_link signals):
# video_play twice in V1, signup once in V3. V7's signup came from the excluded IP.
CUSTOM = [{"name": "video_play", "count": 2}, {"name": "signup", "count": 1}]


def test_custom_events(data: Dataset) -> None:
    assert ok(report(data, "custom-events")) == paged(CUSTOM)


def test_custom_events_by_name(data: Dataset) -> None:
    assert ok(report(data, "custom-events", event_name="signup"))["rows"] == [CUSTOM[1]]
    assert ok(report(data, "custom-events", event_name="video_play"))["rows"] == [CUSTOM[0]]
    assert ok(report(data, "custom-events", event_name="checkout"))["rows"] == []
    # Built-in signals are not custom events even when asked for by name.
    assert ok(report(data, "custom-events", event_name="scroll_50"))["rows"] == []
    assert ok(report(data, "custom-events", event_name="page_view"))["rows"] == []


def test_custom_events_bots_and_excluded(data: Dataset) -> None:
    assert ok(report(data, "custom-events", include_bots="true"))["rows"] == CUSTOM


def test_custom_events_content_group(data: Dataset) -> None:
    # The videos were played on /blog/post-1; the signup happened on /pricing.
    assert ok(report(data, "custom-events", content_group="Blog"))["rows"] == [CUSTOM[0]]


def test_custom_events_csv(data: Dataset) -> None:
    rows = csv_of(report(data, "custom-events", format="csv"), "custom-events")
    assert rows == [["name", "count"], ["video_play", "2"], ["signup", "1"]]
    rows = csv_of(report(data, "custom-events", format="csv", event_name="signup"), "custom-events")
    assert rows == [["name", "count"], ["signup", "1"]]


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_custom_events_bad_name(data: Dataset, name: str) -> None:
    invalid(report(data, "custom-events", event_name=name), "event_name")


# -- timeseries -----------------------------------------------------------------------------

# Per day (visits are filed under the day of their last activity, so V5 is on 03-17):
#   03-15: V1 (3 pv, 300 s), V2 (1 pv, bounce, 30 s), V1b (1 pv, bounce, 0 s)
#   03-16: V3 (3 pv, 240 s), V4 (1 pv, bounce, 0 s), plus V5's first pageview
#   03-17: V5 (1 more pv, 1200 s), V8 (1 pv, bounce, 40 s)
TIMESERIES = {
    "pageviews": {"2026-03-15": 5, "2026-03-16": 5, "2026-03-17": 2},
    "visits": {"2026-03-15": 3, "2026-03-16": 2, "2026-03-17": 2},
    # Visits with a pageview that day: V5 counts on both of its days.
    "unique_pageviews": {"2026-03-15": 3, "2026-03-16": 3, "2026-03-17": 2},
    # 2 of 3 -> 66.7; 1 of 2; 1 of 2.
    "bounce_rate": {"2026-03-15": 66.7, "2026-03-16": 50.0, "2026-03-17": 50.0},
    # 330 / 3; 240 / 2; 1240 / 2.
    "avg_session_duration": {"2026-03-15": 110, "2026-03-16": 120, "2026-03-17": 620},
    # Site-wide, every visit has one entry and one exit page.
    "landing_page_entries": {"2026-03-15": 3, "2026-03-16": 2, "2026-03-17": 2},
    "exit_page_exits": {"2026-03-15": 3, "2026-03-16": 2, "2026-03-17": 2},
}


@pytest.mark.parametrize("metric", sorted(TIMESERIES))
def test_timeseries_every_metric(data: Dataset, metric: str) -> None:
    body = ok(report(data, "timeseries", metric=metric))
    assert body == {
        "period": PERIOD,
        "metric": metric,
        "path": "*",
        "series": days("2026-03-11", TIMESERIES[metric], 7),
    }


def test_timeseries_default_metric_is_pageviews(data: Dataset) -> None:
    body = ok(report(data, "timeseries"))
    assert body["metric"] == "pageviews"
    assert body["series"] == days("2026-03-11", TIMESERIES["pageviews"], 7)


@pytest.mark.parametrize(
    ("metric", "path", "values"),
    [
        # /blog/post-1 viewed by V1 and V2 on 03-15, V8 on 03-17.
        ("pageviews", "/blog/post-1", {"2026-03-15": 2, "2026-03-17": 1}),
        ("unique_pageviews", "/pricing", {"2026-03-15": 1, "2026-03-16": 1}),
        ("visits", "/pricing", {"2026-03-15": 1, "2026-03-16": 1}),
        # Bounce rate on a page counts only the visits that entered there: V2 and V8, bounces.
        ("bounce_rate", "/blog/post-1", {"2026-03-15": 100.0, "2026-03-17": 100.0}),
        # Entered at /: V1 (03-15), V4 (03-16). Left from /pricing: V1 only (V3 left at /signup).
        ("landing_page_entries", "/", {"2026-03-15": 1, "2026-03-16": 1}),
        ("exit_page_exits", "/pricing", {"2026-03-15": 1}),
        ("exit_page_exits", "/about", {"2026-03-17": 1}),
        ("pageviews", "/nowhere", {}),
    ],
)
def test_timeseries_for_one_path(
    data: Dataset, metric: str, path: str, values: dict[str, Any]
) -> None:
    body = ok(report(data, "timeseries", metric=metric, path=path))
    assert body["path"] == path
    assert body["metric"] == metric
    assert body["series"] == days("2026-03-11", values, 7)


def test_timeseries_bots_in_and_out(data: Dataset) -> None:
    # Googlebot's two pageviews on 03-17.
    body = ok(report(data, "timeseries", include_bots="true"))
    assert body["series"] == days("2026-03-11", {**TIMESERIES["pageviews"], "2026-03-17": 4}, 7)
    body = ok(report(data, "timeseries", metric="visits", include_bots="true"))
    assert body["series"] == days("2026-03-11", {**TIMESERIES["visits"], "2026-03-17": 3}, 7)


def test_timeseries_content_group(data: Dataset) -> None:
    # Blog pageviews: V1 and V2 on 03-15, V5's /blog/post-2 on 03-16, V8 on 03-17.
    body = ok(report(data, "timeseries", content_group="Blog"))
    assert body["series"] == days(
        "2026-03-11", {"2026-03-15": 2, "2026-03-16": 1, "2026-03-17": 1}, 7
    )


def test_timeseries_one_row_per_day_of_any_range(data: Dataset) -> None:
    body = ok(report(data, "timeseries", period="today"))
    assert body["series"] == [{"date": "2026-03-18", "value": 5}]
    body = ok(report(data, "timeseries", period="30d"))
    # 30d: 2026-02-16 .. 2026-03-17, with P1 (1 pageview) and P2 (2) in it.
    expected = {**TIMESERIES["pageviews"], "2026-03-09": 1, "2026-03-10": 2}
    assert body["series"] == days("2026-02-16", expected, 30)
    # Ten years of days, all empty.
    body = ok(report(data, "timeseries", start_date="2000-01-01", end_date="2009-12-31"))
    assert len(body["series"]) == 3653
    assert body["series"][0] == {"date": "2000-01-01", "value": 0}
    assert body["series"][-1] == {"date": "2009-12-31", "value": 0}


def test_timeseries_csv(data: Dataset) -> None:
    rows = csv_of(report(data, "timeseries", format="csv"), "timeseries")
    assert rows == [
        ["date", "value"],
        ["2026-03-11", "0"],
        ["2026-03-12", "0"],
        ["2026-03-13", "0"],
        ["2026-03-14", "0"],
        ["2026-03-15", "5"],
        ["2026-03-16", "5"],
        ["2026-03-17", "2"],
    ]
    rows = csv_of(
        report(data, "timeseries", format="csv", metric="avg_session_duration", path="/pricing"),
        "timeseries",
    )
    # Visits through /pricing: V1 (300 s) on 03-15, V3 (240 s) on 03-16.
    assert rows[5:] == [["2026-03-15", "300"], ["2026-03-16", "240"], ["2026-03-17", "0"]]
    rows = csv_of(report(data, "timeseries", format="csv", metric="bounce_rate"), "timeseries")
    assert rows[5:] == [["2026-03-15", "66.7"], ["2026-03-16", "50.0"], ["2026-03-17", "50.0"]]


@pytest.mark.parametrize("metric", ["revenue", "PAGEVIEWS", "visitors", "", "bounce rate"])
def test_timeseries_unknown_metric(data: Dataset, metric: str) -> None:
    invalid(report(data, "timeseries", metric=metric), "metric")


def test_timeseries_bad_path(data: Dataset) -> None:
    invalid(report(data, "timeseries", path="about"), "path", "/")
    # Too long: the message must say that, not that the path lacks its leading slash.
    invalid(report(data, "timeseries", path="/" + "a" * 2001), "path", "2000")


# -- compare on the reports that have no comparison ----------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "params"),
    [
        ("pages", {}),
        ("sources", {}),
        ("devices", {}),
        ("flow", {}),
        ("funnel", {"steps[]": ["/", "/pricing"]}),
        ("custom-events", {}),
        ("timeseries", {"metric": "visits"}),
    ],
)
@pytest.mark.parametrize("compare", ["previous_period", "yoy"])
def test_compare_is_accepted_and_changes_nothing_elsewhere(
    data: Dataset, endpoint: str, params: dict[str, Any], compare: str
) -> None:
    plain = report(data, endpoint, **params)
    compared = report(data, endpoint, compare=compare, **params)
    assert ok(compared) == ok(plain)
    plain_csv = report(data, endpoint, format="csv", **params)
    compared_csv = report(data, endpoint, format="csv", compare=compare, **params)
    assert compared_csv.status_code == plain_csv.status_code == 200
    assert compared_csv.text == plain_csv.text


# -- channels, referrer domains and screen buckets, one visit each ----------------------------

IPAD_UA = (
    "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


def test_sources_channel_rules_and_domains(make_server: MakeServer) -> None:
    with make_server(clock=Clock(datetime(2026, 3, 17, 8, 0, tzinfo=UTC))) as server:
        key, site = server.tenant("channels.example")
        visits = [
            # (referrer, page, channel, referrer domain)
            ("https://www.google.com/search", "/", "Organic Search", "google.com"),
            ("https://www.google.com/", "/?utm_medium=cpc", "Paid Search", "google.com"),
            ("https://www.bing.com/", "/", "Organic Search", "bing.com"),
            ("https://duckduckgo.com/", "/", "Organic Search", "duckduckgo.com"),
            ("https://www.facebook.com/", "/", "Social", "facebook.com"),
            ("https://t.co/x", "/?utm_medium=paid", "Social", "t.co"),
            ("https://mail.google.com/", "/", "Email", "mail.google.com"),
            ("", "/?utm_medium=email", "Email", None),
            ("", "/?utm_source=google&utm_medium=cpc", "Paid Search", None),
            # An Android app referrer keeps its scheme: its domain is the app, not "android-app:".
            ("android-app://com.slack/", "/", "Social", "android-app://com.slack"),
            ("https://blog.example.org/x", "/", "Referral", "blog.example.org"),
            ("", "/", "Direct", None),
            # A developer's own machine is Direct, and no referring domain.
            ("http://localhost:3000/x", "/", "Direct", None),
        ]
        for n, (referrer, page, _, _) in enumerate(visits):
            at(server, f"2026-03-17 09:{n:02d}")
            fields = {"referrer": referrer} if referrer else {}
            response = server.collect(site["id"], page, ip=f"203.0.113.{n + 1}", **fields)
            assert response.status_code == 202, response.text
        at(server, "2026-03-17 12:00")
        server.flush()

        def rows(group_by: str) -> list[dict[str, Any]]:
            params = {"website_id": site["id"], "period": "today", "group_by": group_by}
            return list(ok(get_report(server, "sources", key, params))["rows"])

        # Organic Search 3, Social 3, Email 2, Paid Search 2, Direct 2, Referral 1.
        assert rows("channel") == [
            {"channel": "Organic Search", "visits": 3},
            {"channel": "Social", "visits": 3},
            {"channel": "Direct", "visits": 2},
            {"channel": "Email", "visits": 2},
            {"channel": "Paid Search", "visits": 2},
            {"channel": "Referral", "visits": 1},
        ]
        assert rows("domain") == [
            {"referrer": "google.com", "visits": 2},
            {"referrer": "android-app://com.slack", "visits": 1},
            {"referrer": "bing.com", "visits": 1},
            {"referrer": "blog.example.org", "visits": 1},
            {"referrer": "duckduckgo.com", "visits": 1},
            {"referrer": "facebook.com", "visits": 1},
            {"referrer": "mail.google.com", "visits": 1},
            {"referrer": "t.co", "visits": 1},
        ]
        assert rows("utm") == [
            {"utmSource": None, "utmMedium": "cpc", "utmCampaign": None, "visits": 1},
            {"utmSource": None, "utmMedium": "email", "utmCampaign": None, "visits": 1},
            {"utmSource": None, "utmMedium": "paid", "utmCampaign": None, "visits": 1},
            {"utmSource": "google", "utmMedium": "cpc", "utmCampaign": None, "visits": 1},
        ]


def test_screen_bucket_boundaries(make_server: MakeServer) -> None:
    with make_server(clock=Clock(datetime(2026, 3, 17, 8, 0, tzinfo=UTC))) as server:
        key, site = server.tenant("screens.example")
        widths = [320, 375, 376, 768, 769, 1024, 1025, 1440, 1441, 3840, None, 0]
        for n, width in enumerate(widths):
            at(server, f"2026-03-17 09:{n:02d}")
            fields = {"screen_width": width} if width is not None else {}
            ua = IPAD_UA if n == 0 else CHROME_UA
            response = server.collect(site["id"], "/", ip=f"203.0.113.{n + 1}", ua=ua, **fields)
            assert response.status_code == 202, response.text
        at(server, "2026-03-17 12:00")
        server.flush()
        params = {"website_id": site["id"], "period": "today"}
        body = ok(get_report(server, "devices", key, params))
        # Two widths per bucket; ties sorted by bucket name.
        assert body["screen_resolutions"] == [
            {"bucket": "1025-1440", "visits": 2},
            {"bucket": "1441+", "visits": 2},
            {"bucket": "320-375", "visits": 2},
            {"bucket": "376-768", "visits": 2},
            {"bucket": "769-1024", "visits": 2},
            {"bucket": "unknown", "visits": 2},
        ]
        assert body["device_types"] == [
            {"deviceType": "desktop", "visits": 11},
            {"deviceType": "tablet", "visits": 1},
        ]


# -- number formats -------------------------------------------------------------------------


def test_bounce_rate_always_has_one_decimal(data: Dataset) -> None:
    # Empty days and empty ranges too: 0.0, like 50.0, not a bare integer 0.
    body = ok(report(data, "timeseries", metric="bounce_rate"))
    assert all(isinstance(point["value"], float) for point in body["series"]), body["series"]
    rows = csv_of(report(data, "timeseries", metric="bounce_rate", format="csv"), "timeseries")
    assert rows[1] == ["2026-03-11", "0.0"]
    empty = ok(report(data, "summary", start_date="2027-01-01", end_date="2027-01-02"))
    assert isinstance(empty["metrics"]["bounce_rate"]["value"], float)
    assert empty["metrics"]["bounce_rate"]["value"] == 0.0


@pytest.mark.parametrize(
    ("first", "last"),
    [
        ("2026-03-11", "2026-03-17"),
        ("2026-03-15", "2026-03-16"),  # V5 started on the 16th but ended on the 17th
        ("2026-03-17", "2026-03-18"),
        ("2026-03-01", "2026-03-18"),
    ],
)
def test_timeseries_days_add_up_to_the_summary(data: Dataset, first: str, last: str) -> None:
    # A time series files a visit under the day it ended, or the range's last day if it was
    # still active after the range: so the days of a range add up to its summary.
    summary = ok(report(data, "summary", start_date=first, end_date=last))["metrics"]
    for metric, name in (("visits", "visits"), ("pageviews", "pageviews")):
        body = ok(report(data, "timeseries", metric=metric, start_date=first, end_date=last))
        assert sum(point["value"] for point in body["series"]) == summary[name]["value"]


def test_a_visit_counts_on_every_day_it_was_active(data: Dataset) -> None:
    # V5 began at 23:50 on the 16th and ended at 00:10 on the 17th (Plausible's rule: a visit
    # counts in a range if its last activity is not before the start and it started by the end).
    day_16 = ok(report(data, "summary", start_date="2026-03-16", end_date="2026-03-16"))
    assert day_16["metrics"]["visits"] == {"value": 3}  # V3, V4, V5
    assert day_16["metrics"]["pageviews"] == {"value": 5}  # V3 3, V4 1, V5's first pageview
    day_17 = ok(report(data, "summary", start_date="2026-03-17", end_date="2026-03-17"))
    assert day_17["metrics"]["visits"] == {"value": 2}  # V5, V8
    both = ok(report(data, "summary", start_date="2026-03-16", end_date="2026-03-17"))
    assert both["metrics"]["visits"] == {"value": 4}  # V5 once
    flow_16 = ok(report(data, "flow", start_date="2026-03-16", end_date="2026-03-16"))
    assert flow_16["landing_pages"] == [
        {"path": "/", "entries": 1},
        {"path": "/blog/post-2", "entries": 1},
        {"path": "/pricing", "entries": 1},
    ]
