"""Pipelines: lineage edges between executions and what they read and write; the step cache.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lineage",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("content_hash", sa.String(71), nullable=False),
        sa.Column("digest", sa.String(71), nullable=True),
        sa.Column("dataset_version_pk", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(256), nullable=False),
        sa.Column("materializer", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_lineage"),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name="fk_lineage_run_pk_runs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["dataset_version_pk"],
            ["dataset_versions.pk"],
            name="fk_lineage_dataset_version_pk_dataset_versions",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("run_pk", "direction", "name", name="uq_lineage_run_pk_direction_name"),
    )
    op.create_index("ix_lineage_content_hash", "lineage", ["content_hash"])
    op.create_index("ix_lineage_digest", "lineage", ["digest"])
    op.create_index("ix_lineage_dataset_version_pk", "lineage", ["dataset_version_pk"])
    op.create_table(
        "step_cache",
        sa.Column("key", sa.String(71), nullable=False),
        sa.Column("step", sa.String(256), nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_hit_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key", name="pk_step_cache"),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name="fk_step_cache_run_pk_runs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_step_cache_step", "step_cache", ["step"])
    op.create_index("ix_step_cache_run_pk", "step_cache", ["run_pk"])


def downgrade() -> None:
    for table in ("step_cache", "lineage"):
        op.drop_table(table)
