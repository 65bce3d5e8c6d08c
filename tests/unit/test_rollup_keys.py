"""Which rollup key answers a query: the exact one, or a finer one for metrics that add up;
and which property breakdowns the props rollup answers.

Rollup answers equal raw ones over HTTP (tests/api/test_reports_consistency.py); these tests pin
down that the rollups are used at all, and never where a sum over finer rows would be wrong.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from tinytrail.query.model import Filter, Goal, Query, SiteContext
from tinytrail.query.periods import from_dates
from tinytrail.query.sql.rollups import props_rollup_source, rollup_key_for

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


# -- the props rollup ----------------------------------------------------------------------

GOALS = (
    Goal(1, "Signup", event_name="signup"),
    Goal(2, "Signup (pro)", event_name="signup", custom_props=(("plan", "pro"),)),
    Goal(3, "Pricing", page_path="/pricing"),
    Goal(4, "Purchase", event_name="purchase"),
)


def props_query(*filters: Filter, metrics: tuple[str, ...] = ("visitors", "events")) -> Query:
    site = SiteContext(7, "example.com", UTC, GOALS)
    return query(metrics, ("event:props:plan",), filters=filters, site=site)


def test_a_property_of_one_event_name_comes_from_the_props_rollup() -> None:
    by_name = props_query(Filter("is", "event:name", ("signup",)))
    assert props_rollup_source(by_name) == ("signup", "plan")
    by_goal = props_query(Filter("is", "event:goal", ("Signup",)))
    assert props_rollup_source(by_goal) == ("signup", "plan")
    one_goal = props_query(Filter("contains", "event:goal", ("Purch",)))
    assert props_rollup_source(one_goal) == ("purchase", "plan")
    rate = ("visitors", "visits", "events", "conversion_rate")
    assert props_rollup_source(props_query(by_goal.filters[0], metrics=rate)) is not None


def test_the_props_rollup_answers_only_one_plain_event_name() -> None:
    refused = [
        props_query(),  # every event: visitors do not add up over names
        props_query(Filter("is", "event:name", ("signup", "purchase"))),
        props_query(Filter("is", "event:name", ("Signup",), case_sensitive=False)),
        props_query(Filter("is_not", "event:name", ("signup",))),
        props_query(Filter("is", "event:name", ("engagement",))),  # rollups leave it out
        props_query(Filter("contains", "event:goal", ("Signup",))),  # two goals
        props_query(Filter("is", "event:goal", ("Signup (pro)",))),  # a property condition
        props_query(Filter("is", "event:goal", ("Pricing",))),  # a page goal
        props_query(Filter("is_not", "event:goal", ("Signup",))),
        props_query(
            Filter("is", "event:name", ("signup",)), Filter("is", "visit:source", ("Google",))
        ),
        props_query(Filter("is", "event:name", ("signup",)), metrics=("visitors", "percentage")),
        props_query(Filter("is", "event:name", ("signup",)), metrics=("bounce_rate",)),
        props_query(Filter("is", "event:name", ("signup",))).with_(include_bots=True),
        props_query(Filter("is", "event:name", ("signup",))).with_(
            dimensions=("event:props:plan", "time:day")
        ),
    ]
    for q in refused:
        assert props_rollup_source(q) is None, q
