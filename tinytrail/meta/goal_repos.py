"""The goal and funnel parts of `SiteConfigRepo` (see `config_repos` for the others)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tinytrail.errors import InvalidInput, NotFound
from tinytrail.meta.config_repos import ConfigRepo, now
from tinytrail.meta.goals import GoalSpec
from tinytrail.meta.models import Funnel, Goal
from tinytrail.meta.paging import Page, PageRequest, keyset_page
from tinytrail.query import model as query_model

MAX_GOALS = 1000
MIN_FUNNEL_STEPS, MAX_FUNNEL_STEPS = 2, 8


# -- goals --------------------------------------------------------------------------------------


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
        # Under READ COMMITTED a concurrent request may have created this very goal since the
        # caller's first look (each statement sees the latest commits): answer with it.
        raced = _same_goal(s, site_id, spec)
        if raced is None:
            raise InvalidInput("display_name: has already been taken")
        _check_currency(raced, spec)
        return raced
    goal = Goal(
        site_id=site_id,
        display_name=name,
        event_name=spec.event_name,
        page_path=spec.page_path,
        scroll_threshold=spec.scroll_threshold,
        currency=spec.currency,
        custom_props=dict(spec.custom_props),
        created_at=now(),
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


# -- the repositories ---------------------------------------------------------------------------


class GoalsRepo(ConfigRepo):
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions)
        # Called with the site's id after one of its goals is created or deleted, so caches
        # of a site's goals (the runtime's query contexts) drop them.
        self.on_goals_changed: list[Callable[[int], None]] = []

    def list_goals(self, site_id: int) -> list[Goal]:
        with self._sessions() as s:
            return list(s.scalars(select(Goal).where(Goal.site_id == site_id).order_by(Goal.id)))

    def goals_page(self, site_id: int, request: PageRequest) -> Page[Goal]:
        with self._sessions() as s:
            return keyset_page(s, select(Goal).where(Goal.site_id == site_id), Goal.id, request)

    def upsert_goal(self, site_id: int, spec: GoalSpec) -> Goal:
        """Find or create: the goal counting the same thing is returned unchanged."""
        try:
            with self._sessions.begin() as s:
                existing = _same_goal(s, site_id, spec)
                if existing is not None:
                    _check_currency(existing, spec)
                    return existing
                goal = _insert_goal(s, site_id, spec)
            self._goals_changed(site_id)
            return goal
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
        self._goals_changed(site_id)

    def _goals_changed(self, site_id: int) -> None:
        for hook in self.on_goals_changed:
            hook(site_id)

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


class FunnelsRepo(ConfigRepo):
    def funnels_page(self, site_id: int, request: PageRequest) -> Page[Funnel]:
        with self._sessions() as s:
            return keyset_page(
                s, select(Funnel).where(Funnel.site_id == site_id), Funnel.id, request
            )

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
                funnel = Funnel(site_id=site_id, name=name, steps=ids, created_at=now())
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
