"""several workers: a covering index for the published-budgets stamp, shared headline intervals

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_index(
        "ix_budget_packages_published", "budget_packages", ["status", "slug", "revision"]
    )
    op.create_table(
        "insight_intervals",
        sa.Column("id", BigId, nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("resamples", sa.Integer(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("bounds", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_intervals")),
        sa.UniqueConstraint("key", name=op.f("uq_insight_intervals_key")),
    )
    op.create_index(op.f("ix_insight_intervals_slug"), "insight_intervals", ["slug"])


def downgrade() -> None:
    op.drop_index(op.f("ix_insight_intervals_slug"), table_name="insight_intervals")
    op.drop_table("insight_intervals")
    op.drop_index("ix_budget_packages_published", table_name="budget_packages")
