"""A real third-party GoatCounter client, unmodified, against a real server: `goatpie` (PyPI).

goatpie is a terminal dashboard; its `GoatPie` class is the API client underneath. It starts
an export with `POST /api/v0/export`, reads the `X-Rate-Limit-*` headers, polls
`GET /api/v0/export/{id}` (sending a JSON body on a GET), downloads the gzipped CSV, loads it
with pandas and answers its panels with SQL over the CSV's columns (`2Path`, `Session`, ...).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ADMIN_KEY, CHROME_UA
from tests.system.serverproc import ServerProcess

pytestmark = pytest.mark.slow

FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data")
    process.start()
    try:
        yield process
    finally:
        process.stop()


def user_key(server: ServerProcess) -> str:
    """A fresh account with one user and one site, seeded through `/api/v0/count`."""
    admin = {"X-API-KEY": ADMIN_KEY}
    account = httpx.post(f"{server.url}/api/v1/accounts", json={"name": "Goat"}, headers=admin)
    user = httpx.post(
        f"{server.url}/api/v1/users",
        json={"account_id": account.json()["data"]["id"], "role": "user"},
        headers=admin,
    )
    key = str(user.json()["data"]["apiKey"])
    site = httpx.post(
        f"{server.url}/api/v1/websites", json={"domain": "goat.example"}, headers={"X-API-KEY": key}
    )
    assert site.status_code == 201, site.text
    hits = [
        {"path": "/", "session": "one", "user_agent": CHROME_UA},
        {"path": "/about", "session": "one", "user_agent": CHROME_UA},
        {"path": "/", "session": "two", "user_agent": FIREFOX_UA, "ref": "https://www.google.com/"},
    ]
    counted = httpx.post(
        f"{server.url}/api/v0/count",
        json={"hits": hits},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert counted.status_code == 202, counted.text
    return key


def test_goatpie_exports_and_reads_our_data(server: ServerProcess, tmp_path: Path) -> None:
    from goatpie import GoatPie

    key = user_key(server)
    folder = tmp_path / "goatpie"
    client = GoatPie(server.url, key, str(folder))
    client.update(0)  # its constructor skips a fresh cache; 0 forces the export
    log = (folder / "debug.log").read_text() if (folder / "debug.log").exists() else ""
    # goatpie logs every failure; the only expected one is its constructor's "skipping".
    assert log.count("Traceback") == log.count("Exception: Last update was"), log
    pages = client.get_pages()
    assert dict(zip(pages["Page"], pages["Total"], strict=True)) == {"/": 2, "/about": 1}
    browsers = client.get_browsers()
    assert set(browsers["Browser"]) == {"Chrome 120.0", "Firefox 120.0"}
    visits = client.get_visits()
    assert list(visits["Visits"]) == [2]
    referrers = client.get_referrers()
    assert "Google" in set(referrers["Referrer"])
    assert (folder / ".next_idx").read_text() == "4"  # its cursor: our last hit id + 1
