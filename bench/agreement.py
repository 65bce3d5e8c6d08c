"""Canonical rows `(dimensions, metrics)` and whether two answers agree."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

Row = tuple[tuple[Any, ...], tuple[Any, ...]]
Rows = list[Row]


# -- canonical rows -------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """Empty-looking labels compare equal whatever an API shows for them."""
    if value is None or value in ("", "(not set)"):
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def rows_of(results: list[list[tuple[Any, ...]]], dims: int) -> Rows:
    """One statement's rows split into (dimensions, metrics)."""
    [rows] = results
    return [(tuple(plain(v) for v in r[:dims]), tuple(r[dims:])) for r in rows]


def v2_rows(body: dict[str, Any]) -> Rows:
    return [
        (tuple(plain(v) for v in r["dimensions"]), tuple(r["metrics"])) for r in body["results"]
    ]


def _decimals(value: float) -> int:
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 6


def same_number(shown: Any, exact: Any) -> bool:
    """Whether an API's (possibly rounded) number is the exact one, to its shown precision."""
    if shown is None or exact is None:
        return float(shown or 0) == float(exact or 0)
    if isinstance(shown, int) and isinstance(exact, int):
        return bool(shown == exact)
    exact_f = float(exact)
    places = 0 if isinstance(shown, int) else _decimals(shown)
    tolerance = max(0.5 * 10.0**-places, 1e-9 * abs(exact_f)) + 1e-9
    return abs(float(shown) - exact_f) <= tolerance


def disagreement(ours: Rows, theirs: Rows) -> str:
    """'' when the rows agree, else the first difference, briefly."""
    if len(ours) != len(theirs):
        return f"{len(ours)} rows vs {len(theirs)}"
    for (our_dims, our_metrics), (their_dims, their_metrics) in zip(ours, theirs, strict=True):
        if tuple(map(str, our_dims)) != tuple(map(str, their_dims)):
            return f"row {our_dims} vs {their_dims}"
        for a, b in zip(our_metrics, their_metrics, strict=True):
            if not same_number(a, b):
                return f"{our_dims}: {a} vs {b}"
    return ""
