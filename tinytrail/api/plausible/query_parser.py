"""Plausible Stats API v2 request body -> internal Query, with Plausible's error messages.

Checks run in Plausible's order (plausible-reference.md 1.9): first the JSON-schema shape
(`#/pointer: text` messages), then parser checks, then the engine's semantic validation.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tinytrail.errors import InvalidInput
from tinytrail.query import periods, registry
from tinytrail.query.model import And, Filter, HasDone, Node, Not, Or, Query, SiteContext

TOP_LEVEL = (
    "site_id",
    "metrics",
    "date_range",
    "dimensions",
    "filters",
    "order_by",
    "include",
    "pagination",
)
INCLUDE_KEYS = ("imports", "time_labels", "total_rows")
OPERATORS = ("is", "is_not", "contains", "contains_not", "matches", "matches_not")
GOAL_OPERATORS = ("is", "contains")
MAX_LIMIT = 10_000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# ISO 8601 date-times; the offset, when present, must be a real one (hours 00..23).
_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-](0\d|1\d|2[0-3]):[0-5]\d)?$"
)
MAX_DEPTH = 32  # nesting of and/or/not: deeper trees are refused, not recursed into
MAX_FILTERS = 500
_SHORTHAND = re.compile(r"^(day|24h|month|year|all|\d+d|\d+mo)$")


class SchemaError(InvalidInput):
    """A JSON-schema-level error: the message starts with a JSON pointer."""


def render(value: Any, depth: int = 0) -> str:
    """Values inside messages as Plausible prints them (Elixir's inspect): `["a", 1]`,
    `%{"case_sensitive" => false}`, `nil`. Deeply nested values are cut short."""
    if depth > MAX_DEPTH:
        return "..."
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(render(item, depth + 1) for item in value) + "]"
    if isinstance(value, dict):
        pairs = ", ".join(
            f"{render(k, depth + 1)} => {render(v, depth + 1)}" for k, v in value.items()
        )
        return "%{" + pairs + "}"
    return json.dumps(value)


def _schema(pointer: str, text: str) -> SchemaError:
    return SchemaError(f"{pointer}: {text}")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return "Null"


def _expect(value: Any, kind: type, pointer: str, name: str) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _schema(pointer, f"Type mismatch. Expected {name} but got {_type_name(value)}.")


# -- schema ---------------------------------------------------------------------------------


def check_schema(body: dict[str, Any]) -> None:
    """All schema errors at once, joined by newlines, in the validator's order: properties
    alphabetically, then unknown keys, then required ones."""
    errors: list[str] = []
    checks = {
        "date_range": _check_date_range,
        "dimensions": _check_dimensions,
        "filters": _check_filters,
        "include": _check_include,
        "metrics": _check_metrics,
        "order_by": _check_order_by,
        "pagination": _check_pagination,
    }
    for key in sorted(checks):
        if key in body:
            try:
                checks[key](body[key])
            except SchemaError as exc:
                errors.append(exc.message)
    errors += [
        f"#/{key}: Schema does not allow additional properties."
        for key in body
        if key not in TOP_LEVEL
    ]
    missing = [k for k in ("site_id", "metrics", "date_range") if k not in body]
    if len(missing) == 1:
        errors.append(f"#: Required property {missing[0]} was not present.")
    elif missing:
        errors.append(f"#: Required properties {', '.join(missing)} were not present.")
    if errors:
        raise SchemaError("\n".join(errors))


def _check_filters(filters: Any) -> None:
    _expect(filters, list, "#/filters", "Array")
    for index, item in enumerate(filters):
        if not _valid_filter(item, top_level=True):
            raise _schema(f"#/filters/{index}", f"Invalid filter {render(item)}")


def _check_unique(items: list[Any], pointer: str) -> None:
    seen: list[Any] = []
    for item in items:
        if item in seen:
            raise _schema(pointer, "Expected items to be unique but they were not.")
        seen.append(item)


def _check_metrics(metrics: Any) -> None:
    _expect(metrics, list, "#/metrics", "Array")
    if not metrics:
        raise _schema("#/metrics", "Expected a minimum of 1 items but got 0.")
    invalid = [
        f"#/metrics/{index}: Invalid metric {render(name)}"
        for index, name in enumerate(metrics)
        if not isinstance(name, str) or not registry.is_public_metric(name)
    ]
    if invalid:
        raise SchemaError("\n".join(invalid))
    _check_unique(metrics, "#/metrics")


def _check_dimensions(dimensions: Any) -> None:
    _expect(dimensions, list, "#/dimensions", "Array")
    for index, name in enumerate(dimensions):
        if not isinstance(name, str) or not registry.is_public_dimension(name):
            raise _schema(f"#/dimensions/{index}", f"Invalid dimension {render(name)}")
    _check_unique(dimensions, "#/dimensions")


def _check_date_range(value: Any) -> None:
    if isinstance(value, str):
        if not _SHORTHAND.match(value):
            raise _schema("#/date_range", f"Invalid date range {render(value)}")
        return
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, str) for v in value)
        and (all(_DATE.match(v) for v in value) or all(_DATETIME.match(v) for v in value))
    ):
        return
    raise _schema("#/date_range", f"Invalid date range {render(value)}")


def _filter_dimension_ok(name: Any) -> bool:
    if not isinstance(name, str) or name.startswith("time"):
        return False
    found = registry.dimension(name)
    return found is not None and found.public


def _valid_filter(item: Any, top_level: bool, depth: int = 0) -> bool:
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        return False
    if depth > MAX_DEPTH:
        return False
    op = item[0]
    if op in ("and", "or"):
        return (
            len(item) == 2
            and isinstance(item[1], list)
            and len(item[1]) >= 1
            and all(_valid_filter(child, False, depth + 1) for child in item[1])
        )
    if op in ("not", "has_done", "has_not_done"):
        return len(item) == 2 and _valid_filter(item[1], False, depth + 1)
    if op == "is" and len(item) == 3 and item[1] == "segment":
        return isinstance(item[2], list)
    if op not in OPERATORS or len(item) not in (3, 4):
        return False
    if not _filter_dimension_ok(item[1]) or not isinstance(item[2], list):
        return False
    if not all(isinstance(c, str | int) and not isinstance(c, bool) for c in item[2]):
        return False
    if item[1] == "event:goal" and op not in GOAL_OPERATORS:
        return False
    if len(item) == 4:
        modifiers = item[3]
        if not isinstance(modifiers, dict) or set(modifiers) - {"case_sensitive"}:
            return False
        if not isinstance(modifiers.get("case_sensitive", True), bool):
            return False
        if op.startswith("matches"):
            return False
    return True


def _check_order_by(value: Any) -> None:
    if value is None:
        return
    _expect(value, list, "#/order_by", "Array")
    for index, entry in enumerate(value):
        if not isinstance(entry, list) or len(entry) != 2:
            raise _schema(f"#/order_by/{index}", f"Invalid order_by entry {render(entry)}")
        name, direction = entry
        known = isinstance(name, str) and (
            registry.is_public_metric(name) or registry.is_public_dimension(name)
        )
        if not known:
            raise _schema(f"#/order_by/{index}/0", f"Invalid value in order_by {render(name)}")
        if direction not in ("asc", "desc"):
            raise _schema(f"#/order_by/{index}/1", "Value is not allowed in enum.")


def _check_include(value: Any) -> None:
    if value is None:
        return
    _expect(value, dict, "#/include", "Object")
    for key, flag in value.items():
        if key not in INCLUDE_KEYS:
            raise _schema(f"#/include/{key}", "Schema does not allow additional properties.")
        _expect(flag, bool, f"#/include/{key}", "Boolean")


def _check_pagination(value: Any) -> None:
    if value is None:
        return
    _expect(value, dict, "#/pagination", "Object")
    for key in value:
        if key not in ("limit", "offset"):
            raise _schema(f"#/pagination/{key}", "Schema does not allow additional properties.")
    if "limit" in value:
        _expect(value["limit"], int, "#/pagination/limit", "Integer")
        if value["limit"] > MAX_LIMIT:
            raise _schema("#/pagination/limit", f"Expected the value to be <= {MAX_LIMIT}")
        if value["limit"] < 1:
            raise _schema("#/pagination/limit", "Expected the value to be >= 1")
    if "offset" in value:
        _expect(value["offset"], int, "#/pagination/offset", "Integer")
        if value["offset"] < 0:
            raise _schema("#/pagination/offset", "Expected the value to be >= 0")


# -- parser ---------------------------------------------------------------------------------


def parse_filter(item: list[Any]) -> Node:
    op = item[0]
    if op in ("and", "or"):
        children = tuple(parse_filter(child) for child in item[1])
        return And(children) if op == "and" else Or(children)
    if op == "not":
        return Not(parse_filter(item[1]))
    if op in ("has_done", "has_not_done"):
        return HasDone(parse_filter(item[1]), negated=op == "has_not_done")
    if item[1] == "segment":
        if not all(isinstance(c, int) and not isinstance(c, bool) for c in item[2]):
            raise InvalidInput(f"Invalid filter '{render(item)}'.")
        if len(item[2]) > 10:
            raise InvalidInput(
                "Invalid filters. You can only use up to 10 segment filters in a query."
            )
        raise InvalidInput("Invalid filters. Some segments don't exist or aren't accessible.")
    dimension, clauses = item[1], item[2]
    allow_int = dimension == "visit:city"
    if allow_int and len({type(c) for c in clauses}) > 1:
        raise InvalidInput(f"Invalid filter '{render(item)}'.")
    for clause in clauses:
        ok = isinstance(clause, str) or (
            allow_int and isinstance(clause, int) and not isinstance(clause, bool)
        )
        if not ok:
            raise InvalidInput(f"Invalid filter '{render(item)}'.")
    two_letters = all(isinstance(c, str) and len(c) == 2 for c in clauses)
    if dimension == "visit:country" and op in ("is", "is_not") and not two_letters:
        raise InvalidInput(
            "Invalid visit:country filter, visit:country needs to be a valid 2-letter country code."
        )
    case_sensitive = True
    if len(item) == 4:
        case_sensitive = bool(item[3].get("case_sensitive", True))
    return Filter(op, dimension, tuple(clauses), case_sensitive, modified=len(item) == 4)


def parse_date_range(value: Any, site: SiteContext, now: datetime) -> periods.DateRange:
    tz = site.timezone
    if isinstance(value, str):
        return periods.named_range(value, now, tz, site.stats_start)
    try:
        return _date_pair(value, tz)
    except (OverflowError, ValueError):  # years 1 or 9999 do not survive timezone arithmetic
        raise InvalidInput(f"Invalid date_range '{render(value)}'.") from None


def _date_pair(value: list[str], tz: ZoneInfo) -> periods.DateRange:
    first, last = value
    if not ("1900" <= first[:4] <= "2999" and "1900" <= last[:4] <= "2999"):
        raise ValueError("dates outside 1900-2999")
    if _DATE.match(first):
        try:
            start_day, end_day = date.fromisoformat(first), date.fromisoformat(last)
        except ValueError:
            raise InvalidInput(f"Invalid date_range '{render(value)}'.") from None
        if end_day < start_day:
            raise InvalidInput(f"Invalid date_range '{render(value)}'.")
        return periods.from_dates(start_day, end_day, tz)
    try:
        start, end = datetime.fromisoformat(first), datetime.fromisoformat(last)
    except ValueError:
        raise InvalidInput(f"Invalid date_range '{render(value)}'.") from None
    if start.tzinfo is None or end.tzinfo is None or end < start:
        raise InvalidInput(f"Invalid date_range '{render(value)}'.")
    return periods.from_instants(start.replace(microsecond=0), end.replace(microsecond=0), tz)


def _leaves(item: list[Any]) -> list[Any]:
    if item and item[0] in ("and", "or"):
        return [leaf for child in item[1] for leaf in _leaves(child)]
    if item and item[0] in ("not", "has_done", "has_not_done"):
        return _leaves(item[1])
    return [item]


def parse_query(body: dict[str, Any], site: SiteContext, now: datetime) -> Query:
    check_schema(body)
    date_range = parse_date_range(body["date_range"], site, now)
    metrics = tuple(body["metrics"])
    leaves = [leaf for top in body.get("filters", []) for leaf in _leaves(top)]
    segment_ids = sum(len(f[2]) for f in leaves if len(f) == 3 and f[1] == "segment")
    if segment_ids > 10:
        raise InvalidInput("Invalid filters. You can only use up to 10 segment filters in a query.")
    filters = tuple(parse_filter(item) for item in body.get("filters", []))
    if sum(1 for top in body.get("filters", []) for _ in _leaves(top)) > MAX_FILTERS:
        raise InvalidInput(f"Invalid filters. A query may use at most {MAX_FILTERS} filters.")
    dimensions = tuple(body.get("dimensions", []))
    order_by = tuple((name, direction) for name, direction in body.get("order_by") or [])
    for name, direction in order_by:
        if name not in metrics and name not in dimensions:
            # Plausible prints the parsed entry: metrics are atoms, dimensions strings.
            shown = f":{name}" if registry.metric(name) else render(name)
            raise InvalidInput(
                f"Invalid order_by entry '{{{shown}, :{direction}}}'. Entry is not a queried "
                "metric or dimension."
            )
    include = body.get("include") or {}
    pagination = body.get("pagination") or {}
    return Query(
        site=site,
        metrics=metrics,
        date_range=date_range,
        dimensions=dimensions,
        filters=filters,
        order_by=order_by,
        limit=int(pagination.get("limit", MAX_LIMIT)),
        offset=int(pagination.get("offset", 0)),
        total_rows=bool(include.get("total_rows")),
        time_labels=bool(include.get("time_labels")),
        options={"imports": bool(include.get("imports"))},
    )
