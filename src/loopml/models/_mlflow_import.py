"""Read an MLflow model directory (scikit-learn flavor saved as skops) without running its code.

:func:`read_mlflow_model` turns ``PATH`` (the folder that holds ``MLmodel``) into an
:class:`ImportedModel`: the loaded estimator, its signature, its input example, requirements and
provenance. The registry stores the result; this module only reads.

What it refuses, and why (docs/design/models.md sections 1 and 5):

- ``serialization_format: pickle`` or ``cloudpickle`` (or none, which MLflow treats as pickle):
  unpickling runs whatever code the file holds. The file is never opened.
- a ``code:`` entry: MLflow puts that folder on ``sys.path`` and imports it when loading.
- skops types that skops does not trust by default, unless the caller trusts them by name.
  ``MLmodel``'s ``skops_trusted_types`` is shown as a claim and never used: MLflow 3.17.2 passes
  that list to ``skops.io.load``, so a crafted model can trust ``posix.system`` itself.
- file names that leave the directory (``..``, absolute paths) and symbolic links anywhere on the
  way to a file, so a model directory cannot make loopml read a file elsewhere.

Only the files ``MLmodel`` names are read (``pickled_model``, the input example), plus
``requirements.txt`` next to it. Every problem is an :class:`~loopml._errors.InvalidInputError`
(a missing ``PATH`` is a :class:`~loopml._errors.NotFoundError`) whose message names the problem
and the fix.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: MLflow ``DataType`` name → numpy/pandas dtype name.
COLUMN_TYPES: dict[str, str] = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "string",
}
_SUPPORTED_TYPES = ", ".join(COLUMN_TYPES)
_PICKLE_FORMATS = ("pickle", "cloudpickle")
_MLMODEL_MAX_BYTES = 1 << 20
_EXAMPLE_MAX_BYTES = 64 << 20
_REQUIREMENTS_MAX_BYTES = 1 << 20
_DROPPED_REQUIREMENTS = frozenset({"mlflow", "mlflow-skinny"})
# Modules whose functions and classes act on the machine rather than compute a prediction: named
# in the refusal so that nobody trusts ``posix.system`` by copying the suggested fix.
_SYSTEM_MODULES = frozenset(
    {
        "builtins",
        "code",
        "codeop",
        "ctypes",
        "importlib",
        "io",
        "marshal",
        "multiprocessing",
        "nt",
        "os",
        "pathlib",
        "pickle",
        "posix",
        "pty",
        "runpy",
        "shutil",
        "socket",
        "subprocess",
        "sys",
        "webbrowser",
    }
)


@dataclass(frozen=True, eq=False)
class ImportedModel:
    """An MLflow model directory, read: the model object and everything needed to register it."""

    model: Any
    """The loaded scikit-learn object."""
    input_example: pd.DataFrame | np.ndarray[Any, Any] | None
    """A DataFrame cast to the signature's dtypes (an array for a tensor signature), or None."""
    signature_inputs: list[tuple[str, str]]
    """(column name, dtype name) per input column; one ``("input", dtype)`` for a tensor."""
    signature_outputs: list[tuple[str, str]]
    """(name, dtype name) per output; unnamed outputs are called ``output`` / ``output_<i>``."""
    requirements: list[str]
    """requirements.txt without the ``mlflow`` line."""
    mlflow_version: str | None
    sklearn_version: str | None
    claimed_trusted_types: list[str]
    """What MLmodel's ``skops_trusted_types`` says. Shown to the user, never used to load."""
    trusted_types: list[str]
    """The file's untrusted types that the caller trusted: what loading needed and was granted."""
    model_bytes: bytes = field(repr=False)
    """The skops file exactly as read, so the caller can store it as-is."""
    model_file: str
    """Its name inside the directory (MLflow writes ``model.skops``)."""
    source: dict[str, str]
    """Provenance: ``path`` and, where MLmodel has them, ``model_uuid``, ``model_id``,
    ``run_id``, ``artifact_path`` and ``utc_time_created``."""
    tensor_shape: list[int] | None = None
    """The input shape of a tensor signature (``-1`` for any length), else None."""
    output_tensor_shape: list[int] | None = None
    """The output shape of a tensor signature, else None."""


