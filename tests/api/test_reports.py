"""The common parameters of the nine TinyTrail reports, over HTTP.

Authentication and scoping, periods (in the website's timezone, as Plausible computes its
presets), custom dates, comparisons, every kind of bad input (a 400 `INVALID_PAYLOAD` whose
message says what is wrong) and a sweep of parameter combinations, none of which may answer 500.
The numbers come from the hand-checked dataset of `report_data`; the per-report numbers are in
`test_reports_endpoints.py`, the agreement with `/api/v2/query` in `test_reports_consistency.py`.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.report_data import (
    Dataset,
    at,
    csv_of,
    error_of,
    get_report,
    invalid,
    ok,
    report,
    seeded_server,
)
from tests.support import ADMIN_KEY, Clock, Server

MakeServer = Callable[..., AbstractContextManager[Server]]

ENDPOINTS = (
    "summary",
    "pages",
    "sources",
    "devices",
    "flow",
    "funnel",
    "realtime",
    "custom-events",
    "timeseries",
)
# What each report needs beyond the common parameters to be a valid request.
REQUIRED: dict[str, dict[str, Any]] = {"funnel": {"steps[]": ["/", "/pricing"]}}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataset]:
    yield from seeded_server(tmp_path_factory)


def values(metrics: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {name: entry["value"] for name, entry in metrics.items()}


# -- authentication and scoping -------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_key_is_401(data: Dataset, endpoint: str) -> None:
    params = {"website_id": data.site_id, **REQUIRED.get(endpoint, {})}
    error_of(get_report(data.server, endpoint, None, params), 401, "UNAUTHORIZED")
    error_of(get_report(data.server, endpoint, "tt_not_a_key", params), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_another_accounts_website_is_404(data: Dataset, endpoint: str) -> None:
    # The other account's user asks for this site, and this site's user for the other one.
    params = {"website_id": data.site_id, **REQUIRED.get(endpoint, {})}
    error_of(get_report(data.server, endpoint, data.other_key, params), 404, "NOT_FOUND")
    params = {"website_id": data.other_site["id"], **REQUIRED.get(endpoint, {})}
    error_of(get_report(data.server, endpoint, data.key, params), 404, "NOT_FOUND")
    # A website that does not exist at all answers the same.
    params = {"website_id": str(uuid.uuid4()), **REQUIRED.get(endpoint, {})}
    error_of(get_report(data.server, endpoint, data.key, params), 404, "NOT_FOUND")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_admin_sees_every_website(data: Dataset, endpoint: str) -> None:
    params = {"website_id": data.site_id, **REQUIRED.get(endpoint, {})}
    mine = ok(get_report(data.server, endpoint, data.key, params))
    assert ok(get_report(data.server, endpoint, ADMIN_KEY, params)) == mine
    params = {"website_id": data.other_site["id"], **REQUIRED.get(endpoint, {})}
    ok(get_report(data.server, endpoint, ADMIN_KEY, params))


def test_bearer_key_is_accepted(data: Dataset) -> None:
    response = data.server.client.get(
        "/api/v1/reports/summary",
        params={"website_id": data.site_id},
        headers={"Authorization": f"Bearer {data.key}"},
    )
    assert values(ok(response)["metrics"])["visits"] == 7


# -- periods --------------------------------------------------------------------------------

# Today is 2026-03-18 (UTC site). Per period, the range and the summary numbers:
#   today      R1 (bounce, 0 s), R2 (pageview + scroll: bounce, 60 s), R3 (2 pv, 300 s),
#              R4 (pv + signup, 60 s): 4 visits, 5 pv, 2/4 bounces, 420 / 4 = 105 s.
#   yesterday  V5 (ends 00:10, 1200 s, its /about pageview) and V8 (bounce, 40 s). V5 also
#              counts on 2026-03-16, the day it started.
#   7d         see test_reports_endpoints: 7 visits, 6 visitors, 12 pv, 57.1 %, 259 s.
#   30d, 90d   7d plus P1 and P2: 9 visits, 8 visitors, 15 pv, 5/9 = 55.6 %, 1920/9 = 213 s.
#   12m        the whole months 2025-03 .. 2026-02: only Y1.
#   ytd        2026-01-01 .. today: 30d plus today: 13, 12, 20, 7/13 = 53.8 %, 2340/13 = 180.
#   all        from the first event (Y1, 2025-03-14) to today: 14, 13, 21, 8/14 = 57.1 %, 167.
PERIODS = {
    "today": (("2026-03-18", "2026-03-18"), (4, 4, 5, 50.0, 105)),
    "yesterday": (("2026-03-17", "2026-03-17"), (2, 2, 2, 50.0, 620)),
    "7d": (("2026-03-11", "2026-03-17"), (7, 6, 12, 57.1, 259)),
    "30d": (("2026-02-16", "2026-03-17"), (9, 8, 15, 55.6, 213)),
    "90d": (("2025-12-18", "2026-03-17"), (9, 8, 15, 55.6, 213)),
    "12m": (("2025-03-01", "2026-02-28"), (1, 1, 1, 100.0, 0)),
    "ytd": (("2026-01-01", "2026-03-18"), (13, 12, 20, 53.8, 180)),
    "all": (("2025-03-14", "2026-03-18"), (14, 13, 21, 57.1, 167)),
}
METRIC_NAMES = ("visits", "unique_visitors", "pageviews", "bounce_rate", "avg_session_duration_sec")


@pytest.mark.parametrize("period", sorted(PERIODS))
def test_periods(data: Dataset, period: str) -> None:
    (start, end), expected = PERIODS[period]
    body = ok(report(data, "summary", period=period))
    assert body["period"] == {"start": start, "end": end}
    assert values(body["metrics"]) == dict(zip(METRIC_NAMES, expected, strict=True))


def test_default_period_is_7d(data: Dataset) -> None:
    assert ok(report(data, "summary")) == ok(report(data, "summary", period="7d"))


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e != "realtime"])
@pytest.mark.parametrize("period", sorted(PERIODS))
def test_every_report_echoes_the_period(data: Dataset, endpoint: str, period: str) -> None:
    (start, end), _ = PERIODS[period]
    body = ok(report(data, endpoint, period=period, **REQUIRED.get(endpoint, {})))
    assert body["period"] == {"start": start, "end": end}


@pytest.mark.parametrize(
    ("period", "compare", "comparison"),
    [
        ("today", "previous_period", "2026-03-17 to 2026-03-17"),
        ("today", "yoy", "2025-03-18 to 2025-03-18"),
        ("yesterday", "previous_period", "2026-03-16 to 2026-03-16"),
        ("7d", "previous_period", "2026-03-04 to 2026-03-10"),
        ("7d", "yoy", "2025-03-11 to 2025-03-17"),
        ("30d", "previous_period", "2026-01-17 to 2026-02-15"),
        # 365 days back from 2025-02-28 (2024 has a 29 February).
        ("12m", "previous_period", "2024-03-01 to 2025-02-28"),
        ("12m", "yoy", "2024-03-01 to 2025-02-28"),
        # ytd is 77 days (31 + 28 + 18).
        ("ytd", "previous_period", "2025-10-16 to 2025-12-31"),
        ("ytd", "yoy", "2025-01-01 to 2025-03-18"),
        # all is 370 days: 2024-03-09 .. 2025-03-13.
        ("all", "previous_period", "2024-03-09 to 2025-03-13"),
        ("all", "yoy", "2024-03-14 to 2025-03-18"),
    ],
)
def test_comparison_ranges(data: Dataset, period: str, compare: str, comparison: str) -> None:
    body = ok(report(data, "summary", period=period, compare=compare))
    assert body["comparison"] == comparison
    for entry in body["metrics"].values():
        assert set(entry) == {"value", "previous", "change_pct"}


def test_compare_yesterday_against_the_day_before(data: Dataset) -> None:
    # A visit counts in every range it was active in. 2026-03-17: V5 (23:50 to 00:10) and V8.
    # 2026-03-16: V3, V4 and V5 again; pageviews V3 3 + V4 1 + V5 1 = 5.
    # Visits 2 vs 3 -> -33.33; pageviews 2 vs 5 -> -60.0; bounce 50.0 vs 1/3 = 33.3 ->
    # (50 - 33.33..) / 33.33.. of the shown 33.3 -> 50.15; duration (1200 + 40) / 2 = 620 vs
    # (240 + 0 + 1200) / 3 = 480 -> 29.17.
    body = ok(report(data, "summary", period="yesterday", compare="previous_period"))
    assert body["metrics"] == {
        "visits": {"value": 2, "previous": 3, "change_pct": -33.33},
        "unique_visitors": {"value": 2, "previous": 3, "change_pct": -33.33},
        "pageviews": {"value": 2, "previous": 5, "change_pct": -60.0},
        "bounce_rate": {"value": 50.0, "previous": 33.3, "change_pct": 50.15},
        "avg_session_duration_sec": {"value": 620, "previous": 480, "change_pct": 29.17},
    }


def test_yoy_of_a_29_february(data: Dataset) -> None:
    body = ok(
        report(data, "summary", start_date="2028-02-29", end_date="2028-03-01", compare="yoy")
    )
    assert body["period"] == {"start": "2028-02-29", "end": "2028-03-01"}
    assert body["comparison"] == "2027-02-28 to 2027-03-01"
    body = ok(
        report(
            data,
            "summary",
            start_date="2024-02-29",
            end_date="2024-02-29",
            compare="previous_period",
        )
    )
    assert body["comparison"] == "2024-02-28 to 2024-02-28"


def test_custom_dates_override_the_period(data: Dataset) -> None:
    # 2026-03-16 .. 2026-03-16: V3, V4 and V5 (active that day, ended on the 17th): 3 visits;
    # pageviews that day: V3 3 + V4 1 + V5 1 = 5.
    for period in (None, "30d", "today", "all"):
        body = ok(
            report(data, "summary", period=period, start_date="2026-03-16", end_date="2026-03-16")
        )
        assert body["period"] == {"start": "2026-03-16", "end": "2026-03-16"}
        assert values(body["metrics"])["visits"] == 3
        assert values(body["metrics"])["pageviews"] == 5


def test_start_date_alone_runs_to_today(data: Dataset) -> None:
    # 2026-03-15 .. 2026-03-18: the seven visits of 7d and the four of today.
    body = ok(report(data, "summary", start_date="2026-03-15"))
    assert body["period"] == {"start": "2026-03-15", "end": "2026-03-18"}
    assert values(body["metrics"])["visits"] == 11


def test_a_range_in_the_future_is_empty(data: Dataset) -> None:
    body = ok(report(data, "summary", start_date="2027-01-01", end_date="2027-01-31"))
    assert values(body["metrics"]) == dict.fromkeys(METRIC_NAMES, 0)


def test_ten_years_are_allowed(data: Dataset) -> None:
    body = ok(report(data, "summary", start_date="2017-01-01", end_date="2026-12-31"))
    assert values(body["metrics"])["visits"] == 14


def test_all_on_a_website_without_data(data: Dataset) -> None:
    # Plausible's "all" on a site with no data is today only.
    params = {"website_id": data.other_site["id"], "period": "all"}
    body = ok(get_report(data.server, "summary", data.other_key, params))
    assert body["period"] == {"start": "2026-03-18", "end": "2026-03-18"}
    assert values(body["metrics"]) == dict.fromkeys(METRIC_NAMES, 0)


def test_website_id_in_capitals(data: Dataset) -> None:
    upper = ok(report(data, "summary", website_id=data.site_id.upper()))
    assert upper == ok(report(data, "summary"))


def test_include_bots_values(data: Dataset) -> None:
    for value in ("true", "TRUE", "True"):
        assert values(ok(report(data, "summary", include_bots=value))["metrics"])["visits"] == 8
    for value in ("false", "FALSE"):
        assert values(ok(report(data, "summary", include_bots=value))["metrics"])["visits"] == 7


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e != "realtime"])
def test_csv_of_every_report(data: Dataset, endpoint: str) -> None:
    name = endpoint
    response = report(data, endpoint, format="csv", **REQUIRED.get(endpoint, {}))
    rows = csv_of(response, name)
    assert len(rows) >= 2
    assert all(len(row) == len(rows[0]) for row in rows)
    assert "status" not in response.text


# -- the website's timezone -----------------------------------------------------------------


def test_periods_follow_the_website_timezone(make_server: MakeServer) -> None:
    with make_server(clock=Clock(datetime(2026, 3, 7, 12, 0, tzinfo=UTC))) as server:
        key, site = server.tenant("ny.example")
        response = server.client.patch(
            f"/api/v1/websites/{site['id']}",
            json={"timezone": "America/New_York"},
            headers={"X-API-KEY": key},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["timezone"] == "America/New_York"

        def pv(moment: str, path: str, ip: str) -> None:
            at(server, moment)
            assert server.collect(site["id"], path, ip=ip).status_code == 202

        # New York is UTC-5 until 2026-03-08 07:00 UTC, then UTC-4 (EDT).
        pv("2026-03-08 04:59", "/a", "203.0.113.1")  # 2026-03-07 23:59 EST
        pv("2026-03-08 05:00", "/b", "203.0.113.2")  # 2026-03-08 00:00 EST
        pv("2026-03-09 03:30", "/c", "203.0.113.3")  # 2026-03-08 23:30 EDT
        pv("2026-03-09 04:00", "/d", "203.0.113.4")  # 2026-03-09 00:00 EDT
        pv("2026-03-17 03:00", "/e", "203.0.113.5")  # 2026-03-16 23:00 EDT
        pv("2026-03-18 03:00", "/f", "203.0.113.6")  # 2026-03-17 23:00 EDT
        pv("2026-03-18 05:00", "/g", "203.0.113.7")  # 2026-03-18 01:00 EDT
        at(server, "2026-03-18 12:00")  # 08:00 EDT
        server.flush()
        key_headers = {"X-API-KEY": key}

        def pages(**params: Any) -> tuple[dict[str, str], list[str]]:
            body = ok(get_report(server, "pages", key, {"website_id": site["id"], **params}))
            return body["period"], [row["path"] for row in body["rows"]]

        # In UTC, "today" would hold /f and /g; in New York /f was yesterday evening.
        assert pages(period="today") == ({"start": "2026-03-18", "end": "2026-03-18"}, ["/g"])
        assert pages(period="yesterday") == (
            {"start": "2026-03-17", "end": "2026-03-17"},
            ["/f"],
        )
        assert pages(period="7d") == ({"start": "2026-03-11", "end": "2026-03-17"}, ["/e", "/f"])
        # Custom dates are local dates too, across the DST change.
        body = ok(
            get_report(
                server,
                "timeseries",
                key,
                {"website_id": site["id"], "start_date": "2026-03-07", "end_date": "2026-03-09"},
            )
        )
        assert body["series"] == [
            {"date": "2026-03-07", "value": 1},
            {"date": "2026-03-08", "value": 2},
            {"date": "2026-03-09", "value": 1},
        ]
        # Plausible's "day" for the same site agrees.
        response = server.client.post(
            "/api/v2/query",
            json={
                "site_id": "ny.example",
                "metrics": ["pageviews"],
                "date_range": "day",
                "dimensions": ["event:page"],
            },
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200, response.text
        assert [r["dimensions"][0] for r in response.json()["results"]] == ["/g"]

        # 23:59 in New York on the 18th: still the same local day.
        at(server, "2026-03-19 03:59")
        assert pages(period="today") == ({"start": "2026-03-18", "end": "2026-03-18"}, ["/g"])
        # Local midnight: the 19th begins, and the 18th becomes yesterday.
        at(server, "2026-03-19 04:00")
        assert pages(period="today") == ({"start": "2026-03-19", "end": "2026-03-19"}, [])
        assert pages(period="yesterday") == (
            {"start": "2026-03-18", "end": "2026-03-18"},
            ["/g"],
        )
        assert (
            ok(
                server.client.get(
                    "/api/v1/reports/summary",
                    params={"website_id": site["id"], "period": "today", "compare": "yoy"},
                    headers=key_headers,
                )
            )["comparison"]
            == "2025-03-19 to 2025-03-19"
        )


# -- realtime: the window and the top 10 ----------------------------------------------------


def test_realtime_window_and_top_ten(make_server: MakeServer) -> None:
    with make_server(clock=Clock(datetime(2026, 3, 18, 11, 0, tzinfo=UTC))) as server:
        key, site = server.tenant("live.example")

        def pv(moment: str, path: str, ip: str) -> None:
            at(server, moment)
            assert server.collect(site["id"], path, ip=ip).status_code == 202

        pv("2026-03-18 11:29:59", "/p01", "203.0.113.1")  # just before the window
        pv("2026-03-18 11:30:00", "/p01", "203.0.113.2")  # its first second
        pv("2026-03-18 11:31", "/p01", "203.0.113.3")
        pv("2026-03-18 11:32", "/p01", "203.0.113.4")
        pv("2026-03-18 11:33", "/p02", "203.0.113.5")
        pv("2026-03-18 11:34", "/p02", "203.0.113.6")
        for n in range(3, 13):  # /p03 .. /p12, one visitor each
            pv(f"2026-03-18 11:{32 + n}", f"/p{n:02d}", f"203.0.113.{n + 4}")
        at(server, "2026-03-18 12:00")
        server.flush()

        def realtime() -> dict[str, Any]:
            body = ok(get_report(server, "realtime", key, {"website_id": site["id"]}))
            assert set(body) == {"active_visitors", "top_pages", "events_by_type"}
            return dict(body)

        # 11:30:00 .. 12:00: visitors .2 .. .16 = 15. Top 10: /p01 (3), /p02 (2), then the
        # single-visitor pages by path, /p03 .. /p10; /p11 and /p12 are cut.
        body = realtime()
        assert body["active_visitors"] == 15
        assert body["top_pages"] == [
            {"path": "/p01", "visitors": 3},
            {"path": "/p02", "visitors": 2},
            *({"path": f"/p{n:02d}", "visitors": 1} for n in range(3, 11)),
        ]
        assert body["events_by_type"] == [{"eventType": "page_view", "count": 15}]

        # One second later the 11:30:00 pageview has left the window.
        at(server, "2026-03-18 12:00:01")
        body = realtime()
        assert body["active_visitors"] == 14
        assert body["top_pages"][:2] == [
            {"path": "/p01", "visitors": 2},
            {"path": "/p02", "visitors": 2},
        ]
        # Half an hour of silence later, nothing is live.
        at(server, "2026-03-18 13:00")
        assert realtime() == {"active_visitors": 0, "top_pages": [], "events_by_type": []}


# -- bad input ------------------------------------------------------------------------------

# (parameters, words the error message must contain)
BAD_COMMON: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    ({"period": "foo"}, ("period",)),
    ({"period": "14d"}, ("period",)),
    ({"period": "month"}, ("period",)),
    ({"period": "7D"}, ("period",)),
    ({"period": "12mo"}, ("period",)),
    ({"period": ["7d", "30d"]}, ("period",)),
    ({"start_date": "2026-02-30", "end_date": "2026-03-05"}, ("start_date",)),
    ({"start_date": "2026-13-01"}, ("start_date",)),
    ({"start_date": "20260301"}, ("start_date", "YYYY-MM-DD")),
    ({"start_date": "2026-3-1"}, ("start_date", "YYYY-MM-DD")),
    ({"start_date": "yesterday"}, ("start_date",)),
    ({"start_date": ""}, ("start_date",)),
    ({"start_date": "2026-03-01", "end_date": "2026-02-30"}, ("end_date",)),
    ({"start_date": "2026-03-10", "end_date": "2026-03-09"}, ("end_date", "start_date")),
    ({"end_date": "2026-03-09"}, ("start_date",)),
    ({"start_date": "1900-01-01", "end_date": "2026-01-01"}, ("start_date", "2000-01-01")),
    ({"start_date": "9999-12-30", "end_date": "9999-12-31"}, ("start_date", "2999-12-31")),
    ({"start_date": "2000-01-01", "end_date": "2999-12-31"}, ("range",)),
    ({"start_date": "2026-01-01", "end_date": "3026-01-01"}, ("end_date",)),
    ({"start_date": "0001-01-01", "end_date": "9999-12-31"}, ("start_date",)),
    ({"compare": "last_year"}, ("compare",)),
    ({"compare": ""}, ("compare",)),
    ({"include_bots": "yes"}, ("include_bots",)),
    ({"include_bots": "1"}, ("include_bots",)),
    ({"format": "xml"}, ("format",)),
    ({"page": "0"}, ("page",)),
    ({"page": "-1"}, ("page",)),
    ({"page": "two"}, ("page",)),
    ({"page": "1000001"}, ("page",)),
    ({"per_page": "0"}, ("per_page", "500")),
    ({"per_page": "501"}, ("per_page", "500")),
    ({"per_page": "10000"}, ("per_page", "500")),
    ({"per_page": "-5"}, ("per_page",)),
    ({"per_page": "1.5"}, ("per_page",)),
    ({"per_page": "99999999999999999999999999"}, ("per_page",)),
    ({"content_group": "Docs"}, ("content_group",)),
    ({"content_group": "blog"}, ("content_group",)),
    ({"website_id": None}, ("website_id",)),
    ({"website_id": ""}, ("website_id",)),
    ({"website_id": "not-a-uuid"}, ("website_id",)),
    ({"website_id": "123"}, ("website_id",)),
    ({"website_id": "' OR 1=1 --"}, ("website_id",)),
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(("params", "words"), BAD_COMMON, ids=[str(p) for p, _ in BAD_COMMON])
def test_bad_common_parameters(
    data: Dataset, endpoint: str, params: dict[str, Any], words: tuple[str, ...]
) -> None:
    query: dict[str, Any] = {"website_id": data.site_id, **REQUIRED.get(endpoint, {}), **params}
    query = {k: v for k, v in query.items() if v is not None}
    invalid(get_report(data.server, endpoint, data.key, query), *words)


def test_website_id_given_twice(data: Dataset) -> None:
    params = [("website_id", data.site_id), ("website_id", data.other_site["id"])]
    invalid(get_report(data.server, "summary", data.key, params), "website_id")


def test_bad_parameters_are_400_even_for_a_website_out_of_reach(data: Dataset) -> None:
    params = {"website_id": data.other_site["id"], "period": "fortnight"}
    invalid(get_report(data.server, "summary", data.key, params), "period")
    params = {"website_id": data.other_site["id"], "per_page": "10000"}
    invalid(get_report(data.server, "pages", data.key, params), "per_page")


def test_content_group_of_another_website_is_unknown(data: Dataset) -> None:
    # "Blog" exists on example.com only; the admin may read the other site, but not by a group
    # that site does not have.
    params = {"website_id": data.other_site["id"], "content_group": "Blog"}
    invalid(get_report(data.server, "summary", ADMIN_KEY, params), "content_group")


# -- no combination answers 500 --------------------------------------------------------------

COMMON_POOL: dict[str, list[Any]] = {
    "period": [None, "today", "yesterday", "7d", "30d", "90d", "12m", "ytd", "all", "", "0d"],
    "start_date": [None, "2026-03-15", "2000-01-01", "2028-02-29", "2999-12-31", "", "x"],
    "end_date": [None, "2026-03-17", "2009-12-31", "2026-02-28", "3000-01-01"],
    "compare": [None, "previous_period", "yoy", "bogus"],
    "include_bots": [None, "true", "false", "maybe"],
    "content_group": [None, "Blog", "Nope", "'; DROP TABLE events; --"],
    "page": [None, "1", "2", "1000000", "0", "x"],
    "per_page": [None, "1", "500", "501", "-5", "9" * 40],
    "format": [None, "json", "csv", "CSV", "html"],
}
EXTRA_POOL: dict[str, dict[str, list[Any]]] = {
    "sources": {"group_by": [None, "channel", "domain", "utm", "", "referrer"]},
    "funnel": {
        "steps[]": [
            None,
            ["/", "/pricing"],
            ["/blog/*", "signup", "/signup"],
            ["page_view", "page_view"],
            ["/**", "/%", "/'"],
            ["a'b", 'x"y'],
            ["/only"],
        ]
    },
    "custom-events": {"event_name": [None, "signup", "ü🎉", "%00", "a'b", "", "x" * 200]},
    "timeseries": {
        "metric": [
            None,
            "visits",
            "pageviews",
            "unique_pageviews",
            "bounce_rate",
            "avg_session_duration",
            "landing_page_entries",
            "exit_page_exits",
            "nope",
        ],
        "path": [None, "/", "/blog/*", "/a'b", "nopath", "/%", "/" + "x" * 3000],
    },
}


def combinations() -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(20260318)
    cases = []
    for endpoint in ENDPOINTS:
        pool = {**COMMON_POOL, **EXTRA_POOL.get(endpoint, {})}
        for _ in range(40):
            cases.append((endpoint, {name: rng.choice(options) for name, options in pool.items()}))
    # Every extra value at least once, with everything else valid.
    for endpoint, pool in EXTRA_POOL.items():
        for name, options in pool.items():
            for value in options:
                cases.append((endpoint, {**REQUIRED.get(endpoint, {}), name: value}))
    # The heaviest valid combinations: ten years, every metric, compare, csv.
    for endpoint, compare, fmt in itertools.product(
        ENDPOINTS, ["previous_period", "yoy"], ["json", "csv"]
    ):
        params = {
            "start_date": "2016-01-01",
            "end_date": "2025-12-31",
            "compare": compare,
            "format": fmt,
            "include_bots": "true",
            "content_group": "Blog",
            "page": "1000000",
            "per_page": "500",
            **REQUIRED.get(endpoint, {}),
        }
        cases.append((endpoint, params))
    return cases


def test_no_parameter_combination_answers_500(data: Dataset) -> None:
    seen = set()
    for endpoint, params in combinations():
        query = {"website_id": data.site_id}
        query.update({k: v for k, v in params.items() if v is not None})
        response = get_report(data.server, endpoint, data.key, query)  # asserts < 500
        seen.add(response.status_code)
        if response.status_code == 400:
            invalid(response)
        else:
            assert response.status_code == 200, (endpoint, query, response.text)
    assert seen == {200, 400}


def test_csv_with_awkward_values(data: Dataset) -> None:
    # Values with commas and quotes are quoted, not spliced into other columns.
    rows = csv_of(
        report(data, "funnel", format="csv", **{"steps[]": ["/pricing", 'say "hi", there']}),
        "funnel",
    )
    assert rows[2][0] == 'say "hi", there'
    assert len(rows[2]) == len(rows[0])
