"""Accounts and users (admin only), and the manual aggregation trigger."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinytrail.api.tinytrail.envelope import (
    endpoint,
    ensure_found,
    iso,
    json_object,
    runtime_of,
    success,
    uuid_param,
)
from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta.models import Account, User


def account_json(account: Account) -> dict[str, Any]:
    return {"id": account.id, "name": account.name, "createdAt": iso(account.created_at)}


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "accountId": user.account_id,
        "email": user.email,
        "role": user.role,
        "createdAt": iso(user.created_at),
    }


@endpoint(admin=True)
async def list_accounts(request: Request) -> Response:
    return success([account_json(a) for a in runtime_of(request).repo.list_accounts()])


@endpoint(admin=True)
async def create_account(request: Request) -> Response:
    body = await json_object(request)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name is required and must be a non-empty string")
    if len(name) > 255:
        raise InvalidInput("name must be at most 255 characters")
    account = runtime_of(request).repo.create_account(name.strip())
    return success(account_json(account), status=201)


@endpoint(admin=True)
async def delete_account(request: Request) -> Response:
    account_id = uuid_param(request)
    account = runtime_of(request).repo.delete_account(account_id)
    return success(account_json(account))


@endpoint(admin=True)
async def list_users(request: Request) -> Response:
    return success([user_json(u) for u in runtime_of(request).repo.list_users()])


@endpoint(admin=True)
async def create_user(request: Request) -> Response:
    body = await json_object(request)
    role, account_id, email = body.get("role"), body.get("account_id"), body.get("email")
    if role is None or account_id is None:
        raise InvalidInput("role and account_id are required")
    if role not in ("admin", "user"):
        raise InvalidInput("role must be 'admin' or 'user'")
    if not isinstance(account_id, str):
        raise InvalidInput("account_id must be a UUID string")
    request.path_params["account_id"] = account_id
    account_id = uuid_param(request, "account_id")
    if email is not None and (not isinstance(email, str) or len(email) > 320):
        raise InvalidInput("email must be a string of at most 320 characters")
    user, key = runtime_of(request).repo.create_user(account_id, role, email)
    return success({**user_json(user), "apiKey": key}, status=201)


@endpoint(admin=True)
async def user_api_key(request: Request) -> Response:
    user_id = uuid_param(request)
    repo = runtime_of(request).repo
    ensure_found(repo.get_user(user_id), "User")
    key = repo.primary_key_of(user_id)
    if key is None:
        raise NotFound("User has no API key")
    return success({"id": user_id, "apiKey": key})


@endpoint(admin=True)
async def delete_user(request: Request) -> Response:
    user_id = uuid_param(request)
    user = runtime_of(request).repo.delete_user(user_id)
    return success(user_json(user))


@endpoint(admin=True)
async def aggregate(request: Request) -> Response:
    """Build the daily rollups of one date (default: yesterday, UTC) for every site."""
    body = await json_object(request) if await request.body() else {}
    raw = body.get("date")
    day = None
    if raw is not None:
        if not isinstance(raw, str) or len(raw) != 10:
            raise InvalidInput("date must be a string in YYYY-MM-DD format")
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise InvalidInput("date must be a valid date in YYYY-MM-DD format") from None
    runtime = runtime_of(request)
    day = day or (runtime.clock().astimezone(UTC).date() - timedelta(days=1))
    await asyncio.to_thread(runtime.aggregate, day)
    return success({"message": f"Aggregation completed for {day.isoformat()}"})
