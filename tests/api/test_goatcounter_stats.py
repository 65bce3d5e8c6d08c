"""`/api/v0/paths` and `/api/v0/stats/*` over HTTP, answered by the shared query engine.

The clock is frozen at 2026-03-18 12:00 UTC; the default range is 2026-03-11 to 2026-03-18.
Visitor ids are per day (daily salts), so the same session on two days is two visitors.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from tests.api.goatcounter_client import FIREFOX_UA, GoatCounter, account
from tests.support import ADMIN_KEY, CHROME_UA, Server


def at(day: int, hour: int, minute: int = 0) -> str:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def seed(gc: GoatCounter) -> None:
    one = {"session": "s1", "user_agent": CHROME_UA, "location": "US-TX", "size": "1920"}
    two = {"session": "s2", "user_agent": FIREFOX_UA, "location": "NL", "size": "375"}
    response = gc.count(
        {
            **one,
            "path": "/a",
            "title": "Page A",
            "created_at": at(17, 10, 5),
            "query": "utm_source=mail&utm_campaign=spring",
        },
        {**one, "path": "/b", "created_at": at(17, 10, 10)},
        {**two, "path": "/a", "created_at": at(17, 10, 30), "ref": "https://news.ycombinator.com/"},
        {**one, "path": "/a", "created_at": at(18, 9)},
        {"session": "s3", "path": "click", "event": True, "created_at": at(16, 8)},
    )
    assert response.status_code == 202, response.text


@pytest.fixture
def gc(server: Server) -> GoatCounter:
    gc = account(server)[0]
    seed(gc)
    server.flush()
    return gc


def test_paths_get_stable_ids_and_paginate(gc: GoatCounter) -> None:
    body = gc.get("/paths").json()
    paths = {p["path"]: p for p in body["paths"]}
    assert set(paths) == {"/a", "/b", "click"}
    assert paths["/a"]["title"] == "Page A"
    assert paths["click"]["event"] is True and paths["/a"]["event"] is False
    assert body["more"] is False
    first = gc.get("/paths", limit=1).json()
    assert first["more"] is True and len(first["paths"]) == 1
    rest = gc.get("/paths", limit=5, after=first["paths"][0]["id"]).json()
    assert len(rest["paths"]) == 2
    assert gc.get("/paths").json() == body  # ids do not change between calls


def test_total(gc: GoatCounter) -> None:
    body = gc.get("/stats/total").json()
    assert (body["total"], body["total_events"], body["total_utc"]) == (3, 1, 3)
    days = {row["day"]: row for row in body["stats"]}
    assert len(days) == 8 and min(days) == "2026-03-11" and max(days) == "2026-03-18"
    assert days["2026-03-17"]["daily"] == 2 and days["2026-03-17"]["hourly"][10] == 2
    assert days["2026-03-18"]["hourly"][9] == 1
    one_day = gc.get("/stats/total", start="2026-03-18", end="2026-03-18").json()
    assert one_day["total"] == 1 and len(one_day["stats"]) == 1


def test_hits(gc: GoatCounter) -> None:
    body = gc.get("/stats/hits").json()
    counted = {h["path"]: h["count"] for h in body["hits"]}
    assert counted == {"/a": 3, "/b": 1, "click": 1}
    assert body["hits"][0]["path"] == "/a"
    assert body["total"] == 5 and body["more"] is False
    first = body["hits"][0]
    assert first["title"] == "Page A" and first["max"] == 2
    day = next(s for s in first["stats"] if s["day"] == "2026-03-17")
    assert day["hourly"][10] == 2 and day["daily"] == 2
    limited = gc.get("/stats/hits", limit=1).json()
    assert [h["path"] for h in limited["hits"]] == ["/a"] and limited["more"] is True
    after = gc.get("/stats/hits", exclude_paths=str(first["path_id"])).json()
    assert {h["path"] for h in after["hits"]} == {"/b", "click"}
    only = gc.get("/stats/hits", include_paths="/B", path_by_name="true").json()
    assert [h["path"] for h in only["hits"]] == ["/b"]
    weekly = gc.get("/stats/hits", group="week").json()["hits"][0]
    # Weeks are counted from the range's start: 11-17 March, then 18 March.
    assert weekly["stats"][0]["weekly"] == 2 and weekly["stats"][7]["weekly"] == 1
    assert "weekly" not in weekly["stats"][1] and weekly["max"] == 2
    monthly = gc.get("/stats/hits", group="month").json()["hits"][0]
    assert monthly["stats"][0]["monthly"] == 3 and monthly["max"] == 3
    assert gc.get("/stats/hits", daily="true").json()["hits"][0]["max"] == 2


def test_hit_refs(gc: GoatCounter) -> None:
    ids = {p["path"]: p["id"] for p in gc.get("/paths").json()["paths"]}
    refs = gc.get(f"/stats/hits/{ids['/a']}").json()
    assert refs == {
        "refs": [
            {"name": "Hacker News", "count": 1, "ref_scheme": "g"},
            {"name": "mail", "count": 1, "ref_scheme": "c"},
        ],
        "more": False,
    }
    assert gc.get("/stats/hits/999999").status_code == 404
    assert gc.get("/stats/hits/abc").json() == {"errors": {"path_id": ["must be a number"]}}


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("browsers", [("Chrome", "Chrome", 2), ("Firefox", "Firefox", 1)]),
        ("systems", [("Linux", "Linux", 1), ("Windows", "Windows", 2)]),
        ("locations", [("US", "United States", 2), ("NL", "Netherlands", 1)]),
        ("languages", []),
    ],
)
def test_panels(gc: GoatCounter, page: str, expected: list[tuple[str, str, int]]) -> None:
    stats = gc.get(f"/stats/{page}").json()["stats"]
    found = [(s["id"], s["name"], s["count"]) for s in stats]
    known = [row for row in found if row[0] != "(unknown)"]
    assert sorted(known) == sorted(expected)


def test_sizes_are_always_five_buckets(gc: GoatCounter) -> None:
    body = gc.get("/stats/sizes", limit=1).json()
    assert [(s["id"], s["count"]) for s in body["stats"]] == [
        ("phone", 1),
        ("tablet", 0),
        ("desktop", 2),
        ("desktophd", 0),
        ("unknown", 1),
    ]
    detail = gc.get("/stats/sizes/desktop").json()["stats"]
    assert [(s["name"], s["count"]) for s in detail] == [("\u2194\ufe0e 1920px", 2)]


def test_sizes_use_goatcounters_width_limits(server: Server) -> None:
    gc = account(server)[0]
    widths = ["600", "601,900,2", "1000", "1001", "1921", "1921", "0"]
    hits = [
        {"session": f"w{i}", "path": "/", "size": size, "created_at": at(18, 9, i)}
        for i, size in enumerate(widths)
    ]
    assert gc.count(*hits).status_code == 202
    server.flush()
    body = gc.get("/stats/sizes").json()
    assert [(s["id"], s["count"]) for s in body["stats"]] == [
        ("phone", 1),
        ("tablet", 2),
        ("desktop", 1),
        ("desktophd", 2),
        ("unknown", 1),
    ]
    tablets = gc.get("/stats/sizes/tablet").json()["stats"]
    assert [(s["name"], s["count"]) for s in tablets] == [
        ("\u2194\ufe0e 1000px", 1),
        ("\u2194\ufe0e 601px", 1),
    ]
    assert gc.get("/stats/sizes/desktophd").json()["stats"][0]["count"] == 2
    assert gc.get("/stats/sizes/huge").status_code == 400


def test_toprefs_and_details(gc: GoatCounter) -> None:
    refs = gc.get("/stats/toprefs").json()["stats"]
    assert {(r["name"], r["ref_scheme"], r["count"]) for r in refs} == {
        ("Hacker News", "g", 1),
        ("mail", "c", 1),
    }
    pages = gc.get("/stats/toprefs/Hacker News").json()["stats"]
    assert [(p["name"], p["count"]) for p in pages] == [("/a", 1)]
    versions = gc.get("/stats/browsers/Chrome").json()["stats"]
    assert [(v["name"], v["count"]) for v in versions] == [("Chrome 120.0", 2)]
    regions = gc.get("/stats/locations/US").json()["stats"]
    assert [(r["id"], r["name"], r["count"]) for r in regions] == [("US-TX", "Texas", 2)]


def test_referrer_ids_with_slashes_have_details(server: Server, gc: GoatCounter) -> None:
    visitor = {"session": "s9", "user_agent": CHROME_UA, "created_at": at(17, 11)}
    gc.count({**visitor, "path": "/linked", "ref": "https://example.org/links/"})
    server.flush()
    refs = {r["name"]: r["id"] for r in gc.get("/stats/toprefs").json()["stats"]}
    assert refs["example.org/links"] == "example.org/links"
    for path in ("/stats/toprefs/example.org/links", "/stats/toprefs/example.org%2Flinks"):
        pages = gc.get(path).json()["stats"]
        assert [(p["name"], p["count"]) for p in pages] == [("/linked", 1)]


def test_campaigns_have_stable_numeric_ids(gc: GoatCounter) -> None:
    [campaign] = gc.get("/stats/campaigns").json()["stats"]
    assert (campaign["name"], campaign["count"]) == ("spring", 1)
    assert campaign["id"].isdigit()
    assert gc.get("/stats/campaigns").json()["stats"][0]["id"] == campaign["id"]
    sources = gc.get(f"/stats/campaigns/{campaign['id']}").json()["stats"]
    assert [(s["name"], s["count"]) for s in sources] == [("mail", 1)]
    assert gc.get("/stats/campaigns/999999").json()["stats"] == []
    assert gc.get("/stats/campaigns/99999999999999999999").json()["stats"] == []
    refused = gc.get("/stats/campaigns/spring")
    assert refused.status_code == 400
    assert refused.json() == {"errors": {"id": ["must be a number"]}}


def test_pagination_of_panels(gc: GoatCounter) -> None:
    first = gc.get("/stats/browsers", limit=1).json()
    assert len(first["stats"]) == 1 and first["more"] is True
    second = gc.get("/stats/browsers", limit=1, offset=1).json()
    assert second["stats"] != first["stats"]


def test_include_paths_filters_panels(gc: GoatCounter) -> None:
    ids = {p["path"]: p["id"] for p in gc.get("/paths").json()["paths"]}
    stats = gc.get("/stats/browsers", include_paths=str(ids["/b"])).json()["stats"]
    assert [(s["name"], s["count"]) for s in stats] == [("Chrome", 1)]
    none = gc.get("/stats/browsers", include_paths="/nothing", path_by_name="1").json()
    assert none["stats"] == []


@pytest.mark.parametrize(
    ("path", "params", "status", "body"),
    [
        ("/stats/bogus", {}, 400, None),
        ("/stats/languages/eng", {}, 400, None),
        ("/stats/hits", {"colour": "red"}, 400, {"error": 'unknown parameter: "colour"'}),
        ("/paths", {"before": "1"}, 400, {"error": 'unknown parameter: "before"'}),
        ("/stats/total", {"start": "yesterday"}, 400, None),
        (
            "/stats/total",
            {"start": "2026-03-18", "end": "2026-03-01"},
            400,
            {"error": "end is before start"},
        ),
        (
            "/stats/hits",
            {"include_paths": "1,x"},
            400,
            {"error": "invalid number in include_paths: x"},
        ),
        (
            "/stats/hits",
            {"exclude_paths": "abc"},
            400,
            {"error": "invalid number in exclude_paths: abc"},
        ),
        ("/stats/hits", {"limit": "many"}, 400, None),
        ("/stats/hits", {"group": "year"}, 400, None),
    ],
)
def test_bad_parameters(
    gc: GoatCounter, path: str, params: dict[str, str], status: int, body: Any
) -> None:
    response = gc.get(path, **params)
    assert response.status_code == status
    if body is not None:
        assert response.json() == body


def test_an_unknown_page_is_refused_before_authentication(server: Server) -> None:
    response = server.client.get("/api/v0/stats/bogus")
    assert response.status_code == 400
    assert "page" in response.json()["errors"]
    assert server.client.get("/api/v0/stats/browsers").status_code == 401


def test_rfc3339_ranges_cut_at_instants(gc: GoatCounter) -> None:
    body = gc.get("/stats/total", start="2026-03-17T10:20:00Z", end="2026-03-17T11:00:00Z").json()
    assert body["total"] == 1  # only the visit that began at 10:30


def test_numbers_match_the_plausible_api(server: Server, gc: GoatCounter) -> None:
    total = gc.get("/stats/total").json()["total"]
    response = server.client.post(
        "/api/v2/query",
        json={
            "site_id": "example.com",
            "metrics": ["visitors"],
            "date_range": ["2026-03-11", "2026-03-18"],
            "filters": [["is", "event:name", ["pageview"]]],
        },
        headers={"Authorization": f"Bearer {gc.key}"},
    )
    assert response.json()["results"][0]["metrics"] == [total]


# -- dates at the calendar's ends -----------------------------------------------------------------

EDGE_RANGES = [
    {"start": "2026-01-01", "end": "9999-12-31"},
    {"start": "2026-03-10", "end": "9999-12-31T23:59:59Z"},
    {"start": "0001-01-01", "end": "0001-01-03"},
    {"start": "0001-01-01T00:00:00Z", "end": "0001-01-02T00:00:00Z"},
    {"start": "0001-01-01T00:00:00+14:00", "end": "0001-01-05"},
    {"start": "9999-12-31", "end": "9999-12-31"},
    {"start": "9999-12-31T00:00:00Z", "end": "9999-12-31T23:59:59-12:00"},
]
EDGE_PATHS = ["/stats/total", "/stats/hits", "/stats/toprefs", "/stats/browsers", "/stats/hits/1"]


@pytest.mark.parametrize("timezone", ["Etc/UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"])
def test_dates_at_the_calendars_ends_are_answered(server: Server, timezone: str) -> None:
    gc, site = account(server)
    server.client.patch(
        f"/api/v1/websites/{site['id']}", json={"timezone": timezone}, headers={"X-API-KEY": gc.key}
    )
    seed(gc)
    server.flush()
    gc.get("/paths")  # path id 1 exists
    for params in EDGE_RANGES:
        for path in EDGE_PATHS:
            response = gc.get(path, **params)
            assert response.status_code == 200, (path, params, response.text)


def test_an_end_after_today_ends_the_days_at_today(gc: GoatCounter) -> None:
    """GoatCounter answers an absurd end date with no data after today."""
    body = gc.get("/stats/total", start="2026-03-15", end="9999-12-31").json()
    assert [row["day"] for row in body["stats"]] == [
        "2026-03-15",
        "2026-03-16",
        "2026-03-17",
        "2026-03-18",
    ]
    assert body == gc.get("/stats/total", start="2026-03-15", end="2026-03-18").json()
    hits = gc.get("/stats/hits", start="2026-03-15", end="9999-12-31T23:59:59Z").json()
    assert {h["path"]: h["count"] for h in hits["hits"]} == {"/a": 3, "/b": 1, "click": 1}
    assert hits["hits"][0]["stats"][-1]["day"] == "2026-03-18"
    # A range wholly after today is its first day (an empty one).
    for end in ("2026-04-02", "9999-12-31", "9999-12-31T23:59:59Z"):
        future = gc.get("/stats/total", start="2026-04-01", end=end).json()
        assert [row["day"] for row in future["stats"]] == ["2026-04-01"]
        assert future["total"] == 0


def test_reports_compare_ranges_reaching_far_back(server: Server) -> None:
    """The period arithmetic the APIs share (tinytrail.query.periods) stays on the calendar: a
    site whose history begins with the earliest accepted time (1970; imports refuse earlier
    ones), compared with the periods before it, and stats asked about the year 1000."""
    gc, site = account(server)
    csv = (
        "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,"
        "Screen size,Location,FirstVisit,Date\n"
        "/old,T,0,,,,1-2,0,,o,,,1,1970-01-01T10:00:00Z\n"
    )
    imported = server.client.post(
        "/api/v1/admin/goatcounter/import",
        params={"site_id": "example.com"},
        content=csv.encode(),
        headers={"X-API-KEY": ADMIN_KEY, "Content-Type": "text/csv"},
    )
    assert imported.json()["data"]["loaded"] == 1, imported.text
    server.flush()
    for compare in ("previous_period", "yoy"):
        response = server.client.get(
            "/api/v1/reports/summary",
            params={"website_id": site["id"], "period": "all", "compare": compare},
            headers={"X-API-KEY": gc.key},
        )
        assert response.status_code == 200, response.text
        assert response.json()["data"]["metrics"]["pageviews"]["value"] == 1
    for path in ("/stats/total", "/stats/hits"):
        assert gc.get(path, start="0999-12-31", end="1000-01-01").status_code == 200


# -- path ids on sites with many paths ------------------------------------------------------------


def import_paths(server: Server, count: int) -> None:
    """`count` pages with one visitor each (/p000, /p001, ...) and /top with two, imported: an
    import gives no path ids, unlike /api/v0/count, which notes every path's title."""
    rows = [{"pathname": f"/p{n:03d}", "user_id": n} for n in range(count)]
    rows += [{"pathname": "/top", "user_id": 10_000}, {"pathname": "/top", "user_id": 10_001}]
    body = "".join(
        json.dumps({"name": "pageview", "timestamp": "2026-03-17T10:00:00Z", **row}) + "\n"
        for row in rows
    )
    response = server.client.post(
        "/api/v1/admin/import",
        params={"site_id": "example.com"},
        content=body.encode(),
        headers={"X-API-KEY": ADMIN_KEY, "Content-Type": "application/x-ndjson"},
    )
    assert response.json()["data"]["loaded"] == len(rows), response.text
    server.flush()


