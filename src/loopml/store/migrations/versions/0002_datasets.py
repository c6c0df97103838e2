"""Datasets: named datasets, immutable content-addressed versions, their files and lineage.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer(), autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.UniqueConstraint("name", name="uq_datasets_name"),
    )
    op.create_table(
        "dataset_versions",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_id", sa.String(71), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("column_count", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_dataset_versions"),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_dataset_versions_dataset_id_datasets"
        ),
        sa.ForeignKeyConstraint(["run_pk"], ["runs.pk"], name="fk_dataset_versions_run_pk_runs"),
        sa.UniqueConstraint("dataset_id", "version", name="uq_dataset_versions_dataset_id_version"),
        sa.UniqueConstraint(
            "dataset_id", "content_id", name="uq_dataset_versions_dataset_id_content_id"
        ),
    )
    op.create_index("ix_dataset_versions_content_id", "dataset_versions", ["content_id"])
    op.create_table(
        "dataset_files",
        sa.Column("version_pk", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("version_pk", "part", name="pk_dataset_files"),
        sa.ForeignKeyConstraint(
            ["version_pk"],
            ["dataset_versions.pk"],
            name="fk_dataset_files_version_pk_dataset_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_dataset_files_digest", "dataset_files", ["digest"])
    op.create_table(
        "dataset_lineage",
        sa.Column("child_pk", sa.Integer(), nullable=False),
        sa.Column("parent_pk", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("child_pk", "parent_pk", name="pk_dataset_lineage"),
        sa.ForeignKeyConstraint(
            ["child_pk"],
            ["dataset_versions.pk"],
            name="fk_dataset_lineage_child_pk_dataset_versions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_pk"],
            ["dataset_versions.pk"],
            name="fk_dataset_lineage_parent_pk_dataset_versions",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_dataset_lineage_parent_pk", "dataset_lineage", ["parent_pk"])


def downgrade() -> None:
    for table in ("dataset_lineage", "dataset_files", "dataset_versions", "datasets"):
        op.drop_table(table)
