"""What every SQL-building step of one query shares: dialect, parameters, base predicates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from tinytrail.query.model import Query
from tinytrail.query.periods import DateRange
from tinytrail.query.sql.dialect import Dialect, Params

EVENTS = "events"
SESSIONS = "all_sessions"


def time_unit_of(query: Query, name: str) -> str | None:
    """The bucket ("hour", "day", "week", "month") of time dimension `name`, None for others.

    Every time dimension is its own bucket, as in Plausible (one expression per dimension):
    `["time:day", "time:hour"]` gives rows grouped by both, each column in its own format, and
    `time` resolves by the range's length whatever other time dimensions there are. What needs
    a single time dimension (time labels, the default order) takes the first one (`time_unit`).
    """
    if name == "time":
        # Plausible measures the span in whole (truncated) hours, days and weeks.
        rng = query.date_range
        hours = int((rng.end - rng.start).total_seconds() // 3600)
        days = (rng.last - rng.first).days
        if hours <= 48:
            return "hour"
        if days <= 40:
            return "day"
        return "week" if days // 7 <= 52 else "month"
    if name.startswith("time:"):
        return name.removeprefix("time:")
    return None


def time_unit(query: Query) -> str | None:
    """The bucket of the first time dimension: the one `include.time_labels` labels and the
    default order sorts by (Plausible's `Time.time_dimension`)."""
    for name in query.dimensions:
        unit = time_unit_of(query, name)
        if unit is not None:
            return unit
    return None


def hourly(query: Query) -> bool:
    """Whether some time dimension buckets by hour."""
    return any(time_unit_of(query, name) == "hour" for name in query.dimensions)


@dataclass
class Context:
    query: Query
    dialect: Dialect
    # Whether some visit may still have been active after the range's end (the store knows
    # each site's latest activity); if not, rollup answers need no visits from past it.
    visits_after_end: bool = True
    params: Params = field(init=False)

    def __post_init__(self) -> None:
        self.params = Params(self.dialect)

    @property
    def range(self) -> DateRange:
        return self.query.date_range

    def traffic_flags(self) -> str:
        if self.query.include_bots:
            return "NOT is_excluded"
        return "NOT is_bot AND NOT is_excluded"

    def event_base(self) -> str:
        p = self.params
        start = p(self.range.start.replace(tzinfo=None))
        end = p(self.range.end_exclusive.replace(tzinfo=None))
        site = p(self.query.site.id)
        return f"site_id = {site} AND ts >= {start} AND ts < {end} AND {self.traffic_flags()}"

    def session_base(self) -> str:
        """Visits active in the range: last activity at or after its start, and started
        before its end (reference 4.2).

        So a visit running across the range's last midnight counts in the range, as well as in
        the next one. Time buckets of days and longer take a visit's last activity, clamped to
        the range (`last_activity_in_range`); daily rollups, which file a visit under the day
        it ended, get the visits crossing the range's end added (rollups.crossing_select).
        """
        p = self.params
        start = p(self.range.start.replace(tzinfo=None))
        end = p(self.range.end_exclusive.replace(tzinfo=None))
        site = p(self.query.site.id)
        return (
            f"site_id = {site} AND last_activity >= {start} AND start < {end} "
            f"AND {self.traffic_flags()}"
        )

    def last_activity_in_range(self) -> str:
        """A visit's last activity, or the range's last instant for a visit still active after
        it: the moment that files the visit under a day, week or month bucket of the range."""
        return f"least(last_activity, {self.params(self.range.end.replace(tzinfo=None))})"

    def fixed_offset(self) -> int | None:
        """The site's UTC offset in seconds if it is the same throughout the range, else None."""
        tz = self.range.timezone
        start, end = self.range.start, self.range.end
        offset = start.astimezone(tz).utcoffset()
        probe = start
        while probe <= end:  # DST changes at most a few times a year; daily probes find them
            if probe.astimezone(tz).utcoffset() != offset:
                return None
            probe += timedelta(hours=23)
        if end.astimezone(tz).utcoffset() != offset or offset is None:
            return None
        return int(offset.total_seconds())

    def local(self, column: str) -> str:
        return self.dialect.local_time(column, self.range.timezone.key, self.fixed_offset())
