"""`POST /api/v2/query` with several time dimensions in one query (e.g. time:day and time:hour).

Plausible computes every time dimension on its own (one SQL expression per dimension key) and
groups by all of them; `include.time_labels`, the default order and `order_by "time"` go by the
first time dimension (`Plausible.Stats.Time.time_dimension`). The dataset is
`test_plausible_query.py`'s week, plus one visit across midnight: user 20, pageviews at
2026-03-05 23:50 and 2026-03-06 00:10 (UTC, the site's zone).

2026-03-10: V1a (user 1) 10:00-10:05, 3 pageviews; V2 (user 2) 11:00, a bounce; V1b (user 1)
14:00, a bounce. 2026-03-11: V3 (user 3) 09:00-09:04, 2 pageviews.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_plausible_query import DOMAIN, Data, import_lines, line, seeded

TWO_DAYS = ["2026-03-10", "2026-03-11"]
MIDNIGHT = [
    line("2026-03-05T23:50:00", 20, "/"),
    line("2026-03-06T00:10:00", 20, "/about"),
]


def with_midnight_visit(data_dir: Path) -> Iterator[Data]:
    for data in seeded(data_dir):
        import_lines(data.server, DOMAIN, MIDNIGHT)
        yield data


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    yield from with_midnight_visit(tmp_path_factory.mktemp("time_dimensions") / "data")


def test_day_and_hour_are_each_their_own_bucket(data: Data) -> None:
    body = data.query(
        metrics=["visitors", "pageviews"], dimensions=["time:day", "time:hour"], date_range=TWO_DAYS
    )
    assert [[*r["dimensions"], *r["metrics"]] for r in body["results"]] == [
        ["2026-03-10", "2026-03-10 10:00:00", 1, 3],
        ["2026-03-10", "2026-03-10 11:00:00", 1, 1],
        ["2026-03-10", "2026-03-10 14:00:00", 1, 1],
        ["2026-03-11", "2026-03-11 09:00:00", 1, 2],
    ]
    assert body["query"]["dimensions"] == ["time:day", "time:hour"]
    assert body["query"]["order_by"] == [["time:day", "asc"], ["visitors", "desc"]]


def test_visit_metrics_by_day_and_hour(data: Data) -> None:
    rows = data.rows(
        metrics=["visits", "bounce_rate"],
        dimensions=["time:hour", "time:day"],
        date_range=TWO_DAYS,
    )
    assert rows == [
        ["2026-03-10 10:00:00", "2026-03-10", 1, 0],
        ["2026-03-10 11:00:00", "2026-03-10", 1, 100],
        ["2026-03-10 14:00:00", "2026-03-10", 1, 100],
        ["2026-03-11 09:00:00", "2026-03-11", 1, 0],
    ]


def test_a_visit_across_midnight_pairs_each_hour_with_its_own_day(data: Data) -> None:
    # Visits are counted in every hour they were active; with an hour dimension the other
    # time dimensions bucket that hour, so a row's day is its hour's day.
    date_range = ["2026-03-05", "2026-03-06"]
    expected = [
        ["2026-03-05", "2026-03-05 23:00:00", 1],
        ["2026-03-06", "2026-03-06 00:00:00", 1],
    ]
    for metric in ("visits", "pageviews"):
        rows = data.rows(
            metrics=[metric], dimensions=["time:day", "time:hour"], date_range=date_range
        )
        assert rows == expected, metric
    # Without an hour dimension a visit belongs to the day of its last activity.
    rows = data.rows(metrics=["visits"], dimensions=["time:day"], date_range=date_range)
    assert rows == [["2026-03-06", 1]]


def test_a_visit_counts_in_every_range_it_was_active_in(data: Data) -> None:
    # Reference 4.2: a visit is in a range if its last activity is not before the range's
    # start and it started by the range's end. User 20's visit (03-05 23:50 to 03-06 00:10)
    # is in both days, once in the two of them.
    metrics = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]
    for date_range, expected in (
        (["2026-03-05", "2026-03-05"], [1, 1, 1, 0, 1200]),
        (["2026-03-06", "2026-03-06"], [1, 1, 1, 0, 1200]),
        (["2026-03-05", "2026-03-06"], [1, 1, 2, 0, 1200]),
    ):
        assert data.rows(metrics=metrics, date_range=date_range) == [expected], date_range
        rows = data.rows(metrics=["visits"], dimensions=["visit:entry_page"], date_range=date_range)
        assert rows == [["/", 1]], date_range
    # A day bucket takes the last activity, within the range: the range's last day here.
    rows = data.rows(
        metrics=["visits"], dimensions=["time:day"], date_range=["2026-03-04", "2026-03-05"]
    )
    assert rows == [["2026-03-05", 1]]


def test_month_week_and_day_over_the_week(data: Data) -> None:
    rows = data.rows(
        metrics=["visitors"],
        dimensions=["time:month", "time:week", "time:day"],
        date_range=["2026-03-10", "2026-03-16"],
    )
    # The week of 03-09 starts at the range's first day; 03-16 is a Monday. The default order
    # is Plausible's: the first time dimension, then the first metric (descending); ties in
    # the order of the dimensions.
    assert rows == [
        ["2026-03-01", "2026-03-10", "2026-03-10", 2],
        ["2026-03-01", "2026-03-10", "2026-03-12", 2],
        ["2026-03-01", "2026-03-10", "2026-03-11", 1],
        ["2026-03-01", "2026-03-10", "2026-03-14", 1],
        ["2026-03-01", "2026-03-10", "2026-03-15", 1],
    ]


def test_time_resolves_on_its_own_next_to_a_fixed_bucket(data: Data) -> None:
    # Two days are at most 48 hours: "time" is hourly, whatever the other dimension.
    rows = data.rows(metrics=["visitors"], dimensions=["time", "time:day"], date_range=TWO_DAYS)
    assert [row[:2] for row in rows] == [
        ["2026-03-10 10:00:00", "2026-03-10"],
        ["2026-03-10 11:00:00", "2026-03-10"],
        ["2026-03-10 14:00:00", "2026-03-10"],
        ["2026-03-11 09:00:00", "2026-03-11"],
    ]
    # Over the week, "time" is daily: both columns are equal.
    rows = data.rows(metrics=["visitors"], dimensions=["time:day", "time"])
    assert all(row[0] == row[1] for row in rows) and len(rows) == 5


def test_with_another_dimension_and_a_percentage(data: Data) -> None:
    rows = data.rows(
        metrics=["visitors", "percentage"],
        dimensions=["time:day", "visit:device", "time:hour"],
        date_range=TWO_DAYS,
    )
    # Three visitors in the range: users 1, 2, 3. Ties come in the order of the dimensions.
    assert rows == [
        ["2026-03-10", "Desktop", "2026-03-10 10:00:00", 1, 33.3],
        ["2026-03-10", "Desktop", "2026-03-10 14:00:00", 1, 33.3],
        ["2026-03-10", "Mobile", "2026-03-10 11:00:00", 1, 33.3],
        ["2026-03-11", "Desktop", "2026-03-11 09:00:00", 1, 33.3],
    ]


def test_time_labels_follow_the_first_time_dimension(data: Data) -> None:
    body = data.query(
        metrics=["visitors"],
        dimensions=["time:day", "time:hour"],
        date_range=TWO_DAYS,
        include={"time_labels": True},
    )
    assert body["meta"]["time_labels"] == TWO_DAYS
    body = data.query(
        metrics=["visitors"],
        dimensions=["time:hour", "time:day"],
        date_range=TWO_DAYS,
        include={"time_labels": True},
    )
    labels = body["meta"]["time_labels"]
    assert len(labels) == 48 and labels[0] == "2026-03-10 00:00:00"


def test_ordering_by_either_time_dimension(data: Data) -> None:
    rows = data.rows(
        metrics=["visitors"],
        dimensions=["time:day", "time:hour"],
        date_range=TWO_DAYS,
        order_by=[["time:hour", "desc"]],
    )
    assert [row[1] for row in rows] == [
        "2026-03-11 09:00:00",
        "2026-03-10 14:00:00",
        "2026-03-10 11:00:00",
        "2026-03-10 10:00:00",
    ]
    # "time" orders by the "time" column itself (here: hourly), not by the first time column.
    rows = data.rows(
        metrics=["visitors"],
        dimensions=["time:day", "time"],
        date_range=TWO_DAYS,
        order_by=[["time:day", "asc"], ["time", "desc"]],
    )
    assert [row[1] for row in rows] == [
        "2026-03-10 14:00:00",
        "2026-03-10 11:00:00",
        "2026-03-10 10:00:00",
        "2026-03-11 09:00:00",
    ]


QUERIES: list[dict[str, Any]] = [
    {"metrics": ["visitors", "visits"], "dimensions": ["time:month", "time:day"]},
    {"metrics": ["visitors", "pageviews"], "dimensions": ["time:week", "time:day"]},
    {"metrics": ["visitors"], "dimensions": ["time", "time:day"], "date_range": TWO_DAYS},
    {"metrics": ["visitors"], "dimensions": ["time"], "date_range": TWO_DAYS},
    {"metrics": ["visits"], "dimensions": ["time:day", "time:hour"], "date_range": TWO_DAYS},
]


def test_daily_rollups_give_the_same_answers(tmp_path: Path) -> None:
    for data in with_midnight_visit(tmp_path / "data"):  # one server, stopped after the loop
        before = [data.query(**fields) for fields in QUERIES]
        data.server.aggregate(*(f"2026-03-{day}" for day in range(10, 17)))
        after = [data.query(**fields) for fields in QUERIES]
        assert after == before
        assert before[2]["results"][0]["dimensions"] == ["2026-03-10 10:00:00", "2026-03-10"]
