"""Logging model versions and managing them: ``log_model``, aliases, approvals, history.

``log_model`` saves the model in its flavor's safe format, infers the signature from the
input example, decides which types loading may trust (stored in the metadata store, never
read back from the bundle), pins the requirements, and registers the bundle as the next
version of the name. Logging the same model again (the same model file and signature: skops
output is made byte-reproducible) returns the version it already is, with its first lineage.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from typing import Any

from loopml._errors import InvalidInputError
from loopml.store._model_names import check_alias, check_model_name

CHAMPION = "champion"


def actor() -> str:
    """Who is acting: ``LOOPML_USER``, else the login name."""
    try:
        return os.environ.get("LOOPML_USER") or getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@dataclass(frozen=True)
class ModelVersion:
    """A registered model version: ``models:/name/version``."""

    name: str
    version: int
    flavor: str
    bundle_digest: str
    run_id: str | None = None
    aliases: list[str] = field(default_factory=list)
    approval: str = "pending"
    blessed: bool | None = None
    signature: dict[str, Any] = field(default_factory=dict)
    created: bool = True

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @classmethod
    def from_record(cls, record: Any, created: bool = True) -> ModelVersion:
        return cls(
            name=record.name,
            version=record.version,
            flavor=record.flavor,
            bundle_digest=record.bundle_digest,
            run_id=record.run_id,
            aliases=list(record.aliases),
            approval=record.approval,
            blessed=record.blessed,
            signature=dict(record.signature),
            created=created,
        )

    def __repr__(self) -> str:
        aliases = "".join(f" @{a}" for a in self.aliases)
        return f"ModelVersion({self.uri}{aliases}, {self.flavor}, {self.approval})"


def _dataset_of(dataset: Any, path: Any) -> tuple[str, int] | None:
    if dataset is None:
        return None
    if hasattr(dataset, "name") and hasattr(dataset, "version"):
        return (str(dataset.name), int(dataset.version))
    if isinstance(dataset, str):
        from loopml.data.datasets import resolve

        found = resolve(dataset, path=path)
        if found is None:
            raise InvalidInputError(
                f"dataset {dataset!r} is not registered; pass a DatasetVersion or 'name/version'"
            )
        return (found.name, found.version)
    raise InvalidInputError(f"dataset must be a DatasetVersion or 'name/version', not {dataset!r}")


def log_model(
    model: Any,
    name: str,
    *,
    input_example: Any = None,
    run: Any = None,
    dataset: Any = None,
    description: str | None = None,
    metrics: dict[str, float] | None = None,
    flavor: str | None = None,
    to_onnx: bool = False,
    path: str | os.PathLike[str] | None = None,
) -> ModelVersion:
    """Save ``model`` as the next version of registered model ``name``.

    ``input_example`` (a few rows of real input) gives the signature that ``predict`` enforces
    and that the infra check runs. ``run`` (default: the active run) and ``dataset`` (the
    training data) are recorded as lineage; ``metrics`` go into the manifest. ``flavor``
    overrides the choice (``pyfunc`` pickles anything with ``predict``; loading it then needs
    ``trusted=True``). ``to_onnx=True`` also stores an ONNX copy of a scikit-learn model, kept
    only when its predictions match the original's on the example.
    """
    from loopml._workspace import workspace
    from loopml.models import _bundle, _requirements
    from loopml.models._flavors import flavor_for
    from loopml.models._signature import infer_signature
    from loopml.store._records import ModelFile
    from loopml.tracking import active_run

    check_model_name(name)
    chosen = flavor_for(model, flavor)
    data, trusted, meta = chosen.save(model)
    if chosen.name == "pyfunc":
        trusted = []
    example_bytes, example = (None, None)
    signature: dict[str, Any] = {}
    if input_example is not None:
        example_bytes, example = _bundle.example_json(input_example)
        predictor = model
        if chosen.name == "onnx":  # a ModelProto cannot predict; its runtime session can
            predictor = chosen.load(data, trusted, meta)
        elif chosen.name == "torch":  # a module is called; the flavor's wrapper predicts
            from loopml.models._flavors._torch import TorchModel

            predictor = TorchModel(model)
        predictions = None
        try:
            predictions = predictor.predict(example)
        except Exception as exc:
            raise InvalidInputError(
                f"the model cannot predict on its input_example ({type(exc).__name__}: {exc}); "
                "pass rows the model accepts"
            ) from exc
        signature = infer_signature(
            example, predictions=predictions, classes=meta.get("classes")
        ).to_dict()
    needs = set(chosen.needs)
    if example is not None and hasattr(example, "columns"):
        needs.add("pandas")  # the example (and a served request) arrives as a DataFrame
    requirements = _requirements.requirements_for(model, needs)
    extra_files: dict[str, bytes] = {}
    extra: dict[str, Any] = {}
    if to_onnx:
        from loopml.models._to_onnx import convert

        converted = convert(model, example)
        extra["onnx"] = converted.report
        if converted.data is not None:
            extra_files["model.onnx"] = converted.data
            requirements = sorted({*requirements, *_requirements.pinned({"onnxruntime"})})
    ws = workspace(path, create=True)
    same = _same_model(ws.store, name, chosen.filename, data, signature)
    if same is not None:
        # Storing the bytes again repairs a damaged copy (the artifact store replaces it).
        ws.artifacts.put_bytes(data)
        if example_bytes is not None:
            ws.artifacts.put_bytes(example_bytes)
        return ModelVersion.from_record(same, False)
    current = run if run is not None else active_run()
    run_id: str | None = None
    if current is not None:
        run_id = str(getattr(current, "id", current))
    dataset_ref = _dataset_of(dataset, path)
    bundle = _bundle.build(
        name=name,
        flavor=chosen.name,
        format=chosen.format,
        filename=chosen.filename,
        model_bytes=data,
        meta=meta,
        signature=signature,
        example=example_bytes,
        requirements=requirements,
        lock=_requirements.lock(requirements),
        trusted_types=trusted,
        metrics=metrics,
        lineage={
            "run": run_id,
            "dataset": None if dataset_ref is None else "/".join(map(str, dataset_ref)),
            "reference_profile": _profile_id(dataset, dataset_ref, path),
        },
        extra_files=extra_files,
        extra=extra,
    )
    digests = {n: ws.artifacts.put_bytes(b) for n, b in bundle.files.items()}
    manifest = _bundle.manifest_bytes(bundle.manifest, digests)
    bundle_digest, size = ws.artifacts.put_bytes(manifest)
    files = [ModelFile(_bundle.MANIFEST, bundle_digest, size)] + [
        ModelFile(n, d, s) for n, (d, s) in sorted(digests.items())
    ]
    record, created = ws.store.create_model_version(
        name,
        bundle_digest=bundle_digest,
        flavor=chosen.name,
        format=chosen.format,
        trusted_types=trusted,
        signature=signature,
        files=files,
        run_id=run_id,
        dataset=dataset_ref,
        description=description,
        actor=actor(),
    )
    return ModelVersion.from_record(record, created)


def _same_model(
    store: Any, name: str, filename: str, data: bytes, signature: dict[str, Any]
) -> Any:
    """The ready version of ``name`` with the same model bytes and signature, if any: logging
    the same model again (from a cached step, a re-run, another process) returns it."""
    import hashlib

    from loopml._errors import NotFoundError

    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    try:
        versions = store.list_model_versions(name)
    except NotFoundError:
        return None
    for record in versions:
        files = {f.name: f.digest for f in record.files}
        ready = record.status == "ready"
        if ready and files.get(filename) == digest and record.signature == signature:
            return record
    return None


def _profile_id(dataset: Any, ref: tuple[str, int] | None, path: Any) -> str | None:
    """The id (content id) of the training data, whose stored profile is the reference."""
    if ref is None:
        return None
    data_id = getattr(dataset, "id", None)
    if data_id:
        return str(data_id)
    from loopml.data.datasets import get

    return get(ref[0], ref[1], path=path).id


def get_model_version(name: str, version: int, *, path: Any = None) -> ModelVersion:
    from loopml._workspace import workspace

    return ModelVersion.from_record(workspace(path).store.get_model_version(name, version))


def set_alias(
    name: str,
    alias: str,
    version: int,
    *,
    expected: int | None = None,
    force: str | None = None,
    path: Any = None,
) -> int:
    """Point ``name@alias`` at ``version``; returns the alias's revision.

    Only a blessed version (one a :class:`~loopml.Gate` passed) can become ``champion``;
    ``force="why"`` overrides that and records the reason. ``expected`` makes the move a
    compare-and-set (the version the caller saw the alias at; 0 = not set yet).
    """
    from loopml._workspace import workspace

    check_alias(alias)
    store = workspace(path).store
    record = store.get_model_version(name, version)
    reason = None
    if alias == CHAMPION and record.blessed is not True:
        if not force:
            state = "was never gated" if record.blessed is None else "failed its gate"
            raise InvalidInputError(
                f"{name} version {version} {state}: only a blessed version becomes champion. "
                f"Run a loopml.Gate on it, or force it with a reason "
                f"(`loopml models alias {name} champion {version} --force 'why'`)"
            )
        reason = f"forced: {force}"
    elif force:
        reason = f"forced: {force}"
    return int(
        store.set_model_alias(name, alias, version, expected=expected, actor=actor(), reason=reason)
    )


def approve(
    name: str, version: int, reason: str | None = None, *, path: Any = None
) -> ModelVersion:
    from loopml._workspace import workspace

    record = workspace(path).store.set_model_approval(
        name, version, "approved", actor=actor(), reason=reason
    )
    return ModelVersion.from_record(record, False)


def reject(name: str, version: int, reason: str, *, path: Any = None) -> ModelVersion:
    from loopml._workspace import workspace

    if not reason or not reason.strip():
        raise InvalidInputError("rejecting a version needs a reason (why it must not be used)")
    record = workspace(path).store.set_model_approval(
        name, version, "rejected", actor=actor(), reason=reason
    )
    return ModelVersion.from_record(record, False)
