"""Filter trees to SQL predicates, for event rows or for visit rows.

On event rows every filter applies directly (visit attributes are stamped on events), except
entry/exit pages, which live on visits and are reached through a semi-join. On visit rows, a
filter that touches an event dimension becomes "the visit has an in-range event matching it"
(plausible-reference.md 1.6).
"""

from __future__ import annotations

from tinytrail.ingest.sites import glob_to_regex
from tinytrail.query import names, registry
from tinytrail.query.goals import selected_goals
from tinytrail.query.model import And, Filter, Goal, HasDone, Node, Not, Or
from tinytrail.query.registry import Dimension
from tinytrail.query.sql import location_names
from tinytrail.query.sql.context import EVENTS, SESSIONS, Context
from tinytrail.query.sql.operators import NEGATED, match_sql, positive_op


def touches_events(node: Node) -> bool:
    """Whether a filter needs event rows (an `event:*` dimension or a behavioural filter)."""
    if isinstance(node, Filter):
        found = registry.dimension(node.dimension)
        return found is not None and found.scope == "event"
    if isinstance(node, HasDone):
        return True
    if isinstance(node, Not):
        return touches_events(node.child)
    return any(touches_events(child) for child in node.children)


def touches_sessions_only(node: Node) -> bool:
    """Whether a filter names a visit-only dimension (entry/exit page or hostname)."""
    if isinstance(node, Filter):
        found = registry.dimension(node.dimension)
        return found is not None and found.scope == "session"
    if isinstance(node, HasDone | Not):
        return touches_sessions_only(node.child)
    return any(touches_sessions_only(child) for child in node.children)


