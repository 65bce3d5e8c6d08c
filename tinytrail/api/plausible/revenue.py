"""Plausible's revenue metric values: `{"value", "currency", "short", "long"}` or null.

Revenue comes from goals with a currency. Without an `event:goal` breakdown, the goals picked by
the query's goal filters (all goals when there is none) must share one currency, otherwise the
value is null with a warning in `meta.metric_warnings` (plausible-reference.md 1.4).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from tinytrail.query.goals import selected_goals
from tinytrail.query.model import Filter, Query, Result
from tinytrail.query.registry import REVENUE_METRICS

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CNY": "CN¥"}
NO_GOALS = {
    "code": "no_revenue_goals_matching",
    "warning": "Revenue metrics are null as there are no matching revenue goals.",
}
MANY_CURRENCIES = {
    "code": "no_single_revenue_currency",
    "warning": "Revenue metrics are null as there are multiple currencies for the selected "
    "event:goals.",
}


def _money(value: Decimal, currency: str, places: int) -> str:
    symbol = SYMBOLS.get(currency, f"{currency} ")
    return f"{symbol}{value:,.{places}f}"


def _short(value: Decimal, currency: str) -> str:
    symbol = SYMBOLS.get(currency, f"{currency} ")
    for size, suffix in ((Decimal(10**9), "B"), (Decimal(10**6), "M"), (Decimal(1000), "K")):
        if abs(value) >= size:
            scaled = (value / size).quantize(Decimal("0.1"), ROUND_HALF_UP)
            return f"{symbol}{scaled}{suffix}"
    return f"{symbol}{value.quantize(Decimal('0.1'), ROUND_HALF_UP)}"


def money(amount: Any, currency: str, metric: str) -> dict[str, Any]:
    rounding = ROUND_DOWN if metric == "average_revenue" else ROUND_HALF_UP
    value = Decimal(str(amount)).quantize(Decimal("0.001"), rounding)
    return {
        "value": float(value),
        "currency": currency,
        "short": _short(value, currency),
        "long": _money(value, currency, 2),
    }


def shape_revenue(result: Result) -> tuple[list[list[Any]], dict[str, dict[str, str]]]:
    """Metric lists with revenue values shaped, and the warnings for `meta`."""
    query = result.query
    indexes = [i for i, m in enumerate(query.metrics) if m in REVENUE_METRICS]
    rows = [list(row.metrics) for row in result.rows]
    if not indexes:
        return rows, {}
    warnings: dict[str, dict[str, str]] = {}
    if "event:goal" in query.dimensions:
        by_name = {g.display_name: g.currency for g in query.site.goals}
        goal_at = query.dimensions.index("event:goal")
        for row, metrics in zip(result.rows, rows, strict=True):
            currency = by_name.get(str(row.dimensions[goal_at]), "")
            for i in indexes:
                metrics[i] = _value(metrics[i], currency, query.metrics[i])
        return rows, warnings
    currency, warning = _single_currency(query)
    for metrics in rows:
        for i in indexes:
            metrics[i] = _value(metrics[i], currency, query.metrics[i]) if currency else None
    if warning:
        warnings = {query.metrics[i]: warning for i in indexes}
    return rows, warnings


def _value(amount: Any, currency: str, metric: str) -> dict[str, Any] | None:
    if not currency:
        return None
    return money(amount or 0, currency, metric)


def _single_currency(query: Query) -> tuple[str, dict[str, str] | None]:
    goal_filters = [
        f for f in query.filters if isinstance(f, Filter) and f.dimension == "event:goal"
    ]
    goals = list(query.site.goals)
    for node in goal_filters:
        goals = [g for g in selected_goals(query.site.goals, node) if g in goals]
    currencies = {g.currency for g in goals if g.currency}
    if not currencies:
        return "", NO_GOALS
    if len(currencies) > 1:
        return "", MANY_CURRENCIES
    return currencies.pop(), None
