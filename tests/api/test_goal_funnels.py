"""Stored Plausible funnels evaluated by the engine: `GET /api/v1/reports/funnel?funnel_id=N`.

Semantics (Plausible's sequential funnels, `windowFunnel(86400)` per visitor): a visitor reaches
step k when their events in the range complete the goals of steps 1..k in time order (equal
timestamps count as in order, events in between do not matter), the k-th at most 24 hours after
the first. Rates are percentages with two decimals.

Site `funnels.test` (UTC), goals `Visit /pricing`, `Signup`, `Visit /welcome`; events imported
with fixed timestamps (2026-03, UTC). Imported user ids are scoped to the day like salted ids,
so a person is one visitor per day (Uk@d below) and a funnel never carries over midnight.

U1@10  10:00 pv /pricing, 10:05 Signup, 10:10 pv /welcome        -> pricing, signup, welcome
U2@10  11:00 pv /pricing, 11:02 Signup                           -> pricing, signup
U3@10  12:00 Signup, 12:05 pv /pricing (signed up first)         -> pricing
U4@11  09:00 pv /welcome only                                    -> none
U5@11  10:00 pv /pricing                                         -> pricing
U5@12  11:00 Signup (the next day: another visitor)              -> none
U6@12  08:00 pv /pricing                                         -> pricing
U6@13  07:00 pv /pricing, 08:30 Signup, 09:00 pv /welcome (three visits: the funnel spans
       visits of one visitor)                                    -> pricing, signup, welcome
U7@14  10:00:00 pv /pricing and Signup in the same second        -> pricing, signup
U8@14  12:00 pv /about only                                      -> none
U9@15  08:00 Signup, 09:00 pv /pricing, 10:00 pv /welcome, 11:00 Signup, 12:00 pv /welcome:
       the early Signup and welcome are out of order, the later ones complete the funnel
                                                                 -> pricing, signup, welcome

Week 10th..16th, funnel pricing -> signup -> welcome: 11 visitors, 8 entered (72.73 %, 3 never:
27.27 %); step 1: 8; step 2: U1, U2, U6@13, U7, U9 = 5 (62.5 % of 8, drop-off 3 = 37.5 %);
step 3: U1, U6@13, U9 = 3 (37.5 % of 8, 60 % of 5, drop-off 2 = 40 %).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.report_data import csv_of
from tests.api.test_plausible_query import add_goal, import_lines, line
from tests.support import Server, start_server

DOMAIN = "funnels.test"
WEEK = {"start_date": "2026-03-10", "end_date": "2026-03-16"}
SHOP = {"name": "Shop", "pattern": "/pricing"}  # a content group: events on /pricing
EVENTS = [
    line("2026-03-10T10:00:00", 1, "/pricing"),
    line("2026-03-10T10:05:00", 1, "/pricing", "Signup"),
    line("2026-03-10T10:10:00", 1, "/welcome"),
    line("2026-03-10T11:00:00", 2, "/pricing"),
    line("2026-03-10T11:02:00", 2, "/pricing", "Signup"),
    line("2026-03-10T12:00:00", 3, "/", "Signup"),
    line("2026-03-10T12:05:00", 3, "/pricing"),
    line("2026-03-11T09:00:00", 4, "/welcome"),
    line("2026-03-11T10:00:00", 5, "/pricing"),
    line("2026-03-12T11:00:00", 5, "/pricing", "Signup"),
    line("2026-03-12T08:00:00", 6, "/pricing"),
    line("2026-03-13T07:00:00", 6, "/pricing"),
    line("2026-03-13T08:30:00", 6, "/pricing", "Signup"),
    line("2026-03-13T09:00:00", 6, "/welcome"),
    line("2026-03-14T10:00:00", 7, "/pricing"),
    line("2026-03-14T10:00:00", 7, "/pricing", "Signup"),
    line("2026-03-14T12:00:00", 8, "/about"),
    line("2026-03-15T08:00:00", 9, "/", "Signup"),
    line("2026-03-15T09:00:00", 9, "/pricing"),
    line("2026-03-15T10:00:00", 9, "/welcome"),
    line("2026-03-15T11:00:00", 9, "/welcome", "Signup"),
    line("2026-03-15T12:00:00", 9, "/welcome"),
]


@dataclass
class Funnels:
    server: Server
    key: str
    website_id: str
    ids: dict[str, int]  # funnel name -> id

    def get(self, **params: Any) -> Any:
        return self.server.client.get(
            "/api/v1/reports/funnel",
            params={"website_id": self.website_id, **params},
            headers={"X-API-KEY": self.key},
        )

    def ok(self, **params: Any) -> dict[str, Any]:
        response = self.get(**params)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()["data"]
        return data


def put_funnel(server: Server, key: str, domain: str, name: str, steps: list[Any]) -> int:
    response = server.client.put(
        "/api/v1/sites/funnels",
        json={"site_id": domain, "name": name, "steps": steps},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


@pytest.fixture(scope="module")
def funnels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Funnels]:
    for server in start_server(tmp_path_factory.mktemp("funnels") / "data"):
        key, site = server.tenant(DOMAIN, content_groups=[SHOP])
        import_lines(server, DOMAIN, EVENTS)
        add_goal(server, key, DOMAIN, goal_type="page", page_path="/pricing")
        add_goal(server, key, DOMAIN, goal_type="event", event_name="Signup")
        add_goal(server, key, DOMAIN, goal_type="page", page_path="/welcome")
        ids = {
            "Checkout": put_funnel(
                server, key, DOMAIN, "Checkout", ["Visit /pricing", "Signup", "Visit /welcome"]
            ),
            "Backwards": put_funnel(server, key, DOMAIN, "Backwards", ["Signup", "Visit /pricing"]),
        }
        yield Funnels(server, key, site["id"], ids)


def step(
    name: str, visitors: int, rate: float, step_rate: float, dropoff: int, dropoff_pct: float
) -> dict[str, Any]:
    return {
        "step": name,
        "visitors": visitors,
        "conversion_rate": rate,
        "conversion_rate_step": step_rate,
        "dropoff": dropoff,
        "dropoff_percentage": dropoff_pct,
    }


def steps_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "goal_id"} for row in data["funnel"]]


def test_a_stored_funnel_over_a_week(funnels: Funnels) -> None:
    data = funnels.ok(funnel_id=funnels.ids["Checkout"], **WEEK)
    assert data["period"] == {"start": "2026-03-10", "end": "2026-03-16"}
    assert (data["funnel_id"], data["name"]) == (funnels.ids["Checkout"], "Checkout")
    assert data["all_visitors"] == 11
    assert (data["entering_visitors"], data["entering_visitors_percentage"]) == (8, 72.73)
    assert (data["never_entering_visitors"], data["never_entering_visitors_percentage"]) == (
        3,
        27.27,
    )
    assert steps_of(data) == [
        step("Visit /pricing", 8, 100.0, 0.0, 0, 0.0),
        step("Signup", 5, 62.5, 62.5, 3, 37.5),
        step("Visit /welcome", 3, 37.5, 60.0, 2, 40.0),
    ]
    goal_ids = [row["goal_id"] for row in data["funnel"]]
    assert len(set(goal_ids)) == 3 and all(isinstance(g, int) for g in goal_ids)


def test_order_matters_and_equal_timestamps_count_as_in_order(funnels: Funnels) -> None:
    # Signup then pricing: U3 (12:00 then 12:05), U7 (the same second), U9 (08:00 then
    # 09:00). Every visitor with a Signup entered: U1, U2, U3, U5@12, U6@13, U7, U9.
    data = funnels.ok(funnel_id=funnels.ids["Backwards"], **WEEK)
    assert (data["all_visitors"], data["entering_visitors"]) == (11, 7)
    assert data["entering_visitors_percentage"] == 63.64
    assert steps_of(data) == [
        step("Signup", 7, 100.0, 0.0, 0, 0.0),
        step("Visit /pricing", 3, 42.86, 42.86, 4, 57.14),
    ]


def test_only_events_of_the_period_count(funnels: Funnels) -> None:
    # 13th..16th: U6@13 (all three), U7 (two), U8 (none), U9 (all three).
    data = funnels.ok(
        funnel_id=funnels.ids["Checkout"], start_date="2026-03-13", end_date="2026-03-16"
    )
    assert (data["all_visitors"], data["entering_visitors"]) == (4, 3)
    assert data["entering_visitors_percentage"] == 75.0
    assert steps_of(data) == [
        step("Visit /pricing", 3, 100.0, 0.0, 0, 0.0),
        step("Signup", 3, 100.0, 100.0, 0, 0.0),
        step("Visit /welcome", 2, 66.67, 66.67, 1, 33.33),
    ]
    # Nothing at all: every rate is 0.
    data = funnels.ok(
        funnel_id=funnels.ids["Checkout"], start_date="2026-02-01", end_date="2026-02-02"
    )
    assert (data["all_visitors"], data["entering_visitors_percentage"]) == (0, 0.0)
    assert [row["visitors"] for row in data["funnel"]] == [0, 0, 0]
    assert {row["conversion_rate"] for row in data["funnel"]} == {0.0}


def test_filters_select_the_events_the_funnel_sees(funnels: Funnels) -> None:
    # content_group=Shop keeps the events on /pricing (pageviews and the Signups sent from
    # there), so nobody reaches the welcome page. Visitors with such events: all but U4 and
    # U8 (9); entered: all but U5@12, whose only event is a Signup (8); Signup on /pricing
    # after pricing: U1, U2, U6@13, U7 (U3 and U9 signed up on other pages).
    data = funnels.ok(funnel_id=funnels.ids["Checkout"], content_group="Shop", **WEEK)
    assert (data["all_visitors"], data["entering_visitors"]) == (9, 8)
    assert (data["entering_visitors_percentage"], data["never_entering_visitors"]) == (88.89, 1)
    assert steps_of(data) == [
        step("Visit /pricing", 8, 100.0, 0.0, 0, 0.0),
        step("Signup", 4, 50.0, 50.0, 4, 50.0),
        step("Visit /welcome", 0, 0.0, 0.0, 4, 100.0),
    ]


def test_csv(funnels: Funnels) -> None:
    response = funnels.get(funnel_id=funnels.ids["Checkout"], format="csv", **WEEK)
    assert response.status_code == 200, response.text
    rows = csv_of(response, "funnel")
    assert rows[0] == [
        "step",
        "goal_id",
        "visitors",
        "conversion_rate",
        "conversion_rate_step",
        "dropoff",
        "dropoff_percentage",
    ]
    assert [[r[0], *r[2:]] for r in rows[1:]] == [
        ["Visit /pricing", "8", "100.0", "0.0", "0", "0.0"],
        ["Signup", "5", "62.5", "62.5", "3", "37.5"],
        ["Visit /welcome", "3", "37.5", "60.0", "2", "40.0"],
    ]


def test_bad_funnel_requests(funnels: Funnels) -> None:
    def error(status: int, **params: Any) -> str:
        response = funnels.get(**params)
        assert response.status_code == status, response.text
        message: str = response.json()["error"]["message"]
        return message

    assert error(404, funnel_id=999_999) == "Funnel could not be found"
    for bad in ("0", "-1", "x", "1.5", "9" * 30):
        assert "funnel_id must be a positive integer" in error(400, funnel_id=bad)
    both = {"funnel_id": funnels.ids["Checkout"], "steps[]": ["/", "/pricing"]}
    assert "either steps[] or one funnel_id" in error(400, **both)
    # Another site's funnel is not found through this website.
    server = funnels.server
    other_key, other = server.tenant("other-funnels.test")
    add_goal(server, other_key, "other-funnels.test", goal_type="event", event_name="A")
    add_goal(server, other_key, "other-funnels.test", goal_type="event", event_name="B")
    foreign = put_funnel(server, other_key, "other-funnels.test", "F", ["A", "B"])
    assert error(404, funnel_id=foreign) == "Funnel could not be found"
    response = server.client.get(
        "/api/v1/reports/funnel",
        params={"website_id": other["id"], "funnel_id": funnels.ids["Checkout"]},
        headers={"X-API-KEY": other_key},
    )
    assert response.status_code == 404, response.text
