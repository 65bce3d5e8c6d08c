"""GoatCounter link_domain is stored as shown: an empty one now means a client emptied it.

Earlier versions stored "" for "never set" and showed the site's domain instead; those rows
get the domain they showed, so clients read the same Site objects after the upgrade.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE goatcounter_sites SET link_domain = "
        "(SELECT domain FROM sites WHERE sites.id = goatcounter_sites.site_id) "
        "WHERE link_domain = ''"
    )


def downgrade() -> None:
    pass  # the old code shows the domain for either value
