"""The web dashboard in a real headless Chromium against a real `tinytrail serve` process.

The site is seeded through the import endpoint with five known visits in March 2025 (numbers
below are derived by hand), so every figure the page shows can be checked exactly. Screenshots
of the main views go to `test-artifacts/dashboard/` (git-ignored) for people to look at.

Visits (site timezone UTC):
  2025-03-10  v1 google.com, US, Chrome/Windows   /, /pricing          2 pageviews
              v2 google.com, DE, Firefox/Linux    /                    bounce
              v3 direct,     DE, Safari/iOS       /pricing + Signup    custom event, not a bounce
  2025-03-20  v4 news.ycombinator.com, FR, Chrome /blog                bounce
              v5 direct,     US, Chrome/Windows   /, /blog             2 pageviews
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ADMIN_KEY, CHROME_UA
from tests.system.serverproc import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"
DOMAIN = "shop.example"
BEARER = {"Authorization": f"Bearer {ADMIN_KEY}"}
GOOGLE, HN = "https://www.google.com/", "https://news.ycombinator.com/item?id=1"
DESKTOP = {"browser": "Chrome", "os": "Windows", "screen_size": "Desktop"}
VISITS: list[tuple[str, int, str, str, dict[str, str], list[str]]] = [
    ("2025-03-10T09:00:00Z", 1, GOOGLE, "US", DESKTOP, ["/", "/pricing"]),
    (
        "2025-03-10T10:00:00Z",
        2,
        GOOGLE,
        "DE",
        {"browser": "Firefox", "os": "Linux", "screen_size": "Desktop"},
        ["/"],
    ),
    (
        "2025-03-10T11:00:00Z",
        3,
        "",
        "DE",
        {"browser": "Safari", "os": "iOS", "screen_size": "Mobile"},
        ["/pricing", "Signup"],
    ),
    ("2025-03-20T09:00:00Z", 4, HN, "FR", DESKTOP, ["/blog"]),
    ("2025-03-20T10:00:00Z", 5, "", "US", DESKTOP, ["/", "/blog"]),
]


def _ndjson() -> str:
    lines = []
    for start, user, referrer, country, device, steps in VISITS:
        for i, step in enumerate(steps):
            at = start.replace(":00:00Z", f":0{i}:00Z")
            event: dict[str, Any] = {
                "name": "pageview",
                "timestamp": at,
                "user_id": user,
                "hostname": DOMAIN,
                "referrer": referrer,
                "country_code": country,
                **device,
            }
            if step.startswith("/"):
                event["pathname"] = step
            else:
                event.update(name=step, pathname=steps[i - 1], props={"plan": "pro"})
            lines.append(json.dumps(event))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    proc = ServerProcess(
        tmp_path_factory.mktemp("dashboard") / "data", TINYTRAIL_FLUSH_INTERVAL_MS="100"
    )
    proc.start()
    try:
        _seed(proc.url)
        yield proc
    finally:
        proc.stop()


def _seed(base: str) -> None:
    admin = {"X-API-KEY": ADMIN_KEY}
    created = httpx.post(f"{base}/api/v1/websites", json={"domain": DOMAIN}, headers=admin)
    assert created.status_code == 201, created.text
    loaded = httpx.post(
        f"{base}/api/v1/admin/import?site_id={DOMAIN}",
        content=_ndjson(),
        headers={**admin, "Content-Type": "application/x-ndjson"},
    )
    assert loaded.json()["data"] == {"loaded": 8, "skipped": 0, "errors": []}, loaded.text
    goal = {"site_id": DOMAIN, "goal_type": "event", "event_name": "Signup"}
    assert httpx.put(f"{base}/api/v1/sites/goals", json=goal, headers=BEARER).status_code == 200
    prop = {"site_id": DOMAIN, "property": "plan"}
    assert httpx.put(f"{base}/api/v1/sites/custom-props", json=prop, headers=BEARER).is_success


@pytest.fixture(scope="module")
def browser(server: ServerProcess) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser: Any, **options: Any) -> Any:
    context = browser.new_context(
        user_agent=CHROME_UA,
        viewport=options.pop("viewport", {"width": 1280, "height": 900}),
        **options,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.js_errors = errors
    return page


def _sign_in(page: Any, base: str, key: str = ADMIN_KEY) -> None:
    page.goto(f"{base}/sites")
    assert "/login" in page.url
    page.fill("#api_key", key)
    page.click("form[action='/login'] button[type=submit]")


def _loaded(page: Any) -> None:
    page.wait_for_selector("body[data-loaded=true]")


def _reload_data(page: Any, action: Any) -> None:
    """Run `action` (which changes the view) and wait until the page has loaded again."""
    page.evaluate("document.body.removeAttribute('data-loaded')")
    action()
    _loaded(page)


def _stat(page: Any, metric: str) -> str:
    value: str = page.get_attribute(f".stat[data-metric={metric}] .stat-value", "data-value")
    return value


def _rows(page: Any, panel: str) -> dict[str, str]:
    rows = page.query_selector_all(f"#panel-{panel} li.row")
    found = {}
    for row in rows:
        first = row.query_selector(".values span")
        found[row.get_attribute("data-label")] = first.get_attribute("data-value")
    return found


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_a_wrong_key_is_refused(server: ServerProcess, browser: Any) -> None:
    page = _page(browser)
    _sign_in(page, server.url, "tt_not_a_key")
    assert "That API key is not valid." in page.inner_text("[role=alert]")
    assert "/login" in page.url
    assert not [c for c in page.context.cookies() if c["name"] == "tt_session"]
    _shot(page, "login-refused")
    page.context.close()


def test_sign_in_see_sites_and_read_the_dashboard(server: ServerProcess, browser: Any) -> None:
    page = _page(browser)
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    assert page.inner_text(f"li.site-card[data-domain='{DOMAIN}'] .site-name") == DOMAIN
    cookie = next(c for c in page.context.cookies() if c["name"] == "tt_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    _shot(page, "sites")

    page.click(f"li.site-card[data-domain='{DOMAIN}'] a.site-link")
    page.wait_for_url(f"**/sites/{DOMAIN}")
    _loaded(page)
    # The default period (last 30 days) has none of the March 2025 data.
    assert _stat(page, "visitors") == "0"

    _reload_data(page, lambda: page.select_option("#period", "all"))
    assert "period=all" in page.url
    expected = {"visitors": "5", "visits": "5", "pageviews": "7", "bounce_rate": "40"}
    assert {m: _stat(page, m) for m in expected} == expected
    assert _rows(page, "pages") == {"/": "3", "/pricing": "2", "/blog": "2"}
    assert _rows(page, "sources") == {"Direct": "2", "Organic Search": "2", "Organic Social": "1"}
    assert _rows(page, "locations") == {"United States": "2", "Germany": "2", "France": "1"}
    assert _rows(page, "goals") == {"Signup": "1"}
    _shot(page, "dashboard-all-time")

    # A custom range: only 10 March.
    page.select_option("#period", "custom")
    page.fill("#from", "2025-03-01")
    page.fill("#to", "2025-03-15")
    _reload_data(page, lambda: page.click("#apply-range"))
    assert "from=2025-03-01" in page.url
    assert (_stat(page, "visitors"), _stat(page, "pageviews")) == ("3", "4")
    assert _stat(page, "bounce_rate") == "33"
    # Comparison: the graph gets the earlier period as a second line.
    _reload_data(page, lambda: page.select_option("#compare", "year_over_year"))
    assert "compare=year_over_year" in page.url
    assert page.query_selector(".chart polyline.previous") is not None
    assert _stat(page, "visitors") == "3"
    assert page.js_errors == []
    page.context.close()


def test_clicking_a_source_filters_every_panel(server: ServerProcess, browser: Any) -> None:
    page = _page(browser)
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    page.goto(f"{server.url}/sites/{DOMAIN}?period=all")
    _loaded(page)
    page.click("#panel-sources [role=tab][data-tab=Sources]")
    page.wait_for_selector("#panel-sources li.row[data-label=Google]")
    before = {p: _rows(page, p) for p in ("pages", "locations", "devices")}

    _reload_data(page, lambda: page.click("#panel-sources li.row[data-label=Google] a"))
    assert "f=is%2Cvisit%3Asource%2CGoogle" in page.url
    assert page.inner_text("#filters .chip").startswith("Source is Google")
    assert (_stat(page, "visitors"), _stat(page, "pageviews")) == ("2", "3")
    after = {p: _rows(page, p) for p in ("pages", "locations", "devices")}
    assert after == {
        "pages": {"/": "2", "/pricing": "1"},
        "locations": {"United States": "1", "Germany": "1"},
        "devices": {"Chrome": "1", "Firefox": "1"},
    }
    assert all(after[p] != before[p] for p in after)
    api = httpx.post(
        f"{server.url}/api/v2/query",
        json={
            "site_id": DOMAIN,
            "metrics": ["visitors", "pageviews"],
            "date_range": "all",
            "filters": [["is", "visit:source", ["Google"]]],
        },
        headers=BEARER,
    )
    assert api.json()["results"][0]["metrics"] == [2, 3]
    _shot(page, "dashboard-filtered")

    # The filtered view is a bookmark: a fresh load of the URL shows the same.
    bookmarked = page.url
    _reload_data(page, lambda: page.goto(bookmarked))
    assert _stat(page, "visitors") == "2"
    # Removing the chip (keyboard: focus the button, press Enter) restores the full view.
    page.focus("#filters .chip button")
    _reload_data(page, lambda: page.keyboard.press("Enter"))
    assert _stat(page, "visitors") == "5" and "f=" not in page.url
    # Panel tabs follow the arrow keys.
    page.focus("#panel-devices [role=tab][data-tab=Browsers]")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#panel-devices [role=tab][data-tab=OS][aria-selected=true]:focus")
    page.wait_for_selector("#panel-devices li.row[data-label=Linux]")
    assert _rows(page, "devices") == {"Windows": "3", "Linux": "1", "iOS": "1"}
    assert page.js_errors == []
    page.context.close()


def test_realtime_shows_a_new_visitor_after_a_collect(server: ServerProcess, browser: Any) -> None:
    page = _page(browser)
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    page.goto(f"{server.url}/sites/{DOMAIN}?period=realtime")
    _loaded(page)
    assert page.inner_text("#realtime-count") == "0"
    site = httpx.get(f"{server.url}/api/v1/websites", headers={"X-API-KEY": ADMIN_KEY})
    website_id = next(s["id"] for s in site.json()["data"] if s["domain"] == DOMAIN)
    sent = httpx.post(
        f"{server.url}/api/v1/collect",
        json={
            "website_id": website_id,
            "event_type": "page_view",
            "url": f"https://{DOMAIN}/live",
            "path": "/live",
        },
        headers={"User-Agent": CHROME_UA, "X-Forwarded-For": "198.51.100.77"},
    )
    assert sent.status_code in (200, 202), sent.text
    # The view refreshes itself every 10 seconds (the page's CSP forbids evaluated scripts).
    page.wait_for_selector("#realtime-count:text-is('1')", timeout=30_000)
    page.wait_for_selector("#panel-pages li.row[data-label='/live']", timeout=30_000)
    _shot(page, "realtime")
    page.context.close()


def test_settings_pages_add_a_goal_and_a_shared_link(server: ServerProcess, browser: Any) -> None:
    page = _page(browser)
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    page.goto(f"{server.url}/sites/{DOMAIN}/settings/goals")
    page.check("input[name=goal_type][value=page]")
    page.fill("#page_path", "/pricing")
    page.click("form:has(#page_path) button[type=submit]")
    page.wait_for_selector("td:text('Visit /pricing')")
    _shot(page, "settings-goals")
    page.goto(f"{server.url}/sites/{DOMAIN}/settings/funnels")
    page.fill("#funnel-name", "Pricing to signup")
    page.select_option("#step-0", label="Visit /pricing")
    page.select_option("#step-1", label="Signup")
    page.click("form:has(#funnel-name) button[type=submit]")
    page.wait_for_selector("li:has-text('Visit /pricing → Signup')")
    # The funnel panel: v1 and v3 visited /pricing, only v3 then signed up.
    page.goto(f"{server.url}/sites/{DOMAIN}?period=custom&from=2025-03-01&to=2025-03-31")
    _loaded(page)
    assert _rows(page, "funnels") == {"Visit /pricing": "2", "Signup": "1"}
    assert "50" in page.inner_text("#panel-funnels")
    page.goto(f"{server.url}/sites/{DOMAIN}/settings/shared-links")
    page.fill("#link-name", "Board")
    page.click("form:has(#link-name) button[type=submit]")
    url = page.input_value("input.share-url")
    assert f"/share/{DOMAIN}?auth=" in url
    _shot(page, "settings-shared-links")
    page.context.close()


def test_shared_link_opens_signed_out_until_revoked(server: ServerProcess, browser: Any) -> None:
    link = httpx.put(
        f"{server.url}/api/v1/sites/shared-links",
        json={"site_id": DOMAIN, "name": "Public"},
        headers=BEARER,
    ).json()["url"]
    page = _page(browser, color_scheme="dark")
    march = "&period=custom&from=2025-03-01&to=2025-03-31"
    page.goto(link + march)
    _loaded(page)
    assert _stat(page, "visitors") == "5"
    assert page.query_selector("a[href$='/settings']") is None
    assert not page.context.cookies()
    _shot(page, "shared-dark")
    page.goto(link + march + "&embed=true")
    _loaded(page)
    assert page.query_selector("header.top") is None
    _shot(page, "shared-embed")

    revoked = httpx.delete(
        f"{server.url}/api/v1/sites/shared-links/Public?site_id={DOMAIN}", headers=BEARER
    )
    assert revoked.status_code == 200, revoked.text
    response = page.goto(link)
    assert response.status == 404
    assert "revoked" in page.inner_text("main")
    page.context.close()


def test_phone_width_and_sign_out(server: ServerProcess, browser: Any) -> None:
    page = _page(browser, viewport={"width": 375, "height": 800})
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    page.goto(f"{server.url}/sites/{DOMAIN}?period=all")
    _loaded(page)
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the dashboard scrolls sideways at phone width"
    _shot(page, "dashboard-phone")
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")
    started = time.monotonic()
    page.goto(f"{server.url}/sites")
    assert "/login" in page.url and time.monotonic() - started < 10
    page.context.close()


def _csv(page: Any) -> list[list[str]]:
    """Click "Export CSV" and read the file the browser saved."""
    with page.expect_download() as download:
        page.click("#export")
    text = Path(download.value.path()).read_text()
    assert not page.is_visible("#status"), page.inner_text("#status")
    return [line.split(",") for line in text.splitlines()]


def _points(page: Any) -> dict[str, str]:
    """The graph's points, label → value, from its accessible description."""
    described: str = page.get_attribute("#graph", "aria-label")
    pairs = described.split(" over time: ", 1)[1].split(", ")
    return dict(pair.rsplit(" ", 1) for pair in pairs)


