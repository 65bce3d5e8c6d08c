"""The metadata store on a real PostgreSQL server, through every API that writes it.

Each test gets a fresh database in one throwaway cluster (see `pgcluster`): migrations run on
an empty database, then real servers keep accounts, keys, sites, goals, funnels, shared links,
custom props, aliases and GoatCounter fields there, across a restart of TinyTrail and of
PostgreSQL itself. Skipped only when no PostgreSQL server binaries are installed.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, LiteralString

import httpx
import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from tests.support import ADMIN_KEY, CHROME_UA, Server, start_server
from tests.system.pgcluster import Cluster, find_bin_dir, running_cluster
from tests.system.serverproc import ServerProcess
from tinytrail.meta.db import MIGRATIONS_DIR, make_engine, migrate
from tinytrail.meta.models import Base
from tinytrail.settings import SettingsError

BIN_DIR = find_bin_dir()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BIN_DIR is None,
        reason="PostgreSQL server binaries not found (no /usr/lib/postgresql/*/bin/initdb); "
        "`make postgres-deps` as root installs them",
    ),
]
# 1,500 random CJK characters: 4.5 KB of UTF-8 that does not compress, more than a B-tree entry.
_RANDOM = random.Random(7)
LONG_PATH = "/" + "".join(chr(_RANDOM.randint(0x4E00, 0x9FFF)) for _ in range(1500))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    assert BIN_DIR is not None
    with running_cluster(BIN_DIR) as running:
        yield running


@pytest.fixture
def database(cluster: Cluster) -> str:
    """A fresh, empty database's name."""
    name = "tt_" + uuid.uuid4().hex[:12]
    cluster.create_database(name)
    return name


def rows(cluster: Cluster, database: str, sql: LiteralString) -> list[tuple[Any, ...]]:
    """Read the database behind the server's back."""
    with psycopg.connect(cluster.dsn(database)) as connection:
        return connection.execute(sql).fetchall()


# -- the schema -----------------------------------------------------------------------------------


def test_migrations_build_the_models_schema_on_an_empty_database(
    cluster: Cluster, database: str
) -> None:
    # A bare postgresql:// URL means the psycopg 3 driver.
    engine = make_engine(cluster.url(database).replace("postgresql+psycopg://", "postgresql://"))
    try:
        assert engine.dialect.driver == "psycopg"
        migrate(engine)
        migrate(engine)  # every start runs it: a no-op once current
        head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).all()
            assert version == [(head,)]
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            tables = set(inspect(connection).get_table_names())
        assert tables == {*Base.metadata.tables, "alembic_version"}
    finally:
        engine.dispose()


def test_servers_starting_together_migrate_once(cluster: Cluster, database: str) -> None:
    url = cluster.url(database).replace("postgresql+psycopg://", "postgres://")
    engines = [make_engine(url) for _ in range(3)]
    failures: list[BaseException] = []

    def start(engine: Any) -> None:
        try:
            migrate(engine)
        except BaseException as exc:  # collected for the assertion below
            failures.append(exc)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    assert failures == []
    assert len(rows(cluster, database, "SELECT * FROM alembic_version")) == 1


