"""`POST /api/v0/count`: up to 500 hits per request (reference section 3).

The whole body is decoded first (a type error anywhere rejects the request, as Go's decoder
does); then each hit is filtered, checked and cleaned on its own. Valid hits are stored even
when others in the batch fail; the failing indexes come back in `errors`.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import msgspec
from starlette.responses import Response

from tinytrail.api.collecting import accept
from tinytrail.api.goatcounter import decode as d
from tinytrail.api.goatcounter.auth import Call, api
from tinytrail.api.goatcounter.common import GoatCounterError, error
from tinytrail.ingest import goatcounter_rules as rules
from tinytrail.ingest.model import PAGEVIEW, Hit
from tinytrail.ingest.pipeline import Outcome
from tinytrail.ingest.sites import SiteRules

MAX_HITS = 500
FUTURE_SLACK = timedelta(seconds=5)
# Upstream takes any past time; ours must lie on the event store's clock (as imports do).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
TOO_EARLY = "must be after 1970-01-01"
NO_SESSION = (
    "session or browser/IP not set; use no_sessions if you don't want to track unique visits"
)
REQUEST = {"no_sessions": "bool", "filter": "[]string", "hits": "[]APICountRequestHit"}
HIT = dict.fromkeys(
    (
        "path",
        "title",
        "event",
        "ref",
        "size",
        "query",
        "bot",
        "user_agent",
        "location",
        "language",
        "ip",
        "created_at",
        "session",
    ),
    "field",
)
HIT_NAMES = frozenset(HIT)
STRUCT = "APICountRequest"
OK = b'{"status":"ok"}'  # upstream writes this exact text


class HitFields(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One hit object, type-checked but not yet validated; absent and null fields are empty.

    As a type for `msgspec.convert` it is also the fast way in: a batch with documented keys,
    no nulls and values of these types is checked in C (see `_decode_hits`). Untracked by the
    garbage collector (`gc=False`): it holds JSON values, which cannot refer back to it.
    """

    path: str = ""
    title: str = ""
    event: bool = False
    ref: str = ""
    size: Any = None  # read through `_width`; not used once decoded
    query: str = ""
    bot: int = 0
    user_agent: str = ""
    location: str = ""
    language: str = ""
    ip: str = ""
    created_at: str = ""  # read through `_created_at`; not used once decoded
    session: str = ""


# A decoded hit: its fields, its screen width and its time when it gives one.
RawHit = tuple[HitFields, float, datetime | None]
# The string fields, in the order upstream's decoder reports their type errors.
TEXT_FIELDS = (
    "path",
    "title",
    "ref",
    "query",
    "user_agent",
    "location",
    "language",
    "ip",
    "session",
)


@api("count", bucket="count", struct=STRUCT)
async def count(call: Call) -> Response:
    body = d.pick(call.body, REQUEST)
    no_sessions = d.boolean(body.get("no_sessions", False), STRUCT, "no_sessions")
    filters = d.strings(body["filter"], STRUCT, "filter") if "filter" in body else ["ip"]
    raw_hits = body.get("hits", [])
    if not isinstance(raw_hits, list):
        raise d.type_error(raw_hits, STRUCT, "hits", "[]goatcounter.APICountRequestHit")
    decoded = _decode_hits(raw_hits)
    if not decoded:
        raise error(400, "no hits")
    if len(decoded) > MAX_HITS:
        raise error(400, f"maximum amount of pageviews in one batch is {MAX_HITS}")
    unknown = [name for name in filters if name != "ip"]
    if unknown:
        # Upstream answers 200 and ignores the batch (quirk Q4); a 400 tells the caller.
        raise error(400, f"unknown value in Filter: [{' '.join(unknown)}]")
    site = call.site()
    site_rules = call.runtime.sites.by_id(site.id)
    if site_rules is None:
        raise error(400, "the site is being deleted")
    now = call.runtime.clock()
    shared = Shared(now)
    # A site without exclusion rules excludes no address (`SiteRules.is_excluded`).
    filter_ip = "ip" in filters and bool(site_rules.excluded)
    accepted: list[Hit] = []
    titles: list[tuple[bool, str, str]] = []
    filtered: list[int] = []
    errors: dict[str, str] = {}
    for index, (raw, width, created_at) in enumerate(decoded):
        ip = raw.ip
        if filter_ip and ip and shared.excluded(site_rules, ip):
            filtered.append(index)
            continue
        path = _path(raw.path, raw.event)
        problem = _problem(raw, width, created_at, path, no_sessions, now, shared)
        if problem:
            errors[str(index)] = problem
            continue
        if rules.dropped_when_stored(path):
            continue
        hit = _to_hit(raw, width, created_at, path, site_rules, no_sessions, shared)
        accepted.append(hit)
        titles.append((raw.event, _name_of(hit), raw.title))
    if accepted:
        outcomes = await accept(call.runtime, accepted)
        # Bots get no path rows upstream (reference 8.3): only counted hits name their path.
        counted = [t for t, o in zip(titles, outcomes, strict=True) if o is Outcome.ACCEPTED]
        repo = call.runtime.goatcounter.repo
        if new_titles := repo.unknown_titles(site.id, counted):
            await asyncio.to_thread(repo.remember_titles, site.id, new_titles)
    headers = {"X-Goatcounter-Filter": ", ".join(map(str, filtered))} if filtered else {}
    if errors:
        raise GoatCounterError(400, {"errors": errors}, headers)
    return Response(OK, status_code=202, headers=headers, media_type="application/json")


