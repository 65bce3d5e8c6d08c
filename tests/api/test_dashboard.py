"""The web dashboard over HTTP: sign-in sessions, access rules, forms, and its data endpoint.

The browser tests (tests/browser/test_dashboard.py) drive the same pages in Chromium; these
check what a browser cannot show: cookie flags, server-side session ends, CSRF and origin
checks, account isolation, and that the data endpoint answers exactly what the Stats API does.
"""

from __future__ import annotations

import gzip
import html
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support import ADMIN_KEY, Server, start_server

ORIGIN = {"Origin": "http://testserver"}


def sign_in(server: Server, key: str = ADMIN_KEY) -> None:
    response = server.client.post(
        "/login", data={"api_key": key, "next": "/sites"}, headers=ORIGIN, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/sites"


def csrf_of(server: Server, path: str) -> str:
    page = server.client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert match, "the page has no CSRF field"
    return match.group(1)


def data_query(
    server: Server, domain: str, query: dict[str, Any], **extra: Any
) -> tuple[int, dict[str, Any]]:
    response = server.client.post(f"/dashboard/api/{domain}/query", json={"query": query, **extra})
    return response.status_code, response.json()


def test_sign_in_sets_a_session_cookie_only_the_server_can_read(server: Server) -> None:
    response = server.client.post(
        "/login", data={"api_key": ADMIN_KEY}, headers=ORIGIN, follow_redirects=False
    )
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("tt_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert ADMIN_KEY not in cookie and len(token) >= 40
    assert server.client.get("/sites").status_code == 200


def test_a_wrong_key_gets_no_session(server: Server) -> None:
    response = server.client.post(
        "/login", data={"api_key": "tt_wrong"}, headers=ORIGIN, follow_redirects=False
    )
    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert "That API key is not valid." in response.text
    assert server.client.get("/sites", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("path", ["/sites", "/sites/example.com", "/sites/new"])
def test_pages_send_signed_out_users_to_sign_in_and_back(server: Server, path: str) -> None:
    response = server.client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=" + path


def test_sign_in_never_redirects_off_site(server: Server) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = server.client.post(
            "/login",
            data={"api_key": ADMIN_KEY, "next": target},
            headers=ORIGIN,
            follow_redirects=False,
        )
        assert response.headers["location"] == "/sites"


def test_sign_in_from_another_origin_is_refused(server: Server) -> None:
    response = server.client.post(
        "/login",
        data={"api_key": ADMIN_KEY},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_sign_in_through_a_proxy_that_passes_another_host(tmp_path: Path) -> None:
    # nginx's default proxy_pass sends the upstream's name as Host; the browser's Origin is
    # the public URL, which TINYTRAIL_BASE_URL names.
    for server in start_server(tmp_path / "data", TINYTRAIL_BASE_URL="https://stats.example"):
        for origin, status in (("https://stats.example", 303), ("http://stats.example", 403)):
            response = server.client.post(
                "/login",
                data={"api_key": ADMIN_KEY},
                headers={"Origin": origin},
                follow_redirects=False,
            )
            assert response.status_code == status, origin


def test_sign_out_ends_the_session_on_the_server(server: Server) -> None:
    sign_in(server)
    token = server.client.cookies["tt_session"]
    csrf = csrf_of(server, "/sites")
    response = server.client.post(
        "/logout", data={"csrf": csrf}, headers=ORIGIN, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    server.client.cookies.set("tt_session", token)  # a copied cookie must not come back to life
    assert server.client.get("/sites", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_dashboard_sessions(server: Server) -> None:
    account = server.create_account()
    user_id, key = server.create_user(account)
    sign_in(server, key)
    assert server.client.get("/sites").status_code == 200
    deleted = server.client.delete(f"/api/v1/users/{user_id}", headers=server.admin)
    assert deleted.status_code == 200, deleted.text
    assert server.client.get("/sites", follow_redirects=False).status_code == 303


def test_forms_need_the_session_token_and_our_origin(server: Server) -> None:
    sign_in(server)
    csrf = csrf_of(server, "/sites/new")
    bad = [({"csrf": "0" * 32}, ORIGIN), ({"csrf": csrf}, {"Origin": "https://evil.example"})]
    for form, headers in bad:
        response = server.client.post(
            "/sites", data={**form, "domain": "x.example"}, headers=headers
        )
        assert response.status_code == 403
    assert server.runtime.site_config.find_site("x.example") is None


def test_adding_a_site_shows_its_snippet_and_lists_it(server: Server) -> None:
    sign_in(server)
    csrf = csrf_of(server, "/sites/new")
    response = server.client.post(
        "/sites",
        data={"csrf": csrf, "domain": "https://New.Example/", "timezone": "Europe/Tallinn"},
        headers=ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/sites/new.example/snippet"
    snippet = html.unescape(server.client.get("/sites/new.example/snippet").text)
    site = server.runtime.site_config.find_site("new.example")
    assert site is not None and site.timezone == "Europe/Tallinn"
    assert f'data-id="{site.uuid}"' in snippet and "/js/tracker.js" in snippet
    assert "new.example" in server.client.get("/sites").text
    again = server.client.post(
        "/sites", data={"csrf": csrf, "domain": "new.example"}, headers=ORIGIN
    )
    assert again.status_code == 400 and "already taken" in again.text


def test_sites_list_counts_the_last_24_hours(server: Server) -> None:
    key, site = server.tenant("busy.example")
    for ip in ("198.51.100.1", "198.51.100.2"):
        server.collect(site["id"], "/", ip=ip, host="busy.example")
    server.clock.advance(hours=-30)
    server.collect(site["id"], "/", ip="198.51.100.3", host="busy.example")
    server.clock.advance(hours=30)
    server.flush()
    sign_in(server, key)
    listing = server.client.get("/sites").text
    assert re.search(r'class="visitors-24h">2<', listing), listing
    assert "<polyline" in listing


def test_another_accounts_site_is_invisible(server: Server) -> None:
    key_a, _ = server.tenant("a.example")
    _, _ = server.tenant("b.example")
    sign_in(server, key_a)
    assert "b.example" not in server.client.get("/sites").text
    assert server.client.get("/sites/b.example").status_code == 404
    assert server.client.get("/sites/b.example/settings/goals").status_code == 404
    status, body = data_query(server, "b.example", {"metrics": ["visitors"], "date_range": "day"})
    assert status == 404 and "error" in body


def test_data_endpoint_answers_exactly_what_the_stats_api_does(server: Server) -> None:
    key, site = server.tenant("same.example")
    for i, path in enumerate(["/", "/a", "/a", "/b"]):
        server.collect(site["id"], path, ip=f"198.51.100.{i % 3}", host="same.example")
    server.flush()
    query = {
        "metrics": ["visitors", "pageviews", "bounce_rate", "visit_duration"],
        "date_range": "day",
        "dimensions": ["event:page"],
        "filters": [["contains", "event:page", ["/"]]],
        "include": {"total_rows": True},
    }
    api = server.client.post(
        "/api/v2/query",
        json={**query, "site_id": "same.example"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert api.status_code == 200, api.text
    sign_in(server, key)
    status, body = data_query(server, "same.example", query)
    assert status == 200
    assert body == api.json()
    assert [r["dimensions"][0] for r in body["results"]] == ["/a", "/", "/b"]


def test_comparison_is_the_same_query_over_the_previous_period(server: Server) -> None:
    key, site = server.tenant("cmp.example")
    server.collect(site["id"], "/", ip="198.51.100.1", host="cmp.example")
    server.clock.advance(days=1)
    for ip in ("198.51.100.2", "198.51.100.3", "198.51.100.4"):
        server.collect(site["id"], "/", ip=ip, host="cmp.example")
    server.flush()
    sign_in(server, key)
    status, body = data_query(
        server,
        "cmp.example",
        {"metrics": ["visitors"], "date_range": "day"},
        comparison="previous_period",
    )
    assert status == 200, body
    assert body["results"][0]["metrics"] == [3]
    assert body["comparison"]["results"][0]["metrics"] == [1]
    assert body["comparison"]["query"]["date_range"][0].startswith("2026-03-18")


def test_realtime_ranges_count_the_last_minutes(server: Server) -> None:
    key, site = server.tenant("live.example")
    server.collect(site["id"], "/", ip="198.51.100.1", host="live.example")
    server.clock.advance(minutes=10)
    server.collect(site["id"], "/", ip="198.51.100.2", host="live.example")
    server.flush()
    sign_in(server, key)
    for date_range, visitors in (("realtime", 1), ("30m", 2)):
        status, body = data_query(
            server, "live.example", {"metrics": ["visitors"], "date_range": date_range}
        )
        assert status == 200, body
        assert body["results"][0]["metrics"] == [visitors]


def test_bad_dashboard_queries_get_stats_api_errors(server: Server) -> None:
    key, _ = server.tenant("bad.example")
    sign_in(server, key)
    status, body = data_query(server, "bad.example", {"metrics": ["nope"], "date_range": "day"})
    assert status == 400 and "nope" in body["error"]
    response = server.client.post("/dashboard/api/bad.example/query", content=b"{not json")
    assert response.status_code == 400 and response.json() == {
        "error": "Invalid JSON in request body"
    }
    status, body = data_query(
        server, "bad.example", {"metrics": ["visitors"], "date_range": "day"}, comparison="x"
    )
    assert status == 400
    server.client.cookies.clear()
    server.client.cookies.set("tt_session", "forged")
    signed_out = server.client.post(
        "/dashboard/api/bad.example/query",
        json={"query": {"metrics": ["visitors"], "date_range": "day"}},
    )
    assert signed_out.status_code == 401


def shared_link(server: Server, key: str, domain: str, name: str = "Public") -> str:
    response = server.client.put(
        "/api/v1/sites/shared-links",
        json={"site_id": domain, "name": name},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["url"]
    return url.split("?auth=")[1]


def test_a_shared_link_shows_one_site_until_revoked(server: Server) -> None:
    key, site = server.tenant("open.example")
    server.tenant("closed.example")
    server.collect(site["id"], "/", host="open.example")
    server.flush()
    slug = shared_link(server, key, "open.example")
    page = server.client.get(f"/share/open.example?auth={slug}")
    assert page.status_code == 200
    assert "frame-ancestors *" in page.headers["content-security-policy"]
    assert "x-frame-options" not in page.headers and "set-cookie" not in page.headers
    query = {"query": {"metrics": ["visitors"], "date_range": "day"}}
    data = server.client.post(f"/dashboard/api/open.example/query?auth={slug}", json=query)
    assert data.status_code == 200 and data.json()["results"][0]["metrics"] == [1]
    other = server.client.post(f"/dashboard/api/closed.example/query?auth={slug}", json=query)
    assert other.status_code == 404
    assert server.client.get(f"/share/closed.example?auth={slug}").status_code == 404
    revoked = server.client.delete(
        "/api/v1/sites/shared-links/Public?site_id=open.example",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert revoked.status_code == 200, revoked.text
    assert server.client.get(f"/share/open.example?auth={slug}").status_code == 404
    gone = server.client.post(f"/dashboard/api/open.example/query?auth={slug}", json=query)
    assert gone.status_code == 404


def test_private_pages_cannot_be_framed(server: Server) -> None:
    response = server.client.get("/login")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def post_setting(server: Server, domain: str, section: str, **form: Any) -> Any:
    csrf = csrf_of(server, f"/sites/{domain}/settings/{section}")
    return server.client.post(
        f"/sites/{domain}/settings/{section}",
        data={"csrf": csrf, **form},
        headers=ORIGIN,
        follow_redirects=False,
    )


def test_settings_forms_change_the_sites_configuration(server: Server) -> None:
    key, site = server.tenant("conf.example")
    sign_in(server, key)
    config = server.runtime.site_config
    site_id = config.find_site("conf.example").id  # type: ignore[union-attr]
    ok = post_setting(
        server, "conf.example", "goals", action="add", goal_type="event", event_name="Signup"
    )
    assert ok.status_code == 303
    post_setting(server, "conf.example", "goals", action="add", goal_type="page", page_path="/buy")
    goals = config.list_goals(site_id)
    assert [g.display_name for g in goals] == ["Signup", "Visit /buy"]
    bad = post_setting(server, "conf.example", "goals", action="add", goal_type="event")
    assert bad.status_code == 400 and "error" in bad.text
    funnel = post_setting(
        server,
        "conf.example",
        "funnels",
        action="add",
        name="Buy",
        step=[str(goals[0].id), str(goals[1].id)],
    )
    assert funnel.status_code == 303
    assert "Signup → Visit /buy" in server.client.get("/sites/conf.example/settings/funnels").text
    post_setting(server, "conf.example", "properties", action="add", property="plan")
    assert config.list_custom_props(site_id) == ["plan"]
    post_setting(server, "conf.example", "shared-links", action="add", name="Board")
    links_page = server.client.get("/sites/conf.example/settings/shared-links").text
    assert "/share/conf.example?auth=" in links_page
    post_setting(server, "conf.example", "excluded-ips", action="save", ips="10.0.0.0/8\n192.0.2.1")
    post_setting(server, "conf.example", "content-groups", action="save", groups="Blog = /blog/*")
    post_setting(server, "conf.example", "general", action="timezone", timezone="Asia/Tokyo")
    updated = server.runtime.repo.get_site_by_uuid(site["id"])
    assert updated is not None
    assert updated.excluded_ips == ["10.0.0.0/8", "192.0.2.1"]
    assert updated.content_groups == [{"name": "Blog", "pattern": "/blog/*"}]
    assert updated.timezone == "Asia/Tokyo"
    bad_ip = post_setting(server, "conf.example", "excluded-ips", action="save", ips="nope")
    assert bad_ip.status_code == 400
    post_setting(server, "conf.example", "goals", action="delete", goal_id=str(goals[0].id))
    assert [g.display_name for g in config.list_goals(site_id)] == ["Visit /buy"]
    keep = post_setting(server, "conf.example", "general", action="delete", confirm="wrong")
    assert keep.status_code == 400
    gone = post_setting(server, "conf.example", "general", action="delete", confirm="conf.example")
    assert gone.status_code == 303 and config.find_site("conf.example") is None


def test_a_read_only_key_sees_stats_but_cannot_change_settings(server: Server) -> None:
    key, _ = server.tenant("ro.example")
    created = server.client.post(
        "/api/v1/api-keys",
        json={"name": "viewer", "scopes": ["stats:read:*"]},
        headers={"X-API-KEY": key},
    )
    assert created.status_code == 201, created.text
    sign_in(server, created.json()["data"]["key"])
    assert server.client.get("/sites/ro.example").status_code == 200
    refused = post_setting(server, "ro.example", "properties", action="add", property="plan")
    assert refused.status_code == 403
    assert "read-only" in refused.text


def test_static_assets_are_small_cached_and_self_hosted(server: Server) -> None:
    key, _ = server.tenant("assets.example")
    sign_in(server, key)
    page = server.client.get("/sites/assets.example").text
    assets = re.findall(r'"(/dashboard/static/[^"?]+)\?v=[0-9a-f]+"', page)
    assert sorted(assets) == ["/dashboard/static/dashboard.css", "/dashboard/static/dashboard.js"]
    total = 0
    for path in assets:
        response = server.client.get(path, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200
        assert "immutable" in response.headers["cache-control"]
        total += len(gzip.compress(response.content, 9))
    assert 0 < total < 60 * 1024
    assert "http://" not in page.replace("http://testserver", "") and "https://" not in page


def test_a_stored_funnel_is_evaluated_over_the_dashboards_period(server: Server) -> None:
    key, site = server.tenant("funnel.example")
    bearer = {"Authorization": f"Bearer {key}"}
    for goal in (
        {"goal_type": "page", "page_path": "/a"},
        {"goal_type": "event", "event_name": "Signup"},
    ):
        added = server.client.put(
            "/api/v1/sites/goals", json={"site_id": "funnel.example", **goal}, headers=bearer
        )
        assert added.status_code == 200, added.text
    created = server.client.put(
        "/api/v1/sites/funnels",
        json={"site_id": "funnel.example", "name": "Sign up", "steps": ["Visit /a", "Signup"]},
        headers=bearer,
    )
    assert created.status_code == 200, created.text
    funnel_id = created.json()["id"]
    # Visitor 1 completes both steps, visitor 2 only the first, visitor 3 only the second.
    for ip, steps in (
        ("198.51.100.1", ["/a", "Signup"]),
        ("198.51.100.2", ["/a"]),
        ("198.51.100.3", ["Signup"]),
    ):
        for step in steps:
            kind = ("page_view", "/a") if step == "/a" else ("Signup", "/b")
            server.collect(site["id"], kind[1], kind[0], ip=ip, host="funnel.example")
            server.clock.advance(seconds=5)
    server.flush()
    sign_in(server, key)
    response = server.client.post(
        "/dashboard/api/funnel.example/funnel",
        json={"funnel_id": funnel_id, "query": {"date_range": "day"}},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Sign up"
    assert [(s["name"], s["visitors"]) for s in body["steps"]] == [("Visit /a", 2), ("Signup", 1)]
    assert body["conversion_rate"] == 50.0 and body["all_visitors"] == 3
    missing = server.client.post(
        "/dashboard/api/funnel.example/funnel", json={"funnel_id": 999, "query": {}}
    )
    assert missing.status_code == 404


def test_this_month_and_year_compare_with_as_many_days_before_them(server: Server) -> None:
    """Plausible cuts the current period at today before shifting it back (`Comparisons`):
    on 18 March, "this month" (1-18 March) compares with 11-28 February, not all of February;
    "this year" (77 days) with 16 October-31 December 2025."""
    key, site = server.tenant("trim.example")
    now = server.clock.now
    for days_back, ip in ((41, "1"), (26, "2"), (158, "3"), (137, "4"), (0, "5")):
        server.clock.now = now - timedelta(days=days_back)  # 5 Feb, 20 Feb, 11 Oct, 1 Nov, today
        server.collect(site["id"], "/", ip=f"198.51.100.{ip}", host="trim.example")
    server.clock.now = now
    server.flush()
    sign_in(server, key)
    expected = {
        ("month", "previous_period"): (["2026-02-11", "2026-02-28"], 1),
        ("month", "year_over_year"): (["2025-03-01", "2025-03-18"], 0),
        ("year", "previous_period"): (["2025-10-16", "2025-12-31"], 1),
        ("day", "previous_period"): (["2026-03-17", "2026-03-17"], 0),
        ("7d", "previous_period"): (["2026-03-04", "2026-03-10"], 0),
    }
    for (date_range, comparison), (dates, visitors) in expected.items():
        status, body = data_query(
            server,
            "trim.example",
            {"metrics": ["visitors"], "date_range": date_range},
            comparison=comparison,
        )
        assert status == 200, body
        compared = body["comparison"]
        assert [d[:10] for d in compared["query"]["date_range"]] == dates, date_range
        assert compared["results"][0]["metrics"] == [visitors], date_range
    # The current period itself stays whole (the top stats count all of it).
    status, body = data_query(
        server, "trim.example", {"metrics": ["visitors"], "date_range": "month"}
    )
    assert body["query"]["date_range"] == ["2026-03-01T00:00:00Z", "2026-03-31T23:59:59Z"]


def test_the_graph_of_a_current_period_ends_at_the_present(server: Server) -> None:
    """`include.trim_relative_date_range` (Plausible's flag for the main graph): today, this
    month and this year have no future buckets; other ranges keep every bucket."""
    key, site = server.tenant("now.example")
    server.collect(site["id"], "/", ip="198.51.100.1", host="now.example")
    server.flush()
    sign_in(server, key)

    def labels(date_range: str, interval: str, trim: bool = True) -> list[str]:
        include = {"time_labels": True, "trim_relative_date_range": trim}
        query = {
            "metrics": ["visitors"],
            "date_range": date_range,
            "dimensions": [f"time:{interval}"],
            "include": include,
        }
        status, body = data_query(server, "now.example", query, comparison="previous_period")
        assert status == 200, body
        assert body["query"]["include"] == {"time_labels": True}
        found: list[str] = body["meta"]["time_labels"]
        return found

    day = labels("day", "hour")  # the clock says 12:00 UTC
    assert (day[0], day[-1], len(day)) == ("2026-03-18 00:00:00", "2026-03-18 12:00:00", 13)
    assert labels("month", "day")[-1] == "2026-03-18"
    assert labels("year", "month") == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert labels("month", "day", trim=False)[-1] == "2026-03-31"
    assert labels("30d", "day")[-1] == "2026-03-17"
    status, body = data_query(
        server,
        "now.example",
        {
            "metrics": ["visitors"],
            "date_range": "day",
            "dimensions": ["time:hour"],
            "include": {"trim_relative_date_range": True},
        },
    )
    assert status == 200 and body["results"] == [
        {"dimensions": ["2026-03-18 12:00:00"], "metrics": [1]}
    ]
    assert body["query"]["date_range"] == ["2026-03-18T00:00:00Z", "2026-03-18T12:00:00Z"]
