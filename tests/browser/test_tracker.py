"""The tracker script in a real Chromium, talking to a real `tinytrail serve` process.

A small static site on its own origin embeds `/js/tracker.js` from the TinyTrail server (a
cross-origin embed, as on any customer site). A visit loads the page, sends a custom event,
navigates client-side, scrolls, follows an outbound link, opens a second page and closes the
tab; the test then stops the server (which flushes) and reads the stored rows from DuckDB.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.browser.chromium import CHROMIUM, launch_args
from tests.support import ADMIN_KEY, CHROME_UA
from tests.system.serverproc import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRACKER_SOURCE = Path(__file__).resolve().parents[2] / "tinytrail" / "tracker" / "tracker.js"
VIEWPORT = {"width": 1280, "height": 720}
OUTBOUND = "https://example.org/elsewhere"
# Requests a page has sent to the collect endpoint that have completed (Resource Timing lists a
# fetch once its response is complete, keepalive ones included).
COLLECT_ENTRIES = """() => performance.getEntriesByType("resource")
    .filter((e) => e.name.endsWith("/api/v1/collect") && e.responseEnd > 0)
    .map((e) => e.responseStatus)"""
SETTLE_S = 1.5  # for keepalive requests sent by a page that is gone (nothing left to poll)


def _write_pages(root: Path, website_id: str, tracker_url: str) -> None:
    snippet = f'<script defer data-id="{website_id}" src="{tracker_url}"></script>'
    (root / "index.html").write_text(
        f"""<!doctype html>
<html>
<head><meta charset="utf-8"><title>Home</title>{snippet}</head>
<body style="margin: 0">
  <button id="track" onclick='window.analytics.track("signup_complete", {{plan: "pro"}})'>
    Sign up
  </button>
  <button id="spa" onclick='history.pushState({{}}, "", "/pricing")'>Pricing</button>
  <main style="height: 6000px">A long page.</main>
  <footer>
    <a id="out" href="{OUTBOUND}">Elsewhere</a>
    <a id="about" href="/about.html">About</a>
  </footer>
</body>
</html>
""",
        encoding="utf-8",
    )
    (root / "about.html").write_text(
        f"""<!doctype html>
