"""The data folder under test: sites made through the APIs, events loaded by `tinytrail import`."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import server
from bench.generate import BUSY_SITE, SITES

# Goals and the funnel, created through Plausible's Sites API on the busy site.
GOALS: tuple[dict[str, str], ...] = (
    {"goal_type": "page", "page_path": "/"},
    {"goal_type": "page", "page_path": "/pricing"},
    {"goal_type": "event", "event_name": "Signup"},
    {"goal_type": "event", "event_name": "Download"},
    {"goal_type": "event", "event_name": "Purchase", "currency": "USD"},
)
FUNNEL_NAME = "Home to signup"
CUSTOM_PROPS = ("plan", "file", "video")


@dataclass
class Sites:
    """What the bootstrap created: website ids by domain, and the busy site's goals."""

    ids: dict[str, str] = field(default_factory=dict)
    goals: list[dict[str, Any]] = field(default_factory=list)
    funnel_steps: list[str] = field(default_factory=list)


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.url} -> {response.status_code}: {response.text}")
    body: dict[str, Any] = response.json()
    return body


def bootstrap(data_dir: Path, log: Path) -> Sites:
    """Start a server on an empty data folder once; create the websites, goals and funnel."""
    sites = Sites()
    with server.tinytrail(data_dir, log) as proc:
        proc.start("/health")
        admin = {"X-API-KEY": server.ADMIN_KEY}
        bearer = {"Authorization": f"Bearer {server.ADMIN_KEY}"}
        with httpx.Client(base_url=proc.url, timeout=30) as client:
            for domain, _ in SITES:
                website = {"domain": domain, "timezone": "Etc/UTC"}
                created = _ok(client.post("/api/v1/websites", json=website, headers=admin))
                sites.ids[domain] = created["data"]["id"]
            for goal in GOALS:
                body = {"site_id": BUSY_SITE, **goal}
                sites.goals.append(
                    _ok(client.put("/api/v1/sites/goals", json=body, headers=bearer))
                )
            for prop in CUSTOM_PROPS:
                body = {"site_id": BUSY_SITE, "property": prop}
                _ok(client.put("/api/v1/sites/custom-props", json=body, headers=bearer))
            steps = ["Visit /", "Visit /pricing", "Signup"]
            funnel_body = {"site_id": BUSY_SITE, "name": FUNNEL_NAME, "steps": steps}
            funnel = _ok(client.put("/api/v1/sites/funnels", json=funnel_body, headers=bearer))
            sites.funnel_steps = [step["display_name"] for step in funnel["steps"]]
    return sites


def list_sites(url: str) -> Sites:
    """The same facts read back from a running server (for runs that reuse a data folder)."""
    sites = Sites()
    admin = {"X-API-KEY": server.ADMIN_KEY}
    bearer = {"Authorization": f"Bearer {server.ADMIN_KEY}"}
    with httpx.Client(base_url=url, timeout=30) as client:
        for website in _ok(client.get("/api/v1/websites", headers=admin))["data"]:
            sites.ids[website["domain"]] = website["id"]
        params = {"site_id": BUSY_SITE}
        sites.goals = _ok(client.get("/api/v1/sites/goals", params=params, headers=bearer))["goals"]
        funnels = _ok(client.get("/api/v1/sites/funnels", params=params, headers=bearer))
        for funnel in funnels["funnels"]:
            if funnel["name"] == FUNNEL_NAME:
                sites.funnel_steps = [step["display_name"] for step in funnel["steps"]]
    return sites


@dataclass
class ImportResult:
    domain: str
    loaded: int
    seconds: float
    output: str


def import_site(data_dir: Path, domain: str, ndjson: Path, timeout: float) -> ImportResult:
    """`tinytrail import --site DOMAIN FILE` with no server running, timed."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tinytrail.cli", "import", "--site", domain, "--data-dir",
         str(data_dir), str(ndjson)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise RuntimeError(f"import of {domain} failed ({done.returncode}): {output[-2000:]}")
    loaded = int(output.split("loaded ", 1)[1].split(",", 1)[0]) if "loaded " in output else 0
    return ImportResult(domain, loaded, seconds, output.splitlines()[0] if output else "")
