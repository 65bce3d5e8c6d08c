"""`tinytrail import/export --format goatcounter` and `tinytrail api-keys` as real commands."""

from __future__ import annotations

import csv
import gzip
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ADMIN_KEY
from tests.system.serverproc import ServerProcess

pytestmark = pytest.mark.slow

DOMAIN = "goat.example"
HEADER = (
    "2Path,Title,Event,UserAgent,Browser,System,Session,Bot,Referrer,Referrer scheme,"
    "Screen size,Location,FirstVisit,Date"
)
ROWS = [
    '/a,Page A,0,,Firefox 120,Linux,11-22,0,example.org/x,h,"1920,0,1",DE,1,2025-06-01T10:00:00Z',
    '/b,Page B,0,,Firefox 120,Linux,11-22,0,example.org/x,h,"1920,0,1",DE,1,2025-06-01T10:05:00Z',
    'signup,,1,,Chrome 126,Windows 10,33-44,0,Google,g,"390,0,1",US-TX,1,2025-06-02T08:00:00Z',
]


def csv_file(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_bytes(gzip.compress(("\n".join([header, *rows]) + "\n").encode()))
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYTRAIL_")}
    return {**env, **extra}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tinytrail.cli", *args],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        timeout=120,
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder holding one site, with no server running on it."""
    folder = tmp_path / "data"
    server = ServerProcess(folder)
    server.start()
    try:
        response = httpx.post(
            f"{server.url}/api/v1/websites",
            json={"domain": DOMAIN},
            headers={"X-API-KEY": ADMIN_KEY},
        )
        assert response.status_code == 201, response.text
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


def exported_rows(path: Path) -> list[list[str]]:
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    assert text.splitlines()[0] == HEADER
    return list(csv.reader(io.StringIO(text)))[1:]


def test_import_then_export_in_an_idle_data_folder(data: Path, tmp_path: Path) -> None:
    source = csv_file(tmp_path / "goatcounter-export.csv.gz", [*ROWS, "/broken,row"])
    done = run(
        "import", "--format", "goatcounter", "--site", DOMAIN, "--data-dir", str(data), str(source)
    )
    assert done.returncode == 0, done.stderr
    assert "loaded 3, skipped 1" in done.stdout
    assert "line 5: wrong number of fields: 2 (want: 14)" in done.stdout
    target = tmp_path / "out.csv.gz"
    done = run(
        "export",
        "--format",
        "goatcounter",
        "--site",
        DOMAIN,
        "--data-dir",
        str(data),
        "-o",
        str(target),
    )
    assert done.returncode == 0, done.stderr
    assert "exported 3 rows" in done.stderr
    rows = exported_rows(target)
    assert [(r[0], r[1], r[2], r[4], r[8], r[9], r[11]) for r in rows] == [
        ("/a", "Page A", "0", "Firefox 120", "example.org/x", "h", "DE"),
        ("/b", "Page B", "0", "Firefox 120", "example.org/x", "h", "DE"),
        ("signup", "", "1", "Chrome 126", "Google", "g", "US-TX"),
    ]
    # Upstream sessions become visitors: the first two rows are one visitor, one visit.
    assert rows[0][6] == rows[1][6] != rows[2][6]
    assert [r[12] for r in rows] == ["1", "1", "1"]


def test_wrong_csv_versions_are_refused_with_the_line(data: Path, tmp_path: Path) -> None:
    source = csv_file(tmp_path / "old.csv.gz", ROWS, header=HEADER.replace("2Path", "1Path"))
    done = run(
        "import", "--format", "goatcounter", "--site", DOMAIN, "--data-dir", str(data), str(source)
    )
    assert done.returncode == 2
    assert "line 1: wrong version of CSV database: 1 (expected: 2)" in done.stderr


def test_import_and_export_through_a_running_server(running: ServerProcess, tmp_path: Path) -> None:
    env = clean_env(
        TINYTRAIL_DATA_DIR=str(running.data_dir),
        TINYTRAIL_PORT=str(running.port),
        TINYTRAIL_ADMIN_API_KEY=ADMIN_KEY,
    )
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join([HEADER, *ROWS]) + "\n")
    done = run("import", "--format", "goatcounter", "--site", DOMAIN, str(plain), env=env)
    assert done.returncode == 0, done.stderr
    assert "sending to the server" in done.stderr and "loaded 3, skipped 0" in done.stdout
    target = tmp_path / "out.csv"
    done = run("export", "--format", "goatcounter", "--site", DOMAIN, "-o", str(target), env=env)
    assert done.returncode == 0, done.stderr
    assert [r[0] for r in exported_rows(target)] == ["/a", "/b", "signup"]
    done = run("export", "--site", DOMAIN, "--start-from-hit-id", "2", env=env)
    assert done.returncode == 0, done.stderr
    assert [r[0] for r in list(csv.reader(io.StringIO(done.stdout)))[1:]] == ["signup"]


def test_api_keys_command(data: Path) -> None:
    env = clean_env(TINYTRAIL_DATA_DIR=str(data))
    created = run(
        "api-keys",
        "create",
        "--key",
        ADMIN_KEY,
        "--name",
        "ci",
        "--scope",
        "count",
        "--scope",
        "stats",
        env=env,
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("tt_")
    listed = run("api-keys", "list", "--key", key, env=env)
    assert listed.returncode == 0, listed.stderr
    lines = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [(row[2], row[3]) for row in lines] == [("bootstrap", "(all)"), ("ci", "count,stats")]
    bad = run("api-keys", "create", "--key", ADMIN_KEY, "--name", "x", "--scope", "root", env=env)
    assert bad.returncode == 2 and "unknown scope 'root'" in bad.stderr
    ci_id = lines[1][0]
    deleted = run("api-keys", "delete", "--key", ADMIN_KEY, ci_id, env=env)
    assert deleted.returncode == 0, deleted.stderr
    assert run("api-keys", "list", "--key", key, env=env).returncode == 2  # the key is gone
