"""A custom property's breakdown of one event name answers the same from the props rollup as
from raw events (`POST /api/v2/query`, before and after the days are rolled up).

The data covers what the rollup must get right: several values and visitors per value, a
visitor sending one value twice, events of the name without the property ("(none)") next to
events with it on the same day, a day where no event of the name has the property (all
"(none)", read from the name's rollup row), a value that reads "(none)" (one group with no
value), properties on pageviews, a visit running across midnight, and an open day (today)
that stays raw.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.api.report_data import hit
from tests.support import Clock, Server, start_server

DOMAIN = "props.example"
GOALS = [
    {"goal_type": "event", "event_name": "signup", "display_name": "Signup"},
    {"goal_type": "event", "event_name": "purchase"},
    {"goal_type": "page", "page_path": "/pricing"},
]
RANGES = [
    ["2026-05-01", "2026-05-04"],  # built days and today
    ["2026-05-01", "2026-05-03"],
    ["2026-05-02", "2026-05-02"],  # no signup has a plan that day
    ["2026-05-03", "2026-05-04"],
    ["2026-04-01", "2026-04-30"],  # nothing at all
]
QUERIES: list[dict[str, Any]] = [
    {
        "metrics": ["visitors", "events"],
        "dimensions": ["event:props:plan"],
        "filters": [["is", "event:goal", ["Signup"]]],
    },
    {
        "metrics": ["visitors", "visits", "events"],
        "dimensions": ["event:props:coupon"],
        "filters": [["is", "event:name", ["signup"]]],
        "include": {"total_rows": True},
    },
    {
        "metrics": ["events", "visitors"],
        "dimensions": ["event:props:plan"],
        "filters": [["contains", "event:goal", ["Sign"]]],
        "order_by": [["events", "asc"]],
        "pagination": {"limit": 2, "offset": 1},
    },
    {
        "metrics": ["visitors", "pageviews", "visits"],
        "dimensions": ["event:props:author"],
        "filters": [["is", "event:name", ["pageview"]]],
    },
    {
        "metrics": ["visitors", "conversion_rate"],
        "dimensions": ["event:props:plan"],
        "filters": [["is", "event:goal", ["purchase"]]],
    },
]


def seed(server: Server) -> str:
    key, site = server.tenant(DOMAIN)
    for goal in GOALS:
        response = server.client.put(
            "/api/v1/sites/goals", json={"site_id": DOMAIN, **goal}, headers=server.admin
        )
        assert response.status_code == 200, response.text
    sid = site["id"]

    def send(moment: str, name: str, ip: str, path: str = "/", **props: str) -> None:
        fields = {"properties": props} if props else {}
        hit(server, sid, moment, path, name, ip=f"203.0.113.{ip}", host=DOMAIN, **fields)

    # 2026-05-01: values, repeats, no property, another property only.
    send("2026-05-01 08:00", "page_view", "1", "/pricing", author="ann")
    send("2026-05-01 08:01", "signup", "1", plan="pro")
    send("2026-05-01 08:02", "signup", "1", plan="pro")
    send("2026-05-01 09:00", "signup", "2", plan="free", coupon="spring")
    send("2026-05-01 10:00", "page_view", "3", "/blog", author="bob")
    send("2026-05-01 10:01", "signup", "3")
    send("2026-05-01 11:00", "signup", "4", coupon="winter")
    send("2026-05-01 11:05", "purchase", "4", plan="pro")
    send("2026-05-01 12:00", "page_view", "5", "/")
    # A value that reads "(none)" is the same group as no value, for one visitor once.
    send("2026-05-01 13:00", "signup", "13", plan="(none)")
    send("2026-05-01 13:01", "signup", "13")
    # 2026-05-02: signups, none with a plan; one visit runs past midnight.
    send("2026-05-02 09:00", "signup", "6")
    send("2026-05-02 10:00", "signup", "7", coupon="spring")
    send("2026-05-02 23:55", "page_view", "8", "/pricing", author="ann")
    send("2026-05-02 23:58", "signup", "8", plan="free")
    # 2026-05-03: the same visit after midnight, and more.
    send("2026-05-03 00:05", "signup", "8", plan="free")
    send("2026-05-03 09:00", "signup", "9", plan="business", coupon="spring")
    send("2026-05-03 09:30", "page_view", "10", "/")
    # 2026-05-04 (today, never rolled up).
    send("2026-05-04 08:00", "signup", "11", plan="pro")
    send("2026-05-04 08:30", "signup", "12")
    send("2026-05-04 09:00", "signup", "13", plan="(none)")
    send("2026-05-04 09:01", "signup", "13")
    at_noon = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    server.clock.now = at_noon
    return key


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    clock = Clock(datetime(2026, 5, 1, 7, 0, tzinfo=UTC))
    for running in start_server(tmp_path_factory.mktemp("props") / "data", clock):
        yield running, seed(running)


def v2(server: Server, key: str, body: dict[str, Any], date_range: list[str]) -> Any:
    response = server.client.post(
        "/api/v2/query",
        json={"site_id": DOMAIN, "date_range": date_range, **body},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    return answer["results"], answer["meta"]


def answers(server: Server, key: str) -> list[Any]:
    server.flush()
    return [(body, r, v2(server, key, body, r)) for body in QUERIES for r in RANGES]


def test_property_breakdowns_equal_raw_after_rollup(server: tuple[Server, str]) -> None:
    running, key = server
    raw = answers(running, key)
    plans = raw[0][2][0]  # Signup by plan over the four days, from raw events
    assert {row["dimensions"][0]: row["metrics"] for row in plans} == {
        "(none)": [7, 9],  # .3, .4, .6, .7, .12, and .13 twice on each of two days
        "pro": [2, 3],  # .1 twice, .11
        "free": [3, 3],  # .2; .8 before and after midnight (a new day, a new visitor id)
        "business": [1, 1],
    }
    running.aggregate("2026-05-01", "2026-05-02", "2026-05-03")
    rolled = answers(running, key)
    for before, after in zip(raw, rolled, strict=True):
        assert after == before
