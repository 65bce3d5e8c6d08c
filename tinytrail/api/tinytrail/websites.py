"""Websites: a user sees and edits only their account's; admins see all."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

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
from tinytrail.meta import validate
from tinytrail.meta.models import Site
from tinytrail.meta.repo import Principal

EDITABLE = ("domain", "content_groups", "excluded_ips", "timezone")


def website_json(site: Site) -> dict[str, Any]:
    return {
        "id": site.uuid,
        "accountId": site.account_id,
        "domain": site.domain,
        "timezone": site.timezone,
        "contentGroups": site.content_groups,
        "excludedIps": site.excluded_ips,
        "createdAt": iso(site.created_at),
    }


def visible_site(request: Request, principal: Principal, site_uuid: str) -> Site:
    """The site, if this principal may see it; another account's site is NOT_FOUND."""
    site = runtime_of(request).repo.get_site_by_uuid(site_uuid)
    if site is None or not (principal.is_admin or site.account_id == principal.account_id):
        raise NotFound("Website not found")
    return site


def _validated_fields(body: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "domain" in body:
        fields["domain"] = validate.normalize_domain(body["domain"])
    if "content_groups" in body:
        fields["content_groups"] = validate.validate_content_groups(body["content_groups"])
    if "excluded_ips" in body:
        fields["excluded_ips"] = validate.validate_excluded_ips(body["excluded_ips"])
    if "timezone" in body:
        fields["timezone"] = validate.validate_timezone(body["timezone"])
    return fields


@endpoint()
async def list_websites(request: Request) -> Response:
    principal = principal_of(request)
    account = None if principal.is_admin else principal.account_id
    sites = runtime_of(request).repo.list_sites(account)
    return success([website_json(s) for s in sites])


@endpoint()
async def create_website(request: Request) -> Response:
    principal = principal_of(request)
    body = await json_object(request)
    if "domain" not in body:
        raise InvalidInput("domain is required")
    fields = _validated_fields(body)
    account_id = principal.account_id
    if body.get("account_id") is not None:
        if not principal.is_admin:
            raise InvalidInput("account_id may only be set by an admin")
        request.path_params["account_id"] = body["account_id"]
        account_id = uuid_param(request, "account_id")
    site = runtime_of(request).repo.create_site(account_id, fields.pop("domain"), **fields)
    return success(website_json(site), status=201)


@endpoint()
async def update_website(request: Request) -> Response:
    site_uuid = uuid_param(request)
    body = await json_object(request)
    if not any(name in body for name in EDITABLE):
        raise InvalidInput(f"Provide at least one of: {', '.join(EDITABLE)}")
    fields = _validated_fields(body)
    site = visible_site(request, principal_of(request), site_uuid)
    updated = runtime_of(request).repo.update_site(site.id, **fields)
    return success(website_json(updated))


@endpoint()
async def delete_website(request: Request) -> Response:
    site_uuid = uuid_param(request)
    site = visible_site(request, principal_of(request), site_uuid)
    deleted = runtime_of(request).repo.delete_site(site.id)
    return success(website_json(deleted))
