"""Per-site configuration: goals, funnels, shared links, custom props, aliases, tracker options.

Small repository functions in MetaRepo's style: each opens its own short transaction and returns
detached rows. Sites themselves stay MetaRepo's; this module only reads them (lookups by alias,
paged listings). Validation messages are worded for the Plausible Sites API, the main writer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import pycountry
from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta.models import (
    Account,
    CustomProp,
    Funnel,
    Goal,
    SharedLink,
    Site,
    SiteAlias,
    SiteTrackerConfig,
)
from tinytrail.query import model as query_model

MAX_GOALS = 1000
MAX_CUSTOM_PROPS = 300
MAX_EVENT_NAME, MAX_PAGE_PATH, MAX_DISPLAY_NAME = 120, 2000, 255
MAX_GOAL_PROPS, MAX_PROP_KEY, MAX_PROP_VALUE = 10, 300, 2000
MIN_FUNNEL_STEPS, MAX_FUNNEL_STEPS = 2, 8
DEFAULT_PAGE, MAX_PAGE = 100, 1000

TRACKER_FLAGS = (
    "track_404_pages",
    "hash_based_routing",
    "outbound_links",
    "file_downloads",
    "revenue_tracking",
    "tagged_events",
    "form_submissions",
    "pageview_props",
)
INSTALLATION_TYPES = ("manual", "wordpress", "gtm", "npm")
TRACKER_DEFAULTS: dict[str, Any] = {
    "installation_type": None,
    **dict.fromkeys(TRACKER_FLAGS, False),
}

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


# -- paging -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageRequest:
    """Keyset paging, newest first: `after` continues past a key, `before` goes back from one."""

    limit: int = DEFAULT_PAGE
    after: str | None = None
    before: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    after: str | None  # key to pass as `after` for the next page; None = no next page
    before: str | None  # key to pass as `before` for the previous page; None = first page


def _page(
    s: Session,
    query: Select[T],
    key: InstrumentedAttribute[Any],
    request: PageRequest,
    text_key: bool = False,
) -> Page[T]:
    limit = request.limit
    if request.before is not None and request.after is None:
        newer = query.where(key > _parse_cursor(request.before, text_key)).order_by(key.asc())
        rows = list(s.scalars(newer.limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit][::-1]
        return Page(rows, _key_of(rows[-1], key) if rows else None, _first_if(rows, key, more))
    if request.after is not None:
        query = query.where(key < _parse_cursor(request.after, text_key))
    rows = list(s.scalars(query.order_by(key.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    after = _key_of(rows[-1], key) if more else None
    # Any page reached through `after` has a page before it.
    return Page(rows, after, _first_if(rows, key, request.after is not None))


def _parse_cursor(text: str, text_key: bool) -> str | int:
    if text_key:
        return text
    # Integer keys: anything else, or too big for a 64-bit column, is no cursor we gave out.
    if not text.isascii() or not text.isdigit() or int(text) >= 2**63:
        raise InvalidInput("Invalid pagination cursor")
    return int(text)


def _key_of(row: Any, key: InstrumentedAttribute[Any]) -> str:
    return str(getattr(row, key.key))


def _first_if(rows: list[Any], key: InstrumentedAttribute[Any], wanted: bool) -> str | None:
    return _key_of(rows[0], key) if wanted and rows else None


# -- goals --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalSpec:
    """A goal as asked for, once `goal_spec` validated it: `event_name` xor `page_path`."""

    event_name: str | None = None
    page_path: str | None = None
    scroll_threshold: int = -1
    currency: str | None = None
    custom_props: dict[str, str] = field(default_factory=dict)
    display_name: str | None = None

    def name(self) -> str:
        """Plausible's default display name: the event name, else `Visit <page_path>`."""
        if self.display_name:
            return self.display_name
        if self.event_name is not None:
            return self.event_name
        if self.scroll_threshold >= 0:
            return f"Scroll {self.scroll_threshold}% on {self.page_path}"
        return f"Visit {self.page_path}"


