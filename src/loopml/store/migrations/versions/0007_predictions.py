"""The prediction log: Parquet segments of served predictions, and labels that arrive later.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prediction_segments",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("first_ms", sa.BigInteger(), nullable=False),
        sa.Column("last_ms", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_prediction_segments"),
        sa.UniqueConstraint("digest", name="uq_prediction_segments_digest"),
    )
    op.create_index(
        "ix_prediction_segments_model_first_ms", "prediction_segments", ["model", "first_ms"]
    )
    op.create_table(
        "prediction_labels",
        sa.Column("model", sa.String(256), nullable=False),
        sa.Column("request_id", sa.String(256), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("labelled_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("model", "request_id", name="pk_prediction_labels"),
    )


def downgrade() -> None:
    op.drop_table("prediction_labels")
    op.drop_table("prediction_segments")
