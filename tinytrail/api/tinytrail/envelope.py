"""The TinyTrail API's envelope, errors and guards (auth, roles, per-key rate limit)."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.http import JSON, BodyTooLarge, decode_json, read_body
from tinytrail.api.keys import api_key_of
from tinytrail.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    TinyTrailError,
    Unauthorized,
)
from tinytrail.meta.repo import Principal
from tinytrail.runtime import Runtime

log = logging.getLogger(__name__)

STATUS = {
    "INVALID_PAYLOAD": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "RATE_LIMITED": 429,
    "INTERNAL_ERROR": 500,
}

Handler = Callable[[Request], Awaitable[Response]]


def success(data: Any, status: int = 200) -> JSON:
    return JSON({"status": "success", "data": data}, status_code=status)


def failure(code: str, message: str, headers: dict[str, str] | None = None) -> JSON:
    return JSON(
        {"status": "error", "error": {"code": code, "message": message}},
        status_code=STATUS.get(code, 500),
        headers=headers,
    )


def render_error(exc: Exception) -> JSON:
    if isinstance(exc, RateLimited):
        return failure(exc.code, exc.message, {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, TinyTrailError):
        return failure(exc.code, exc.message)
    if isinstance(exc, BodyTooLarge):
        return JSON(
            {
                "status": "error",
                "error": {"code": "INVALID_PAYLOAD", "message": "Request body is too large"},
            },
            status_code=413,
        )
    log.exception("unexpected error in a TinyTrail API handler")
    return failure("INTERNAL_ERROR", "Internal server error")


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def endpoint(*, admin: bool = False, scopes: tuple[str, ...] = ()) -> Callable[[Handler], Handler]:
    """Wrap a protected handler: authenticate, check role and scopes, rate-limit, envelope.

    A key with scopes reaches only the endpoints that accept one of them; keys without scopes
    carry their user's full rights.
    """

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: Request) -> Response:
            try:
                principal = authenticate(request)
                if admin and not principal.is_admin:
                    raise Forbidden("This endpoint requires the admin role")
                if principal.scopes is not None and not any(map(principal.allows, scopes)):
                    raise Forbidden("This API key's scopes do not cover this endpoint")
                return await handler(request)
            except Exception as exc:
                return render_error(exc)

        return guarded

    return wrap


def authenticate(request: Request) -> Principal:
    runtime = runtime_of(request)
    key = api_key_of(request)
    if not key:
        raise Unauthorized("Missing X-API-KEY header")
    principal = runtime.principals.authenticate(key)
    if principal is None:
        raise Unauthorized("Invalid API key")
    verdict = runtime.limiter.check("api", principal.key_id, runtime.settings.rate_limit_api)
    if not verdict.allowed:
        raise RateLimited("Rate limit exceeded, retry later", verdict.reset_after)
    request.state.principal = principal
    return principal


def principal_of(request: Request) -> Principal:
    principal: Principal = request.state.principal
    return principal


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or INVALID_PAYLOAD saying what is wrong with it."""
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type.lower():
        raise InvalidInput("Content-Type must be application/json")
    body = await read_body(request, runtime_of(request).settings.max_body_bytes)
    try:
        data = decode_json(body)
    except Exception as exc:
        raise InvalidInput("Malformed JSON body") from exc
    if not isinstance(data, dict):
        raise InvalidInput("The JSON body must be an object")
    return data


def uuid_param(request: Request, name: str = "id") -> str:
    value = str(request.path_params.get(name, ""))
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise InvalidInput(f"Invalid UUID format: {name}") from None


def iso(moment: datetime) -> str:
    """The spec's timestamp format: `2026-01-15T10:30:00.000Z`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def ensure_found(value: Any, what: str) -> None:
    if value is None:
        raise NotFound(f"{what} not found")
