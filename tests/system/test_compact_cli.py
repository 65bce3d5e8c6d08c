"""`tinytrail compact`: the event store rewritten without free space, its data unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ADMIN_KEY, CHROME_UA
from tests.system.serverproc import ServerProcess
from tests.system.test_import_cli import clean_env, run_import, stored

pytestmark = pytest.mark.slow

KEPT, GONE = "kept.example", "gone.example"
HEADERS = {"X-API-KEY": ADMIN_KEY}


def pageviews(count: int) -> bytes:
    """`count` pageviews over 30 days in March 2025, of many visitors and pages."""
    lines = [
        {
            "name": "pageview",
            "timestamp": f"2025-03-{1 + n % 30:02d}T{n % 24:02d}:{n % 60:02d}:00Z",
            "user_id": n % 997,
            "pathname": f"/page/{n % 211}",
            "referrer": f"https://site{n % 53}.example/post/{n % 89}",
            "country_code": ("US", "DE", "FR", "GB")[n % 4],
        }
        for n in range(count)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def run_compact(data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tinytrail.cli", "compact", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=120,
    )


def top_pages(server: ServerProcess) -> Any:
    response = httpx.post(
        f"{server.url}/api/v2/query",
        json={
            "site_id": KEPT,
            "metrics": ["visitors", "pageviews", "visits"],
            "dimensions": ["event:page"],
            "date_range": ["2025-03-01", "2025-03-31"],
        },
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_compact_frees_the_space_of_a_deleted_site_and_keeps_the_rest(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data)
    server.start()
    try:
        sites = {}
        for domain in (KEPT, GONE):
            response = httpx.post(
                f"{server.url}/api/v1/websites", json={"domain": domain}, headers=HEADERS
            )
            assert response.status_code == 201, response.text
            sites[domain] = response.json()["data"]["id"]
    finally:
        server.stop()
    for domain in (KEPT, GONE):
        source = tmp_path / f"{domain}.ndjson"
        source.write_bytes(pageviews(60_000))
        done = run_import("--site", domain, "--data-dir", str(data), str(source))
        assert done.returncode == 0, done.stderr
    server = ServerProcess(data)
    server.start()
    try:
        gone = httpx.delete(f"{server.url}/api/v1/websites/{sites[GONE]}", headers=HEADERS)
        assert gone.status_code == 200, gone.text
        before_pages = top_pages(server)
        # Compacting under a running server is refused, and changes nothing.
        size = (data / "events.duckdb").stat().st_size
        refused = run_compact(data)
        assert refused.returncode == 2
        assert "in use" in refused.stderr
        assert (data / "events.duckdb").stat().st_size == size
    finally:
        server.stop()
    before = stored(data)
    size = (data / "events.duckdb").stat().st_size
    (data / "events.duckdb").chmod(0o640)

    done = run_compact(data)

    assert done.returncode == 0, done.stderr
    assert "compacted" in done.stdout
    assert (data / "events.duckdb").stat().st_size < size
    assert not list(data.glob("*.compacting*"))
    assert (data / "events.duckdb").stat().st_mode & 0o777 == 0o640
    assert stored(data) == before
    assert before["events"] == 60_000
    server = ServerProcess(data)
    server.start()
    try:
        assert top_pages(server) == before_pages
        # The compacted store takes new events (its keys and constraints came along).
        collected = httpx.post(
            f"{server.url}/api/v1/collect",
            json={
                "website_id": sites[KEPT],
                "event_type": "page_view",
                "path": "/new",
                "url": "https://kept.example/new",
            },
            headers={"User-Agent": CHROME_UA},
        )
        assert collected.status_code == 202, collected.text
    finally:
        server.stop()
    assert stored(data)["events"] + stored(data)["open"] > before["events"]


def test_compact_without_a_store_says_so(tmp_path: Path) -> None:
    done = run_compact(tmp_path / "empty")
    assert done.returncode == 2
    assert "no event store" in done.stderr
