"""Splitting page URLs into hostname, pathname and the query parameters we keep."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, unquote, urlsplit

CLICK_IDS = ("gclid", "gbraid", "wbraid", "msclkid", "fbclid", "twclid")
MAX_PATH = 2000
CACHED_URL = 300  # longer URLs (rare, often unique) are parsed every time


@dataclass(frozen=True, slots=True)
class PageUrl:
    hostname: str
    pathname: str
    params: dict[str, str]


def split_url(url: str, hash_mode: bool = False) -> PageUrl:
    """Never raises: a URL we cannot read yields an empty host and the path `/`.

    A site's pages are sent over and over, so short URLs are memoised; the result (its
    `params` included) is shared and must be treated as read-only.
    """
    if len(url) <= CACHED_URL:
        return _split_url_cached(url, hash_mode)
    return _split_url(url, hash_mode)


def _split_url(url: str, hash_mode: bool) -> PageUrl:
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


_split_url_cached = lru_cache(maxsize=8192)(_split_url)


def clean_path(path: str) -> str:
    """A client-sent path: must look like a path; fall back to `/`."""
    path = path.strip()
    if not path.startswith("/"):
        path = "/" + path
    return path[:MAX_PATH]
