"""HTTP-level tests of the TinyTrail management API: accounts, users, websites, auth, limits.

Everything is checked against docs (tinytrail-api.md): exact status codes, the response
envelope, the error codes and the camelCase key names.
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from tests.support import ADMIN_KEY, Server

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ACCOUNT_KEYS = {"id", "name", "createdAt"}
USER_KEYS = {"id", "accountId", "email", "role", "createdAt"}
WEBSITE_KEYS = {"id", "accountId", "domain", "contentGroups", "excludedIps", "createdAt"}
# `timezone` is the one field beyond the spec's table that a website object may carry.
WEBSITE_OPTIONAL_KEYS = {"timezone"}

NOT_A_UUID = "not-a-uuid"
MakeServer = Callable[..., AbstractContextManager[Server]]


# -- helpers ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_tracebacks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No response, of any test in this module, may leak a Python traceback."""
    original = TestClient.request

    def checked(self: TestClient, *args: Any, **kwargs: Any) -> Any:
        response = original(self, *args, **kwargs)
        assert "Traceback" not in response.text, response.text
        return response

    monkeypatch.setattr(TestClient, "request", checked)
    yield


def auth(key: str) -> dict[str, str]:
    return {"X-API-KEY": key}


def unknown_id() -> str:
    return str(uuid.uuid4())


def data_of(response: Any, status: int = 200) -> Any:
    """The `data` of a success envelope, after checking status and envelope shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "data"}, body
    assert body["status"] == "success"
    return body["data"]


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "error"}, body
    assert body["status"] == "error"
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def assert_account(account: dict[str, Any]) -> None:
    assert set(account) == ACCOUNT_KEYS, account
    assert str(uuid.UUID(account["id"])) == account["id"]
    assert ISO_MS.match(account["createdAt"]), account["createdAt"]


def assert_user(user: dict[str, Any], *, with_key: bool = False) -> None:
    assert set(user) == USER_KEYS | ({"apiKey"} if with_key else set()), user
    assert str(uuid.UUID(user["id"])) == user["id"]
    assert str(uuid.UUID(user["accountId"])) == user["accountId"]
    assert ISO_MS.match(user["createdAt"]), user["createdAt"]


def assert_website(site: dict[str, Any]) -> None:
    assert WEBSITE_KEYS <= set(site) <= WEBSITE_KEYS | WEBSITE_OPTIONAL_KEYS, site
    assert str(uuid.UUID(site["id"])) == site["id"]
    assert str(uuid.UUID(site["accountId"])) == site["accountId"]
    assert isinstance(site["contentGroups"], list)
    assert isinstance(site["excludedIps"], list)
    assert ISO_MS.match(site["createdAt"]), site["createdAt"]


def list_accounts(server: Server) -> list[dict[str, Any]]:
    return list(data_of(server.client.get("/api/v1/accounts", headers=server.admin)))


def list_users(server: Server) -> list[dict[str, Any]]:
    return list(data_of(server.client.get("/api/v1/users", headers=server.admin)))


def list_websites(server: Server, key: str = ADMIN_KEY) -> list[dict[str, Any]]:
    return list(data_of(server.client.get("/api/v1/websites", headers=auth(key))))


def website_by_id(server: Server, site_id: str) -> dict[str, Any] | None:
    return next((s for s in list_websites(server) if s["id"] == site_id), None)


def account_with_user(server: Server, name: str = "Acme") -> tuple[str, str, str]:
    """A fresh account with one `user`-role user: returns (account id, user id, user key)."""
    account_id = server.create_account(name)
    user_id, key = server.create_user(account_id)
    return account_id, user_id, key


def post_site(server: Server, key: str, **body: Any) -> Any:
    return server.client.post("/api/v1/websites", json=body, headers=auth(key))


def patch_site(server: Server, key: str, site_id: str, body: Any) -> Any:
    return server.client.patch(f"/api/v1/websites/{site_id}", json=body, headers=auth(key))


def site_events(server: Server, site_int_id: int) -> list[dict[str, Any]]:
    """The stored events of one site (flushed first)."""
    return server.events(f"site_id = {int(site_int_id)}")


def internal_site_id(server: Server, site_uuid: str) -> int:
    """The event store keys rows by a site's integer id; look it up while the site exists."""
    rules = server.runtime.sites.by_uuid(site_uuid)
    assert rules is not None
    return rules.id


# -- accounts -----------------------------------------------------------------------------------


def test_create_account_returns_201_with_account_object(server: Server) -> None:
    response = server.client.post(
        "/api/v1/accounts", json={"name": "Acme Corp"}, headers=server.admin
    )
    account = data_of(response, 201)
    assert_account(account)
    assert account["name"] == "Acme Corp"


def test_list_accounts_includes_created_accounts(server: Server) -> None:
    first = server.create_account("First")
    second = server.create_account("Second")
    accounts = list_accounts(server)
    for account in accounts:
        assert_account(account)
    names = {a["id"]: a["name"] for a in accounts}
    assert names[first] == "First"
    assert names[second] == "Second"


@pytest.mark.parametrize(
    "body",
    [{}, {"name": None}, {"name": ""}, {"name": "   "}, {"name": 42}, {"name": ["Acme"]}],
    ids=["missing", "null", "empty", "blank", "number", "list"],
)
def test_create_account_rejects_missing_or_non_string_name(server: Server, body: Any) -> None:
    before = len(list_accounts(server))
    response = server.client.post("/api/v1/accounts", json=body, headers=server.admin)
    assert_error(response, 400, "INVALID_PAYLOAD")
    assert len(list_accounts(server)) == before


