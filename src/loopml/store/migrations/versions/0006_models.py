"""Models: registered models, versions and their bundle files, aliases, tags, history.

``model_events`` is append-only: triggers refuse UPDATE and DELETE on both engines.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_registered_models"),
        sa.UniqueConstraint("name", name="uq_registered_models_name"),
    )
    op.create_table(
        "model_versions",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("bundle_digest", sa.String(71), nullable=False),
        sa.Column("flavor", sa.String(32), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("trusted_types", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=True),
        sa.Column("dataset_version_pk", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("approval", sa.String(16), nullable=False),
        sa.Column("approval_by", sa.String(256), nullable=True),
        sa.Column("approval_at", sa.BigInteger(), nullable=True),
        sa.Column("approval_reason", sa.Text(), nullable=True),
        sa.Column("blessed", sa.Integer(), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=True),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
        sa.Column("deleted_by", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("pk", name="pk_model_versions"),
        sa.ForeignKeyConstraint(
            ["model_pk"],
            ["registered_models.pk"],
            name="fk_model_versions_model_pk_registered_models",
        ),
        sa.ForeignKeyConstraint(
            ["run_pk"], ["runs.pk"], name="fk_model_versions_run_pk_runs", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["dataset_version_pk"],
            ["dataset_versions.pk"],
            name="fk_model_versions_dataset_version_pk_dataset_versions",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("model_pk", "version", name="uq_model_versions_model_pk_version"),
    )
    op.create_index("ix_model_versions_bundle_digest", "model_versions", ["bundle_digest"])
    op.create_index("ix_model_versions_run_pk", "model_versions", ["run_pk"])
    op.create_table(
        "model_files",
        sa.Column("version_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("digest", sa.String(71), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("version_pk", "name", name="pk_model_files"),
        sa.ForeignKeyConstraint(
            ["version_pk"], ["model_versions.pk"], name="fk_model_files_version_pk_model_versions"
        ),
    )
    op.create_index("ix_model_files_digest", "model_files", ["digest"])
    op.create_table(
        "model_aliases",
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("version_pk", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(256), nullable=True),
        sa.PrimaryKeyConstraint("model_pk", "alias", name="pk_model_aliases"),
        sa.ForeignKeyConstraint(
            ["model_pk"],
            ["registered_models.pk"],
            name="fk_model_aliases_model_pk_registered_models",
        ),
        sa.ForeignKeyConstraint(
            ["version_pk"], ["model_versions.pk"], name="fk_model_aliases_version_pk_model_versions"
        ),
    )
    op.create_table(
        "model_tags",
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("model_pk", "version", "key", name="pk_model_tags"),
        sa.ForeignKeyConstraint(
            ["model_pk"], ["registered_models.pk"], name="fk_model_tags_model_pk_registered_models"
        ),
    )
    op.create_table(
        "model_events",
        sa.Column("pk", sa.Integer(), autoincrement=True),
        sa.Column("model_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("alias", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(256), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name="pk_model_events"),
        sa.ForeignKeyConstraint(
            ["model_pk"],
            ["registered_models.pk"],
            name="fk_model_events_model_pk_registered_models",
        ),
    )
    op.create_index("ix_model_events_model_pk_pk", "model_events", ["model_pk", "pk"])
    if op.get_bind().dialect.name == "sqlite":
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER model_events_no_{action.lower()} BEFORE {action} ON model_events "
                "BEGIN SELECT RAISE(ABORT, 'model_events is append-only'); END"
            )
    else:
        op.execute(
            "CREATE OR REPLACE FUNCTION loopml_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        op.execute(
            "CREATE TRIGGER model_events_append_only BEFORE UPDATE OR DELETE ON model_events "
            "FOR EACH ROW EXECUTE FUNCTION loopml_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP TRIGGER IF EXISTS model_events_append_only ON model_events")
        op.execute("DROP FUNCTION IF EXISTS loopml_append_only()")
    for table in (
        "model_events",
        "model_tags",
        "model_aliases",
        "model_files",
        "model_versions",
        "registered_models",
    ):
        op.drop_table(table)
