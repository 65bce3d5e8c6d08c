"""`POST /api/v2/query` date ranges: shorthands, date and datetime pairs, timezones, DST.

The server clock stands at 2026-03-18 12:00 UTC (a Wednesday). The dataset is documented in
`test_plausible_query.py`: the main week (users 1-7, 2026-03-10 .. 03-15) plus one pageview each
of users 8 (03-18 11:00), 9 (03-17 13:00), 10 (02-20), 11 (02-17), 12 (2025-12-20),
13 (2025-10-01), 14 (2025-04-01) and 15 (2025-02-15), all at 12:00 UTC unless noted.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from itertools import pairwise
from typing import Any

import pytest

from tests.api.test_plausible_query import Data, post, seeded, set_timezone


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Data]:
    yield from seeded(tmp_path_factory.mktemp("dates") / "data")


def z(first: str, last: str) -> list[str]:
    """A range of whole UTC days as echoed for an Etc/UTC site."""
    return [f"{first}T00:00:00Z", f"{last}T23:59:59Z"]


@pytest.mark.parametrize(
    ("date_range", "echo", "visitors"),
    [
        ("day", z("2026-03-18", "2026-03-18"), 1),  # user 8
        # The 24 hours up to now: users 9 (03-17 13:00) and 8.
        ("24h", ["2026-03-17T12:00:00Z", "2026-03-18T12:00:00Z"], 2),
        # Nd: the N whole days before today; today excluded (user 8 is not counted).
        ("7d", z("2026-03-11", "2026-03-17"), 6),  # users 3-7 and 9
        ("28d", z("2026-02-18", "2026-03-17"), 9),  # users 1-7, 9, 10
        ("30d", z("2026-02-16", "2026-03-17"), 10),  # and 11
        ("91d", z("2025-12-17", "2026-03-17"), 11),  # and 12
        ("10d", z("2026-03-08", "2026-03-17"), 8),  # users 1-7, 9
        # The current month, future days included.
        ("month", z("2026-03-01", "2026-03-31"), 9),  # users 1-9
        # Nmo: whole months before the current one.
        ("6mo", z("2025-09-01", "2026-02-28"), 4),  # users 10-13
        ("12mo", z("2025-03-01", "2026-02-28"), 5),  # users 10-14
        ("3mo", z("2025-12-01", "2026-02-28"), 3),  # users 10-12
        ("year", z("2026-01-01", "2026-12-31"), 11),  # users 1-11
        # From the first day with data (user 15) to today.
        ("all", z("2025-02-15", "2026-03-18"), 15),
        ("5000d", z("2012-07-09", "2026-03-17"), 14),
        ("100mo", z("2017-11-01", "2026-02-28"), 6),
    ],
)
def test_shorthands(data: Data, date_range: str, echo: list[str], visitors: int) -> None:
    body = data.query(metrics=["visitors"], date_range=date_range)
    assert body["query"]["date_range"] == echo
    assert body["results"] == [{"dimensions": [], "metrics": [visitors]}]


@pytest.mark.parametrize(
    ("date_range", "echo", "visitors"),
    [
        (["2026-03-10", "2026-03-16"], z("2026-03-10", "2026-03-16"), 7),
        (["2026-03-12", "2026-03-12"], z("2026-03-12", "2026-03-12"), 2),  # users 4, 5
        (["2026-03-13", "2026-03-13"], z("2026-03-13", "2026-03-13"), 0),
        # Datetimes with offsets are exact instants (converted to UTC, echoed in the site's
        # zone): 09:30+01:00 = 08:30Z .. 15:00Z on 03-12 covers users 1, 2, 3, 4 (V1b at
        # 03-10 14:00 too, still user 1).
        (
            ["2026-03-10T09:30:00+01:00", "2026-03-12T15:00:00Z"],
            ["2026-03-10T08:30:00Z", "2026-03-12T15:00:00Z"],
            4,
        ),
        # 10:00:00 .. 10:59:59 UTC on 03-10: only V1a.
        (
            ["2026-03-10T12:00:00+02:00", "2026-03-10T05:59:59-05:00"],
            ["2026-03-10T10:00:00Z", "2026-03-10T10:59:59Z"],
            1,
        ),
        # Fractions of a second are cut. A visit counts where it was last active: V2 (active
        # until 11:00:40) is in, V1a (last active 10:06) is not.
        (
            ["2026-03-10T10:30:00.250Z", "2026-03-10T11:30:00.999+00:00"],
            ["2026-03-10T10:30:00Z", "2026-03-10T11:30:00Z"],
            1,
        ),
        # Ending before the first event of the day.
        (
            ["2026-03-10T00:00:00Z", "2026-03-10T09:59:59Z"],
            ["2026-03-10T00:00:00Z", "2026-03-10T09:59:59Z"],
            0,
        ),
    ],
)
def test_date_and_datetime_pairs(
    data: Data, date_range: list[str], echo: list[str], visitors: int
) -> None:
    body = data.query(metrics=["visitors"], date_range=date_range)
    assert body["query"]["date_range"] == echo
    assert body["results"] == [{"dimensions": [], "metrics": [visitors]}]


# -- the site's timezone --------------------------------------------------------------------


def zone_site(data: Data, domain: str, timezone: str) -> str:
    key, site = data.server.tenant(domain)
    set_timezone(data.server, key, site["id"], timezone)
    return key


def echoed_range(data: Data, key: str, domain: str, date_range: Any) -> list[str]:
    response = post(
        data.server, {"site_id": domain, "metrics": ["visitors"], "date_range": date_range}, key
    )
    assert response.status_code == 200, response.text
    echo: list[str] = response.json()["query"]["date_range"]
    return echo


@pytest.mark.parametrize(
    ("timezone", "date_range", "echo"),
    [
        # Spring forward at midnight: 2022-09-11 00:00 does not exist in Santiago; the range
        # starts at the first instant after the gap (01:00-03:00 = 04:00Z) and ends at
        # 23:59:59-03:00 = 2022-09-12T02:59:59Z.
        (
            "America/Santiago",
            ["2022-09-11", "2022-09-11"],
            ["2022-09-11T01:00:00-03:00", "2022-09-11T23:59:59-03:00"],
        ),
        # Fall back at 01:00 -> 00:00: midnight of 2023-11-05 happens twice in Havana; the
        # start is the later one (-05:00 = 05:00Z), the end 2023-11-06T04:59:59Z.
        (
            "America/Havana",
            ["2023-11-05", "2023-11-05"],
            ["2023-11-05T00:00:00-05:00", "2023-11-05T23:59:59-05:00"],
        ),
        # Fall back at midnight of 2024-03-24 in Asuncion: 23:00..23:59:59 of 03-23 happens
        # twice; the end is the earlier instant (-03:00 = 2024-03-24T02:59:59Z).
        (
            "America/Asuncion",
            ["2024-03-23", "2024-03-23"],
            ["2024-03-23T00:00:00-03:00", "2024-03-23T23:59:59-03:00"],
        ),
        # A range across a DST change keeps each end's own offset.
        (
            "America/New_York",
            ["2026-03-07", "2026-03-09"],
            ["2026-03-07T00:00:00-05:00", "2026-03-09T23:59:59-04:00"],
        ),
        (
            "Europe/Berlin",
            ["2025-10-25", "2025-10-27"],
            ["2025-10-25T00:00:00+02:00", "2025-10-27T23:59:59+01:00"],
        ),
        # A zone at offset zero is not the UTC zone: Plausible writes +00:00 there, Z for UTC.
        (
            "Europe/London",
            ["2026-03-10", "2026-03-10"],
            ["2026-03-10T00:00:00+00:00", "2026-03-10T23:59:59+00:00"],
        ),
        # Datetimes are echoed in the site's zone.
        (
            "Europe/Berlin",
            ["2026-03-16T00:00:00Z", "2026-03-16T23:00:00Z"],
            ["2026-03-16T01:00:00+01:00", "2026-03-17T00:00:00+01:00"],
        ),
        # Quarter-hour and +14:00 zones; "today" is the local date: in Kiritimati it is
        # already 2026-03-19 (02:00 local), in New York still 03-18 (08:00 local).
        (
            "Asia/Kathmandu",
            ["2026-03-10", "2026-03-10"],
            ["2026-03-10T00:00:00+05:45", "2026-03-10T23:59:59+05:45"],
        ),
        (
            "Pacific/Kiritimati",
            "day",
            ["2026-03-19T00:00:00+14:00", "2026-03-19T23:59:59+14:00"],
        ),
        (
            "Pacific/Kiritimati",
            "7d",
            ["2026-03-12T00:00:00+14:00", "2026-03-18T23:59:59+14:00"],
        ),
        (
            "Pacific/Kiritimati",
            "24h",
            ["2026-03-18T02:00:00+14:00", "2026-03-19T02:00:00+14:00"],
        ),
        # A site without data: "all" is today only.
        (
            "Pacific/Kiritimati",
            "all",
            ["2026-03-19T00:00:00+14:00", "2026-03-19T23:59:59+14:00"],
        ),
        (
            "America/New_York",
            "day",
            ["2026-03-18T00:00:00-04:00", "2026-03-18T23:59:59-04:00"],
        ),
        (
            "America/New_York",
            "month",
            ["2026-03-01T00:00:00-05:00", "2026-03-31T23:59:59-04:00"],
        ),
    ],
)
def test_ranges_in_the_site_timezone(
    data: Data, timezone: str, date_range: Any, echo: list[str]
) -> None:
    domain = f"tz-{uuid.uuid4().hex[:12]}.test"
    key = zone_site(data, domain, timezone)
    assert echoed_range(data, key, domain, date_range) == echo


# -- which bucket "time" resolves to --------------------------------------------------------


@pytest.mark.parametrize(
    ("date_range", "resolved"),
    [
        # Plausible: hours between the ends (truncated) <= 48 -> hour; whole days between the
        # ends (truncated) <= 40 -> day; whole weeks (truncated) <= 52 -> week; else month.
        ("day", "time:hour"),
        (["2026-03-17", "2026-03-18"], "time:hour"),  # 47 h 59 min 59 s
        (["2026-03-16T00:00:00Z", "2026-03-18T00:30:00Z"], "time:hour"),  # 48 h 30 min
        (["2026-03-16", "2026-03-18"], "time:day"),  # 71 h
        ("7d", "time:day"),
        ("month", "time:day"),
        (["2026-01-01", "2026-02-10"], "time:day"),  # 41 days: 40 d 23:59:59 between ends
        (["2026-01-01", "2026-02-11"], "time:week"),  # 42 days
        ("91d", "time:week"),
        ("12mo", "time:week"),  # 365 days: 52 weeks and 23:59:59 between the ends
        ("year", "time:week"),
        (["2025-01-01", "2026-01-06"], "time:week"),  # 371 days: 52 weeks 6 days
        (["2025-01-01", "2026-01-07"], "time:month"),  # 372 days: 53 weeks
        ("all", "time:month"),
    ],
)
def test_time_resolves_by_range_length(data: Data, date_range: Any, resolved: str) -> None:
    body = data.query(
        metrics=["visitors"],
        dimensions=["time"],
        date_range=date_range,
        include={"time_labels": True},
    )
    # The buckets, seen through the labels (the echo of the resolved name is checked in
    # test_plausible_query.py).
    assert unit_of(body["meta"]["time_labels"]) == resolved


def unit_of(labels: list[str]) -> str:
    """Which time dimension a list of time labels belongs to."""
    if all(" " in label for label in labels):
        return "time:hour"
    days = [date.fromisoformat(label) for label in labels]
    steps = {(b - a).days for a, b in pairwise(days)}
    if steps == {1}:
        return "time:day"
    if all(day.weekday() == 0 for day in days[1:]) and steps - {7} <= {1, 2, 3, 4, 5, 6}:
        return "time:week"
    if all(day.day == 1 for day in days):
        return "time:month"
    return f"unknown: {labels}"


@pytest.mark.parametrize(
    ("date_range", "dimension", "expected"),
    [
        # Hour buckets over the last 24 hours: user 9 (03-17 13:00), user 8 (03-18 11:00).
        ("24h", "time:hour", [["2026-03-17 13:00:00", 1], ["2026-03-18 11:00:00", 1]]),
        (["2026-03-11", "2026-03-13"], "time:day", [["2026-03-11", 1], ["2026-03-12", 2]]),
        ("6mo", "time:month", [["2025-10-01", 1], ["2025-12-01", 1], ["2026-02-01", 2]]),
        (
            "7d",
            "time",
            [
                ["2026-03-11", 1],
                ["2026-03-12", 2],
                ["2026-03-14", 1],
                ["2026-03-15", 1],
                ["2026-03-17", 1],
            ],
        ),
    ],
)
def test_time_buckets_of_shorthand_ranges(
    data: Data, date_range: Any, dimension: str, expected: list[list[Any]]
) -> None:
    assert (
        data.rows(metrics=["visitors"], dimensions=[dimension], date_range=date_range) == expected
    )
