"""`/api/v0/sites` and `/api/v0/me` over HTTP, with GoatCounter's shapes and errors."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.goatcounter_client import GoatCounter, account, hit
from tests.support import Clock, Server

MakeServer = Callable[..., AbstractContextManager[Server]]


@pytest.fixture
def gc(server: Server) -> GoatCounter:
    return account(server)[0]


def test_a_site_in_goatcounters_shape(server: Server) -> None:
    gc, site = account(server)
    gc.count(hit("/"))
    server.flush()
    body = gc.get(f"/sites/{site['gc_id']}").json()
    assert body["id"] == site["gc_id"]
    assert body["parent"] is None
    assert body["cname"] == body["link_domain"] == "example.com"
    assert body["code"].startswith("serve-")
    assert body["setttings"]["public"] == "private"
    assert body["setttings"]["ignore_ips"] == ""
    assert body["setttings"]["collect_regions"] == "US,RU,CN"
    assert body["user_defaults"]["timezone"] == ".Etc/UTC"
    assert body["received_data"] is True
    assert body["state"] == "a"
    assert body["created_at"].endswith("Z")


def test_create_list_and_parent(server: Server) -> None:
    gc, first = account(server)
    created = gc.send(
        "PUT",
        "/sites",
        {
            "id": 999,  # read-only: ignored
            "cname": "stats.blog.example",
            "link_domain": "https://blog.example/",
            "setttings": {"public": "public", "ignore_ips": "192.0.2.1, 192.0.2.2"},
            "user_defaults": {"timezone": "NL.Europe/Amsterdam"},
        },
    )
    assert created.status_code == 200, created.text
    body = created.json()
    assert body["id"] != 999
    assert body["parent"] == first["gc_id"]
    assert (body["cname"], body["link_domain"]) == ("stats.blog.example", "https://blog.example")
    assert body["setttings"]["ignore_ips"] == "192.0.2.1,192.0.2.2"
    assert body["user_defaults"]["timezone"] == "NL.Europe/Amsterdam"
    websites = server.client.get("/api/v1/websites", headers={"X-API-KEY": gc.key}).json()["data"]
    made = next(w for w in websites if w["domain"] == "blog.example")
    assert made["excludedIps"] == ["192.0.2.1", "192.0.2.2"]
    assert made["timezone"] == "Europe/Amsterdam"
    listed = gc.get("/sites").json()["sites"]
    assert [s["id"] for s in listed] == [first["gc_id"], body["id"]]
    # The Host picks the current site; a child site has no children of its own.
    hosted = GoatCounter(server, gc.key, host="stats.blog.example").get("/sites").json()["sites"]
    assert [s["id"] for s in hosted] == [body["id"]]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"cname": ["must be set"]}),
        # Self-hosted GoatCounter requires the cname, whatever else is sent.
        ({"link_domain": "nocname.org"}, {"cname": ["must be set"]}),
        ({"code": "nocname"}, {"cname": ["must be set"]}),
        ({"cname": "x"}, {"cname": ["must be between 4 and 255 characters"]}),
        ({"cname": "no_dots"}, {"cname": ["must be a valid domain"]}),
        (
            {"cname": "a.example", "setttings": {"public": "maybe"}},
            {"settings.public": ["must be one of \u2018private, secret, public\u2019"]},
        ),
        (
            {"cname": "a.example", "setttings": {"public": "secret", "secret": "short"}},
            {"settings.secret": ["must be between 8 and 40 alphanumeric characters"]},
        ),
        (
            {"cname": "a.example", "setttings": {"data_retention": 5}},
            {"settings.data_retention": ["must be 0 or between 31 and 1825"]},
        ),
        (
            {"cname": "a.example", "setttings": {"ignore_ips": "not-an-ip"}},
            {"settings.ignore_ips": ["not a valid IP address: not-an-ip"]},
        ),
        (
            {"cname": "a.example", "user_defaults": {"timezone": "Mars/Base"}},
            {"user_defaults.timezone": ["unknown timezone: Mars/Base"]},
        ),
    ],
)
def test_create_validation(gc: GoatCounter, body: dict[str, Any], errors: dict[str, Any]) -> None:
    response = gc.send("PUT", "/sites", body)
    assert response.status_code == 400
    assert response.json() == {"errors": errors}


def test_create_conflicts_and_unknown_keys(gc: GoatCounter) -> None:
    assert gc.send("PUT", "/sites", {"cname": "one.example"}).status_code == 200
    taken = gc.send("PUT", "/sites", {"cname": "one.example"})
    assert taken.json() == {"errors": {"cname": ["already exists"]}}
    domain = gc.send("PUT", "/sites", {"cname": "two.example", "link_domain": "example.com"})
    assert domain.json() == {"error": "this site already exists: code or domain must be unique"}
    coded = gc.send("PUT", "/sites", {"cname": "four.example", "code": "four"})
    assert coded.status_code == 200
    same_code = gc.send("PUT", "/sites", {"cname": "five.example", "code": "four"})
    assert (same_code.status_code, same_code.json()) == (
        400,
        {"errors": {"code": ["already exists"]}},
    )
    unknown = gc.send("PUT", "/sites", {"cname": "three.example", "plan": "pro"})
    assert unknown.json() == {"error": 'unknown parameter: "plan"'}
    wrong_type = gc.send("PUT", "/sites", {"cname": "three.example", "setttings": {"collect": "x"}})
    assert wrong_type.json()["error"].startswith("invalid JSON: json: cannot unmarshal string")


def test_patch_changes_only_what_is_sent(server: Server) -> None:
    gc, site = account(server)
    path = f"/sites/{site['gc_id']}"
    gc.send("PATCH", path, {"settings": {"public": "public", "collect_regions": ["US", "CA"]}})
    unchanged = gc.send("PATCH", path, {})
    assert unchanged.status_code == 200
    settings = unchanged.json()["setttings"]
    assert (settings["public"], settings["collect_regions"]) == ("public", "US,CA")
    ips = gc.send("PATCH", path, {"settings": {"ignore_ips": ["198.51.100.7"]}}).json()
    assert ips["setttings"]["ignore_ips"] == "198.51.100.7"
    assert ips["setttings"]["public"] == "public"
    assert server.runtime.sites.by_id(site["gc_id"]).is_excluded("198.51.100.7")  # type: ignore[union-attr]


def test_post_replaces_everything(server: Server) -> None:
    gc, site = account(server)
    path = f"/sites/{site['gc_id']}"
    gc.send("PATCH", path, {"settings": {"public": "public", "ignore_ips": "192.0.2.9"}})
    missing = gc.send("POST", path, {"settings": {}})
    assert missing.json() == {"errors": {"cname": ["must be set"]}}
    replaced = gc.send("POST", path, {"cname": "stats.example.com"}).json()
    assert replaced["setttings"]["public"] == "private"
    assert replaced["setttings"]["ignore_ips"] == ""
    assert replaced["cname"] == "stats.example.com"
    assert replaced["link_domain"] == ""  # omitted: emptied, as upstream
    assert gc.get(path).json()["link_domain"] == ""
    # The site keeps its domain: collectors still find it, and link_domain can be set again.
    assert server.runtime.sites.by_domain("example.com").id == site["gc_id"]  # type: ignore[union-attr]
    again = gc.send("PATCH", path, {"link_domain": "example.com"}).json()
    assert again["link_domain"] == "example.com"


def test_put_without_link_domain_leaves_it_empty(gc: GoatCounter) -> None:
    created = gc.send("PUT", "/sites", {"cname": "stats.plain.example"}).json()
    assert (created["cname"], created["link_domain"]) == ("stats.plain.example", "")


def test_link_domain_renames_the_site_and_the_old_domain_keeps_working(server: Server) -> None:
    gc, site = account(server)
    renamed = gc.send("PATCH", f"/sites/{site['gc_id']}", {"link_domain": "renamed.example"})
    assert renamed.json()["link_domain"] == "renamed.example"
    assert server.runtime.sites.by_domain("example.com").id == site["gc_id"]  # type: ignore[union-attr]


def test_update_errors(server: Server) -> None:
    gc, site = account(server)
    other, theirs = account(server, "theirs.example")
    assert gc.send("PATCH", f"/sites/{theirs['gc_id']}", {}).status_code == 404
    assert gc.send("PATCH", "/sites/abc", {}).json() == {"errors": {"id": ["must be a number"]}}
    assert gc.get("/sites/abc").status_code == 400
    assert gc.send("POST", f"/sites/{site['gc_id']}", {"setttings": {}}).json() == {
        "error": 'unknown parameter: "setttings"'
    }
    other.send("PATCH", f"/sites/{theirs['gc_id']}", {"cname": "taken.example"})
    conflict = gc.send("PATCH", f"/sites/{site['gc_id']}", {"cname": "taken.example"})
    assert conflict.json() == {"errors": {"cname": ["already exists"]}}


def test_cname_is_unique_against_the_domain_shown_as_cname(server: Server) -> None:
    gc, first = account(server)  # example.com, no cname of its own: its cname shows example.com
    other, theirs = account(server, "theirs.example")
    second = gc.send("PUT", "/sites", {"cname": "stats.other.org", "link_domain": "other.org"})
    path = f"/sites/{second.json()['id']}"
    taken = {"errors": {"cname": ["already exists"]}}
    assert gc.send("PATCH", path, {"cname": "example.com"}).json() == taken
    assert gc.send("POST", path, {"cname": "example.com"}).json() == taken
    assert gc.send("PUT", "/sites", {"cname": "example.com"}).json() == taken
    # Uniqueness is server-wide, as upstream's: another account's site counts too.
    assert gc.send("PATCH", path, {"cname": "theirs.example"}).json() == taken
    assert gc.get(path).json()["cname"] == "stats.other.org"
    # A site may take its own domain as cname.
    own = gc.send("PATCH", f"/sites/{first['gc_id']}", {"cname": "example.com"})
    assert own.status_code == 200
    assert own.json()["cname"] == "example.com"
    assert gc.send("PATCH", path, {"cname": "example.com"}).json() == taken
    # Once that site shows a cname of its own, its domain is nobody's cname.
    other.send("PATCH", f"/sites/{theirs['gc_id']}", {"cname": "stats.theirs.example"})
    assert gc.send("PATCH", path, {"cname": "theirs.example"}).json()["cname"] == "theirs.example"


def test_children_are_listed_by_code_after_the_current_site(gc: GoatCounter) -> None:
    ids = {}
    for code in ("zeta", "alpha", "mid"):
        created = gc.send("PUT", "/sites", {"cname": f"{code}.example", "code": code})
        assert created.status_code == 200, created.text
        ids[code] = created.json()["id"]
    listed = gc.get("/sites").json()["sites"]
    assert [s["code"] for s in listed[1:]] == ["alpha", "mid", "zeta"]
    assert [s["id"] for s in listed[1:]] == [ids["alpha"], ids["mid"], ids["zeta"]]
    assert listed[0]["parent"] is None
    assert {s["parent"] for s in listed[1:]} == {listed[0]["id"]}


def test_a_child_sites_host_sees_only_that_site(server: Server) -> None:
    gc, first = account(server)
    parent = first["gc_id"]
    one = gc.send("PUT", "/sites", {"cname": "stats.other.org", "link_domain": "other.org"})
    two = gc.send("PUT", "/sites", {"cname": "stats2.other.org", "link_domain": "other2.org"})
    child, sibling = two.json()["id"], one.json()["id"]
    hosted = GoatCounter(server, gc.key, host="stats2.other.org")
    assert [s["id"] for s in hosted.get("/sites").json()["sites"]] == [child]
    assert hosted.get(f"/sites/{child}").status_code == 200
    for other in (parent, sibling):
        assert hosted.get(f"/sites/{other}").json() == {"error": "not found"}
        assert hosted.send("PATCH", f"/sites/{other}", {}).status_code == 404
        assert hosted.send("POST", f"/sites/{other}", {"cname": "x.other.org"}).status_code == 404
    assert hosted.send("PATCH", f"/sites/{child}", {}).status_code == 200
    # The parent's Host (or none naming a site) shows the parent and every child.
    for host in ("example.com", None):
        view = GoatCounter(server, gc.key, host=host)
        assert {s["id"] for s in view.get("/sites").json()["sites"]} == {parent, sibling, child}
        assert view.get(f"/sites/{child}").status_code == 200
    # Another account's child Host shows this key nothing of theirs: its own parent's view.
    theirs, _ = account(server, "theirs.example")
    theirs.send("PUT", "/sites", {"cname": "stats.theirs.example"})
    foreign = GoatCounter(server, gc.key, host="stats.theirs.example")
    assert {s["id"] for s in foreign.get("/sites").json()["sites"]} == {parent, sibling, child}


def test_an_accounts_first_site_is_its_top_site(server: Server) -> None:
    _, key = server.create_user(server.create_account("No sites yet"))
    gc = GoatCounter(server, key)
    assert gc.get("/sites").json() == {"sites": []}
    assert gc.get("/me").json()["user"]["site"] is None  # no site to name yet
    first = gc.send("PUT", "/sites", {"cname": "first.example"}).json()
    assert first["parent"] is None
    assert gc.get("/me").json()["user"]["site"] == first["id"]
    second = gc.send("PUT", "/sites", {"cname": "second.example"}).json()
    assert second["parent"] == first["id"]
    assert gc.get("/me").json()["user"]["site"] == first["id"]


def test_first_hit_at_is_twelve_hours_before_an_earlier_hit(server: Server) -> None:
    gc, site = account(server)
    path = f"/sites/{site['gc_id']}"
    before = gc.get(path).json()
    assert before["first_hit_at"] == before["created_at"]  # no hits yet
    day = server.clock.now - timedelta(days=2)
    oldest = day.replace(hour=15, minute=24, second=54)
    gc.count(hit("/b", at=oldest + timedelta(hours=3)), hit("/a", at=oldest))
    gc.count(hit("/c", at=oldest + timedelta(days=1)))
    server.flush()
    body = gc.get(path).json()
    assert body["first_hit_at"] == "2026-03-16T03:24:54Z"
    assert body["first_hit_at"] == (oldest - timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert gc.get("/sites").json()["sites"][0]["first_hit_at"] == body["first_hit_at"]


def test_first_hit_at_looks_at_utc_days_whatever_the_sites_timezone(server: Server) -> None:
    key, made = server.tenant("example.com", timezone="America/Los_Angeles")
    gc, site_id = GoatCounter(server, key), server.runtime.sites.by_uuid(made["id"]).id  # type: ignore[union-attr]
    at = (server.clock.now - timedelta(days=2)).replace(hour=2, minute=30, second=0)
    gc.count(hit("/late", at=at + timedelta(hours=20)), hit("/early", at=at))
    server.flush()
    body = gc.get(f"/sites/{site_id}").json()
    assert body["user_defaults"]["timezone"].endswith(".America/Los_Angeles")
    assert body["first_hit_at"] == (at - timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_first_hit_at_stays_at_creation_when_no_hit_predates_it(make_server: MakeServer) -> None:
    # The clock runs ahead of the wall clock the site's creation time is taken from.
    with make_server(Clock(datetime(2099, 6, 1, 12, 0, tzinfo=UTC))) as server:
        gc, site = account(server)
        gc.count(hit("/", at=server.clock.now - timedelta(hours=1)))
        server.flush()
        body = gc.get(f"/sites/{site['gc_id']}").json()
        assert body["received_data"] is True
        assert body["first_hit_at"] == body["created_at"]


def test_me(server: Server) -> None:
    gc, site = account(server)
    body = gc.get("/me").json()
    assert body["user"]["site"] == site["gc_id"]
    assert body["user"]["access"] == {"all": "a"}
    assert body["user"]["email"] == "u@example.com"
    assert body["token"] == {"name": "default", "permissions": 126, "sites": [-1]}
    assert "key" not in body["token"]