<html>
<head><meta charset="utf-8"><title>About</title>{snippet}</head>
<body><p>About us.</p></body>
</html>
""",
        encoding="utf-8",
    )


def _create_website(base: str, domain: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/websites", json={"domain": domain}, headers={"X-API-KEY": ADMIN_KEY}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def _wait_for_collects(page: Any, count: int, sent: list[dict[str, Any]]) -> list[int]:
    """Poll until this document has `count` completed collect requests; their statuses."""
    try:
        page.wait_for_function(f"({COLLECT_ENTRIES})().length >= {count}", timeout=15_000)
    except Exception as exc:  # playwright's TimeoutError: say what was sent instead
        done = page.evaluate(COLLECT_ENTRIES)
        sent_types = [(p["event_type"], p["path"]) for p in sent]
        message = f"{len(done)} of {count} collect requests completed; sent: {sent_types}"
        raise AssertionError(message) from exc
    statuses: list[int] = page.evaluate(COLLECT_ENTRIES)
    return statuses


def _stored_events(data_dir: Path) -> list[dict[str, Any]]:
    con = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
    try:
        cursor = con.execute(
            """SELECT name, pathname, hostname, session_id, visitor_id, is_bot, referrer,
                      browser, os, device, screen_width, interactive,
                      map_keys(props) AS prop_keys, map_values(props) AS prop_values
               FROM events ORDER BY seq"""
        )
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
    for row in rows:
        row["props"] = dict(zip(row.pop("prop_keys"), row.pop("prop_values"), strict=True))
    return rows


def test_tracker_script_is_served_cacheable_and_small(server: ServerProcess) -> None:
    source = TRACKER_SOURCE.read_bytes()
    response = httpx.get(f"{server.url}/js/tracker.js", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0].strip() == "application/javascript"
    assert response.headers["cache-control"] == "public, max-age=86400"
    assert response.content == source
    assert "set-cookie" not in response.headers

    with httpx.stream(
        "GET", f"{server.url}/js/tracker.js", headers={"Accept-Encoding": "gzip"}
    ) as zipped:
        raw = b"".join(zipped.iter_raw())
        assert zipped.headers.get("content-encoding") == "gzip"
        assert zipped.headers["content-type"].split(";")[0].strip() == "application/javascript"
        assert zipped.headers["cache-control"] == "public, max-age=86400"
    assert gzip.decompress(raw) == source
    assert len(raw) <= 1536, f"tracker.js is {len(raw)} bytes gzipped, budget is 1536"
    assert len(gzip.compress(source, 9)) <= 1536


def test_tracker_records_a_real_browser_visit(
    server: ServerProcess, static_site: tuple[str, Path]
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")

    site_origin, root = static_site
    assert site_origin != server.url  # the tracker is embedded cross-origin
    website_id = _create_website(server.url, "127.0.0.1")
    _write_pages(root, website_id, f"{server.url}/js/tracker.js")
    collect_url = f"{server.url}/api/v1/collect"
    sent: list[dict[str, Any]] = []  # collect payloads the browser sent, as Playwright saw them

    def record(request: Any) -> None:
        if request.url == collect_url and request.method == "POST" and request.post_data:
            sent.append(json.loads(request.post_data))

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=launch_args(), headless=True
        )
        try:
            context = browser.new_context(user_agent=CHROME_UA, viewport=VIEWPORT)
            context.on("request", record)
            # No internet: the outbound link lands on an empty page served by the browser.
            context.route(
                "https://example.org/**",
                lambda route: route.fulfill(
                    status=200, content_type="text/html", body="<p>Elsewhere</p>"
                ),
            )
            page = context.new_page()

            page.goto(f"{site_origin}/")
            assert _wait_for_collects(page, 1, sent) == [202]  # page_view /

            page.click("#track")
            _wait_for_collects(page, 2, sent)  # signup_complete

            page.click("#spa")
            page.wait_for_url(f"{site_origin}/pricing")
            _wait_for_collects(page, 3, sent)  # page_view /pricing

            page.mouse.move(VIEWPORT["width"] / 2, VIEWPORT["height"] / 2)
            page.mouse.wheel(0, 10_000)
            page.wait_for_function(
                "innerHeight + scrollY >= document.documentElement.scrollHeight - 1"
            )
            statuses = _wait_for_collects(page, 6, sent)  # scroll_25, scroll_50, scroll_75
            assert statuses == [202] * 6
            assert page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]

            page.click("#out")  # outbound_link, then close_tab as the page unloads
            page.wait_for_url(OUTBOUND)

            page.goto(f"{site_origin}/about.html")
            assert _wait_for_collects(page, 1, sent) == [202]  # page_view /about.html
            assert page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]
            assert context.cookies() == []

            page.close()  # Chromium fires visibilitychange -> hidden: close_tab
            # Keepalive requests outlive their page; give the last ones time to reach the server
            # before it is stopped (a graceful stop then completes any still in flight).
            time.sleep(SETTLE_S)
            assert context.cookies() == []
            server.stop()
            context.close()
        finally:
            browser.close()

    spa_views = [p for p in sent if p["event_type"] == "page_view" and p["path"] == "/pricing"]
    assert len(spa_views) == 1, sent
    assert spa_views[0]["url"] == f"{site_origin}/pricing"
    assert spa_views[0]["referrer"] == f"{site_origin}/"  # the previous in-app URL

    events = _stored_events(server.data_dir)
    summary = [(e["name"], e["pathname"]) for e in events]

    def rows(name: str, path: str | None = None) -> list[dict[str, Any]]:
        return [e for e in events if e["name"] == name and path in (None, e["pathname"])]

    for path in ("/", "/pricing", "/about.html"):
        assert len(rows("pageview", path)) == 1, summary
    assert [e["pathname"] for e in rows("pageview")] == ["/", "/pricing", "/about.html"]

    (signup,) = rows("signup_complete")
    assert signup["pathname"] == "/"
    assert signup["props"] == {"plan": "pro"}
    assert signup["interactive"] is True

    for mark in ("scroll_25", "scroll_50", "scroll_75"):
        assert len(rows(mark, "/pricing")) == 1, summary
        assert len(rows(mark)) == 1, summary

    (outbound,) = rows("outbound_link")
    assert outbound["pathname"] == "/pricing"
    assert outbound["props"] == {"url": OUTBOUND}

    # The tab hid twice: leaving /pricing for the outbound site, and closing /about.html.
    assert [e["pathname"] for e in rows("close_tab")] == ["/pricing", "/about.html"], summary

    expected = {"pageview", "signup_complete", "scroll_25", "scroll_50", "scroll_75"}
    expected |= {"outbound_link", "close_tab"}
    assert {e["name"] for e in events} == expected, summary
    assert len(events) == 10, summary

    for event in events:
        assert event["hostname"] == "127.0.0.1", event
        assert event["is_bot"] is False, event
        assert event["browser"] == "Chrome", event
        assert event["os"] == "Windows", event
        assert event["device"] == "Desktop", event
        assert event["screen_width"] == VIEWPORT["width"], event
        # A direct visit: the visit has no referrer, and in-app referrers are self-referrals.
        assert event["referrer"] == "", event
        if event["name"] not in ("pageview", "signup_complete"):
            assert event["interactive"] is False, event
    # One visitor, one visit: no cookie or storage needed to tie the pages together.
    assert len({e["visitor_id"] for e in events}) == 1, events
    assert len({e["session_id"] for e in events}) == 1, events
    assert events[0]["session_id"] != 0


def test_a_back_forward_cache_restore_counts_as_a_new_view(
    server: ServerProcess, static_site: tuple[str, Path]
) -> None:
    """A page restored from the bfcache runs no script again: `pageshow` (persisted) must
    send the page_view. Whether Chromium uses its bfcache in a given run varies, so the test
    fires the restore event itself, as the browser does."""
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    site_origin, root = static_site
    website_id = _create_website(server.url, "127.0.0.1")
    _write_pages(root, website_id, f"{server.url}/js/tracker.js")
    sent: list[dict[str, Any]] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=launch_args(), headless=True
        )
        try:
            page = browser.new_context(user_agent=CHROME_UA, viewport=VIEWPORT).new_page()
            page.goto(f"{site_origin}/")
            _wait_for_collects(page, 1, sent)
            page.evaluate("dispatchEvent(new PageTransitionEvent('pageshow', {persisted: false}))")
            page.evaluate("dispatchEvent(new PageTransitionEvent('pageshow', {persisted: true}))")
            assert _wait_for_collects(page, 2, sent) == [202, 202]
        finally:
            browser.close()
