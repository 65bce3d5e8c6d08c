"""Funnels: how many visits completed steps 1..N in order.

Each step is a filter on events (a page, an event name, a goal). A visit reaches step k when it
has a step-k event later than the moment it reached step k-1; one chained CTE per step keeps
that exact and lets the database prune to the events of the steps only.
"""

from __future__ import annotations

from tinytrail.query.model import Node, Query
from tinytrail.query.sql.compiler import Compiled
from tinytrail.query.sql.context import EVENTS, Context
from tinytrail.query.sql.dialect import Dialect
from tinytrail.query.sql.filters import FilterSQL


def compile_funnel(query: Query, steps: tuple[Node, ...], dialect: Dialect) -> Compiled:
    ctx = Context(query, dialect)
    filters = FilterSQL(ctx)
    flags = [filters.on_events((step,))[0] for step in steps]
    where = [ctx.event_base(), "session_id <> 0", *filters.on_events(query.filters)]
    where.append("(" + " OR ".join(flags) + ")")
    columns = ["session_id", "ts", *(f"{flag} AS s{i}" for i, flag in enumerate(flags))]
    ctes = [f"base AS (SELECT {', '.join(columns)} FROM {EVENTS} WHERE {' AND '.join(where)})"]
    ctes.append("f0 AS (SELECT session_id, min(ts) AS t FROM base WHERE s0 GROUP BY 1)")
    for i in range(1, len(steps)):
        ctes.append(
            f"f{i} AS (SELECT b.session_id, min(b.ts) AS t FROM base b "
            f"JOIN f{i - 1} p ON b.session_id = p.session_id AND b.ts > p.t "
            f"WHERE b.s{i} GROUP BY 1)"
        )
    counts = ", ".join(f"(SELECT count(*) FROM f{i}) AS c{i}" for i in range(len(steps)))
    sql = f"WITH {', '.join(ctes)} SELECT {counts}"
    return Compiled(sql, ctx.params.values, (), (), None)
