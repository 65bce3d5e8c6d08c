"""GoatCounter's site `settings` object and `user_defaults`: defaults, validation, shapes.

`settings.ignore_ips` is the site's `excluded_ips` (one list, honoured by every collector); the
other settings are stored as GoatCounter sent them and echoed back. Validation errors use
upstream's keys (`settings.public`, ...) and texts.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from importlib import resources
from typing import Any

from tinytrail.api.goatcounter import decode as d
from tinytrail.errors import InvalidInput
from tinytrail.ingest.collection import DEFAULT_COLLECT, DEFAULT_REGIONS
from tinytrail.meta import validate

DEFAULTS: dict[str, Any] = {
    "public": "private",
    "secret": "",
    "allow_counter": False,
    "allow_bosmang": False,
    "data_retention": 0,
    "collect": DEFAULT_COLLECT,  # referrer, user agent, screen size, country, region, sessions
    "collect_regions": DEFAULT_REGIONS,
    "allow_embed": "",
}
SPEC = {**dict.fromkeys(DEFAULTS, "field"), "ignore_ips": "field"}
PUBLIC = ("private", "secret", "public")
STRUCT = "goatcounter.SiteSettings"

Errors = dict[str, list[str]]


def _one_of(options: tuple[str, ...]) -> str:
    return "must be one of \u2018" + ", ".join(options) + "\u2019"


def parse_settings(
    raw: Any, base: dict[str, Any], errors: Errors, path: str
) -> tuple[dict[str, Any], list[str] | None]:
    """`raw` merged over `base`: (stored settings, new excluded IPs or None when not given)."""
    if not isinstance(raw, dict):
        raise d.type_error(raw, "goatcounter.Site", path, STRUCT)
    given = d.pick(raw, SPEC, prefix=f"{path}.")
    merged = {**DEFAULTS, **base}
    for name in ("public", "secret"):
        if name in given:
            merged[name] = d.string(given[name], STRUCT, f"{path}.{name}")
    for name in ("allow_counter", "allow_bosmang"):
        if name in given:
            merged[name] = d.boolean(given[name], STRUCT, f"{path}.{name}")
    for name in ("data_retention", "collect"):
        if name in given:
            merged[name] = d.integer(given[name], STRUCT, f"{path}.{name}", "int")
    for name in ("collect_regions", "allow_embed"):
        if name in given:
            merged[name] = ",".join(d.comma_list(given[name], STRUCT, f"{path}.{name}"))
    ignore = None
    if "ignore_ips" in given:
        ignore = d.comma_list(given["ignore_ips"], STRUCT, f"{path}.ignore_ips")
    _check(merged, ignore, errors, "settings")
    return merged, _ips(ignore, errors) if ignore is not None else None


def _check(settings: dict[str, Any], ignore: list[str] | None, errors: Errors, key: str) -> None:
    if settings["public"] not in PUBLIC:
        errors[f"{key}.public"] = [_one_of(PUBLIC)]
    secret = settings["secret"]
    if settings["public"] == "secret":
        if not secret:
            errors[f"{key}.secret"] = ["must be set"]
        elif not 8 <= len(secret) <= 40 or not (secret.isascii() and secret.isalnum()):
            errors[f"{key}.secret"] = ["must be between 8 and 40 alphanumeric characters"]
    retention = settings["data_retention"]
    if retention != 0 and not 31 <= retention <= 1825:
        errors[f"{key}.data_retention"] = ["must be 0 or between 31 and 1825"]
    if settings["collect"] < 0:
        errors[f"{key}.collect"] = ["must be 0 or greater"]
    embeds = [url for url in settings["allow_embed"].split(",") if url]
    if any(not url.startswith(("http://", "https://")) or "*" in url for url in embeds):
        errors[f"{key}.allow_embed"] = ["must be a valid URL"]
    for ip in ignore or []:
        try:
            ipaddress.ip_network(ip, strict=False)
        except ValueError:
            errors.setdefault(f"{key}.ignore_ips", []).append(f"not a valid IP address: {ip}")


def _ips(ignore: list[str], errors: Errors) -> list[str]:
    if "settings.ignore_ips" in errors:
        return []
    try:
        return validate.validate_excluded_ips(ignore)
    except InvalidInput as exc:
        errors["settings.ignore_ips"] = [exc.message]
        return []


def settings_json(stored: dict[str, Any], excluded_ips: list[str]) -> dict[str, Any]:
    """The settings object as clients read it; list-valued settings are comma strings (Q2)."""
    return {**DEFAULTS, **stored, "ignore_ips": ",".join(excluded_ips)}


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country, from the zone table the tzdata package ships."""
    try:
        text = resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text()
    except (OSError, ModuleNotFoundError):
        return {}
    table = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                table[parts[2]] = parts[0]
    return table


def user_defaults(timezone: str) -> dict[str, Any]:
    """GoatCounter's default user settings; the timezone is `<country>.<zone>` upstream."""
    return {
        "twenty_four_hours": False,
        "sunday_starts_week": False,
        "language": "en-GB",
        "date_format": "2 Jan \u201906",
        "number_format": 8239,
        "timezone": f"{_zone_countries().get(timezone, '')}.{timezone}",
        "widgets": [],
        "views": [{"name": "default", "filter": "", "group": 0, "period": "week"}],
        "email_reports": 0,
        "fewer_numbers": False,
        "fewer_numbers_lock_until": "0001-01-01T00:00:00Z",
        "theme": "",
        "datepicker": False,
    }


def timezone_of(raw: Any, errors: Errors) -> str | None:
    """The IANA zone in a `user_defaults` object (`NL.Europe/Amsterdam` or a bare zone)."""
    if not isinstance(raw, dict):
        raise d.type_error(raw, "goatcounter.Site", "user_defaults", "goatcounter.UserSettings")
    value = next((v for k, v in raw.items() if k.lower() == "timezone"), None)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise d.type_error(value, "goatcounter.Site", "user_defaults.timezone", "tz.Zone")
    zone = value.split(".", 1)[1] if "." in value.split("/", 1)[0] else value
    try:
        return validate.validate_timezone(zone)
    except InvalidInput:
        errors["user_defaults.timezone"] = [f"unknown timezone: {value}"]
        return None
