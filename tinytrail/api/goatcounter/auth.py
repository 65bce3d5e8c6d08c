"""Authentication, permissions and rate limits of GoatCounter's API v0 (reference 1.6, 2).

Every `/api/v0/*` handler is wrapped by `api(...)`, which runs upstream's middleware order:
CORS, rate limit (before auth, so unauthenticated callers can be limited too), content type,
then the token and the permission bit. TinyTrail API keys are the tokens; a key's scopes are
GoatCounter's permission bits, and a key without scopes has them all.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.goatcounter.common import (
    GoatCounterError,
    cors_headers,
    error,
    go_duration,
    not_found,
    runtime_of,
    unauthorized,
)
from tinytrail.api.goatcounter.decode import decode_body
from tinytrail.api.http import BodyTooLarge, client_ip, read_body
from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta import keys
from tinytrail.meta.models import Site
from tinytrail.meta.repo import Principal
from tinytrail.runtime import Runtime
from tinytrail.storage.duckdb_store import QueryTimeout

log = logging.getLogger(__name__)

# Scope name, permission bit, the name upstream's 403 message uses; in upstream's order.
PERMISSIONS: tuple[tuple[str, int, str], ...] = (
    ("count", 2, "count"),
    ("export", 4, "export"),
    ("site_read", 8, "site-read"),
    ("site_create", 16, "site-create"),
    ("site_update", 32, "site-update"),
    ("stats", 64, "stats"),
)
SCOPES = tuple(name for name, _, _ in PERMISSIONS)
ALL_BITS = sum(bit for _, bit, _ in PERMISSIONS)
# 500 hits of maximal fields fit in about 3 MB; the server-wide limit is for single events.
MAX_BODY = 4 << 20


def permission_bits(scopes: tuple[str, ...] | None) -> int:
    if scopes is None:
        return ALL_BITS
    bits = sum(bit for name, bit, _ in PERMISSIONS if name in scopes)
    return bits or 1  # upstream's APIPermNothing: a token that may do nothing


@dataclass
class Call:
    """One authenticated API request."""

    runtime: Runtime
    request: Request
    principal: Principal
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    def account_sites(self) -> list[Site]:
        return self.runtime.repo.account_sites(self.principal.account_id)

    def site(self) -> Site:
        """The site a request is about: the one its Host names, else the account's first.

        Upstream resolves the site from the Host header (cname or code); the account's oldest
        site plays GoatCounter's parent site. A Host naming another account's site is ignored:
        a key only ever reaches its own account.
        """
        sites = self.account_sites()
        host = host_of(self.request)
        if host:
            wanted = self.runtime.goatcounter.repo.site_for_host(host)
            if wanted is None:
                rules = self.runtime.sites.by_domain(host)
                wanted = rules.id if rules is not None else None
            for site in sites:
                if site.id == wanted:
                    return site
        if not sites:
            raise error(400, "this account has no sites yet; create one with PUT /api/v0/sites")
        return sites[0]


def host_of(request: Request) -> str:
    host = request.headers.get("host", "").strip().lower()
    if host.startswith("["):  # [IPv6]:port
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def token_of(request: Request) -> str:
    """The token from `Authorization: Bearer T` or Basic with T as the password."""
    header = request.headers.get("authorization")
    if header is None:
        # TinyTrail's own header works on every API; GoatCounter clients never send it.
        fallback = request.headers.get("x-api-key", "").strip()
        if fallback:
            return fallback
        raise unauthorized("no Authorization header")
    parts = header.split(" ")
    if len(parts) != 2 or parts[0] not in ("Bearer", "Basic"):
        raise unauthorized("wrong format for Authorization header")
    if parts[0] == "Bearer":
        return parts[1]
    try:
        decoded = base64.b64decode(parts[1], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise unauthorized("wrong format for Authorization header") from None
    # Without a `:` or with an empty password the lookup runs with no token (quirk Q10).
    return decoded.partition(":")[2]


def _limit(request: Request, runtime: Runtime, bucket: str) -> dict[str, str]:
    """Count the request against its bucket; the X-Rate-Limit-* headers, or a 429."""
    credential = request.headers.get("authorization") or request.headers.get("x-api-key")
    who = (
        keys.digest(credential)
        if credential
        else client_ip(request, runtime.settings.trusted_proxies)
    )
    rate = runtime.settings.rate_limit_goatcounter
    verdict = runtime.limiter.check(f"goatcounter-{bucket}", who, rate)
    headers = {
        "X-Rate-Limit-Limit": str(verdict.limit),
        "X-Rate-Limit-Remaining": str(verdict.remaining),
        "X-Rate-Limit-Reset": str(verdict.reset_after),
    }
    if not verdict.allowed:
        raise error(
            429,
            f"rate limited exceeded; try again in {go_duration(verdict.reset_after)}",
            **headers,
            **{"Retry-After": str(verdict.reset_after)},
        )
    return headers


# Upstream's decoder also takes form encodings (undocumented); only these pass without a body.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _raw_body(request: Request) -> bytes:
    if request.method in ("GET", "HEAD", "DELETE"):
        return b""  # GET parameters come from the query string, whatever the body holds
    try:
        body = await read_body(request, MAX_BODY)
    except BodyTooLarge:
        raise error(413, "request body too large") from None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        if body.strip():
            raise GoatCounterError(415, None)  # upstream's content-type middleware: no body
        if content_type and content_type not in FORM_TYPES:
            # A body-less request passes that middleware and reaches the decoder, which
            # refuses any type it cannot decode in the same way.
            raise GoatCounterError(415, None)
    return body


def _authenticate(request: Request, runtime: Runtime, perm: str | None) -> Principal:
    principal = runtime.principals.authenticate(token_of(request))
    if principal is None:
        raise unauthorized("unknown token")
    if perm is not None and principal.scopes is not None and perm not in principal.scopes:
        name = next(label for scope, _, label in PERMISSIONS if scope == perm)
        raise error(403, f"requires '{name}' permissions")
    return principal


Handler = Callable[[Call], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def api(
    perm: str | None, *, bucket: str = "api", struct: str = ""
) -> Callable[[Handler], Endpoint]:
    """Wrap a v0 handler: limits, decoding, auth and every error in GoatCounter's shape."""

    def wrap(handler: Handler) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            runtime = runtime_of(request)
            headers = {**cors_headers(request), "Cache-Control": "no-store"}
            try:
                headers.update(_limit(request, runtime, bucket))
                raw = await _raw_body(request)
                principal = _authenticate(request, runtime, perm)
                body = decode_body(raw, struct or handler.__name__)
                response = await handler(Call(runtime, request, principal, body))
            except Exception as exc:
                response = render(exc)
            response.headers.update(headers)
            return response

        return endpoint

    return wrap


def render(exc: Exception) -> Response:
    if isinstance(exc, GoatCounterError):
        return exc.response()
    if isinstance(exc, InvalidInput):
        return error(400, exc.message).response()
    if isinstance(exc, NotFound):
        return not_found().response()
    if isinstance(exc, QueryTimeout):
        return error(504, "server timed out loading data").response()
    log.exception("unexpected error in a GoatCounter API handler")
    code = _base36(_fnv32a(f"{type(exc).__name__}: {exc}"))
    # Upstream quotes the code with typographic quotes.
    message = f"unexpected error code \u2018{code}\u2019; this has been reported for investigation"
    return error(500, message).response()


def _fnv32a(text: str) -> int:
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text
