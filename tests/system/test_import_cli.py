"""`tinytrail import` as a real command: into an idle data folder, or through a running server."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.support import ADMIN_KEY
from tests.system.serverproc import ServerProcess, free_port

pytestmark = pytest.mark.slow

DOMAIN = "cli.example"


def lines(count: int, bad: int = 0) -> bytes:
    """`count` pageviews of visitor 7, five minutes apart (one visit), then `bad` broken lines."""
    good = [
        {
            "name": "pageview",
            "timestamp": f"2025-06-01T10:{5 * n:02d}:00Z",
            "user_id": 7,
            "pathname": f"/p{n}",
        }
        for n in range(count)
    ]
    text = "".join(json.dumps(line) + "\n" for line in good)
    return (text + '{"name": "pageview"\n' * bad).encode()


def create_site(server: ServerProcess) -> None:
    response = httpx.post(
        f"{server.url}/api/v1/websites", json={"domain": DOMAIN}, headers={"X-API-KEY": ADMIN_KEY}
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder holding one site, with no server running on it."""
    folder = tmp_path / "data"
    server = ServerProcess(folder)
    server.start()
    try:
        create_site(server)
    finally:
        server.stop()
    return folder


@pytest.fixture
def running(data: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(data)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any TinyTrail setting of the developer's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYTRAIL_")}
    return {**env, **extra}


def run_import(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tinytrail.cli", "import", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=120,
    )


def stored(data: Path) -> dict[str, Any]:
    with duckdb.connect(str(data / "events.duckdb"), read_only=True) as con:

        def count(sql: str) -> int:
            row = con.execute(sql).fetchone()
            assert row is not None
            return int(row[0])

        return {
            "events": count("SELECT count(*) FROM events"),
            "visits": count("SELECT count(*) FROM sessions"),
            "open": count("SELECT count(*) FROM sessions_open"),
            "pageviews": count("SELECT coalesce(sum(pageviews), 0) FROM sessions"),
        }


def write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


# -- straight into the data folder ----------------------------------------------------------


def test_imports_into_an_idle_data_folder(data: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "events.ndjson", lines(3, bad=1))
    done = run_import("--site", DOMAIN, "--data-dir", str(data), str(source))
    assert done.returncode == 0, done.stderr
    assert "loaded 3, skipped 1" in done.stdout
    assert "line 4:" in done.stdout
    assert stored(data) == {"events": 3, "visits": 1, "open": 0, "pageviews": 3}


def test_reads_gzipped_files(data: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "events.ndjson.gz", gzip.compress(lines(4)))
    done = run_import(
        "--site", DOMAIN, "--format", "plausible", "--data-dir", str(data), str(source)
    )
    assert done.returncode == 0, done.stderr
    assert "loaded 4, skipped 0" in done.stdout
    assert stored(data)["events"] == 4


def test_a_truncated_gzip_loads_what_it_holds_and_says_so(data: Path, tmp_path: Path) -> None:
    whole = gzip.compress(lines(12))
    source = write(tmp_path / "events.ndjson.gz", whole[: len(whole) - 12])
    done = run_import("--site", DOMAIN, "--data-dir", str(data), str(source))
    assert done.returncode == 2
    assert "ends unreadably" in done.stderr
    loaded = int(done.stdout.split("loaded ")[1].split(",")[0])
    assert 0 < loaded <= 12
    counts = stored(data)
    assert (counts["events"], counts["pageviews"], counts["open"]) == (loaded, loaded, 0)


def test_reads_stdin_and_the_data_folder_from_the_environment(data: Path) -> None:
    done = run_import(
        "--site", DOMAIN, "-", stdin=lines(2), env=clean_env(TINYTRAIL_DATA_DIR=str(data))
    )
    assert done.returncode == 0, done.stderr
    assert "loaded 2, skipped 0" in done.stdout
    assert stored(data)["events"] == 2


def test_a_server_started_afterwards_keeps_counting(data: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "events.ndjson", lines(2))
    assert run_import("--site", DOMAIN, "--data-dir", str(data), str(source)).returncode == 0
    server = ServerProcess(data)
    server.start()
    try:
        headers = {"X-API-KEY": ADMIN_KEY}
        [site] = httpx.get(f"{server.url}/api/v1/websites", headers=headers).json()["data"]
        response = httpx.post(
            f"{server.url}/api/v1/collect",
            json={
                "website_id": site["id"],
                "event_type": "page_view",
                "url": f"https://{DOMAIN}/live",
                "path": "/live",
            },
            headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"},
        )
        assert response.status_code == 202, response.text
    finally:
        server.stop()
    with duckdb.connect(str(data / "events.duckdb"), read_only=True) as con:
        # The live event's sequence number does not collide with the imported ones.
        assert con.execute("SELECT count(DISTINCT seq) FROM events").fetchall() == [(3,)]
        assert con.execute("SELECT count(*) FROM all_sessions").fetchall() == [(2,)]


def test_exit_1_when_every_line_fails(data: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "events.ndjson", lines(0, bad=3))
    done = run_import("--site", DOMAIN, "--data-dir", str(data), str(source))
    assert done.returncode == 1
    assert "loaded 0, skipped 3" in done.stdout


def test_an_empty_file_is_fine(data: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "events.ndjson", b"")
    done = run_import("--site", DOMAIN, "--data-dir", str(data), str(source))
    assert done.returncode == 0, done.stderr
    assert "loaded 0, skipped 0" in done.stdout


def test_an_unknown_site_or_missing_file_is_a_clear_error(data: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "events.ndjson", lines(1))
    done = run_import("--site", "other.example", "--data-dir", str(data), str(source))
    assert done.returncode == 2
    assert "other.example" in done.stderr
    done = run_import("--site", DOMAIN, "--data-dir", str(data), str(tmp_path / "missing.ndjson"))
    assert done.returncode == 2
    assert "missing.ndjson" in done.stderr
    assert stored(data)["events"] == 0


def test_a_folder_without_data_is_not_created(tmp_path: Path) -> None:
    source = write(tmp_path / "events.ndjson", lines(1))
    done = run_import("--site", DOMAIN, "--data-dir", str(tmp_path / "nothing"), str(source))
    assert done.returncode == 2
    assert "no TinyTrail data" in done.stderr
    assert not (tmp_path / "nothing").exists()


# -- through a running server ---------------------------------------------------------------


def test_sends_to_the_server_given(running: ServerProcess, data: Path, tmp_path: Path) -> None:
    source = write(tmp_path / "events.ndjson.gz", gzip.compress(lines(3, bad=2)))
    done = run_import(
        "--site", DOMAIN, "--server", running.url, "--api-key", ADMIN_KEY, str(source)
    )
    assert done.returncode == 0, done.stderr
    assert "loaded 3, skipped 2" in done.stdout
    assert "line 4:" in done.stdout and "line 5:" in done.stdout
    running.stop()
    assert stored(data) == {"events": 3, "visits": 1, "open": 0, "pageviews": 3}


def test_a_busy_data_folder_goes_through_its_server(
    running: ServerProcess, data: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "events.ndjson", lines(2))
    env = clean_env(TINYTRAIL_PORT=str(running.port), TINYTRAIL_ADMIN_API_KEY=ADMIN_KEY)
    done = run_import("--site", DOMAIN, "--data-dir", str(data), str(source), env=env)
    assert done.returncode == 0, done.stderr
    assert "sending to the server" in done.stderr
    assert "loaded 2, skipped 0" in done.stdout
    running.stop()
    assert stored(data)["events"] == 2


def test_a_busy_data_folder_without_a_reachable_server_says_what_to_do(
    running: ServerProcess, data: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "events.ndjson", lines(2))
    # Neither the server's note in the data folder nor this shell's settings reach it (as for
    # a server behind another address): the command cannot find it.
    (data / "server.url").write_text(f"http://localhost:{free_port()}\n")
    env = clean_env(TINYTRAIL_PORT=str(free_port()))
    done = run_import("--site", DOMAIN, "--data-dir", str(data), str(source), env=env)
    assert done.returncode == 2
    assert "--server" in done.stderr


def test_the_command_finds_the_server_through_its_note_in_the_data_folder(
    running: ServerProcess, data: Path, tmp_path: Path
) -> None:
    source = write(tmp_path / "events.ndjson", lines(2))
    env = clean_env(TINYTRAIL_PORT=str(free_port()), TINYTRAIL_ADMIN_API_KEY=ADMIN_KEY)
    done = run_import("--site", DOMAIN, "--data-dir", str(data), str(source), env=env)
    assert done.returncode == 0, done.stderr
    assert f"sending to the server at http://localhost:{running.port}" in done.stderr
    assert "loaded 2, skipped 0" in done.stdout


def test_the_server_refuses_a_wrong_key(running: ServerProcess, tmp_path: Path) -> None:
    source = write(tmp_path / "events.ndjson", lines(1))
    done = run_import(
        "--site", DOMAIN, "--server", running.url, "--api-key", "tt_nope", str(source)
    )
    assert done.returncode == 2
    assert "401" in done.stderr