def goal_spec(
    kind: str,
    *,
    event_name: Any = None,
    page_path: Any = None,
    display_name: Any = None,
    custom_props: Any = None,
    currency: Any = None,
) -> GoalSpec:
    """Validate a goal as sent by a client (`kind` is `event` or `page`)."""
    if kind == "event":
        event_name = _bounded("event_name", event_name, MAX_EVENT_NAME, "cannot be blank")
        page_path = None
        currency = _currency(currency)
    else:
        page_path = _bounded("page_path", page_path, MAX_PAGE_PATH, "must start with a /")
        # Plausible stores page goals with a leading slash, adding it when a client omits it.
        page_path = page_path if page_path.startswith("/") else "/" + page_path
        event_name = None
        if currency not in (None, ""):
            raise InvalidInput("currency: is only allowed on event goals")
        currency = None
    return GoalSpec(
        event_name=event_name,
        page_path=page_path,
        currency=currency,
        custom_props=_goal_props(custom_props),
        display_name=_display_name(display_name),
    )


def _display_name(value: Any) -> str | None:
    """An explicit display name, or None for Plausible's default (blank counts as absent)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _bounded("display_name", value, MAX_DISPLAY_NAME, "cannot be blank")


def _bounded(name: str, value: Any, limit: int, blank: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: must be a string")
    text = value.strip()
    if not text:
        raise InvalidInput(f"{name}: this field is required and {blank}")
    if len(text) > limit:
        raise InvalidInput(f"{name}: should be at most {limit} character(s)")
    return text


def _currency(value: Any) -> str | None:
    """An active ISO 4217 code, upper-cased; None when the goal is no revenue goal."""
    if value is None or value == "":
        return None
    code = value.strip().upper() if isinstance(value, str) else ""
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidInput(f"currency: {value!r} is not an ISO 4217 currency code")
    return code


def _goal_props(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidInput("custom_props: must be an object of string keys and string values")
    if len(value) > MAX_GOAL_PROPS:
        raise InvalidInput(f"custom_props: use at most {MAX_GOAL_PROPS} properties")
    for key, item in value.items():
        if not key.strip() or len(key) > MAX_PROP_KEY or len(item) > MAX_PROP_VALUE:
            raise InvalidInput(
                f"custom_props: keys are 1 to {MAX_PROP_KEY} characters, "
                f"values at most {MAX_PROP_VALUE}"
            )
    return dict(value)


def goal_type(goal: Goal) -> str:
    if goal.event_name is not None:
        return "event"
    return "scroll" if goal.scroll_threshold >= 0 else "page"


def _same_goal(s: Session, site_id: int, spec: GoalSpec) -> Goal | None:
    """The goal that already counts what `spec` counts (same event or page, props, depth)."""
    event, page = Goal.event_name, Goal.page_path
    query = select(Goal).where(
        Goal.site_id == site_id,
        Goal.scroll_threshold == spec.scroll_threshold,
        event.is_(None) if spec.event_name is None else event == spec.event_name,
        page.is_(None) if spec.page_path is None else page == spec.page_path,
    )
    # JSON equality is not portable SQL; compare the few candidates here.
    for goal in s.scalars(query):
        if (goal.custom_props or {}) == spec.custom_props:
            return goal
    return None


def _check_currency(goal: Goal, spec: GoalSpec) -> None:
    if spec.currency is not None and goal.currency != spec.currency:
        raise InvalidInput(
            f"event_name: '{goal.event_name}' (with currency: {goal.currency}) "
            "has already been taken"
        )


def _insert_goal(s: Session, site_id: int, spec: GoalSpec) -> Goal:
    field_name = "event_name" if spec.event_name is not None else "page_path"
    count = s.scalar(select(func.count()).select_from(Goal).where(Goal.site_id == site_id))
    if (count or 0) >= MAX_GOALS:
        raise InvalidInput(f"{field_name}: Maximum number of goals reached")
    name = spec.name()
    taken = s.scalar(select(Goal.id).where(Goal.site_id == site_id, Goal.display_name == name))
    if taken is not None:
        raise InvalidInput("display_name: has already been taken")
    goal = Goal(
        site_id=site_id,
        display_name=name,
        event_name=spec.event_name,
        page_path=spec.page_path,
        scroll_threshold=spec.scroll_threshold,
        currency=spec.currency,
        custom_props=dict(spec.custom_props),
        created_at=_now(),
    )
    s.add(goal)
    s.flush()
    return goal


def _drop_goal_from_funnels(s: Session, site_id: int, goal_id: int) -> None:
    """A funnel loses the deleted goal's step, or goes entirely when fewer than 2 steps remain."""
    for funnel in s.scalars(select(Funnel).where(Funnel.site_id == site_id)):
        if goal_id not in funnel.steps:
            continue
        steps = [step for step in funnel.steps if step != goal_id]
        if len(steps) < MIN_FUNNEL_STEPS:
            s.delete(funnel)
        else:
            funnel.steps = steps


