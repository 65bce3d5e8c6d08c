"""IP geolocation, in memory only (the IP is never stored).

The country comes from `iptocc`, which bundles an offline IP-to-country table, so location works
out of the box with no download. Operators who want region and city point `TINYTRAIL_GEOIP_DB`
at a MaxMind or DB-IP City `.mmdb` file; when set, it answers all three.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import iptocc
import maxminddb


@dataclass(frozen=True, slots=True)
class Location:
    country: str = ""  # ISO 3166-1 alpha-2
    region: str = ""  # ISO 3166-2, e.g. "EE-37"
    city: int = 0  # GeoNames id, 0 when unknown


UNKNOWN = Location()


class GeoLocator:
    def __init__(self, mmdb_path: str = "") -> None:
        self._reader: Any = maxminddb.open_database(mmdb_path) if mmdb_path else None
        self.lookup = lru_cache(maxsize=50_000)(self._lookup)

    def _lookup(self, ip: str) -> Location:
        # Both readers answer "unknown" for private, reserved and malformed addresses, so no
        # ipaddress parsing here: it would cost more than the lookup itself.
        if self._reader is not None:
            found = self._from_mmdb(ip)
            if found.country:
                return found
        try:
            code = iptocc.country_code(ip)
        except (ValueError, TypeError):
            return UNKNOWN
        if not code or code in {"ZZ", "XX"}:
            return UNKNOWN
        return Location(country=str(code).upper())

    def _from_mmdb(self, ip: str) -> Location:
        try:
            record = self._reader.get(ip)
        except (ValueError, maxminddb.InvalidDatabaseError):
            return UNKNOWN
        if not isinstance(record, dict):
            return UNKNOWN
        country = str((record.get("country") or {}).get("iso_code") or "").upper()
        subdivisions = record.get("subdivisions") or []
        region = ""
        if country and subdivisions and subdivisions[0].get("iso_code"):
            region = f"{country}-{subdivisions[0]['iso_code']}"
        city = int((record.get("city") or {}).get("geoname_id") or 0)
        return Location(country=country, region=region, city=city)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
