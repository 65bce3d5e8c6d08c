"""Plausible's Sites API over HTTP (plausible-reference.md section 3), plus TinyTrail's funnels.

Every error body is exactly `{"error": msg}`; messages are Plausible's where it has one.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from tests.support import ADMIN_KEY, Server

MakeServer = Callable[..., AbstractContextManager[Server]]

MISSING_KEY = "Missing API key. Please use a valid Plausible API key as a Bearer Token."
INVALID_KEY = (
    "Invalid API key. Please make sure you're using a valid API key with access to the "
    "resource you've requested."
)
NO_SITE = "Site could not be found"
TRACKER_FLAGS = {
    "track_404_pages",
    "hash_based_routing",
    "outbound_links",
    "file_downloads",
    "revenue_tracking",
    "tagged_events",
    "form_submissions",
    "pageview_props",
}


# -- helpers ------------------------------------------------------------------------------------


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Api:
    """One key's view of the Sites API."""

    def __init__(self, server: Server, key: str) -> None:
        self.client, self.key, self.headers = server.client, key, bearer(key)

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1/sites{path}", params=params, headers=self.headers)

    def send(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.request(
            method, f"/api/v1/sites{path}", json=body, headers=self.headers, **kwargs
        )

    def ok(self, response: Any) -> Any:
        assert response.status_code == 200, response.text
        return response.json()

    def goal(self, domain: str, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.ok(self.send("PUT", "/goals", {"site_id": domain, **fields}))
        return result


def error(response: Any, status: int, message: str | None = None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    if message is not None:
        assert body["error"] == message
    return str(body["error"])


def user_key(server: Server, account: str | None = None) -> str:
    account = account or server.create_account()
    return server.create_user(account)[1]


def new_site(api: Api, domain: str, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = api.ok(api.send("POST", "", {"domain": domain, **fields}))
    return result


@pytest.fixture
def api(server: Server) -> Api:
    return Api(server, user_key(server))


@pytest.fixture(autouse=True)
def _no_tracebacks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No response of this module may leak a traceback or a non-JSON body."""
    original = TestClient.request

    def checked(self: TestClient, *args: Any, **kwargs: Any) -> Any:
        response = original(self, *args, **kwargs)
        assert "Traceback" not in response.text, response.text
        assert response.headers["content-type"].startswith("application/json"), response.text
        return response

    monkeypatch.setattr(TestClient, "request", checked)
    yield


# -- authentication, scopes, rate limit ---------------------------------------------------------


def test_missing_and_invalid_keys(server: Server) -> None:
    error(server.client.get("/api/v1/sites"), 401, MISSING_KEY)
    error(server.client.get("/api/v1/sites", headers={"Authorization": "Basic x"}), 401)
    error(server.client.get("/api/v1/sites", headers=bearer("nope")), 401, INVALID_KEY)
    error(server.client.put("/api/v1/sites/goals", headers=bearer("nope")), 401, INVALID_KEY)


def test_x_api_key_header_is_accepted(server: Server) -> None:
    response = server.client.get("/api/v1/sites", headers={"X-API-KEY": ADMIN_KEY})
    assert response.status_code == 200


def test_scoped_key_reads_but_needs_provision_scope_to_write(server: Server, api: Api) -> None:
    new_site(api, "scoped.example")
    principal = server.runtime.repo.authenticate(api.key)
    assert principal is not None
    _, read_only = server.runtime.repo.create_api_key(principal.user_id, "ro", ["stats:read:*"])
    _, provision = server.runtime.repo.create_api_key(principal.user_id, "p", ["sites:provision:*"])
    reader, writer = Api(server, read_only), Api(server, provision)
    assert reader.ok(reader.get("/goals", site_id="scoped.example"))["goals"] == []
    assert reader.ok(reader.get("/scoped.example"))["domain"] == "scoped.example"
    goal = {"site_id": "scoped.example", "goal_type": "event", "event_name": "Signup"}
    error(reader.send("PUT", "/goals", goal), 401, INVALID_KEY)
    error(reader.send("POST", "", {"domain": "other.example"}), 401, INVALID_KEY)
    error(reader.send("DELETE", "/scoped.example"), 401, INVALID_KEY)
    assert writer.goal("scoped.example", goal_type="event", event_name="Signup")["id"]


def test_rate_limit_per_key_per_hour(make_server: MakeServer) -> None:
    env = {"TINYTRAIL_RATE_LIMITS": "on", "TINYTRAIL_RATE_LIMIT_STATS": "3/1h"}
    with make_server(**env) as server:
        first, second = Api(server, user_key(server)), Api(server, ADMIN_KEY)
        for _ in range(3):
            assert first.get("").status_code == 200
        response = first.get("")
        error(
            response,
            429,
            "Too many API requests. Your API key is limited to 3 requests per hour. "
            "Please contact us to request more capacity.",
        )
        assert int(response.headers["Retry-After"]) > 0
        assert second.get("").status_code == 200  # the limit is per key


# -- sites --------------------------------------------------------------------------------------


def test_create_site_returns_site_object_seen_by_tinytrail_api(server: Server, api: Api) -> None:
    site = new_site(api, "https://www.Shop.Example/")
    assert site["domain"] == "shop.example"
    assert site["timezone"] == "Etc/UTC"
    assert site["custom_properties"] == []
    tracker = site["tracker_script_configuration"]
    assert re.fullmatch(r"pa-[0-9a-f]{32}", tracker["id"])
    assert tracker["installation_type"] is None
    assert {k for k, v in tracker.items() if v is False} == TRACKER_FLAGS
    assert api.ok(api.get("/shop.example")) == site  # the id is stable
    websites = server.client.get("/api/v1/websites", headers={"X-API-KEY": api.key})
    assert [w["domain"] for w in websites.json()["data"]] == ["shop.example"]


def test_create_site_with_timezone_and_tracker_options(api: Api) -> None:
    site = new_site(
        api,
        "tz.example",
        timezone="Europe/London",
        tracker_script_configuration={"outbound_links": True, "installation_type": "manual"},
    )
    assert site["timezone"] == "Europe/London"
    assert site["tracker_script_configuration"]["outbound_links"] is True
    assert site["tracker_script_configuration"]["installation_type"] == "manual"


def test_create_site_accepts_form_bodies_like_plausible_curl_examples(api: Api) -> None:
    files = {"domain": (None, "form.example"), "timezone": (None, "Europe/Berlin")}
    response = api.client.post("/api/v1/sites", files=files, headers=api.headers)
    assert api.ok(response)["timezone"] == "Europe/Berlin"
    encoded = api.client.post(
        "/api/v1/sites", data={"domain": "urlencoded.example"}, headers=api.headers
    )
    assert api.ok(encoded)["domain"] == "urlencoded.example"


def test_create_site_errors(server: Server, api: Api) -> None:
    new_site(Api(server, user_key(server)), "taken.example")
    error(api.send("POST", "", {}), 400, "domain: can't be blank")
    error(api.send("POST", "", {"domain": "  "}), 400, "domain: can't be blank")
    assert error(api.send("POST", "", {"domain": "not a domain"}), 400).startswith("domain: ")
    error(api.send("POST", "", {"domain": "taken.example"}), 400, "domain: has already been taken")
    error(
        api.send("POST", "", {"domain": "a.example", "timezone": "Mars/Base"}),
        400,
        "timezone: is invalid",
    )
    bad_tracker = {"domain": "b.example", "tracker_script_configuration": {"outbound_links": 1}}
    error(
        api.send("POST", "", bad_tracker),
        400,
        "tracker_script_configuration.outbound_links: is invalid",
    )
    error(api.send("POST", "", [1]), 400, "The request body must be a JSON object")
    bad_json = api.client.post(
        "/api/v1/sites", content=b"{", headers={**api.headers, "Content-Type": "application/json"}
    )
    error(bad_json, 400, "Invalid JSON in request body")
    assert api.ok(api.get(""))["sites"] == []  # nothing half-created


def test_create_site_in_a_team(server: Server, api: Api) -> None:
    other = server.create_account("Other")
    team = {"domain": "team.example", "team_id": other}
    error(api.send("POST", "", team), 403, "You can't add sites to the selected team.")
    admin = Api(server, ADMIN_KEY)
    assert new_site(admin, **team)["domain"] == "team.example"
    member = Api(server, user_key(server, other))
    assert member.ok(member.get("/team.example"))["domain"] == "team.example"
    error(admin.send("POST", "", {"domain": "x.example", "team_id": "missing"}), 403)


def test_list_sites_is_per_account_and_admins_see_all(server: Server, api: Api) -> None:
    new_site(api, "one.example")
    new_site(api, "two.example")
    stranger = Api(server, user_key(server))
    new_site(stranger, "three.example")
    body = api.ok(api.get(""))
    assert body == {
        "sites": [
            {"domain": "two.example", "timezone": "Etc/UTC"},
            {"domain": "one.example", "timezone": "Etc/UTC"},
        ],
        "meta": {"after": None, "before": None, "limit": 100},
    }
    admin = Api(server, ADMIN_KEY)
    domains = [s["domain"] for s in admin.ok(admin.get(""))["sites"]]
    assert domains == ["three.example", "two.example", "one.example"]
    teams = api.ok(api.get("/teams"))["teams"]
    assert api.ok(api.get("", team_id=teams[0]["id"]))["sites"] == body["sites"]
    other_team = stranger.ok(stranger.get("/teams"))["teams"][0]["id"]
    assert api.ok(api.get("", team_id=other_team))["sites"] == []


def test_list_sites_pagination(api: Api) -> None:
    for n in range(5):
        new_site(api, f"s{n}.example")
    first = api.ok(api.get("", limit=2))
    assert [s["domain"] for s in first["sites"]] == ["s4.example", "s3.example"]
    assert first["meta"]["before"] is None and first["meta"]["limit"] == 2
    second = api.ok(api.get("", limit=2, after=first["meta"]["after"]))
    assert [s["domain"] for s in second["sites"]] == ["s2.example", "s1.example"]
    third = api.ok(api.get("", limit=2, after=second["meta"]["after"]))
    assert [s["domain"] for s in third["sites"]] == ["s0.example"]
    assert third["meta"]["after"] is None
    back = api.ok(api.get("", limit=2, before=third["meta"]["before"]))
    assert back["sites"] == second["sites"]
    assert back["meta"]["after"] == second["meta"]["after"]
    start = api.ok(api.get("", limit=2, before=second["meta"]["before"]))
    assert start["sites"] == first["sites"] and start["meta"]["before"] is None


def test_pagination_limits_and_bad_cursors(api: Api) -> None:
    assert api.ok(api.get("", limit=5000))["meta"]["limit"] == 1000
    assert api.ok(api.get("", limit=0))["meta"]["limit"] == 1
    error(api.get("", limit="ten"), 400, "Parameter `limit` must be an integer")
    error(api.get("", after="%%%"), 400, "Invalid pagination cursor")
    error(api.get("", after="bm90LWFuLWlk"), 400, "Invalid pagination cursor")  # "not-an-id"


def test_teams(server: Server, api: Api) -> None:
    body = api.ok(api.get("/teams"))
    assert body["meta"] == {"after": None, "before": None, "limit": 100}
    [team] = body["teams"]
    assert team["name"] == "Acme" and team["api_available"] is True
    admin = Api(server, ADMIN_KEY)
    assert team in admin.ok(admin.get("/teams"))["teams"]
    assert len(admin.ok(admin.get("/teams"))["teams"]) == 2


def test_get_site_errors_and_cross_account_is_not_found(server: Server, api: Api) -> None:
    new_site(api, "mine.example")
    error(api.get("/nowhere.example"), 404, NO_SITE)
    stranger = Api(server, user_key(server))
    error(stranger.get("/mine.example"), 404, NO_SITE)
    error(stranger.send("PUT", "/mine.example", {"domain": "stolen.example"}), 404, NO_SITE)
    error(stranger.send("DELETE", "/mine.example"), 404, NO_SITE)
    error(stranger.get("/goals", site_id="mine.example"), 404, NO_SITE)
    error(
        stranger.send("PUT", "/custom-props", {"site_id": "mine.example", "property": "x"}),
        404,
        NO_SITE,
    )
    admin = Api(server, ADMIN_KEY)
    assert admin.ok(admin.get("/mine.example"))["domain"] == "mine.example"
    assert api.ok(api.get("/mine.example"))["domain"] == "mine.example"


def test_update_site_domain_keeps_old_domain_as_alias(server: Server, api: Api) -> None:
    new_site(api, "old.example")
    api.goal("old.example", goal_type="event", event_name="Signup")
    updated = api.ok(api.send("PUT", "/old.example", {"domain": "new.example"}))
    assert updated["domain"] == "new.example"
    assert api.ok(api.get("/old.example"))["domain"] == "new.example"
    assert [g["event_name"] for g in api.ok(api.get("/goals", site_id="old.example"))["goals"]] == [
        "Signup"
    ]
    link = api.ok(api.send("PUT", "/shared-links", {"site_id": "old.example", "name": "L"}))
    assert "/share/new.example?auth=" in link["url"]
    assert server.runtime.repo.get_site_by_domain("new.example") is not None
    # The old domain stays reserved for this site, which may take it back.
    error(api.send("POST", "", {"domain": "old.example"}), 400, "domain: has already been taken")
    back = api.ok(api.send("PUT", "/new.example", {"domain": "old.example"}))
    assert back["domain"] == "old.example"
    assert api.ok(api.get("/new.example"))["domain"] == "old.example"


def test_update_site_errors(server: Server, api: Api) -> None:
    new_site(api, "a.example")
    new_site(Api(server, user_key(server)), "b.example")
    error(
        api.send("PUT", "/a.example", {}),
        400,
        "Payload must contain at least one of the parameters 'domain', "
        "'tracker_script_configuration'",
    )
    error(
        api.send("PUT", "/a.example", {"domain": "b.example"}),
        400,
        "domain: has already been taken",
    )
    assert error(api.send("PUT", "/a.example", {"domain": "bad domain"}), 400).startswith(
        "domain: "
    )
    unknown = {"tracker_script_configuration": {"colour": True}}
    error(
        api.send("PUT", "/a.example", unknown),
        400,
        "tracker_script_configuration.colour: is not a setting",
    )
    bad_type = {"tracker_script_configuration": {"installation_type": "ftp"}}
    error(
        api.send("PUT", "/a.example", bad_type),
        400,
        "tracker_script_configuration.installation_type: is invalid",
    )
    assert api.ok(api.get("/a.example"))["domain"] == "a.example"


def test_update_tracker_configuration_is_partial(api: Api) -> None:
    new_site(api, "t.example")
    first = {"tracker_script_configuration": {"file_downloads": True, "installation_type": "gtm"}}
    api.ok(api.send("PUT", "/t.example", first))
    second = {"tracker_script_configuration": {"outbound_links": True}}
    tracker = api.ok(api.send("PUT", "/t.example", second))["tracker_script_configuration"]
    assert tracker["file_downloads"] is True and tracker["outbound_links"] is True
    assert tracker["installation_type"] == "gtm" and tracker["revenue_tracking"] is False
    assert api.ok(api.get("/t.example"))["tracker_script_configuration"] == tracker


def test_delete_site_removes_events_and_configuration(server: Server, api: Api) -> None:
    new_site(api, "gone.example")
    site = server.runtime.repo.get_site_by_domain("gone.example")
    assert site is not None
    assert server.collect(site.uuid, "/", host="gone.example").status_code == 202
    assert len(server.events(f"site_id = {site.id}")) == 1
    api.goal("gone.example", goal_type="page", page_path="/x")
    api.ok(api.send("PUT", "/custom-props", {"site_id": "gone.example", "property": "p"}))
    api.ok(api.send("PUT", "/shared-links", {"site_id": "gone.example", "name": "L"}))
    api.ok(api.send("PUT", "/gone.example", {"domain": "still-gone.example"}))
    assert api.ok(api.send("DELETE", "/gone.example")) == {"deleted": True}
    error(api.get("/still-gone.example"), 404, NO_SITE)
    error(api.get("/gone.example"), 404, NO_SITE)
    assert server.events(f"site_id = {site.id}") == []
    config = server.runtime.site_config
    assert config.list_goals(site.id) == [] and config.list_custom_props(site.id) == []
    assert config.aliases_of(site.id) == [] and config.find_site("gone.example") is None
    # Both domains are free again.
    assert new_site(api, "gone.example")["custom_properties"] == []


# -- shared links -------------------------------------------------------------------------------


def test_shared_link_is_find_or_create(server: Server, api: Api) -> None:
    new_site(api, "share.example")
    body = {"site_id": "share.example", "name": "WordPress"}
    link = api.ok(api.send("PUT", "/shared-links", body))
    assert link["name"] == "WordPress"
    url = urlsplit(link["url"])
    assert (url.scheme, url.netloc, url.path) == ("http", "testserver", "/share/share.example")
    slug = parse_qs(url.query)["auth"][0]
    assert len(slug) >= 20
    assert api.ok(api.send("PUT", "/shared-links", body)) == link
    other = api.ok(api.send("PUT", "/shared-links", {**body, "name": "Other"}))
    assert other["url"] != link["url"]
    found = server.runtime.site_config.shared_link_by_slug(slug)
    assert found is not None and found.name == "WordPress"


def test_shared_link_uses_configured_base_url(make_server: MakeServer) -> None:
    with make_server(TINYTRAIL_BASE_URL="https://stats.example.org/") as server:
        api = Api(server, user_key(server))
        new_site(api, "base.example")
        link = api.ok(api.send("PUT", "/shared-links", {"site_id": "base.example", "name": "n"}))
        assert link["url"].startswith("https://stats.example.org/share/base.example?auth=")


def test_shared_link_errors_list_and_revoke(api: Api) -> None:
    new_site(api, "links.example")
    error(
        api.send("PUT", "/shared-links", {"name": "x"}),
        400,
        "Parameter `site_id` is required to create a shared link",
    )
    error(
        api.send("PUT", "/shared-links", {"site_id": "links.example"}),
        400,
        "Parameter `name` is required to create a shared link",
    )
    error(api.send("PUT", "/shared-links", {"site_id": "no.example", "name": "x"}), 404, NO_SITE)
    first = api.ok(api.send("PUT", "/shared-links", {"site_id": "links.example", "name": "a/b"}))
    listed = api.ok(api.get("/shared-links", site_id="links.example"))
    assert listed["shared_links"] == [first]
    deleted = api.send("DELETE", "/shared-links/a/b", {"site_id": "links.example"})
    assert api.ok(deleted) == {"deleted": True}
    error(
        api.send("DELETE", "/shared-links/a/b", {"site_id": "links.example"}),
        404,
        "Shared link could not be found",
    )
    assert api.ok(api.get("/shared-links", site_id="links.example"))["shared_links"] == []


# -- goals --------------------------------------------------------------------------------------


def test_put_goal_event_and_page(api: Api) -> None:
    new_site(api, "goals.example")
    event = api.goal("goals.example", goal_type="event", event_name=" Signup ")
    assert event == {
        "domain": "goals.example",
        "id": event["id"],
        "display_name": "Signup",
        "goal_type": "event",
        "event_name": "Signup",
        "page_path": None,
        "custom_props": {},
        "currency": None,
    }
    page = api.goal("goals.example", goal_type="page", page_path="register")
    assert (page["display_name"], page["page_path"], page["event_name"]) == (
        "Visit /register",
        "/register",
        None,
    )
    named = api.goal("goals.example", goal_type="page", page_path="/blog/**", display_name="Reads")
    assert named["display_name"] == "Reads" and named["goal_type"] == "page"


def test_put_goal_is_idempotent(api: Api) -> None:
    new_site(api, "idem.example")
    first = api.goal("idem.example", goal_type="event", event_name="Signup")
    again = api.goal("idem.example", goal_type="event", event_name="Signup", display_name="Other")
    assert again == first  # found, not changed
    props = api.goal(
        "idem.example",
        goal_type="event",
        event_name="Signup",
        display_name="Pro",
        custom_props={"plan": "pro"},
    )
    assert props["id"] != first["id"] and props["custom_props"] == {"plan": "pro"}
    assert (
        api.goal(
            "idem.example", goal_type="event", event_name="Signup", custom_props={"plan": "pro"}
        )
        == props
    )
    assert len(api.ok(api.get("/goals", site_id="idem.example"))["goals"]) == 2


def test_revenue_goals(api: Api) -> None:
    new_site(api, "shop.example")
    goal = api.goal("shop.example", goal_type="event", event_name="Purchase", currency="eur")
    assert goal["currency"] == "EUR"
    assert api.goal("shop.example", goal_type="event", event_name="Purchase")["id"] == goal["id"]
    clash = {
        "site_id": "shop.example",
        "goal_type": "event",
        "event_name": "Purchase",
        "currency": "USD",
    }
    error(
        api.send("PUT", "/goals", clash),
        400,
        "event_name: 'Purchase' (with currency: EUR) has already been taken",
    )
    bad = {**clash, "event_name": "Other", "currency": "XYZ"}
    error(api.send("PUT", "/goals", bad), 400, "currency: 'XYZ' is not an ISO 4217 currency code")
    page = {"site_id": "shop.example", "goal_type": "page", "page_path": "/", "currency": "EUR"}
    error(api.send("PUT", "/goals", page), 400, "currency: is only allowed on event goals")


def test_put_goal_errors(api: Api) -> None:
    new_site(api, "g.example")

    def put(**body: Any) -> Any:
        return api.send("PUT", "/goals", body)

    error(
        put(goal_type="event", event_name="x"),
        400,
        "Parameter `site_id` is required to create a goal",
    )
    error(
        put(site_id="g.example", event_name="x"),
        400,
        "Parameter `goal_type` is required to create a goal",
    )
    error(
        put(site_id="g.example", goal_type="click"),
        400,
        "Parameter `goal_type` must be `event` or `page`",
    )
    error(put(site_id="no.example", goal_type="event", event_name="x"), 404, NO_SITE)
    error(
        put(site_id="g.example", goal_type="event"),
        400,
        "Parameter `event_name` is required to create a goal",
    )
    error(
        put(site_id="g.example", goal_type="page"),
        400,
        "Parameter `page_path` is required to create a goal",
    )
    error(
        put(site_id="g.example", goal_type="event", event_name=" "),
        400,
        "event_name: this field is required and cannot be blank",
    )
    error(
        put(site_id="g.example", goal_type="event", event_name="x" * 121),
        400,
        "event_name: should be at most 120 character(s)",
    )
    error(
        put(site_id="g.example", goal_type="event", event_name=5),
        400,
        "event_name: must be a string",
    )
    error(put(site_id="g.example", goal_type="event", event_name="x", custom_props=["a"]), 400)
    error(put(site_id="g.example", goal_type="event", event_name="x", custom_props={"a": 1}), 400)
    api.goal("g.example", goal_type="event", event_name="Taken")
    error(
        put(site_id="g.example", goal_type="page", page_path="/t", display_name="Taken"),
        400,
        "display_name: has already been taken",
    )
    assert len(api.ok(api.get("/goals", site_id="g.example"))["goals"]) == 1


def test_list_goals_newest_first_with_pagination(api: Api) -> None:
    new_site(api, "list.example")
    ids = [api.goal("list.example", goal_type="event", event_name=f"E{n}")["id"] for n in range(3)]
    body = api.ok(api.get("/goals", site_id="list.example"))
    assert [g["id"] for g in body["goals"]] == ids[::-1]
    assert body["meta"] == {"after": None, "before": None, "limit": 100}
    assert set(body["goals"][0]) == {
        "id",
        "display_name",
        "goal_type",
        "event_name",
        "page_path",
        "custom_props",
        "currency",
    }
    first = api.ok(api.get("/goals", site_id="list.example", limit=2))
    assert [g["id"] for g in first["goals"]] == [ids[2], ids[1]]
    rest = api.ok(api.get("/goals", site_id="list.example", limit=2, after=first["meta"]["after"]))
    assert [g["id"] for g in rest["goals"]] == [ids[0]]
    assert rest["meta"]["after"] is None and isinstance(rest["meta"]["before"], str)
    error(api.get("/goals"), 400, "Parameter `site_id` is required to list goals")
    error(api.get("/goals", site_id="does.not.exist"), 404, NO_SITE)


def test_delete_goal(api: Api) -> None:
    new_site(api, "del.example")
    new_site(api, "other.example")
    goal = api.goal("del.example", goal_type="event", event_name="Signup")
    elsewhere = api.goal("other.example", goal_type="event", event_name="Signup")
    path = f"/goals/{goal['id']}"
    error(api.send("DELETE", path), 400, "Parameter `site_id` is required to delete a goal")
    error(
        api.send("DELETE", f"/goals/{elsewhere['id']}", {"site_id": "del.example"}),
        404,
        "Goal could not be found",
    )
    error(
        api.send("DELETE", "/goals/abc", {"site_id": "del.example"}), 404, "Goal could not be found"
    )
    assert api.ok(api.send("DELETE", path, params={"site_id": "del.example"})) == {"deleted": True}
    error(api.send("DELETE", path, {"site_id": "del.example"}), 404, "Goal could not be found")
    assert api.ok(api.get("/goals", site_id="del.example"))["goals"] == []
    other = api.ok(api.get("/goals", site_id="other.example"))["goals"]
    assert [g["id"] for g in other] == [elsewhere["id"]]  # a goal of another site is untouched


def test_goals_reach_the_query_engine(server: Server, api: Api) -> None:
    new_site(api, "engine.example")
    api.goal(
        "engine.example",
        goal_type="event",
        event_name="Buy",
        currency="USD",
        custom_props={"b": "2", "a": "1"},
    )
    api.goal("engine.example", goal_type="page", page_path="/docs/*")
    site = server.runtime.repo.get_site_by_domain("engine.example")
    assert site is not None
    buy, docs = server.runtime.site_config.goals_for_query(site.id)
    assert (buy.display_name, buy.event_name, buy.page_path, buy.currency) == (
        "Buy",
        "Buy",
        "",
        "USD",
    )
    assert buy.custom_props == (("a", "1"), ("b", "2"))
    assert (docs.display_name, docs.page_path, docs.event_name, docs.scroll_threshold) == (
        "Visit /docs/*",
        "/docs/*",
        "",
        -1,
    )
    assert server.runtime.site_context(site.id).goals == (buy, docs)


# -- custom properties --------------------------------------------------------------------------


def test_custom_props(api: Api) -> None:
    new_site(api, "props.example")
    body = {"site_id": "props.example", "property": "author"}
    assert api.ok(api.send("PUT", "/custom-props", body)) == {"created": True}
    assert api.ok(api.send("PUT", "/custom-props", body)) == {"created": True}
    api.ok(api.send("PUT", "/custom-props", {**body, "property": "a/b"}))
    listed = api.ok(api.get("/custom-props", site_id="props.example"))
    assert listed == {"custom_properties": [{"property": "author"}, {"property": "a/b"}]}
    assert api.ok(api.get("/props.example"))["custom_properties"] == ["author", "a/b"]
    deleted = api.send("DELETE", "/custom-props/a/b", {"site_id": "props.example"})
    assert api.ok(deleted) == {"deleted": True}
    assert api.ok(api.send("DELETE", "/custom-props/none", {"site_id": "props.example"})) == {
        "deleted": True
    }
    assert api.ok(api.get("/props.example"))["custom_properties"] == ["author"]


def test_custom_prop_errors(server: Server, api: Api) -> None:
    new_site(api, "p.example")
    error(
        api.get("/custom-props"), 400, "Parameter `site_id` is required to list custom properties"
    )
    error(
        api.send("PUT", "/custom-props", {"property": "x"}),
        400,
        "Parameter `site_id` is required to create a custom property",
    )
    error(
        api.send("PUT", "/custom-props", {"site_id": "p.example"}),
        400,
        "Parameter `property` is required to create a custom property",
    )
    error(
        api.send("PUT", "/custom-props", {"site_id": "p.example", "property": "x" * 301}),
        400,
        "Parameter `property` is too long",
    )
    error(
        api.send("DELETE", "/custom-props/x"),
        400,
        "Parameter `site_id` is required to delete a custom property",
    )
    site = server.runtime.repo.get_site_by_domain("p.example")
    assert site is not None
    for n in range(300):
        server.runtime.site_config.add_custom_prop(site.id, f"prop{n}")
    full = {"site_id": "p.example", "property": "one-more"}
    error(api.send("PUT", "/custom-props", full), 400, "Can't add any more custom properties")
    assert api.ok(api.send("PUT", "/custom-props", {**full, "property": "prop7"})) == {
        "created": True
    }


# -- funnels ------------------------------------------------------------------------------------


def test_funnels(api: Api) -> None:
    new_site(api, "f.example")
    visit = api.goal("f.example", goal_type="page", page_path="/pricing")
    signup = api.goal("f.example", goal_type="event", event_name="Signup")
    buy = api.goal("f.example", goal_type="event", event_name="Buy")
    body = {
        "site_id": "f.example",
        "name": "Checkout",
        "steps": ["Visit /pricing", signup["id"], "Buy"],
    }
    funnel = api.ok(api.send("PUT", "/funnels", body))
    assert funnel == {
        "id": funnel["id"],
        "name": "Checkout",
        "steps": [
            {"goal_id": visit["id"], "display_name": "Visit /pricing"},
            {"goal_id": signup["id"], "display_name": "Signup"},
            {"goal_id": buy["id"], "display_name": "Buy"},
        ],
    }
    listed = api.ok(api.get("/funnels", site_id="f.example"))
    assert listed == {"funnels": [funnel], "meta": {"after": None, "before": None, "limit": 100}}
    # PUT on an existing name gives it the new steps.
    shorter = api.ok(api.send("PUT", "/funnels", {**body, "steps": ["Signup", "Buy"]}))
    assert shorter["id"] == funnel["id"] and len(shorter["steps"]) == 2
    # Deleting a goal removes its step; a funnel left with one step goes.
    api.ok(api.send("DELETE", f"/goals/{buy['id']}", {"site_id": "f.example"}))
    assert api.ok(api.get("/funnels", site_id="f.example"))["funnels"] == []
    again = api.ok(api.send("PUT", "/funnels", body | {"steps": ["Visit /pricing", "Signup"]}))
    path = f"/funnels/{again['id']}"
    assert api.ok(api.send("DELETE", path, {"site_id": "f.example"})) == {"deleted": True}
    error(api.send("DELETE", path, {"site_id": "f.example"}), 404, "Funnel could not be found")


def test_funnel_steps_shrink_when_a_goal_goes(api: Api) -> None:
    new_site(api, "shrink.example")
    goals = [api.goal("shrink.example", goal_type="event", event_name=f"S{n}") for n in range(3)]
    body = {"site_id": "shrink.example", "name": "F", "steps": [g["id"] for g in goals]}
    api.ok(api.send("PUT", "/funnels", body))
    api.ok(api.send("DELETE", f"/goals/{goals[1]['id']}", {"site_id": "shrink.example"}))
    [funnel] = api.ok(api.get("/funnels", site_id="shrink.example"))["funnels"]
    assert [s["display_name"] for s in funnel["steps"]] == ["S0", "S2"]


def test_funnel_errors(api: Api) -> None:
    new_site(api, "fe.example")
    api.goal("fe.example", goal_type="event", event_name="A")
    api.goal("fe.example", goal_type="event", event_name="B")

    def put(**body: Any) -> Any:
        return api.send("PUT", "/funnels", body)

    error(
        put(name="F", steps=["A", "B"]), 400, "Parameter `site_id` is required to create a funnel"
    )
    error(
        put(site_id="fe.example", steps=["A", "B"]),
        400,
        "Parameter `name` is required to create a funnel",
    )
    error(
        put(site_id="fe.example", name="F"), 400, "Parameter `steps` is required to create a funnel"
    )
    error(
        put(site_id="fe.example", name="F", steps="A,B"),
        400,
        "steps: must be a list of goal ids or goal display names",
    )
    error(put(site_id="fe.example", name="F", steps=[True, "B"]), 400)
    error(
        put(site_id="fe.example", name="F", steps=["A"]),
        400,
        "steps: a funnel has 2 to 8 steps, got 1",
    )
    error(
        put(site_id="fe.example", name="F", steps=["A"] * 9),
        400,
        "steps: a funnel has 2 to 8 steps, got 9",
    )
    error(
        put(site_id="fe.example", name="F", steps=["A", "C"]),
        400,
        "steps: goal 'C' could not be found",
    )
    error(
        put(site_id="fe.example", name="F", steps=["A", "A"]),
        400,
        "steps: goal 'A' appears more than once",
    )
    error(api.get("/funnels"), 400, "Parameter `site_id` is required to list funnels")
    error(
        api.send("DELETE", "/funnels/x", {"site_id": "fe.example"}),
        404,
        "Funnel could not be found",
    )


def test_funnel_steps_from_a_form_body(api: Api) -> None:
    new_site(api, "form.example")
    api.goal("form.example", goal_type="event", event_name="A")
    api.goal("form.example", goal_type="event", event_name="B")
    form = {"site_id": "form.example", "name": "F", "steps[]": ["A", "B"]}
    response = api.client.put("/api/v1/sites/funnels", data=form, headers=api.headers)
    assert [s["display_name"] for s in api.ok(response)["steps"]] == ["A", "B"]


# -- guests -------------------------------------------------------------------------------------


def test_guests_are_not_supported_but_answer_plausibly(api: Api) -> None:
    new_site(api, "guests.example")
    body = api.ok(api.get("/guests", site_id="guests.example"))
    assert body == {"guests": [], "meta": {"after": None, "before": None, "limit": 100}}
    invite = {"site_id": "guests.example", "email": "a@example.com"}
    error(
        api.send("PUT", "/guests", {**invite, "role": "owner"}),
        400,
        "Parameter `role` is required to create guest. Possible values: `viewer` or `editor`",
    )
    assert "not supported" in error(api.send("PUT", "/guests", {**invite, "role": "viewer"}), 400)
    assert api.ok(api.send("DELETE", "/guests/a@example.com", {"site_id": "guests.example"})) == {
        "deleted": True
    }
    error(api.get("/guests", site_id="no.example"), 404, NO_SITE)


# -- request bodies -----------------------------------------------------------------------------


def test_form_bodies_for_writes_and_deletes(api: Api) -> None:
    new_site(api, "forms.example")
    form = {"site_id": "forms.example", "goal_type": "event", "event_name": "Signup"}
    goal = api.ok(api.client.put("/api/v1/sites/goals", data=form, headers=api.headers))
    assert goal["display_name"] == "Signup"
    response = api.client.request(
        "DELETE",
        f"/api/v1/sites/goals/{goal['id']}",
        files={"site_id": (None, "forms.example")},
        headers=api.headers,
    )
    assert api.ok(response) == {"deleted": True}


def test_bad_bodies(api: Api) -> None:
    headers = {**api.headers, "Content-Type": "multipart/form-data; boundary=x"}
    nameless = b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--\r\n"
    broken = api.client.post("/api/v1/sites", content=nameless, headers=headers)
    assert error(broken, 400).startswith("Malformed form body")
    upload = api.client.post(
        "/api/v1/sites", files={"domain": ("f.txt", b"x")}, headers=api.headers
    )
    assert error(upload, 400).startswith("Malformed form body")  # no file uploads here
    huge = {"domain": "big.example", "padding": "x" * 70_000}
    error(api.send("POST", "", huge), 413, "Request body is too large")


def test_domain_change_cannot_take_another_sites_old_domain(server: Server, api: Api) -> None:
    new_site(api, "first.example")
    calls: list[bool] = []
    server.runtime.site_config.on_aliases_changed.append(lambda: calls.append(True))
    api.ok(api.send("PUT", "/first.example", {"domain": "first-renamed.example"}))
    assert calls == [True]  # caches that resolve domains hear of the alias
    new_site(api, "second.example")
    taken = api.send("PUT", "/second.example", {"domain": "first.example"})
    error(taken, 400, "domain: has already been taken")
    site = server.runtime.repo.get_site_by_domain("first-renamed.example")
    assert site is not None
    assert server.runtime.site_config.aliases_of(site.id) == ["first.example"]
    assert server.runtime.site_config.alias_owner("first.example") == site.id
    assert server.runtime.site_config.alias_owner("second.example") is None
    assert server.runtime.site_config.all_aliases() == {"first.example": site.id}
