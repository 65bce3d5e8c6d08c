"""Timestamps as integer microseconds since the Unix epoch (UTC): exact and cheap to compare."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_EPOCH_DATE = EPOCH.date()
_DAY_US = 86_400_000_000


def to_us(moment: datetime) -> int:
    """A datetime (naive ones are taken as UTC) in microseconds since the epoch."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // _US


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def utc_date(value: int) -> date:
    """The UTC date of a time in microseconds."""
    return _EPOCH_DATE + timedelta(days=value // _DAY_US)


def utcnow() -> datetime:
    return datetime.now(UTC)
