"""The official Plausible tracker, unmodified, in a real Chromium, against `tinytrail serve`.

The npm package `@plausible-analytics/tracker` (an ES module) is fetched from the npm registry,
checked against its pinned integrity and served, as is, by a small static site on its own origin.
The page points the tracker at our Events API (`POST /api/event`, cross-origin) and a visit
exercises everything the tracker sends: the automatic pageview, a client-side navigation, custom
events with props, revenue and `interactive: false`, a form submission, a file download, an
outbound link, and the `engagement` events sent when a page is left. The test then reads the
visit back through the Stats API v2 and, after stopping the server, from the event store.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.browser.chromium import CHROMIUM, launch_args
from tests.support import ADMIN_KEY, CHROME_UA
from tests.system.serverproc import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRACKER_VERSION = "0.4.6"
TRACKER_TARBALL = (
    f"https://registry.npmjs.org/@plausible-analytics/tracker/-/tracker-{TRACKER_VERSION}.tgz"
)
# `npm view @plausible-analytics/tracker@0.4.6 dist.integrity`
TRACKER_INTEGRITY = (
    "sha512-nbu6xGgSP6jeYuoVklZBzucUnIpo75tVu3Kr+R0EDycVKaMC/jF5Q/"
    "YCaM/8gR4fPZ1IDcXt6FdBJFZ1uZwEPA=="
)

VIEWPORT = {"width": 1280, "height": 720}
PAGE_HEIGHT = 2880  # four viewports: the first screen alone is a scroll depth of 25%
DOMAIN = "shop.example"
OUTBOUND = "https://example.org/elsewhere"
REFERRER = "https://news.ycombinator.com/item?id=42"
UTM = "utm_source=newsletter&utm_medium=email&utm_campaign=spring"
CUSTOM_PROPS = {"author": "alice", "logged_in": True}
STORED_CUSTOM_PROPS = {"author": "alice", "logged_in": "true"}
BEARER = {"Authorization": f"Bearer {ADMIN_KEY}"}
# Event requests this document has sent that have completed, with their statuses (Resource
# Timing lists a fetch once its response is complete, keepalive ones included).
EVENT_ENTRIES = """() => performance.getEntriesByType("resource")
    .filter((e) => e.name.endsWith("/api/event") && e.responseEnd > 0)
    .map((e) => e.responseStatus)"""
# The requests of the visit but the last: the engagement with /pricing as the page unloads.
SENT_ORDER = (
    "pageview",
    "Signup",
    "Purchase",
    "Video Autoplay",
    "Form: Submission",
    "File Download",
    "engagement",  # the tracker reports the time on / before the pageview of /pricing
    "pageview",
    "Outbound Link: Click",
)


# -- the tracker, from the npm registry -----------------------------------------------------


def _verified(tarball: bytes) -> bool:
    digest = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    return f"sha512-{digest}" == TRACKER_INTEGRITY


@pytest.fixture(scope="session")
def plausible_js(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """`package/plausible.js` of the pinned release, the tarball cached between runs."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        folder = Path(cache.mkdir(f"plausible-tracker-{TRACKER_VERSION}"))
    else:
        folder = tmp_path_factory.mktemp("plausible-tracker")
    cached = folder / f"tracker-{TRACKER_VERSION}.tgz"
    tarball = cached.read_bytes() if cached.exists() else b""
    if not _verified(tarball):
        try:
            response = httpx.get(TRACKER_TARBALL, timeout=30, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            pytest.skip(f"cannot download the Plausible tracker from {TRACKER_TARBALL}: {exc}")
        tarball = response.content
        assert _verified(tarball), f"{TRACKER_TARBALL} does not match {TRACKER_INTEGRITY}"
        cached.write_bytes(tarball)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile("package/plausible.js")
        assert member is not None
        return member.read()


# -- servers --------------------------------------------------------------------------------


def _write_site(root: Path, plausible_js: bytes, endpoint: str) -> None:
    (root / "plausible.js").write_bytes(plausible_js)
    (root / "files").mkdir()
    (root / "files" / "report.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    options = {
        "domain": DOMAIN,
        "endpoint": endpoint,
        "captureOnLocalhost": True,
        "outboundLinks": True,
        "fileDownloads": True,
        "formSubmissions": True,
        "customProperties": CUSTOM_PROPS,
    }
    # The controls sit in a fixed bar so that clicking them never scrolls the page.
    (root / "index.html").write_text(
        f"""<!doctype html>
<html>
<head>
<meta charset="utf-8"><title>Shop</title>
<script type="module">
  import {{ init, track }} from "./plausible.js";
  init({json.dumps(options)});
  // track() with a callback that resolves to what the tracker saw: {{status}} or an error.
  window.send = (name, options) => new Promise((resolve) => track(name, {{
    ...options,
    callback: (result) => resolve(result && result.error ? String(result.error) : result),
  }}));
</script>
</head>
<body style="margin: 0">
  <nav style="position: fixed; top: 0; left: 0; background: white">
    <a id="out" href="{OUTBOUND}">Elsewhere</a>
    <a id="download" href="/files/report.pdf?v=2" download>Report</a>
    <form id="subscribe" action="/subscribe">
      <input name="email" type="email" value="reader@example.com" required>
      <button id="submit">Subscribe</button>
    </form>
  </nav>
  <main style="height: {PAGE_HEIGHT}px">A long page.</main>
  <script>
    document.getElementById("subscribe").addEventListener("submit", (e) => e.preventDefault());
  </script>
</body>
</html>
""",
        encoding="utf-8",
    )


def _setup_site(base: str) -> None:
    """The site and its goals, through the Plausible Sites API."""
    created = httpx.post(f"{base}/api/v1/sites", json={"domain": DOMAIN}, headers=BEARER)
    assert created.status_code == 200, created.text
    for goal in (
        {"goal_type": "event", "event_name": "Signup"},
        {"goal_type": "event", "event_name": "Purchase", "currency": "USD"},
    ):
        response = httpx.put(
            f"{base}/api/v1/sites/goals", json={"site_id": DOMAIN, **goal}, headers=BEARER
        )
        assert response.status_code == 200, response.text


def _wait_for_events(page: Any, count: int, sent: list[dict[str, Any]]) -> list[int]:
    """Poll until this document has `count` completed event requests; their statuses."""
    try:
        page.wait_for_function(f"({EVENT_ENTRIES})().length >= {count}", timeout=15_000)
    except Exception as exc:  # playwright's TimeoutError: say what was sent instead
        done = page.evaluate(EVENT_ENTRIES)
        raise AssertionError(
            f"{len(done)} of {count} event requests completed; sent: {[p['n'] for p in sent]}"
        ) from exc
    statuses: list[int] = page.evaluate(EVENT_ENTRIES)
    return statuses


def _query(base: str, **body: Any) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    dates = [(today - timedelta(days=1)).isoformat(), (today + timedelta(days=1)).isoformat()]
    payload = {"site_id": DOMAIN, "date_range": dates, **body}
    response = httpx.post(f"{base}/api/v2/query", json=payload, headers=BEARER)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _page_stats_once_left(base: str) -> dict[str, list[Any]]:
    """Per page: visitors, pageviews, events, scroll depth; polled until the two requests sent
    while leaving /pricing are in (the server flushes every 100 ms)."""
    deadline = time.monotonic() + 10
    while True:
        results = _query(
            base,
            metrics=["visitors", "pageviews", "events", "scroll_depth"],
            dimensions=["event:page"],
        )["results"]
        pages = {row["dimensions"][0]: row["metrics"] for row in results}
        if pages.get("/pricing", [0, 0, 0, None])[2:] == [2, 100] or time.monotonic() > deadline:
            return pages
        time.sleep(0.05)


def _stored_events(data_dir: Path) -> list[dict[str, Any]]:
    con = duckdb.connect(str(data_dir / "events.duckdb"), read_only=True)
    try:
        cursor = con.execute(
            """SELECT name, pathname, hostname, session_id, visitor_id, is_bot, referrer,
                      referrer_source, channel, utm_source, utm_medium, utm_campaign, browser,
                      revenue_amount, revenue_currency, interactive, scroll_depth,
                      engagement_ms, map_keys(props) AS prop_keys,
                      map_values(props) AS prop_values
               FROM events ORDER BY seq"""
        )
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
    for row in rows:
        row["props"] = dict(zip(row.pop("prop_keys"), row.pop("prop_values"), strict=True))
    return rows


# -- the visit ------------------------------------------------------------------------------


def test_the_official_plausible_tracker_records_a_visit(
    server: ServerProcess, static_site: tuple[str, Path], plausible_js: bytes
) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")

    site_origin, root = static_site
    assert site_origin != server.url  # the tracker posts cross-origin, as on any real site
    _setup_site(server.url)
    endpoint = f"{server.url}/api/event"
    _write_site(root, plausible_js, endpoint)
    sent: list[dict[str, Any]] = []  # payloads the tracker sent, as Playwright saw them
    headers: set[tuple[str, str]] = set()  # (content type, origin) of those requests
    console: list[str] = []  # the tracker logs "Ignoring Event: ..." when it sends nothing

    def on_request(request: Any) -> None:
        if request.url == endpoint and request.method == "POST" and request.post_data:
            sent.append(json.loads(request.post_data))
            headers.add((request.headers.get("content-type"), request.headers.get("origin")))

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=launch_args(), headless=True
        )
        try:
            context = browser.new_context(user_agent=CHROME_UA, viewport=VIEWPORT)
            context.on("request", on_request)
            # No internet: the outbound link lands on an empty page served by the browser.
            context.route(
                "https://example.org/**",
                lambda route: route.fulfill(
                    status=200, content_type="text/html", body="<p>Elsewhere</p>"
                ),
            )
            page = context.new_page()
            page.on("console", lambda message: console.append(message.text))

            page.goto(f"{site_origin}/?{UTM}", referer=REFERRER)
            assert _wait_for_events(page, 1, sent) == [202]  # the automatic pageview of /

            signup = page.evaluate("send('Signup', {props: {plan: 'pro'}})")
            purchase = page.evaluate(
                "send('Purchase', {revenue: {amount: 15.99, currency: 'USD'}})"
            )
            autoplay = page.evaluate("send('Video Autoplay', {interactive: false})")
            assert [signup, purchase, autoplay] == [{"status": 202}] * 3

            page.click("#submit")  # Form: Submission (the page's own handler stays put)
            _wait_for_events(page, 5, sent)
            with page.expect_download():
                page.click("#download")  # File Download
            _wait_for_events(page, 6, sent)

            # A client-side navigation: the tracker reports the engagement with / and then
            # the pageview of /pricing.
            page.evaluate("history.pushState({}, '', '/pricing')")
            _wait_for_events(page, 8, sent)

            page.mouse.move(VIEWPORT["width"] / 2, VIEWPORT["height"] / 2)
            page.mouse.wheel(0, PAGE_HEIGHT)
            page.wait_for_function(
                "innerHeight + scrollY >= document.documentElement.scrollHeight - 1"
            )
            assert _wait_for_events(page, 8, sent) == [202] * 8

            # Leaving the page: Outbound Link: Click, then (as the page unloads and turns
            # hidden) the engagement with /pricing. Both are keepalive requests of a page that
            # is gone, so neither Playwright nor the page can see their answers: the Stats API
            # and the stored rows show they arrived.
            page.click("#out")
            page.wait_for_url(OUTBOUND)
            # Closing the browser could cancel a keepalive request still in flight.
            pages = _page_stats_once_left(server.url)
            context.close()
        finally:
            browser.close()

    assert not console, console
    # A CORS "simple" request: text/plain needs no preflight, and the server's CORS headers let
    # the page read every answer (the 202s above).
    assert headers == {("text/plain", site_origin)}, headers
    # The page's requests in the order it sent them (Playwright may not see the last engagement,
    # sent by a document being unloaded).
    names = [p["n"] for p in sent]
    assert names[:9] == list(SENT_ORDER), names
    assert names[9:] in ([], ["engagement"]), names
    for payload in sent:  # what the tracker sends (plausible-reference.md section 2.3)
        assert payload["d"] == DOMAIN
        assert payload["v"] == 36
        assert payload["u"].startswith(f"{site_origin}/")
        if payload["n"] == "engagement":  # no referrer; the scroll depth and engaged time
            assert {"sd", "e"} <= set(payload) and "r" not in payload, payload
        else:  # document.referrer, which stays the same after pushState
            assert payload["r"] == REFERRER, payload

    first_screen = round(VIEWPORT["height"] / PAGE_HEIGHT * 100)
    # Events exclude engagement; the scroll depth per page comes from the engagement events.
    assert pages == {"/": [1, 1, 6, first_screen], "/pricing": [1, 1, 2, 100]}, pages
    metrics = ["visitors", "visits", "pageviews", "events", "bounce_rate"]
    totals = _query(server.url, metrics=metrics)["results"][0]["metrics"]
    # Events: 2 pageviews and the 6 custom events (engagement is not an event).
    assert totals == [1, 1, 2, 8, 0], totals
    goals = _query(
        server.url,
        metrics=["visitors", "events", "total_revenue"],
        dimensions=["event:goal"],
    )["results"]
    by_goal = {row["dimensions"][0]: row["metrics"] for row in goals}
    assert set(by_goal) == {"Signup", "Purchase"}, goals
    assert by_goal["Signup"][:2] == [1, 1]
    assert by_goal["Purchase"][:2] == [1, 1]
    assert by_goal["Purchase"][2]["value"] == 15.99
    assert by_goal["Purchase"][2]["currency"] == "USD"
    sources = _query(
        server.url, metrics=["visitors"], dimensions=["visit:source", "visit:utm_campaign"]
    )["results"]
    assert sources == [{"dimensions": ["newsletter", "spring"], "metrics": [1]}], sources

    server.stop()  # flushes everything into the event store
    events = _stored_events(server.data_dir)
    summary = sorted((e["name"], e["pathname"]) for e in events)
    assert summary == sorted(
        [
            ("pageview", "/"),
            ("Signup", "/"),
            ("Purchase", "/"),
            ("Video Autoplay", "/"),
            ("Form: Submission", "/"),
            ("File Download", "/"),
            ("engagement", "/"),
            ("pageview", "/pricing"),
            ("Outbound Link: Click", "/pricing"),
            ("engagement", "/pricing"),
        ]
    ), summary

    def row(name: str, path: str = "/") -> dict[str, Any]:
        (found,) = [e for e in events if e["name"] == name and e["pathname"] == path]
        return found

    assert row("pageview")["props"] == STORED_CUSTOM_PROPS
    assert row("pageview", "/pricing")["props"] == STORED_CUSTOM_PROPS
    assert row("Signup")["props"] == {**STORED_CUSTOM_PROPS, "plan": "pro"}
    assert row("Form: Submission")["props"] == STORED_CUSTOM_PROPS
    download = row("File Download")["props"]
    assert download == {**STORED_CUSTOM_PROPS, "url": f"{site_origin}/files/report.pdf"}
    outbound = row("Outbound Link: Click", "/pricing")["props"]
    assert outbound == {**STORED_CUSTOM_PROPS, "url": OUTBOUND}

    purchase_row = row("Purchase")
    assert purchase_row["revenue_amount"] == Decimal("15.99")
    assert purchase_row["revenue_currency"] == "USD"
    assert row("Video Autoplay")["interactive"] is False

    # Engagement: the first screen of a four-screen page on /, the bottom of /pricing.
    first, second = row("engagement"), row("engagement", "/pricing")
    assert first["scroll_depth"] == first_screen
    assert second["scroll_depth"] == 100
    for engagement in (first, second):
        assert engagement["interactive"] is False
        assert engagement["props"] == STORED_CUSTOM_PROPS
        assert isinstance(engagement["engagement_ms"], int), engagement
        assert 0 < engagement["engagement_ms"] < 60_000, engagement

    for event in events:
        assert event["hostname"] == "127.0.0.1", event
        assert event["is_bot"] is False, event
        assert event["browser"] == "Chrome", event
        # The visit's acquisition, from its first pageview, is stamped on every event.
        assert event["referrer"] == "news.ycombinator.com/item", event
        assert event["referrer_source"] == "newsletter", event
        assert (event["utm_source"], event["utm_medium"], event["utm_campaign"]) == (
            "newsletter",
            "email",
            "spring",
        ), event
        assert event["channel"] == "Email", event
        if event["name"] not in ("engagement", "Video Autoplay"):
            assert event["interactive"] is True, event
        if event["name"] != "engagement":
            assert event["scroll_depth"] is None and event["engagement_ms"] is None, event
        if event["name"] != "Purchase":
            assert event["revenue_amount"] is None and event["revenue_currency"] == "", event
    # One visitor, one visit, tied together without cookies or storage.
    assert len({e["visitor_id"] for e in events}) == 1, events
    assert len({e["session_id"] for e in events}) == 1, events
    assert events[0]["session_id"] != 0