def read_mlflow_model(path: str | os.PathLike[str], *, trust: Sequence[str] = ()) -> ImportedModel:
    """Read the MLflow model directory ``path``; ``trust`` names the extra skops types to allow.

    Nothing from the directory is built before every check passed: the MLmodel, the flavor and
    format, the file names, the skops type audit, the signature and the input example.
    """
    granted_by_caller = _check_trust(trust)
    root = _model_dir(path)
    mlmodel = _read_mlmodel(root)
    flavors, sk = _flavors(root, mlmodel)
    _refuse_format(root, sk)
    _refuse_code(root, flavors)

    model_file = str(sk.get("pickled_model"))
    data = _read_required(root, sk.get("pickled_model"), "flavors.sklearn.pickled_model")
    claimed = _claimed_types(sk.get("skops_trusted_types"))
    untrusted = _audit(root / model_file, data)
    refused = [t for t in untrusted if t not in granted_by_caller]
    if refused:
        raise InvalidInputError(_untrusted_message(root, model_file, refused, claimed))
    granted = [t for t in untrusted if t in granted_by_caller]

    inputs, input_shape, input_dtype = _signature(root, mlmodel, "inputs")
    outputs, output_shape, _ = _signature(root, mlmodel, "outputs")
    example = _input_example(root, mlmodel, inputs, input_shape, input_dtype)
    requirements = _requirements(root)

    model = _load(root / model_file, data, granted, _text(sk.get("sklearn_version")))
    return ImportedModel(
        model=model,
        input_example=example,
        signature_inputs=inputs,
        signature_outputs=outputs,
        requirements=requirements,
        mlflow_version=_text(mlmodel.get("mlflow_version")),
        sklearn_version=_text(sk.get("sklearn_version")),
        claimed_trusted_types=claimed,
        trusted_types=granted,
        model_bytes=data,
        model_file=model_file,
        source=_source(root, mlmodel),
        tensor_shape=input_shape,
        output_tensor_shape=output_shape,
    )


# --- the directory and its files -------------------------------------------------------------


def _check_trust(trust: Sequence[str]) -> set[str]:
    if isinstance(trust, str | bytes):
        raise InvalidInputError(
            f"trust must be a list of type names, e.g. trust=[{trust!r}], not a single string."
        )
    names = list(trust)
    bad = [t for t in names if not isinstance(t, str) or not t.strip()]
    if bad:
        raise InvalidInputError(
            f"trust holds {bad!r}: each entry must be a fully qualified type name such as "
            "'sklearn.tree._tree.Tree'."
        )
    return {t.strip() for t in names}


def _model_dir(path: str | os.PathLike[str]) -> Path:
    given = Path(path)
    if not given.exists():
        raise NotFoundError(
            f"{given} does not exist: pass the MLflow model directory, the folder that holds "
            "the MLmodel file."
        )
    if not given.is_dir():
        hint = (
            f" Pass the folder that holds it: {given.parent}."
            if given.name == "MLmodel"
            else " Pass the folder that holds the MLmodel file."
        )
        raise InvalidInputError(f"{given} is not a directory.{hint}")
    return given.resolve()


def _read_mlmodel(root: Path) -> dict[str, Any]:
    raw = _read_inside(root, "MLmodel", "MLmodel", limit=_MLMODEL_MAX_BYTES, required=False)
    if raw is None:
        nested = sorted(p.parent.name for p in root.glob("*/MLmodel"))[:3]
        hint = (
            f" Did you mean a subfolder: {', '.join(str(root / n) for n in nested)}?"
            if nested
            else " For a logged model, that is mlruns/<experiment>/models/m-<id>/artifacts."
        )
        raise InvalidInputError(
            f"{root} has no MLmodel file, so it is not an MLflow model directory. Pass the folder "
            f"that holds MLmodel.{hint}"
        )
    import yaml

    try:
        doc = yaml.safe_load(raw)
    except Exception as exc:  # yaml errors, bad encodings, bad timestamps, deep nesting
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InvalidInputError(
            f"{root / 'MLmodel'} is not valid YAML{where} ({problem}). MLflow writes this file; "
            "restore it from the original model or save the model again with MLflow."
        ) from exc
    if not isinstance(doc, dict):
        raise InvalidInputError(
            f"{root / 'MLmodel'} does not hold a YAML mapping (found {type(doc).__name__}); "
            "it is not an MLflow MLmodel file. Restore it or save the model again with MLflow."
        )
    return doc


