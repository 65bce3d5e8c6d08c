"""Backpressure: past `TINYTRAIL_MAX_BACKLOG` events waiting for the store, collectors hold
their answers until the flusher catches up; every event is still accepted and stored."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.api.goatcounter_client import account, hit
from tests.support import CHROME_UA, Server, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    # A flusher that never runs on its own: the test decides when the store catches up.
    env = {"TINYTRAIL_MAX_BACKLOG": "2", "TINYTRAIL_FLUSH_INTERVAL_MS": "600000"}
    yield from start_server(tmp_path / "data", **env)


def in_background(call: Any) -> tuple[threading.Event, list[Any]]:
    done, results = threading.Event(), []

    def run() -> None:
        results.append(call())
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, results


def test_answers_wait_for_the_store_past_the_backlog_limit(server: Server) -> None:
    _, site = server.tenant()
    for n in range(2):
        response = server.collect(site["id"], f"/p{n}", ip=f"203.0.113.{n + 1}")
        assert response.status_code == 202
    # Two events wait for the store: the limit. The next answer is held...
    done, results = in_background(lambda: server.collect(site["id"], "/p2", ip="203.0.113.9"))
    assert not done.wait(0.5)
    # ... until the flusher has moved the backlog into the store.
    server.flush()
    assert done.wait(5)
    assert results[0].status_code == 202
    assert sorted(event["pathname"] for event in server.events()) == ["/p0", "/p1", "/p2"]


def test_the_backlog_limit_is_at_least_one(tmp_path: Path) -> None:
    # 0 would hold every answer: refused at start-up, as any invalid setting.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TINYTRAIL_")}
    env.update(TINYTRAIL_DATA_DIR=str(tmp_path / "data"), TINYTRAIL_MAX_BACKLOG="0")
    done = subprocess.run(
        [sys.executable, "-m", "tinytrail.cli", "settings"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2
    assert "TINYTRAIL_MAX_BACKLOG" in done.stderr
    assert "must be at least 1" in done.stderr


def test_the_events_api_waits_too(server: Server) -> None:
    _, site = server.tenant()
    for n in range(2):
        server.collect(site["id"], f"/p{n}", ip=f"203.0.113.{n + 1}")
    done, results = in_background(
        lambda: server.client.post(
            "/api/event",
            content=b'{"n":"pageview","u":"https://example.com/held","d":"example.com"}',
            headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "203.0.113.9"},
        )
    )
    assert not done.wait(0.5)
    server.flush()
    assert done.wait(5)
    assert results[0].status_code == 202
    assert sorted(event["pathname"] for event in server.events()) == ["/held", "/p0", "/p1"]


def test_a_backlog_past_a_quarter_of_the_limit_is_flushed_before_the_interval(
    tmp_path: Path,
) -> None:
    """GoatCounter batches can outrun a flusher that only wakes every interval: once
    a quarter of the limit (at least 10,000 events) waits, it flushes at once."""
    env = {"TINYTRAIL_MAX_BACKLOG": "40000", "TINYTRAIL_FLUSH_INTERVAL_MS": "600000"}
    for server in start_server(tmp_path / "data", **env):
        gc = account(server)[0]
        store = server.runtime.store
        for batch in range(21):
            hits = [hit(f"/b{batch}/{n}") for n in range(500)]
            assert gc.count(*hits, no_sessions=True).status_code == 202
        deadline = time.monotonic() + 20
        while store.fetch("SELECT count(*) FROM events")[0][0] < 10_000:
            assert time.monotonic() < deadline, "the flusher waited for its interval"
            time.sleep(0.05)


class FullDisk:
    """The real store, with every commit failing as on a full disk (fault injection)."""

    def __init__(self, store: Any) -> None:
        self.store, self.attempts = store, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def commit_batch(self, *args: Any, **kwargs: Any) -> None:
        self.attempts += 1
        raise duckdb.IOException("No space left on device")


def test_a_failing_store_is_retried_once_an_interval_however_big_the_backlog(
    tmp_path: Path,
) -> None:
    """Collectors nudging the flusher must not turn its retries of a failing store (a full
    disk, say) into a loop: it tries again once an interval, and nothing is lost."""
    env = {"TINYTRAIL_MAX_BACKLOG": "60000", "TINYTRAIL_FLUSH_INTERVAL_MS": "5000"}
    for server in start_server(tmp_path / "data", **env):
        gc = account(server)[0]
        flusher = server.runtime.flusher
        real = flusher.store
        full = FullDisk(real)
        flusher.store = full  # type: ignore[assignment]
        started = time.monotonic()
        for batch in range(100):  # 50,000 hits: a nudge at each 15,000 that pile up
            hits = [hit(f"/b{batch}/{n}") for n in range(500)]
            assert gc.count(*hits, no_sessions=True).status_code == 202
        elapsed = time.monotonic() - started
        assert full.attempts <= elapsed / 5 + 2, "the flusher retried in a loop"
        flusher.store = real
        assert len(server.events()) == 50_000
