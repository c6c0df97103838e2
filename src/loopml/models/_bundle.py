"""Model bundles: ``model.yaml`` (the manifest), the model file and the input example.

Each file is a blob of the artifact store; the manifest lists the others by digest, so the
manifest's own digest names the whole bundle (content-addressed). What the *store* records
(the files' digests, the trusted types) is the truth: reading a bundle checks every file
against it, and the manifest is never asked what may be trusted.

The input example is JSON: ``{"columns": [...], "dtypes": {...}, "data": [[...], ...]}`` for a
table, ``{"dtype": ..., "shape": [...], "data": [...]}`` for an array. JSON, not Parquet, so that
the infra check's child process needs nothing but the model's own requirements to read it.
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopml._errors import InvalidInputError

MANIFEST = "model.yaml"
EXAMPLE = "input_example.json"
MANIFEST_VERSION = 1
MAX_EXAMPLE_ROWS = 100


@dataclass
class Bundle:
    """A bundle before it is stored: file name -> bytes, and the manifest as a dict."""

    manifest: dict[str, Any]
    files: dict[str, bytes]


def _plain(value: Any) -> Any:
    """JSON-safe scalars: numpy scalars to Python, NaN and infinities to None."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def example_json(example: Any) -> tuple[bytes, Any]:
    """The input example as canonical JSON bytes, and the example as the model gets it
    (a DataFrame or an array, at most 100 rows)."""
    import numpy as np
    import pandas as pd

    if isinstance(example, np.ndarray):
        array = example[:MAX_EXAMPLE_ROWS]
        flat = array.reshape(len(array), -1) if array.ndim > 1 else array
        rows = [[_plain(v) for v in row] for row in flat] if array.ndim > 1 else None
        doc: dict[str, Any] = {
            "dtype": str(array.dtype),
            "shape": list(array.shape),
            "data": rows if rows is not None else [_plain(v) for v in array],
        }
        return json.dumps(doc, sort_keys=True).encode(), array
    if not isinstance(example, pd.DataFrame):
        if hasattr(example, "to_pandas"):
            example = example.to_pandas()
        elif isinstance(example, dict):
            example = pd.DataFrame(example)
        elif isinstance(example, list) and example and isinstance(example[0], dict):
            example = pd.DataFrame.from_records(example)
        else:
            raise InvalidInputError(
                f"input_example must be a pandas or polars DataFrame, a dict of columns, a list "
                f"of records or a numpy array, not {type(example).__name__}"
            )
    frame = example.head(MAX_EXAMPLE_ROWS)
    if frame.empty:
        raise InvalidInputError("input_example has no rows; pass a few rows of real input")
    doc = {
        "columns": [str(c) for c in frame.columns],
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
        "data": [[_plain(v) for v in row] for row in frame.itertuples(index=False, name=None)],
    }
    return json.dumps(doc, sort_keys=True).encode(), frame


def read_example(data: bytes) -> Any:
    """The input example back from its JSON (a DataFrame with its dtypes, or an array)."""
    import numpy as np
    import pandas as pd

    doc = json.loads(data)
    if "columns" in doc:
        frame = pd.DataFrame(doc["data"], columns=doc["columns"])
        for column, dtype in doc.get("dtypes", {}).items():
            try:
                frame[column] = frame[column].astype(dtype)
            except (TypeError, ValueError):
                continue
        return frame
    return np.asarray(doc["data"], dtype=doc["dtype"]).reshape([-1, *doc["shape"][1:]])


def build(
    *,
    name: str,
    flavor: str,
    format: str,
    filename: str,
    model_bytes: bytes,
    meta: dict[str, Any],
    signature: dict[str, Any],
    example: bytes | None,
    requirements: list[str],
    lock: list[str],
    trusted_types: list[str],
    metrics: dict[str, float] | None,
    lineage: dict[str, Any],
    extra_files: dict[str, bytes] | None = None,
    extra: dict[str, Any] | None = None,
) -> Bundle:
    """Assemble a bundle; the manifest's file entries get their digests when stored."""
    from loopml._version import __version__

    files = {filename: model_bytes}
    if example is not None:
        files[EXAMPLE] = example
    files.update(extra_files or {})
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "name": name,
        "flavor": flavor,
        "format": format,
        "model_file": filename,
        "meta": meta,
        "loopml_version": __version__,
        "python": platform.python_version(),
        "signature": signature,
        "input_example": EXAMPLE if example is not None else None,
        "requirements": requirements,
        "lock": lock,
        # A copy for people reading the bundle; loading never reads it (the store decides).
        "trusted_types_at_logging": trusted_types,
        "metrics": dict(metrics or {}),
        "lineage": lineage,
        **(extra or {}),
    }
    return Bundle(manifest, files)


def manifest_bytes(manifest: dict[str, Any], digests: dict[str, tuple[str, int]]) -> bytes:
    """The canonical ``model.yaml``: the manifest plus every file's digest and size."""
    import yaml

    doc = {
        **manifest,
        "files": {n: {"digest": d, "size": s} for n, (d, s) in sorted(digests.items())},
    }
    return yaml.safe_dump(doc, sort_keys=True, allow_unicode=True).encode()


def parse_manifest(data: bytes) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"model.yaml is not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("manifest_version") != MANIFEST_VERSION:
        raise InvalidInputError(
            "model.yaml is not a loopml manifest this version reads (manifest_version "
            f"{MANIFEST_VERSION})"
        )
    return doc


def write_folder(files: dict[str, bytes], folder: Path) -> None:
    """Write a bundle's files into ``folder`` (names are checked: no paths)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if "/" in name or "\\" in name or name in ("", ".", ".."):
            raise InvalidInputError(f"bundle file name {name!r} is not a plain file name")
        (folder / name).write_bytes(data)
