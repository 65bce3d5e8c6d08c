"""The dashboard in a real browser: how long until a busy site's first numbers show.

Headless Chromium signs in once, then opens the site's dashboard (last 30 days) several times.
The page's script sets User Timing marks: `tt:first-numbers` when the top stats are on screen,
`tt:loaded` when the graph and every panel are. Times are from the start of navigation, so they
include the HTML, the script and the data requests. The first visit is reported as cold (server
caches and the browser's cache empty), the median of the rest as warm.

Standalone: `python -m bench.dashboard URL DOMAIN API_KEY [RUNS]`.
"""

from __future__ import annotations

import gzip
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.report import Figure, verdict

CHROMIUM = Path("/usr/bin/chromium")
MARKS = """() => Object.fromEntries(["tt:first-numbers", "tt:loaded"].map(
    (name) => [name, (performance.getEntriesByName(name)[0] || {}).startTime ?? null]))"""


@dataclass(frozen=True)
class DashboardTiming:
    cold_first_ms: float
    cold_loaded_ms: float
    warm_first_ms: float
    warm_loaded_ms: float
    runs: int
    assets_gzip_bytes: int


def asset_bytes(url: str) -> int:
    """The page's own JS and CSS, gzipped as the server sends them."""
    total = 0
    for name in ("dashboard.js", "dashboard.css"):
        body = httpx.get(f"{url}/dashboard/static/{name}", headers={"Accept-Encoding": "identity"})
        body.raise_for_status()
        total += len(gzip.compress(body.content, 9))
    return total


def measure(url: str, domain: str, api_key: str, runs: int = 7) -> DashboardTiming:
    from playwright.sync_api import sync_playwright  # the test extra; only the bench needs it

    executable = str(CHROMIUM) if CHROMIUM.exists() else None
    target = f"{url}/sites/{domain}?period=30d"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(120_000)
            page.goto(f"{url}/login")
            page.fill("#api_key", api_key)
            page.click("form[action='/login'] button[type=submit]")
            page.wait_for_url("**/sites")
            timings = []
            for _ in range(max(2, runs)):
                page.goto(target)
                page.wait_for_selector("body[data-loaded=true]")
                marks = page.evaluate(MARKS)
                timings.append((float(marks["tt:first-numbers"]), float(marks["tt:loaded"])))
        finally:
            browser.close()
    warm = timings[1:]
    return DashboardTiming(
        cold_first_ms=timings[0][0],
        cold_loaded_ms=timings[0][1],
        warm_first_ms=statistics.median(t[0] for t in warm),
        warm_loaded_ms=statistics.median(t[1] for t in warm),
        runs=len(timings),
        assets_gzip_bytes=asset_bytes(url),
    )


def figures(timing: DashboardTiming, events: int) -> list[Figure]:
    """The dashboard section of docs/performance.md (issue 7's targets)."""
    where = f"busy site, last 30 days, {events:,} events stored, median of {timing.runs - 1} runs"
    return [
        Figure(
            f"first numbers on screen (top stats), warm; {where}",
            "< 1 s",
            f"{timing.warm_first_ms:.0f} ms",
            f"cold (first visit): {timing.cold_first_ms:.0f} ms",
            verdict=verdict(timing.warm_first_ms < 1000 and timing.cold_first_ms < 1000),
        ),
        Figure(
            "graph and every panel loaded, warm",
            "",
            f"{timing.warm_loaded_ms:.0f} ms",
            f"cold: {timing.cold_loaded_ms:.0f} ms",
        ),
        Figure(
            "the page's own JS and CSS, gzipped",
            "< 60 KB",
            f"{timing.assets_gzip_bytes:,} bytes",
            verdict=verdict(timing.assets_gzip_bytes < 60 * 1024),
        ),
    ]


if __name__ == "__main__":
    base, site, key = sys.argv[1:4]
    result = measure(base, site, key, int(sys.argv[4]) if len(sys.argv) > 4 else 7)
    print(result)
