"""The metadata store's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Designed for scale:

* ``metrics`` holds every logged point and has no primary key over its columns (MLflow's
  all-column key cost 11 GiB of index per 100 M rows, mlflow issue 12813): one index
  ``(run_pk, key, step)`` serves history reads. Rows reference runs by a small integer.
* ``latest_metrics`` keeps one row per run and key (the point with the highest step, then the
  newest): searches and sorts on ``metrics.x`` read it through the ``(key, value)`` index and
  never scan the history.
* ``artifacts`` maps a run's logical names to blob digests; names are never file paths.

A later phase that stores blobs adds its table here and lists its digest column in
``DIGEST_COLUMNS`` so that ``loopml gc`` keeps what it references.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

MAX_KEY_LENGTH = 250
MAX_NAME_LENGTH = 256

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(MAX_NAME_LENGTH), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("description", Text, nullable=True),
)

runs = Table(
    "runs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(MAX_NAME_LENGTH), nullable=True),
    Column("status", String(16), nullable=False),
    Column("start_time", BigInteger, nullable=False),
    Column("end_time", BigInteger, nullable=True),
    Column("heartbeat_at", BigInteger, nullable=False),
    Column("host", String(256), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("proc_start", BigInteger, nullable=True),
    Column("parent_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("error", Text, nullable=True),
    Index(None, "experiment_id", "start_time"),
    Index(None, "status"),
)

params = Table(
    "params",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key", String(MAX_KEY_LENGTH), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key", String(MAX_KEY_LENGTH), primary_key=True),
    Column("value", Text, nullable=False),
)

metrics = Table(
    "metrics",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
    Column("key", String(MAX_KEY_LENGTH), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    # NULL stands for NaN: SQLite cannot store NaN.
    Column("value", Float, nullable=True),
    Index(None, "run_pk", "key", "step"),
)

latest_metrics = Table(
    "latest_metrics",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("key", String(MAX_KEY_LENGTH), primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("value", Float, nullable=True),
    Index(None, "key", "value"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), primary_key=True),
    Column("name", String(1024), primary_key=True),
    Column("digest", String(71), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "digest"),
)

# -- Phase 1: datasets (revision 0002) ------------------------------------------------------------
datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(MAX_NAME_LENGTH), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("description", Text, nullable=True),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    # sha256 over the canonical data (loopml.data._content_id), not over any file's bytes.
    Column("content_id", String(71), nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("column_count", Integer, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("columns", Text, nullable=False),  # JSON [[name, arrow type], ...]
    Column("roles", Text, nullable=False),  # JSON {column: role}
    Column("source", Text, nullable=False),  # JSON {kind, ...}, never credentials
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("description", Text, nullable=True),
    UniqueConstraint("dataset_id", "version"),
    UniqueConstraint("dataset_id", "content_id"),
    Index(None, "content_id"),
)

dataset_files = Table(
    "dataset_files",
    metadata,
    Column(
        "version_pk",
        Integer,
        ForeignKey("dataset_versions.pk", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("part", Integer, primary_key=True),
    Column("digest", String(71), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("rows", BigInteger, nullable=False),
    Index(None, "digest"),
)

dataset_lineage = Table(
    "dataset_lineage",
    metadata,
    Column(
        "child_pk", Integer, ForeignKey("dataset_versions.pk", ondelete="CASCADE"), primary_key=True
    ),
    Column(
        "parent_pk",
        Integer,
        ForeignKey("dataset_versions.pk", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("relation", String(32), nullable=False),
    Index(None, "parent_pk"),
)

# -- Phase 1: schemas and profiles (revision 0003) ------------------------------------------------
#: Schema versions of a dataset (numbered 1, 2, ... per dataset); the schema itself is a YAML blob.
schemas = Table(
    "schemas",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("dataset_id", Integer, ForeignKey("datasets.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(71), nullable=False),
    # The dataset version the schema was inferred from, if any.
    Column(
        "inferred_from_pk",
        Integer,
        ForeignKey("dataset_versions.pk", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("dataset_id", "version"),
    Index(None, "digest"),
)

MAX_PROFILE_SPEC_LENGTH = 64

#: One profile blob per dataset version and profile spec (e.g. ``v1;kll800;hll14;cap1000``):
#: a profile depends on its sketch settings, so it is keyed by them and never recomputed.
profiles = Table(
    "profiles",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "version_pk",
        Integer,
        ForeignKey("dataset_versions.pk", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("spec", String(MAX_PROFILE_SPEC_LENGTH), nullable=False),
    Column("digest", String(71), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("version_pk", "spec"),
    Index(None, "digest"),
)

# -- Phase 2: pipeline lineage and the step cache (revision 0004) --------------------------------
MAX_MATERIALIZER_LENGTH = 64

#: What each execution (a tracked run: a step's run, or a pipeline run) read ("in") and wrote
#: ("out"), one row per input or output name. ``content_hash`` is the sha256 of the value's
#: content (for a table, the dataset content id), so the same data is found under one hash
#: whichever blob or dataset version holds it; ``digest`` is the blob holding the materialized
#: value (NULL for a reference to a dataset version, whose files are its blobs).
lineage = Table(
    "lineage",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
    Column("direction", String(3), nullable=False),  # "in" | "out"
    Column("name", String(MAX_NAME_LENGTH), nullable=False),
    Column("content_hash", String(71), nullable=False),
    Column("digest", String(71), nullable=True),
    Column(
        "dataset_version_pk",
        Integer,
        ForeignKey("dataset_versions.pk", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("type", String(MAX_NAME_LENGTH), nullable=False),
    Column("materializer", String(MAX_MATERIALIZER_LENGTH), nullable=False),
    Column("size", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("run_pk", "direction", "name"),
    Index(None, "content_hash"),
    Index(None, "digest"),
    Index(None, "dataset_version_pk"),
)

#: Step cache: a step's cache key (sha256 of its code, parameters, input content hashes and
#: environment) -> the execution whose outputs (its "out" lineage rows) a hit reuses.
step_cache = Table(
    "step_cache",
    metadata,
    Column("key", String(71), primary_key=True),
    Column("step", String(MAX_NAME_LENGTH), nullable=False),
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("hits", Integer, nullable=False, server_default="0"),
    Column("last_hit_at", BigInteger, nullable=True),
    Index(None, "step"),
    Index(None, "run_pk"),
)

# -- Phase 3: triggers (revision 0005) ------------------------------------------------------------
MAX_PIPELINE_LENGTH = 512
MAX_DEDUPE_KEY_LENGTH = 256

#: Every time a trigger fired: what fired (``trigger``, ``kind``), which pipeline it starts
#: (``module:qualname``), why (``reason``, ``payload`` JSON), and where its run stands
#: (``state``; ``run_pk`` is the latest run it started). ``(trigger, dedupe_key)`` is unique, so a
#: given schedule slot or data version fires a trigger once, whichever agent sees it first.
trigger_firings = Table(
    "trigger_firings",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("trigger", String(MAX_NAME_LENGTH), nullable=False),
    Column("pipeline", String(MAX_PIPELINE_LENGTH), nullable=False),
    Column("kind", String(16), nullable=False),  # schedule | new_data | manual | event
    Column("dedupe_key", String(MAX_DEDUPE_KEY_LENGTH), nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),  # JSON object
    # pending | claimed | started | done | failed | skipped
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("agent", String(MAX_NAME_LENGTH), nullable=True),
    Column("claimed_at", BigInteger, nullable=True),
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="SET NULL"), nullable=True),
    Column("error", Text, nullable=True),
    Column("fired_at", BigInteger, nullable=False),
    UniqueConstraint("trigger", "dedupe_key"),
    Index(None, "state"),
    Index(None, "run_pk"),
)

# -- Models: the registry (revision 0006) -----------------------------------------------------
MAX_MODEL_NAME_LENGTH = 128
MAX_ALIAS_LENGTH = 64

#: A registered model: a name under which versions are kept.
registered_models = Table(
    "registered_models",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(MAX_MODEL_NAME_LENGTH), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

#: A model version: a content-addressed bundle (``bundle_digest`` is the manifest's blob) under a
#: registered name. ``trusted_types`` (JSON list) is what loading may allow, decided by loopml
#: when the version was logged and kept here, never read from the bundle. ``approval`` is
#: pending | approved | rejected; ``blessed`` is the latest gate verdict (NULL: never gated).
model_versions = Table(
    "model_versions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("model_pk", Integer, ForeignKey("registered_models.pk"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("bundle_digest", String(71), nullable=False),
    Column("flavor", String(32), nullable=False),
    Column("format", String(32), nullable=False),
    Column("trusted_types", Text, nullable=False),  # JSON list of type paths
    Column("signature", Text, nullable=False),  # JSON
    Column("run_pk", Integer, ForeignKey("runs.pk", ondelete="SET NULL"), nullable=True),
    Column(
        "dataset_version_pk",
        Integer,
        ForeignKey("dataset_versions.pk", ondelete="SET NULL"),
        nullable=True,
    ),
    Column("status", String(16), nullable=False),  # ready | deleted
    Column("approval", String(16), nullable=False),  # pending | approved | rejected
    Column("approval_by", String(MAX_NAME_LENGTH), nullable=True),
    Column("approval_at", BigInteger, nullable=True),
    Column("approval_reason", Text, nullable=True),
    Column("blessed", Integer, nullable=True),  # 1 | 0 | NULL
    Column("verdict", Text, nullable=True),  # JSON: the latest gate verdict
    Column("description", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("created_by", String(MAX_NAME_LENGTH), nullable=True),
    Column("deleted_at", BigInteger, nullable=True),
    Column("deleted_by", String(MAX_NAME_LENGTH), nullable=True),
    UniqueConstraint("model_pk", "version"),
    Index(None, "bundle_digest"),
    Index(None, "run_pk"),
)

#: The files of a version's bundle (``model.yaml``, the model file, the input example, ...),
#: each a blob; ``bundle_digest`` above is the digest of ``model.yaml``, which lists them all.
model_files = Table(
    "model_files",
    metadata,
    Column("version_pk", Integer, ForeignKey("model_versions.pk"), primary_key=True),
    Column("name", String(MAX_NAME_LENGTH), primary_key=True),
    Column("digest", String(71), nullable=False),
    Column("size", BigInteger, nullable=False),
    Index(None, "digest"),
)

#: An alias (champion, challenger, ...) points at one version of its model. ``revision`` counts
#: its moves; a move names the version it expects the alias at (compare-and-set).
model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_pk", Integer, ForeignKey("registered_models.pk"), primary_key=True),
    Column("alias", String(MAX_ALIAS_LENGTH), primary_key=True),
    Column("version_pk", Integer, ForeignKey("model_versions.pk"), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(MAX_NAME_LENGTH), nullable=True),
)

#: Tags of a model version (``version_pk``) or of the registered model (``version_pk`` = 0).
model_tags = Table(
    "model_tags",
    metadata,
    Column("model_pk", Integer, ForeignKey("registered_models.pk"), primary_key=True),
    Column("version", Integer, primary_key=True),  # 0: the registered model itself
    Column("key", String(MAX_KEY_LENGTH), primary_key=True),
    Column("value", Text, nullable=False),
)

#: The registry's history: every change, appended, never updated (triggers refuse it).
model_events = Table(
    "model_events",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("model_pk", Integer, ForeignKey("registered_models.pk"), nullable=False),
    Column("version", Integer, nullable=True),
    Column("kind", String(32), nullable=False),
    Column("alias", String(MAX_ALIAS_LENGTH), nullable=True),
    Column("actor", String(MAX_NAME_LENGTH), nullable=True),
    Column("reason", Text, nullable=True),
    Column("payload", Text, nullable=False),  # JSON object
    Column("at", BigInteger, nullable=False),
    Index(None, "model_pk", "pk"),
)

# -- Phase 5: the prediction log (revision 0007) ------------------------------------------------
MAX_REQUEST_ID_LENGTH = 256

#: Parquet segments of the prediction log: each holds the predictions one server worker made
#: for one model version over a stretch of time (``first_ms`` .. ``last_ms``).
prediction_segments = Table(
    "prediction_segments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("model", String(MAX_NAME_LENGTH), nullable=False),
    Column("version", String(64), nullable=False),
    Column("digest", String(71), nullable=False, unique=True),
    Column("rows", BigInteger, nullable=False),
    Column("first_ms", BigInteger, nullable=False),
    Column("last_ms", BigInteger, nullable=False),
    Column("source", String(MAX_NAME_LENGTH), nullable=False),  # host:pid of the worker
    Column("created_ms", BigInteger, nullable=False),
    Index(None, "model", "first_ms"),
)

#: Ground truth that arrived later: one label per (model, request id), the newest wins.
prediction_labels = Table(
    "prediction_labels",
    metadata,
    Column("model", String(MAX_NAME_LENGTH), primary_key=True),
    Column("request_id", String(MAX_REQUEST_ID_LENGTH), primary_key=True),
    Column("label", Text, nullable=False),  # JSON value
    Column("source", String(MAX_NAME_LENGTH), nullable=False),
    Column("labelled_ms", BigInteger, nullable=False),
)

#: Every column that holds a blob digest; ``loopml gc`` deletes only blobs none of them names.
#: A column may be nullable (``lineage.digest``): NULL names no blob.
DIGEST_COLUMNS = [
    artifacts.c.digest,
    dataset_files.c.digest,
    schemas.c.digest,
    profiles.c.digest,
    lineage.c.digest,
    model_versions.c.bundle_digest,
    model_files.c.digest,
    prediction_segments.c.digest,
]