def stored_paths(server: Server, site_id: int) -> list[str]:
    return [row.path for row in server.runtime.goatcounter.repo.paths_after(site_id, 0, 10_000)]


def test_hits_give_ids_only_to_the_paths_of_the_page(server: Server) -> None:
    gc, site = account(server)
    import_paths(server, 300)
    first = gc.get("/stats/hits", limit=3).json()
    assert [h["path"] for h in first["hits"]] == ["/top", "/p000", "/p001"]
    assert first["more"] is True and first["total"] == 4
    assert sorted(stored_paths(server, site["gc_id"])) == ["/p000", "/p001", "/top"]
    assert gc.get("/stats/hits", limit=3).json() == first
    # The next page, as upstream's clients page: excluding the ids already seen.
    seen = ",".join(str(h["path_id"]) for h in first["hits"])
    second = gc.get("/stats/hits", limit=3, exclude_paths=seen).json()
    assert [h["path"] for h in second["hits"]] == ["/p002", "/p003", "/p004"]
    assert len(stored_paths(server, site["gc_id"])) == 6
    # Equal counts go oldest id first, so fetching the next page left this one as it was.
    assert gc.get("/stats/hits", limit=3).json() == first
    assert gc.get("/stats/hits", limit=3, exclude_paths=seen).json() == second


def test_concurrent_first_calls_agree(server: Server) -> None:
    gc, site = account(server)
    import_paths(server, 300)
    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(lambda _: gc.get("/stats/hits", limit=5), range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert all(r.json() == responses[0].json() for r in responses)
    assert len(stored_paths(server, site["gc_id"])) == 5


def test_a_locked_database_is_retried(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    gc, _ = account(server)
    import_paths(server, 10)
    repo = server.runtime.goatcounter.repo
    insert = repo._insert_paths
    failures = [OperationalError("INSERT", {}, Exception("database is locked"))] * 2

    def busy(*args: Any) -> None:
        if failures:
            raise failures.pop()
        insert(*args)

    monkeypatch.setattr(repo, "_insert_paths", busy)
    response = gc.get("/stats/hits", limit=2)
    assert response.status_code == 200, response.text
    assert [h["path"] for h in response.json()["hits"]] == ["/top", "/p000"]
    assert failures == []