# -- funnels ------------------------------------------------------------------------------------


def _resolve_steps(goals: Sequence[Goal], steps: Sequence[int | str]) -> list[int]:
    """Goal ids for steps given as ids or display names; each goal at most once."""
    if not MIN_FUNNEL_STEPS <= len(steps) <= MAX_FUNNEL_STEPS:
        raise InvalidInput(
            f"steps: a funnel has {MIN_FUNNEL_STEPS} to {MAX_FUNNEL_STEPS} steps, got {len(steps)}"
        )
    known = {goal.id for goal in goals}
    by_name = {goal.display_name: goal.id for goal in goals}
    ids: list[int] = []
    for step in steps:
        found = _resolve_step(step, known, by_name)
        if found is None:
            raise InvalidInput(f"steps: goal {step!r} could not be found")
        if found in ids:
            raise InvalidInput(f"steps: goal {step!r} appears more than once")
        ids.append(found)
    return ids


def _resolve_step(step: int | str, known: set[int], by_name: dict[str, int]) -> int | None:
    # A display name wins over an id spelled as text (form bodies carry only text).
    if isinstance(step, str) and step in by_name:
        return by_name[step]
    if isinstance(step, str):
        step = int(step) if step.isascii() and step.isdigit() and len(step) < 19 else -1
    return step if step in known else None


# -- the repository -----------------------------------------------------------------------------


