"""Data migrations on a real SQLite file: rows written by an older version read the same."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from tinytrail.meta.db import MIGRATIONS_DIR, make_engine, migrate


def test_goatcounter_link_domains_never_set_keep_showing_the_domain(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO accounts (id, name, created_at) VALUES ('a', 'A', '2026-01-01')")
        )
        for site_id, domain in ((1, "one.example"), (2, "two.example")):
            connection.execute(
                text(
                    "INSERT INTO sites (id, uuid, account_id, domain, timezone, content_groups, "
                    "excluded_ips, created_at) "
                    "VALUES (:id, :uuid, 'a', :domain, 'Etc/UTC', '[]', '[]', '2026-01-01')"
                ),
                {"id": site_id, "uuid": f"u{site_id}", "domain": domain},
            )
        connection.execute(
            text(
                "INSERT INTO goatcounter_sites (site_id, code, link_domain, settings) VALUES "
                "(1, 'serve-1', '', '{}'), (2, 'serve-2', 'elsewhere.example', '{}')"
            )
        )
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT site_id, link_domain FROM goatcounter_sites ORDER BY site_id")
        ).all()
    assert [tuple(row) for row in rows] == [(1, "one.example"), (2, "elsewhere.example")]
