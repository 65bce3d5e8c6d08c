"""`/api/v0/sites`: GoatCounter's view of our sites (reference section 5).

A GoatCounter site is one of our sites, addressed by its integer id. Its `link_domain` starts as
our site's domain (what the collectors match pages against) and setting it renames the site; its
`cname` is the host its stats are served under (the domain when none was set). The account's
oldest site plays GoatCounter's parent site; the others are its children. A request sees the
current site (`Call.site`) and that site's children, so only the oldest site's Host shows them
all. Sites are never deleted through this API (upstream has no DELETE either).
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.responses import Response

from tinytrail.api.goatcounter import decode as d
from tinytrail.api.goatcounter import site_settings as settings
from tinytrail.api.goatcounter.auth import Call, api
from tinytrail.api.goatcounter.common import error, field_errors, not_found, rfc3339
from tinytrail.api.http import JSON
from tinytrail.errors import InvalidInput
from tinytrail.meta import validate
from tinytrail.meta.models import GoatCounterSite, Site
from tinytrail.runtime import Runtime

STRUCT = "goatcounter.Site"
READONLY = ("id", "parent", "cname_setup_at")
# Writable upstream but managed by the server here: accepted and ignored.
MANAGED = ("received_data", "state", "created_at", "updated_at", "first_hit_at")
CREATE = {
    **dict.fromkeys((*READONLY, *MANAGED), "readonly"),
    "cname": "string",
    "code": "string",
    "link_domain": "string",
    "setttings": "object",  # upstream's spelling of the Site object's key (quirk Q3)
    "settings": "object",
    "user_defaults": "object",
}
UPDATE = {"settings": "object", "cname": "string", "link_domain": "string"}
TAKEN = "this site already exists: code or domain must be unique"
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,48}[a-z0-9]$")
# Upstream moves `first_hit_at` to this long before a hit that predates it (reference 3.2).
FIRST_HIT_MARGIN = timedelta(hours=12)


def first_hit_at(runtime: Runtime, site: Site) -> datetime | None:
    """The site's creation time, or its oldest hit less 12 hours when a hit predates that.

    None when the site has no hits. The store keeps each site's earliest event in memory.
    """
    oldest = runtime.store.first_event_at(site.id)
    if oldest is None:
        return None
    created = site.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return oldest - FIRST_HIT_MARGIN if oldest < created else created


def site_json(
    runtime: Runtime, site: Site, row: GoatCounterSite, parent: int | None
) -> dict[str, Any]:
    first = first_hit_at(runtime, site)
    return {
        "id": site.id,
        "parent": parent,
        "cname": row.cname or site.domain,
        "cname_setup_at": None,
        "code": row.code,
        "link_domain": row.link_domain,
        "setttings": settings.settings_json(row.settings, site.excluded_ips),
        "user_defaults": settings.user_defaults(site.timezone),
        "received_data": first is not None,
        "state": "a",
        "created_at": rfc3339(site.created_at),
        "updated_at": rfc3339(row.updated_at),
        "first_hit_at": rfc3339(first or site.created_at),
    }


def _shape(call: Call, site: Site, sites: list[Site]) -> dict[str, Any]:
    row = call.runtime.goatcounter.repo.site(site.id)
    return site_json(call.runtime, site, row, _parent(sites, site))


def _parent(sites: list[Site], site: Site) -> int | None:
    """The account's oldest site is the parent of the others (`sites` is oldest first)."""
    return sites[0].id if sites and sites[0].id != site.id else None


def _visible(call: Call, sites: list[Site]) -> list[Site]:
    """The current site, then its children: all of the account's sites from the oldest site,
    only itself from a child (reference 5.2). Never another account's sites."""
    if not sites:
        return []
    current = call.site()
    children = sites[1:] if current.id == sites[0].id else []
    return [current, *children]


def _site_id(call: Call) -> int:
    raw = str(call.request.path_params.get("id", ""))
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise field_errors({"id": ["must be a number"]})
    return int(raw)


def _own_site(call: Call, sites: list[Site]) -> Site:
    """The `{id}` site: the current site or one of its children, else 404 (reference 5.2)."""
    wanted = _site_id(call)
    for site in _visible(call, sites):
        if site.id == wanted:
            return site
    raise not_found()


@api("site_read")
async def list_sites(call: Call) -> Response:
    sites = call.account_sites()
    visible = _visible(call, sites)
    shaped = await asyncio.to_thread(lambda: [_shape(call, s, sites) for s in visible])
    # Upstream lists the current site, then its children ordered by code.
    children = sorted(shaped[1:], key=lambda s: str(s["code"]))
    return JSON({"sites": [*shaped[:1], *children]})


@api("site_read")
async def get_site(call: Call) -> Response:
    sites = call.account_sites()
    site = _own_site(call, sites)
    return JSON(await asyncio.to_thread(_shape, call, site, sites))


