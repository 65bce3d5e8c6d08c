"""An event answered 202 survives `kill -9` of the server at any moment."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import duckdb
import httpx
import pytest

from tests.support import ADMIN_KEY, CHROME_UA
from tests.system.serverproc import ServerProcess

pytestmark = pytest.mark.slow


def _create_site(base: str) -> str:
    headers = {"X-API-KEY": ADMIN_KEY}
    response = httpx.post(
        f"{base}/api/v1/websites", json={"domain": "durable.example"}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _post_until_stopped(
    base: str, site: str, worker: int, acked: list[str], stop: threading.Event
) -> None:
    with httpx.Client(base_url=base, timeout=5) as client:
        n = 0
        while not stop.is_set():
            path = f"/w{worker}/e{n}"
            n += 1
            try:
                response = client.post(
                    "/api/v1/collect",
                    json={
                        "website_id": site,
                        "event_type": "page_view",
                        "url": f"https://durable.example{path}",
                        "path": path,
                    },
                    headers={"User-Agent": CHROME_UA, "X-Forwarded-For": f"198.51.100.{worker}"},
                )
            except httpx.HTTPError:
                return  # the server is gone
            if response.status_code == 202:
                acked.append(path)


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # A long flush interval keeps most acknowledged events only in the write-ahead log.
    server = ServerProcess(data, TINYTRAIL_FLUSH_INTERVAL_MS="2000")
    server.start()
    try:
        site = _create_site(server.url)
        acked: list[str] = []
        stop = threading.Event()
        workers = [
            threading.Thread(target=_post_until_stopped, args=(server.url, site, w, acked, stop))
            for w in range(4)
        ]
        for worker in workers:
            worker.start()
        while len(acked) < 300:
            threading.Event().wait(0.05)
        server.kill()  # SIGKILL while requests are in flight
        stop.set()
        for worker in workers:
            worker.join()

        server.start()  # replays the write-ahead log
        server.stop()
    finally:
        server.stop()

    with duckdb.connect(str(data / "events.duckdb"), read_only=True) as con:
        stored = {row[0] for row in con.execute("SELECT pathname FROM events").fetchall()}
    missing = [path for path in acked if path not in stored]
    assert len(acked) >= 300
    assert missing == []


def _pageview(base: str, site: str, path: str) -> None:
    """One pageview of the same visitor (IP and User-Agent), acknowledged."""
    response = httpx.post(
        f"{base}/api/v1/collect",
        json={"website_id": site, "event_type": "page_view", "path": path,
              "url": f"https://durable.example{path}"},
        headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "198.51.100.9"},
    )  # fmt: skip
    assert response.status_code == 202


def test_a_site_deleted_just_before_a_crash_loses_its_stored_data_at_the_next_start(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data)
    server.start()
    try:
        site = _create_site(server.url)
        for n in range(3):
            _pageview(server.url, site, f"/p{n}")
    finally:
        server.stop()
    # The metadata delete committed, then the process died before purging the event store.
    with sqlite3.connect(data / "tinytrail.sqlite3") as meta:
        meta.execute("DELETE FROM sites WHERE domain = 'durable.example'")
    with duckdb.connect(str(data / "events.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (3,)

    server.start()
    server.stop()
    with duckdb.connect(str(data / "events.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM all_sessions").fetchone() == (0,)


def test_a_visitor_keeps_their_number_after_a_crash_before_any_flush(tmp_path: Path) -> None:
    """The hash behind a new visitor number travels in the write-ahead log with its event."""
    data = tmp_path / "data"
    server = ServerProcess(data, TINYTRAIL_FLUSH_INTERVAL_MS="60000")
    server.start()
    try:
        site = _create_site(server.url)
        _pageview(server.url, site, "/first")
        server.kill()  # only the log has the event, and the number's hash
        server.start()
        _pageview(server.url, site, "/second")
    finally:
        server.stop()
    with duckdb.connect(str(data / "events.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT seq, visitor_id, session_id FROM events ORDER BY seq").fetchall()
    (first_seq, first_visitor, first_visit), (_, second_visitor, second_visit) = rows
    assert first_visitor == first_seq
    assert (second_visitor, second_visit) == (first_visitor, first_visit)
