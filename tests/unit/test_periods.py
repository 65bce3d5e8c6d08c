"""Period arithmetic at the calendar's ends: no range, comparison or instant leaves `datetime`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tinytrail.query import periods
from tinytrail.query.periods import FIRST_DAY, FIRST_INSTANT, LAST_DAY, LAST_INSTANT, DateRange

# The zones with the largest offsets either way, and one with DST.
ZONES = [
    ZoneInfo(name)
    for name in ("Etc/UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/New_York")
]
NOW = datetime(2026, 3, 18, 12, tzinfo=UTC)


def check(rng: DateRange) -> None:
    """Every derived value of a range is computable and inside the safe window."""
    assert FIRST_DAY <= rng.first <= rng.last <= LAST_DAY
    assert rng.start <= rng.end < rng.end_exclusive
    assert rng.days == (rng.last - rng.first).days + 1
    rng.local_iso()
    for derived in (periods.previous_period(rng), periods.year_over_year(rng)):
        assert FIRST_DAY <= derived.first <= derived.last <= LAST_DAY
        assert derived.end_exclusive > derived.start


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date.min, date.min),
        (date.min, date(1, 1, 5)),
        (date(1000, 1, 1), date(2026, 3, 18)),
        (date(2026, 1, 1), date.max),
        (date.max, date.max),
        (date.min, date.max),
        (date(4, 2, 29), date(4, 2, 29)),  # year-over-year moves it to 28 February
    ],
)
def test_ranges_of_dates_at_the_ends_are_clamped(tz: ZoneInfo, first: date, last: date) -> None:
    rng = periods.from_dates(first, last, tz)
    check(rng)
    assert rng.first == periods.clamp_day(first) and rng.last == periods.clamp_day(last)


@pytest.mark.parametrize("tz", ZONES, ids=str)
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime.min.replace(tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC)),
        (datetime(2026, 1, 1, tzinfo=UTC), datetime.max.replace(tzinfo=UTC)),
        (
            datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),  # before datetime.min in UTC
            datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-12))),  # after max
        ),
    ],
)
def test_ranges_of_instants_at_the_ends_are_clamped(
    tz: ZoneInfo, start: datetime, end: datetime
) -> None:
    rng = periods.from_instants(start, end, tz)
    check(rng)
    assert FIRST_INSTANT <= rng.start <= rng.end <= LAST_INSTANT


@pytest.mark.parametrize("tz", ZONES, ids=str)
def test_local_to_utc_at_the_ends(tz: ZoneInfo) -> None:
    for day in (date.min, date.max):
        for at, is_start in ((time(0), True), (time(23, 59, 59), False)):
            moment = periods.local_to_utc(day, at, tz, is_start=is_start)
            assert moment + timedelta(days=1) > moment  # not at datetime's edge


def test_previous_period_of_a_range_from_the_year_1000() -> None:
    """TinyTrail's period=all for a site whose first event is in the year 1000."""
    current = periods.named_range("all", NOW, ZoneInfo("Etc/UTC"), date(1000, 1, 1))
    before = periods.previous_period(current)
    assert (before.first, before.last) == (FIRST_DAY, date(999, 12, 31))
    assert periods.year_over_year(current).first == date(999, 1, 1)


def test_previous_period_and_year_over_year_of_the_first_day() -> None:
    first = periods.from_dates(FIRST_DAY, FIRST_DAY, ZoneInfo("Etc/UTC"))
    assert (periods.previous_period(first).first, periods.previous_period(first).last) == (
        FIRST_DAY,
        FIRST_DAY,
    )
    assert periods.year_over_year(first).first == FIRST_DAY


def test_a_range_built_by_hand_at_datetimes_end_has_an_exclusive_end() -> None:
    end = datetime.max.replace(tzinfo=UTC)
    rng = DateRange(date.max, date.max, end - timedelta(hours=1), end, ZoneInfo("Etc/UTC"))
    assert rng.end_exclusive == end
    before = periods.previous_period(rng)
    assert before.last == LAST_DAY


def test_ordinary_ranges_are_unchanged() -> None:
    tz = ZoneInfo("Europe/Berlin")
    rng = periods.from_dates(date(2026, 3, 1), date(2026, 3, 31), tz)
    assert rng.start == datetime(2026, 2, 28, 23, tzinfo=UTC)
    assert rng.end == datetime(2026, 3, 31, 21, 59, 59, tzinfo=UTC)
    assert rng.end_exclusive == datetime(2026, 3, 31, 22, tzinfo=UTC)
    before = periods.previous_period(rng)
    assert (before.first, before.last) == (date(2026, 1, 29), date(2026, 2, 28))
    leap = periods.year_over_year(periods.from_dates(date(2024, 2, 29), date(2024, 2, 29), tz))
    assert leap.first == date(2023, 2, 28)


def test_the_period_before_the_last_24_hours_is_the_24_hours_before_them() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime(2026, 11, 22, 19, 40, 12, tzinfo=UTC)
    current = periods.named_range("24h", now, berlin)
    before = periods.previous_period(current)
    assert before.end == current.start - timedelta(seconds=1)
    assert before.end_exclusive - before.start == current.end_exclusive - current.start
    week = periods.named_range("7d", now, berlin)
    assert (periods.previous_period(week).first, periods.previous_period(week).last) == (
        date(2026, 11, 8),
        date(2026, 11, 14),
    )