def _flavors(root: Path, mlmodel: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(every flavor, the sklearn flavor's settings)."""
    flavors = mlmodel.get("flavors")
    if not isinstance(flavors, dict):
        raise InvalidInputError(
            f"{root / 'MLmodel'} has no 'flavors' mapping, so it names no model file. "
            "Restore it or save the model again with mlflow.sklearn.save_model."
        )
    sk = flavors.get("sklearn")
    if not isinstance(sk, dict):
        found = ", ".join(sorted(map(str, flavors))) or "none"
        raise InvalidInputError(
            f"{root} is not a scikit-learn MLflow model (flavors: {found}). loopml imports "
            'models saved with mlflow.sklearn.save_model(..., serialization_format="skops").'
        )
    return flavors, sk


def _refuse_format(root: Path, sk: Mapping[str, Any]) -> None:
    # MLflow's loader treats a missing serialization_format as pickle.
    fmt = sk.get("serialization_format", "pickle")
    if fmt == "skops":
        return
    resave = (
        "Load it once where you trust its origin, save it again with "
        'mlflow.sklearn.save_model(model, path, serialization_format="skops") and import that '
        "directory."
    )
    if fmt in _PICKLE_FORMATS:
        raise InvalidInputError(
            f"{root} holds a scikit-learn model saved with serialization_format={fmt!r}. "
            "Loading a pickle runs any code the file contains, so loopml does not open it. "
            f"{resave}"
        )
    raise InvalidInputError(
        f"{root / 'MLmodel'} names serialization_format={fmt!r}; loopml imports only 'skops', "
        f"the format that loads without running code. {resave}"
    )


def _refuse_code(root: Path, flavors: Mapping[str, Any]) -> None:
    for name, conf in flavors.items():
        if isinstance(conf, dict) and conf.get("code") is not None:
            raise InvalidInputError(
                f"{root / 'MLmodel'} has flavors.{name}.code = {conf['code']!r}: the model ships "
                "Python code that MLflow imports when it loads the model. loopml does not import "
                "code from a model directory. Save the model again without code_paths (its "
                "classes must come from installed packages)."
            )


def _safe_parts(root: Path, name: object, key: str) -> list[str]:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(
            f"{root / 'MLmodel'}: {key} is {name!r}, not a file name. Restore MLmodel or save "
            "the model again with MLflow."
        )
    posix, windows = PurePosixPath(name), PureWindowsPath(name)
    parts = [p for p in posix.parts if p not in ("", ".")]
    if (
        posix.is_absolute()
        or windows.is_absolute()
        or windows.drive
        or "\\" in name
        or "\x00" in name
        or ".." in parts
        or not parts
    ):
        raise InvalidInputError(
            f"{root / 'MLmodel'}: {key} is {name!r}, which is not a plain file name inside the "
            "model directory (no '..', no absolute path). loopml reads only files inside "
            f"{root}; fix {key} to name one (MLflow writes e.g. 'model.skops')."
        )
    return parts


def _read_required(root: Path, name: object, key: str, *, limit: int | None = None) -> bytes:
    data = _read_inside(root, name, key, limit=limit, required=True)
    if data is None:  # pragma: no cover - _read_inside raises for a missing required file
        raise InvalidInputError(f"{root / str(name)} is missing, but MLmodel names it ({key}).")
    return data


def _read_inside(
    root: Path, name: object, key: str, *, limit: int | None, required: bool
) -> bytes | None:
    """The bytes of the regular file ``root/name``, never following a symbolic link."""
    parts = _safe_parts(root, name, key)
    current = root
    st: os.stat_result | None = None
    for i, part in enumerate(parts):
        current = current / part
        try:
            st = current.lstat()
        except FileNotFoundError:
            if not required:
                return None
            raise InvalidInputError(
                f"{current} is missing, but MLmodel names it ({key}). Copy the whole model "
                "directory, or save the model again with MLflow."
            ) from None
        except OSError as exc:
            raise InvalidInputError(f"cannot read {current}: {exc.strerror or exc}.") from exc
        if stat.S_ISLNK(st.st_mode):
            raise InvalidInputError(
                f"{current} is a symbolic link. loopml follows no links in a model directory, so "
                "that one cannot make it read a file elsewhere. Replace the link with a copy of "
                "the file it points to, if you trust that file."
            )
        if i < len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
            raise InvalidInputError(f"{current} is not a directory, but MLmodel's {key} needs it.")
    assert st is not None
    if not stat.S_ISREG(st.st_mode):
        raise InvalidInputError(
            f"{current} ({key}) is not a regular file. Copy the model directory with its files."
        )
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(current, flags)
        with os.fdopen(fd, "rb") as fh:
            opened = os.fstat(fh.fileno())
            if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
                raise InvalidInputError(f"{current} changed while loopml was reading it; retry.")
            data = fh.read() if limit is None else fh.read(limit + 1)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {current}: {exc.strerror or exc}.") from exc
    if limit is not None and len(data) > limit:
        raise InvalidInputError(
            f"{current} ({key}) is larger than {limit:,} bytes, too large for an MLflow "
            "metadata file. Check that the model directory is the one MLflow wrote."
        )
    return data


# --- the skops file -------------------------------------------------------------------------


def _claimed_types(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


def _audit(file: Path, data: bytes) -> list[str]:
    import io
    import zipfile

    if not data or not zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidInputError(
            f"{file} is not a skops file (a skops file is a zip archive; this one is "
            f"{'empty' if not data else 'something else'}). loopml did not load it. Save the "
            'model again with mlflow.sklearn.save_model(..., serialization_format="skops").'
        )
    import skops.io as sio

    try:
        return sorted(set(sio.get_untrusted_types(data=data)))
    except Exception as exc:  # a corrupt zip, a missing schema.json, malformed JSON
        raise InvalidInputError(
            f"{file} is not a readable skops file ({type(exc).__name__}: {exc}). Save the model "
            'again with mlflow.sklearn.save_model(..., serialization_format="skops").'
        ) from exc


def _untrusted_message(root: Path, model_file: str, refused: list[str], claimed: list[str]) -> str:
    names = ", ".join(refused)
    parts = [
        f"{root / model_file} holds types that skops does not trust by default: {names}. "
        "loopml builds no object from the file until each one is trusted by name."
    ]
    claimed_here = [t for t in refused if t in claimed]
    if claimed_here:
        parts.append(
            f"MLmodel's skops_trusted_types lists {', '.join(claimed_here)}: the file claims "
            "these are trusted; loopml does not take a file's word for it."
        )
    system = [t for t in refused if t.split(".", 1)[0] in _SYSTEM_MODULES]
    if system:
        parts.append(
            f"Danger: {', '.join(system)} {'is' if len(system) == 1 else 'are'} not part of a "
            "model but of Python itself and can run commands or touch files; a model that needs "
            "that is an attack, do not trust it."
        )
    checked = [t for t in refused if t not in system]
    if checked and not system:
        flags = " ".join(f"--trust {t}" for t in checked)
        parts.append(
            "If you know what each type does and trust this model, import it with "
            f"`loopml import mlflow {root} {flags}` (in Python: trust={checked!r})."
        )
    else:
        parts.append(
            "loopml loads a type only when it is trusted by name (--trust TYPE); import only "
            "models whose every type you can vouch for."
        )
    return " ".join(parts)


def _load(file: Path, data: bytes, granted: list[str], saved_with: str | None) -> Any:
    import sklearn
    import skops.io as sio

    try:
        return sio.loads(data, trusted=granted)
    except Exception as exc:
        versions = (
            f" It was saved with scikit-learn {saved_with}; this is {sklearn.__version__}."
            if saved_with and saved_with != sklearn.__version__
            else ""
        )
        raise InvalidInputError(
            f"{file} passed the type check but did not load ({type(exc).__name__}: {exc})."
            f"{versions} Save the model again with the scikit-learn version installed here."
        ) from exc


# --- signature, example, requirements, provenance ------------------------------------------


def _signature(
    root: Path, mlmodel: Mapping[str, Any], side: str
) -> tuple[list[tuple[str, str]], list[int] | None, str | None]:
    """(entries, tensor shape or None, tensor dtype or None) of ``signature.<side>``."""
    signature = mlmodel.get("signature")
    if signature is None:
        return [], None, None
    where = f"{root / 'MLmodel'}: signature.{side}"
    if not isinstance(signature, dict):
        raise InvalidInputError(f"{root / 'MLmodel'}: signature is not a mapping. {_RESAVE}")
    raw = signature.get(side)
    if raw is None:
        return [], None, None
    specs: object = raw
    if isinstance(raw, str):
        try:
            specs = json.loads(raw)
        except ValueError as exc:
            raise InvalidInputError(f"{where} is not valid JSON ({exc}). {_RESAVE}") from exc
    if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
        raise InvalidInputError(f"{where} is not a list of column or tensor specs. {_RESAVE}")
    if not specs:
        return [], None, None
    tensors = [s for s in specs if s.get("type") == "tensor"]
    if tensors:
        if len(specs) != 1:
            raise InvalidInputError(
                f"{where} has {len(tensors)} tensors among {len(specs)} specs; a scikit-learn "
                "model takes one table or one array. Save the model with a single input."
            )
        name, dtype, shape = _tensor_spec(
            where, specs[0], default="input" if side == "inputs" else "output"
        )
        return [(name, dtype)], shape, dtype
    prefix = "input" if side == "inputs" else "output"
    entries: list[tuple[str, str]] = []
    for i, spec in enumerate(specs):
        name = spec.get("name")
        if name is None:
            name = prefix if len(specs) == 1 else f"{prefix}_{i}"
        name = str(name)
        kind = spec.get("type")
        column_dtype = COLUMN_TYPES.get(kind) if isinstance(kind, str) else None
        if column_dtype is None:
            described = json.dumps(kind) if not isinstance(kind, str) else repr(kind)
            why = (
                " (loopml has no signature check for it yet)"
                if kind in ("binary", "datetime")
                else ""
            )
            raise InvalidInputError(
                f"{where}: column {str(name)!r} has type {described}, which loopml does not "
                f"import{why}. Supported: {_SUPPORTED_TYPES}. Save the model with that column "
                "converted (e.g. a datetime as its epoch seconds, a long)."
            )
        entries.append((name, column_dtype))
    names = [n for n, _ in entries]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidInputError(f"{where} names columns {duplicates} more than once. {_RESAVE}")
    return entries, None, None


_RESAVE = "Restore MLmodel or save the model again with MLflow."


def _tensor_spec(
    where: str, spec: Mapping[str, Any], *, default: str
) -> tuple[str, str, list[int]]:
    import numpy as np

    body = spec.get("tensor-spec")
    if not isinstance(body, dict):
        raise InvalidInputError(f"{where}: a tensor spec without 'tensor-spec'. {_RESAVE}")
    raw_dtype, shape = body.get("dtype"), body.get("shape")
    name = str(spec.get("name") or default)
    try:
        dtype = np.dtype(str(raw_dtype))
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biuf":
        raise InvalidInputError(
            f"{where}: tensor {name!r} has dtype {raw_dtype!r}; loopml imports numeric or bool "
            f"tensors only. {_RESAVE}"
        )
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= -1 for d in shape
    ):
        raise InvalidInputError(
            f"{where}: tensor {name!r} has shape {shape!r}, not a list of sizes. {_RESAVE}"
        )
    return name, dtype.name, list(shape)


def _input_example(
    root: Path,
    mlmodel: Mapping[str, Any],
    inputs: list[tuple[str, str]],
    tensor_shape: list[int] | None,
    tensor_dtype: str | None,
) -> pd.DataFrame | np.ndarray[Any, Any] | None:
    info = mlmodel.get("saved_input_example_info")
    if info is None:
        return None
    key = "saved_input_example_info.artifact_path"
    if not isinstance(info, dict):
        raise InvalidInputError(f"{root / 'MLmodel'}: saved_input_example_info is not a mapping.")
    name = info.get("artifact_path")
    raw = _read_required(root, name, key, limit=_EXAMPLE_MAX_BYTES)
    file = root / str(name)
    try:
        doc = json.loads(raw)
    except ValueError as exc:  # includes UnicodeDecodeError
        raise InvalidInputError(
            f"{file} (the input example) is not valid JSON ({exc}). Restore it or save the model "
            "again with MLflow."
        ) from exc
    kind = info.get("type", "dataframe")
    if kind == "dataframe":
        frame = _example_frame(file, doc, info.get("pandas_orient", "split"))
        return _cast_frame(file, frame, inputs) if tensor_shape is None else frame
    if kind == "ndarray":
        return _example_array(file, doc, tensor_shape, tensor_dtype)
    raise InvalidInputError(
        f"{file} is an input example of type {kind!r}; loopml imports table (DataFrame) and "
        "array examples. Save the model again with a pandas DataFrame as input_example."
    )


def _example_frame(file: Path, doc: object, orient: object) -> pd.DataFrame:
    import pandas as pd

    if orient not in ("split", "values") or not isinstance(doc, dict) or "data" not in doc:
        raise InvalidInputError(
            f'{file} is not a DataFrame in split orient ({{"columns": [...], "data": [...]}}'
            f"; pandas_orient is {orient!r}). Save the model again with MLflow."
        )
    rows = doc["data"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise InvalidInputError(f"{file}: 'data' must be a list of rows (lists of values).")
    columns, index = doc.get("columns"), doc.get("index")
    try:
        return pd.DataFrame(rows, columns=columns, index=index)
    except Exception as exc:  # ragged rows, row/column count mismatches
        raise InvalidInputError(
            f"{file} does not form a table ({exc}). Restore it or save the model again with MLflow."
        ) from exc


def _cast_frame(file: Path, frame: pd.DataFrame, inputs: list[tuple[str, str]]) -> pd.DataFrame:
    if not inputs:
        return frame
    if all(isinstance(c, str) for c in frame.columns):
        present = [str(c) for c in frame.columns]
        wanted = [n for n, _ in inputs]
        missing = [n for n in wanted if n not in present]
        extra = [c for c in present if c not in wanted]
        if missing or extra:
            raise InvalidInputError(
                f"{file}: the input example's columns do not match the signature (missing: "
                f"{missing}, not in the signature: {extra}). Save the model again with MLflow."
            )
        targets = {n: t for n, t in inputs}
        plan: list[tuple[Any, str, str]] = [(c, c, targets[c]) for c in present]
    else:
        if len(frame.columns) != len(inputs):
            raise InvalidInputError(
                f"{file}: the input example has {len(frame.columns)} columns, the signature "
                f"{len(inputs)}. Save the model again with MLflow."
            )
        plan = [(c, name, t) for c, (name, t) in zip(frame.columns, inputs, strict=True)]
    out = frame.copy()
    for column, name, target in plan:
        out[column] = _cast_column(file, frame[column], name, target)
    return out


def _cast_column(file: Path, values: pd.Series[Any], name: str, target: str) -> pd.Series[Any]:
    import pandas as pd

    def refuse(why: str) -> InvalidInputError:
        return InvalidInputError(
            f"{file}: input example column {name!r} cannot be the signature's {target}: {why}. "
            "Save the model again with MLflow."
        )

    present = [v for v in values.tolist() if not bool(pd.isna(v))]
    if target == "string":
        if not all(isinstance(v, str) for v in present):
            raise refuse("it holds values that are not text")
    else:
        if not all(isinstance(v, int | float) for v in present):  # bool is an int
            raise refuse("it holds values that are not numbers")
        if target != "float32" and target != "float64" and len(present) != len(values):
            raise refuse("it has missing values")
        if target == "bool" and not all(v in (0, 1) for v in present):
            raise refuse("it has values other than true and false")
        if target in ("int64", "int32") and not all(float(v).is_integer() for v in present):
            raise refuse("it has fractional values")
    try:
        cast: pd.Series[Any] = values.astype(pd.api.types.pandas_dtype(target))
    except (TypeError, ValueError, OverflowError) as exc:
        raise refuse(str(exc)) from exc
    return cast


def _example_array(
    file: Path, doc: object, shape: list[int] | None, dtype: str | None
) -> np.ndarray[Any, Any]:
    import numpy as np

    if isinstance(doc, dict) and "inputs" in doc:  # the serving format, for robustness
        doc = doc["inputs"]
    try:
        array = np.asarray(doc, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(
            f"{file}: the array input example is not a {dtype or 'numeric'} array ({exc}). "
            "Save the model again with MLflow."
        ) from exc
    if array.dtype == object:
        raise InvalidInputError(f"{file}: the array input example is ragged or not numeric.")
    if shape is not None and (
        array.ndim != len(shape)
        or any(want not in (-1, got) for want, got in zip(shape, array.shape, strict=True))
    ):
        raise InvalidInputError(
            f"{file}: the array input example has shape {list(array.shape)}, the signature "
            f"{shape}. Save the model again with MLflow."
        )
    return array


_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def _requirements(root: Path) -> list[str]:
    raw = _read_inside(
        root, "requirements.txt", "requirements.txt", limit=_REQUIREMENTS_MAX_BYTES, required=False
    )
    if raw is None:
        return []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(f"{root / 'requirements.txt'} is not UTF-8 text.") from exc
    out: list[str] = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):  # comments, pip options (-r, --index-url)
            continue
        match = _REQUIREMENT_NAME.match(line)
        if match and re.sub(r"[-_.]+", "-", match.group(1)).lower() in _DROPPED_REQUIREMENTS:
            continue
        out.append(line)
    return out


def _source(root: Path, mlmodel: Mapping[str, Any]) -> dict[str, str]:
    source = {"path": str(root)}
    for key in ("model_uuid", "model_id", "run_id", "artifact_path", "utc_time_created"):
        value = mlmodel.get(key)
        if value is not None:
            source[key] = str(value)
    return source


def _text(value: object) -> str | None:
    return None if value is None else str(value)
