"""`/api/v0/sites` and `/api/v0/me` over HTTP, with GoatCounter's shapes and errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.goatcounter_client import GoatCounter, account, hit
from tests.support import Server


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
    # The Host picks the current site, which is listed first.
    hosted = GoatCounter(server, gc.key, host="stats.blog.example").get("/sites").json()["sites"]
    assert [s["id"] for s in hosted] == [body["id"], first["gc_id"]]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"cname": ["must be set"]}),
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
    assert replaced["link_domain"] == "example.com"


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


def test_me(server: Server) -> None:
    gc, site = account(server)
    body = gc.get("/me").json()
    assert body["user"]["site"] == site["gc_id"]
    assert body["user"]["access"] == {"all": "a"}
    assert body["user"]["email"] == "u@example.com"
    assert body["token"] == {"name": "default", "permissions": 126, "sites": [-1]}
    assert "key" not in body["token"]
