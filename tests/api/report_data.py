"""A small, hand-checkable dataset for the TinyTrail report tests, seeded through collect.

Everything goes through `POST /api/v1/collect` on a real server whose frozen clock is moved to
each event's instant, so visits, bounces, durations, channels and devices are what the real
ingestion pipeline makes of them. The site `example.com` is in UTC and has the content group
`Blog` (`/blog/*`) and the excluded IP `198.51.100.99`.

"Today" is 2026-03-18 (the clock ends at 12:00 UTC), so the default period `7d` is
2026-03-11 .. 2026-03-17, `previous_period` is 2026-03-04 .. 2026-03-10 and `yoy` is
2025-03-11 .. 2025-03-17.

Visits (V) and their events, all times UTC; Chrome/Windows desktop unless noted:

| visit | ip           | when                 | events                                         |
|-------|--------------|----------------------|------------------------------------------------|
| Y1    | .41          | 2025-03-14 10:00     | pv /  (direct, 1920 px)                         |
| P1    | .21          | 2026-03-09 10:00     | pv /  (google, 1920 px)                         |
| P2    | .22          | 2026-03-10 12:00     | pv /pricing, 12:01:50 pv /signup (direct)       |
| V1    | .1           | 2026-03-15 10:00     | pv / (google, 1920 px), 10:02 pv /blog/post-1,  |
|       |              |                      | 10:03 + 10:04 video_play on /blog/post-1,       |
|       |              |                      | 10:05 pv /pricing                               |
| V2    | .2 (iPhone)  | 2026-03-15 11:00     | pv /blog/post-1 (t.co, 390 px), 11:00:30        |
|       |              |                      | scroll_50                                       |
| V1b   | .1           | 2026-03-15 14:00     | pv /contact (direct, 1920 px): same visitor as  |
|       |              |                      | V1 (same IP, UA and day), a new visit           |
| V3    | .3           | 2026-03-16 09:00     | pv /pricing (direct, 1280 px), 09:01 signup     |
|       |              |                      | {"plan": "pro"}, 09:02 pv /pricing (reload),    |
|       |              |                      | 09:04 pv /signup                                |
| V4    | .4           | 2026-03-16 14:00     | pv /?utm_source=newsletter&utm_medium=email&    |
|       |              |                      | utm_campaign=spring (800 px)                    |
| V5    | .5           | 2026-03-16 23:50     | pv /blog/post-2 (google, 360 px), then          |
|       |              |                      | 2026-03-17 00:10 pv /about: crosses midnight    |
| V6    | Googlebot    | 2026-03-17 08:00     | pv /, 08:00:05 pv /pricing: stored as a bot     |
| V7    | 198.51.100.99| 2026-03-17 09:00     | pv /pricing, 09:00:10 signup: excluded IP       |
| V8    | .8           | 2026-03-17 15:00     | pv /blog/post-1 (blog.example.org, no screen),  |
|       |              |                      | 15:00:40 close_tab                              |
| R1    | .31          | 2026-03-18 11:20     | pv /                                            |
| R2    | .32          | 2026-03-18 11:40     | pv /, 11:41 scroll_25                           |
| bot   | Googlebot .2 | 2026-03-18 11:45     | pv /                                            |
| excl. | 198.51.100.99| 2026-03-18 11:46     | pv /                                            |
| R3    | .33 (iPhone) | 2026-03-18 11:50     | pv /blog/post-1, 11:55 pv /                     |
| R4    | .34          | 2026-03-18 11:58     | pv /pricing, 11:59 signup                       |

Durations (first to last event, docs "Visits"): V1 300 s, V2 30 s (the scroll is an event,
though not an interactive one), V1b 0, V3 240 s, V4 0, V5 1200 s, V6 5 s, V8 40 s, P1 0,
P2 110 s, Y1 0. Bounces (a single interactive event): V1b, V2 (pageview + scroll), V4, V8
(pageview + close_tab), P1, Y1. Not bounces: V1, V3 (pageview + custom event + ...), V5, V6,
P2. A visit counts on every day it was active (V5 on 2026-03-16 and 2026-03-17, once in a
range holding both); a time series files it under the day it ended.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.support import CHROME_UA, IPHONE_UA, Clock, Server, start_server

DOMAIN = "example.com"
GOOGLEBOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
EXCLUDED_IP = "198.51.100.99"
BLOG = {"name": "Blog", "pattern": "/blog/*"}
GOOGLE = "https://www.google.com/search?q=tinytrail"
UTM_QUERY = "?utm_source=newsletter&utm_medium=email&utm_campaign=spring"

# The first instant of the dataset: the server's clock must start at or before it.
FIRST_INSTANT = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)


@dataclass
class Dataset:
    server: Server
    key: str  # the owning user's API key
    site: dict[str, Any]  # the website object (TinyTrail API shape)
    other_key: str  # a user of another account
    other_site: dict[str, Any]  # a website of that other account

    @property
    def site_id(self) -> str:
        return str(self.site["id"])

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-KEY": self.key}


def at(server: Server, moment: str) -> None:
    """Move the frozen clock to `YYYY-MM-DD HH:MM[:SS]` UTC (never backwards)."""
    target = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    assert target >= server.clock.now, f"the clock may not go back to {moment}"
    server.clock.now = target


def hit(
    server: Server,
    site_id: str,
    moment: str,
    path: str,
    event_type: str = "page_view",
    *,
    ip: str,
    ua: str = CHROME_UA,
    counted: bool = True,
    **fields: Any,
) -> None:
    """Collect one event at `moment`; counted traffic answers 202, flagged traffic 204."""
    at(server, moment)
    response = server.collect(site_id, path, event_type, ip=ip, ua=ua, **fields)
    expected = 202 if counted else 204
    assert response.status_code == expected, (moment, path, response.status_code, response.text)


def seed(server: Server) -> Dataset:
    """Create the tenants and collect the whole dataset; leaves the clock at NOW."""
    assert server.clock.now <= FIRST_INSTANT
    key, site = server.tenant(DOMAIN, content_groups=[BLOG], excluded_ips=[EXCLUDED_IP])
    other_key, other_site = server.tenant("other-account.example")
    sid = site["id"]

    def pv(moment: str, path: str, ip: str, **fields: Any) -> None:
        hit(server, sid, moment, path, ip=ip, **fields)

    def ev(moment: str, path: str, name: str, ip: str, **fields: Any) -> None:
        hit(server, sid, moment, path, name, ip=ip, **fields)

    # A year before: the yoy comparison period.
    pv("2025-03-14 10:00", "/", "203.0.113.41", screen_width=1920)
    # The previous period (2026-03-04 .. 2026-03-10).
    pv("2026-03-09 10:00", "/", "203.0.113.21", referrer=GOOGLE, screen_width=1920)
    pv("2026-03-10 12:00", "/pricing", "203.0.113.22", screen_width=1920)
    pv("2026-03-10 12:01:50", "/signup", "203.0.113.22", screen_width=1920)
    # 2026-03-15
    pv("2026-03-15 10:00", "/", "203.0.113.1", referrer=GOOGLE, screen_width=1920)
    pv("2026-03-15 10:02", "/blog/post-1", "203.0.113.1", screen_width=1920)
    ev("2026-03-15 10:03", "/blog/post-1", "video_play", "203.0.113.1", properties={"t": "a"})
    ev("2026-03-15 10:04", "/blog/post-1", "video_play", "203.0.113.1", properties={"t": "b"})
    pv("2026-03-15 10:05", "/pricing", "203.0.113.1", screen_width=1920)
    pv(
        "2026-03-15 11:00",
        "/blog/post-1",
        "203.0.113.2",
        ua=IPHONE_UA,
        referrer="https://t.co/abc123",
        screen_width=390,
    )
    ev("2026-03-15 11:00:30", "/blog/post-1", "scroll_50", "203.0.113.2", ua=IPHONE_UA)
    pv("2026-03-15 14:00", "/contact", "203.0.113.1", screen_width=1920)
    # 2026-03-16
    pv("2026-03-16 09:00", "/pricing", "203.0.113.3", screen_width=1280)
    ev("2026-03-16 09:01", "/pricing", "signup", "203.0.113.3", properties={"plan": "pro"})
    pv("2026-03-16 09:02", "/pricing", "203.0.113.3", screen_width=1280)
    pv("2026-03-16 09:04", "/signup", "203.0.113.3", screen_width=1280)
    pv("2026-03-16 14:00", "/" + UTM_QUERY, "203.0.113.4", screen_width=800)
    pv(
        "2026-03-16 23:50",
        "/blog/post-2",
        "203.0.113.5",
        referrer="https://www.google.com/",
        screen_width=360,
    )
    # 2026-03-17 (V5's visit goes on past midnight)
    pv("2026-03-17 00:10", "/about", "203.0.113.5")
    hit(server, sid, "2026-03-17 08:00", "/", ip="66.249.66.1", ua=GOOGLEBOT_UA, counted=False)
    hit(
        server,
        sid,
        "2026-03-17 08:00:05",
        "/pricing",
        ip="66.249.66.1",
        ua=GOOGLEBOT_UA,
        counted=False,
    )
    hit(server, sid, "2026-03-17 09:00", "/pricing", ip=EXCLUDED_IP, counted=False)
    hit(server, sid, "2026-03-17 09:00:10", "/pricing", "signup", ip=EXCLUDED_IP, counted=False)
    pv("2026-03-17 15:00", "/blog/post-1", "203.0.113.8", referrer="https://blog.example.org/x")
    ev("2026-03-17 15:00:40", "/blog/post-1", "close_tab", "203.0.113.8")
    # 2026-03-18, today: the realtime window is 11:30 .. 12:00.
    pv("2026-03-18 11:20", "/", "203.0.113.31")
    pv("2026-03-18 11:40", "/", "203.0.113.32")
    ev("2026-03-18 11:41", "/", "scroll_25", "203.0.113.32")
    hit(server, sid, "2026-03-18 11:45", "/", ip="66.249.66.2", ua=GOOGLEBOT_UA, counted=False)
    hit(server, sid, "2026-03-18 11:46", "/", ip=EXCLUDED_IP, counted=False)
    pv("2026-03-18 11:50", "/blog/post-1", "203.0.113.33", ua=IPHONE_UA)
    pv("2026-03-18 11:55", "/", "203.0.113.33", ua=IPHONE_UA)
    pv("2026-03-18 11:58", "/pricing", "203.0.113.34")
    ev("2026-03-18 11:59", "/pricing", "signup", "203.0.113.34")
    at(server, "2026-03-18 12:00")
    server.flush()
    return Dataset(server, key, site, other_key, other_site)


def seeded_server(tmp_path_factory: Any) -> Iterator[Dataset]:
    """Body of a module-scoped fixture: a fresh server holding the dataset."""
    for server in start_server(tmp_path_factory.mktemp("reports") / "data", Clock(FIRST_INSTANT)):
        yield seed(server)


# -- requests and assertions ----------------------------------------------------------------


def get_report(
    server: Server,
    endpoint: str,
    key: str | None,
    params: dict[str, Any] | list[tuple[str, str]],
) -> Any:
    """GET /api/v1/reports/<endpoint>; no answer may be a 500 or leak a traceback."""
    headers = {"X-API-KEY": key} if key is not None else {}
    response = server.client.get(f"/api/v1/reports/{endpoint}", params=params, headers=headers)
    assert response.status_code < 500, (endpoint, params, response.status_code, response.text)
    assert "Traceback" not in response.text
    return response


def report(data: Dataset, endpoint: str, **params: Any) -> Any:
    """A report of the dataset's site with the owner's key (`website_id` may be overridden)."""
    params = {k: v for k, v in params.items() if v is not None}
    params.setdefault("website_id", data.site_id)
    return get_report(data.server, endpoint, data.key, params)


def ok(response: Any) -> Any:
    """The `data` of a successful JSON answer."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"status", "data"}
    assert body["status"] == "success"
    return body["data"]


def csv_of(response: Any, name: str) -> list[list[str]]:
    """The rows (header first) of a CSV answer, after checking its headers."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0].strip() == "text/csv"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment")
    assert f'filename="{name}.csv"' in disposition
    return list(csv.reader(io.StringIO(response.text)))


def error_of(response: Any, status: int, code: str) -> str:
    """The message of an error answer, after checking status, code and envelope."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "error"
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert isinstance(message, str)
    assert message
    return message


def invalid(response: Any, *words: str) -> str:
    """A 400 INVALID_PAYLOAD whose message names what is wrong (every word in `words`)."""
    message = error_of(response, 400, "INVALID_PAYLOAD")
    for word in words:
        assert word.lower() in message.lower(), (word, message)
    return message


def days(first: str, values: dict[str, Any], count: int, empty: Any = 0) -> list[dict[str, Any]]:
    """A timeseries: `count` days from `first`, `values` by date, `empty` elsewhere."""
    start = date.fromisoformat(first)
    series = []
    for n in range(count):
        day = (start + timedelta(days=n)).isoformat()
        series.append({"date": day, "value": values.get(day, empty)})
    return series
