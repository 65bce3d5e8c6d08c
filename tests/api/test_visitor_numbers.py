"""Stored visitor ids are visitor numbers: the seq of the visitor's first event of the day.

The salted hash behind a number is kept (in memory and in `visitor_keys`) only while its salt
is in use, and a returning visitor keeps their number across restarts of the server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support import IPHONE_UA, Clock, Server, start_server

MORNING = datetime(2026, 3, 18, 10, 0, tzinfo=UTC)


def _keys(server: Server) -> list[dict[str, Any]]:
    server.flush()
    return server.runtime.store.fetch_dicts("SELECT * FROM visitor_keys ORDER BY number")


def test_a_visitor_keeps_one_number_per_day(tmp_path: Path) -> None:
    for server in start_server(tmp_path / "data", Clock(MORNING)):
        _, site = server.tenant()
        assert server.collect(site["id"], "/").status_code == 202
        server.clock.advance(minutes=1)
        assert server.collect(site["id"], "/", ua=IPHONE_UA).status_code == 202
        server.clock.advance(hours=2)  # the first visitor again, in a new visit
        assert server.collect(site["id"], "/again").status_code == 202
        server.clock.advance(days=1)  # the next day: a new salt, a new number
        assert server.collect(site["id"], "/tomorrow").status_code == 202

        first, other, again, tomorrow = server.events()
        assert first["visitor_id"] == first["seq"]
        assert other["visitor_id"] == other["seq"]
        assert again["visitor_id"] == first["visitor_id"]
        assert again["session_id"] != first["session_id"]
        assert tomorrow["visitor_id"] == tomorrow["seq"]
        visits = server.visits()
        assert [v["visitor_id"] for v in visits] == [
            first["seq"],
            other["seq"],
            first["seq"],
            tomorrow["seq"],
        ]
        assert [k["number"] for k in _keys(server)] == [first["seq"], other["seq"], tomorrow["seq"]]

        # Once no timezone is on those dates any more, their salts are deleted, and the
        # hashes they made too.
        server.clock.advance(days=3)
        server.runtime.forget_old_salts()
        assert _keys(server) == []
        assert len(server.runtime.ingestor.visits.numbers) == 0


def test_a_returning_visitor_keeps_the_number_across_a_restart(tmp_path: Path) -> None:
    clock = Clock(MORNING)
    for server in start_server(tmp_path / "data", clock):
        _, site = server.tenant()
        assert server.collect(site["id"], "/").status_code == 202
        (first,) = server.events()
    clock.advance(hours=3)  # the visit is over
    for server in start_server(tmp_path / "data", clock):
        assert server.collect(site["id"], "/back").status_code == 202
        assert server.collect(site["id"], "/other", ip="198.51.100.20").status_code == 202
        _, back, other = server.events()
        assert back["visitor_id"] == first["visitor_id"]
        assert back["session_id"] != first["session_id"]
        assert other["visitor_id"] not in (first["visitor_id"], 0)


def test_visitors_seen_before_the_upgrade_keep_their_hashed_ids_that_day(tmp_path: Path) -> None:
    """A database from before visitor numbers stored the hashes as ids (the layout that
    `visitor_keys` replaced): a visitor returning after the upgrade is still one visitor, in
    the visit they were in."""
    clock = Clock(MORNING)
    for server in start_server(tmp_path / "data", clock):
        _, site = server.tenant()
        assert server.collect(site["id"], "/").status_code == 202
        [key] = _keys(server)
        store = server.runtime.store
        for table in ("events", "sessions_open"):
            store.fetch(f"UPDATE {table} SET visitor_id = ?", [key["key"]])
        store.fetch("DELETE FROM visitor_keys")
    clock.advance(minutes=10)
    for server in start_server(tmp_path / "data", clock):
        assert server.collect(site["id"], "/again").status_code == 202
        before, after = server.events()
        assert after["visitor_id"] == before["visitor_id"] == key["key"]
        assert after["session_id"] == before["session_id"]
        assert [v["pageviews"] for v in server.visits()] == [2]
