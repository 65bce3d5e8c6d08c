"""GoatCounter's hit rules, shared by `/api/v0/count`, the `/count` tracker and CSV imports.

Path cleaning (reference 8.6), validation texts (zvalidate's `field: msg, msg.`), the `size`
field, campaign parameters (8.5) and referrers, turned into the fields of our `Hit`. The
pipeline then does what it does for every collector: User-Agent, geolocation, salted visitor ids.
"""

from __future__ import annotations

import math
import re
from urllib.parse import parse_qsl, urlencode, urlsplit

MAX_PATH = 2048
MAX_TITLE = 1024
MAX_REF = 2048
MAX_USER_AGENT = 512
INT32_MAX = 2**31 - 1
NO_EVENT_NAME = "(no event name)"

# Query parameters GoatCounter removes from page paths: click ids, mailing-list and share
# markers, and the utm_* family (campaign data travels in the `query` field instead).
_DROPPED_PARAMS = frozenset(
    {"fbclid", "ref", "mc_cid", "mc_eid", "gclid", "nsukey", "isappinstalled", "continueflag"}
)
_SHARE_MARKERS = frozenset({"singlemessage", "groupmessage"})
_CLOUDFLARE = re.compile(r"^__cf_chl_.*_tk__$")
_ARCHIVE = re.compile(r"^/?web/\d{1,14}[a-z_]*/(?:https?://[^/]+)?(/.*)?$", re.IGNORECASE)
# Campaign sources and names, in GoatCounter's order of preference.
SOURCE_PARAMS = ("utm_source", "ref", "src", "source")
CAMPAIGN_PARAMS = ("utm_campaign", "campaign")


def _dropped(key: str, value: str) -> bool:
    lowered = key.lower()
    return (
        lowered in _DROPPED_PARAMS
        or lowered.startswith("utm_")
        or lowered.startswith("_x_tr_")
        or bool(_CLOUDFLARE.match(key))
        or (lowered == "from" and value in _SHARE_MARKERS)
    )


def clean_path(raw: str, event: bool) -> str:
    """GoatCounter's path: events lose a leading `/`; pages get one and lose tracking params."""
    if event:
        return raw.strip().removeprefix("/") or NO_EVENT_NAME
    path = raw.strip()
    if not path:
        return ""
    archived = _ARCHIVE.match(path)
    if archived:  # an Internet Archive copy counts for the original page
        path = archived.group(1) or "/"
    base, _, query = path.partition("?")
    base = "/" + base.strip("/")
    if not query:
        return base
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _dropped(k, v)]
    if params:
        return f"{base}?{urlencode(sorted(params))}"
    return base


def validation_message(problems: dict[str, list[str]]) -> str:
    """zvalidate's text: `field: msg, msg.`, fields sorted; several fields each end in `\\n`."""
    lines = [f"{name}: {', '.join(msgs)}." for name, msgs in sorted(problems.items())]
    if len(lines) == 1:
        return lines[0]
    return "".join(line + "\n" for line in lines)


def _text_problems(value: str, limit: int) -> list[str]:
    problems = []
    if len(value) > limit:
        problems.append(f"must be shorter than {limit} characters")
    if "\x00" in value or not _is_utf8(value):
        problems.append("must be UTF-8")
    return problems


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from \ud800-style JSON escapes
        return False
    return True


def validate_hit(
    path: str, title: str, ref: str, user_agent: str, event: bool
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not path:
        problems["path"] = ["must be set", "must be longer than 1 characters"]
    elif found := _text_problems(path, MAX_PATH):
        problems["path"] = found
    for name, value, limit in (
        ("title", title, MAX_TITLE),
        ("ref", ref, MAX_REF),
        ("user_agent", user_agent, MAX_USER_AGENT),
    ):
        if found := _text_problems(value, limit):
            problems[name] = found
    return problems


def parse_size(text: str) -> float:
    """The width from `W` or `W,H,scale`; ValueError when a part is not a number.

    Go's ParseFloat reads `NaN`, `Inf` and `1e400` (infinite) too; a NaN width is unknown (0),
    an infinite one is left for `size_problem` to refuse."""
    parts = [part.strip() for part in text.split(",")]
    numbers = [float(part) for part in parts if part]
    width = numbers[0] if numbers else 0.0
    return 0.0 if math.isnan(width) else width


def size_problem(width: float) -> str:
    """Upstream's error for a width beyond int32 (`+Inf` as Go prints it); "" when it fits."""
    if not width > INT32_MAX:
        return ""
    shown = "+Inf" if math.isinf(width) else f"{width:g}"
    return f"screen size {shown} is out of range of int32"


def dropped_when_stored(path: str) -> bool:
    """Hits upstream drops when it stores them (reference 3.3), after answering as if counted:
    browsers' favicon requests, HTML pasted into a path, one crawler's redirect URLs."""
    return path == "/favicon.ico" or "<html>" in path or path.startswith("/servlet/redirect.srv/")


def screen_width(width: float) -> int:
    """Only the width is kept, as a whole pixel count; one that is negative or not a finite
    number is unknown (0), and none is wider than int32."""
    if not math.isfinite(width) or width <= 0:
        return 0
    return min(int(width), INT32_MAX)


def campaign_params(query: str) -> dict[str, str]:
    """A page's query string as the parameters the pipeline reads for sources and campaigns.

    GoatCounter's sources are utm_source, ref, src and source, its campaign names utm_campaign
    and campaign; the pipeline reads the utm_* ones, so the first of each is copied there.
    """
    params: dict[str, str] = {}
    for key, value in parse_qsl(query.strip().removeprefix("?"), keep_blank_values=False):
        if key not in params and len(params) < 50:
            params[key] = value[:2000]
    # The first source found is the campaign source: stored as utm_source, it keeps GoatCounter's
    # `c` referrer scheme through exports.
    source = next((params[name] for name in SOURCE_PARAMS if params.get(name)), "")
    if source:
        params["utm_source"] = source
    campaign = next((params[name] for name in CAMPAIGN_PARAMS if params.get(name)), "")
    if campaign:
        params["utm_campaign"] = campaign
    return params


def split_referrer(ref: str) -> tuple[str, dict[str, str]]:
    """A ref as the pipeline's referrer URL, or, when it is free text, as a tagged source.

    GoatCounter stores free-text referrers (app names, "Google") with scheme `o`; our pipeline
    only reads URLs as referrers, so text travels as the `ref` parameter and names the source.
    """
    ref = ref.strip().rstrip("/").strip()
    if not ref:
        return "", {}
    try:
        scheme = urlsplit(ref).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme in ("http", "https", "android-app"):
        return ref, {}
    return "", {"ref": ref[:MAX_REF]}


def location_preset(location: str) -> dict[str, str | int]:
    """`NL` or `US-TX` as the event's country and region (unvalidated upstream; junk ignored)."""
    code = location.strip().upper()
    country, _, region = code.partition("-")
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        return {}
    return {"country": country, "region": code if region else "", "city": 0}
