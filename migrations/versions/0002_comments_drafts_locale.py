"""comments, drafts, the language of each submission

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 19:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(
            sa.Column("locale", sa.String(length=16), nullable=False, server_default="en")
        )
    op.create_table(
        "comments",
        sa.Column("submission_id", BigId, nullable=False),
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_comments_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", "line_id", name=op.f("pk_comments")),
    )
    op.create_table(
        "drafts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("budget_slug", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
        sa.UniqueConstraint("key", name=op.f("uq_drafts_key")),
    )


def downgrade() -> None:
    op.drop_table("drafts")
    op.drop_table("comments")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("locale")
