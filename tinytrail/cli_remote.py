"""What the command line's modules share: a new admin key shown once, the metadata database
opened directly, and talking to a running server instead of the data folder."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tinytrail.ingest.importer import ImportSummary
    from tinytrail.ingest.sites import SiteRules
    from tinytrail.meta.repo import MetaRepo
    from tinytrail.runtime import Runtime
    from tinytrail.settings import Settings


def fail(message: str) -> None:
    print(f"tinytrail: {message}", file=sys.stderr)


def show_admin_key(key: str, what: str, chosen: bool = False) -> None:
    """A new admin key, printed once to the terminal only (it is stored hashed and encrypted).

    A key the operator chose (TINYTRAIL_ADMIN_API_KEY) is never printed: they know it, and a
    server's output usually ends up in a log, where keys must not.
    """
    print(f"TinyTrail: {what}", flush=True)
    if chosen:
        print("TinyTrail: its API key is the one TINYTRAIL_ADMIN_API_KEY gives.", flush=True)
        return
    print(f"TinyTrail: admin API key: {key}", flush=True)
    print("TinyTrail: shown once; keep it safe; use it as the X-API-KEY header.", flush=True)


def metadata_repo(settings: Settings) -> MetaRepo:
    """The metadata database, opened (and migrated) without the rest of a runtime: a running
    server shares it safely."""
    from tinytrail.meta.db import make_engine, make_sessionmaker, migrate
    from tinytrail.meta.keys import KeyVault
    from tinytrail.meta.repo import MetaRepo

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.metadata_url)
    migrate(engine)
    return MetaRepo(make_sessionmaker(engine), KeyVault(settings.data_dir / "secret.key"))


def post_import(
    server: str,
    api_key: str,
    site_ref: str,
    chunks: Iterator[bytes],
    *,
    path: str,
    content_type: str,
) -> ImportSummary | None:
    """Stream a file to the server's admin import endpoint and read back its summary."""
    import httpx

    from tinytrail.ingest.importer import ImportSummary

    if not api_key:
        fail("sending to a server needs an admin key: --api-key or TINYTRAIL_ADMIN_API_KEY")
        return None
    try:
        response = httpx.post(
            f"{server.rstrip('/')}{path}",
            params={"site_id": site_ref},
            content=chunks,
            headers={"X-API-KEY": api_key, "Content-Type": content_type},
            # The answer comes once the whole file is in, however long that takes.
            timeout=httpx.Timeout(30, read=None, write=None),
        )
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        fail(f"import through {server} failed: {exc}")
        return None
    if response.status_code != 200 or not isinstance(body, dict) or "data" not in body:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        fail(f"{server} answered {response.status_code}: {error.get('message', body)}")
        return None
    data = body["data"]
    errors = [(int(e["line"]), str(e["message"])) for e in data["errors"]]
    return ImportSummary(int(data["loaded"]), int(data["skipped"]), errors)


def import_locally(
    settings: Settings,
    site_ref: str,
    load: Callable[[Runtime, SiteRules], ImportSummary | None],
) -> ImportSummary | None:
    """Open the data folder in this process (no server holds it) and run `load` on a site."""
    from tinytrail.ingest.importer import find_site
    from tinytrail.runtime import Runtime

    if not settings.events_path.exists():
        fail(f"no TinyTrail data in {settings.data_dir}; start the server once to create it")
        return None
    runtime = Runtime(settings)
    try:
        site = find_site(runtime.sites, site_ref)
        if site is None:
            fail(f"no site {site_ref!r} in {settings.data_dir}")
            return None
        summary = load(runtime, site)
        # Raw-IP lines created salts for their historical dates; they are needed no more.
        runtime.forget_old_salts()
        return summary
    finally:
        runtime.stop()


def store_in_use(settings: Settings) -> bool:
    """Whether another process (a server) holds the event store: DuckDB allows one owner."""
    import duckdb

    if not settings.events_path.exists():
        return False
    try:
        duckdb.connect(str(settings.events_path), read_only=True).close()
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return True
        raise
    return False


def running_server(settings: Settings) -> str:
    """The URL of the server holding this data folder, if it answers; else "".

    A serving server notes its URL in the data folder (it may have been given another port on
    its command line than this shell's settings say); the configured address is the fallback.
    """
    import httpx

    candidates = []
    if settings.address_note.exists():
        candidates.append(settings.address_note.read_text().strip())
    candidates.append(settings.local_url)
    for url in dict.fromkeys(candidates):
        try:
            if httpx.get(f"{url}/health", timeout=3).status_code == 200:
                return url
        except httpx.HTTPError:
            continue
    return ""
