"""Times are stored to the second, as Plausible and GoatCounter keep them.

Events of one second still keep their order (the funnel report follows arrival order within a
second), and visit durations are whole-second differences, as Plausible computes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support import Clock, Server, start_server

DAY = {"start_date": "2026-03-18", "end_date": "2026-03-18"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    yield from start_server(tmp_path / "data", Clock(datetime(2026, 3, 18, 10, 0, 0, 900_000, UTC)))


def _report(server: Server, key: str, site: str, endpoint: str, **params: Any) -> Any:
    response = server.client.get(
        f"/api/v1/reports/{endpoint}",
        params={"website_id": site, "period": "custom", **DAY, **params},
        headers={"X-API-KEY": key},
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_times_are_whole_seconds(server: Server) -> None:
    key, site = server.tenant()
    assert server.collect(site["id"], "/").status_code == 202
    server.clock.advance(seconds=9.3)  # 10:00:10.200
    assert server.collect(site["id"], "/pricing").status_code == 202
    events = server.events()
    assert [e["ts"] for e in events] == [
        datetime(2026, 3, 18, 10, 0),
        datetime(2026, 3, 18, 10, 0, 10),
    ]
    (visit,) = server.visits()
    assert (visit["start"], visit["last_event"]) == (events[0]["ts"], events[1]["ts"])
    # 10 s between the stored seconds (9.3 s between the instants): Plausible's duration.
    summary = _report(server, key, site["id"], "summary")
    assert summary["metrics"]["avg_session_duration_sec"] == {"value": 10}


def test_funnel_orders_the_events_of_one_second(server: Server) -> None:
    key, site = server.tenant()
    for path in ("/", "/pricing", "/signup"):
        assert server.collect(site["id"], path).status_code == 202
        server.clock.advance(microseconds=10)  # all three within one second
    server.flush()
    steps = {"steps[]": ["/", "/pricing", "/signup"]}
    assert [
        s["sessions"] for s in _report(server, key, site["id"], "funnel", **steps)["funnel"]
    ] == [
        1,
        1,
        1,
    ]
    backwards = {"steps[]": ["/signup", "/pricing"]}
    funnel = _report(server, key, site["id"], "funnel", **backwards)["funnel"]
    assert [s["sessions"] for s in funnel] == [1, 0]
