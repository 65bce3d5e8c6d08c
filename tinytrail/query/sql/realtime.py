"""The realtime report's one statement: a site's last minutes, read from the raw events.

The TinyTrail spec has the report query the raw events table. One scan of the window feeds
three groupings: all events (who is active: any event counts, engagement pings of a reader
too), per event name (the counts by type) and per name and path (each page's visitors).
Three statements each paid DuckDB's planning (~1 ms apiece) and, with events in the window,
each scanned it again: one statement takes half their time on the benchmark's busy site.
"""

from __future__ import annotations

from tinytrail.query.model import Query
from tinytrail.query.sql.compiler import Compiled
from tinytrail.query.sql.context import EVENTS, Context
from tinytrail.query.sql.dialect import Dialect
from tinytrail.query.sql.filters import FilterSQL

# `level` tells the groupings apart: GROUPING(name, pathname) is 3 for all events, 1 per name
# and 0 per name and path.
ALL_EVENTS, PER_NAME, PER_PAGE = 3, 1, 0


def compile_realtime(query: Query, dialect: Dialect) -> Compiled:
    """Rows of `level`, `name`, `pathname`, `visitors` and `events` for the query's range, site
    and filters (bots and excluded traffic as the query says)."""
    ctx = Context(query, dialect)
    where = " AND ".join([ctx.event_base(), *FilterSQL(ctx).on_events(query.filters)])
    sql = (
        "SELECT GROUPING(name, pathname) AS level, name, pathname, "
        "count(DISTINCT visitor_id) AS visitors, count(*) AS events "
        f"FROM {EVENTS} WHERE {where} "
        "GROUP BY GROUPING SETS ((), (name), (name, pathname))"
    )
    return Compiled(sql, ctx.params.values, (), (), None)
