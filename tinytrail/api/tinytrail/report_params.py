"""The common query parameters of every TinyTrail report, checked and resolved.

Periods are computed in the website's timezone the way Plausible computes its presets:
`7d`, `30d` and `90d` are the whole days before today, `12m` the twelve whole months before the
current one, `ytd` January 1st to today, `all` the first recorded day to today.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from starlette.requests import Request

from tinytrail.api.tinytrail.envelope import principal_of, runtime_of
from tinytrail.api.tinytrail.websites import visible_site
from tinytrail.errors import InvalidInput
from tinytrail.query import periods
from tinytrail.query.model import Filter, Node, Query, SiteContext
from tinytrail.query.periods import DateRange

PERIODS = ("yesterday", "today", "7d", "30d", "90d", "12m", "ytd", "all")
COMPARES = ("previous_period", "yoy")
MAX_PER_PAGE = 500
MAX_RANGE_DAYS = 3660  # ten years: anything longer is a typo, and costly
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class ReportParams:
    site: SiteContext
    period: DateRange
    compare: str | None
    include_bots: bool
    filters: tuple[Node, ...]
    page: int
    per_page: int
    csv: bool

    def query(
        self,
        metrics: tuple[str, ...],
        *,
        dimensions: tuple[str, ...] = (),
        filters: tuple[Node, ...] = (),
        date_range: DateRange | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> Query:
        """An engine query over this report's site, period and common filters."""
        return Query(
            site=self.site,
            metrics=metrics,
            date_range=date_range or self.period,
            dimensions=dimensions,
            filters=self.filters + filters,
            include_bots=self.include_bots,
            precise=True,
            limit=limit,
            offset=offset,
        )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def comparison_range(self) -> DateRange | None:
        if self.compare == "previous_period":
            return periods.previous_period(self.period)
        if self.compare == "yoy":
            return periods.year_over_year(self.period)
        return None


def _one(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"{name} must be given once")
    return values[0] if values else None


def _date(value: str, name: str) -> date:
    try:
        parsed = date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(f"{name} must be a valid date in YYYY-MM-DD format")
    if parsed < EARLIEST or parsed.year > 2999:
        raise InvalidInput(f"{name} must be a date from 2000-01-01 to 2999-12-31")
    return parsed


def _integer(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = _one(request, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}")
    return value


def resolve_period(request: Request, site: SiteContext, now: datetime) -> DateRange:
    tz = site.timezone
    start_raw, end_raw = _one(request, "start_date"), _one(request, "end_date")
    today = now.astimezone(tz).date()
    if start_raw is not None or end_raw is not None:
        if start_raw is None:
            raise InvalidInput("start_date is required when end_date is given")
        first = _date(start_raw, "start_date")
        last = _date(end_raw, "end_date") if end_raw is not None else today
        if last < first:
            raise InvalidInput("end_date must not be before start_date")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise InvalidInput(f"the date range may span at most {MAX_RANGE_DAYS} days")
        return periods.from_dates(first, last, tz)
    period = _one(request, "period") or "7d"
    if period not in PERIODS:
        raise InvalidInput(f"period must be one of: {', '.join(PERIODS)}")
    if period == "today":
        return periods.named_range("day", now, tz)
    if period == "yesterday":
        return periods.from_dates(today - timedelta(days=1), today - timedelta(days=1), tz)
    if period == "ytd":
        return periods.from_dates(date(today.year, 1, 1), today, tz)
    if period == "12m":
        return periods.named_range("12mo", now, tz)
    return periods.named_range(period, now, tz, site.stats_start)


def website_id(request: Request) -> str:
    raw = _one(request, "website_id")
    if not raw:
        raise InvalidInput("website_id is required")
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidInput("website_id must be a UUID") from None


def parse_params(request: Request) -> ReportParams:
    runtime = runtime_of(request)
    site_uuid = website_id(request)
    # Parameters are checked before the site is looked up, so a bad request is a 400 even for
    # a website the caller cannot see; the lookup then answers 404.
    compare = _one(request, "compare")
    if compare is not None and compare not in COMPARES:
        raise InvalidInput(f"compare must be one of: {', '.join(COMPARES)}")
    bots = (_one(request, "include_bots") or "false").lower()
    if bots not in ("true", "false"):
        raise InvalidInput("include_bots must be 'true' or 'false'")
    page = _integer(request, "page", 1, 1, 1_000_000)
    per_page = _integer(request, "per_page", 50, 1, MAX_PER_PAGE)
    fmt = (_one(request, "format") or "json").lower()
    if fmt not in ("json", "csv"):
        raise InvalidInput("format must be 'json' or 'csv'")
    utc = SiteContext(0, "", ZoneInfo("Etc/UTC"))
    resolve_period(request, utc, runtime.clock())  # syntax first: a bad period is a 400
    site = visible_site(request, principal_of(request), site_uuid)
    context = runtime.site_context(site.id)
    period = resolve_period(request, context, runtime.clock())
    filters: tuple[Node, ...] = ()
    group = _one(request, "content_group")
    if group is not None:
        names = [g["name"] for g in site.content_groups]
        if group not in names:
            raise InvalidInput(f"unknown content_group {group!r} for this website")
        filters = (Filter("is", "event:content_group", (group,)),)
    return ReportParams(
        site=context,
        period=period,
        compare=compare,
        include_bots=bots == "true",
        filters=filters,
        page=page,
        per_page=per_page,
        csv=fmt == "csv",
    )