class FilterSQL:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    # -- entry points -----------------------------------------------------------------------

    def on_events(self, nodes: tuple[Node, ...]) -> list[str]:
        return [self._node(node, EVENTS) for node in nodes]

    def on_rollup_rows(self, nodes: tuple[Node, ...]) -> list[str]:
        """Predicates on rollup rows, whose columns carry the stored columns' names."""
        return [self._node(node, SESSIONS) for node in nodes]

    def on_sessions(self, nodes: tuple[Node, ...]) -> list[str]:
        """Visit predicates: visit-only filters directly, event ones as one semi-join."""
        direct = [self._node(n, SESSIONS) for n in nodes if not touches_events(n)]
        evented = [n for n in nodes if touches_events(n)]
        if evented:
            inner = " AND ".join(self.on_events(tuple(evented)))
            direct.append(
                f"session_id IN (SELECT session_id FROM {EVENTS} "
                f"WHERE {self.ctx.event_base()} AND {inner})"
            )
        return direct

    # -- nodes ------------------------------------------------------------------------------

    def _node(self, node: Node, table: str) -> str:
        if isinstance(node, And):
            return "(" + " AND ".join(self._node(c, table) for c in node.children) + ")"
        if isinstance(node, Or):
            return "(" + " OR ".join(self._node(c, table) for c in node.children) + ")"
        if isinstance(node, Not):
            return f"(NOT {self._node(node.child, table)})"
        if isinstance(node, HasDone):
            inner = self._node(node.child, EVENTS)
            sub = f"SELECT session_id FROM {EVENTS} WHERE {self.ctx.event_base()} AND {inner}"
            return f"(session_id {'NOT IN' if node.negated else 'IN'} ({sub}))"
        return self._simple(node, table)

    def _simple(self, node: Filter, table: str) -> str:
        dim = registry.dimension(node.dimension)
        assert dim is not None, node.dimension
        if node.dimension == "event:goal":
            return self._goal(node)
        if dim.scope == "session" and table == EVENTS:
            inner = self._simple(node, SESSIONS)
            return (
                f"session_id IN (SELECT session_id FROM {SESSIONS} "
                f"WHERE {self.ctx.session_base()} AND {inner})"
            )
        if dim.prop_key:
            return self._prop(node, dim.prop_key)
        clauses = node.clauses
        if dim.names:
            if positive_op(node.op) != "is":
                return self._name_match(dim, node)
            clauses = names.codes_for_names(dim.names, clauses)
        if dim.placeholder:
            clauses = tuple("" if c == dim.placeholder else c for c in clauses)
        if dim.column == "city":
            # GeoNames ids, stored as text ("" when unknown, where Plausible stores 0):
            # 2643743 and "2643743" name the same city, and 0 the unknown one. Digits have
            # no case, so matching needs no lower().
            ids = tuple(str(c) for c in clauses)
            if positive_op(node.op) == "is":
                ids = tuple(_city_code(c) for c in ids)
            return self._match(dim.column, node.op, ids, True)
        return self._match(dim.column, node.op, clauses, node.case_sensitive)

    def _name_match(self, dim: Dimension, node: Filter) -> str:
        """contains/matches (and negations) on a location name: the codes whose display name
        matches, looked up outside the event store (`location_names`)."""
        codes = location_names.codes_matching(
            dim.names, positive_op(node.op), node.clauses, node.case_sensitive
        )
        predicate = (
            self.ctx.dialect.in_list(dim.column, self.ctx.params(list(codes))) if codes else "FALSE"
        )
        return f"(NOT {predicate})" if node.op in NEGATED else predicate

    def _match(self, expr: str, op: str, clauses: tuple[object, ...], case_sensitive: bool) -> str:
        return match_sql(self.ctx.params, self.ctx.dialect, expr, op, clauses, case_sensitive)

    def _prop(self, node: Filter, key: str) -> str:
        d, p = self.ctx.dialect, self.ctx.params
        key_sql = p(key)
        has = d.map_has("props", key_sql)
        value = d.map_get("props", key_sql)
        none_wanted = registry.NONE_PROP in node.clauses
        real = tuple(c for c in node.clauses if c != registry.NONE_PROP)
        if node.op in ("is", "is_not"):
            matched = self._match(value, "is", real, node.case_sensitive)
            if node.op == "is":
                return f"(({has} AND {matched}) OR {'NOT ' + has if none_wanted else 'FALSE'})"
            if none_wanted:
                return f"({has} AND NOT {matched})"
            return f"(({has} AND NOT {matched}) OR NOT {has})"
        # contains / matches and their negations: only events having the key can match.
        return f"({has} AND {self._match(value, node.op, real, node.case_sensitive)})"

    # -- goals ------------------------------------------------------------------------------

    def _goal(self, node: Filter) -> str:
        goals = selected_goals(self.ctx.query.site.goals, node)
        if not goals:
            return "FALSE"
        return "(" + " OR ".join(self.goal_predicate(g) for g in goals) + ")"

    def goal_predicate(self, goal: Goal) -> str:
        p, d = self.ctx.params, self.ctx.dialect
        if goal.scroll_threshold >= 0:
            page = d.regex_full("pathname", p(glob_to_regex(goal.page_path).pattern))
            return (
                f"(name = 'engagement' AND {page} AND scroll_depth >= "
                f"{p(goal.scroll_threshold)} AND scroll_depth <= 100)"
            )
        if goal.page_path:
            if "*" in goal.page_path or "|" in goal.page_path:
                page = d.regex_full("pathname", p(glob_to_regex(goal.page_path).pattern))
            else:
                page = f"pathname = {p(goal.page_path)}"
            base = f"name = 'pageview' AND {page}"
        else:
            base = f"name = {p(goal.event_name)}"
        for key, value in goal.custom_props:
            base += f" AND {d.map_get('props', p(key))} = {p(value)}"
        return f"({base})"


def _city_code(clause: str) -> str:
    """A city id as stored: decimal text without leading zeros, "" for 0 (unknown)."""
    if not (clause.isascii() and clause.isdigit()):
        return clause  # matches no stored id
    number = int(clause)
    return str(number) if number else ""
