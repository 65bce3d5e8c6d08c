"""`/api/v1/api-keys`: a user's own API keys, each with a name and optional scopes.

A key without scopes carries its user's full rights; scopes restrict it to GoatCounter's
permission bits (`count`, `export`, `site_read`, `site_create`, `site_update`, `stats`) and
Plausible's key scopes (`stats:read:*`, `sites:provision:*`). A new key is shown once, in the
answer to its creation. Only a key without scopes may manage keys: a scoped key must not be
able to mint itself a stronger one.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tinytrail.api.tinytrail.envelope import (
    endpoint,
    iso,
    json_object,
    principal_of,
    runtime_of,
    success,
    uuid_param,
)
from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta.models import ApiKey

GOATCOUNTER_SCOPES = ("count", "export", "site_read", "site_create", "site_update", "stats")
PLAUSIBLE_SCOPES = ("stats:read:*", "sites:provision:*")
SCOPES = (*GOATCOUNTER_SCOPES, *PLAUSIBLE_SCOPES)
MAX_NAME = 255


def api_key_routes() -> list[Route]:
    return [
        Route("/api/v1/api-keys", list_keys, methods=["GET"]),
        Route("/api/v1/api-keys", create_key, methods=["POST"]),
        Route("/api/v1/api-keys/{id}", delete_key, methods=["DELETE"]),
    ]


def key_json(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "scopes": key.scopes,
        "prefix": key.key_prefix,
        "primary": key.is_primary,
        "createdAt": iso(key.created_at),
    }


def parse_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("name is required and must be a non-empty string")
    if len(value.strip()) > MAX_NAME:
        raise InvalidInput(f"name must be at most {MAX_NAME} characters")
    return value.strip()


def parse_scopes(value: Any) -> list[str] | None:
    """None (full rights) or a non-empty list of known scope names, duplicates dropped."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput("scopes must be an array of scope names")
    if not value:
        raise InvalidInput("scopes must name at least one scope; omit it for full rights")
    unknown = [item for item in value if item not in SCOPES]
    if unknown:
        raise InvalidInput(f"unknown scope {unknown[0]!r}; known scopes: {', '.join(SCOPES)}")
    return list(dict.fromkeys(value))


@endpoint()
async def list_keys(request: Request) -> Response:
    principal = principal_of(request)
    keys = runtime_of(request).repo.list_api_keys(principal.user_id)
    return success([key_json(key) for key in keys])


@endpoint()
async def create_key(request: Request) -> Response:
    principal = principal_of(request)
    body = await json_object(request)
    unknown = set(body) - {"name", "scopes"}
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]!r}; expected name and scopes")
    name, scopes = parse_name(body.get("name")), parse_scopes(body.get("scopes"))
    record, plain = runtime_of(request).repo.create_api_key(principal.user_id, name, scopes)
    return success({**key_json(record), "key": plain}, status=201)


@endpoint()
async def delete_key(request: Request) -> Response:
    principal = principal_of(request)
    key_id = uuid_param(request)
    repo = runtime_of(request).repo
    found = next((k for k in repo.list_api_keys(principal.user_id) if k.id == key_id), None)
    if found is None:
        raise NotFound("API key not found")
    if found.is_primary:
        # The primary key is the one admins retrieve for the user; it is replaced, not removed.
        raise InvalidInput("The primary API key cannot be deleted")
    return success(key_json(repo.delete_api_key(principal.user_id, key_id)))
