"""`tinytrail demo`: a site filled with realistic synthetic traffic, to explore reports with.

The traffic comes from `tinytrail.demo.traffic` (the generator of the benchmark's data set) and
goes in through the import path, so it is stored exactly as imported events are. The site gets
goals (two pages, a signup, a purchase with revenue) and a funnel through them, so every dashboard
panel has something to show. Like `import`, it opens the data folder directly unless a server
holds it, and then talks to that server over its APIs instead.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from tinytrail.cli_remote import fail, post_import, show_admin_key

if TYPE_CHECKING:
    from tinytrail.ingest.importer import ImportSummary
    from tinytrail.runtime import Runtime
    from tinytrail.settings import Settings

DEFAULT_DOMAIN = "demo.example"
CHUNK = 1 << 20
# (goal type, the goal's event name or page path, revenue currency); the funnel's steps are
# the goals' display names, as the Plausible Sites API takes them.
GOALS: tuple[tuple[str, str, str | None], ...] = (
    ("page", "/", None),
    ("event", "Signup", None),
    ("page", "/pricing", None),
    ("event", "Purchase", "USD"),
)
FUNNEL = ("Visit to signup", ["Visit /", "Visit /pricing", "Signup"])


def demo_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo",
        help="create a demo site filled with realistic synthetic traffic",
        description="Create a site (default demo.example) with goals and a funnel, and fill "
        "it with the last DAYS days of synthetic traffic up to now. Without --server the data "
        "folder is opened directly; if a server holds it, the server is asked instead.",
    )
    parser.add_argument("--site", default=DEFAULT_DOMAIN, help="the demo site's domain")
    parser.add_argument("--days", type=_positive, default=30, help="days of traffic (30)")
    parser.add_argument(
        "--events", type=_positive, default=60_000, help="events in all (about; 60000)"
    )
    parser.add_argument("--seed", type=int, default=1, help="same seed, same traffic (1)")
    parser.add_argument("--data-dir", dest="data_dir", default=None, help="the data folder")
    parser.add_argument(
        "--server", default=None, help="ask this server's URL (default: TINYTRAIL_URL)"
    )
    parser.add_argument(
        "--api-key",
        dest="api_key",
        default=None,
        help="admin API key for --server (default: TINYTRAIL_ADMIN_API_KEY)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def cmd_demo(args: argparse.Namespace, settings: Settings, server: str) -> int:
    domain = args.site.strip().lower()
    with tempfile.TemporaryFile() as traffic:
        events = _write_traffic(traffic, domain, args.days, args.events, args.seed)
        traffic.seek(0)
        chunks = iter(lambda: traffic.read(CHUNK), b"")
        if server:
            summary = _via_server(server, args.api_key or settings.admin_api_key, domain, chunks)
        else:
            summary = _here(settings, domain, chunks)
    if summary is None:
        return 2
    print(f"demo site {domain}: {summary.loaded} of {events} events loaded", flush=True)
    for line, message in summary.errors[:5]:
        print(f"  line {line}: {message}")
    return 0 if summary.loaded else 1


def _write_traffic(sink: BinaryIO, domain: str, days: int, events: int, seed: int) -> int:
    """The traffic of the `days` days up to now (to the minute), as import lines."""
    from tinytrail.demo.traffic import SiteGenerator

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    generator = SiteGenerator(domain, events, days, int(now.timestamp()), seed, True, 300)
    return generator.write(sink).events


# -- on the data folder ---------------------------------------------------------------------------


def _here(settings: Settings, domain: str, chunks: Iterator[bytes]) -> ImportSummary | None:
    from tinytrail.ingest.importer import Importer, find_site, split_lines
    from tinytrail.runtime import Runtime

    runtime = Runtime(settings)
    try:
        key = runtime.bootstrap_admin()
        if key:
            show_admin_key(key, "created the admin account.", bool(settings.admin_api_key))
        site = find_site(runtime.sites, domain)
        if site is not None and runtime.store.first_event_at(site.id) is not None:
            fail(f"{domain} already has events; choose another --site or delete it first")
            return None
        admin = runtime.repo.first_admin()
        if site is None and admin is not None:
            created = runtime.repo.create_site(admin.account_id, domain)
            site = find_site(runtime.sites, created.uuid)
        if site is None:
            fail(f"could not create the site {domain}")
            return None
        _configure_here(runtime, site.id)
        summary = Importer.of(runtime).import_lines(site, split_lines(chunks))
        runtime.forget_old_salts()
        return summary
    finally:
        runtime.stop()


def _configure_here(runtime: Runtime, site_id: int) -> None:
    from tinytrail.meta.goals import GoalSpec

    for kind, name, currency in GOALS:
        if kind == "event":
            spec = GoalSpec(event_name=name, currency=currency)
        else:
            spec = GoalSpec(page_path=name)
        runtime.site_config.upsert_goal(site_id, spec)
    runtime.site_config.put_funnel(site_id, *FUNNEL)


# -- through a running server ---------------------------------------------------------------------


def _via_server(
    server: str, api_key: str, domain: str, chunks: Iterator[bytes]
) -> ImportSummary | None:
    import httpx

    if not api_key:
        fail("asking a server needs an admin key: --api-key or TINYTRAIL_ADMIN_API_KEY")
        return None
    base = server.rstrip("/")
    with httpx.Client(base_url=base, headers={"X-API-KEY": api_key}, timeout=30) as client:
        try:
            if not _ensure_site_remote(client, domain):
                return None
            for kind, name, currency in GOALS:
                goal: dict[str, Any] = {"site_id": domain, "goal_type": kind}
                goal["event_name" if kind == "event" else "page_path"] = name
                if currency:
                    goal["currency"] = currency
                _check(client.put("/api/v1/sites/goals", json=goal), "create a goal")
            funnel = {"site_id": domain, "name": FUNNEL[0], "steps": FUNNEL[1]}
            _check(client.put("/api/v1/sites/funnels", json=funnel), "create the funnel")
        except (httpx.HTTPError, _Refused) as exc:
            fail(f"{server}: {exc}")
            return None
    return post_import(
        server,
        api_key,
        domain,
        chunks,
        path="/api/v1/admin/import",
        content_type="application/x-ndjson",
    )


class _Refused(Exception):
    pass


def _check(response: Any, action: str) -> Any:
    if response.status_code >= 400:
        raise _Refused(f"could not {action}: {response.status_code} {response.text[:200]}")
    return response.json()


def _ensure_site_remote(client: Any, domain: str) -> bool:
    """Create the site unless it exists; an existing one must have no events yet."""
    if client.get(f"/api/v1/sites/{domain}").status_code == 404:
        _check(client.post("/api/v1/websites", json={"domain": domain}), "create the site")
        return True
    query = {"site_id": domain, "metrics": ["events"], "date_range": "all"}
    answer = _check(client.post("/api/v2/query", json=query), "count the site's events")
    if answer["results"] and answer["results"][0]["metrics"][0]:
        fail(f"{domain} already has events; choose another --site or delete it first")
        return False
    return True