def _y_axis(page: Any) -> list[str]:
    texts = page.query_selector_all(".chart text[text-anchor=end]")
    return [t.text_content() for t in texts]


MARCH = "period=custom&from=2025-03-01&to=2025-03-31"


def test_export_csv_and_graphs_of_rates_work_per_bucket(
    server: ServerProcess, browser: Any
) -> None:
    """Views per visit and the conversion rate are computed per day (the engine groups neither
    by time): views per visit from the day's pageviews and visits, the conversion rate as the
    day's own (Plausible's group_conversion_rate), in the graph and in "Export CSV"."""
    page = _page(browser, accept_downloads=True)
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    page.goto(f"{server.url}/sites/{DOMAIN}")
    _loaded(page)
    # The default view (last 30 days, no data) exports every day, views per visit included.
    rows = _csv(page)
    header = ["day", "visitors", "visits", "pageviews", "views_per_visit", "bounce_rate"]
    assert rows[0] == [*header, "visit_duration"]
    assert len(rows) == 31 and all(r[1:] == ["0"] * 6 for r in rows[1:])

    page.goto(f"{server.url}/sites/{DOMAIN}?{MARCH}")
    _loaded(page)
    by_day = {r[0]: r[1:] for r in _csv(page)[1:]}
    assert len(by_day) == 31
    # 10 March: v1 (2 pageviews, 60 s), v2 (bounce), v3 (1 pageview + Signup, 60 s).
    assert by_day["2025-03-10"] == ["3", "3", "4", "1.33", "33", "40"]
    assert by_day["2025-03-20"] == ["2", "2", "3", "1.5", "50", "30"]
    assert by_day["2025-03-11"] == ["0"] * 6

    _reload_data(page, lambda: page.click(".stat[data-metric=views_per_visit]"))
    assert "metric=views_per_visit" in page.url
    points = _points(page)
    per_day = [points[day] for day in ("2025-03-10", "2025-03-20", "2025-03-11")]
    assert per_day == ["1.33", "1.5", "0"]
    assert page.query_selector(".chart polyline.line:not(.previous)") is not None

    # With a goal filter: 10 March converted 1 of its 3 visitors, 20 March none of 2; the
    # period's rate (the top stat) is 1 of 5.
    goal = f"{server.url}/sites/{DOMAIN}?{MARCH}&f=is,event:goal,Signup&metric=conversion_rate"
    page.goto(goal)
    _loaded(page)
    assert _stat(page, "conversion_rate") == "20"
    points = _points(page)
    assert (points["2025-03-10"], points["2025-03-20"]) == ("33.33", "0")
    by_day = {r[0]: r[1:] for r in _csv(page)[1:]}
    assert by_day["2025-03-10"] == ["1", "1", "33.33"] and by_day["2025-03-20"] == ["0", "0", "0"]
    # Small counts get distinct, whole axis labels (0, 1, 2; not 0, 1, 1).
    _reload_data(page, lambda: page.click(".stat[data-metric=visitors]"))
    assert _y_axis(page) == ["0", "1", "2"]
    _shot(page, "graph-conversions")
    assert page.js_errors == []
    page.context.close()