def test_create_account_rejects_malformed_json(server: Server) -> None:
    response = server.client.post(
        "/api/v1/accounts",
        content=b'{"name": "Acme"',
        headers={**server.admin, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_create_account_rejects_wrong_content_type(server: Server) -> None:
    response = server.client.post(
        "/api/v1/accounts",
        content=b'{"name": "Acme"}',
        headers={**server.admin, "Content-Type": "text/plain"},
    )
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_create_account_rejects_json_array_body(server: Server) -> None:
    response = server.client.post("/api/v1/accounts", json=["Acme"], headers=server.admin)
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_delete_account_returns_deleted_account(server: Server) -> None:
    account_id = server.create_account("Doomed")
    response = server.client.delete(f"/api/v1/accounts/{account_id}", headers=server.admin)
    account = data_of(response)
    assert_account(account)
    assert account["id"] == account_id
    assert account["name"] == "Doomed"
    assert account_id not in {a["id"] for a in list_accounts(server)}


def test_delete_account_with_non_uuid_id_is_400(server: Server) -> None:
    response = server.client.delete(f"/api/v1/accounts/{NOT_A_UUID}", headers=server.admin)
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_delete_unknown_account_is_404(server: Server) -> None:
    response = server.client.delete(f"/api/v1/accounts/{unknown_id()}", headers=server.admin)
    assert_error(response, 404, "NOT_FOUND")


def test_delete_account_twice_is_404_the_second_time(server: Server) -> None:
    account_id = server.create_account()
    data_of(server.client.delete(f"/api/v1/accounts/{account_id}", headers=server.admin))
    response = server.client.delete(f"/api/v1/accounts/{account_id}", headers=server.admin)
    assert_error(response, 404, "NOT_FOUND")


def test_delete_account_deletes_its_users_and_their_keys_stop_working(server: Server) -> None:
    account_id, user_id, key = account_with_user(server)
    data_of(server.client.get("/api/v1/websites", headers=auth(key)))

    data_of(server.client.delete(f"/api/v1/accounts/{account_id}", headers=server.admin))

    assert user_id not in {u["id"] for u in list_users(server)}
    assert_error(server.client.get("/api/v1/websites", headers=auth(key)), 401, "UNAUTHORIZED")


def test_delete_account_deletes_its_websites(server: Server) -> None:
    account_id, _, key = account_with_user(server)
    site = server.create_site(key, "doomed.example")

    data_of(server.client.delete(f"/api/v1/accounts/{account_id}", headers=server.admin))

    assert website_by_id(server, site["id"]) is None
    # The domain is free again.
    server.create_site(ADMIN_KEY, "doomed.example")


def test_delete_account_deletes_its_events_but_not_other_accounts(server: Server) -> None:
    account_id, _, key = account_with_user(server, "Doomed")
    doomed = server.create_site(key, "doomed.example")
    _, kept = server.tenant("kept.example")
    doomed_int = internal_site_id(server, doomed["id"])
    kept_int = internal_site_id(server, kept["id"])
    for path in ("/", "/a", "/b"):
        assert server.collect(doomed["id"], path, host="doomed.example").status_code == 202
    assert server.collect(kept["id"], "/", host="kept.example").status_code == 202
    assert len(site_events(server, doomed_int)) == 3

    data_of(server.client.delete(f"/api/v1/accounts/{account_id}", headers=server.admin))

    assert site_events(server, doomed_int) == []
    assert len(site_events(server, kept_int)) == 1
    # Collecting to the deleted site is a silent drop.
    assert server.collect(doomed["id"], "/late", host="doomed.example").status_code == 204
    assert site_events(server, doomed_int) == []


def test_delete_account_without_websites_or_users(server: Server) -> None:
    account_id = server.create_account("Empty")
    account = data_of(server.client.delete(f"/api/v1/accounts/{account_id}", headers=server.admin))
    assert account["id"] == account_id


# -- users --------------------------------------------------------------------------------------


def test_create_user_returns_201_with_api_key(server: Server) -> None:
    account_id = server.create_account()
    response = server.client.post(
        "/api/v1/users",
        json={"account_id": account_id, "role": "user", "email": "ann@example.com"},
        headers=server.admin,
    )
    user = data_of(response, 201)
    assert_user(user, with_key=True)
    assert user["accountId"] == account_id
    assert user["role"] == "user"
    assert user["email"] == "ann@example.com"
    assert isinstance(user["apiKey"], str)
    assert user["apiKey"].startswith("tt_")
    assert len(user["apiKey"]) > len("tt_")


def test_create_user_email_is_optional(server: Server) -> None:
    account_id = server.create_account()
    response = server.client.post(
        "/api/v1/users", json={"account_id": account_id, "role": "admin"}, headers=server.admin
    )
    user = data_of(response, 201)
    assert_user(user, with_key=True)
    assert user["role"] == "admin"
    assert user["email"] is None


def test_each_created_user_gets_a_distinct_key(server: Server) -> None:
    account_id = server.create_account()
    _, first = server.create_user(account_id)
    _, second = server.create_user(account_id)
    assert first != second


def test_list_users_excludes_api_keys(server: Server) -> None:
    account_id, user_id, key = account_with_user(server)
    users = list_users(server)
    for user in users:
        assert_user(user)
        assert "apiKey" not in user
    assert key not in str(users)
    listed = next(u for u in users if u["id"] == user_id)
    assert listed["accountId"] == account_id
    assert listed["role"] == "user"
    assert listed["email"] == "u@example.com"


@pytest.mark.parametrize(
    "body",
    [
        {"role": "user"},
        {"account_id": "ACCOUNT"},
        {"account_id": "ACCOUNT", "role": None},
        {"account_id": None, "role": "user"},
        {"account_id": "ACCOUNT", "role": "superuser"},
        {"account_id": "ACCOUNT", "role": "ADMIN"},
        {"account_id": "ACCOUNT", "role": 1},
        {"account_id": NOT_A_UUID, "role": "user"},
        {"account_id": 123, "role": "user"},
        {"account_id": "UNKNOWN", "role": "user"},
        {"account_id": "ACCOUNT", "role": "user", "email": 5},
    ],
    ids=[
        "missing-account",
        "missing-role",
        "null-role",
        "null-account",
        "invalid-role",
        "uppercase-role",
        "numeric-role",
        "non-uuid-account",
        "numeric-account",
        "unknown-account",
        "non-string-email",
    ],
)
def test_create_user_rejects_invalid_payload(server: Server, body: dict[str, Any]) -> None:
    account_id = server.create_account()
    replacements = {"ACCOUNT": account_id, "UNKNOWN": unknown_id()}
    body = {k: replacements.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
    before = len(list_users(server))
    response = server.client.post("/api/v1/users", json=body, headers=server.admin)
    assert_error(response, 400, "INVALID_PAYLOAD")
    assert len(list_users(server)) == before


def test_create_user_rejects_malformed_json(server: Server) -> None:
    response = server.client.post(
        "/api/v1/users",
        content=b"{role: user}",
        headers={**server.admin, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_get_user_api_key_returns_the_same_key(server: Server) -> None:
    _, user_id, key = account_with_user(server)
    response = server.client.get(f"/api/v1/users/{user_id}/api-key", headers=server.admin)
    assert data_of(response) == {"id": user_id, "apiKey": key}


def test_get_user_api_key_with_non_uuid_is_400(server: Server) -> None:
    response = server.client.get(f"/api/v1/users/{NOT_A_UUID}/api-key", headers=server.admin)
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_get_user_api_key_of_unknown_user_is_404(server: Server) -> None:
    response = server.client.get(f"/api/v1/users/{unknown_id()}/api-key", headers=server.admin)
    assert_error(response, 404, "NOT_FOUND")


def test_delete_user_returns_user_and_revokes_key(server: Server) -> None:
    account_id, user_id, key = account_with_user(server)
    data_of(server.client.get("/api/v1/websites", headers=auth(key)))

    user = data_of(server.client.delete(f"/api/v1/users/{user_id}", headers=server.admin))

    assert_user(user)
    assert user["id"] == user_id
    assert user["accountId"] == account_id
    assert "apiKey" not in user
    assert user_id not in {u["id"] for u in list_users(server)}
    assert_error(server.client.get("/api/v1/websites", headers=auth(key)), 401, "UNAUTHORIZED")
    response = server.client.get(f"/api/v1/users/{user_id}/api-key", headers=server.admin)
    assert_error(response, 404, "NOT_FOUND")


def test_delete_user_keeps_account_and_websites(server: Server) -> None:
    account_id, user_id, key = account_with_user(server)
    site = server.create_site(key, "kept.example")
    data_of(server.client.delete(f"/api/v1/users/{user_id}", headers=server.admin))
    assert account_id in {a["id"] for a in list_accounts(server)}
    assert website_by_id(server, site["id"]) is not None


def test_the_last_admin_user_and_their_account_cannot_be_deleted(server: Server) -> None:
    """Without an admin nobody could manage accounts any more (only the command line could)."""
    [admin] = [u for u in list_users(server) if u["role"] == "admin"]
    last = server.client.delete(f"/api/v1/users/{admin['id']}", headers=server.admin)
    assert_error(last, 400, "INVALID_PAYLOAD")
    account = server.client.delete(f"/api/v1/accounts/{admin['accountId']}", headers=server.admin)
    assert_error(account, 400, "INVALID_PAYLOAD")
    assert server.client.get("/api/v1/accounts", headers=server.admin).status_code == 200

    _, other_key = server.create_user(server.create_account("Ops"), role="admin")
    gone = server.client.delete(f"/api/v1/users/{admin['id']}", headers=auth(other_key))
    assert gone.status_code == 200, gone.text
    assert server.client.get("/api/v1/accounts", headers=auth(other_key)).status_code == 200


def test_delete_user_with_non_uuid_is_400(server: Server) -> None:
    response = server.client.delete(f"/api/v1/users/{NOT_A_UUID}", headers=server.admin)
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_delete_unknown_user_is_404(server: Server) -> None:
    response = server.client.delete(f"/api/v1/users/{unknown_id()}", headers=server.admin)
    assert_error(response, 404, "NOT_FOUND")


# -- authentication and roles -------------------------------------------------------------------

PROTECTED = [
    ("GET", "/api/v1/accounts"),
    ("POST", "/api/v1/accounts"),
    ("DELETE", "/api/v1/accounts/{id}"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("GET", "/api/v1/users/{id}/api-key"),
    ("DELETE", "/api/v1/users/{id}"),
    ("GET", "/api/v1/websites"),
    ("POST", "/api/v1/websites"),
    ("PATCH", "/api/v1/websites/{id}"),
    ("DELETE", "/api/v1/websites/{id}"),
]
ADMIN_ONLY = [route for route in PROTECTED if "/websites" not in route[1]]


def request(server: Server, method: str, path: str, headers: dict[str, str]) -> Any:
    body = {"name": "x"} if method in ("POST", "PATCH") else None
    return server.client.request(method, path.format(id=unknown_id()), json=body, headers=headers)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_route_without_key_is_401(server: Server, method: str, path: str) -> None:
    assert_error(request(server, method, path, {}), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_protected_route_with_wrong_key_is_401(server: Server, method: str, path: str) -> None:
    response = request(server, method, path, auth("tt_wrong_key_0000000000"))
    assert_error(response, 401, "UNAUTHORIZED")


def test_empty_api_key_header_is_401(server: Server) -> None:
    response = server.client.get("/api/v1/websites", headers={"X-API-KEY": ""})
    assert_error(response, 401, "UNAUTHORIZED")


def test_bearer_authorization_works_like_x_api_key(server: Server) -> None:
    _, _, key = account_with_user(server)
    site = server.create_site(key, "bearer.example")
    admin_view = server.client.get(
        "/api/v1/accounts", headers={"Authorization": f"Bearer {ADMIN_KEY}"}
    )
    assert data_of(admin_view) == list_accounts(server)
    user_view = server.client.get("/api/v1/websites", headers={"Authorization": f"Bearer {key}"})
    assert [s["id"] for s in data_of(user_view)] == [site["id"]]


def test_bearer_with_wrong_key_is_401(server: Server) -> None:
    response = server.client.get(
        "/api/v1/accounts", headers={"Authorization": "Bearer tt_not_a_real_key"}
    )
    assert_error(response, 401, "UNAUTHORIZED")


def test_non_bearer_authorization_scheme_is_401(server: Server) -> None:
    response = server.client.get(
        "/api/v1/accounts", headers={"Authorization": f"Basic {ADMIN_KEY}"}
    )
    assert_error(response, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_user_role_on_admin_endpoint_is_403(server: Server, method: str, path: str) -> None:
    _, _, key = account_with_user(server)
    assert_error(request(server, method, path, auth(key)), 403, "FORBIDDEN")


def test_user_role_cannot_create_accounts_or_read_keys(server: Server) -> None:
    account_id, user_id, key = account_with_user(server)
    accounts_before = list_accounts(server)
    response = server.client.post("/api/v1/accounts", json={"name": "Sneaky"}, headers=auth(key))
    assert_error(response, 403, "FORBIDDEN")
    assert list_accounts(server) == accounts_before
    response = server.client.delete(f"/api/v1/accounts/{account_id}", headers=auth(key))
    assert_error(response, 403, "FORBIDDEN")
    assert account_id in {a["id"] for a in list_accounts(server)}
    response = server.client.get(f"/api/v1/users/{user_id}/api-key", headers=auth(key))
    assert_error(response, 403, "FORBIDDEN")
    assert key not in response.text


def test_admin_role_user_can_use_admin_endpoints(server: Server) -> None:
    account_id = server.create_account()
    _, key = server.create_user(account_id, role="admin")
    assert data_of(server.client.get("/api/v1/accounts", headers=auth(key))) == list_accounts(
        server
    )


def test_admin_sees_all_websites_and_user_only_own_account(server: Server) -> None:
    key_a, site_a = server.tenant("a.example")
    key_b, site_b = server.tenant("b.example")
    extra_a = server.create_site(key_a, "a2.example")

    admin_ids = {s["id"] for s in list_websites(server)}
    assert {site_a["id"], site_b["id"], extra_a["id"]} <= admin_ids
    assert {s["id"] for s in list_websites(server, key_a)} == {site_a["id"], extra_a["id"]}
    assert {s["id"] for s in list_websites(server, key_b)} == {site_b["id"]}
    for site in list_websites(server):
        assert_website(site)


def test_website_changes_and_deletion_apply_to_the_next_report_at_once(server: Server) -> None:
    """Reports look sites up through a short-lived cache: a change must never wait for it."""
    key_a, site_a = server.tenant("fresh-a.example")
    key_b, _ = server.tenant("fresh-b.example")
    report = f"/api/v1/reports/realtime?website_id={site_a['id']}"
    for _ in range(2):  # the second answer comes from the cache
        assert server.client.get(report, headers=auth(key_a)).status_code == 200
    # Cached for its owner, still another account's site for everyone else.
    assert server.client.get(report, headers=auth(key_b)).status_code == 404

    def today() -> str:
        summary = f"/api/v1/reports/summary?website_id={site_a['id']}&period=today"
        return str(data_of(server.client.get(summary, headers=auth(key_a)))["period"]["start"])

    assert today() == "2026-03-18"  # 12:00 UTC on the test clock, cached now
    path = f"/api/v1/websites/{site_a['id']}"
    body = {"timezone": "Pacific/Kiritimati"}  # UTC+14: already the next day there
    data_of(server.client.patch(path, json=body, headers=auth(key_a)))
    assert today() == "2026-03-19"

    data_of(server.client.delete(path, headers=auth(key_a)))
    assert server.client.get(report, headers=auth(key_a)).status_code == 404


def test_timezone_change_drops_the_rollups_of_the_old_days(server: Server) -> None:
    """Rollups are of the site's local days: after a timezone change they are other days, so
    reports must not read them (they read the events until the days are built again)."""
    times = [(16, 10), (16, 12), (17, 9), (17, 14)]  # UTC: 23:00, 01:00, 22:00, 03:00 in NZ
    key, site = server.tenant("moved.example")
    _, control = server.tenant("control.example", timezone="Pacific/Auckland")
    now = server.clock.now
    for n, (day, hour) in enumerate(times):
        server.clock.now = datetime(2026, 3, day, hour, tzinfo=UTC)
        for target in (site, control):
            response = server.collect(target["id"], f"/p{n}", ip=f"198.51.100.{n + 1}")
            assert response.status_code == 202
    server.clock.now = now
    server.aggregate("2026-03-16", "2026-03-17")
    assert server.runtime.store.rollup_days(
        internal_site_id(server, site["id"]), date.min, date.max
    )

    patched = patch_site(server, key, site["id"], {"timezone": "Pacific/Auckland"})
    assert patched.status_code == 200, patched.text

    def days(website: dict[str, Any]) -> list[tuple[str, int]]:
        query = "start_date=2026-03-16&end_date=2026-03-18&metric=pageviews"
        url = f"/api/v1/reports/timeseries?website_id={website['id']}&{query}"
        series = data_of(server.client.get(url, headers=server.admin))["series"]
        return [(point["date"], point["value"]) for point in series]

    assert days(site) == days(control) == [("2026-03-16", 1), ("2026-03-17", 2), ("2026-03-18", 1)]
    assert not server.runtime.store.rollup_days(
        internal_site_id(server, site["id"]), date.min, date.max
    )


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_aggregate_on_the_calendar_edges_is_not_a_server_error(server: Server, day: str) -> None:
    server.tenant("edges.example")
    response = server.client.post(
        "/api/v1/admin/aggregate", json={"date": day}, headers=server.admin
    )
    assert response.status_code == 200, response.text


# -- websites: create ---------------------------------------------------------------------------


def test_create_website_returns_201_with_defaults(server: Server) -> None:
    account_id, _, key = account_with_user(server)
    site = data_of(post_site(server, key, domain="example.com"), 201)
    assert_website(site)
    assert site["domain"] == "example.com"
    assert site["accountId"] == account_id
    assert site["contentGroups"] == []
    assert site["excludedIps"] == []
    assert website_by_id(server, site["id"]) == site


def test_create_website_normalises_domain(server: Server) -> None:
    _, _, key = account_with_user(server)
    site = data_of(post_site(server, key, domain="https://WWW.Example.com/"), 201)
    assert site["domain"] == "example.com"


@pytest.mark.parametrize(
    "domain",
    [
        "",
        "   ",
        "exa mple.com",
        "-bad.com",
        "bad-.com",
        "exa_mple.com",
        "a" * 300,
        ".".join(["a" * 50] * 6),
        "https://",
        123,
        None,
        ["example.com"],
        {"domain": "example.com"},
    ],
    ids=[
        "empty",
        "blank",
        "space",
        "leading-hyphen",
        "trailing-hyphen",
        "underscore",
        "300-chars",
        "305-chars-of-labels",
        "scheme-only",
        "number",
        "null",
        "list",
        "object",
    ],
)
def test_create_website_rejects_invalid_domain(server: Server, domain: Any) -> None:
    _, _, key = account_with_user(server)
    assert_error(post_site(server, key, domain=domain), 400, "INVALID_PAYLOAD")
    assert list_websites(server, key) == []


def test_create_website_without_domain_is_400(server: Server) -> None:
    _, _, key = account_with_user(server)
    assert_error(post_site(server, key), 400, "INVALID_PAYLOAD")


def test_create_website_rejects_malformed_json_and_arrays(server: Server) -> None:
    _, _, key = account_with_user(server)
    malformed = server.client.post(
        "/api/v1/websites",
        content=b'{"domain": ',
        headers={**auth(key), "Content-Type": "application/json"},
    )
    assert_error(malformed, 400, "INVALID_PAYLOAD")
    array = server.client.post("/api/v1/websites", json=["example.com"], headers=auth(key))
    assert_error(array, 400, "INVALID_PAYLOAD")


def test_duplicate_domain_in_same_account_is_400(server: Server) -> None:
    key, _ = server.tenant("example.com")
    assert_error(post_site(server, key, domain="example.com"), 400, "INVALID_PAYLOAD")
    assert len(list_websites(server, key)) == 1


def test_duplicate_domain_in_another_account_is_400(server: Server) -> None:
    _, site = server.tenant("example.com")
    _, _, other_key = account_with_user(server, "Other")
    assert_error(post_site(server, other_key, domain="example.com"), 400, "INVALID_PAYLOAD")
    assert list_websites(server, other_key) == []
    assert [s["id"] for s in list_websites(server) if s["domain"] == "example.com"] == [site["id"]]


def test_duplicate_domain_is_detected_after_normalisation(server: Server) -> None:
    key, _ = server.tenant("example.com")
    response = post_site(server, key, domain="https://www.EXAMPLE.com/")
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_create_website_with_content_groups(server: Server) -> None:
    _, _, key = account_with_user(server)
    groups = [{"name": "Blog", "pattern": "/blog/**"}, {"name": "Docs", "pattern": "/docs/*"}]
    site = data_of(post_site(server, key, domain="example.com", content_groups=groups), 201)
    assert site["contentGroups"] == groups


@pytest.mark.parametrize(
    "groups",
    [
        "Blog",
        {"name": "Blog", "pattern": "/blog"},
        ["/blog"],
        [{"name": "Blog"}],
        [{"pattern": "/blog"}],
        [{"name": "Blog", "pattern": "blog/**"}],
        [{"name": "Blog", "pattern": ""}],
        [{"name": "", "pattern": "/blog"}],
        [{"name": 1, "pattern": "/blog"}],
        [{"name": "Blog", "pattern": 1}],
        [{"name": "Blog", "pattern": "/blog", "extra": True}],
    ],
    ids=[
        "string",
        "object",
        "list-of-strings",
        "missing-pattern",
        "missing-name",
        "pattern-without-slash",
        "empty-pattern",
        "empty-name",
        "numeric-name",
        "numeric-pattern",
        "extra-key",
    ],
)
def test_create_website_rejects_invalid_content_groups(server: Server, groups: Any) -> None:
    _, _, key = account_with_user(server)
    response = post_site(server, key, domain="example.com", content_groups=groups)
    assert_error(response, 400, "INVALID_PAYLOAD")
    assert list_websites(server, key) == []


def test_create_website_accepts_ipv4_ipv6_and_cidr_exclusions(server: Server) -> None:
    _, _, key = account_with_user(server)
    ips = ["203.0.113.7", "2001:db8::1", "10.0.0.0/8", "2001:db8:abcd::/48"]
    site = data_of(post_site(server, key, domain="example.com", excluded_ips=ips), 201)
    assert site["excludedIps"] == ips


@pytest.mark.parametrize(
    "ips",
    [
        ["not-an-ip"],
        ["300.1.2.3"],
        ["10.0.0.0/33"],
        ["2001:db8::/129"],
        [""],
        [123],
        ["203.0.113.7", "garbage"],
        "203.0.113.7",
        {"ip": "203.0.113.7"},
    ],
    ids=[
        "word",
        "octet-out-of-range",
        "ipv4-prefix-too-long",
        "ipv6-prefix-too-long",
        "empty-string",
        "number",
        "one-bad-among-good",
        "string-not-list",
        "object",
    ],
)
def test_create_website_rejects_invalid_excluded_ips(server: Server, ips: Any) -> None:
    _, _, key = account_with_user(server)
    response = post_site(server, key, domain="example.com", excluded_ips=ips)
    assert_error(response, 400, "INVALID_PAYLOAD")
    assert list_websites(server, key) == []


def test_create_website_accepts_timezone(server: Server) -> None:
    _, _, key = account_with_user(server)
    site = data_of(post_site(server, key, domain="example.com", timezone="Europe/Berlin"), 201)
    assert site["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "", "UTC+2", 2, None])
def test_create_website_rejects_invalid_timezone(server: Server, timezone: Any) -> None:
    _, _, key = account_with_user(server)
    response = post_site(server, key, domain="example.com", timezone=timezone)
    assert_error(response, 400, "INVALID_PAYLOAD")
    assert list_websites(server, key) == []


def test_admin_may_create_website_in_any_account(server: Server) -> None:
    account_id, _, key = account_with_user(server)
    site = data_of(post_site(server, ADMIN_KEY, domain="example.com", account_id=account_id), 201)
    assert site["accountId"] == account_id
    assert [s["id"] for s in list_websites(server, key)] == [site["id"]]


@pytest.mark.parametrize("account_id", [NOT_A_UUID, "UNKNOWN", 42])
def test_admin_create_website_with_bad_account_id_is_400(server: Server, account_id: Any) -> None:
    if account_id == "UNKNOWN":
        account_id = unknown_id()
    response = post_site(server, ADMIN_KEY, domain="example.com", account_id=account_id)
    assert_error(response, 400, "INVALID_PAYLOAD")
    assert all(s["domain"] != "example.com" for s in list_websites(server))


def test_user_passing_account_id_is_400(server: Server) -> None:
    _, _, key = account_with_user(server, "Mine")
    other_account = server.create_account("Theirs")
    response = post_site(server, key, domain="example.com", account_id=other_account)
    assert_error(response, 400, "INVALID_PAYLOAD")
    assert list_websites(server) == []


# -- websites: update ---------------------------------------------------------------------------


def test_patch_requires_at_least_one_field(server: Server) -> None:
    key, site = server.tenant()
    assert_error(patch_site(server, key, site["id"], {}), 400, "INVALID_PAYLOAD")
    assert_error(patch_site(server, key, site["id"], {"color": "red"}), 400, "INVALID_PAYLOAD")
    assert website_by_id(server, site["id"]) == site


def test_patch_rejects_non_object_and_malformed_bodies(server: Server) -> None:
    key, site = server.tenant()
    assert_error(patch_site(server, key, site["id"], ["domain"]), 400, "INVALID_PAYLOAD")
    response = server.client.patch(
        f"/api/v1/websites/{site['id']}",
        content=b"{",
        headers={**auth(key), "Content-Type": "application/json"},
    )
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_patch_domain_normalises_it(server: Server) -> None:
    key, site = server.tenant("example.com")
    updated = data_of(patch_site(server, key, site["id"], {"domain": "http://WWW.New.Example/"}))
    assert_website(updated)
    assert updated["id"] == site["id"]
    assert updated["domain"] == "new.example"
    assert updated["createdAt"] == site["createdAt"]
    assert website_by_id(server, site["id"]) == updated


def test_patch_content_groups(server: Server) -> None:
    key, site = server.tenant(content_groups=[{"name": "Old", "pattern": "/old"}])
    groups = [{"name": "Blog", "pattern": "/blog/**"}]
    updated = data_of(patch_site(server, key, site["id"], {"content_groups": groups}))
    assert updated["contentGroups"] == groups
    assert updated["domain"] == site["domain"]
    cleared = data_of(patch_site(server, key, site["id"], {"content_groups": []}))
    assert cleared["contentGroups"] == []
    assert website_by_id(server, site["id"]) == cleared


def test_patch_excluded_ips(server: Server) -> None:
    key, site = server.tenant(excluded_ips=["192.0.2.1"])
    ips = ["198.51.100.0/24", "2001:db8::42"]
    updated = data_of(patch_site(server, key, site["id"], {"excluded_ips": ips}))
    assert updated["excludedIps"] == ips
    cleared = data_of(patch_site(server, key, site["id"], {"excluded_ips": []}))
    assert cleared["excludedIps"] == []
    assert website_by_id(server, site["id"]) == cleared


def test_patch_timezone(server: Server) -> None:
    key, site = server.tenant()
    updated = data_of(patch_site(server, key, site["id"], {"timezone": "Europe/Berlin"}))
    assert updated["timezone"] == "Europe/Berlin"
    response = patch_site(server, key, site["id"], {"timezone": "Europe/Atlantis"})
    assert_error(response, 400, "INVALID_PAYLOAD")
    assert website_by_id(server, site["id"]) == updated


@pytest.mark.parametrize(
    "body",
    [
        {"domain": "exa mple.com"},
        {"domain": ""},
        {"domain": None},
        {"content_groups": [{"name": "Blog", "pattern": "blog"}]},
        {"content_groups": "Blog"},
        {"excluded_ips": ["garbage"]},
        {"excluded_ips": "10.0.0.1"},
    ],
    ids=[
        "domain-space",
        "domain-empty",
        "domain-null",
        "group-pattern",
        "groups-not-list",
        "ip-garbage",
        "ips-not-list",
    ],
)
def test_patch_rejects_invalid_fields_and_leaves_site_unchanged(
    server: Server, body: dict[str, Any]
) -> None:
    key, site = server.tenant()
    assert_error(patch_site(server, key, site["id"], body), 400, "INVALID_PAYLOAD")
    assert website_by_id(server, site["id"]) == site


def test_patch_domain_to_a_taken_domain_is_400(server: Server) -> None:
    key, site = server.tenant("mine.example")
    server.tenant("theirs.example")
    response = patch_site(server, key, site["id"], {"domain": "theirs.example"})
    assert_error(response, 400, "INVALID_PAYLOAD")
    assert website_by_id(server, site["id"]) == site


def test_patch_domain_to_its_own_domain_is_allowed(server: Server) -> None:
    key, site = server.tenant("mine.example")
    updated = data_of(patch_site(server, key, site["id"], {"domain": "www.mine.example"}))
    assert updated["domain"] == "mine.example"


def test_patch_with_non_uuid_id_is_400(server: Server) -> None:
    key, _ = server.tenant()
    response = patch_site(server, key, NOT_A_UUID, {"domain": "new.example"})
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_patch_unknown_website_is_404(server: Server) -> None:
    key, _ = server.tenant()
    response = patch_site(server, key, unknown_id(), {"domain": "new.example"})
    assert_error(response, 404, "NOT_FOUND")


def test_patch_another_accounts_website_is_404_and_site_unchanged(server: Server) -> None:
    _, victim = server.tenant("victim.example")
    attacker_key, _ = server.tenant("attacker.example")
    for body in (
        {"domain": "stolen.example"},
        {"excluded_ips": ["0.0.0.0/0"]},
        {"content_groups": [{"name": "X", "pattern": "/x"}]},
        {"timezone": "Europe/Berlin"},
    ):
        response = patch_site(server, attacker_key, victim["id"], body)
        assert_error(response, 404, "NOT_FOUND")
    assert website_by_id(server, victim["id"]) == victim


def test_admin_may_patch_any_website(server: Server) -> None:
    _, site = server.tenant("example.com")
    updated = data_of(patch_site(server, ADMIN_KEY, site["id"], {"excluded_ips": ["10.1.2.3"]}))
    assert updated["excludedIps"] == ["10.1.2.3"]
    assert updated["accountId"] == site["accountId"]


# -- websites: delete ---------------------------------------------------------------------------


def test_delete_website_returns_deleted_website(server: Server) -> None:
    key, site = server.tenant()
    deleted = data_of(server.client.delete(f"/api/v1/websites/{site['id']}", headers=auth(key)))
    assert deleted == site
    assert list_websites(server, key) == []
    again = server.client.delete(f"/api/v1/websites/{site['id']}", headers=auth(key))
    assert_error(again, 404, "NOT_FOUND")


def test_delete_website_with_non_uuid_id_is_400(server: Server) -> None:
    key, _ = server.tenant()
    response = server.client.delete(f"/api/v1/websites/{NOT_A_UUID}", headers=auth(key))
    assert_error(response, 400, "INVALID_PAYLOAD")


def test_delete_unknown_website_is_404(server: Server) -> None:
    key, _ = server.tenant()
    response = server.client.delete(f"/api/v1/websites/{unknown_id()}", headers=auth(key))
    assert_error(response, 404, "NOT_FOUND")


def test_delete_another_accounts_website_is_404_and_site_kept(server: Server) -> None:
    _, victim = server.tenant("victim.example")
    attacker_key, _ = server.tenant("attacker.example")
    response = server.client.delete(f"/api/v1/websites/{victim['id']}", headers=auth(attacker_key))
    assert_error(response, 404, "NOT_FOUND")
    assert website_by_id(server, victim["id"]) == victim


def test_admin_may_delete_any_website(server: Server) -> None:
    key, site = server.tenant()
    data_of(server.client.delete(f"/api/v1/websites/{site['id']}", headers=server.admin))
    assert list_websites(server, key) == []


def test_delete_website_deletes_its_events_and_later_collects_are_dropped(server: Server) -> None:
    key, site = server.tenant("doomed.example")
    _, kept = server.tenant("kept.example")
    site_int = internal_site_id(server, site["id"])
    kept_int = internal_site_id(server, kept["id"])
    for path in ("/", "/pricing"):
        assert server.collect(site["id"], path, host="doomed.example").status_code == 202
    assert server.collect(kept["id"], "/", host="kept.example").status_code == 202
    assert len(site_events(server, site_int)) == 2
    assert any(v["site_id"] == site_int for v in server.visits())

    data_of(server.client.delete(f"/api/v1/websites/{site['id']}", headers=auth(key)))

    assert site_events(server, site_int) == []
    assert len(site_events(server, kept_int)) == 1
    assert all(v["site_id"] != site_int for v in server.visits())
    late = server.collect(site["id"], "/late", host="doomed.example")
    assert late.status_code == 204
    assert late.content == b""
    assert site_events(server, site_int) == []


def test_unflushed_events_are_deleted_with_their_website(server: Server) -> None:
    key, site = server.tenant("doomed.example")
    site_int = internal_site_id(server, site["id"])
    assert server.collect(site["id"], "/", host="doomed.example").status_code == 202
    # No explicit flush between collecting and deleting.
    data_of(server.client.delete(f"/api/v1/websites/{site['id']}", headers=auth(key)))
    assert site_events(server, site_int) == []


# -- rate limiting ------------------------------------------------------------------------------


def test_protected_routes_are_rate_limited_per_key(make_server: MakeServer) -> None:
    with make_server(TINYTRAIL_RATE_LIMITS="on", TINYTRAIL_RATE_LIMIT_API="5/60s") as s:
        account_id = s.create_account()  # admin request 1
        _, key = s.create_user(account_id)  # admin request 2
        for _ in range(5):
            data_of(s.client.get("/api/v1/websites", headers=auth(key)))

        limited = s.client.get("/api/v1/websites", headers=auth(key))

        assert_error(limited, 429, "RATE_LIMITED")
        retry_after = limited.headers.get("Retry-After")
        assert retry_after is not None and retry_after.isdigit(), retry_after
        assert 0 < int(retry_after) <= 60
        # The admin key has its own budget (2 of 5 used so far).
        data_of(s.client.get("/api/v1/accounts", headers=s.admin))


def test_rate_limit_is_shared_across_protected_routes(make_server: MakeServer) -> None:
    with make_server(TINYTRAIL_RATE_LIMITS="on", TINYTRAIL_RATE_LIMIT_API="5/60s") as s:
        account_id = s.create_account()  # 1
        _, other_admin = s.create_user(account_id, role="admin")  # 2
        data_of(s.client.get("/api/v1/users", headers=s.admin))  # 3
        data_of(s.client.get("/api/v1/websites", headers=s.admin))  # 4
        data_of(s.client.get("/api/v1/accounts", headers=s.admin))  # 5

        response = s.client.post("/api/v1/accounts", json={"name": "Late"}, headers=s.admin)

        assert_error(response, 429, "RATE_LIMITED")
        assert int(response.headers["Retry-After"]) > 0
        # The refused request did nothing.
        accounts = data_of(s.client.get("/api/v1/accounts", headers=auth(other_admin)))
        assert "Late" not in {a["name"] for a in accounts}


def test_default_api_rate_limit_is_60_per_minute(make_server: MakeServer) -> None:
    with make_server(TINYTRAIL_RATE_LIMITS="on") as s:
        for _ in range(60):
            data_of(s.client.get("/api/v1/accounts", headers=s.admin))
        limited = s.client.get("/api/v1/accounts", headers=s.admin)
        assert_error(limited, 429, "RATE_LIMITED")
        assert int(limited.headers["Retry-After"]) > 0


# -- unknown paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nope", "/nope", "/api/v1/accounts/x/y"])
def test_unknown_path_is_404_in_envelope(server: Server, path: str) -> None:
    assert_error(server.client.get(path, headers=server.admin), 404, "NOT_FOUND")
