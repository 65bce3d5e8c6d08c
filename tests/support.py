"""Test helpers: a real TinyTrail app on temp SQLite + DuckDB files, driven over HTTP."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from tinytrail.app import create_app
from tinytrail.runtime import Runtime
from tinytrail.settings import load_settings

ADMIN_KEY = "tt_test_admin_key_0123456789"
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)


class Clock:
    """A frozen, steerable clock injected into the server."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 18, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Server:
    client: TestClient
    runtime: Runtime
    clock: Clock
    data_dir: Path

    admin = {"X-API-KEY": ADMIN_KEY}

    # -- admin helpers ----------------------------------------------------------------------

    def create_account(self, name: str = "Acme") -> str:
        response = self.client.post("/api/v1/accounts", json={"name": name}, headers=self.admin)
        assert response.status_code == 201, response.text
        return str(response.json()["data"]["id"])

    def create_user(self, account_id: str, role: str = "user") -> tuple[str, str]:
        response = self.client.post(
            "/api/v1/users",
            json={"account_id": account_id, "role": role, "email": "u@example.com"},
            headers=self.admin,
        )
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        return str(data["id"]), str(data["apiKey"])

    def create_site(self, key: str, domain: str, **fields: Any) -> dict[str, Any]:
        response = self.client.post(
            "/api/v1/websites", json={"domain": domain, **fields}, headers={"X-API-KEY": key}
        )
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()["data"]
        return data

    def tenant(self, domain: str = "example.com", **fields: Any) -> tuple[str, dict[str, Any]]:
        """A fresh account with a user and one website: returns (user key, website)."""
        account = self.create_account(f"Account of {domain}")
        _, key = self.create_user(account)
        return key, self.create_site(key, domain, **fields)

    # -- collecting -------------------------------------------------------------------------

    def collect(
        self,
        website_id: str,
        path: str = "/",
        event_type: str = "page_view",
        *,
        ip: str = "203.0.113.7",
        ua: str = CHROME_UA,
        host: str = "example.com",
        **fields: Any,
    ) -> Any:
        payload = {
            "website_id": website_id,
            "event_type": event_type,
            "url": f"https://{host}{path}",
            "path": path.split("?")[0],
            **fields,
        }
        return self.client.post(
            "/api/v1/collect",
            json=payload,
            headers={"User-Agent": ua, "X-Forwarded-For": ip},
        )

    def flush(self) -> None:
        self.runtime.flusher.flush()

    def aggregate(self, *days: str) -> None:
        """Build the daily rollups of these dates (YYYY-MM-DD) through the admin API."""
        for day in days:
            response = self.client.post(
                "/api/v1/admin/aggregate", json={"date": day}, headers=self.admin
            )
            assert response.status_code == 200, response.text

    def events(self, where: str = "true") -> list[dict[str, Any]]:
        self.flush()
        return self.runtime.store.fetch_dicts(f"SELECT * FROM events WHERE {where} ORDER BY seq")

    def visits(self) -> list[dict[str, Any]]:
        self.flush()
        return self.runtime.store.fetch_dicts("SELECT * FROM all_sessions ORDER BY session_id")


def start_server(data_dir: Path, clock: Clock | None = None, **env: str) -> Iterator[Server]:
    clock = clock or Clock()
    values = {
        "TINYTRAIL_DATA_DIR": str(data_dir),
        "TINYTRAIL_ADMIN_API_KEY": ADMIN_KEY,
        "TINYTRAIL_RATE_LIMITS": "off",
        # The test client connects from 127.0.0.1; trusting it lets tests play many visitors.
        "TINYTRAIL_TRUSTED_PROXIES": "127.0.0.1",
        "TINYTRAIL_FLUSH_INTERVAL_MS": "100",
        **env,
    }
    settings = load_settings(env=values)
    runtime = Runtime(settings, clock)
    runtime.bootstrap_admin()
    app = create_app(settings, runtime=runtime)
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        yield Server(client, runtime, clock, data_dir)