def test_all_time_offers_no_comparison(server: ServerProcess, browser: Any) -> None:
    page = _page(browser)
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    page.goto(f"{server.url}/sites/{DOMAIN}?period=all&compare=previous_period")
    _loaded(page)
    assert page.is_disabled("#compare") and page.input_value("#compare") == ""
    assert _stat(page, "visitors") != "0"
    assert page.query_selector_all(".stat-change") == []
    assert page.query_selector(".chart polyline.previous") is None
    # All time runs from March 2025 to now: month labels carry their year.
    labels = page.query_selector_all(".chart text[text-anchor=middle]")
    assert "Mar 2025" in [t.text_content() for t in labels]
    # Another period brings the comparison back.
    _reload_data(page, lambda: page.select_option("#period", "30d"))
    assert not page.is_disabled("#compare") and page.input_value("#compare") == "previous_period"
    assert page.query_selector(".chart polyline.previous") is not None
    assert page.js_errors == []
    page.context.close()


def test_current_periods_graph_up_to_the_present(server: ServerProcess, browser: Any) -> None:
    """Today, this month and this year end at the present, not with zeros for the future."""
    page = _page(browser)
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    for period, interval, label_of in (
        ("day", "hour", lambda now: now.strftime("%Y-%m-%d %H:00:00")),
        ("month", "day", lambda now: now.strftime("%Y-%m-%d")),
        ("year", "month", lambda now: now.strftime("%Y-%m-01")),
    ):
        before = datetime.now(UTC)
        page.goto(f"{server.url}/sites/{DOMAIN}?period={period}&compare=previous_period")
        _loaded(page)
        after = datetime.now(UTC)
        assert page.input_value("#interval") == interval
        last = list(_points(page))[-1]
        assert last in (label_of(before), label_of(after)), (period, last)
    assert page.js_errors == []
    page.context.close()


