"""GoatCounter compatibility: per-site GoatCounter fields, path ids and titles, export jobs.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _site_id(*, primary_key: bool = False) -> sa.Column[int]:
    return sa.Column(
        "site_id",
        sa.Integer,
        sa.ForeignKey("sites.id", ondelete="CASCADE"),
        nullable=False,
        primary_key=primary_key,
        index=not primary_key,
    )


def upgrade() -> None:
    op.create_table(
        "goatcounter_sites",
        _site_id(primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("cname", sa.String(255), unique=True),
        sa.Column("link_domain", sa.String(255), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "goatcounter_paths",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _site_id(),
        sa.Column("path", sa.String(2048), nullable=False),
        sa.Column("event", sa.Boolean, nullable=False),
        sa.Column("title", sa.String(1024), nullable=False),
        sa.UniqueConstraint("site_id", "event", "path", name="uq_goatcounter_paths_site_path"),
        # Path ids are cursors and filters in clients' hands: never reuse one.
        sqlite_autoincrement=True,
    )
    op.create_table(
        "goatcounter_exports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _site_id(),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("start_from_hit_id", sa.BigInteger, nullable=False),
        sa.Column("last_hit_id", sa.BigInteger),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("num_rows", sa.BigInteger),
        sa.Column("size", sa.String(32)),
        sa.Column("hash", sa.String(80)),
        sa.Column("error", sa.String(1000)),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for table in ("goatcounter_exports", "goatcounter_paths", "goatcounter_sites"):
        op.drop_table(table)
