"""Plausible's Sites API (`/api/v1/sites...`): sites, teams, goals, funnels, shared links, props.

Wire contract: plausible-reference.md section 3. `site_id` is a site's domain, current or
previous. Parameters come from the query string, a JSON body or a form body (Plausible's docs
use `curl -F`), merged in that order. Errors are `{"error": msg}`. A key sees its own account's
sites (admins: all); any other site is `Site could not be found`, so keys cannot probe which
domains exist. Reads accept any key; writes need a key without scopes or with
`sites:provision:*` (Plausible answers a missing scope with 401 and the invalid-key message).

TinyTrail extensions, in the same style: funnels (`GET/PUT /sites/funnels`,
`DELETE /sites/funnels/:id`), and listing/revoking shared links (`GET /sites/shared-links`,
`DELETE /sites/shared-links/:name`). Guests: TinyTrail has no invitations (access is by account),
so listing answers an empty list, removing is a no-op, and inviting answers 400.

Layout: this module has the site and team endpoints and `sites_routes`; the request plumbing
(`Call`, parameters, the `sites_api` guard, paging) is in `sites_call`, and the endpoints for a
site's settings (shared links, goals, custom props, funnels, guests) are in `site_settings`.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from tinytrail.api.plausible.common import PlausibleError
from tinytrail.api.plausible.site_settings import (
    delete_custom_prop,
    delete_funnel,
    delete_goal,
    delete_guest,
    delete_shared_link,
    list_custom_props,
    list_funnels,
    list_goals,
    list_guests,
    list_shared_links,
    put_custom_prop,
    put_funnel,
    put_goal,
    put_guest,
    put_shared_link,
)
from tinytrail.api.plausible.sites_call import (
    Call,
    page_meta,
    page_request,
    sites_api,
    visible_site,
)
from tinytrail.errors import InvalidInput
from tinytrail.meta import validate
from tinytrail.meta.models import Site
from tinytrail.meta.paging import Page
from tinytrail.meta.site_config import INSTALLATION_TYPES, TRACKER_FLAGS

TAKEN = "domain: has already been taken"


# -- sites and teams ------------------------------------------------------------------------------


def site_json(call: Call, site: Site) -> dict[str, Any]:
    config = call.runtime.site_config
    return {
        "domain": site.domain,
        "timezone": site.timezone,
        "custom_properties": config.list_custom_props(site.id),
        "tracker_script_configuration": {
            # Stable and unique per site without storing anything: derived from its UUID.
            "id": "pa-" + site.uuid.replace("-", ""),
            **config.tracker_config(site.id),
        },
    }


@sites_api(write=False)
def list_sites(call: Call) -> dict[str, Any]:
    principal = call.principal
    request = page_request(call)
    team = call.text("team_id")
    account: str | None = None if principal.is_admin else principal.account_id
    if team is not None and account not in (None, team):  # a team this key is no member of
        return {"sites": [], "meta": page_meta(Page([], None, None), request)}
    page = call.runtime.site_config.sites_page(team or account, request)
    sites = [{"domain": s.domain, "timezone": s.timezone} for s in page.items]
    return {"sites": sites, "meta": page_meta(page, request)}


@sites_api(write=False)
def list_teams(call: Call) -> dict[str, Any]:
    """One team per account; every TinyTrail account may use the API."""
    principal = call.principal
    request = page_request(call)
    own = None if principal.is_admin else principal.account_id
    page = call.runtime.site_config.accounts_page(own, request)
    teams = [{"id": a.id, "name": a.name, "api_available": True} for a in page.items]
    return {"teams": teams, "meta": page_meta(page, request)}


@sites_api(write=True)
def create_site(call: Call) -> dict[str, Any]:
    account = _target_account(call)
    domain = _new_domain(call, None)
    timezone = call.text("timezone") or "Etc/UTC"
    try:
        validate.validate_timezone(timezone)
    except InvalidInput:
        raise PlausibleError(400, "timezone: is invalid") from None
    tracker = _tracker_changes(call.params.get("tracker_script_configuration"))
    try:
        site = call.runtime.repo.create_site(account, domain, timezone=timezone)
    except InvalidInput:  # a concurrent create of the same domain
        raise PlausibleError(400, TAKEN) from None
    if tracker:
        call.runtime.site_config.update_tracker_config(site.id, tracker)
    return site_json(call, site)


def _target_account(call: Call) -> str:
    principal = call.principal
    team = call.text("team_id")
    if team is None or team == principal.account_id:
        return principal.account_id
    if principal.is_admin and call.runtime.repo.get_account(team) is not None:
        return team
    raise PlausibleError(403, "You can't add sites to the selected team.")


def _new_domain(call: Call, site: Site | None) -> str:
    """A valid domain no other site uses, currently or as a previous domain."""
    raw = call.params.get("domain")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise PlausibleError(400, "domain: can't be blank")
    try:
        domain = validate.normalize_domain(raw)
    except InvalidInput as exc:
        raise PlausibleError(400, f"domain: {exc.message}") from None
    owner = call.runtime.site_config.find_site(domain)
    if owner is not None and (site is None or owner.id != site.id):
        raise PlausibleError(400, TAKEN)
    return domain


def _tracker_changes(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PlausibleError(400, "tracker_script_configuration: must be an object")
    changes: dict[str, Any] = {}
    for name, setting in value.items():
        if name == "id":  # echoing the read-only id back is harmless
            continue
        if name in TRACKER_FLAGS:
            valid = isinstance(setting, bool)
        elif name == "installation_type":
            valid = setting is None or setting in INSTALLATION_TYPES
        else:
            raise PlausibleError(400, f"tracker_script_configuration.{name}: is not a setting")
        if not valid:
            raise PlausibleError(400, f"tracker_script_configuration.{name}: is invalid")
        changes[name] = setting
    return changes


@sites_api(write=False)
def get_site(call: Call) -> dict[str, Any]:
    return site_json(call, visible_site(call, call.params["site_id"]))


@sites_api(write=True)
def update_site(call: Call) -> dict[str, Any]:
    site = visible_site(call, call.params["site_id"])
    params = call.params
    if "domain" not in params and "tracker_script_configuration" not in params:
        raise PlausibleError(
            400,
            "Payload must contain at least one of the parameters 'domain', "
            "'tracker_script_configuration'",
        )
    tracker = _tracker_changes(params.get("tracker_script_configuration"))
    old = site.domain
    domain = _new_domain(call, site) if "domain" in params else old
    if domain != old:
        try:
            site = call.runtime.repo.update_site(site.id, domain=domain)
        except InvalidInput:
            raise PlausibleError(400, TAKEN) from None
    if tracker:
        call.runtime.site_config.update_tracker_config(site.id, tracker)
    return site_json(call, site)


@sites_api(write=True)
def delete_site(call: Call) -> dict[str, Any]:
    site = visible_site(call, call.params["site_id"])
    # MetaRepo's hooks purge the site's events; configuration rows cascade in the database.
    call.runtime.repo.delete_site(site.id)
    return {"deleted": True}


# -- routes -------------------------------------------------------------------------------------


def sites_routes() -> list[Route]:
    """Fixed paths first: `/api/v1/sites/{site_id}` would otherwise swallow `.../goals`."""
    base = "/api/v1/sites"
    return [
        Route(base, list_sites, methods=["GET"]),
        Route(base, create_site, methods=["POST"]),
        Route(f"{base}/teams", list_teams, methods=["GET"]),
        Route(f"{base}/shared-links", list_shared_links, methods=["GET"]),
        Route(f"{base}/shared-links", put_shared_link, methods=["PUT"]),
        Route(f"{base}/shared-links/{{name:path}}", delete_shared_link, methods=["DELETE"]),
        Route(f"{base}/goals", list_goals, methods=["GET"]),
        Route(f"{base}/goals", put_goal, methods=["PUT"]),
        Route(f"{base}/goals/{{goal_id}}", delete_goal, methods=["DELETE"]),
        Route(f"{base}/custom-props", list_custom_props, methods=["GET"]),
        Route(f"{base}/custom-props", put_custom_prop, methods=["PUT"]),
        Route(f"{base}/custom-props/{{property:path}}", delete_custom_prop, methods=["DELETE"]),
        Route(f"{base}/funnels", list_funnels, methods=["GET"]),
        Route(f"{base}/funnels", put_funnel, methods=["PUT"]),
        Route(f"{base}/funnels/{{funnel_id}}", delete_funnel, methods=["DELETE"]),
        Route(f"{base}/guests", list_guests, methods=["GET"]),
        Route(f"{base}/guests", put_guest, methods=["PUT"]),
        Route(f"{base}/guests/{{email:path}}", delete_guest, methods=["DELETE"]),
        Route(f"{base}/{{site_id}}", get_site, methods=["GET"]),
        Route(f"{base}/{{site_id}}", update_site, methods=["PUT"]),
        Route(f"{base}/{{site_id}}", delete_site, methods=["DELETE"]),
    ]
