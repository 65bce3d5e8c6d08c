"""What every SQL-building step of one query shares: dialect, parameters, base predicates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from tinytrail.query.model import Query
from tinytrail.query.periods import DateRange
from tinytrail.query.sql.dialect import Dialect, Params

EVENTS = "events"
SESSIONS = "all_sessions"


@dataclass
class Context:
    query: Query
    dialect: Dialect
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
        """Visits that ended (had their last activity) in the range.

        A visit belongs to the day of its last activity, the day whose salt gave its final
        visitor id; so visits and visitors of consecutive days add up exactly, and daily rollups
        give the same numbers as raw rows.
        """
        p = self.params
        start = p(self.range.start.replace(tzinfo=None))
        end = p(self.range.end_exclusive.replace(tzinfo=None))
        site = p(self.query.site.id)
        return (
            f"site_id = {site} AND last_activity >= {start} AND last_activity < {end} "
            f"AND {self.traffic_flags()}"
        )

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
