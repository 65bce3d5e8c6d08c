"""`GET`/`POST /count`: what GoatCounter's `count.js` calls (reference 9.2).

Parameters are in the query string (`p r t e s b q ns rnd`; unknown ones ignored), the answer
is always a 1x1 transparent GIF, and status plus an `X-Goatcounter` header say what happened.
The site is the one whose GoatCounter cname or code the Host names, else the one whose domain
the page (Origin, Referer) is on; an installation with a single site always finds it.
"""

from __future__ import annotations

import asyncio
import base64
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.collecting import accept
from tinytrail.api.goatcounter.auth import host_of
from tinytrail.api.goatcounter.common import runtime_of
from tinytrail.api.http import client_ip
from tinytrail.ingest import goatcounter_rules as rules
from tinytrail.ingest.model import PAGEVIEW, Hit
from tinytrail.ingest.pipeline import Outcome
from tinytrail.ingest.sites import SiteRules
from tinytrail.ingest.urls import split_url
from tinytrail.runtime import Runtime

GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def gif(status: int = 200, reason: str = "", **extra: str) -> Response:
    headers = {
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Cache-Control": "no-store",
        # As GoatCounter does: a page sends one beacon, so the socket is not kept open.
        "Connection": "close",
        **extra,
    }
    if reason:
        headers["X-Goatcounter"] = reason
    return Response(GIF, status_code=status, media_type="image/gif", headers=headers)


def _is_prefetch(request: Request) -> bool:
    """Browsers announce speculative loads; they are answered but never counted."""
    if request.headers.get("x-moz", "").lower() == "prefetch":
        return True
    purpose = request.headers.get("x-purpose") or request.headers.get("purpose") or ""
    return purpose.lower() in ("prefetch", "preview")


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def find_site(runtime: Runtime, request: Request) -> SiteRules | None:
    host = host_of(request)
    by_host = runtime.goatcounter.repo.site_for_host(host) if host else None
    if by_host is not None and (found := runtime.sites.by_id(by_host)) is not None:
        return found
    for header in ("origin", "referer"):
        page_host = _host(request.headers.get(header, ""))
        if page_host and (found := runtime.sites.by_domain(page_host)) is not None:
            return found
    if host and (found := runtime.sites.by_domain(host)) is not None:
        return found
    ids = runtime.sites.ids()
    # Upstream's self-hosted rule: with one site, every request is for it.
    return runtime.sites.by_id(next(iter(ids))) if len(ids) == 1 else None


async def count(request: Request) -> Response:
    runtime = runtime_of(request)
    ip = client_ip(request, runtime.settings.trusted_proxies)
    verdict = runtime.limiter.check("goatcounter-tracker", ip, runtime.settings.rate_limit_collect)
    if not verdict.allowed:
        return gif(429, "rate limited", **{"Retry-After": str(verdict.reset_after)})
    if _is_prefetch(request):
        return gif()
    site = find_site(runtime, request)
    if site is None:
        return gif(404, "no site found for this request")
    try:
        hit, title = _decode(request, runtime, site, ip)
    except Refused as exc:
        return gif(exc.status, exc.reason)
    if site.is_excluded(ip):
        return gif(202, f'ignored because "{ip}" is in the IP ignore list')
    name = hit.pathname if hit.name == PAGEVIEW else hit.name
    if rules.dropped_when_stored(name):
        return gif()
    outcomes = await accept(runtime, [hit])
    if title and outcomes[0] is Outcome.ACCEPTED:
        repo = runtime.goatcounter.repo
        items = repo.unknown_titles(site.id, [(hit.name != PAGEVIEW, name, title)])
        if items:
            await asyncio.to_thread(repo.remember_titles, site.id, items)
    return gif()


def _decode(request: Request, runtime: Runtime, site: SiteRules, ip: str) -> tuple[Hit, str]:
    params = request.query_params
    raw_path, title, ref = params.get("p", ""), params.get("t", ""), params.get("r", "")
    event = params.get("e", "").lower() in _TRUE
    bot = _bot(params.get("b", ""))
    try:
        width = rules.parse_size(params.get("s", ""))
    except ValueError:
        raise Refused(
            400, f'error decoding parameters: s: invalid number "{params["s"]}"'
        ) from None
    size = len(raw_path.encode("utf-8", "surrogatepass"))
    if size > rules.MAX_PATH:
        raise Refused(400, f"ignored because path is longer than {rules.MAX_PATH} bytes ({size})")
    path = rules.clean_path(raw_path, event)
    agent = request.headers.get("user-agent", "")
    problems = rules.validate_hit(path, title, ref, "", event)
    if too_wide := rules.size_problem(width):
        problems["size"] = [too_wide]
    if problems:
        raise Refused(400, "not valid: " + rules.validation_message(problems).replace("\n", " "))
    page = split_url(request.headers.get("referer", "")) if "referer" in request.headers else None
    referrer, tagged = rules.split_referrer(ref)
    query = {} if event else {**rules.campaign_params(params.get("q", "")), **tagged}
    no_session = params.get("ns", "").lower() in _TRUE
    hit = Hit(
        site_id=site.id,
        name=path if event else PAGEVIEW,
        timestamp=runtime.clock(),
        hostname=(page.hostname if page and page.hostname else site.domain),
        # An event happens on the page that sent it: the Referer of the beacon.
        pathname=(page.pathname if page else "/") if event else path,
        ip=ip,
        user_agent=agent,
        referrer=referrer,
        params=query,
        screen_width=rules.screen_width(width),
        bot_hint=bot >= 150,
        unlinked=no_session,
    )
    return hit, title


def _bot(text: str) -> int:
    if not text:
        return 0
    try:
        bot = int(text)
    except ValueError:
        raise Refused(400, f'error decoding parameters: b: invalid number "{text}"') from None
    if 1 <= bot <= 149:
        raise Refused(400, f"wrong value: b={bot}")
    return bot
