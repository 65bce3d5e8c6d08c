"""No file in the data folder ever holds a visitor's IP address or raw User-Agent."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import httpx
import pytest

from tests.support import ADMIN_KEY
from tests.system.serverproc import ServerProcess

pytestmark = pytest.mark.slow

PROBE_IPV4 = "198.51.100.213"
PROBE_IPV6 = "2001:db8:85a3::8a2e:370:7334"
PROBE_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36 PrivacyProbe/4.2"
)


def _needles() -> list[bytes]:
    needles = [PROBE_IPV4.encode(), PROBE_UA.encode(), b"PrivacyProbe"]
    needles.append(ipaddress.ip_address(PROBE_IPV4).packed)
    needles.append(ipaddress.ip_address(PROBE_IPV6).packed)
    for text in (PROBE_IPV6, ipaddress.ip_address(PROBE_IPV6).exploded):
        needles.append(text.encode())
        needles.append(text.encode("utf-16-le"))
    needles.append(PROBE_IPV4.encode("utf-16-le"))
    return needles


def _scan(folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {n!r}" for n in _needles() if n in data]
    return found


def test_no_ip_or_user_agent_on_disk(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # A long flush interval: the scan below also sees events still only in the write-ahead log.
    server = ServerProcess(data, TINYTRAIL_FLUSH_INTERVAL_MS="60000")
    server.start()
    try:
        headers = {"X-API-KEY": ADMIN_KEY}
        response = httpx.post(
            f"{server.url}/api/v1/websites",
            json={"domain": "private.example", "excluded_ips": ["192.0.2.0/24"]},
            headers=headers,
        )
        site = response.json()["data"]["id"]
        for n, ip in enumerate([PROBE_IPV4, PROBE_IPV6] * 10):
            payload = {
                "website_id": site,
                "event_type": "page_view" if n % 3 else "signup",
                "url": f"https://private.example/p{n}?utm_source=x",
                "path": f"/p{n}",
                "referrer": "https://news.ycombinator.com/",
                "properties": {"plan": "pro"},
            }
            response = httpx.post(
                f"{server.url}/api/v1/collect",
                json=payload,
                headers={"User-Agent": PROBE_UA, "X-Forwarded-For": ip},
            )
            assert response.status_code == 202
            response = httpx.post(
                f"{server.url}/api/event",
                json={
                    "n": "pageview",
                    "u": f"https://private.example/q{n}",
                    "d": "private.example",
                },
                headers={"User-Agent": PROBE_UA, "X-Forwarded-For": ip},
            )
            assert response.status_code == 202
        assert list((data / "wal").glob("*.wal")), "events should be in the write-ahead log"
        assert _scan(data) == []  # while running: WAL, SQLite, DuckDB
    finally:
        server.stop()
    assert _scan(data) == []  # after the flush at shutdown
    assert _scan(tmp_path) == []  # the server's own log too
    # The admin key the operator chose (TINYTRAIL_ADMIN_API_KEY) is not echoed into the log.
    log = server.log.read_text()
    assert "created the admin account" in log and ADMIN_KEY not in log
