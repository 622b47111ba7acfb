"""participation funnel events (keyed by an HMAC of the ballot's nonce; no address)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "funnel_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("budget_slug", sa.String(length=64), nullable=False),
        sa.Column("ballot", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("within", sa.Boolean(), nullable=False),
        sa.Column("line_id", sa.String(length=64), nullable=True),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funnel_events")),
    )
    op.create_index(op.f("ix_funnel_events_at"), "funnel_events", ["at"])
    op.create_index("ix_funnel_events_budget_slug_at", "funnel_events", ["budget_slug", "at"])


def downgrade() -> None:
    op.drop_index("ix_funnel_events_budget_slug_at", table_name="funnel_events")
    op.drop_index(op.f("ix_funnel_events_at"), table_name="funnel_events")
    op.drop_table("funnel_events")
