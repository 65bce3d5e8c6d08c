"""Splitting page URLs into hostname, pathname and the query parameters we keep."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

CLICK_IDS = ("gclid", "gbraid", "wbraid", "msclkid", "fbclid", "twclid")
MAX_PATH = 2000


@dataclass(frozen=True, slots=True)
class PageUrl:
    hostname: str
    pathname: str
    params: dict[str, str]


def split_url(url: str, hash_mode: bool = False) -> PageUrl:
    """Never raises: a URL we cannot read yields an empty host and the path `/`."""
    try:
        parts = urlsplit(url.strip())
        hostname = (parts.hostname or "").removeprefix("www.")
        path = unquote(parts.path or "/").rstrip() or "/"
        if hash_mode and parts.fragment:
            path = f"{path}#{parts.fragment}"
        params: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if key not in params and len(params) < 50:
                params[key] = value[:2000]
    except ValueError:
        return PageUrl("", "/", {})
    return PageUrl(hostname[:255], path[:MAX_PATH], params)


def clean_path(path: str) -> str:
    """A client-sent path: must look like a path; fall back to `/`."""
    path = path.strip()
    if not path.startswith("/"):
        path = "/" + path
    return path[:MAX_PATH]
