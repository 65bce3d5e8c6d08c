"""What the Plausible-compatible APIs share: `{"error": msg}` bodies, key auth, site lookup."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from tinytrail.api.http import JSON
from tinytrail.api.keys import api_key_of
from tinytrail.meta.models import Site
from tinytrail.meta.repo import Principal
from tinytrail.runtime import Runtime

MISSING_KEY = "Missing API key. Please use a valid Plausible API key as a Bearer Token."
INVALID_KEY_OR_SITE = (
    "Invalid API key or site ID. Please make sure you're using a valid API key with access to "
    "the site you've requested."
)
MISSING_SITE_ID = (
    "Missing site ID. Please provide the required site_id parameter with your request."
)


@dataclass
class PlausibleError(Exception):
    status: int
    message: str
    retry_after: int | None = None

    def response(self) -> JSON:
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after else None
        return JSON({"error": self.message}, status_code=self.status, headers=headers)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def authenticate(request: Request) -> Principal:
    """The key's principal, rate-limited per key (Plausible: N requests per hour)."""
    runtime = runtime_of(request)
    key = api_key_of(request)
    if not key:
        raise PlausibleError(401, MISSING_KEY)
    principal = runtime.principals.authenticate(key)
    if principal is None:
        raise PlausibleError(401, INVALID_KEY_OR_SITE)
    rate = runtime.settings.rate_limit_stats
    verdict = runtime.limiter.check("plausible", principal.key_id, rate)
    if not verdict.allowed:
        per_hour = round(rate.count * 3600 / rate.seconds)
        raise PlausibleError(
            429,
            f"Too many API requests. Your API key is limited to {per_hour} requests per hour. "
            "Please contact us to request more capacity.",
            verdict.reset_after,
        )
    return principal


def has_scope(principal: Principal, wanted: str) -> bool:
    return principal.allows(wanted)


def accessible_site(runtime: Runtime, principal: Principal, domain: str) -> Site | None:
    """The site named by `domain` (or a domain it had before) if this key may see it."""
    site = runtime.site_config.find_site(domain.strip().lower())
    if site is None:
        return None
    if principal.is_admin or site.account_id == principal.account_id:
        return site
    return None
