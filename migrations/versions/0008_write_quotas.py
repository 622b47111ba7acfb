"""anonymous write quotas (drafts per page and per address), draft expiry

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "write_quotas",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_write_quotas")),
    )
    op.create_index(op.f("ix_write_quotas_expires_at"), "write_quotas", ["expires_at"])
    op.create_index(op.f("ix_drafts_created_at"), "drafts", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_drafts_created_at"), table_name="drafts")
    op.drop_index(op.f("ix_write_quotas_expires_at"), table_name="write_quotas")
    op.drop_table("write_quotas")
