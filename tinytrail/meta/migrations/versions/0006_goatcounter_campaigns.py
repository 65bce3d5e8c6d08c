"""GoatCounter campaign ids: `/api/v0/stats/campaigns` addresses campaigns by integer id.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "goatcounter_campaigns",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "site_id",
            sa.Integer,
            sa.ForeignKey("sites.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column("name", sa.String(2048), nullable=False),
        sa.Column("name_digest", sa.String(64), nullable=False),
        sa.UniqueConstraint("site_id", "name_digest", name="uq_goatcounter_campaigns_site_digest"),
        # Campaign ids are in clients' hands: never reuse one.
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("goatcounter_campaigns")
