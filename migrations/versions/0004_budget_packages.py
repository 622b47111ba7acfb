"""budget packages uploaded by admins, one row per revision

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "budget_packages",
        sa.Column("id", BigId, nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("lines_name", sa.String(length=64), nullable=False),
        sa.Column("lines", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opens_at", When, nullable=True),
        sa.Column("closes_at", When, nullable=True),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("published_at", When, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["staff_users.id"],
            name=op.f("fk_budget_packages_created_by_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_packages")),
        sa.UniqueConstraint("slug", "revision", name=op.f("uq_budget_packages_slug")),
    )
    op.create_index(op.f("ix_budget_packages_slug"), "budget_packages", ["slug"])


def downgrade() -> None:
    op.drop_index(op.f("ix_budget_packages_slug"), table_name="budget_packages")
    op.drop_table("budget_packages")
