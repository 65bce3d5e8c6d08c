"""Set-up and diagnosis commands: `tinytrail create-admin` and `tinytrail doctor`.

Both touch only what they must: `create-admin` writes one user to the metadata database (which a
running server shares safely), `doctor` only reads, and asks a running server for its health
instead of opening an event store that server holds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING

from tinytrail.cli_remote import fail, metadata_repo, show_admin_key

if TYPE_CHECKING:
    from tinytrail.settings import Settings

LOW_DISK_BYTES = 1 << 30


def setup_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = sub.add_parser(
        "create-admin",
        help="create an admin user and print its API key (e.g. when the first key is lost)",
    )
    admin.add_argument("--email", default=None, help="the new admin's e-mail (optional)")
    admin.add_argument("--data-dir", dest="data_dir", default=None, help="the data folder")
    doctor = sub.add_parser(
        "doctor", help="check the settings, data folder, stores, log and GeoIP database"
    )
    doctor.add_argument("--data-dir", dest="data_dir", default=None, help="the data folder")


def cmd_create_admin(args: argparse.Namespace, settings: Settings) -> int:
    """A new admin user in the oldest admin's account (or the first account, when none)."""
    from tinytrail.errors import InvalidInput

    repo = metadata_repo(settings)
    first = repo.first_admin()
    try:
        if first is not None:
            user, key = repo.create_user(first.account_id, "admin", args.email)
        else:
            user, key = repo.create_admin("Admin", None)
    except InvalidInput as exc:
        fail(exc.message)
        return 2
    show_admin_key(key, f"admin user {user.id} created.")
    return 0


# -- doctor ---------------------------------------------------------------------------------------


class Checkup:
    """Collects the verdicts; the exit status is 1 when any check failed."""

    def __init__(self) -> None:
        self.failed = 0

    def ok(self, what: str) -> None:
        print(f"ok    {what}")

    def warn(self, what: str) -> None:
        print(f"warn  {what}")

    def fail(self, what: str) -> None:
        self.failed += 1
        print(f"FAIL  {what}")


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    check = Checkup()
    print(f"TinyTrail doctor: data folder {settings.data_dir.resolve()}")
    if not settings.data_dir.is_dir():
        check.fail("no data folder there yet (the first `tinytrail serve` creates it)")
        return 1
    steps: list[Callable[[Settings, Checkup], None]] = [
        _data_folder,
        _metadata,
        _secret,
        _event_store,
        _write_ahead_log,
        _geoip,
    ]
    for step in steps:
        try:
            step(settings, check)
        except Exception as exc:  # a check that breaks is a finding, not a crash
            check.fail(f"{step.__name__.strip('_').replace('_', ' ')}: {exc}")
    if not settings.rate_limits:
        check.warn("rate limits are off (TINYTRAIL_RATE_LIMITS)")
    if not settings.wal_fsync:
        check.warn("the write-ahead log is not fsynced: a power cut can lose accepted events")
    print("all good" if not check.failed else f"{check.failed} problem(s) found")
    return 1 if check.failed else 0


def _data_folder(settings: Settings, check: Checkup) -> None:
    folder = settings.data_dir
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as exc:
        check.fail(f"{folder} is not writable: {exc}")
        return
    free = shutil.disk_usage(folder).free
    verdict = check.ok if free >= LOW_DISK_BYTES else check.warn
    verdict(f"data folder writable, {free / (1 << 30):.1f} GiB free")


def _metadata(settings: Settings, check: Checkup) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from tinytrail.meta.db import MIGRATIONS_DIR, make_engine

    url = settings.metadata_url
    kind = url.split(":", 1)[0]
    if kind.startswith("sqlite") and not (settings.data_dir / "tinytrail.sqlite3").exists():
        check.fail("no metadata database yet (the first `tinytrail serve` creates it)")
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    if current == head:
        check.ok(f"metadata database ({kind}) at schema revision {current}")
    else:
        check.warn(f"metadata schema at {current}, newest {head}: the next start migrates it")


def _secret(settings: Settings, check: Checkup) -> None:
    path = settings.data_dir / "secret.key"
    if not path.exists():
        check.fail(f"{path} is missing: stored API keys cannot be shown again without it")
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        check.warn(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
    else:
        check.ok("secret key present, private to its owner")


def _event_store(settings: Settings, check: Checkup) -> None:
    import duckdb

    from tinytrail.cli_remote import running_server, store_in_use

    path = settings.events_path
    if not path.exists():
        check.fail(f"no event store at {path} (the first `tinytrail serve` creates it)")
        return
    if store_in_use(settings):
        server = running_server(settings)
        if server:
            check.ok(f"event store held by the server at {server}, which reports healthy")
        else:
            check.fail("event store held by a process that does not answer /health")
        return
    with duckdb.connect(str(path), read_only=True) as con:
        row = con.execute("SELECT count(*) FROM events").fetchone()
    events = row[0] if row else 0
    size = path.stat().st_size
    check.ok(f"event store readable: {events:,} events, {size / (1 << 20):.1f} MiB")


def _write_ahead_log(settings: Settings, check: Checkup) -> None:
    segments = sorted(settings.wal_dir.glob("*.wal")) if settings.wal_dir.exists() else []
    pending = sum(path.stat().st_size for path in segments)
    if not pending:
        check.ok("write-ahead log empty")
    else:
        check.ok(
            f"write-ahead log holds {pending:,} bytes in {len(segments)} segment(s); "
            "a running server flushes them, a stopped one replays them on start"
        )


def _geoip(settings: Settings, check: Checkup) -> None:
    from tinytrail.ingest.geo import GeoLocator

    if not settings.geoip_db:
        check.ok("geolocation: bundled country table (set TINYTRAIL_GEOIP_DB for regions, cities)")
        return
    if not os.access(settings.geoip_db, os.R_OK):
        check.fail(f"TINYTRAIL_GEOIP_DB {settings.geoip_db} cannot be read")
        return
    GeoLocator(settings.geoip_db).close()
    check.ok(f"geolocation: {settings.geoip_db}")
