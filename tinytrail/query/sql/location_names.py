"""Which location codes have a display name that a text filter matches.

Events store location codes (country, ISO 3166-2 region, GeoNames city id as text); the
`visit:*_name` dimensions show names looked up in Python (`tinytrail.query.names`). A
`contains`/`matches` filter on a name is therefore turned into the set of codes whose display
name it matches, and the event query filters by those codes. Plausible evaluates such filters
on the displayed name (reference 1.5, 1.6), and so does this: a visit without a location has
an empty name (which `contains_not` keeps and `matches "^$"` finds); a stored code that the
name tables do not know never matches.

The names are matched by a private in-memory DuckDB holding one (code, name) table per kind,
filled on first use, with the same operator SQL as every other filter: regular expressions are
RE2 (linear time, the store's syntax and error messages), `case_sensitive: false` lowers both
sides. Countries (~250) and regions (~5,000) take well under a millisecond; the ~235,000 city
names about 15 ms for a regex, 50 ms for a substring found in 160,000 of them. The resulting
code list is bound as a single parameter (see `Dialect.in_list`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import duckdb
import pycountry

from tinytrail.errors import InvalidInput
from tinytrail.query import names
from tinytrail.query.geonames import city_names
from tinytrail.query.sql.dialect import DuckDBDialect, Params
from tinytrail.query.sql.operators import positive_sql

_EMPTY = ""  # the stored code of an unknown location, which has no name
_CACHE_SIZE = 16  # recent answers (a dashboard asks the same filter for several reports)

_lock = threading.Lock()
_connection: duckdb.DuckDBPyConnection | None = None
_loaded: set[str] = set()
_cache: OrderedDict[tuple[object, ...], tuple[str, ...]] = OrderedDict()


def _table(kind: str) -> tuple[list[str], list[str]]:
    codes: list[str]
    if kind == "country":
        codes = [country.alpha_2 for country in pycountry.countries]
        shown = [names.country_name(str(code)) for code in codes]
    elif kind == "region":
        codes = [region.code for region in pycountry.subdivisions]
        shown = [names.region_name(str(code)) for code in codes]
    elif kind == "city":
        table = city_names()
        codes, shown = [str(geoname_id) for geoname_id in table], list(table.values())
    else:
        raise ValueError(f"unknown location kind {kind}")
    return [*codes, _EMPTY], [*shown, ""]


def _cursor(kind: str) -> duckdb.DuckDBPyConnection:
    global _connection
    with _lock:
        if _connection is None:
            _connection = duckdb.connect(":memory:", config={"threads": 1})
        if kind not in _loaded:
            codes, shown = _table(kind)
            _connection.execute(
                f"CREATE TABLE {kind} AS SELECT unnest($codes::VARCHAR[]) AS code, "
                "unnest($names::VARCHAR[]) AS name",
                {"codes": codes, "names": shown},
            )
            _loaded.add(kind)
        return _connection.cursor()


def codes_matching(
    kind: str, op: str, clauses: tuple[object, ...], case_sensitive: bool
) -> tuple[str, ...]:
    """The codes of `kind` ("country", "region", "city") whose display name the positive
    operator `op` ("is", "contains", "matches") matches with any clause, in code order.

    Raises InvalidInput, with the store's message, for an invalid regular expression.
    """
    key = (kind, op, clauses, case_sensitive)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    dialect = DuckDBDialect()
    params = Params(dialect)
    predicate = positive_sql(params, dialect, "name", op, clauses, case_sensitive)
    cursor = _cursor(kind)
    try:
        rows = cursor.execute(
            f"SELECT code FROM {kind} WHERE {predicate} ORDER BY code", params.values
        ).fetchall()
    except duckdb.InvalidInputException as exc:
        # As the store words it (tinytrail.storage.duckdb_store.fetch_dicts).
        detail = str(exc).splitlines()[0].removeprefix("Invalid Input Error: ")
        raise InvalidInput(f"Invalid query: {detail}") from exc
    finally:
        cursor.close()
    found = tuple(row[0] for row in rows)
    with _lock:
        _cache[key] = found
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return found
