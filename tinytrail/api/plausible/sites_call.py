"""Request plumbing for the Plausible Sites API (see `sites` for the wire contract).

The `Call` a handler gets, its parameters merged from the query string, a JSON body or a form
body, the `sites_api` guard (auth, scope, errors rendered Plausible's way) and cursor paging.
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from tinytrail.api.http import JSON, BodyTooLarge, decode_json, read_body
from tinytrail.api.plausible.common import (
    INVALID_KEY_OR_SITE,
    PlausibleError,
    accessible_site,
    authenticate,
    has_scope,
    runtime_of,
)
from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta.models import Site
from tinytrail.meta.paging import DEFAULT_PAGE, MAX_PAGE, Page, PageRequest
from tinytrail.meta.repo import Principal
from tinytrail.runtime import Runtime

log = logging.getLogger(__name__)

INVALID_KEY = (
    "Invalid API key. Please make sure you're using a valid API key with access to the "
    "resource you've requested."
)
SITE_NOT_FOUND = "Site could not be found"
PROVISION = "sites:provision:*"


@dataclass(frozen=True)
class Call:
    """One authenticated request: the server, who asks, the merged parameters, the request."""

    runtime: Runtime
    principal: Principal
    params: dict[str, Any]
    request: Request

    def text(self, name: str) -> str | None:
        """A non-blank string parameter, trimmed; None when absent, blank or not a string."""
        value = self.params.get(name)
        return value.strip() if isinstance(value, str) and value.strip() else None

    def required(self, name: str, action: str) -> str:
        value = self.text(name)
        if value is None:
            raise PlausibleError(400, f"Parameter `{name}` is required to {action}")
        return value

    def site(self, action: str) -> Site:
        """The site named by `site_id`, which this key must be able to see."""
        return visible_site(self, self.required("site_id", action))


Handler = Callable[[Call], dict[str, Any]]
Endpoint = Callable[[Request], Awaitable[Response]]


def visible_site(call: Call, domain: str) -> Site:
    site = accessible_site(call.runtime, call.principal, domain)
    if site is None:
        raise NotFound(SITE_NOT_FOUND)
    return site


# -- the guard: auth, scope, parameters, errors ---------------------------------------------------


def sites_api(*, write: bool) -> Callable[[Handler], Endpoint]:
    """Wrap a handler: authenticate (rate-limited per key), check the scope, merge parameters,
    run it off the event loop (it touches the databases), and render every error Plausible's way.
    """

    def wrap(handler: Handler) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            try:
                principal = _authenticate(request)
                if write and not has_scope(principal, PROVISION):
                    raise PlausibleError(401, INVALID_KEY)
                call = Call(runtime_of(request), principal, await _params(request), request)
                return JSON(await run_in_threadpool(handler, call))
            except PlausibleError as exc:
                return exc.response()
            except InvalidInput as exc:
                return JSON({"error": exc.message}, status_code=400)
            except NotFound as exc:
                return JSON({"error": exc.message}, status_code=404)
            except Exception:
                log.exception("unexpected error in a Sites API handler")
                return JSON({"error": "Internal server error"}, status_code=500)

        return endpoint

    return wrap


def _authenticate(request: Request) -> Principal:
    try:
        return authenticate(request)
    except PlausibleError as exc:
        # No site is involved yet: Plausible's Sites API words this without "site ID".
        if exc.message == INVALID_KEY_OR_SITE:
            raise PlausibleError(401, INVALID_KEY) from None
        raise


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    if request.method not in ("GET", "HEAD"):
        params.update(await _body(request))
    params.update(request.path_params)
    return params


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await read_body(request, runtime_of(request).settings.max_body_bytes)
    except BodyTooLarge:
        raise PlausibleError(413, "Request body is too large") from None
    if not body.strip():
        return {}
    content_type = request.headers.get("content-type", "").lower()
    if "form" in content_type:
        return await _form(request, body)
    try:
        data = decode_json(body)
    except Exception:
        raise PlausibleError(400, "Invalid JSON in request body") from None
    if not isinstance(data, dict):
        raise PlausibleError(400, "The request body must be a JSON object")
    return data


async def _form(request: Request, body: bytes) -> dict[str, Any]:
    """Form fields; `name[]` or a repeated name collects a list (funnel steps)."""

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=0, max_fields=100)
    except HTTPException as exc:  # Starlette's verdict on a malformed or oversized form
        raise PlausibleError(400, f"Malformed form body: {exc.detail}") from None
    fields: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):  # refused by max_files=0; this narrows the type
            continue
        if name.endswith("[]") or name in fields:
            previous = fields.get(name.removesuffix("[]"), [])
            items = previous if isinstance(previous, list) else [previous]
            fields[name.removesuffix("[]")] = [*items, value]
        else:
            fields[name] = value
    return fields


# -- paging -------------------------------------------------------------------------------------


def page_request(call: Call) -> PageRequest:
    raw = call.params.get("limit", DEFAULT_PAGE)
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise PlausibleError(400, "Parameter `limit` must be an integer") from None
    after, before = call.text("after"), call.text("before")
    return PageRequest(
        limit=min(max(limit, 1), MAX_PAGE),
        after=_decode_cursor(after) if after else None,
        before=_decode_cursor(before) if before else None,
    )


def page_meta(page: Page[Any], request: PageRequest) -> dict[str, Any]:
    return {
        "after": _encode_cursor(page.after),
        "before": _encode_cursor(page.before),
        "limit": request.limit,
    }


def _encode_cursor(key: str | None) -> str | None:
    """Cursors are opaque to clients: the row key in base64url, without padding."""
    if key is None:
        return None
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise PlausibleError(400, "Invalid pagination cursor") from None