def _cname(value: Any, errors: settings.Errors) -> str | None:
    cname = d.string(value, STRUCT, "cname").strip().lower().rstrip(".")
    if not cname:
        return None
    labels = cname.split(".")
    if not 4 <= len(cname) <= 255:
        errors["cname"] = ["must be between 4 and 255 characters"]
    elif len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        errors["cname"] = ["must be a valid domain"]
    return cname


def _link_domain(value: Any, errors: settings.Errors) -> tuple[str, str | None]:
    """The link domain as given (trailing `/` cut) and the site domain it names."""
    text = d.string(value, STRUCT, "link_domain").strip().rstrip("/")
    if not text:
        return "", None
    try:
        return text, validate.normalize_domain(text)
    except InvalidInput:
        errors["link_domain"] = ["must be a valid domain"]
        return text, None


def _check_cname(
    runtime: Runtime, cname: str | None, site_id: int | None, errors: settings.Errors
) -> None:
    if cname and "cname" not in errors:
        owner = runtime.goatcounter.repo.cname_owner(cname)
        if owner is not None and owner != site_id:
            errors["cname"] = ["already exists"]


@api("site_create", struct=STRUCT)
async def create_site(call: Call) -> Response:
    body = d.pick(call.body, CREATE)
    errors: settings.Errors = {}
    cname = _cname(body.get("cname", ""), errors)
    link, domain = _link_domain(body.get("link_domain", ""), errors)
    raw_settings = body.get("setttings", body.get("settings", {}))
    stored, ignore = settings.parse_settings(raw_settings, {}, errors, "setttings")
    zone = settings.timezone_of(body["user_defaults"], errors) if "user_defaults" in body else None
    code = d.string(body.get("code", ""), STRUCT, "code").strip().lower()
    if code and not _CODE.match(code):
        errors["code"] = ["must be 2 to 50 letters, digits or dashes"]
    if cname is None and "cname" not in errors:
        errors["cname"] = ["must be set"]  # self-hosted GoatCounter requires the cname
    runtime = call.runtime
    _check_cname(runtime, cname, None, errors)
    if code and "code" not in errors and runtime.goatcounter.repo.code_owner(code) is not None:
        errors["code"] = ["already exists"]
    if errors:
        raise field_errors(errors)
    sites = call.account_sites()
    try:
        site = runtime.repo.create_site(
            call.principal.account_id,
            domain or validate.normalize_domain(cname),
            timezone=zone,
            excluded_ips=ignore or [],
        )
    except InvalidInput:
        raise error(400, TAKEN) from None
    fields: dict[str, Any] = {"cname": cname, "link_domain": link, "settings": stored}
    if code:
        fields["code"] = code
    try:
        runtime.goatcounter.repo.save_site(site.id, runtime.clock(), **fields)
    except IntegrityError:
        runtime.repo.delete_site(site.id)  # the code or cname was taken meanwhile
        raise error(400, TAKEN) from None
    return JSON(
        site_json(runtime, site, runtime.goatcounter.repo.site(site.id), _parent(sites, site))
    )


async def _update(call: Call, replace: bool) -> Response:
    body = d.pick(call.body, UPDATE)
    sites = call.account_sites()
    site = _own_site(call, sites)
    runtime = call.runtime
    row = runtime.goatcounter.repo.site(site.id)
    errors: settings.Errors = {}
    fields: dict[str, Any] = {}
    ignore: list[str] | None = [] if replace else None
    if replace or "settings" in body:
        base = {} if replace else row.settings
        fields["settings"], given = settings.parse_settings(
            body.get("settings", {}), base, errors, "settings"
        )
        ignore = given if given is not None else ignore
    if replace or "cname" in body:
        fields["cname"] = _cname(body.get("cname", ""), errors)
        if replace and fields["cname"] is None and "cname" not in errors:
            errors["cname"] = ["must be set"]
        _check_cname(runtime, fields["cname"], site.id, errors)
    domain = None
    if replace or "link_domain" in body:
        fields["link_domain"], domain = _link_domain(body.get("link_domain", ""), errors)
    if errors:
        raise field_errors(errors)
    try:
        if domain is not None or ignore is not None:
            site = runtime.repo.update_site(site.id, domain=domain, excluded_ips=ignore)
    except InvalidInput:
        raise error(400, TAKEN) from None
    try:
        row = runtime.goatcounter.repo.save_site(site.id, runtime.clock(), **fields)
    except IntegrityError:
        raise field_errors({"cname": ["already exists"]}) from None
    return JSON(site_json(runtime, site, row, _parent(sites, site)))


@api("site_update", struct="apiSiteUpdateRequest")
async def replace_site(call: Call) -> Response:
    """POST replaces: omitted keys go back to their defaults."""
    return await _update(call, replace=True)


@api("site_update", struct="apiSiteUpdateRequest")
async def patch_site(call: Call) -> Response:
    """PATCH changes only the keys sent; settings are merged field by field."""
    return await _update(call, replace=False)
