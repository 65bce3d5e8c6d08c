"""GoatCounter's error bodies and response conventions (goatcounter-reference.md 1.2, 1.3).

Errors are `{"error": msg}`, or `{"errors": {field: [msg, ...]}}` for validation errors, or (count
only) `{"errors": {index: msg}}`. Every API error is answered in JSON, whatever the request's
Content-Type (upstream sends HTML to clients that forget the header; quirk Q11).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.http import JSON
from tinytrail.runtime import Runtime

NOT_FOUND = "not found"


@dataclass
class GoatCounterError(Exception):
    """An error answered with GoatCounter's status and body."""

    status: int
    body: dict[str, Any] | None  # None: an empty body (upstream's 415)
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        if self.body is None:
            return Response(status_code=self.status, headers=self.headers)
        return JSON(self.body, status_code=self.status, headers=self.headers)


def error(status: int, message: str, **headers: str) -> GoatCounterError:
    return GoatCounterError(status, {"error": message}, dict(headers))


def field_errors(errors: dict[str, list[str]], status: int = 400) -> GoatCounterError:
    return GoatCounterError(status, {"errors": errors})


def unauthorized(message: str) -> GoatCounterError:
    # Every 401 tells a browser it may retry with Basic auth (the token as the password).
    return error(401, message, **{"WWW-Authenticate": "Basic realm=GoatCounter"})


def not_found() -> GoatCounterError:
    """One text for "does not exist" and "not yours": ids cannot be probed."""
    return error(404, NOT_FOUND)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def rfc3339(moment: datetime | None) -> str | None:
    """GoatCounter's timestamps: RFC 3339, UTC, second precision."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(seconds: int) -> str:
    """A duration as Go prints it (`59s`, `1m0s`, `1h0m0s`), for the 429 message."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def cors_headers(request: Request) -> dict[str, str]:
    """Any origin may call the API (it is token-authenticated), as upstream's middleware says."""
    if "origin" not in request.headers:
        return {}
    return {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Credentials": "true"}


ALLOWED_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
