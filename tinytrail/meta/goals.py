"""Goal specs: a goal as a client asks for it, validated, and the type a stored goal has.

Validation messages are worded for the Plausible Sites API, the main writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pycountry

from tinytrail.errors import InvalidInput
from tinytrail.meta.models import Goal

MAX_EVENT_NAME, MAX_PAGE_PATH, MAX_DISPLAY_NAME = 120, 2000, 255
MAX_GOAL_PROPS, MAX_PROP_KEY, MAX_PROP_VALUE = 10, 300, 2000


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