def test_a_site_without_properties_says_so(server: ServerProcess, browser: Any) -> None:
    created = httpx.post(
        f"{server.url}/api/v1/websites",
        json={"domain": "bare.example"},
        headers={"X-API-KEY": ADMIN_KEY},
    )
    assert created.status_code == 201, created.text
    page = _page(browser)
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    page.goto(f"{server.url}/sites/bare.example")
    _loaded(page)
    assert page.inner_text("#panel-props .panel-head").split("\n") == ["Custom properties", "CSV"]
    assert "No custom properties yet" in page.inner_text("#panel-props .rows")
    assert page.js_errors == []
    page.context.close()


def test_location_chips_show_names(server: ServerProcess, browser: Any) -> None:
    page = _page(browser)
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    page.goto(f"{server.url}/sites/{DOMAIN}?period=all")
    _loaded(page)
    _reload_data(page, lambda: page.click("#panel-locations li.row[data-label=Germany] a"))
    assert "f=is%2Cvisit%3Acountry%2CDE" in page.url and "l=DE%2CGermany" in page.url
    assert page.inner_text("#filters .chip span") == "Country is Germany"
    assert _stat(page, "visitors") == "2"
    # The name is part of the bookmark.
    bookmarked = page.url
    _reload_data(page, lambda: page.goto(bookmarked))
    assert page.inner_text("#filters .chip span") == "Country is Germany"
    assert page.js_errors == []
    page.context.close()


def test_realtime_panels_funnels_and_csv_cover_30_minutes(
    server: ServerProcess, browser: Any
) -> None:
    """Only "current visitors" counts the last 5 minutes (runs after the settings test, which
    adds a funnel)."""
    page = _page(browser, accept_downloads=True)
    sent: list[tuple[str, dict[str, Any]]] = []
    page.on(
        "request",
        lambda r: (
            sent.append((r.url, json.loads(r.post_data))) if "/dashboard/api/" in r.url else None
        ),
    )
    _sign_in(page, server.url)
    page.wait_for_url("**/sites")
    page.goto(f"{server.url}/sites/{DOMAIN}?period=realtime")
    _loaded(page)
    page.wait_for_selector("#panel-funnels li.row")
    rows = _csv(page)
    assert rows[0] == ["hour", "visitors", "pageviews"] and len(rows) >= 2
    ranges = {(url.split("/")[-1], body["query"]["date_range"]) for url, body in sent}
    assert ranges == {("query", "realtime"), ("query", "30m"), ("funnel", "30m")}
    current = [body for url, body in sent if body["query"]["date_range"] == "realtime"]
    assert all(body["query"]["metrics"] == ["visitors"] for body in current)
    assert page.js_errors == []
    page.context.close()
