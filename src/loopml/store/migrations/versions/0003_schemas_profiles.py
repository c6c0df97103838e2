"""Schemas and profiles: versioned schema blobs per dataset, profile blobs per dataset version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schemas",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("inferred_from_pk", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_schemas"),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["datasets.id"], name="fk_schemas_dataset_id_datasets"
        ),
        sa.ForeignKeyConstraint(
            ["inferred_from_pk"],
            ["dataset_versions.pk"],
            name="fk_schemas_inferred_from_pk_dataset_versions",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("dataset_id", "version", name="uq_schemas_dataset_id_version"),
    )
    op.create_index("ix_schemas_digest", "schemas", ["digest"])
    op.create_table(
        "profiles",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("version_pk", sa.Integer(), nullable=False),
        sa.Column("spec", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_profiles"),
        sa.ForeignKeyConstraint(
            ["version_pk"],
            ["dataset_versions.pk"],
            name="fk_profiles_version_pk_dataset_versions",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("version_pk", "spec", name="uq_profiles_version_pk_spec"),
    )
    op.create_index("ix_profiles_digest", "profiles", ["digest"])


def downgrade() -> None:
    for table in ("profiles", "schemas"):
        op.drop_table(table)