def _decode_hits(items: list[Any]) -> list[RawHit]:
    """Every hit decoded, in order: the first error anywhere rejects the request."""
    try:
        # The common batch, typed in C at a fraction of the cost of `_decode_hit`; what it
        # accepts, `_decode_hit` would accept with the same fields.
        typed = msgspec.convert(items, list[HitFields])
    except msgspec.ValidationError:
        # Other key cases, nulls, 0/1 events, whole floats as bots, type errors: the general
        # path decides, hit after hit, and words any error as upstream does.
        return [_decode_hit(item) for item in items]
    hits: list[RawHit] = []
    for fields in typed:
        created_at = _created_at(fields.created_at)  # before the size, as `_decode_hit` words it
        hits.append((fields, _size_width(fields.size), created_at))
    return hits


def _decode_hit(item: Any) -> RawHit:
    path = "hits"
    if not isinstance(item, dict):
        raise d.type_error(item, STRUCT, path, "goatcounter.APICountRequestHit")
    if HIT_NAMES.issuperset(item):  # keys as documented: nothing to map
        fields = {key: value for key, value in item.items() if value is not None}
        null_event = "event" in item and item["event"] is None
    else:
        fields = d.pick(item, HIT)
        null_event = any(key.lower() == "event" and value is None for key, value in item.items())
    if null_event:
        d.zbool(None, STRUCT, f"{path}.event")  # zbool refuses null where Go would not
    for name in TEXT_FIELDS:
        if name in fields:
            d.string(fields[name], STRUCT, f"{path}.{name}")
    event = d.zbool(fields["event"], STRUCT, f"{path}.event") if "event" in fields else False
    bot = d.integer(fields["bot"], STRUCT, f"{path}.bot", "int") if "bot" in fields else 0
    created_at = _created_at(fields.get("created_at"))
    width = _size_width(fields.get("size"))
    texts = {name: fields[name] for name in TEXT_FIELDS if name in fields}
    return HitFields(**texts, event=event, bot=bot), width, created_at


def _created_at(value: Any) -> datetime | None:
    return d.timestamp(value, STRUCT, "hits.created_at") if value else None


def _size_width(value: Any) -> float:
    return _sizes(value) if isinstance(value, str) and len(value) <= 64 else _width(value)


def _width(value: Any) -> float:
    """`size` is a string upstream; arrays and numbers are accepted too (quirk Q1)."""
    if value is None:
        return 0.0
    if isinstance(value, bool):
        raise d.type_error(value, STRUCT, "hits.size", "goatcounter.Floats")
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        return _number(value[0]) if value else 0.0
    if not isinstance(value, str):
        raise d.type_error(value, STRUCT, "hits.size", "goatcounter.Floats")
    try:
        return rules.parse_size(value)
    except ValueError:
        raise error(
            400, f'invalid JSON: strconv.ParseFloat: parsing "{value}": invalid syntax'
        ) from None


