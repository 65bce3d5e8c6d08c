"""GoatCounter auth, permissions, rate limits and routing over HTTP; scoped API key management."""

from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from tests.api.goatcounter_client import GoatCounter, account, hit
from tests.support import ADMIN_KEY, Server

MakeServer = Callable[..., AbstractContextManager[Server]]
REALM = "Basic realm=GoatCounter"


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def new_key(server: Server, key: str, scopes: list[str] | None = None, name: str = "k") -> Any:
    body: dict[str, Any] = {"name": name}
    if scopes is not None:
        body["scopes"] = scopes
    return server.client.post("/api/v1/api-keys", json=body, headers={"X-API-KEY": key})


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "no Authorization header"),
        ("bearer {key}", "wrong format for Authorization header"),
        ("Bearer {key} extra", "wrong format for Authorization header"),
        ("Token {key}", "wrong format for Authorization header"),
        ("Basic !!!not-base64", "wrong format for Authorization header"),
        ("Bearer tt_unknown", "unknown token"),
        ("basic:no-colon", "unknown token"),
    ],
)
def test_auth_errors_have_goatcounters_body_and_header(
    server: Server, authorization: str | None, message: str
) -> None:
    gc, _ = account(server)
    headers = {}
    if authorization == "basic:no-colon":
        headers["Authorization"] = basic(gc.key)
    elif authorization is not None:
        headers["Authorization"] = authorization.format(key=gc.key)
    response = server.client.get("/api/v0/me", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": message}
    assert response.headers["WWW-Authenticate"] == REALM


@pytest.mark.parametrize("form", ["bearer", "basic", "basic-user", "x-api-key"])
def test_token_forms_that_work(server: Server, form: str) -> None:
    gc, _ = account(server)
    headers = {
        "bearer": {"Authorization": f"Bearer {gc.key}"},
        "basic": {"Authorization": basic(f":{gc.key}")},
        "basic-user": {"Authorization": basic(f"anyone:{gc.key}")},
        "x-api-key": {"X-API-KEY": gc.key},
    }[form]
    response = server.client.get("/api/v0/me", headers=headers)
    assert response.status_code == 200
    assert response.json()["token"]["permissions"] == 126


def test_a_key_reaches_only_its_own_accounts_sites(server: Server) -> None:
    mine, _ = account(server, "mine.example")
    _, their_site = account(server, "theirs.example")
    response = mine.get(f"/sites/{their_site['gc_id']}")
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}
    assert [s["link_domain"] for s in mine.get("/sites").json()["sites"]] == ["mine.example"]
    # A Host naming another account's site does not reach it either: the key's own site is used.
    GoatCounter(server, mine.key, host="theirs.example").count(hit("/x"))
    assert {e["site_id"] for e in server.events()} != {their_site["gc_id"]}


@pytest.mark.parametrize(
    ("scopes", "method", "path", "body", "needed"),
    [
        (["stats"], "POST", "/count", {"hits": [hit("/")]}, "count"),
        (["count"], "POST", "/export", {}, "export"),
        (["count"], "GET", "/sites", None, "site-read"),
        (["site_read"], "PUT", "/sites", {"cname": "new.example"}, "site-create"),
        (["site_read"], "PATCH", "/sites/{site}", {}, "site-update"),
        (["count"], "GET", "/paths", None, "stats"),
        (["stats:read:*"], "GET", "/stats/total", None, "stats"),
        (["sites:provision:*"], "POST", "/count", {"hits": [hit("/")]}, "count"),
    ],
)
def test_scoped_keys_outside_their_scopes_get_403(
    server: Server,
    scopes: list[str],
    method: str,
    path: str,
    body: Any,
    needed: str,
) -> None:
    gc, site = account(server)
    scoped = GoatCounter(server, new_key(server, gc.key, scopes).json()["data"]["key"])
    response = scoped.send(method, path.format(site=site["gc_id"]), body)
    assert response.status_code == 403
    assert response.json() == {"error": f"requires '{needed}' permissions"}


