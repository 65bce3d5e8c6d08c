"""`POST /api/v2/query` filters: operators, modifiers, logic, behavioural filters, goals, props.

The dataset and the hand-derived numbers are documented in `test_plausible_query.py`. The week
has 12 pageviews: / x3 (V1a, V4, V7), /pricing x3 (V1a, V3, V6), /blog/post-1 x2 (V1a, V2),
/blog/post-2, /about (V5), /contact (V1b), /signup (V3); and 15 events (plus Signup x2 and
Download on /pricing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.test_plausible_query import DOMAIN, WEEK, Data, seeded, unordered


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    yield from seeded(tmp_path_factory.mktemp("filters") / "data")


def pageviews(data: Data, *filters: Any) -> int:
    [value] = data.metrics(metrics=["pageviews"], filters=list(filters))
    assert isinstance(value, int)
    return value


# -- operators ------------------------------------------------------------------------------

NO_CASE = {"case_sensitive": False}


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (["is", "event:page", ["/pricing"]], 3),
        (["is", "event:page", ["/", "/about"]], 4),  # any clause
        (["is_not", "event:page", ["/pricing"]], 9),
        (["is_not", "event:page", ["/", "/about"]], 8),  # none of the clauses
        (["contains", "event:page", ["blog"]], 3),
        (["contains", "event:page", ["post-2", "bout"]], 2),
        (["contains_not", "event:page", ["blog"]], 9),
        (["contains_not", "event:page", ["blog", "pricing"]], 6),
        # RE2, unanchored: "post" is found inside both blog paths.
        (["matches", "event:page", ["post"]], 3),
        (["matches", "event:page", ["^/blog/post-\\d$"]], 3),
        (["matches", "event:page", ["^/$"]], 3),
        (["matches", "event:page", ["^/a", "^/c"]], 2),
        (["matches_not", "event:page", ["^/blog"]], 9),
        (["matches_not", "event:page", ["^/blog", "^/$"]], 6),
        # Case: sensitive by default; the modifier lowers both sides for is/contains.
        (["is", "event:page", ["/PRICING"]], 0),
        (["is", "event:page", ["/PRICING"], NO_CASE], 3),
        (["is", "event:page", ["/pricing"], {"case_sensitive": True}], 3),
        (["is_not", "event:page", ["/PRICING"], NO_CASE], 9),
        (["contains", "event:page", ["BLOG"]], 0),
        (["contains", "event:page", ["BLOG"], NO_CASE], 3),
        (["contains_not", "event:page", ["BLOG"], NO_CASE], 9),
        # Regular expressions carry their own flags.
        (["matches", "event:page", ["(?i)^/BLOG"]], 3),
        # An empty clause list matches nothing (and its negation everything).
        (["is", "event:page", []], 0),
    ],
)
def test_operators_on_event_page(data: Data, flt: list[Any], expected: int) -> None:
    assert pageviews(data, flt) == expected


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (["is", "visit:browser", ["Chrome"]], 3),  # users 1, 4, 6
        (["is", "visit:browser", ["chrome"], NO_CASE], 3),
        (["is_not", "visit:browser", ["Chrome"]], 4),  # 2, 3, 5, 7
        (["matches", "visit:browser_version", ["^12"]], 5),  # 120.0 (1, 6), 121, 123, 124
        (["is", "visit:country", ["GB", "EE"]], 3),
        (["is", "visit:country_name", ["Germany"]], 1),
        (["is", "visit:region", ["EE-37"]], 1),
        (["is", "visit:region_name", ["Harjumaa"]], 1),
        (["is", "visit:city", [588409]], 1),  # geoname ids as integers ...
        (["is", "visit:city", ["588409", "2643743"]], 2),  # ... or all strings
        # City names come from GeoNames: Tallinn (user 2); London and Paris (1 and 7).
        (["is", "visit:city_name", ["Tallinn"]], 1),
        (["is", "visit:city_name", ["London", "Paris"]], 2),
        (["is_not", "visit:city_name", ["London"]], 6),
        (["is", "visit:city_name", ["Atlantis"]], 0),
        (["is", "visit:device", ["Mobile"]], 2),
        (["is", "visit:utm_medium", ["email", "social"]], 2),
        (["is", "visit:channel", ["Organic Search"]], 2),
        (["is", "visit:referrer", ["t.co/abc"]], 1),
        (["is", "visit:entry_page", ["/pricing"]], 2),
        (["is", "visit:exit_page", ["/blog/post-1"]], 2),  # V1a (user 1), V2
        (["is", "event:hostname", ["blog.stats.test"]], 1),
        (["matches", "event:hostname", ["^blog\\."]], 1),
        (["is", "event:name", ["Download"]], 1),
    ],
)
def test_operators_on_other_dimensions(data: Data, flt: list[Any], expected: int) -> None:
    assert data.metrics(metrics=["visitors"], filters=[flt]) == [expected]


def test_contains_on_os(data: Data) -> None:
    # "i" is in Windows (users 1, 6), iOS (2), Linux (3) and Android (7), not in Mac (4).
    assert data.metrics(metrics=["visitors"], filters=[["contains", "visit:os", ["i"]]]) == [5]
    # Case-insensitively "I" also matches; case-sensitively nothing has a capital I.
    flt = ["contains", "visit:os", ["I"]]
    assert data.metrics(metrics=["visitors"], filters=[flt]) == [0]
    assert data.metrics(metrics=["visitors"], filters=[[*flt, NO_CASE]]) == [5]


# -- placeholders match empty values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        # Direct visits: V1b, V3, V5, V7 -> users 1, 3, 5, 7.
        (["is", "visit:source", ["Direct / None"]], 4),
        (["is_not", "visit:source", ["Direct / None"]], 4),  # V1a, V2, V4, V6
        (["is", "visit:source", ["Direct / None", "Twitter"]], 5),
        (["is", "visit:referrer", ["Direct / None"]], 5),  # and V4 (utm only)
        (["is", "visit:utm_source", ["(not set)"]], 5),
        (["is_not", "visit:utm_source", ["(not set)"]], 2),
        (["is", "visit:utm_content", ["(not set)"]], 6),
        (["is", "visit:device", ["(not set)"]], 1),  # V5
        (["is", "visit:browser", ["(not set)"]], 1),
        (["is", "visit:os_version", ["(not set)"]], 2),  # V3 (Linux), V5
    ],
)
def test_placeholders_match_empty_values(data: Data, flt: list[Any], expected: int) -> None:
    assert data.metrics(metrics=["visitors"], filters=[flt]) == [expected]


# -- custom properties ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        # 15 events; plan=pro (V1a's Signup) and plan=free (V6's Signup); 13 lack the key.
        (["is", "event:props:plan", ["pro"]], 1),
        (["is", "event:props:plan", ["(none)"]], 13),
        (["is", "event:props:plan", ["pro", "(none)"]], 14),
        (["is_not", "event:props:plan", ["pro"]], 14),  # free + the 13 without the key
        (["is_not", "event:props:plan", ["(none)"]], 2),  # has the key
        (["is_not", "event:props:plan", ["pro", "(none)"]], 1),  # has it, and not pro
        (["is", "event:props:plan", ["PRO"], NO_CASE], 1),
        # contains / matches and their negations only ever match events having the key.
        (["contains", "event:props:plan", ["r"]], 2),
        (["contains_not", "event:props:plan", ["p"]], 1),
        (["matches", "event:props:plan", ["^p"]], 1),
        (["matches_not", "event:props:plan", ["^p"]], 1),
        (["is", "event:props:nothing", ["(none)"]], 15),
        (["is", "event:props:nothing", ["x"]], 0),
    ],
)
def test_custom_property_filters(data: Data, flt: list[Any], expected: int) -> None:
    assert data.metrics(metrics=["events"], filters=[flt]) == [expected]


def test_property_filter_with_breakdown(data: Data) -> None:
    rows = data.rows(
        metrics=["visitors", "pageviews"],
        dimensions=["event:page"],
        filters=[["is", "event:props:author", ["ann", "bob"]]],
    )
    assert unordered(rows) == unordered([["/blog/post-1", 1, 1], ["/blog/post-2", 1, 1]])


# -- and / or / not -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (["or", [["is", "event:page", ["/"]], ["is", "event:page", ["/about"]]]], 4),
        (["and", [["contains", "event:page", ["blog"]], ["is", "visit:browser", ["Chrome"]]]], 1),
        # Not Desktop: V2 (1), V4 (1), V5 (2), V7 (1).
        (["not", ["is", "visit:device", ["Desktop"]]], 5),
        (["not", ["not", ["is", "visit:device", ["Desktop"]]]], 7),
        (
            [
                "or",
                [
                    ["and", [["is", "visit:country", ["GB"]], ["is", "event:page", ["/pricing"]]]],
                    ["not", ["contains", "event:page", ["/"]]],
                ],
            ],
            2,  # /pricing of V1a and V6 (GB); every path contains "/"
        ),
        (
            [
                "and",
                [
                    [
                        "or",
                        [["is", "visit:device", ["Mobile"]], ["is", "visit:device", ["Tablet"]]],
                    ],
                    ["not", ["is", "event:page", ["/"]]],
                ],
            ],
            1,  # Mobile/Tablet pageviews: V2 /blog/post-1, V4 /, V7 / -> one not on /
        ),
    ],
)
def test_logical_filters(data: Data, flt: list[Any], expected: int) -> None:
    assert pageviews(data, flt) == expected


def test_top_level_filters_are_anded_on_the_same_event(data: Data) -> None:
    # Event filters must all hold on one event: no single event is both /pricing and Signup
    # ... except the Signups, which happen on /pricing.
    assert data.metrics(
        metrics=["events"],
        filters=[["is", "event:page", ["/pricing"]], ["is", "event:name", ["Signup"]]],
    ) == [2]
    # A visit attribute and an event attribute.
    assert (
        pageviews(data, ["is", "visit:source", ["Google"]], ["is", "event:page", ["/pricing"]]) == 2
    )


# -- behavioural filters --------------------------------------------------------------------


def test_has_done_keeps_whole_visits(data: Data) -> None:
    # Visits with a Signup: V1a (3 pageviews) and V6 (1); all their events count.
    assert data.metrics(
        metrics=["visits", "visitors", "pageviews", "events"],
        filters=[["has_done", ["is", "event:name", ["Signup"]]]],
    ) == [2, 2, 4, 6]
    # The other six visits (user 1's V1b among them).
    assert data.metrics(
        metrics=["visits", "visitors", "pageviews", "bounce_rate"],
        filters=[["has_not_done", ["is", "event:name", ["Signup"]]]],
    ) == [6, 6, 8, 67]


def test_has_done_with_goals_and_pages(data: Data) -> None:
    # Visits that viewed /pricing: V1a, V3, V6.
    assert data.metrics(
        metrics=["visits"], filters=[["has_done", ["is", "event:goal", ["Visit /pricing"]]]]
    ) == [3]
    # Pages of visits that did not view /pricing: V2, V1b, V4, V5, V7.
    rows = data.rows(
        metrics=["pageviews"],
        dimensions=["event:page"],
        filters=[["has_not_done", ["is", "event:page", ["/pricing"]]]],
    )
    assert unordered(rows) == unordered(
        [["/", 2], ["/blog/post-1", 1], ["/contact", 1], ["/blog/post-2", 1], ["/about", 1]]
    )
    # Combined with a plain event filter: the events themselves must match too.
    assert (
        pageviews(
            data,
            ["has_done", ["is", "event:name", ["Signup"]]],
            ["is", "event:page", ["/pricing"]],
        )
        == 2
    )


# -- goals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (["is", "event:goal", ["Signup"]], [2, 2]),
        (["is", "event:goal", ["Visit /pricing"]], [3, 3]),
        # A wildcard page goal: /blog/post-1 (users 1, 2) and /blog/post-2 (user 5).
        (["is", "event:goal", ["Visit /blog/**"]], [3, 3]),
        # Several goals: the union (user 1 has both; 5 conversions in all).
        (["is", "event:goal", ["Signup", "Visit /pricing"]], [3, 5]),
        (["is", "event:goal", ["visit /PRICING"], NO_CASE], [3, 3]),
        # contains matches display names: both page goals (users 1, 2, 3, 5, 6).
        (["contains", "event:goal", ["Visit"]], [5, 6]),
        (["contains", "event:goal", ["SIGN"], NO_CASE], [2, 2]),
        (["contains", "event:goal", ["nothing"]], [0, 0]),
    ],
)
def test_goal_filters(data: Data, flt: list[Any], expected: list[int]) -> None:
    assert data.metrics(metrics=["visitors", "events"], filters=[flt]) == expected


def test_goal_filter_with_a_case_modifier_is_not_checked_against_configured_goals(
    data: Data,
) -> None:
    # Plausible checks only plain `["is", "event:goal", clauses]` filters for unknown goals
    # (QueryBuilder.validate_filtered_goals_exist matches the 3-element form); with a
    # modifier an unknown name simply matches nothing.
    flt = ["is", "event:goal", ["nothing"], NO_CASE]
    assert data.metrics(metrics=["visitors"], filters=[flt]) == [0]
    # Any modifier object skips the check, and a known name in another case still matches.
    flt = ["is", "event:goal", ["nothing"], {"case_sensitive": True}]
    assert data.metrics(metrics=["visitors"], filters=[flt]) == [0]
    flt = ["is", "event:goal", ["nothing", "SIGNUP"], NO_CASE]
    assert data.metrics(metrics=["visitors", "events"], filters=[flt]) == [2, 2]
    # The plain form is checked.
    message = data.error(
        {
            "site_id": DOMAIN,
            "metrics": ["visitors"],
            "date_range": WEEK,
            "filters": [["is", "event:goal", ["nothing"]]],
        }
    )
    assert message.startswith("Invalid filters. The goal `nothing` is not configured")


# -- filters and visit metrics --------------------------------------------------------------


def test_page_filter_bounce_rate_counts_visits_entering_there(data: Data) -> None:
    # Visits with a / pageview: V1a, V4, V7 (all entered on /); bounces V4, V7 -> 67.
    assert data.metrics(
        metrics=["visits", "bounce_rate"], filters=[["is", "event:page", ["/"]]]
    ) == [3, 67]
    # /blog/post-1 was viewed in V1a (entered on /) and V2 (entered there, a bounce): the
    # bounce rate counts V2 only -> 100, while visits counts both.
    assert data.metrics(
        metrics=["visits", "bounce_rate"], filters=[["is", "event:page", ["/blog/post-1"]]]
    ) == [2, 100]


def test_visit_metrics_with_event_filters(data: Data) -> None:
    # Visits containing a Download: V3 (240 s, 2 pageviews, not a bounce).
    assert data.metrics(
        metrics=["visits", "bounce_rate", "visit_duration", "views_per_visit"],
        filters=[["is", "event:name", ["Download"]]],
    ) == [1, 0, 240, 2.0]
    # Props with visit metrics are fine too (plan=free: V6).
    assert data.metrics(
        metrics=["visits", "visit_duration"], filters=[["is", "event:props:plan", ["free"]]]
    ) == [1, 60]


def test_entry_and_exit_page_filters_on_event_metrics(data: Data) -> None:
    # Visits entering on /: V1a (3 pageviews), V4 (1), V7 (1).
    assert pageviews(data, ["is", "visit:entry_page", ["/"]]) == 5
    assert data.metrics(
        metrics=["visits"], filters=[["is", "visit:exit_page", ["/blog/post-1"]]]
    ) == [2]


def test_views_per_visit_with_a_behavioural_page_filter(data: Data) -> None:
    # Only direct event:page filters are refused with views_per_visit; behavioural ones are
    # ignored by that check. Visits that viewed /: V1a (3), V4 (1), V7 (1) -> 5/3 = 1.67.
    assert data.metrics(
        metrics=["views_per_visit"], filters=[["has_done", ["is", "event:page", ["/"]]]]
    ) == [1.67]


def test_time_on_page_with_a_nested_page_filter(data: Data) -> None:
    # time_on_page needs an event:page filter anywhere outside behavioural filters (only
    # scroll_depth requires it at the top level): /pricing -> 58 s.
    flt = ["or", [["is", "event:page", ["/pricing"]], ["is", "event:page", ["/nowhere"]]]]
    assert data.metrics(metrics=["time_on_page"], filters=[flt]) == [58]


def test_many_filters_at_once(data: Data) -> None:
    filters: list[Any] = [["is_not", "event:page", [f"/nope-{i}"]] for i in range(200)]
    assert pageviews(data, *filters) == 12
    filters = [["is", "event:page", [f"/p{i}" for i in range(5000)] + ["/about"]]]
    assert pageviews(data, *filters) == 1
