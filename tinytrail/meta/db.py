"""The metadata database: engine, migrations on start, sessions.

SQLite in the data folder by default; PostgreSQL when several servers share one metadata store.
`postgresql://` and `postgres://` URLs mean the psycopg 3 driver (the `postgres` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from tinytrail.settings import SettingsError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Requests run on a pool of 40 threads: let each have a connection rather than wait for one.
PG_POOL = {"pool_size": 10, "max_overflow": 30, "pool_timeout": 10}
# Any constant shared by every TinyTrail process: the lock that serialises their migrations.
MIGRATION_LOCK = 0x7417_7241


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Foreign keys make ON DELETE CASCADE work; WAL lets readers run while a request writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # SQLite's own lower() folds ASCII only; PostgreSQL's folds every letter, as Python does.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def metadata_url(url: str) -> URL:
    """The URL with its driver spelled out; a SettingsError names what is wrong with it."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise SettingsError(f"TINYTRAIL_DATABASE_URL: not a database URL: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str) -> Engine:
    parsed = metadata_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        options = {**PG_POOL, "connect_args": {"application_name": "tinytrail"}}
    try:
        return create_engine(parsed, pool_pre_ping=True, **options)
    except (ImportError, NoSuchModuleError) as exc:
        hint = " (pip install 'tinytrail[postgres]')" if "postgres" in parsed.drivername else ""
        raise SettingsError(
            f"TINYTRAIL_DATABASE_URL: no driver for {parsed.drivername}{hint}: {exc}"
        ) from None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (run on every start; a no-op when current)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Servers sharing one database may start together: one migrates, the others wait
            # (the lock ends with the transaction) and then find nothing left to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