def test_scoped_keys_inside_their_scopes_work(server: Server) -> None:
    gc, _ = account(server)
    scoped = GoatCounter(
        server, new_key(server, gc.key, ["count", "site_read"]).json()["data"]["key"]
    )
    assert scoped.count(hit("/")).status_code == 202
    assert scoped.get("/sites").status_code == 200
    assert scoped.get("/me").json()["token"] == {"name": "k", "permissions": 10, "sites": [-1]}


def test_rate_limit_headers_and_429(make_server: MakeServer) -> None:
    env = {"TINYTRAIL_RATE_LIMITS": "on", "TINYTRAIL_RATE_LIMIT_GOATCOUNTER": "2/60s"}
    with make_server(**env) as server:
        gc, _ = account(server)
        first, second, third = (gc.get("/me") for _ in range(3))
        assert first.headers["X-Rate-Limit-Limit"] == "2"
        assert first.headers["X-Rate-Limit-Remaining"] == "1"
        assert second.headers["X-Rate-Limit-Remaining"] == "0"
        assert 0 < int(first.headers["X-Rate-Limit-Reset"]) <= 60
        assert third.status_code == 429
        assert third.json()["error"].startswith("rate limited exceeded; try again in ")
        assert third.json()["error"].endswith("s")
        assert third.headers["Retry-After"] == third.headers["X-Rate-Limit-Reset"]
        # Counting has a budget of its own, so a busy collector does not starve the stats.
        assert gc.count(hit("/")).status_code == 202
        # Limits apply before authentication, keyed by the credential (or the address).
        assert server.client.get("/api/v0/me").status_code == 401


def test_cors_and_preflight(server: Server) -> None:
    gc, _ = account(server)
    response = server.client.get(
        "/api/v0/me", headers={**gc.headers(), "Origin": "https://app.example"}
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    preflight = server.client.options("/api/v0/count", headers={"Origin": "https://x.example"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]


def test_unknown_routes_wrong_methods_and_trailing_slashes(server: Server) -> None:
    gc, _ = account(server)
    missing = gc.get("/nothing/here")
    assert (missing.status_code, missing.json()) == (404, {"error": "not found"})
    wrong = gc.send("DELETE", "/sites")
    assert (wrong.status_code, wrong.json()) == (405, {"error": "method not allowed"})
    slash = server.client.get("/api/v0/me/", headers=gc.headers(), follow_redirects=False)
    assert slash.status_code == 301
    assert slash.headers["location"].endswith("/api/v0/me")


def test_errors_are_json_even_without_a_json_content_type(server: Server) -> None:
    response = server.client.get("/api/v0/me", headers={"Content-Type": "text/html"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")


DEEP = b"[" * 20000 + b"]" * 20000
NESTED = b"[" * 500 + b"]" * 500  # as deep as the decoder reads: an ordinary type error
UTF8 = "invalid JSON: invalid character in JSON (invalid UTF-8)"
BODY_ROUTES = [("POST", "/count"), ("POST", "/export"), ("PUT", "/sites"), ("PATCH", "/sites/")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a":"\xff"}', UTF8),
        (b'{"hits": [{"path": "/\xc3("}]}', UTF8),
        (b'{"\xff": 1}', UTF8),
        (DEEP, "invalid JSON: exceeded max depth"),
        (b'{"hits": ' + DEEP + b"}", "invalid JSON: exceeded max depth"),
    ],
)
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_undecodable_bodies_are_400_in_goatcounters_shape(
    server: Server, content: bytes, message: str, method: str, path: str
) -> None:
    gc, site = account(server)
    url = f"/api/v0{path}{site['gc_id'] if path.endswith('/') else ''}"
    response = server.client.request(method, url, content=content, headers=gc.headers())
    assert (response.status_code, response.json()) == (400, {"error": message})


@pytest.mark.parametrize(
    "body",
    [
        b'{"hits": ' + NESTED + b"}",
        b'{"hits": [{"path": ' + NESTED + b"}]}",
        b'{"hits": [{"path": "/", "event": ' + NESTED + b"}]}",
        b'{"hits": [{"path": "/", "size": ' + NESTED + b"}]}",
        b'{"format": ' + NESTED + b"}",
        b'{"cname": ' + NESTED + b"}",
        b'{"settings": ' + NESTED + b"}",
        b'{"settings": {"ignore_ips": ' + NESTED + b"}}",
    ],
)
@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_deeply_nested_values_are_type_errors(
    server: Server, body: bytes, method: str, path: str
) -> None:
    gc, site = account(server)
    url = f"/api/v0{path}{site['gc_id'] if path.endswith('/') else ''}"
    response = server.client.request(method, url, content=body, headers=gc.headers())
    assert response.status_code == 400, response.text
    assert set(response.json()) <= {"error", "errors"}


# -- /api/v1/api-keys ---------------------------------------------------------------------------


def test_api_keys_are_created_shown_once_listed_and_deleted(server: Server) -> None:
    gc, _ = account(server)
    created = new_key(server, gc.key, ["count", "stats:read:*"], name="ci")
    assert created.status_code == 201
    data = created.json()["data"]
    assert data["name"] == "ci" and data["scopes"] == ["count", "stats:read:*"]
    assert data["key"].startswith("tt_")
    listed = server.client.get("/api/v1/api-keys", headers={"X-API-KEY": gc.key}).json()["data"]
    assert [(k["name"], k["scopes"], k["primary"]) for k in listed] == [
        ("default", None, True),
        ("ci", ["count", "stats:read:*"], False),
    ]
    assert all("key" not in k for k in listed)
    deleted = server.client.delete(f"/api/v1/api-keys/{data['id']}", headers={"X-API-KEY": gc.key})
    assert deleted.status_code == 200
    assert GoatCounter(server, data["key"]).get("/me").status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "name is required and must be a non-empty string"),
        ({"name": "x", "scopes": ["admin"]}, "unknown scope 'admin'"),
        ({"name": "x", "scopes": "count"}, "scopes must be an array of scope names"),
        ({"name": "x", "scopes": []}, "scopes must name at least one scope"),
        ({"name": "x", "extra": 1}, "unknown field 'extra'"),
    ],
)
def test_api_key_validation(server: Server, body: dict[str, Any], message: str) -> None:
    gc, _ = account(server)
    response = server.client.post("/api/v1/api-keys", json=body, headers={"X-API-KEY": gc.key})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_PAYLOAD"
    assert response.json()["error"]["message"].startswith(message)