def _number(value: int | float) -> float:
    """A JSON number as a float; integers beyond float's range are infinite."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _problem(
    raw: HitFields,
    width: float,
    created: datetime | None,
    path: str,
    no_sessions: bool,
    now: datetime,
    shared: Shared,
) -> str:
    """Why this hit cannot be stored, as upstream words it; "" when it can."""
    if too_wide := rules.size_problem(width):
        return too_wide
    title, ref, agent = raw.title, raw.ref, raw.user_agent
    if not no_sessions and not raw.session and not (agent and raw.ip):
        return NO_SESSION
    message = shared.validation(path, title, ref, agent, raw.event)
    if created is not None and (created > now + FUTURE_SLACK or created < EARLIEST):
        problems = rules.validate_hit(path, title, ref, agent, raw.event)
        problems["created_at"] = ["in the future" if created > now else TOO_EARLY]
        return rules.validation_message(problems)
    return message


def _name_of(hit: Hit) -> str:
    return hit.pathname if hit.name == PAGEVIEW else hit.name


def _to_hit(
    raw: HitFields,
    width: float,
    created_at: datetime | None,
    path: str,
    site: SiteRules,
    no_sessions: bool,
    shared: Shared,
) -> Hit:
    referrer, tagged = shared.referrer(raw.ref)
    params = {} if raw.event else shared.params(raw.query, tagged)
    ip, agent, session = raw.ip.strip(), raw.user_agent, raw.session
    visitor_key: str | None = session or None
    # No identity at all: each such hit is a visitor of its own (quirk Q9), instead of
    # upstream's one session shared by every anonymous hit of the site.
    unlinked = visitor_key is None and no_sessions and not (ip and agent)
    # A preset (even empty) makes the hint the only bot signal when no User-Agent is sent:
    # an API hit without one is a server-side count, not a suspicious browser.
    location = raw.location
    preset = rules.location_preset(location) if location else {}
    return Hit(
        site_id=site.id,
        name=path if raw.event else PAGEVIEW,
        timestamp=shared.now if created_at is None else created_at.replace(microsecond=0),
        hostname=site.domain,
        pathname="/" if raw.event else path,
        ip=ip,
        user_agent=agent,
        referrer=referrer,
        params=params,
        screen_width=rules.screen_width(width),
        bot_hint=raw.bot > 0,
        visitor_key=visitor_key,
        preset=preset,
        unlinked=unlinked,
    )


class Shared:
    """Work done once per distinct value in a batch: hits repeat paths, referrers and sizes.

    Lives for one request; the cleaning rules are pure, so a memoised answer is the answer.
    Returned dictionaries are shared between hits and must not be changed.
    """

    def __init__(self, now: datetime) -> None:
        self.now = now.replace(microsecond=0)
        self._validations: dict[tuple[str, str, str, str, bool], str] = {}
        self._referrers: dict[str, tuple[str, dict[str, str]]] = {}
        self._params: dict[tuple[str, str], dict[str, str]] = {}
        self._excluded: dict[str, bool] = {}

    def validation(self, path: str, title: str, ref: str, agent: str, event: bool) -> str:
        if (
            path
            and len(path) <= rules.MAX_PATH
            and len(title) <= rules.MAX_TITLE
            and len(ref) <= rules.MAX_REF
            and len(agent) <= rules.MAX_USER_AGENT
        ):
            text = path + title + ref + agent
            if text.isascii() and "\x00" not in text:
                return ""  # short ASCII without NUL: nothing validate_hit could object to
        key = (path, title, ref, agent, event)
        found = self._validations.get(key)
        if found is None:
            problems = rules.validate_hit(path, title, ref, agent, event)
            found = rules.validation_message(problems) if problems else ""
            self._validations[key] = found
        return found

    def referrer(self, ref: str) -> tuple[str, dict[str, str]]:
        found = self._referrers.get(ref)
        if found is None:
            found = self._referrers[ref] = rules.split_referrer(ref)
        return found

    def params(self, query: str, tagged: dict[str, str]) -> dict[str, str]:
        key = (query, tagged.get("ref", ""))
        found = self._params.get(key)
        if found is None:
            found = self._params[key] = {**rules.campaign_params(query), **tagged}
        return found

    def excluded(self, site: SiteRules, ip: str) -> bool:
        found = self._excluded.get(ip)
        if found is None:
            found = self._excluded[ip] = site.is_excluded(ip)
        return found


def _path(raw: str, event: bool) -> str:
    """`rules.clean_path`, memoised across requests for paths short enough to be valid."""
    return _paths(raw, event) if len(raw) <= rules.MAX_PATH else rules.clean_path(raw, event)


# Sites have a bounded set of pages, so most hits find their path here; at most 1024 entries
# of at most 2 x 2048 characters.
_paths = lru_cache(maxsize=1024)(rules.clean_path)


@lru_cache(maxsize=256)
def _sizes(text: str) -> float:
    """`_width` of a `size` string, memoised: clients send a handful of screen sizes."""
    return _width(text)
