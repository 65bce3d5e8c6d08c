"""`GET /api/v1/reports/funnel?funnel_id=N`: a stored Plausible funnel, evaluated by the engine.

A TinyTrail extension next to the spec's `steps[]` funnel: funnels are stored through the Sites
API (`PUT /api/v1/sites/funnels`) as 2 to 8 goals; this report counts, per step, the visitors
who completed the goals in order within 24 hours (`tinytrail.query.funnels`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.tinytrail import report_shapes as shapes
from tinytrail.api.tinytrail.envelope import runtime_of, success
from tinytrail.api.tinytrail.report_params import ReportParams
from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta.models import Funnel
from tinytrail.meta.paging import PageRequest
from tinytrail.query.funnels import FunnelResult
from tinytrail.query.model import Goal
from tinytrail.runtime import Runtime

STEP_COLUMNS = (
    "step",
    "goal_id",
    "visitors",
    "conversion_rate",
    "conversion_rate_step",
    "dropoff",
    "dropoff_percentage",
)
NOT_FOUND = "Funnel could not be found"


def funnel_id_of(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or int(raw) < 1:
        raise InvalidInput("funnel_id must be a positive integer")
    return int(raw)


def stored_funnel(runtime: Runtime, site_id: int, funnel_id: int) -> Funnel:
    # Pages run newest first by id: the one page after `funnel_id + 1` starts at `funnel_id`.
    page = runtime.site_config.funnels_page(site_id, PageRequest(limit=1, after=str(funnel_id + 1)))
    if not page.items or page.items[0].id != funnel_id:
        raise NotFound(NOT_FOUND)
    return page.items[0]


def funnel_goals(funnel: Funnel, goals: tuple[Goal, ...]) -> list[Goal]:
    by_id = {goal.id: goal for goal in goals}
    steps = [by_id[step] for step in funnel.steps if step in by_id]
    if len(steps) < 2:  # deleting a goal rewrites its funnels, so this is a race at most
        raise NotFound(NOT_FOUND)
    return steps


def step_rows(result: FunnelResult) -> list[dict[str, Any]]:
    return [
        {
            "step": step.label,
            "goal_id": step.goal.id,
            "visitors": step.visitors,
            "conversion_rate": step.conversion_rate,
            "conversion_rate_step": step.conversion_rate_step,
            "dropoff": step.dropoff,
            "dropoff_percentage": step.dropoff_percentage,
        }
        for step in result.steps
    ]


async def goal_funnel(request: Request, params: ReportParams, raw_id: str) -> Response:
    funnel_id = funnel_id_of(raw_id)
    runtime = runtime_of(request)
    funnel = stored_funnel(runtime, params.site.id, funnel_id)
    goals = funnel_goals(funnel, params.site.goals)
    query = params.query(("visitors",))
    result = await asyncio.to_thread(runtime.engine.goal_funnel, query, goals)
    rows = step_rows(result)
    if params.csv:
        return shapes.csv_rows("funnel", STEP_COLUMNS, rows)
    period = {"start": params.period.first.isoformat(), "end": params.period.last.isoformat()}
    return success(
        {
            "period": period,
            "funnel_id": funnel.id,
            "name": funnel.name,
            "all_visitors": result.all_visitors,
            "entering_visitors": result.entering_visitors,
            "entering_visitors_percentage": result.entering_visitors_percentage,
            "never_entering_visitors": result.never_entering_visitors,
            "never_entering_visitors_percentage": result.never_entering_visitors_percentage,
            "funnel": rows,
        }
    )
