"""`tinytrail create-admin` and `tinytrail doctor` as real commands, beside a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support import ADMIN_KEY
from tests.system.serverproc import ServerProcess

pytestmark = pytest.mark.slow


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TINYTRAIL_")}
    return subprocess.run(
        [sys.executable, "-m", "tinytrail.cli", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=60,
    )


def printed_key(output: str) -> str:
    [line] = [line for line in output.splitlines() if "admin API key:" in line]
    return line.rsplit(" ", 1)[1]


def test_doctor_on_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    result = run("doctor", "--data-dir", str(tmp_path / "nothing"))
    assert result.returncode == 1
    assert "FAIL  no data folder there yet" in result.stdout


def test_create_admin_on_an_empty_folder_bootstraps_the_installation(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = run("create-admin", "--data-dir", str(data))
    assert created.returncode == 0, created.stderr
    key = printed_key(created.stdout)
    server = ServerProcess(data, TINYTRAIL_ADMIN_API_KEY="")
    server.start()
    try:
        users = httpx.get(f"{server.url}/api/v1/users", headers={"X-API-KEY": key})
        assert users.status_code == 200
        assert [u["role"] for u in users.json()["data"]] == ["admin"]
    finally:
        server.stop()


def test_create_admin_and_doctor_beside_a_running_server(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data")
    server.start()
    data = str(server.data_dir)
    try:
        # This shell's settings do not name the server's port: the server's note in the data
        # folder does.
        noted = (server.data_dir / "server.url").read_text().strip()
        assert noted == f"http://localhost:{server.port}"
        healthy = run("doctor", "--data-dir", data)
        assert healthy.returncode == 0, healthy.stdout
        assert f"event store held by the server at {noted}" in healthy.stdout
        assert "ok    metadata database (sqlite)" in healthy.stdout

        # A lost admin key: a new admin, usable at once by the running server.
        created = run("create-admin", "--data-dir", data, "--email", "ops@example.com")
        assert created.returncode == 0, created.stderr
        key = printed_key(created.stdout)
        users = httpx.get(f"{server.url}/api/v1/users", headers={"X-API-KEY": key}).json()
        admins = [u for u in users["data"] if u["role"] == "admin"]
        assert len(admins) == 2
        assert len({u["accountId"] for u in admins}) == 1  # the first admin's account
    finally:
        server.stop()

    assert not (server.data_dir / "server.url").exists()
    stopped = run("doctor", "--data-dir", data)
    assert stopped.returncode == 0, stopped.stdout
    assert "ok    event store readable: 0 events" in stopped.stdout

    (server.data_dir / "secret.key").chmod(0o644)
    loose = run("doctor", "--data-dir", data)
    assert loose.returncode == 0
    assert "warn  " in loose.stdout and "chmod 600" in loose.stdout

    (server.data_dir / "events.duckdb").write_bytes(b"not a database" * 100)
    broken = run("doctor", "--data-dir", data)
    assert broken.returncode == 1
    assert "FAIL  event store:" in broken.stdout
    assert "Traceback" not in broken.stdout + broken.stderr


def test_a_second_server_on_the_same_data_folder_says_why_it_cannot_start(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "data")
    server.start()
    try:
        second = run("serve", "--data-dir", str(server.data_dir), "--port", "1")
        assert second.returncode == 2
        assert "is in use by another process" in second.stderr
        assert "Traceback" not in second.stderr
        assert httpx.get(f"{server.url}/health").status_code == 200
    finally:
        server.stop()


def test_aggregate_on_a_data_folder_and_through_its_server(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run("create-admin", "--data-dir", str(data)).returncode == 0
    local = run("aggregate", "--data-dir", str(data), "--date", "2026-01-05")
    assert local.returncode == 0, local.stderr
    assert local.stdout.startswith("aggregated 0 site(s)")
    assert run("aggregate", "--data-dir", str(data), "--date", "5 Jan").returncode == 2

    server = ServerProcess(tmp_path / "served")
    server.start()
    try:
        served = str(server.data_dir)
        asked = run(
            "aggregate", "--data-dir", served, "--date", "2026-01-05", "--api-key", ADMIN_KEY
        )
        assert asked.returncode == 0, asked.stderr
        assert asked.stdout.strip() == "Aggregation completed for 2026-01-05"
        refused = run("aggregate", "--data-dir", served, "--api-key", "tt_wrong")
        assert refused.returncode == 1
        assert "tinytrail: the server refused (401): Invalid API key\n" in refused.stderr
        assert "{" not in refused.stderr  # words, not the raw envelope
    finally:
        server.stop()
