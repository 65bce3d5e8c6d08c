"""The internal query: what every API adapter parses its request into.

Frozen and database-free. Adapters build it, `validate` checks it, `plan` compiles it to SQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from tinytrail.query.periods import DateRange

Clause = str | int


@dataclass(frozen=True)
class Filter:
    """`[op, dimension, clauses]`: true when any clause matches (negated ops: when none does)."""

    op: str
    dimension: str
    clauses: tuple[Clause, ...]
    case_sensitive: bool = True
    # Sent with a modifier object (Plausible's 4-element form): Plausible then skips the check
    # that `is` goal filters name configured goals. Not part of the filter's identity.
    modified: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class HasDone:
    """Keeps visits with at least one event matching `child` (`negated`: with none)."""

    child: Node
    negated: bool = False


Node = Filter | And | Or | Not | HasDone


@dataclass(frozen=True)
class Goal:
    id: int
    display_name: str
    event_name: str = ""  # custom event goal
    page_path: str = ""  # pageview goal (wildcards allowed)
    currency: str = ""  # revenue goal when set
    custom_props: tuple[tuple[str, str], ...] = ()
    scroll_threshold: int = -1  # scroll-depth goal when >= 0


@dataclass(frozen=True)
class SiteContext:
    id: int
    domain: str
    timezone: ZoneInfo
    goals: tuple[Goal, ...] = ()
    stats_start: date | None = None


@dataclass(frozen=True)
class Query:
    site: SiteContext
    metrics: tuple[str, ...]
    date_range: DateRange
    dimensions: tuple[str, ...] = ()
    filters: tuple[Node, ...] = ()
    order_by: tuple[tuple[str, str], ...] = ()
    limit: int | None = None
    offset: int = 0
    include_bots: bool = False
    total_rows: bool = False
    time_labels: bool = False
    # Unrounded rates and averages, for adapters with their own rounding rules.
    precise: bool = False
    # "time" in dimensions resolves to one of hour/day/week/month by the range's length.
    options: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    def with_(self, **changes: object) -> Query:
        from dataclasses import replace

        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ResultRow:
    dimensions: tuple[object, ...]
    metrics: tuple[object, ...]


@dataclass(frozen=True)
class Result:
    """The neutral result every adapter shapes: rows in order, plus what `meta` may need."""

    query: Query
    rows: tuple[ResultRow, ...]
    total_rows: int | None = None
    time_labels: tuple[str, ...] | None = None
    warnings: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Realtime:
    """A site's last minutes (`Engine.realtime`): counts in the order the report shows them."""

    active_visitors: int  # visitors with any event in the window
    top_pages: tuple[tuple[str, int], ...]  # (path, visitors with a pageview of it), busiest first
    events_by_name: tuple[tuple[str, int], ...]  # (event name, events), engagement left out
