"""The one interface every metadata store implements.

Callers (tracking, the CLI, later phases) talk to :class:`Store` only. Today there is one
implementation, :class:`loopml.store.SqlStore` (SQLite and PostgreSQL); a team server adds an HTTP
client implementation of the same methods without touching callers. The shared contract tests in
``tests/store/test_contract.py`` run against every implementation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from loopml.store._records import (
    ArtifactRef,
    CacheEntry,
    DatasetFile,
    DatasetVersionRecord,
    Experiment,
    Firing,
    LineageEdge,
    MetricPoint,
    ModelEvent,
    ModelFile,
    ModelVersionRecord,
    PredictionSegment,
    RegisteredModel,
    Run,
    RunEdge,
    RunLiveness,
    SchemaRecord,
)


class Store(ABC):
    """Metadata store: experiments, runs, params, metrics, tags and artifact references."""

    uri: str
    display_uri: str

    # -- schema -------------------------------------------------------------------------------
    @abstractmethod
    def schema_status(self) -> tuple[str | None, str]:
        """(current revision, head revision this loopml knows)."""

    @abstractmethod
    def upgrade(self) -> None:
        """Apply pending schema migrations (``loopml db upgrade``)."""

    # -- experiments --------------------------------------------------------------------------
    @abstractmethod
    def get_or_create_experiment(self, name: str) -> Experiment:
        """The experiment called ``name``, created if it does not exist yet."""

    @abstractmethod
    def list_experiments(self) -> list[Experiment]:
        """Every experiment with its run count, oldest first."""

    # -- runs ---------------------------------------------------------------------------------
    @abstractmethod
    def create_run(
        self,
        experiment: str,
        *,
        name: str | None = None,
        tags: Mapping[str, str] | None = None,
        parent_id: str | None = None,
        host: str | None = None,
        pid: int | None = None,
        proc_start: int | None = None,
        artifacts: Sequence[ArtifactRef] = (),
        params: Mapping[str, str] | None = None,
    ) -> Run:
        """Start a new run in status ``running`` (with its first artifacts and params, in one
        write)."""

    @abstractmethod
    def end_run(
        self,
        run_id: str,
        status: str,
        *,
        error: str | None = None,
        points: Sequence[MetricPoint] = (),
    ) -> None:
        """Write the last metric points and set the final status, in one transaction."""

    @abstractmethod
    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Record that these runs' processes are alive."""

    @abstractmethod
    def running_runs(self) -> list[RunLiveness]:
        """Every run in status ``running``, with what tells whether its process still lives."""

    @abstractmethod
    def mark_killed(self, run_ids: Sequence[str], reason: str) -> list[str]:
        """Mark these runs ``killed`` if they are still running; return the ones changed."""

    @abstractmethod
    def get_run(self, run_id: str) -> Run:
        """The run with this id or unique id prefix (raises NotFoundError)."""

    @abstractmethod
    def resolve_run_id(self, prefix: str) -> str:
        """The full id of the one run whose id starts with ``prefix``."""

    @abstractmethod
    def search_runs(
        self,
        *,
        experiments: Sequence[str] | None = None,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> list[Run]:
        """Runs matching a filter such as ``metrics.auc > 0.9 and params.C = '1.0'``."""

    @abstractmethod
    def count_runs(self, *, experiments: Sequence[str] | None = None) -> int:
        """How many runs there are (in these experiments)."""

    # -- run data -----------------------------------------------------------------------------
    @abstractmethod
    def log_params(self, run_id: str, params: Mapping[str, str]) -> None:
        """Record params; a param that already has a different value raises ConflictError."""

    @abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags."""

    @abstractmethod
    def log_metrics(self, run_id: str, points: Sequence[MetricPoint]) -> None:
        """Append metric points in one transaction and update the latest values."""

    @abstractmethod
    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of one metric, by step then time."""

    @abstractmethod
    def add_artifact(self, run_id: str, name: str, digest: str, size: int) -> None:
        """Point a run's logical artifact ``name`` at a blob digest (replacing an older one)."""

    @abstractmethod
    def list_artifacts(self, run_id: str) -> list[ArtifactRef]:
        """A run's artifacts, by name."""

    # -- datasets -----------------------------------------------------------------------------
    @abstractmethod
    def find_dataset_version(self, name: str, content_id: str) -> DatasetVersionRecord | None:
        """The version of dataset ``name`` with this content, if it was registered already."""

    @abstractmethod
    def create_dataset_version(
        self,
        name: str,
        *,
        content_id: str,
        row_count: int,
        columns: Sequence[tuple[str, str]],
        roles: Mapping[str, str],
        source: Mapping[str, object],
        files: Sequence[DatasetFile],
        parents: Sequence[tuple[str, int, str]] = (),
        run_id: str | None = None,
        description: str | None = None,
    ) -> tuple[DatasetVersionRecord, bool]:
        """Record a new version (numbered 1, 2, ...) unless this content is one already.

        Returns the version and whether it was created. ``parents`` are (dataset name,
        version, relation) of the versions it was derived from.
        """

    @abstractmethod
    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersionRecord:
        """A version of a dataset (the latest when ``version`` is None)."""

    @abstractmethod
    def list_dataset_versions(self, name: str | None = None) -> list[DatasetVersionRecord]:
        """Every version of one dataset (or the latest version of every dataset)."""

    # -- schemas and profiles -----------------------------------------------------------------
    @abstractmethod
    def put_schema(
        self, dataset: str, digest: str, *, inferred_from: int | None = None
    ) -> SchemaRecord:
        """Record a new schema version (numbered 1, 2, ... per dataset) pointing at a YAML blob.

        ``inferred_from`` is the number of a version of ``dataset`` the schema was inferred
        from. When the dataset's latest schema already has this digest, that record is returned
        and nothing is written. Raises NotFoundError for an unknown dataset or version.
        """

    @abstractmethod
    def get_schema(self, dataset: str, version: int | None = None) -> SchemaRecord:
        """A schema version of a dataset (the latest when ``version`` is None)."""

    @abstractmethod
    def list_schemas(self, dataset: str) -> list[SchemaRecord]:
        """Every schema version of a dataset, oldest first (NotFoundError for no such dataset)."""

    @abstractmethod
    def put_profile(self, dataset: str, version: int, spec: str, digest: str) -> str:
        """Store the profile blob of a dataset version computed with profile ``spec``.

        The first profile stored for (version, spec) wins: a later call keeps it and returns its
        digest, so the return value is always the digest that is stored.
        """

    @abstractmethod
    def get_profile(self, dataset: str, version: int, spec: str | None = None) -> str | None:
        """The profile digest of a dataset version for ``spec`` (the newest one when ``spec`` is
        None), or None if there is none; NotFoundError if the dataset version does not exist."""

    # -- pipelines: lineage --------------------------------------------------------------------
    @abstractmethod
    def add_lineage(self, run_id: str, edges: Sequence[LineageEdge]) -> None:
        """Record what an execution (a step's run or a pipeline run) read and wrote, in one
        transaction: all edges are stored or none.

        An edge's ``dataset`` (name, version) must exist (NotFoundError naming the versions that
        do) and its ``content_hash`` must be that version's content id. Each edge needs a
        ``digest`` or a ``dataset``. Two edges with the same direction and name in one call are
        an InvalidInputError.

        Adding an edge whose (direction, name) the run already has: while the run is
        ``running`` the new edge replaces the old one (a retried attempt's outputs win, and
        sending the same edges again is a no-op); once the run has ended its edges are history,
        so the same edge again is a no-op and a different one is a ConflictError. Record
        lineage before ending the run.
        """

    @abstractmethod
    def lineage_of_run(self, run_id: str) -> list[LineageEdge]:
        """A run's edges: its inputs, then its outputs, each by name."""

    @abstractmethod
    def runs_touching(
        self,
        content_hash: str | None = None,
        *,
        digest: str | None = None,
        dataset: tuple[str, int] | None = None,
        direction: str | None = None,
    ) -> list[RunEdge]:
        """Every execution that read ("in") or wrote ("out") an object, oldest edge first.

        Give exactly one of ``content_hash`` (matches the content wherever it is stored,
        including dataset-version references, whose content hash is the dataset content id),
        ``digest`` (one blob) or ``dataset`` ((name, version); NotFoundError if it does not
        exist); ``direction`` keeps only reads ("in") or writes ("out").
        """

    # -- pipelines: step cache ----------------------------------------------------------------
    @abstractmethod
    def put_cache_entry(self, key: str, step: str, run_id: str) -> None:
        """Point cache ``key`` (``sha256:...``) of ``step`` at the execution ``run_id``.

        The newest put wins: a different execution replaces the entry and restarts its hit
        count; putting the same execution again changes nothing.
        """

    @abstractmethod
    def get_cache_entry(self, key: str) -> CacheEntry | None:
        """The cache entry under ``key``, or None."""

    @abstractmethod
    def record_cache_hit(self, key: str) -> None:
        """Count one use of the entry under ``key`` (atomic; NotFoundError if it is gone)."""

    @abstractmethod
    def list_cache_entries(self, step: str | None = None) -> list[CacheEntry]:
        """Every cache entry (of one step), newest first."""

    @abstractmethod
    def delete_cache_entries(
        self, step: str | None = None, keys: Sequence[str] | None = None
    ) -> int:
        """Delete the entries of ``step`` and/or with one of ``keys`` (both given: entries
        matching both; both None: every entry); return how many were deleted."""

    # -- triggers -----------------------------------------------------------------------------
    @abstractmethod
    def add_firing(
        self,
        trigger: str,
        pipeline: str,
        kind: str,
        dedupe_key: str,
        reason: str,
        payload: Mapping[str, object],
    ) -> Firing | None:
        """Record that ``trigger`` fired (state ``pending``), unless it already fired with
        ``dedupe_key``: then nothing is written and None is returned.

        This is what makes a given data version or schedule slot start a pipeline at most
        once, across agent restarts and with several agents. ``kind`` is one of
        :data:`~loopml.store.FIRING_KINDS`; ``payload`` must be JSON-able.
        """

    @abstractmethod
    def claim_firing(self, agent: str, *, triggers: Sequence[str] | None = None) -> Firing | None:
        """Atomically move the oldest ``pending`` firing (of one of ``triggers``, if given) to
        ``claimed`` by ``agent``, counting one more attempt; None when nothing is pending.

        Two concurrent claimers never get the same firing. Claiming clears the run and error
        of an earlier attempt.
        """

    @abstractmethod
    def update_firing(
        self,
        firing_id: int,
        *,
        state: str,
        run_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Move a firing to ``state`` (``started``, ``done``, ``failed`` or ``skipped``),
        linking the run it started (``run_id``) and/or recording ``error`` when given.

        NotFoundError for an unknown firing or run; a firing that is ``done``, ``failed`` or
        ``skipped`` is final (setting the same state again is a no-op, another one is a
        ConflictError).
        """

    @abstractmethod
    def requeue_firings(self, max_attempts: int) -> list[int]:
        """Give back the firings whose agent went away: those ``claimed`` or ``started`` whose
        run was marked ``killed``, and those ``claimed`` more than a minute ago that never
        started a run.

        Each goes back to ``pending`` if it had fewer than ``max_attempts`` attempts, else to
        ``failed`` with an error saying so. Returns the ids put back to ``pending``.
        """

    @abstractmethod
    def list_firings(
        self, trigger: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[Firing]:
        """Firings (of one trigger, in one state), newest first, at most ``limit``."""

    # -- the model registry -------------------------------------------------------------------
    @abstractmethod
    def create_model_version(
        self,
        name: str,
        *,
        bundle_digest: str,
        flavor: str,
        format: str,
        trusted_types: Sequence[str],
        signature: Mapping[str, object],
        files: Sequence[ModelFile],
        run_id: str | None = None,
        dataset: tuple[str, int] | None = None,
        description: str | None = None,
        actor: str | None = None,
    ) -> tuple[ModelVersionRecord, bool]:
        """Register a bundle as the next version of ``name``; (version, created)."""

    @abstractmethod
    def get_model_version(self, name: str, version: int) -> ModelVersionRecord:
        """One version (NotFoundError if the model or the version does not exist)."""

    @abstractmethod
    def find_model_version(self, bundle_digest: str) -> list[tuple[str, int]]:
        """Every (name, version) whose bundle is ``bundle_digest``."""

    @abstractmethod
    def list_model_versions(self, name: str) -> list[ModelVersionRecord]:
        """Every version of ``name``, newest first."""

    @abstractmethod
    def list_models(self) -> list[RegisteredModel]:
        """Every registered model, by name."""

    @abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModel:
        """One registered model with its aliases and tags."""

    @abstractmethod
    def resolve_alias(self, name: str, alias: str) -> int:
        """The version ``name@alias`` points at."""

    @abstractmethod
    def set_model_alias(
        self,
        name: str,
        alias: str,
        version: int,
        *,
        expected: int | None = None,
        actor: str | None = None,
        reason: str | None = None,
    ) -> int:
        """Point ``name@alias`` at ``version`` (compare-and-set on ``expected``)."""

    @abstractmethod
    def remove_model_alias(
        self, name: str, alias: str, *, actor: str | None = None, reason: str | None = None
    ) -> None:
        """Remove an alias."""

    @abstractmethod
    def set_model_approval(
        self, name: str, version: int, state: str, *, actor: str | None, reason: str | None
    ) -> ModelVersionRecord:
        """Set a version's approval state (pending, approved, rejected)."""

    @abstractmethod
    def record_model_verdict(
        self,
        name: str,
        version: int,
        blessed: bool,
        verdict: Mapping[str, object],
        *,
        actor: str | None = None,
    ) -> None:
        """Store a gate's verdict on a version."""

    @abstractmethod
    def set_model_tags(
        self,
        name: str,
        version: int | None,
        values: Mapping[str, str],
        *,
        actor: str | None = None,
    ) -> None:
        """Set tags on a version, or on the registered model (``version`` None)."""

    @abstractmethod
    def set_model_description(
        self, name: str, version: int | None, text: str, *, actor: str | None = None
    ) -> None:
        """Describe a version, or the registered model (``version`` None)."""

    @abstractmethod
    def delete_model_version(
        self,
        name: str,
        version: int,
        *,
        actor: str | None = None,
        reason: str | None = None,
        drop_aliases: bool = False,
    ) -> None:
        """Mark a version deleted (refused while aliases point at it, unless dropped)."""

    @abstractmethod
    def model_history(self, name: str, limit: int = 1000) -> list[ModelEvent]:
        """The registry's append-only history of ``name``, oldest first."""

    # -- housekeeping -------------------------------------------------------------------------
    # -- the prediction log -------------------------------------------------------------------
    @abstractmethod
    def add_prediction_segment(
        self,
        model: str,
        version: str,
        digest: str,
        rows: int,
        first_ms: int,
        last_ms: int,
        source: str,
    ) -> None:
        """Register a compacted prediction-log segment (a Parquet blob); idempotent by digest."""

    @abstractmethod
    def list_prediction_segments(
        self,
        model: str | None = None,
        *,
        version: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
    ) -> list[PredictionSegment]:
        """Segments (of one model, version, overlapping a time range), oldest first."""

    @abstractmethod
    def add_prediction_labels(
        self, model: str, labels: Iterable[tuple[str, object]], *, source: str = "api"
    ) -> int:
        """Store ``(request_id, label)`` pairs; a newer label replaces an older one."""

    @abstractmethod
    def get_prediction_labels(
        self, model: str, request_ids: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """``{request_id: label}`` for ``model`` (only ``request_ids``, if given)."""

    @abstractmethod
    def referenced_digests(self) -> set[str]:
        """Every blob digest some object in the store points to (``loopml gc`` keeps these)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
