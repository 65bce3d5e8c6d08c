"""Site settings pages: goals, custom properties, funnels, shared links, excluded IPs, content
groups and general (timezone). Plain HTML forms, POST then redirect back (so reloading never
repeats a change), the same validation and stores as the Sites and TinyTrail APIs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from tinytrail.dashboard.access import (
    Viewer,
    bad_form_token,
    csrf_ok,
    runtime_of,
)
from tinytrail.dashboard.pages import not_found, public_base, site_page, snippet, timezones
from tinytrail.dashboard.rendering import page
from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta import validate
from tinytrail.meta.goals import MAX_PROP_KEY, goal_spec, goal_type
from tinytrail.meta.models import Site
from tinytrail.meta.paging import PageRequest
from tinytrail.runtime import Runtime

SECTIONS = {
    "general": "General",
    "goals": "Goals",
    "properties": "Custom properties",
    "funnels": "Funnels",
    "shared-links": "Shared links",
    "excluded-ips": "Excluded IPs",
    "content-groups": "Content groups",
}
MAX_FORM = 64 * 1024
ALL = PageRequest(limit=100)


def _section_data(request: Request, runtime: Runtime, site: Site, section: str) -> dict[str, Any]:
    config = runtime.site_config
    if section == "goals":
        goals = config.list_goals(site.id)
        return {"goals": [(g, goal_type(g)) for g in goals]}
    if section == "properties":
        return {"props": config.list_custom_props(site.id)}
    if section == "funnels":
        goals = config.list_goals(site.id)
        names = {g.id: g.display_name for g in goals}
        funnels = config.funnels_page(site.id, ALL).items
        shown = [(f, [names.get(step, "?") for step in f.steps]) for f in funnels]
        return {"funnels": shown, "goals": goals}
    if section == "shared-links":
        base = public_base(request, runtime)
        links = config.shared_links_page(site.id, ALL).items
        return {"links": [(x, _share_url(base, site, x.slug)) for x in links]}
    if section == "excluded-ips":
        return {"ips": "\n".join(site.excluded_ips)}
    if section == "content-groups":
        groups = "\n".join(f"{g['name']} = {g['pattern']}" for g in site.content_groups)
        return {"groups": groups}
    return {"snippet": snippet(request, runtime, site)}


def _share_url(base: str, site: Site, slug: str) -> str:
    return f"{base}/share/{site.domain}?auth={slug}"


@site_page
async def settings_page(request: Request, viewer: Viewer, site: Site) -> Response:
    section = request.path_params.get("section", "general")
    if section not in SECTIONS:
        return not_found(request, viewer)
    return await _render(request, viewer, site, section, None, 200)


async def _render(
    request: Request, viewer: Viewer, site: Site, section: str, error: str | None, status: int
) -> Response:
    runtime = runtime_of(request)
    data = await asyncio.to_thread(_section_data, request, runtime, site, section)
    return page(
        request,
        "settings.html",
        status,
        viewer=viewer,
        site=site,
        section=section,
        sections=SECTIONS,
        error=error,
        timezones=timezones(),
        **data,
    )


@site_page
async def settings_change(request: Request, viewer: Viewer, site: Site) -> Response:
    section = request.path_params["section"]
    form = await request.form(max_files=0, max_fields=50, max_part_size=MAX_FORM)
    if not csrf_ok(request, viewer, str(form.get("csrf") or "")):
        return bad_form_token()
    action = ACTIONS.get((section, str(form.get("action") or "")))
    if action is None:
        return not_found(request, viewer)
    if not viewer.can_edit:
        return await _render(request, viewer, site, section, "This API key is read-only.", 403)
    runtime = runtime_of(request)
    try:
        await asyncio.to_thread(action, runtime, site, form)
    except (InvalidInput, NotFound) as exc:
        return await _render(request, viewer, site, section, exc.message, 400)
    if section == "general" and form.get("action") == "delete":
        return RedirectResponse("/sites", status_code=303)
    return RedirectResponse(f"/sites/{site.domain}/settings/{section}", status_code=303)


# -- the changes: each takes (runtime, site, form) and raises InvalidInput with a message -------


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _int(form: FormData, name: str) -> int:
    text = _text(form, name)
    if not text.isdigit() or len(text) > 18:
        raise InvalidInput(f"{name} must be a number")
    return int(text)


def add_goal(runtime: Runtime, site: Site, form: FormData) -> None:
    kind = _text(form, "goal_type")
    if kind not in ("event", "page"):
        raise InvalidInput("Choose a custom event or a pageview goal")
    spec = goal_spec(
        kind,
        event_name=_text(form, "event_name") if kind == "event" else None,
        page_path=_text(form, "page_path") if kind == "page" else None,
        display_name=_text(form, "display_name") or None,
        currency=(_text(form, "currency").upper() or None) if kind == "event" else None,
    )
    runtime.site_config.upsert_goal(site.id, spec)


def delete_goal(runtime: Runtime, site: Site, form: FormData) -> None:
    runtime.site_config.delete_goal(site.id, _int(form, "goal_id"))


def add_prop(runtime: Runtime, site: Site, form: FormData) -> None:
    prop = _text(form, "property")
    if not prop or len(prop) > MAX_PROP_KEY:
        raise InvalidInput(f"A property name is 1 to {MAX_PROP_KEY} characters")
    runtime.site_config.add_custom_prop(site.id, prop)


def delete_prop(runtime: Runtime, site: Site, form: FormData) -> None:
    runtime.site_config.remove_custom_prop(site.id, _text(form, "property"))


def add_funnel(runtime: Runtime, site: Site, form: FormData) -> None:
    name = _text(form, "name")
    if not name:
        raise InvalidInput("Give the funnel a name")
    steps = [s for s in (str(v).strip() for v in form.getlist("step")) if s]
    if not 2 <= len(steps) <= 8:
        raise InvalidInput("A funnel has 2 to 8 steps")
    runtime.site_config.put_funnel(site.id, name, [int(s) if s.isdigit() else s for s in steps])


def delete_funnel(runtime: Runtime, site: Site, form: FormData) -> None:
    runtime.site_config.delete_funnel(site.id, _int(form, "funnel_id"))


def add_link(runtime: Runtime, site: Site, form: FormData) -> None:
    name = _text(form, "name")
    if not name or len(name) > 255:
        raise InvalidInput("A shared link needs a name of at most 255 characters")
    runtime.site_config.shared_link(site.id, name)


def delete_link(runtime: Runtime, site: Site, form: FormData) -> None:
    runtime.site_config.delete_shared_link(site.id, _text(form, "name"))


def save_ips(runtime: Runtime, site: Site, form: FormData) -> None:
    lines = [line.strip() for line in _text(form, "ips").splitlines() if line.strip()]
    runtime.repo.update_site(site.id, excluded_ips=validate.validate_excluded_ips(lines))


def save_groups(runtime: Runtime, site: Site, form: FormData) -> None:
    groups = []
    for number, line in enumerate(_text(form, "groups").splitlines(), 1):
        if not line.strip():
            continue
        name, sep, pattern = line.partition("=")
        if not sep:
            raise InvalidInput(f"Line {number}: write `name = /path/pattern`")
        groups.append({"name": name.strip(), "pattern": pattern.strip()})
    runtime.repo.update_site(site.id, content_groups=validate.validate_content_groups(groups))


def save_timezone(runtime: Runtime, site: Site, form: FormData) -> None:
    timezone = validate.validate_timezone(_text(form, "timezone"))
    runtime.repo.update_site(site.id, timezone=timezone)


def delete_site(runtime: Runtime, site: Site, form: FormData) -> None:
    if _text(form, "confirm") != site.domain:
        raise InvalidInput("Type the site's domain to confirm deleting it and all its stats")
    runtime.repo.delete_site(site.id)


ACTIONS: dict[tuple[str, str], Callable[[Runtime, Site, FormData], None]] = {
    ("goals", "add"): add_goal,
    ("goals", "delete"): delete_goal,
    ("properties", "add"): add_prop,
    ("properties", "delete"): delete_prop,
    ("funnels", "add"): add_funnel,
    ("funnels", "delete"): delete_funnel,
    ("shared-links", "add"): add_link,
    ("shared-links", "delete"): delete_link,
    ("excluded-ips", "save"): save_ips,
    ("content-groups", "save"): save_groups,
    ("general", "timezone"): save_timezone,
    ("general", "delete"): delete_site,
}
