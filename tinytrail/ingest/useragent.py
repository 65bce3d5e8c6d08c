"""User-Agent parsing into browser, OS and device class, with an LRU cache.

`ua-parser` (with its Rust regex backend) does the parsing; this module only normalises its
names to the ones Plausible shows (Mobile Safari -> Safari, Mac OS X -> macOS, ...) and derives
the device class. Real traffic repeats a small set of UA strings, so the cache takes parsing
off the hot path almost entirely.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ua_parser import parse

_BROWSER_NAMES = {
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Mobile App",
    "Chrome Webview": "Mobile App",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Opera Mobile": "Opera",
    "Opera Mini": "Opera",
    "Edge Mobile": "Edge",
    "Samsung Internet": "Samsung Internet",
    "Yandex Browser Lite": "Yandex Browser",
    "Facebook": "Mobile App",
    "Instagram": "Mobile App",
}
_OS_NAMES = {"Mac OS X": "macOS", "Mac OS": "macOS", "Chrome OS": "ChromeOS"}
_TABLET_HINTS = ("ipad", "tablet", "kindle", "silk/", "playbook", "nexus 7", "nexus 10", "sm-t")
_MOBILE_HINTS = ("mobi", "iphone", "ipod", "android", "windows phone", "blackberry", "opera mini")


@dataclass(frozen=True, slots=True)
class Agent:
    browser: str
    browser_version: str
    os: str
    os_version: str
    device: str  # "Desktop", "Mobile", "Tablet" or "" when unknown


def _version(*parts: str | None) -> str:
    """Plausible keeps versions to major.minor."""
    kept = [p for p in parts[:2] if p]
    return ".".join(kept)


def _device(ua_lower: str, device_family: str) -> str:
    family = device_family.lower()
    if any(hint in ua_lower for hint in _TABLET_HINTS) or "tablet" in family:
        return "Tablet"
    if "android" in ua_lower and "mobi" not in ua_lower:
        return "Tablet"  # Android tablets omit "Mobile" by convention
    if any(hint in ua_lower for hint in _MOBILE_HINTS):
        return "Mobile"
    if ua_lower.startswith("mozilla/") or "windows nt" in ua_lower or "x11" in ua_lower:
        return "Desktop"
    return ""


@lru_cache(maxsize=20_000)
def parse_agent(user_agent: str) -> Agent:
    if not user_agent:
        return Agent("", "", "", "", "")
    result = parse(user_agent[:1000])
    browser = os_name = ""
    browser_version = os_version = ""
    if result.user_agent is not None and result.user_agent.family != "Other":
        ua = result.user_agent
        browser = _BROWSER_NAMES.get(ua.family, ua.family)
        browser_version = "" if browser == "Mobile App" else _version(ua.major, ua.minor)
    if result.os is not None and result.os.family != "Other":
        os_name = _OS_NAMES.get(result.os.family, result.os.family)
        os_version = _version(result.os.major, result.os.minor)
    device_family = result.device.family if result.device is not None else ""
    return Agent(
        browser, browser_version, os_name, os_version, _device(user_agent.lower(), device_family)
    )


def warm() -> None:
    """Build the parser's and the bot detector's regex sets now (about 0.4 s of CPU).

    Both are built lazily by their libraries, so otherwise the first collected event waits
    for them, and every request queued behind it too.
    """
    from tinytrail.ingest.bots import is_bot

    sample = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 (warm-up)"
    parse(sample)  # uncached: parse_agent's cache must not keep a made-up entry
    is_bot.__wrapped__(sample)
