"""``load_model``: resolve a model reference, verify the bundle, load it safely.

References: ``models:/fraud/3`` (a version), ``models:/fraud@champion`` (an alias),
``models:/fraud`` (the latest version), or a bundle folder on disk (``model.yaml`` and its
files, as ``loopml models download`` writes them).

From the registry, every file is checked against the digests the *store* holds, and the
types loading may trust come from the store too. A bundle folder has no store behind it: its
files are checked against its own manifest, and only skops' default types (plus any the
caller passes as ``trusted_types``) load.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopml._errors import InvalidInputError, NotFoundError
from loopml.store._model_names import check_alias, check_model_name

URI = re.compile(r"models:/(?P<name>[^/@]+)(?:/(?P<version>[^/]+)|@(?P<alias>[^/]+))?/?")


@dataclass
class Reference:
    name: str
    version: int | None = None
    alias: str | None = None


def parse_uri(uri: str) -> Reference:
    """``models:/name[/version|@alias]`` -> its parts (clear errors for anything else)."""
    match = URI.fullmatch(uri)
    if match is None:
        raise InvalidInputError(
            f"{uri!r} is not a model reference; use models:/NAME/VERSION, models:/NAME@ALIAS, "
            "models:/NAME (the latest version) or a bundle folder"
        )
    name = check_model_name(match["name"])
    if match["version"] is not None:
        if not match["version"].isdigit() or int(match["version"]) < 1:
            raise InvalidInputError(
                f"{uri!r}: the version must be a number (models:/{name}/3); for an alias use "
                f"models:/{name}@ALIAS"
            )
        return Reference(name, version=int(match["version"]))
    if match["alias"] is not None:
        return Reference(name, alias=check_alias(match["alias"]))
    return Reference(name)


@dataclass
class LoadedModel:
    """A loaded model version: ``predict`` and (where the model has it) ``predict_proba``,
    both checking their input against the signature first. ``model`` is the raw object."""

    model: Any
    name: str
    version: int | None
    flavor: str
    signature: Any
    manifest: dict[str, Any] = field(default_factory=dict)
    input_example: Any = None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}" if self.version else self.name

    def _checked(self, data: Any) -> Any:
        if self.signature is None:
            return data
        from loopml.models._signature import enforce

        return enforce(self.signature, data)

    def predict(self, data: Any) -> Any:
        return self.model.predict(self._checked(data))

    @property
    def has_predict_proba(self) -> bool:
        return callable(getattr(self.model, "predict_proba", None))

    def predict_proba(self, data: Any) -> Any:
        if not self.has_predict_proba:
            raise InvalidInputError(f"{self.uri} ({self.flavor}) has no predict_proba")
        return self.model.predict_proba(self._checked(data))

    def __repr__(self) -> str:
        return f"LoadedModel({self.uri}, {self.flavor})"


def resolve(ref: Reference, store: Any) -> Any:
    """The store's record of the version ``ref`` names."""
    if ref.alias is not None:
        version = store.resolve_alias(ref.name, ref.alias)
    elif ref.version is not None:
        version = ref.version
    else:
        versions = [v for v in store.list_model_versions(ref.name) if v.status == "ready"]
        if not versions:
            raise NotFoundError(f"model {ref.name!r} has no version left to load")
        return versions[0]
    record = store.get_model_version(ref.name, version)
    if record.status != "ready":
        raise NotFoundError(
            f"{ref.name} version {version} was deleted (by {record.deleted_by or 'someone'}); "
            "load another version"
        )
    return record


