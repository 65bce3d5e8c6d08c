"""Which rollup key answers a query: the exact one, or a finer one for metrics that add up.

Rollup answers equal raw ones over HTTP (tests/api/test_reports_consistency.py); these tests pin
down that the rollups are used at all, and never where a sum over finer rows would be wrong.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from tinytrail.query.model import Filter, Query, SiteContext
from tinytrail.query.periods import from_dates
from tinytrail.query.sql.rollups import rollup_key_for

UTC = ZoneInfo("UTC")
NOT_DIRECT = Filter("is_not", "visit:source", ("Direct / None",))


def query(metrics: tuple[str, ...], dimensions: tuple[str, ...] = (), **changes: Any) -> Query:
    built = Query(
        site=SiteContext(7, "example.com", UTC, ()),
        metrics=metrics,
        date_range=from_dates(date(2026, 3, 1), date(2026, 3, 3), UTC),
        dimensions=dimensions,
    )
    return built.with_(**changes) if changes else built


def key_columns(q: Query) -> tuple[str, ...] | None:
    key = rollup_key_for(q, page_as_entry=False)
    return None if key is None else key.columns


def test_a_breakdown_filtered_on_its_own_column_takes_the_exact_key() -> None:
    q = query(("visitors",), ("visit:source",), filters=(NOT_DIRECT,))
    assert key_columns(q) == ("referrer_source",)


def test_referrers_filtered_by_source_take_the_finer_key_for_visits() -> None:
    # TinyTrail's sources by domain: visits by referrer host, of visits with a source.
    q = query(("visits",), ("visit:referrer_host",), filters=(NOT_DIRECT,))
    assert key_columns(q) == ("referrer_source", "referrer")
    q = query(("visits", "bounce_rate", "pageviews"), ("visit:referrer",), filters=(NOT_DIRECT,))
    assert key_columns(q) == ("referrer_source", "referrer")


def test_a_filtered_total_of_additive_metrics_takes_the_filters_key() -> None:
    q = query(("visits", "pageviews", "visit_duration"), filters=(NOT_DIRECT,))
    assert key_columns(q) == ("referrer_source",)


def test_visitors_never_add_up_over_finer_rows() -> None:
    # One visitor's two visits from one referrer under two sources would count twice.
    assert key_columns(query(("visitors",), ("visit:referrer",), filters=(NOT_DIRECT,))) is None
    assert key_columns(query(("visits", "visitors"), filters=(NOT_DIRECT,))) is None


def test_finer_keys_split_by_visit_attributes_only() -> None:
    # Pages split a visit's events over several rows, where its visit would count once each.
    on_page = Filter("is", "event:page", ("/pricing",))
    assert key_columns(query(("visits",), filters=(on_page,))) is None
    by_page = query(("pageviews",), ("event:page",), filters=(NOT_DIRECT,))
    assert key_columns(by_page) is None
