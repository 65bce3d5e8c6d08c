"""Funnel shaping without a database: rates, drop-offs and step checks."""

from __future__ import annotations

import pytest

from tinytrail.errors import InvalidInput
from tinytrail.query.funnels import check_steps, percentage, shape_funnel
from tinytrail.query.model import Goal

GOALS = (Goal(1, "Visit /pricing", page_path="/pricing"), Goal(2, "Signup", event_name="Signup"))


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(2, 3, 66.67), (1, 3, 33.33), (1, 32, 3.13), (1, 8, 12.5), (5, 5, 100.0), (3, 0, 0.0)],
)
def test_percentages_round_half_up_to_two_decimals(part: int, whole: int, expected: float) -> None:
    assert percentage(part, whole) == expected


def test_first_step_has_no_previous_step() -> None:
    result = shape_funnel(GOALS, [4, 1], all_visitors=10)
    first, second = result.steps
    assert (first.label, first.conversion_rate, first.conversion_rate_step) == (
        "Visit /pricing",
        100.0,
        0.0,
    )
    assert (first.dropoff, first.dropoff_percentage) == (0, 0.0)
    assert (second.conversion_rate, second.conversion_rate_step) == (25.0, 25.0)
    assert (second.dropoff, second.dropoff_percentage) == (3, 75.0)
    assert (result.entering_visitors, result.entering_visitors_percentage) == (4, 40.0)
    assert (result.never_entering_visitors, result.never_entering_visitors_percentage) == (6, 60.0)


def test_step_lists_are_checked() -> None:
    with pytest.raises(InvalidInput, match="2 to 8 steps, got 1"):
        check_steps(GOALS[:1])
    with pytest.raises(InvalidInput, match="2 to 8 steps, got 9"):
        check_steps([Goal(n, f"G{n}", event_name=f"G{n}") for n in range(9)])
    with pytest.raises(InvalidInput, match="only once"):
        check_steps([GOALS[0], GOALS[0]])