def test_scoped_keys_cannot_manage_keys_and_keys_stay_with_their_user(server: Server) -> None:
    gc, _ = account(server)
    other, _ = account(server, "other.example")
    scoped = new_key(server, gc.key, ["site_read"]).json()["data"]
    response = new_key(server, scoped["key"], None)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    foreign = server.client.delete(
        f"/api/v1/api-keys/{scoped['id']}", headers={"X-API-KEY": other.key}
    )
    assert foreign.status_code == 404
    listed = server.client.get("/api/v1/api-keys", headers={"X-API-KEY": gc.key}).json()["data"]
    primary = next(k for k in listed if k["primary"])
    refused = server.client.delete(
        f"/api/v1/api-keys/{primary['id']}", headers={"X-API-KEY": gc.key}
    )
    assert refused.status_code == 400


def test_api_keys_need_authentication(server: Server) -> None:
    assert server.client.get("/api/v1/api-keys").status_code == 401
    admin = server.client.get("/api/v1/api-keys", headers={"X-API-KEY": ADMIN_KEY})
    assert [k["name"] for k in admin.json()["data"]] == ["bootstrap"]


def test_plausible_sites_api_refuses_a_key_without_its_scope(server: Server) -> None:
    gc, _ = account(server)
    scoped = new_key(server, gc.key, ["count"]).json()["data"]["key"]
    response = server.client.post(
        "/api/v1/sites",
        json={"domain": "new.example"},
        headers={"Authorization": f"Bearer {scoped}"},
    )
    # Plausible answers a missing scope with its invalid-key error.
    assert response.status_code == 401
    assert "error" in response.json()
