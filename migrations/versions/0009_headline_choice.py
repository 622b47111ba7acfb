"""per-budget choice of the headline method

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "headline_choices",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("changed_at", When, nullable=False),
        sa.Column("changed_by", BigId, nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["staff_users.id"],
            name=op.f("fk_headline_choices_changed_by_staff_users"),
        ),
        sa.PrimaryKeyConstraint("slug", name=op.f("pk_headline_choices")),
    )


def downgrade() -> None:
    op.drop_table("headline_choices")