def test_the_sqlite_schema_matches_the_models_too(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    try:
        migrate(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            # lower() folds every letter, as PostgreSQL's does, not ASCII only.
            assert connection.execute(text("SELECT lower('/ÉTÉ')")).scalar() == "/été"
    finally:
        engine.dispose()


def test_a_missing_driver_is_named_in_the_error() -> None:
    with pytest.raises(SettingsError, match="TINYTRAIL_DATABASE_URL: no driver"):
        make_engine("postgresql+pg8000://nobody@127.0.0.1/none")


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


# -- every API, a restart -------------------------------------------------------------------------


class Client:
    """One key's HTTP client for a real server process."""

    def __init__(self, base: str, key: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30, headers={"X-API-KEY": key})
        self.key = key

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        return response.json()

    def status(self, method: str, path: str, **kwargs: Any) -> int:
        return self.http.request(method, path, **kwargs).status_code


def _tenant(admin: Client, name: str) -> Client:
    account = admin.ok("POST", "/api/v1/accounts", 201, json={"name": name})["data"]["id"]
    user = admin.ok(
        "POST",
        "/api/v1/users",
        201,
        json={"account_id": account, "role": "user", "email": f"{name.lower()}@example.com"},
    )["data"]
    return Client(str(admin.http.base_url), user["apiKey"])


def _collect(
    client: Client, website: str, host: str, path: str, ip: str, status: int = 202
) -> None:
    url = f"https://{host}{path}"
    body = {"website_id": website, "event_type": "page_view", "url": url, "path": path}
    headers = {"User-Agent": CHROME_UA, "X-Forwarded-For": ip}
    assert client.status("POST", "/api/v1/collect", json=body, headers=headers) == status


def _visitors(client: Client, domain: str, expected: int) -> int:
    """Visitors of all time, asked until the expected count shows (the store flushes twice a
    second) or ten seconds have passed."""
    body = {"site_id": domain, "metrics": ["visitors"], "date_range": "all"}
    deadline = time.monotonic() + 10
    while True:
        result = client.ok("POST", "/api/v2/query", json=body)["results"]
        count = int(result[0]["metrics"][0]) if result else 0
        if count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def _configure_shop(shop: Client) -> dict[str, Any]:
    """Everything the Plausible Sites API keeps for a site; returns it as listed."""
    site = {"domain": "shop.example", "timezone": "Europe/Berlin"}
    shop.ok("POST", "/api/v1/sites", json=site)
    goals = [
        shop.ok("PUT", "/api/v1/sites/goals", json={"site_id": "shop.example", **goal})
        for goal in (
            {"goal_type": "page", "page_path": "/pricing"},
            {"goal_type": "event", "event_name": "Signup", "custom_props": {"plan": "pro"}},
            {"goal_type": "event", "event_name": "Purchase", "currency": "EUR"},
        )
    ]
    steps = ["Visit /pricing", goals[1]["id"], "Purchase"]
    funnel = {"site_id": "shop.example", "name": "Checkout", "steps": steps}
    shop.ok("PUT", "/api/v1/sites/funnels", json=funnel)
    link = {"site_id": "shop.example", "name": "Public"}
    shop.ok("PUT", "/api/v1/sites/shared-links", json=link)
    for prop in ("plan", "Größe", "author"):
        shop.ok(
            "PUT", "/api/v1/sites/custom-props", json={"site_id": "shop.example", "property": prop}
        )
    return _shop_state(shop)


def _shop_state(shop: Client) -> dict[str, Any]:
    def listed(kind: str) -> Any:
        return shop.ok("GET", f"/api/v1/sites/{kind}", params={"site_id": "shop.example"})

    return {
        "site": shop.ok("GET", "/api/v1/sites/shop.example"),
        "goals": listed("goals"),
        "funnels": listed("funnels"),
        "links": listed("shared-links"),
        "props": listed("custom-props"),
    }


def _goatcounter(client: Client, site_id: int) -> None:
    settings = {"cname": "stats.blog.example", "settings": {"public": "public"}}
    client.ok("PATCH", f"/api/v0/sites/{site_id}", json=settings)
    hits = [
        {"path": path, "title": title, "user_agent": CHROME_UA, "ip": "203.0.113.9"}
        for path, title in (("/a", "Page A"), ("/É", "Accent"), (LONG_PATH, "Long"))
    ]
    assert client.status("POST", "/api/v0/count", json={"hits": hits}) == 202


def _goatcounter_state(client: Client, site_id: int) -> dict[str, Any]:
    return {
        "site": client.ok("GET", f"/api/v0/sites/{site_id}"),
        "paths": client.ok("GET", "/api/v0/paths"),
        "me": client.ok("GET", "/api/v0/me"),
    }


@contextmanager
def _running(server: ServerProcess) -> Iterator[ServerProcess]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_every_api_keeps_its_metadata_in_postgres_across_a_restart(
    cluster: Cluster, database: str, tmp_path: Path
) -> None:
    # One process object, so the restarted server has the same port (shared links name it).
    process = ServerProcess(tmp_path / "data", TINYTRAIL_DATABASE_URL=cluster.url(database))
    with _running(process) as server:
        admin = Client(server.url, ADMIN_KEY)
        blog, shop = _tenant(admin, "Blog"), _tenant(admin, "Shop")
        # A TinyTrail website with every field, and a scoped key for it.
        fields = {
            "domain": "blog.example",
            "timezone": "America/New_York",
            "content_groups": [{"name": "Docs", "pattern": "/docs/*"}],
            "excluded_ips": ["198.51.100.0/24"],
        }
        website = blog.ok("POST", "/api/v1/websites", 201, json=fields)["data"]
        scoped = blog.ok(
            "POST", "/api/v1/api-keys", 201, json={"name": "counter", "scopes": ["count"]}
        )["data"]
        shop_state = _configure_shop(shop)
        props = shop_state["props"]["custom_properties"]
        assert [p["property"] for p in props] == ["plan", "Größe", "author"]
        assert len(shop_state["goals"]["goals"]) == 3
        assert len(shop_state["funnels"]["funnels"][0]["steps"]) == 3
        # Two more sites: one renamed, one deleted with everything hanging off it.
        shop.ok("POST", "/api/v1/sites", json={"domain": "old.example"})
        shop.ok("PUT", "/api/v1/sites/old.example", json={"domain": "new.example"})
        shop.ok("POST", "/api/v1/sites", json={"domain": "gone.example"})
        shop.ok(
            "PUT",
            "/api/v1/sites/goals",
            json={"site_id": "gone.example", "goal_type": "event", "event_name": "X"},
        )
        shop.ok("DELETE", "/api/v1/sites/gone.example")
        gc_site = blog.ok("GET", "/api/v0/sites")["sites"][0]["id"]
        _goatcounter(blog, gc_site)

        for n in range(3):
            _collect(blog, website["id"], "blog.example", f"/docs/{n}", f"192.0.2.{n}")
        # The site's excluded_ips, read back from PostgreSQL, drop this one.
        _collect(blog, website["id"], "blog.example", "/ignored", "198.51.100.7", 204)
        event = {"name": "pageview", "url": "https://old.example/", "domain": "old.example"}
        headers = {"User-Agent": CHROME_UA, "X-Forwarded-For": "192.0.2.50"}
        assert shop.status("POST", "/api/event", json=event, headers=headers) == 202
        _isolated(blog, shop)
        before = _everything(admin, blog, shop, scoped["key"], gc_site)
        assert before["websites"] == [website]
        # Three collected, one from the GoatCounter hits; the excluded address is not counted.
        assert (before["blog_visitors"], before["renamed_visitors"]) == (4, 1)
        assert before["scoped_may_not_read_stats"] == 403
        _assert_recent_utc(website["createdAt"])
        goat = _goatcounter_state(blog, gc_site)
        assert goat["site"]["cname"] == "stats.blog.example"
        assert {"/a", "/É", LONG_PATH} <= {p["path"] for p in goat["paths"]["paths"]}

    with _running(process) as server:
        admin = Client(server.url, ADMIN_KEY)
        blog, shop = Client(server.url, blog.key), Client(server.url, shop.key)
        after = _everything(admin, blog, shop, scoped["key"], gc_site)
        assert after == before
        assert _shop_state(shop) == shop_state
        assert _goatcounter_state(blog, gc_site) == goat
        # The dropped site's configuration went with it; only the bootstrap admin was made once.
        assert not (tmp_path / "data" / "tinytrail.sqlite3").exists()
    assert rows(cluster, database, "SELECT count(*) FROM users WHERE role = 'admin'") == [(1,)]
    assert rows(cluster, database, "SELECT count(*) FROM sites") == [(3,)]
    assert rows(cluster, database, "SELECT count(*) FROM goals") == [(3,)]


def _assert_recent_utc(stamp: str) -> None:
    """The API's UTC timestamp is now, though the database session runs 12:45 ahead of UTC."""
    assert stamp.endswith("Z")
    moment = datetime.fromisoformat(stamp.removesuffix("Z") + "+00:00")
    assert abs(datetime.now(UTC) - moment) < timedelta(minutes=5)


def _isolated(blog: Client, shop: Client) -> None:
    """One account's sites are invisible to another on every API."""
    assert [s["domain"] for s in shop.ok("GET", "/api/v1/websites")["data"]] == [
        "shop.example",
        "new.example",
    ]
    assert [s["domain"] for s in blog.ok("GET", "/api/v1/sites")["sites"]] == ["blog.example"]
    assert blog.status("GET", "/api/v1/sites/shop.example") == 404
    assert blog.status("GET", "/api/v1/sites/goals", params={"site_id": "shop.example"}) == 404
    assert len(shop.ok("GET", "/api/v0/sites")["sites"]) == 2


def _everything(
    admin: Client, blog: Client, shop: Client, scoped_key: str, gc_site: int
) -> dict[str, Any]:
    scoped = Client(str(blog.http.base_url), scoped_key)
    return {
        # First: once these show, every hit is in the store (GoatCounter's received_data too).
        "blog_visitors": _visitors(blog, "blog.example", 4),
        "renamed_visitors": _visitors(shop, "new.example", 1),
        "accounts": admin.ok("GET", "/api/v1/accounts"),
        "users": admin.ok("GET", "/api/v1/users"),
        "websites": blog.ok("GET", "/api/v1/websites")["data"],
        "shop_sites": shop.ok("GET", "/api/v1/sites"),
        "keys": blog.ok("GET", "/api/v1/api-keys"),
        "scoped_may_not_read_stats": scoped.status("GET", "/api/v0/paths"),
        "gc_sites": blog.ok("GET", "/api/v0/sites"),
        "teams": shop.ok("GET", "/api/v1/sites/teams"),
        "old_domain_still_names_it": shop.ok("GET", "/api/v1/sites/old.example")["domain"],
    }


# -- what PostgreSQL refuses, refused alike -------------------------------------------------------


@pytest.fixture
def pg_server(cluster: Cluster, database: str, tmp_path: Path) -> Iterator[Server]:
    """An in-process server (injectable clock) on the fresh database."""
    yield from start_server(tmp_path / "data", TINYTRAIL_DATABASE_URL=cluster.url(database))


def test_text_postgres_cannot_store_gets_a_clear_error_not_a_500(pg_server: Server) -> None:
    client, admin = pg_server.client, pg_server.admin
    key, _ = pg_server.tenant("nul.example")
    plausible = {"Authorization": f"Bearer {key}"}
    refused = [
        client.post("/api/v1/accounts", json={"name": "a\x00b"}, headers=admin),
        client.post("/api/v1/api-keys", json={"name": "k\x00"}, headers={"X-API-KEY": key}),
        client.put(
            "/api/v1/sites/goals",
            json={"site_id": "nul.example", "goal_type": "event", "event_name": "e\x00"},
            headers=plausible,
        ),
        client.put(
            "/api/v1/sites/custom-props",
            json={"site_id": "nul.example", "property": "p\x00"},
            headers=plausible,
        ),
        client.put(
            "/api/v1/sites/shared-links",
            json={"site_id": "nul.example", "name": "n\x00"},
            headers=plausible,
        ),
    ]
    assert [response.status_code for response in refused] == [400] * 5
    assert "NUL" in refused[0].json()["error"]["message"]
    assert "NUL" in refused[2].json()["error"]
    # Looking up by a name holding U+0000 finds nothing instead of failing.
    site = client.get("/api/v1/sites/nul%00.example", headers=plausible)
    goals = client.get("/api/v1/sites/goals", params={"site_id": "x\x00"}, headers=plausible)
    link = client.delete(
        "/api/v1/sites/shared-links/n%00", params={"site_id": "nul.example"}, headers=plausible
    )
    assert [site.status_code, goals.status_code, link.status_code] == [404] * 3, link.text


def test_ids_beyond_a_32_bit_column_name_nothing(pg_server: Server) -> None:
    client = pg_server.client
    key, _ = pg_server.tenant("ids.example")
    plausible = {"Authorization": f"Bearer {key}"}
    for kind in ("goals", "funnels"):
        response = client.delete(
            f"/api/v1/sites/{kind}/99999999999",
            params={"site_id": "ids.example"},
            headers=plausible,
        )
        assert response.status_code == 404, response.text
    for path in ("/export/99999999999", "/stats/hits/99999999999", "/sites/99999999999"):
        response = client.get(f"/api/v0{path}", headers=plausible)
        assert response.status_code == 404, f"{path}: {response.text}"
    # A cursor past every id pages from the start; one beyond BIGINT is no cursor at all.
    export = {"start_from_hit_id": 2**64}
    response = client.post("/api/v0/export", json=export, headers=plausible)
    assert response.status_code == 400, response.text


def test_timestamps_come_back_in_utc_whatever_the_session_zone(pg_server: Server) -> None:
    repo = pg_server.runtime.repo
    # Stored from another zone, read back through a session running at UTC+12:45.
    account = repo.create_account("Zones")
    with pg_server.runtime.meta_db.connect() as connection:
        assert connection.execute(text("SHOW timezone")).scalar() == "Pacific/Chatham"
    stored = repo.get_account(account.id)
    assert stored is not None
    assert stored.created_at.utcoffset() == timedelta(0)
    assert stored.created_at == account.created_at


# -- concurrency and failover ---------------------------------------------------------------------


def test_concurrent_writers_of_the_same_rows_all_succeed(
    cluster: Cluster, database: str, tmp_path: Path
) -> None:
    process = ServerProcess(tmp_path / "data", TINYTRAIL_DATABASE_URL=cluster.url(database))
    with _running(process) as server:
        admin = Client(server.url, ADMIN_KEY)
        tenant = _tenant(admin, "Race")
        tenant.ok("POST", "/api/v1/sites", json={"domain": "race.example"})
        goal = {"site_id": "race.example", "goal_type": "event", "event_name": "Signup"}
        prop = {"site_id": "race.example", "property": "plan"}
        hits = {
            "hits": [
                {"path": f"/p{n}", "user_agent": CHROME_UA, "ip": "203.0.113.5"} for n in range(20)
            ]
        }
        calls: list[Callable[[], Any]] = [
            lambda: tenant.ok("PUT", "/api/v1/sites/goals", json=goal)["id"],
            lambda: tenant.ok("PUT", "/api/v1/sites/custom-props", json=prop),
            lambda: tenant.status("POST", "/api/v0/count", json=hits),
            lambda: tenant.status("POST", "/api/v1/sites", json={"domain": "same.example"}),
        ]
        results = _all_at_once(calls, copies=6)
        goals, props, counts, created = (results[i::4] for i in range(4))
        assert len(set(goals)) == 1, goals
        assert all(isinstance(answer, dict) for answer in props), props
        assert counts == [202] * 6
        # One creation wins; the others are told the domain is taken, none fails.
        assert sorted(created) == [200] + [400] * 5
    # Exactly one of each, however many requests raced to create it.
    assert rows(cluster, database, "SELECT count(*) FROM goals") == [(1,)]
    assert rows(cluster, database, "SELECT count(*) FROM custom_props") == [(1,)]
    assert rows(cluster, database, "SELECT count(*) FROM goatcounter_paths") == [(20,)]
    assert rows(cluster, database, "SELECT domain FROM sites ORDER BY id") == [
        ("race.example",),
        ("same.example",),
    ]


def _all_at_once(calls: list[Callable[[], Any]], copies: int) -> list[Any]:
    """Run each call `copies` times, all in threads released together; results in call order."""
    jobs = calls * copies
    results: list[Any] = [None] * len(jobs)
    gate = threading.Barrier(len(jobs))

    def run(index: int) -> None:
        gate.wait()
        try:
            results[index] = jobs[index]()
        except BaseException as exc:  # the assertion below shows it
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_the_server_rides_out_a_postgres_restart(cluster: Cluster, pg_server: Server) -> None:
    before = pg_server.create_account("Before")
    cluster.restart()  # every pooled connection is cut
    after = pg_server.create_account("After")
    accounts = pg_server.client.get("/api/v1/accounts", headers=pg_server.admin).json()["data"]
    assert {before, after} <= {account["id"] for account in accounts}
    assert pg_server.client.get("/health").status_code == 200
