"""`POST /api/v2/query`: text operators (contains, matches and their negations) on the location
dimensions whose displayed value is not the stored one: `visit:country_name`,
`visit:region_name`, `visit:city_name` (names of the stored codes) and `visit:city` (a GeoNames
id, matched as text).

The dataset is `test_plausible_query.py`'s week. Visitors by location: GB / England / London
(user 1), EE / Harjumaa / Tallinn (2), DE / Berlin / Berlin (3), US / California /
San Francisco (4), none (5), GB / Scotland / Glasgow (6), FR / Île-de-France / Paris (7).
City ids: London 2643743, Tallinn 588409, Berlin 2950159, San Francisco 5391959, Glasgow
2648579, Paris 2988507.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_plausible_query import WEEK, Data, seeded, unordered

NO_CASE = {"case_sensitive": False}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    yield from seeded(tmp_path_factory.mktemp("name_filters") / "data")


def visitors(data: Data, *filters: Any) -> int:
    [value] = data.metrics(metrics=["visitors"], filters=list(filters))
    assert isinstance(value, int)
    return value


NAME_FILTERS = [
    # contains: a substring of the name, of any clause; case-sensitive unless told.
    (["contains", "visit:country_name", ["Germ"]], 1),
    (["contains", "visit:country_name", ["germ"]], 0),
    (["contains", "visit:country_name", ["germ"], NO_CASE], 1),
    (["contains", "visit:country_name", ["United"]], 3),  # Kingdom (1, 6), States (4)
    (["contains", "visit:country_name", ["Germ", "Fra"]], 2),
    (["contains", "visit:country_name", ["Atlantis"]], 0),
    (["contains", "visit:region_name", ["erl"]], 1),
    (["contains", "visit:region_name", ["land"]], 2),  # England, Scotland
    (["contains", "visit:region_name", ["DE-"]], 0),  # the code is not the name
    (["contains", "visit:region_name", ["île"], NO_CASE], 1),  # Île-de-France
    (["contains", "visit:city_name", ["erl"]], 1),
    (["contains", "visit:city_name", ["an"]], 1),  # San Francisco
    (["contains", "visit:city_name", ["PARIS"], NO_CASE], 1),
    # contains_not: no clause is a substring; visits without a location have an empty name,
    # which contains nothing, so they are kept (user 5).
    (["contains_not", "visit:country_name", ["Germ"]], 6),
    (["contains_not", "visit:country_name", ["germ"], NO_CASE], 6),
    (["contains_not", "visit:country_name", ["Germ", "United"]], 3),  # 2, 5, 7
    (["contains_not", "visit:city_name", ["erl"]], 6),
    (["contains_not", "visit:region_name", ["land"]], 5),
    # matches: RE2, unanchored search over the name.
    (["matches", "visit:country_name", ["^Ger"]], 1),
    (["matches", "visit:country_name", ["many$"]], 1),
    (["matches", "visit:country_name", ["^Ger$"]], 0),
    (["matches", "visit:country_name", ["(?i)^ger"]], 1),
    (["matches", "visit:country_name", ["^United (Kingdom|States)$"]], 3),
    (["matches", "visit:region_name", ["^Ber"]], 1),
    (["matches", "visit:region_name", ["^(Harjumaa|Scotland)$"]], 2),
    (["matches", "visit:city_name", ["^Ber"]], 1),
    (["matches", "visit:city_name", ["^(London|Paris)$"]], 2),
    (["matches", "visit:city_name", ["^San "]], 1),
    # The empty name of visits without a location matches what matches the empty text.
    (["matches", "visit:country_name", ["^$"]], 1),
    (["matches_not", "visit:country_name", ["^Ger"]], 6),
    (["matches_not", "visit:city_name", ["^(London|Paris)$"]], 5),
    (["matches_not", "visit:region_name", ["."]], 1),  # only the visit without a region
    # visit:city shows the GeoNames id: text operators read the id as text.
    (["contains", "visit:city", ["29"]], 2),  # Berlin 2950159, Paris 2988507
    (["contains", "visit:city", [29]], 2),
    (["contains", "visit:city", ["2950159"]], 1),
    (["contains_not", "visit:city", ["29"]], 5),
    (["matches", "visit:city", ["^5"]], 2),  # Tallinn 588409, San Francisco 5391959
    (["matches", "visit:city", ["^26"]], 2),  # London, Glasgow
    (["matches_not", "visit:city", ["^26"]], 5),
]


@pytest.mark.parametrize(("flt", "expected"), NAME_FILTERS)
def test_text_operators_on_displayed_location_values(
    data: Data, flt: list[Any], expected: int
) -> None:
    assert visitors(data, flt) == expected


def test_is_and_is_not_on_names_are_unchanged(data: Data) -> None:
    assert visitors(data, ["is", "visit:country_name", ["Germany"]]) == 1
    assert visitors(data, ["is_not", "visit:country_name", ["Germany"]]) == 6
    assert visitors(data, ["is", "visit:region_name", ["Berlin"]]) == 1
    assert visitors(data, ["is", "visit:city_name", ["Berlin"]]) == 1
    assert visitors(data, ["is", "visit:city", [2950159]]) == 1


def test_name_filters_nest_in_logical_filters(data: Data) -> None:
    either = ["or", [["contains", "visit:country_name", ["Germ"]], ["is", "visit:country", ["FR"]]]]
    assert visitors(data, either) == 2
    assert visitors(data, ["not", ["contains", "visit:country_name", ["Germ"]]]) == 6
    # United Kingdom or States, city id starting with 2: London, Glasgow (not San Francisco).
    united = ["contains", "visit:country_name", ["United"]]
    assert visitors(data, ["and", [united, ["matches", "visit:city", ["^2"]]]]) == 2


def test_name_filters_with_a_breakdown_and_visit_metrics(data: Data) -> None:
    rows = data.rows(
        metrics=["visitors", "visits", "bounce_rate"],
        dimensions=["visit:country_name"],
        filters=[["contains", "visit:country_name", ["United"]]],
    )
    # United Kingdom: V1a (3 pageviews), V1b (bounce), V6 (pageview and Signup).
    assert unordered(rows) == [["United Kingdom", 2, 3, 33], ["United States", 1, 1, 100]]
    rows = data.rows(
        metrics=["visitors", "pageviews"],
        dimensions=["visit:city_name"],
        filters=[["matches", "visit:city_name", ["^(London|Paris|Berlin)$"]]],
    )
    assert unordered(rows) == [["Berlin", 1, 2], ["London", 1, 4], ["Paris", 1, 1]]


def test_name_filters_on_event_metrics_and_with_event_filters(data: Data) -> None:
    [pageviews] = data.metrics(
        metrics=["pageviews"], filters=[["contains", "visit:city_name", ["erl"]]]
    )
    assert pageviews == 2  # Berlin: /pricing, /signup
    [visits] = data.metrics(
        metrics=["visits"],
        filters=[
            ["matches_not", "visit:country_name", ["^Ger"]],
            ["is", "event:page", ["/pricing"]],
        ],
    )
    assert visits == 2  # V1a, V6 (V3 from Germany is left out)


@pytest.mark.parametrize("pattern", ["(", "?", "[z-a]", "(?<name>x)"])
@pytest.mark.parametrize(
    "dimension", ["visit:country_name", "visit:region_name", "visit:city_name", "visit:city"]
)
def test_invalid_regexes_answer_the_usual_400(data: Data, dimension: str, pattern: str) -> None:
    expected = data.error(
        {
            "site_id": "stats.test",
            "metrics": ["visitors"],
            "date_range": WEEK,
            "filters": [["matches", "event:page", [pattern]]],
        }
    )
    assert expected.startswith("Invalid query: ")
    for op in ("matches", "matches_not"):
        body = {
            "site_id": "stats.test",
            "metrics": ["visitors"],
            "date_range": WEEK,
            "filters": [[op, dimension, [pattern]]],
        }
        assert data.error(body) == expected


@pytest.mark.parametrize("pattern", ["(a+)+$" * 300, "x" * 20000, "a{1000}{1000}"])
def test_huge_regexes_on_names_are_handled(data: Data, pattern: str) -> None:
    for dimension in ("visit:country_name", "visit:city_name"):
        response = data.post(
            {
                "site_id": "stats.test",
                "metrics": ["visitors"],
                "date_range": WEEK,
                "filters": [["matches", dimension, [pattern]]],
            }
        )
        assert response.status_code in (200, 400), response.text


def test_a_substring_of_many_city_names(data: Data) -> None:
    # "a" is in well over 100,000 city names; the filter still answers exactly: Tallinn, San
    # Francisco, Glasgow and Paris have it, London, Berlin and the visit without a city not.
    assert visitors(data, ["contains", "visit:city_name", ["a"]]) == 4
    assert visitors(data, ["contains_not", "visit:city_name", ["a"]]) == 3


def test_daily_rollups_give_the_same_answers(tmp_path: Path) -> None:
    queries: list[dict[str, Any]] = [
        {
            "metrics": ["visitors", "visits"],
            "dimensions": ["visit:country"],
            "filters": [["contains", "visit:country_name", ["United"]]],
        },
        {
            "metrics": ["visitors"],
            "dimensions": ["visit:city"],
            "filters": [["matches", "visit:city", ["^2"]]],
        },
        {
            "metrics": ["visitors"],
            "dimensions": ["visit:region_name"],
            "filters": [["contains_not", "visit:region_name", ["land"]]],
        },
    ]
    for data in seeded(tmp_path / "data"):  # one server, stopped when the loop ends
        before = [data.query(**fields) for fields in queries]
        data.server.aggregate(*(f"2026-03-{day}" for day in range(10, 17)))
        after = [data.query(**fields) for fields in queries]
        assert after == before
        assert [len(result["results"]) for result in before] == [2, 4, 4]
