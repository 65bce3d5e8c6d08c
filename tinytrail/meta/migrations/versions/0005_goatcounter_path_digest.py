"""GoatCounter paths are unique by a digest of the path, not the path itself.

A path may be 2048 characters, up to 8 KiB of UTF-8, and PostgreSQL refuses a B-tree entry over
2704 bytes, so the old unique constraint on (site_id, event, path) failed for long non-ASCII
paths. The SHA-256 of the path (hex) replaces the path in the constraint.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KEEP_IDS: dict[str, Any] = {"table_kwargs": {"sqlite_autoincrement": True}}
paths = sa.table(
    "goatcounter_paths",
    sa.column("id", sa.Integer),
    sa.column("path", sa.String),
    sa.column("path_digest", sa.String),
)


def _digest(path: str) -> str:
    # Kept here, not imported from the models: a migration must not change when they do.
    return hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()


def upgrade() -> None:
    op.add_column("goatcounter_paths", sa.Column("path_digest", sa.String(64)))
    connection = op.get_bind()
    rows = connection.execute(sa.select(paths.c.id, paths.c.path)).all()
    for path_id, path in rows:
        connection.execute(
            paths.update().where(paths.c.id == path_id).values(path_digest=_digest(path))
        )
    # SQLite cannot alter constraints in place: batch mode copies the table there, and runs
    # plain ALTER TABLE statements on PostgreSQL.
    with _ids_kept(connection), op.batch_alter_table("goatcounter_paths", **KEEP_IDS) as batch:
        batch.alter_column("path_digest", existing_type=sa.String(64), nullable=False)
        batch.drop_constraint("uq_goatcounter_paths_site_path", type_="unique")
        batch.create_unique_constraint(
            "uq_goatcounter_paths_site_digest", ["site_id", "event", "path_digest"]
        )


@contextmanager
def _ids_kept(connection: sa.Connection) -> Iterator[None]:
    """Path ids are never reused: the copied table takes over the old AUTOINCREMENT counter."""
    if connection.dialect.name != "sqlite":
        yield
        return
    sequence = sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'goatcounter_paths'")
    last = connection.execute(sequence).scalar()
    yield
    if last is not None:
        connection.execute(
            sa.text("UPDATE sqlite_sequence SET seq = :last WHERE name = 'goatcounter_paths'"),
            {"last": last},
        )


def downgrade() -> None:
    with _ids_kept(op.get_bind()), op.batch_alter_table("goatcounter_paths", **KEEP_IDS) as batch:
        batch.drop_constraint("uq_goatcounter_paths_site_digest", type_="unique")
        batch.create_unique_constraint(
            "uq_goatcounter_paths_site_path", ["site_id", "event", "path"]
        )
        batch.drop_column("path_digest")
