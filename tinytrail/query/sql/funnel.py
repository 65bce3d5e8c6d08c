"""Funnels: how far visits or visitors got through an ordered list of steps.

Two shapes share this module:

* `compile_funnel`, TinyTrail's report: each step is a filter on events (a page, an event
  name); a *visit* reaches step k when it has a step-k event later than the moment it reached
  step k-1: in a later second, or in the same one (times are stored to the second) and
  received after it (`seq`), both packed in one number (`Dialect.arrival`). One chained CTE
  per step keeps that exact. Each step's events come from their own scan (one equality each
  is pushed into the scan; an OR of all steps is not, and costs more than the scans), and the
  first step's earliest times are only computed for the visits that have a second-step event:
  the first step is usually the busiest (a home page).
* `compile_goal_funnel`, Plausible's funnels: each step is a goal; a *visitor* reaches step k
  when some chain of their events completes steps 1..k in time order (equal timestamps
  allowed, other events in between ignored) with the last one at most `window` seconds after
  the first, the semantics of ClickHouse's `windowFunnel(window)` that Plausible runs. For a
  fixed start the earliest next event is always the best choice, so one chained CTE per step,
  keyed by (visitor, start), finds every visitor's deepest step exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinytrail.query.model import Goal, Node, Query
from tinytrail.query.sql.compiler import Compiled
from tinytrail.query.sql.context import EVENTS, Context
from tinytrail.query.sql.dialect import Dialect
from tinytrail.query.sql.filters import FilterSQL


def compile_funnel(
    query: Query, steps: tuple[Node, ...], dialect: Dialect, *, small_seqs: bool = False
) -> Compiled:
    """One row, `c0..`: the visits reaching each step. `small_seqs`: visit ids (sequence
    numbers) are few enough to count the first step's visits in a bitmap (see
    `Dialect.count_distinct_seqs`); the count is the same either way."""
    ctx = Context(query, dialect)
    filters = FilterSQL(ctx)
    where = " AND ".join([ctx.event_base(), "session_id <> 0", *filters.on_events(query.filters)])
    # b<k>: the events of step k; f<k>: per visit, when it reached step k at the earliest.
    # The first step's events are read twice (its visits, and its earliest times): kept
    # rather than scanned again.
    arrival = dialect.arrival("ts", "seq")
    ctes = [
        f"b{i} AS {'MATERIALIZED ' if i == 0 else ''}(SELECT session_id, {arrival} AS t "
        f"FROM {EVENTS} WHERE {where} AND {filters.on_events((step,))[0]})"
        for i, step in enumerate(steps)
    ]
    first = "SELECT session_id, min(t) AS t FROM b0"
    if len(steps) > 1:
        first += " WHERE session_id IN (SELECT session_id FROM b1)"
    ctes.append(f"f0 AS ({first} GROUP BY 1)")
    for i in range(1, len(steps)):
        ctes.append(
            f"f{i} AS (SELECT b.session_id, min(b.t) AS t FROM b{i} b "
            f"JOIN f{i - 1} p ON b.session_id = p.session_id AND b.t > p.t GROUP BY 1)"
        )
    visits = "count(DISTINCT session_id)"
    if small_seqs:
        visits = dialect.count_distinct_seqs("session_id")
    counts = [f"(SELECT {visits} FROM b0) AS c0"]
    counts += [f"(SELECT count(*) FROM f{i}) AS c{i}" for i in range(1, len(steps))]
    sql = f"WITH {', '.join(ctes)} SELECT {', '.join(counts)}"
    return Compiled(sql, ctx.params.values, (), (), None)


def compile_goal_funnel(
    query: Query, goals: Sequence[Goal], dialect: Dialect, window: int
) -> Compiled:
    """One row: `total` (visitors of the range and filters) and `c0..` (visitors per step).

    `total` counts the visitors Plausible's funnel counts as "all visitors": those with any
    event in the range that matches the query's filters (engagement signals only when they
    complete a step, as scroll-depth goals do).
    """
    ctx = Context(query, dialect)
    filters = FilterSQL(ctx)
    flags = [filters.goal_predicate(goal) for goal in goals]
    where = [ctx.event_base(), *filters.on_events(query.filters)]
    any_step = "(" + " OR ".join(flags) + ")"
    total = (
        f"SELECT count(DISTINCT visitor_id) FROM {EVENTS} "
        f"WHERE {' AND '.join(where)} AND (name <> 'engagement' OR {any_step})"
    )
    columns = ["visitor_id AS v", "ts", *(f"{flag} AS s{i}" for i, flag in enumerate(flags))]
    base = f"SELECT {', '.join(columns)} FROM {EVENTS} WHERE {' AND '.join([*where, any_step])}"
    # r<k>: per visitor and start (a step-1 event), when the chain reached step k at the earliest.
    ctes = [f"base AS ({base})"]
    ctes.append("r0 AS (SELECT DISTINCT v, ts AS start, ts AS t FROM base WHERE s0)")
    for i in range(1, len(goals)):
        deadline = dialect.add_seconds("r.start", window)
        ctes.append(
            f"r{i} AS (SELECT r.v, r.start, min(b.ts) AS t FROM r{i - 1} r "
            f"JOIN base b ON b.v = r.v AND b.s{i} AND b.ts >= r.t AND b.ts <= {deadline} "
            "GROUP BY r.v, r.start)"
        )
    counts = [f"({total}) AS total"]
    counts += [f"(SELECT count(DISTINCT v) FROM r{i}) AS c{i}" for i in range(len(goals))]
    sql = f"WITH {', '.join(ctes)} SELECT {', '.join(counts)}"
    return Compiled(sql, ctx.params.values, (), (), None)
