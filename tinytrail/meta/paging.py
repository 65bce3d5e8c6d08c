"""Keyset paging for the per-site configuration listings: newest first, by row key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from tinytrail.errors import InvalidInput

DEFAULT_PAGE, MAX_PAGE = 100, 1000

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    """Keyset paging, newest first: `after` continues past a key, `before` goes back from one."""

    limit: int = DEFAULT_PAGE
    after: str | None = None
    before: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    after: str | None  # key to pass as `after` for the next page; None = no next page
    before: str | None  # key to pass as `before` for the previous page; None = first page


def keyset_page(
    s: Session,
    query: Select[T],
    key: InstrumentedAttribute[Any],
    request: PageRequest,
    text_key: bool = False,
) -> Page[T]:
    limit = request.limit
    if request.before is not None and request.after is None:
        newer = query.where(key > _parse_cursor(request.before, text_key)).order_by(key.asc())
        rows = list(s.scalars(newer.limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit][::-1]
        return Page(rows, _key_of(rows[-1], key) if rows else None, _first_if(rows, key, more))
    if request.after is not None:
        query = query.where(key < _parse_cursor(request.after, text_key))
    rows = list(s.scalars(query.order_by(key.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    after = _key_of(rows[-1], key) if more else None
    # Any page reached through `after` has a page before it.
    return Page(rows, after, _first_if(rows, key, request.after is not None))


def _parse_cursor(text: str, text_key: bool) -> str | int:
    if text_key:
        return text
    # Integer keys: anything else, or too big for a 64-bit column, is no cursor we gave out.
    if not text.isascii() or not text.isdigit() or int(text) >= 2**63:
        raise InvalidInput("Invalid pagination cursor")
    return int(text)


def _key_of(row: Any, key: InstrumentedAttribute[Any]) -> str:
    return str(getattr(row, key.key))


def _first_if(rows: list[Any], key: InstrumentedAttribute[Any], wanted: bool) -> str | None:
    return _key_of(rows[0], key) if wanted and rows else None
