"""Plausible Sites API: a site's settings (shared links, goals, custom props, funnels, guests).

Funnels and listing/revoking shared links are TinyTrail extensions; guests are answered as
`sites` describes. Routes are registered by `sites.sites_routes`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tinytrail.api.plausible.common import PlausibleError
from tinytrail.api.plausible.sites_call import Call, page_meta, page_request, sites_api
from tinytrail.errors import NotFound
from tinytrail.meta.goals import MAX_PROP_KEY, goal_spec, goal_type
from tinytrail.meta.models import Funnel, Goal, Site
from tinytrail.meta.paging import Page

MAX_NAME = 255


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
