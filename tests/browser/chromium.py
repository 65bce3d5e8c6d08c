"""Chromium for the browser tests: where Debian installs it and how the tracker tests launch it."""

from __future__ import annotations

from pathlib import Path

from tests.support import CHROME_UA

CHROMIUM = Path("/usr/bin/chromium")


def launch_args() -> list[str]:
    return [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        # The context's user_agent is applied per page through DevTools; keepalive requests
        # sent while a page unloads can leave without it and would carry "HeadlessChrome"
        # (a bot to the server). The browser-wide default keeps every request a desktop Chrome.
        f"--user-agent={CHROME_UA}",
    ]
