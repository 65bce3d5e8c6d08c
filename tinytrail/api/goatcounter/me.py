"""`GET /api/v0/me`: the user behind the token and the token's permissions (reference 6).

Clients such as `goatcounter import` read `token.permissions` first. Our ids are UUIDs where
upstream has integers; the token's secret is never echoed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response

from tinytrail.api.goatcounter import site_settings as settings
from tinytrail.api.goatcounter.auth import Call, api, permission_bits
from tinytrail.api.goatcounter.common import not_found, rfc3339
from tinytrail.api.http import JSON


def _me(call: Call) -> dict[str, Any]:
    repo = call.runtime.repo
    principal = call.principal
    user = repo.get_user(principal.user_id)
    if user is None:
        raise not_found()
    key = next((k for k in repo.list_api_keys(user.id) if k.id == principal.key_id), None)
    sites = call.account_sites()
    timezone = sites[0].timezone if sites else "Etc/UTC"
    return {
        "user": {
            "id": user.id,
            "site": sites[0].id if sites else None,
            "email": user.email or "",
            "email_verified": bool(user.email),
            "totp_enabled": False,
            # TinyTrail users manage their whole account: GoatCounter's admin access; a
            # TinyTrail admin is its superuser.
            "access": {"all": "*" if principal.is_admin else "a"},
            "login_at": None,
            "open_at": None,
            "reset_at": None,
            "settings": settings.user_defaults(timezone),
            "last_report_at": rfc3339(user.created_at),
            "created_at": rfc3339(user.created_at),
            "updated_at": None,
        },
        "token": {
            "name": key.name if key is not None else "",
            "permissions": permission_bits(principal.scopes),
            "sites": [-1],  # every site of the account
        },
    }


@api(None)
async def me(call: Call) -> Response:
    return JSON(await asyncio.to_thread(_me, call))