def load_model(
    uri: str | os.PathLike[str],
    *,
    trusted: bool = False,
    trusted_types: list[str] | None = None,
    path: str | os.PathLike[str] | None = None,
) -> LoadedModel:
    """Load a model version (see the module docstring for references).

    ``trusted=True`` allows a pickled (``pyfunc``) model to load: that runs code from the file.
    """
    from loopml._workspace import workspace

    text = os.fspath(uri)
    if not text.startswith("models:"):
        folder = Path(text)
        if folder.is_dir():
            return _load_folder(folder, trusted=trusted, trusted_types=trusted_types or [])
        raise InvalidInputError(
            f"{text!r} is neither a models:/ reference nor a bundle folder; use "
            "models:/NAME/VERSION, models:/NAME@ALIAS or the path of a downloaded bundle"
        )
    ws = workspace(path)
    ref = parse_uri(text)
    from loopml.store._sqlite_read import read_model_version

    # A SQLite store answers without SQLAlchemy (about 130 ms less); anything else, or a
    # deleted version (for its error), goes through the full store.
    record = read_model_version(
        ws.settings.store_uri, ref.name, version=ref.version, alias=ref.alias
    )
    if record is None or record.status != "ready":
        record = resolve(ref, ws.store)
    files = {f.name: f for f in record.files}
    from loopml.models import _bundle

    manifest = _bundle.parse_manifest(ws.artifacts.get_bytes(record.bundle_digest))
    listed = {n: e.get("digest") for n, e in (manifest.get("files") or {}).items()}
    for name, digest in listed.items():
        if name not in files or files[name].digest != digest:
            raise InvalidInputError(
                f"the bundle of {record.name} version {record.version} does not match the "
                f"registry: file {name!r} differs; nothing was loaded"
            )
    model_file = manifest.get("model_file")
    if model_file not in files:
        raise InvalidInputError(f"the bundle of {record.name} v{record.version} has no model file")
    data = ws.artifacts.get_bytes(files[model_file].digest)  # verifies the digest
    allowed = list(record.trusted_types) + (["pickle"] if trusted or _allow_pickle(ws) else [])
    model = _flavor_load(record.flavor, data, allowed, manifest)
    example = None
    if _bundle.EXAMPLE in files:
        example = _bundle.read_example(ws.artifacts.get_bytes(files[_bundle.EXAMPLE].digest))
    return LoadedModel(
        model=model,
        name=record.name,
        version=record.version,
        flavor=record.flavor,
        signature=_signature(record.signature),
        manifest=manifest,
        input_example=example,
    )


def _signature(doc: dict[str, Any]) -> Any:
    if not doc:
        return None
    from loopml.models._signature import Signature

    return Signature.from_dict(doc)


def _flavor_load(flavor: str, data: bytes, allowed: list[str], manifest: dict[str, Any]) -> Any:
    from loopml.models._flavors import flavor_named

    return flavor_named(flavor).load(data, allowed, dict(manifest.get("meta") or {}))


def _allow_pickle(ws: Any) -> bool:
    """``[models] allow_pickle = true`` in the workspace's loopml.toml."""
    import tomllib

    config = ws.root / "loopml.toml"
    if not config.is_file():
        return False
    try:
        with config.open("rb") as handle:
            models = tomllib.load(handle).get("models", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return isinstance(models, dict) and models.get("allow_pickle") is True


def _load_folder(folder: Path, *, trusted: bool, trusted_types: list[str]) -> LoadedModel:
    import hashlib

    from loopml.models import _bundle

    manifest_file = folder / _bundle.MANIFEST
    if not manifest_file.is_file():
        raise InvalidInputError(f"{folder} is not a model bundle: it has no {_bundle.MANIFEST}")
    manifest = _bundle.parse_manifest(manifest_file.read_bytes())
    blobs: dict[str, bytes] = {}
    for name, entry in (manifest.get("files") or {}).items():
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            raise InvalidInputError(f"bundle file name {name!r} is not a plain file name")
        file = folder / name
        if file.is_symlink() or not file.is_file():
            raise InvalidInputError(f"bundle file {file} is missing (or a symlink)")
        blob = file.read_bytes()
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        if digest != entry.get("digest"):
            raise InvalidInputError(
                f"bundle file {file} does not match its digest in model.yaml; nothing was loaded"
            )
        blobs[name] = blob
    model_file = manifest.get("model_file")
    if model_file not in blobs:
        raise InvalidInputError(f"{folder}: model.yaml names no model file that is present")
    allowed = list(trusted_types) + (["pickle"] if trusted else [])
    model = _flavor_load(str(manifest.get("flavor")), blobs[model_file], allowed, manifest)
    example = _bundle.read_example(blobs[_bundle.EXAMPLE]) if _bundle.EXAMPLE in blobs else None
    return LoadedModel(
        model=model,
        name=str(manifest.get("name")),
        version=None,
        flavor=str(manifest.get("flavor")),
        signature=_signature(manifest.get("signature") or {}),
        manifest=manifest,
        input_example=example,
    )


def download(uri: str, folder: Path, *, path: Any = None) -> Path:
    """Write a version's bundle files into ``folder`` (verified); returns the folder."""
    from loopml._workspace import workspace
    from loopml.models import _bundle

    ws = workspace(path)
    record = resolve(parse_uri(uri), ws.store)
    files = {f.name: ws.artifacts.get_bytes(f.digest) for f in record.files}
    _bundle.write_folder(files, folder)
    return folder
