"""Errors are data: the core raises these with stable codes; each API adapter owns its envelope."""

from __future__ import annotations


class TinyTrailError(Exception):
    code = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(TinyTrailError):
    code = "INVALID_PAYLOAD"


class NotFound(TinyTrailError):
    code = "NOT_FOUND"


class Unauthorized(TinyTrailError):
    code = "UNAUTHORIZED"


class Forbidden(TinyTrailError):
    code = "FORBIDDEN"


class RateLimited(TinyTrailError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(TinyTrailError):
    code = "INTERNAL_ERROR"
