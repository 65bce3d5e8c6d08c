"""`tinytrail demo` as a real command: on a fresh data folder, and through a running server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ADMIN_KEY
from tests.system.serverproc import ServerProcess

pytestmark = pytest.mark.slow


def run_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TINYTRAIL_")}
    return subprocess.run(
        [sys.executable, "-m", "tinytrail.cli", "demo", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=120,
    )


def query(server: ServerProcess, **body: Any) -> list[dict[str, Any]]:
    response = httpx.post(
        f"{server.url}/api/v2/query",
        json=body,
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    return results


def test_demo_fills_a_fresh_data_folder_with_a_site_goals_and_a_funnel(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"TINYTRAIL_ADMIN_API_KEY": ADMIN_KEY}
    first = run_demo("--data-dir", str(data), "--days", "7", "--events", "6000", env=env)
    assert first.returncode == 0, first.stderr
    assert "created the admin account" in first.stdout
    [loaded] = [line for line in first.stdout.splitlines() if line.startswith("demo site")]
    assert loaded.startswith("demo site demo.example: ") and loaded.endswith(" events loaded")
    count, total = loaded.split(": ")[1].split(" events")[0].split(" of ")
    assert count == total and int(count) > 5000

    # A second run would double the traffic: refused, nothing added.
    again = run_demo("--data-dir", str(data), "--days", "7", "--events", "6000", env=env)
    assert again.returncode == 2
    assert "demo.example already has events" in again.stderr

    server = ServerProcess(data)
    server.start()
    try:
        week = {"site_id": "demo.example", "date_range": "7d"}
        [totals] = query(
            server, metrics=["visitors", "visits", "pageviews", "bounce_rate", "events"], **week
        )
        visitors, visits, pageviews, bounce_rate, events = totals["metrics"]
        assert 0 < visitors <= visits < pageviews < events <= int(count)
        assert 30 <= bounce_rate <= 60
        # The data runs up to now: today has visitors too.
        [today] = query(server, site_id="demo.example", metrics=["visitors"], date_range="day")
        assert today["metrics"][0] > 0
        goals = query(server, metrics=["visitors"], dimensions=["event:goal"], **week)
        names = {row["dimensions"][0] for row in goals}
        assert {"Visit /", "Visit /pricing", "Signup"} <= names
        [revenue] = query(
            server,
            metrics=["total_revenue"],
            filters=[["is", "event:goal", ["Purchase"]]],
            **week,
        )
        assert revenue["metrics"][0]["currency"] == "USD"
        funnels = httpx.get(
            f"{server.url}/api/v1/sites/funnels",
            params={"site_id": "demo.example"},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        ).json()["funnels"]
        assert [f["name"] for f in funnels] == ["Visit to signup"]
    finally:
        server.stop()


def test_demo_goes_through_the_server_that_holds_the_data_folder(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        env = {"TINYTRAIL_ADMIN_API_KEY": ADMIN_KEY, "TINYTRAIL_PORT": str(server.port)}
        args = ("--data-dir", str(server.data_dir), "--site", "shop.example", "--days", "3")
        done = run_demo(*args, "--events", "2000", env=env)
        assert done.returncode == 0, done.stderr
        assert "asking the server at" in done.stderr
        [totals] = query(
            server, site_id="shop.example", metrics=["visitors", "pageviews"], date_range="7d"
        )
        assert totals["metrics"][0] > 0 and totals["metrics"][1] > totals["metrics"][0]

        refused = run_demo(*args, "--events", "2000", env=env)
        assert refused.returncode == 2
        assert "shop.example already has events" in refused.stderr

        no_key = run_demo(
            *args, "--site", "other.example", env={"TINYTRAIL_PORT": str(server.port)}
        )
        assert no_key.returncode == 2
        assert "needs an admin key" in no_key.stderr
    finally:
        server.stop()
