"""Per-site configuration: goals, funnels, shared links, custom props, aliases, tracker options.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
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
        "goals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _site_id(),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("event_name", sa.String(120)),
        sa.Column("page_path", sa.String(2000)),
        sa.Column("scroll_threshold", sa.Integer, nullable=False),
        sa.Column("currency", sa.String(3)),
        sa.Column("custom_props", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("site_id", "display_name", name="uq_goals_site_display_name"),
        # Never reuse a deleted goal's id: clients and funnels refer to goals by id.
        sqlite_autoincrement=True,
    )
    op.create_table(
        "funnels",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _site_id(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("steps", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("site_id", "name", name="uq_funnels_site_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "shared_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _site_id(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("site_id", "name", name="uq_shared_links_site_name"),
    )
    op.create_table(
        "custom_props",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _site_id(),
        sa.Column("property", sa.String(300), nullable=False),
        sa.UniqueConstraint("site_id", "property", name="uq_custom_props_site_prop"),
    )
    op.create_table(
        "site_aliases",
        sa.Column("domain", sa.String(255), primary_key=True),
        _site_id(),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "site_tracker_configs",
        _site_id(primary_key=True),
        sa.Column("config", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "site_tracker_configs",
        "site_aliases",
        "custom_props",
        "shared_links",
        "funnels",
        "goals",
    ):
        op.drop_table(table)
