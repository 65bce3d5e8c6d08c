"""Revenue metrics in the Stats API: value objects, currencies and warnings (reference 1.4)."""

from __future__ import annotations

from typing import Any

from tests.support import CHROME_UA, Server


def _setup(server: Server) -> dict[str, str]:
    key, _site = server.tenant("shop.example")
    headers = {"Authorization": f"Bearer {key}"}
    for goal in (
        {"goal_type": "event", "event_name": "Purchase", "currency": "USD"},
        {"goal_type": "event", "event_name": "Donation", "currency": "EUR"},
        {"goal_type": "event", "event_name": "Signup"},
    ):
        response = server.client.put(
            "/api/v1/sites/goals", json={"site_id": "shop.example", **goal}, headers=headers
        )
        assert response.status_code == 200, response.text
    for n, (name, amount, currency) in enumerate(
        [("Purchase", "100.5", "USD"), ("Purchase", "33.333", "USD"), ("Donation", "10", "EUR")]
    ):
        response = server.client.post(
            "/api/event",
            json={
                "n": name,
                "u": "https://shop.example/checkout",
                "d": "shop.example",
                "$": {"amount": amount, "currency": currency},
            },
            headers={"User-Agent": CHROME_UA, "X-Forwarded-For": f"203.0.113.{n + 1}"},
        )
        assert response.status_code == 202, response.text
    server.flush()
    return headers


def _query(server: Server, headers: dict[str, str], **body: Any) -> Any:
    payload = {"site_id": "shop.example", "date_range": "day", **body}
    response = server.client.post("/api/v2/query", json=payload, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_revenue_of_one_currency_is_a_money_object(server: Server) -> None:
    headers = _setup(server)
    body = _query(
        server,
        headers,
        metrics=["total_revenue", "average_revenue"],
        filters=[["is", "event:goal", ["Purchase"]]],
    )
    total, average = body["results"][0]["metrics"]
    # 100.5 + 33.333 = 133.833; the mean 66.9165 is truncated to 66.916.
    assert total == {"value": 133.833, "currency": "USD", "short": "$133.8", "long": "$133.83"}
    assert average == {"value": 66.916, "currency": "USD", "short": "$66.9", "long": "$66.92"}
    assert "metric_warnings" not in body["meta"]


def test_mixed_currencies_are_null_with_a_warning(server: Server) -> None:
    headers = _setup(server)
    body = _query(server, headers, metrics=["total_revenue"])
    assert body["results"][0]["metrics"] == [None]
    assert body["meta"]["metric_warnings"]["total_revenue"]["code"] == "no_single_revenue_currency"


def test_no_revenue_goal_is_null_with_a_warning(server: Server) -> None:
    headers = _setup(server)
    body = _query(
        server, headers, metrics=["total_revenue"], filters=[["is", "event:goal", ["Signup"]]]
    )
    assert body["results"][0]["metrics"] == [None]
    warning = body["meta"]["metric_warnings"]["total_revenue"]
    assert warning == {
        "code": "no_revenue_goals_matching",
        "warning": "Revenue metrics are null as there are no matching revenue goals.",
    }


def test_goal_breakdown_uses_each_goals_currency(server: Server) -> None:
    headers = _setup(server)
    body = _query(server, headers, metrics=["total_revenue"], dimensions=["event:goal"])
    rows = {r["dimensions"][0]: r["metrics"][0] for r in body["results"]}
    assert rows["Purchase"]["currency"] == "USD"
    assert rows["Purchase"]["value"] == 133.833
    assert rows["Donation"] == {
        "value": 10.0,
        "currency": "EUR",
        "short": "€10.0",
        "long": "€10.00",
    }
