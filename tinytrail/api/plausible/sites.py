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
"""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
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
from tinytrail.meta import validate
from tinytrail.meta.models import Funnel, Goal, Site
from tinytrail.meta.repo import Principal
from tinytrail.meta.site_config import (
    DEFAULT_PAGE,
    INSTALLATION_TYPES,
    MAX_PAGE,
    MAX_PROP_KEY,
    TRACKER_FLAGS,
    Page,
    PageRequest,
    goal_spec,
    goal_type,
)
from tinytrail.runtime import Runtime

log = logging.getLogger(__name__)

INVALID_KEY = (
    "Invalid API key. Please make sure you're using a valid API key with access to the "
    "resource you've requested."
)
SITE_NOT_FOUND = "Site could not be found"
PROVISION = "sites:provision:*"
TAKEN = "domain: has already been taken"
MAX_NAME = 255


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


# -- shared links -------------------------------------------------------------------------------


def shared_link_url(call: Call, site: Site, slug: str) -> str:
    base = call.runtime.settings.base_url or str(call.request.base_url)
    return f"{base.rstrip('/')}/share/{quote(site.domain, safe='')}?auth={slug}"


@sites_api(write=True)
def put_shared_link(call: Call) -> dict[str, Any]:
    action = "create a shared link"
    call.required("site_id", action)
    name = call.required("name", action)
    site = call.site(action)
    if len(name) > MAX_NAME:
        raise PlausibleError(400, f"name: should be at most {MAX_NAME} character(s)")
    link = call.runtime.site_config.shared_link(site.id, name)
    return {"name": link.name, "url": shared_link_url(call, site, link.slug)}


@sites_api(write=False)
def list_shared_links(call: Call) -> dict[str, Any]:
    site = call.site("list shared links")
    request = page_request(call)
    page = call.runtime.site_config.shared_links_page(site.id, request)
    links = [{"name": x.name, "url": shared_link_url(call, site, x.slug)} for x in page.items]
    return {"shared_links": links, "meta": page_meta(page, request)}


@sites_api(write=True)
def delete_shared_link(call: Call) -> dict[str, Any]:
    site = call.site("delete a shared link")
    call.runtime.site_config.delete_shared_link(site.id, call.params["name"])
    return {"deleted": True}


# -- goals --------------------------------------------------------------------------------------


def goal_json(goal: Goal) -> dict[str, Any]:
    return {
        "id": goal.id,
        "display_name": goal.display_name,
        "goal_type": goal_type(goal),
        "event_name": goal.event_name,
        "page_path": goal.page_path,
        "custom_props": goal.custom_props or {},
        "currency": goal.currency,
    }


@sites_api(write=False)
def list_goals(call: Call) -> dict[str, Any]:
    site = call.site("list goals")
    request = page_request(call)
    page = call.runtime.site_config.goals_page(site.id, request)
    return {"goals": [goal_json(g) for g in page.items], "meta": page_meta(page, request)}


@sites_api(write=True)
def put_goal(call: Call) -> dict[str, Any]:
    action = "create a goal"
    call.required("site_id", action)
    kind = call.required("goal_type", action)
    if kind not in ("event", "page"):
        raise PlausibleError(400, "Parameter `goal_type` must be `event` or `page`")
    site = call.site(action)
    field = "event_name" if kind == "event" else "page_path"
    if call.params.get(field) is None:
        raise PlausibleError(400, f"Parameter `{field}` is required to {action}")
    params = call.params
    spec = goal_spec(
        kind,
        event_name=params.get("event_name"),
        page_path=params.get("page_path"),
        display_name=params.get("display_name"),
        custom_props=params.get("custom_props"),
        currency=params.get("currency"),
    )
    goal = call.runtime.site_config.upsert_goal(site.id, spec)
    return {"domain": site.domain, **goal_json(goal)}


@sites_api(write=True)
def delete_goal(call: Call) -> dict[str, Any]:
    site = call.site("delete a goal")
    goal_id = _int_id(call.params["goal_id"], "Goal could not be found")
    call.runtime.site_config.delete_goal(site.id, goal_id)
    return {"deleted": True}


def _int_id(value: str, missing: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise NotFound(missing)
    return int(value)


# -- custom properties --------------------------------------------------------------------------


@sites_api(write=False)
def list_custom_props(call: Call) -> dict[str, Any]:
    site = call.site("list custom properties")
    props = call.runtime.site_config.list_custom_props(site.id)
    return {"custom_properties": [{"property": p} for p in props]}


@sites_api(write=True)
def put_custom_prop(call: Call) -> dict[str, Any]:
    action = "create a custom property"
    call.required("site_id", action)
    prop = call.required("property", action)
    site = call.site(action)
    if len(prop) > MAX_PROP_KEY:
        raise PlausibleError(400, "Parameter `property` is too long")
    call.runtime.site_config.add_custom_prop(site.id, prop)
    return {"created": True}


@sites_api(write=True)
def delete_custom_prop(call: Call) -> dict[str, Any]:
    site = call.site("delete a custom property")
    call.runtime.site_config.remove_custom_prop(site.id, call.params["property"])
    return {"deleted": True}


# -- funnels (TinyTrail extension) ----------------------------------------------------------------


def funnel_json(funnel: Funnel, names: dict[int, str]) -> dict[str, Any]:
    steps = [{"goal_id": step, "display_name": names.get(step)} for step in funnel.steps]
    return {"id": funnel.id, "name": funnel.name, "steps": steps}


def _goal_names(call: Call, site: Site) -> dict[int, str]:
    return {g.id: g.display_name for g in call.runtime.site_config.list_goals(site.id)}


@sites_api(write=False)
def list_funnels(call: Call) -> dict[str, Any]:
    site = call.site("list funnels")
    request = page_request(call)
    page = call.runtime.site_config.funnels_page(site.id, request)
    names = _goal_names(call, site)
    funnels = [funnel_json(f, names) for f in page.items]
    return {"funnels": funnels, "meta": page_meta(page, request)}


@sites_api(write=True)
def put_funnel(call: Call) -> dict[str, Any]:
    action = "create a funnel"
    call.required("site_id", action)
    name = call.required("name", action)
    steps = call.params.get("steps")
    if steps is None:
        raise PlausibleError(400, f"Parameter `steps` is required to {action}")
    site = call.site(action)
    if len(name) > MAX_NAME:
        raise PlausibleError(400, f"name: should be at most {MAX_NAME} character(s)")
    if not isinstance(steps, list) or not all(_is_step(step) for step in steps):
        raise PlausibleError(400, "steps: must be a list of goal ids or goal display names")
    funnel = call.runtime.site_config.put_funnel(site.id, name, steps)
    return funnel_json(funnel, _goal_names(call, site))


def _is_step(value: Any) -> bool:
    # bool is an int in Python; `true` is no goal id.
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


@sites_api(write=True)
def delete_funnel(call: Call) -> dict[str, Any]:
    site = call.site("delete a funnel")
    funnel_id = _int_id(call.params["funnel_id"], "Funnel could not be found")
    call.runtime.site_config.delete_funnel(site.id, funnel_id)
    return {"deleted": True}


# -- guests: access is by account in TinyTrail, so there are none ----------------------------------


@sites_api(write=False)
def list_guests(call: Call) -> dict[str, Any]:
    call.site("list guests")
    request = page_request(call)
    return {"guests": [], "meta": page_meta(Page([], None, None), request)}


@sites_api(write=True)
def put_guest(call: Call) -> dict[str, Any]:
    action = "create guest"
    call.required("site_id", action)
    call.required("email", action)
    if call.text("role") not in ("viewer", "editor"):
        raise PlausibleError(
            400,
            "Parameter `role` is required to create guest. Possible values: `viewer` or `editor`",
        )
    call.site(action)
    raise PlausibleError(
        400,
        "Guest access is not supported: TinyTrail grants access by account. "
        "Create a user in the site's account instead.",
    )


@sites_api(write=True)
def delete_guest(call: Call) -> dict[str, Any]:
    call.site("delete a guest")
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
