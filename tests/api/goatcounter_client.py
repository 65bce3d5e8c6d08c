"""Helpers for the GoatCounter API tests: one account's view of `/api/v0`, seeded over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.support import CHROME_UA, Server

NO_SESSION = (
    "session or browser/IP not set; use no_sessions if you don't want to track unique visits"
)
FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


class GoatCounter:
    """A GoatCounter client for one key (its account's sites)."""

    def __init__(self, server: Server, key: str, host: str | None = None) -> None:
        self.server, self.key, self.host = server, key, host

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        if self.host:
            headers["Host"] = self.host
        return {**headers, **extra}

    def get(self, path: str, **params: Any) -> Any:
        return self.server.client.get(f"/api/v0{path}", params=params, headers=self.headers())

    def send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        return self.server.client.request(
            method, f"/api/v0{path}", json=body, headers=self.headers(**headers)
        )

    def count(self, *hits: dict[str, Any], **fields: Any) -> Any:
        return self.send("POST", "/count", {**fields, "hits": list(hits)})


def account(server: Server, domain: str = "example.com") -> tuple[GoatCounter, dict[str, Any]]:
    """A new account with one site; the site dict gains `gc_id`, its GoatCounter id."""
    key, site = server.tenant(domain)
    rules = server.runtime.sites.by_uuid(site["id"])
    assert rules is not None
    return GoatCounter(server, key), {**site, "gc_id": rules.id}


def hit(path: str, *, at: datetime | None = None, **fields: Any) -> dict[str, Any]:
    """A hit that carries a browser and an IP (so it needs no session)."""
    body: dict[str, Any] = {"path": path, "user_agent": CHROME_UA, "ip": "203.0.113.9", **fields}
    if at is not None:
        body["created_at"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return body


def ago(server: Server, **delta: float) -> datetime:
    return server.clock.now - timedelta(**delta)
