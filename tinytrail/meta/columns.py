"""Column types and a write check that make SQLite and PostgreSQL behave alike.

SQLite forgives what PostgreSQL refuses, so each difference met running the metadata on
PostgreSQL is settled here, once, for every model:

- Text: PostgreSQL cannot store U+0000 in text and enforces VARCHAR lengths; SQLite does
  neither. Writes with either are refused on both (`check_row`), and a lookup carrying U+0000
  (ids and names arrive from URLs) is made with U+FFFD instead, so it finds nothing rather than
  failing.
- Integers: an INTEGER column is 32-bit on PostgreSQL, which refuses a bigger parameter even in
  a lookup; SQLite's are 64-bit. Lookups clamp to the column's range: no stored value lies
  beyond it, so `id = 10**12` still finds nothing and `id < 10**12` everything (but a row at the
  range's very end, which no id sequence reaches in practice). Writes outside it are refused.
  BIGINT columns refuse writes beyond 64 bits on both.
- Timestamps: SQLite hands them back naive, PostgreSQL in the session's time zone; both come
  back as aware UTC datetimes, and are stored as UTC whatever zone they were given in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapper
from sqlalchemy.types import TypeDecorator

from tinytrail.errors import InvalidInput

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


class Text(TypeDecorator[str]):
    """VARCHAR(n) whose bound values never carry U+0000."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is not None and "\x00" in value:
            return value.replace("\x00", "\ufffd")
        return value


class Int32(TypeDecorator[int]):
    """A 32-bit INTEGER (ids, foreign keys) that may be compared with any Python int."""

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Dialect) -> int | None:
        if not isinstance(value, int):
            return value
        return min(max(value, INT32[0]), INT32[1])


class UTCDateTime(TypeDecorator[datetime]):
    """TIMESTAMP WITH TIME ZONE, written and read as UTC; naive values are taken as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else _utc(value)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_row(mapper: Mapper[Any], _connection: Any, target: Any) -> None:
    """Refuse, on every backend, a row PostgreSQL could not store (before insert and update)."""
    loaded = inspect(target).dict
    for column in mapper.columns:
        key = mapper.get_property_by_column(column).key
        value = loaded.get(key)
        if value is None:
            continue
        column_type: Any = column.type
        if isinstance(column_type, TypeDecorator):
            column_type = column_type.impl_instance
        if isinstance(value, str) and isinstance(column_type, String):
            _check_text(key, value, column_type.length)
        elif isinstance(value, int) and isinstance(column_type, Integer):
            low, high = INT64 if isinstance(column_type, BigInteger) else INT32
            if not low <= value <= high:
                raise InvalidInput(f"{key}: must be between {low} and {high}")


def _check_text(key: str, value: str, length: int | None) -> None:
    if "\x00" in value:
        raise InvalidInput(f"{key}: must not contain NUL (U+0000) characters")
    if length is not None and len(value) > length:
        raise InvalidInput(f"{key}: must be at most {length} characters")
