"""Date ranges: from the APIs' period names and dates to UTC instants, in the site's timezone.

Named ranges follow Plausible (plausible-reference.md 1.3): "today" is the current date in the
site timezone, `Nd` is the N whole days before today, `Nmo` the N whole months before the
current one. A range of local dates becomes instants from the first date's 00:00:00 to the last
date's 23:59:59, with Plausible's DST rules where midnight does not exist or happens twice.

Ranges stay between FIRST_DAY and LAST_DAY, a year inside what `datetime` can represent: dates
and instants beyond are moved to those ends, so a timezone offset, the end's extra second, the
next month's bucket or a comparison period never leaves the calendar (no OverflowError).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tinytrail.errors import InvalidInput

_END_OF_DAY = time(23, 59, 59)
FIRST_DAY = date(2, 1, 1)
LAST_DAY = date(9998, 12, 31)
FIRST_INSTANT = datetime.combine(FIRST_DAY, time(0), tzinfo=UTC)
LAST_INSTANT = datetime.combine(LAST_DAY, _END_OF_DAY, tzinfo=UTC)


def clamp_day(day: date) -> date:
    """The day, moved into FIRST_DAY .. LAST_DAY."""
    return min(max(day, FIRST_DAY), LAST_DAY)


def clamp_instant(moment: datetime) -> datetime:
    """An aware instant as UTC, moved into FIRST_INSTANT .. LAST_INSTANT."""
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # its offset takes it past datetime.min or datetime.max
        return FIRST_INSTANT if moment.year < 5000 else LAST_INSTANT
    return min(max(moment, FIRST_INSTANT), LAST_INSTANT)


@dataclass(frozen=True)
class DateRange:
    """A resolved range: inclusive local dates and the matching UTC instants (end inclusive)."""

    first: date
    last: date
    start: datetime  # UTC, tz-aware
    end: datetime  # UTC, tz-aware, inclusive to the second
    timezone: ZoneInfo

    @property
    def end_exclusive(self) -> datetime:
        try:
            return self.end + timedelta(seconds=1)
        except OverflowError:  # a range built by hand at datetime.max: nothing lies after it
            return self.end

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def local_iso(self) -> tuple[str, str]:
        """The range as ISO 8601 strings with the site's offset, as Plausible (Elixir) writes
        them: `Z` for the UTC zone itself, `+00:00` for another zone at offset zero (London in
        winter)."""
        utc_zone = self.timezone.key in ("Etc/UTC", "UTC")

        def text(moment: datetime) -> str:
            local = moment.astimezone(self.timezone).isoformat()
            return local.removesuffix("+00:00") + "Z" if utc_zone else local

        return text(self.start), text(self.end)


def _exists(local: datetime) -> bool:
    return local.astimezone(UTC).astimezone(local.tzinfo).replace(tzinfo=None) == local.replace(
        tzinfo=None
    )


def _ambiguous(local: datetime) -> bool:
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


def local_to_utc(day: date, at: time, tz: ZoneInfo, *, is_start: bool) -> datetime:
    """A local wall-clock time as UTC, resolving DST gaps and overlaps as Plausible does.

    Start of range: in a gap, the first instant after it; when ambiguous, the later instant.
    End of range: in a gap, the last instant before it; when ambiguous, the earlier instant.
    A day outside FIRST_DAY .. LAST_DAY is read as the nearer of the two.
    """
    local = datetime.combine(clamp_day(day), at, tzinfo=tz)
    if not _exists(local):
        fold = 0 if is_start else 1
    elif _ambiguous(local):
        fold = 1 if is_start else 0
    else:
        fold = 0
    return local.replace(fold=fold).astimezone(UTC)


def from_dates(first: date, last: date, tz: ZoneInfo) -> DateRange:
    first, last = clamp_day(first), clamp_day(last)
    return DateRange(
        first=first,
        last=last,
        start=local_to_utc(first, time(0), tz, is_start=True),
        end=local_to_utc(last, _END_OF_DAY, tz, is_start=False),
        timezone=tz,
    )


def from_instants(start: datetime, end: datetime, tz: ZoneInfo) -> DateRange:
    # Cut where the site's local FIRST_DAY begins and LAST_DAY ends, so the dates stay inside too.
    lowest = local_to_utc(FIRST_DAY, time(0), tz, is_start=True)
    highest = local_to_utc(LAST_DAY, _END_OF_DAY, tz, is_start=False)
    start = min(max(clamp_instant(start), lowest), highest)
    end = min(max(clamp_instant(end), lowest), highest)
    return DateRange(
        first=start.astimezone(tz).date(),
        last=end.astimezone(tz).date(),
        start=start,
        end=end,
        timezone=tz,
    )


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def _month_end(first: date) -> date:
    return _month_start(first, -1) - timedelta(days=1)


_DAYS = re.compile(r"^(\d+)d$")
_MONTHS = re.compile(r"^(\d+)mo$")


def named_range(
    name: str, now: datetime, tz: ZoneInfo, stats_start: date | None = None
) -> DateRange:
    """Plausible's shorthand ranges. Raises InvalidInput for an unknown or out-of-range name."""
    today = now.astimezone(tz).date()
    if name == "day":
        return from_dates(today, today, tz)
    if name == "24h":
        now = now.replace(microsecond=0)  # instants are whole seconds, so the echo posts back
        return from_instants(now - timedelta(hours=24), now, tz)
    if name == "realtime":
        return from_instants(now - timedelta(minutes=5), now + timedelta(seconds=5), tz)
    if name == "30m":
        return from_instants(now - timedelta(minutes=30), now + timedelta(seconds=5), tz)
    if name == "month":
        first = today.replace(day=1)
        return from_dates(first, _month_end(first), tz)
    if name == "year":
        return from_dates(date(today.year, 1, 1), date(today.year, 12, 31), tz)
    if name == "all":
        first = min(stats_start or today, today)
        return from_dates(first, today, tz)
    if match := _DAYS.match(name):
        days = int(match.group(1))
        if not 1 <= days <= 5000:
            raise InvalidInput(f'Invalid date_range "{name}"')
        return from_dates(today - timedelta(days=days), today - timedelta(days=1), tz)
    if match := _MONTHS.match(name):
        months = int(match.group(1))
        if not 1 <= months <= 100:
            raise InvalidInput(f'Invalid date_range "{name}"')
        first = _month_start(today, months)
        return from_dates(first, _month_end(_month_start(today, 1)), tz)
    raise InvalidInput(f'Invalid date_range "{name}"')


def previous_period(current: DateRange) -> DateRange:
    """The same number of days immediately before the range, cut at FIRST_DAY; for a range of
    instants (the last 24 hours, realtime), the same length of time just before it."""
    if current != from_dates(current.first, current.last, current.timezone):
        length = current.end_exclusive - current.start
        start = current.start - min(length, current.start - FIRST_INSTANT)
        return from_instants(start, current.start - timedelta(seconds=1), current.timezone)
    last = clamp_day(date.fromordinal(max(1, current.first.toordinal() - 1)))
    first = date.fromordinal(max(FIRST_DAY.toordinal(), last.toordinal() - current.days + 1))
    return from_dates(first, last, current.timezone)


def year_over_year(current: DateRange) -> DateRange:
    """The same dates a year earlier (28 February for 29 February), cut at FIRST_DAY."""

    def shift(day: date) -> date:
        if day.year <= FIRST_DAY.year:
            return FIRST_DAY
        try:
            return day.replace(year=day.year - 1)
        except ValueError:  # 29 February
            return day.replace(year=day.year - 1, day=28)

    return from_dates(shift(current.first), shift(current.last), current.timezone)
