"""Goal funnels: ordered goals, and how many visitors got how far (Plausible's funnels).

A funnel has 2 to 8 steps, each a configured goal. A visitor reaches step k when their events
in the query's range (and filters) complete the goals of steps 1..k in that order, the k-th at
most 24 hours after the first; other events in between do not matter. This is Plausible's
default ("sequential") funnel, evaluated in ClickHouse with `windowFunnel(86400)` over each
visitor's events; `sql/funnel.py` computes the same in portable SQL. Visitor ids are scoped to
the site's day (collected and imported alike), so in practice a funnel is completed within one
day; the window still bounds it wherever ids live longer.

Rates follow Plausible's funnel report: percentages rounded half-up to two decimals, 0 when
the base is 0; the first step has no previous step, so its step rate and drop-off are 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from tinytrail.errors import InvalidInput
from tinytrail.query.model import Goal

MIN_STEPS, MAX_STEPS = 2, 8
WINDOW_SECONDS = 86_400  # a funnel must be completed within 24 hours of its first step


@dataclass(frozen=True)
class FunnelStep:
    """One step of an evaluated funnel; percentages are 0..100 with two decimals."""

    goal: Goal
    label: str  # the goal's display name
    visitors: int  # visitors who reached this step (and so every step before it)
    conversion_rate: float  # visitors / visitors of the first step
    conversion_rate_step: float  # visitors / visitors of the previous step (0 for the first)
    dropoff: int  # visitors of the previous step who did not reach this one (0 for the first)
    dropoff_percentage: float  # dropoff / visitors of the previous step


@dataclass(frozen=True)
class FunnelResult:
    """An evaluated funnel: its steps in order, and who entered it at all."""

    steps: tuple[FunnelStep, ...]
    all_visitors: int  # visitors with any event in the range and filters
    entering_visitors: int  # visitors who completed the first step
    entering_visitors_percentage: float
    never_entering_visitors: int
    never_entering_visitors_percentage: float


def percentage(part: int, whole: int | None) -> float:
    """`part / whole` in percent, rounded half-up to two decimals; 0 without a base."""
    if not whole:
        return 0.0
    value = Decimal(part) * 100 / Decimal(whole)
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def check_steps(goals: Sequence[Goal]) -> None:
    if not MIN_STEPS <= len(goals) <= MAX_STEPS:
        raise InvalidInput(f"a funnel has {MIN_STEPS} to {MAX_STEPS} steps, got {len(goals)}")
    if len({goal.id for goal in goals}) != len(goals):
        raise InvalidInput("a goal can appear only once in a funnel")


def shape_funnel(goals: Sequence[Goal], reached: Sequence[int], all_visitors: int) -> FunnelResult:
    """The report for `reached[k]` = visitors who got to step k (non-increasing)."""
    steps: list[FunnelStep] = []
    first = reached[0] if reached else 0
    previous: int | None = None
    for goal, visitors in zip(goals, reached, strict=True):
        dropoff = 0 if previous is None else previous - visitors
        steps.append(
            FunnelStep(
                goal=goal,
                label=goal.display_name,
                visitors=visitors,
                conversion_rate=percentage(visitors, first),
                conversion_rate_step=percentage(visitors, previous),
                dropoff=dropoff,
                dropoff_percentage=percentage(dropoff, previous),
            )
        )
        previous = visitors
    never = all_visitors - first
    return FunnelResult(
        steps=tuple(steps),
        all_visitors=all_visitors,
        entering_visitors=first,
        entering_visitors_percentage=percentage(first, all_visitors),
        never_entering_visitors=never,
        never_entering_visitors_percentage=percentage(never, all_visitors),
    )
