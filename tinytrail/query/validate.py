"""Semantic checks of an internal query, with Plausible's messages (reference 1.9, step 3)."""

from __future__ import annotations

from collections.abc import Sequence

from tinytrail.errors import InvalidInput
from tinytrail.query import registry
from tinytrail.query.model import And, Filter, HasDone, Node, Not, Or, Query


def _walk(node: Node, depth: int = 0, behavioral: int = 0) -> list[tuple[Node, int, int]]:
    found: list[tuple[Node, int, int]] = [(node, depth, behavioral)]
    if isinstance(node, And | Or):
        for child in node.children:
            found += _walk(child, depth + 1, behavioral)
    elif isinstance(node, Not):
        found += _walk(node.child, depth + 1, behavioral)
    elif isinstance(node, HasDone):
        found += _walk(node.child, depth + 1, behavioral + 1)
    return found


def validate(query: Query) -> None:
    nodes = [item for top in query.filters for item in _walk(top)]
    simple = [(n, depth, b) for n, depth, b in nodes if isinstance(n, Filter)]
    metrics = set(query.metrics)

    for node, _depth, behavioral in nodes:
        if isinstance(node, HasDone) and behavioral > 0:
            raise InvalidInput(
                "Invalid filters. Behavioral filters (has_done, has_not_done) cannot be nested."
            )
    for node, _depth, _behavioral in nodes:
        if isinstance(node, HasDone):
            inner = [n for n, _, _ in _walk(node.child) if isinstance(n, Filter)]
            if any(not n.dimension.startswith("event:") for n in inner):
                raise InvalidInput(
                    "Invalid filters. Behavioral filters (has_done, has_not_done) can only be "
                    "used with event dimension filters."
                )
    for node, depth, behavioral in simple:
        assert isinstance(node, Filter)
        if node.op.startswith("matches") and not node.case_sensitive:
            raise InvalidInput(
                "Invalid filters. The case_sensitive modifier is not allowed with pattern "
                f"operators ({node.op})"
            )
        if node.dimension in ("event:goal", "event:hostname") and depth > 0 and behavioral == 0:
            raise InvalidInput(
                f"Invalid filters. Dimension `{node.dimension}` can only be filtered at the "
                "top level."
            )
        if (
            node.dimension.startswith("event:props:")
            and depth > 0
            and metrics & {"conversion_rate", "group_conversion_rate"}
        ):
            raise InvalidInput(
                "Invalid filters. When `conversion_rate` or `group_conversion_rate` metrics are "
                "used, custom property filters can only be used on top level."
            )
        if node.dimension == "event:goal" and node.op == "is" and not node.modified:
            configured = {g.display_name for g in query.site.goals}
            lowered = {name.lower() for name in configured}
            for clause in node.clauses:
                known = (
                    clause in configured if node.case_sensitive else str(clause).lower() in lowered
                )
                if not known:
                    raise InvalidInput(
                        f"Invalid filters. The goal `{clause}` is not configured for this site. "
                        "Find out how to configure goals here: "
                        "https://plausible.io/docs/stats-api#filtering-by-goals"
                    )

    for name in query.metrics:  # in request order: the first failing metric is reported
        _check_metric(name, query, simple)
    _check_compatibility(query)
    if query.time_labels and not any(d.startswith("time") for d in query.dimensions):
        raise InvalidInput("Invalid include.time_labels: requires a time dimension.")


def _check_metric(name: str, query: Query, simple: Sequence[tuple[Node, int, int]]) -> None:
    dims = query.dimensions
    filters = [(n, b) for n, _, b in simple if isinstance(n, Filter)]
    page_filtered = any(n.dimension == "event:page" and b == 0 for n, b in filters)
    if name in ("conversion_rate", "group_conversion_rate"):
        has_goal_filter = any(n.dimension == "event:goal" and b == 0 for n, b in filters)
        if not has_goal_filter and "event:goal" not in dims:
            raise InvalidInput(
                f"Metric `{name}` can only be queried with event:goal filters or dimensions."
            )
    elif name == "scroll_depth":
        top_page = any(isinstance(n, Filter) and n.dimension == "event:page" for n in query.filters)
        if "event:page" not in dims and not top_page:
            raise InvalidInput(
                "Metric `scroll_depth` can only be queried with event:page filters or dimensions."
            )
    elif name == "time_on_page":
        if "event:page" not in dims and not page_filtered:
            raise InvalidInput(
                "Metric `time_on_page` can only be queried with event:page filters or dimensions."
            )
    elif name == "views_per_visit":
        if page_filtered:  # behavioural (has_done) page filters are fine
            raise InvalidInput(
                "Metric `views_per_visit` cannot be queried with a filter on `event:page`."
            )
        if dims:
            raise InvalidInput("Metric `views_per_visit` cannot be queried with `dimensions`.")
    elif name == "exit_rate":
        if list(dims) != ["visit:exit_page"]:
            raise InvalidInput(
                'Metric `exit_rate` requires a `"visit:exit_page"` dimension. No other '
                "dimensions are allowed."
            )
        if any(n.dimension.startswith("event:") for n, _ in filters):
            raise InvalidInput(
                "Metric `exit_rate` cannot be queried when filtering on event dimensions."
            )


def _check_compatibility(query: Query) -> None:
    event_dims = [d for d in query.dimensions if registry.dimension(d).scope == "event"]  # type: ignore[union-attr]
    session_dims = [d for d in query.dimensions if registry.dimension(d).scope == "session"]  # type: ignore[union-attr]
    session_metrics = [m for m in query.metrics if m in registry.SESSION_METRICS]
    event_metrics = [m for m in query.metrics if m in registry.EVENT_METRICS]
    if session_metrics and event_dims and event_dims != ["event:page"]:
        raise InvalidInput(
            f"Session metric(s) {_ticks(session_metrics)} cannot be queried along with event "
            f"dimension(s) {_ticks(event_dims)}"
        )
    if event_metrics and session_dims:
        raise InvalidInput(
            f"Event metric(s) {_ticks(event_metrics)} cannot be queried along with session "
            f"dimension(s) {_ticks(session_dims)}"
        )


def _ticks(names: list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)
