"""Filter operators as SQL over one text expression: `is`, `contains`, `matches` (and the
dashboard's `matches_wildcard`) and their negations (plausible-reference.md 1.6, 4.10).

Shared by the filter compiler (stored columns) and the location-name matcher (names of
location codes), so both read an operator the same way.
"""

from __future__ import annotations

from tinytrail.ingest.sites import glob_to_regex
from tinytrail.query.sql.dialect import Dialect, Params

NEGATED = {
    "is_not": "is",
    "contains_not": "contains",
    "matches_not": "matches",
    "matches_wildcard_not": "matches_wildcard",
}


def positive_op(op: str) -> str:
    """The operator without its negation (`contains_not` -> `contains`)."""
    return NEGATED.get(op, op)


def match_sql(
    params: Params,
    dialect: Dialect,
    expr: str,
    op: str,
    clauses: tuple[object, ...],
    case_sensitive: bool,
) -> str:
    """True when any clause matches `expr` (negated operators: when none does)."""
    predicate = positive_sql(params, dialect, expr, positive_op(op), clauses, case_sensitive)
    return f"(NOT {predicate})" if op in NEGATED else predicate


def positive_sql(
    params: Params,
    dialect: Dialect,
    expr: str,
    op: str,
    clauses: tuple[object, ...],
    case_sensitive: bool,
) -> str:
    p, d = params, dialect
    if not clauses:
        return "FALSE"
    if op == "is":
        if case_sensitive or not all(isinstance(c, str) for c in clauses):
            return f"{expr} IN ({', '.join(p(c) for c in clauses)})"
        lowered = ", ".join(p(str(c).lower()) for c in clauses)
        return f"{d.lower(expr)} IN ({lowered})"
    if op == "contains":
        target = expr if case_sensitive else d.lower(expr)
        parts = [
            d.contains(target, p(str(c) if case_sensitive else str(c).lower())) for c in clauses
        ]
        return "(" + " OR ".join(parts) + ")"
    if op == "matches":
        return "(" + " OR ".join(d.regex_search(expr, p(str(c))) for c in clauses) + ")"
    if op == "matches_wildcard":
        parts = [d.regex_full(expr, p(glob_to_regex(str(c)).pattern)) for c in clauses]
        return "(" + " OR ".join(parts) + ")"
    raise ValueError(f"unknown filter operator {op}")
