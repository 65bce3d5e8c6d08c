"""Every metric and dimension the engine knows, with where its value lives.

Scopes: `event` dimensions exist only on event rows; `session` ones only on visits (entry and
exit pages); `visit` ones on both (the visit's attributes are stamped on its events); `time`
ones are computed from timestamps. Entries marked internal serve TinyTrail reports and the
dashboard but are not part of Plausible's public schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["event", "session", "visit", "time"]
Kind = Literal["event", "session", "either", "calc"]

NOT_SET = "(not set)"
DIRECT = "Direct / None"
NONE_PROP = "(none)"


@dataclass(frozen=True)
class Dimension:
    name: str
    scope: Scope
    column: str = ""  # the stored column ("" for computed dimensions)
    placeholder: str = ""  # shown for an empty stored value in breakdowns
    public: bool = True
    prop_key: str = ""  # for event:props:<key>
    names: str = ""  # "country", "region", "city": a *_name dimension over this code column


_DIMENSIONS: dict[str, Dimension] = {}


def _add(dimension: Dimension) -> None:
    _DIMENSIONS[dimension.name] = dimension


for _name, _column in (("event:name", "name"), ("event:page", "pathname")):
    _add(Dimension(_name, "event", _column))
_add(Dimension("event:hostname", "event", "hostname"))
_add(Dimension("event:goal", "event"))
_add(Dimension("event:content_group", "event", "content_group", public=False))
_add(Dimension("visit:source", "visit", "referrer_source", DIRECT))
_add(Dimension("visit:referrer", "visit", "referrer", DIRECT))
_add(Dimension("visit:referrer_host", "visit", "referrer", public=False))
_add(Dimension("visit:channel", "visit", "channel", "Direct"))
_add(Dimension("visit:tinytrail_channel", "visit", "channel", public=False))
for _utm in ("utm_medium", "utm_source", "utm_campaign", "utm_content", "utm_term"):
    _add(Dimension(f"visit:{_utm}", "visit", _utm, NOT_SET))
_add(Dimension("visit:device", "visit", "device", NOT_SET))
_add(Dimension("visit:screen", "visit", "device", NOT_SET))
_add(Dimension("visit:screen_bucket", "visit", "screen_width", public=False))
_add(Dimension("visit:screen_width", "visit", "screen_width", public=False))  # 0: unknown
for _name in ("browser", "browser_version", "os", "os_version"):
    _add(Dimension(f"visit:{_name}", "visit", _name, NOT_SET))
_add(Dimension("visit:country", "visit", "country"))
_add(Dimension("visit:region", "visit", "region"))
_add(Dimension("visit:city", "visit", "city"))
_add(Dimension("visit:country_name", "visit", "country", names="country"))
_add(Dimension("visit:region_name", "visit", "region", names="region"))
_add(Dimension("visit:city_name", "visit", "city", names="city"))
for _name in ("entry_page", "exit_page"):
    _add(Dimension(f"visit:{_name}", "session", _name))
    _add(Dimension(f"visit:{_name}_hostname", "session", _name.replace("page", "hostname")))
for _name in ("time", "time:hour", "time:day", "time:week", "time:month"):
    _add(Dimension(_name, "time"))


def dimension(name: str) -> Dimension | None:
    if name.startswith("event:props:"):
        key = name.removeprefix("event:props:")
        return Dimension(name, "event", "props", NONE_PROP, prop_key=key) if key else None
    return _DIMENSIONS.get(name)


def is_public_dimension(name: str) -> bool:
    found = dimension(name)
    return found is not None and found.public


@dataclass(frozen=True)
class Metric:
    name: str
    kind: Kind
    public: bool = True


_METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("visitors", "either"),
        Metric("visits", "either"),
        Metric("pageviews", "event"),
        Metric("events", "event"),
        Metric("views_per_visit", "session"),
        Metric("bounce_rate", "session"),
        Metric("visit_duration", "session"),
        Metric("percentage", "calc"),
        Metric("conversion_rate", "calc"),
        Metric("group_conversion_rate", "calc"),
        Metric("scroll_depth", "event"),
        Metric("time_on_page", "event"),
        Metric("total_revenue", "event"),
        Metric("average_revenue", "event"),
        Metric("exit_rate", "session", public=False),
        # TinyTrail's "unique pageviews": visits that viewed the page.
        Metric("unique_pageviews", "event", public=False),
    )
}

SESSION_METRICS = frozenset(m.name for m in _METRICS.values() if m.kind == "session")
EVENT_METRICS = frozenset(m.name for m in _METRICS.values() if m.kind == "event")
REVENUE_METRICS = frozenset({"total_revenue", "average_revenue"})


def metric(name: str) -> Metric | None:
    return _METRICS.get(name)


def is_public_metric(name: str) -> bool:
    found = _METRICS.get(name)
    return found is not None and found.public
