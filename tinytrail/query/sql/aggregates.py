"""Aggregate expressions shared by the raw query compiler and the daily rollups."""

from __future__ import annotations

from tinytrail.query.sql.dialect import Dialect


def event_metric_sql(d: Dialect, name: str) -> str:
    """Event-side aggregates; shared with the rollups so both count the same way."""
    # A visit counts once per day it has events on: (visit, day-scoped visitor id) pairs, so
    # daily rollups add up to the raw number.
    pair = d.pair("session_id", "visitor_id")
    return {
        "visitors": "count(DISTINCT visitor_id)",
        "visits": d.distinct_if(pair, "session_id <> 0"),
        "pageviews": d.count_if("name = 'pageview'"),
        "events": "count(*)",
        "unique_pageviews": d.distinct_if(pair, "name = 'pageview' AND session_id <> 0"),
        "total_revenue": "sum(revenue_amount)",
        "average_revenue": "avg(revenue_amount)",
    }[name]
