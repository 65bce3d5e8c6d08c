"""The two shapes of an event on its way in.

`Hit` is what every collector decodes a request into (TinyTrail collect, Plausible /api/event,
GoatCounter count, imports): raw, still holding the IP and User-Agent, never persisted.
`Event` is the enriched row the store keeps; it is also the write-ahead-log record, so it
holds nothing personal. Field order of `Event` is the event store's column order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import msgspec

# Event names with special meaning. TinyTrail's auto-tracked signals are non-interactive: they
# never turn a one-pageview visit into a non-bounce (a bounce is a visit with one pageview).
PAGEVIEW = "pageview"
ENGAGEMENT = "engagement"
TINYTRAIL_PAGE_VIEW = "page_view"
NON_INTERACTIVE = frozenset(
    {ENGAGEMENT, "close_tab", "scroll_25", "scroll_50", "scroll_75", "outbound_link"}
)


@dataclass(slots=True)
class Hit:
    """The collectors build hits with positional arguments (matching a dozen keywords costs
    more than the rest of the hit): new fields go at the end."""

    site_id: int
    name: str
    timestamp: datetime  # UTC, tz-aware
    hostname: str
    pathname: str
    ip: str
    user_agent: str
    referrer: str = ""
    params: dict[str, str] = field(default_factory=dict)  # page URL query (utm_*, ref, ...)
    utm_overrides: dict[str, str] = field(default_factory=dict)  # explicit utm_* fields
    screen_width: int = 0
    props: dict[str, str] = field(default_factory=dict)
    revenue_amount: float | None = None
    revenue_currency: str = ""
    interactive: bool = True
    scroll_depth: int | None = None
    engagement_ms: int | None = None
    bot_hint: bool = False
    # Imports and GoatCounter's `session` give their own visitor identity; otherwise None and
    # the salted hash of IP + UA is used.
    visitor_key: str | None = None
    # Pre-resolved enrichment (imports carry these instead of an IP/UA).
    preset: dict[str, str | int] | None = None
    # A pageview linked to no visitor (GoatCounter's "no sessions"): a visitor and a visit
    # of its own, never recognised again.
    unlinked: bool = False


class Event(msgspec.Struct, array_like=True, gc=False):
    seq: int
    site_id: int
    ts: int  # microseconds since the Unix epoch, UTC; whole seconds (the ingestor truncates)
    name: str
    pathname: str
    hostname: str
    visitor_id: int
    session_id: int
    is_bot: bool
    is_excluded: bool
    referrer: str
    referrer_source: str
    channel: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_content: str
    utm_term: str
    browser: str
    browser_version: str
    os: str
    os_version: str
    device: str
    country: str
    region: str
    city: int
    screen_width: int
    content_group: str
    props: dict[str, str]
    revenue_amount: float | None
    revenue_currency: str
    scroll_depth: int | None
    engagement_ms: int | None
    interactive: bool
    # The salted hash behind a visitor number, on the event that introduced the number only
    # (0 otherwise): logged so a replay restores the mapping, never stored with the event
    # (see ingest/visitors.py).
    visitor_key: int = 0


EVENT_FIELDS: tuple[str, ...] = Event.__struct_fields__
# The event store's columns: every field but the transient `visitor_key`.
STORED_EVENT_FIELDS: tuple[str, ...] = EVENT_FIELDS[:-1]

# Attributes a visit takes from its first event and stamps on every later event.
SESSION_ATTRIBUTES: tuple[str, ...] = (
    "is_bot",
    "is_excluded",
    "referrer",
    "referrer_source",
    "channel",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device",
    "country",
    "region",
    "city",
    "screen_width",
)
