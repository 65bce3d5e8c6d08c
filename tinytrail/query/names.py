"""Names for location codes (`visit:country_name`, `visit:region_name`, `visit:city_name`).

Countries and subdivisions come from `pycountry` (ISO 3166, bundled). Cities are stored as
GeoNames ids and named from GeoNames' city table (`geonames`); an id missing from it has an
empty name, as Plausible's location dictionary answers.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry

from tinytrail.query.geonames import city_ids, city_names

_COMMON = {"US": "United States", "GB": "United Kingdom", "RU": "Russia", "KR": "South Korea"}


@lru_cache(maxsize=4096)
def country_name(code: str) -> str:
    if not code:
        return ""
    if code in _COMMON:
        return _COMMON[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


@lru_cache(maxsize=8192)
def region_name(code: str) -> str:
    if not code:
        return ""
    region = pycountry.subdivisions.get(code=code)  # type: ignore[no-untyped-call]
    return str(region.name) if region is not None else code


def city_name(geoname_id: int | str) -> str:
    text = str(geoname_id)
    if not text.isdigit() or text == "0":
        return ""
    return city_names().get(int(text), "")


def name_of(kind: str, value: object) -> str:
    if kind == "country":
        return country_name(str(value))
    if kind == "region":
        return region_name(str(value))
    return city_name(value if isinstance(value, int | str) else str(value))


@lru_cache(maxsize=1)
def _country_codes_by_name() -> dict[str, str]:
    table = {c.name.lower(): c.alpha_2 for c in pycountry.countries}
    for country in pycountry.countries:
        common = getattr(country, "common_name", None)
        if common:
            table[common.lower()] = country.alpha_2
    table.update({name.lower(): code for code, name in _COMMON.items()})
    return table


def codes_for_names(kind: str, names: tuple[object, ...]) -> tuple[str, ...]:
    """Filter clauses given as names, turned into the stored codes (unknown names match none)."""
    codes: list[str] = []
    for name in names:
        text = str(name).lower()
        if kind == "country":
            codes.append(_country_codes_by_name().get(text, f"?{name}"))
        elif kind == "region":
            found = [s.code for s in pycountry.subdivisions if s.name.lower() == text]
            codes.extend(found or [f"?{name}"])
        else:
            codes.extend([str(geoname_id) for geoname_id in city_ids(text)] or [f"?{name}"])
    return tuple(codes)
