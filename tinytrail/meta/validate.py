"""Validation of site settings shared by every API that edits sites."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from tinytrail.errors import InvalidInput

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def normalize_domain(value: Any) -> str:
    """Lowercase, strip scheme, `www.` and trailing dots/slashes; reject anything not a hostname."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("domain is required and must be a non-empty string")
    domain = value.strip().lower()
    domain = re.sub(r"^[a-z][a-z0-9+.-]*://", "", domain).rstrip("/").rstrip(".")
    domain = domain.removeprefix("www.")
    if len(domain) > 255:
        raise InvalidInput("domain must be at most 255 characters")
    labels = domain.split(".")
    if not domain or not all(_LABEL.match(label) for label in labels):
        raise InvalidInput(
            f"invalid domain {value!r}: use letters, digits, hyphens and dots (e.g. example.com)"
        )
    return domain


def validate_timezone(value: Any) -> str:
    if not isinstance(value, str) or value not in _timezones():
        raise InvalidInput(f"invalid timezone {value!r}: use an IANA name such as Europe/Berlin")
    ZoneInfo(value)
    return value


_TZ_CACHE: set[str] = set()


def _timezones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(available_timezones())
        _TZ_CACHE.add("Etc/UTC")
    return _TZ_CACHE


def validate_content_groups(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise InvalidInput("content_groups must be an array of {name, pattern} objects")
    groups: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"name", "pattern"}:
            raise InvalidInput(f"content_groups[{index}] must be an object with name and pattern")
        name, pattern = item.get("name"), item.get("pattern")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise InvalidInput(f"content_groups[{index}].name must be a non-empty string")
        if not isinstance(pattern, str) or not pattern.startswith("/") or len(pattern) > 500:
            raise InvalidInput(
                f"content_groups[{index}].pattern must be a path pattern starting with '/'"
            )
        name = name.strip()
        if name in seen:
            raise InvalidInput(f"content_groups has the name {name!r} twice")
        seen.add(name)
        groups.append({"name": name, "pattern": pattern})
    return groups


def validate_excluded_ips(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise InvalidInput("excluded_ips must be an array of IP addresses or CIDR ranges")
    result: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise InvalidInput(f"excluded_ips[{index}] must be a string")
        try:
            # A zone suffix (fe80::1%eth0) never appears on a client address: reject it.
            if "%" in item:
                raise ValueError(item)
            network = ipaddress.ip_network(item.strip(), strict=False)
        except ValueError as exc:
            raise InvalidInput(
                f"excluded_ips[{index}]: {item!r} is not an IP address or CIDR range"
            ) from exc
        text = str(network.network_address) if network.num_addresses == 1 else str(network)
        result.append(text)
    return result
