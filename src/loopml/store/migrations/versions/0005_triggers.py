"""Triggers: every firing of a pipeline trigger, deduplicated per trigger, linked to its run.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trigger_firings",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("trigger", sa.String(256), nullable=False),
        sa.Column("pipeline", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("dedupe_key", sa.String(256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("agent", sa.String(256), nullable=True),
        sa.Column("claimed_at", sa.BigInteger(), nullable=True),
        sa.Column("run_pk", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("fired_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_trigger_firings"),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name="fk_trigger_firings_run_pk_runs", ondelete="SET NULL"
        ),
        sa.UniqueConstraint("trigger", "dedupe_key", name="uq_trigger_firings_trigger_dedupe_key"),
    )
    op.create_index("ix_trigger_firings_state", "trigger_firings", ["state"])
    op.create_index("ix_trigger_firings_run_pk", "trigger_firings", ["run_pk"])


def downgrade() -> None:
    op.drop_table("trigger_firings")
