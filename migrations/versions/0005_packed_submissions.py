"""one row per submission: amounts packed in the submission row, answers as JSON

A submission's amounts move from `allocations` (one row per line) into `submissions.amounts`:
little-endian int64 cents in the order of its budget version's `line_ids`, with INT64_MIN for
a line it has no amount for. Its answers move from `answers` into `submissions.answers`, a
JSON object. Storing and reading a submission becomes one row instead of forty or more.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00
"""

import json
import struct

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MISSING = -(2**63)
BATCH = 5_000


def _pack(line_ids: list[str], amounts: dict[str, int]) -> bytes:
    return struct.pack(f"<{len(line_ids)}q", *(amounts.get(i, MISSING) for i in line_ids))


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("amounts", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("answers", sa.Text(), nullable=False, server_default="{}"))
    bind = op.get_bind()
    versions = dict(bind.execute(sa.text("SELECT id, line_ids FROM budget_versions")).all())
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, budget_version_id FROM submissions WHERE id > :last ORDER BY id "
                "LIMIT :batch"
            ),
            {"last": last, "batch": BATCH},
        ).all()
        if not rows:
            break
        low, high = rows[0][0], rows[-1][0]
        amounts: dict[int, dict[str, int]] = {sid: {} for sid, _ in rows}
        answers: dict[int, dict[str, str]] = {sid: {} for sid, _ in rows}
        span = {"low": low, "high": high}
        for sid, line_id, amount in bind.execute(
            sa.text(
                "SELECT submission_id, line_id, amount FROM allocations "
                "WHERE submission_id BETWEEN :low AND :high"
            ),
            span,
        ):
            amounts[sid][line_id] = amount
        for sid, question_id, value in bind.execute(
            sa.text(
                "SELECT submission_id, question_id, value FROM answers "
                "WHERE submission_id BETWEEN :low AND :high"
            ),
            span,
        ):
            answers[sid][question_id] = value
        bind.execute(
            sa.text("UPDATE submissions SET amounts = :amounts, answers = :answers WHERE id = :id"),
            [
                {
                    "id": sid,
                    "amounts": _pack(json.loads(versions[version]), amounts[sid]),
                    "answers": json.dumps(answers[sid], sort_keys=True),
                }
                for sid, version in rows
            ],
        )
        last = high
    op.drop_table("answers")
    op.drop_table("allocations")
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("amounts", existing_type=sa.LargeBinary(), nullable=False)
    op.create_index(
        "ix_submissions_budget_slug_flagged_id", "submissions", ["budget_slug", "flagged", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_submissions_budget_slug_flagged_id", table_name="submissions")
    op.create_table(
        "allocations",
        sa.Column("submission_id", BigId, nullable=False),
        sa.Column("line_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_allocations_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", "line_id", name=op.f("pk_allocations")),
    )
    op.create_table(
        "answers",
        sa.Column("submission_id", BigId, nullable=False),
        sa.Column("question_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_answers_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", "question_id", name=op.f("pk_answers")),
    )
    bind = op.get_bind()
    versions = dict(bind.execute(sa.text("SELECT id, line_ids FROM budget_versions")).all())
    allocations, answers = [], []
    for sid, version, packed, answered in bind.execute(
        sa.text("SELECT id, budget_version_id, amounts, answers FROM submissions")
    ):
        line_ids = json.loads(versions[version])
        values = struct.unpack(f"<{len(line_ids)}q", packed)
        allocations += [
            {"submission_id": sid, "line_id": line_id, "amount": value}
            for line_id, value in zip(line_ids, values, strict=True)
            if value != MISSING
        ]
        answers += [
            {"submission_id": sid, "question_id": q, "value": v}
            for q, v in json.loads(answered).items()
        ]
    if allocations:
        bind.execute(
            sa.text("INSERT INTO allocations VALUES (:submission_id, :line_id, :amount)"),
            allocations,
        )
    if answers:
        bind.execute(
            sa.text("INSERT INTO answers VALUES (:submission_id, :question_id, :value)"), answers
        )
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("answers")
        batch.drop_column("amounts")