class SiteConfigRepo:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        # Called after a domain change recorded an alias, so caches that resolve domains
        # (ingestion's sites cache) can learn the old domain.
        self.on_aliases_changed: list[Callable[[], None]] = []

    # -- sites and teams (read only; MetaRepo writes them) -----------------------------------

    def find_site(self, domain: str) -> Site | None:
        """The site whose current domain, or failing that a previous one, is `domain`."""
        with self._sessions() as s:
            site = s.scalar(select(Site).where(Site.domain == domain))
            if site is not None:
                return site
            return s.scalar(
                select(Site)
                .join(SiteAlias, SiteAlias.site_id == Site.id)
                .where(SiteAlias.domain == domain)
            )

    def sites_page(self, account_id: str | None, request: PageRequest) -> Page[Site]:
        """`account_id` None = every site (admins)."""
        query = select(Site)
        if account_id is not None:
            query = query.where(Site.account_id == account_id)
        with self._sessions() as s:
            return _page(s, query, Site.id, request)

    def accounts_page(self, account_id: str | None, request: PageRequest) -> Page[Account]:
        query = select(Account)
        if account_id is not None:
            query = query.where(Account.id == account_id)
        with self._sessions() as s:
            return _page(s, query, Account.id, request, text_key=True)

    # -- goals --------------------------------------------------------------------------------

    def list_goals(self, site_id: int) -> list[Goal]:
        with self._sessions() as s:
            return list(s.scalars(select(Goal).where(Goal.site_id == site_id).order_by(Goal.id)))

    def goals_page(self, site_id: int, request: PageRequest) -> Page[Goal]:
        with self._sessions() as s:
            return _page(s, select(Goal).where(Goal.site_id == site_id), Goal.id, request)

    def upsert_goal(self, site_id: int, spec: GoalSpec) -> Goal:
        """Find or create: the goal counting the same thing is returned unchanged."""
        try:
            with self._sessions.begin() as s:
                existing = _same_goal(s, site_id, spec)
                if existing is not None:
                    _check_currency(existing, spec)
                    return existing
                return _insert_goal(s, site_id, spec)
        except IntegrityError:
            # A concurrent request created this goal, or took its display name, first.
            with self._sessions() as s:
                existing = _same_goal(s, site_id, spec)
            if existing is None:
                raise InvalidInput("display_name: has already been taken") from None
            _check_currency(existing, spec)
            return existing

    def delete_goal(self, site_id: int, goal_id: int) -> None:
        with self._sessions.begin() as s:
            goal = s.get(Goal, goal_id)
            if goal is None or goal.site_id != site_id:
                raise NotFound("Goal could not be found")
            _drop_goal_from_funnels(s, site_id, goal_id)
            s.delete(goal)

    def goals_for_query(self, site_id: int) -> tuple[query_model.Goal, ...]:
        """The site's goals as the query engine's frozen values, oldest first."""
        return tuple(
            query_model.Goal(
                id=goal.id,
                display_name=goal.display_name,
                event_name=goal.event_name or "",
                page_path=goal.page_path or "",
                currency=goal.currency or "",
                custom_props=tuple(sorted((goal.custom_props or {}).items())),
                scroll_threshold=goal.scroll_threshold,
            )
            for goal in self.list_goals(site_id)
        )

    # -- funnels ------------------------------------------------------------------------------

    def funnels_page(self, site_id: int, request: PageRequest) -> Page[Funnel]:
        with self._sessions() as s:
            return _page(s, select(Funnel).where(Funnel.site_id == site_id), Funnel.id, request)

    def put_funnel(self, site_id: int, name: str, steps: Sequence[int | str]) -> Funnel:
        """Create the funnel, or give the funnel of that name these steps."""
        try:
            return self._put_funnel(site_id, name, steps)
        except IntegrityError:
            # Created concurrently under the same name: now it exists, so update it.
            return self._put_funnel(site_id, name, steps)

    def _put_funnel(self, site_id: int, name: str, steps: Sequence[int | str]) -> Funnel:
        with self._sessions.begin() as s:
            goals = list(s.scalars(select(Goal).where(Goal.site_id == site_id)))
            ids = _resolve_steps(goals, steps)
            funnel = s.scalar(select(Funnel).where(Funnel.site_id == site_id, Funnel.name == name))
            if funnel is None:
                funnel = Funnel(site_id=site_id, name=name, steps=ids, created_at=_now())
                s.add(funnel)
            else:
                funnel.steps = ids
            s.flush()
            return funnel

    def delete_funnel(self, site_id: int, funnel_id: int) -> None:
        with self._sessions.begin() as s:
            funnel = s.get(Funnel, funnel_id)
            if funnel is None or funnel.site_id != site_id:
                raise NotFound("Funnel could not be found")
            s.delete(funnel)

    # -- shared links -------------------------------------------------------------------------

    def shared_link(self, site_id: int, name: str) -> SharedLink:
        """Find or create the site's link of that name; a new one gets a fresh random slug."""
        found = self._shared_link_named(site_id, name)
        if found is not None:
            return found
        try:
            with self._sessions.begin() as s:
                link = SharedLink(
                    site_id=site_id,
                    name=name,
                    slug=secrets.token_urlsafe(18),
                    created_at=_now(),
                )
                s.add(link)
            return link
        except IntegrityError:
            found = self._shared_link_named(site_id, name)
            if found is None:
                raise
            return found

    def _shared_link_named(self, site_id: int, name: str) -> SharedLink | None:
        with self._sessions() as s:
            return s.scalar(
                select(SharedLink).where(SharedLink.site_id == site_id, SharedLink.name == name)
            )

    def shared_links_page(self, site_id: int, request: PageRequest) -> Page[SharedLink]:
        query = select(SharedLink).where(SharedLink.site_id == site_id)
        with self._sessions() as s:
            return _page(s, query, SharedLink.id, request)

    def delete_shared_link(self, site_id: int, name: str) -> None:
        with self._sessions.begin() as s:
            result = s.execute(
                delete(SharedLink).where(SharedLink.site_id == site_id, SharedLink.name == name)
            )
            if not getattr(result, "rowcount", 0):
                raise NotFound("Shared link could not be found")

    def shared_link_by_slug(self, slug: str) -> SharedLink | None:
        with self._sessions() as s:
            return s.scalar(select(SharedLink).where(SharedLink.slug == slug))

    # -- custom props -------------------------------------------------------------------------

    def list_custom_props(self, site_id: int) -> list[str]:
        with self._sessions() as s:
            query = select(CustomProp.property).where(CustomProp.site_id == site_id)
            return list(s.scalars(query.order_by(CustomProp.id)))

    def add_custom_prop(self, site_id: int, prop: str) -> None:
        props = self.list_custom_props(site_id)
        if prop in props:
            return
        if len(props) >= MAX_CUSTOM_PROPS:
            raise InvalidInput("Can't add any more custom properties")
        try:
            with self._sessions.begin() as s:
                s.add(CustomProp(site_id=site_id, property=prop))
        except IntegrityError:
            pass  # added concurrently: the property is allowed either way

    def remove_custom_prop(self, site_id: int, prop: str) -> None:
        with self._sessions.begin() as s:
            s.execute(
                delete(CustomProp).where(CustomProp.site_id == site_id, CustomProp.property == prop)
            )

    # -- aliases ------------------------------------------------------------------------------

    def record_domain_change(self, site_id: int, old: str, new: str) -> None:
        """Keep `old` naming this site; `new` is current now, so it is no alias any more."""
        with self._sessions.begin() as s:
            s.execute(delete(SiteAlias).where(SiteAlias.domain == new))
            alias = s.get(SiteAlias, old)
            if alias is None:
                s.add(SiteAlias(domain=old, site_id=site_id, created_at=_now()))
            else:
                alias.site_id = site_id
        for hook in self.on_aliases_changed:
            hook()

    def aliases_of(self, site_id: int) -> list[str]:
        with self._sessions() as s:
            query = select(SiteAlias.domain).where(SiteAlias.site_id == site_id)
            return list(s.scalars(query.order_by(SiteAlias.created_at, SiteAlias.domain)))

    def alias_owner(self, domain: str) -> int | None:
        with self._sessions() as s:
            return s.scalar(select(SiteAlias.site_id).where(SiteAlias.domain == domain))

    def all_aliases(self) -> dict[str, int]:
        """Every previous domain and its site's integer id, for in-memory domain lookups."""
        with self._sessions() as s:
            return {
                domain: site_id
                for domain, site_id in s.execute(select(SiteAlias.domain, SiteAlias.site_id))
            }

    # -- tracker script options ---------------------------------------------------------------

    def tracker_config(self, site_id: int) -> dict[str, Any]:
        with self._sessions() as s:
            row = s.get(SiteTrackerConfig, site_id)
            stored = dict(row.config) if row is not None else {}
        return {name: stored.get(name, default) for name, default in TRACKER_DEFAULTS.items()}

    def update_tracker_config(self, site_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge validated `changes` into the stored options; returns the full configuration."""
        with self._sessions.begin() as s:
            row = s.get(SiteTrackerConfig, site_id)
            if row is None:
                s.add(SiteTrackerConfig(site_id=site_id, config=dict(changes)))
            else:
                row.config = {**row.config, **changes}
        return self.tracker_config(site_id)
