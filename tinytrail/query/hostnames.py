"""`event:hostname` filters carried over to the visit's entry or exit hostname.

A breakdown by where visits came from (source, referrer, UTM tags, entry page) under a hostname
filter would otherwise show the sources of visits that landed on another hostname and only
later reached the filtered one. Plausible therefore applies every `event:hostname` filter also
to `visit:entry_page_hostname` for those dimensions, and to `visit:exit_page_hostname` for the
exit page (reference 1.6), once per such dimension, after the query's own filters.
"""

from __future__ import annotations

from tinytrail.query.model import Filter, Query

VISIT_HOSTNAME_OF = {
    "visit:source": "visit:entry_page_hostname",
    "visit:referrer": "visit:entry_page_hostname",
    "visit:utm_medium": "visit:entry_page_hostname",
    "visit:utm_source": "visit:entry_page_hostname",
    "visit:utm_campaign": "visit:entry_page_hostname",
    "visit:utm_content": "visit:entry_page_hostname",
    "visit:utm_term": "visit:entry_page_hostname",
    "visit:entry_page": "visit:entry_page_hostname",
    "visit:exit_page": "visit:exit_page_hostname",
}


def visit_hostname_filters(query: Query) -> tuple[Filter, ...]:
    """The filters Plausible adds for `query` (top-level hostname filters only, as they must be)."""
    hostname = [
        f for f in query.filters if isinstance(f, Filter) and f.dimension == "event:hostname"
    ]
    extra: list[Filter] = []
    for name in query.dimensions:
        target = VISIT_HOSTNAME_OF.get(name)
        if target is not None:
            extra += [Filter(f.op, target, f.clauses, f.case_sensitive) for f in hostname]
    return tuple(extra)


def with_visit_hostname_filters(query: Query) -> Query:
    extra = visit_hostname_filters(query)
    return query.with_(filters=query.filters + extra) if extra else query
