"""A model's signature: the columns (or tensor shape) it takes, inferred and enforced.

:func:`infer_signature` reads names, types, nullability and shapes from an input example.
:func:`enforce` turns what a caller passes to ``predict`` into exactly that, applying only safe
coercions, or raises :class:`SignatureError` naming each column and its problem. Safe coercions:

==================  ==========================================================================
to                  from
==================  ==========================================================================
float16/32/64       any int or float, bool (within the target's range; inf is refused)
int*/uint*          any int or bool when every value fits; a float when every value is whole
bool                bool only
string              str only (a number is refused)
category            a categorical column, or str values
datetime64[unit]    datetime64 values, datetime objects, ISO 8601 strings
==================  ==========================================================================

NaN, None and NaT are nulls: refused in a non-nullable column, kept in a nullable one (an int
or bool column with nulls becomes pandas' ``Int64``/``boolean``). pandas is imported only when
inferring or enforcing.
"""

from __future__ import annotations

import datetime as _dt
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from loopml._errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

__all__ = [
    "ColumnSpec",
    "Signature",
    "SignatureError",
    "describe",
    "enforce",
    "infer_signature",
]

FLOAT_TYPES = ("float16", "float32", "float64")
INT_TYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
_SIMPLE_TYPES = frozenset((*FLOAT_TYPES, *INT_TYPES, "bool", "string", "category"))
_DATETIME = re.compile(r"datetime64\[(s|ms|us|ns)(?:, ([^\]]+))?\]\Z")
_TENSOR_NAME = "input"
_MAX_LISTED = 12


class SignatureError(InvalidInputError):
    """Data passed to ``predict`` does not match the model's signature."""


def _type_problem(type_name: object) -> str | None:
    if not isinstance(type_name, str):
        return f"must be a type name (a string), got {type(type_name).__name__}"
    if type_name in _SIMPLE_TYPES or _DATETIME.match(type_name):
        return None
    known = ", ".join((*FLOAT_TYPES, *INT_TYPES, "bool", "string", "category"))
    return f"{type_name!r} is not a known type; use one of {known}, datetime64[ns]"


def _shape_problem(shape: object) -> str | None:
    if shape is None:
        return None
    if not isinstance(shape, list | tuple) or not shape:
        return f"must be a non-empty list of dimensions or null, got {shape!r}"
    for dim in shape:
        if isinstance(dim, bool) or not isinstance(dim, int) or (dim < 1 and dim != -1):
            return f"dimensions must be positive integers or -1 (any size), got {dim!r}"
    return None


def _spec_problems(name: object, type_name: object, nullable: object, shape: object) -> list[str]:
    problems = []
    if not isinstance(name, str) or not name:
        problems.append(f"name: must be a non-empty string, got {name!r}")
    problem = _type_problem(type_name)
    if problem:
        problems.append(f"type: {problem}")
    if not isinstance(nullable, bool):
        problems.append(f"nullable: must be true or false, got {nullable!r}")
    problem = _shape_problem(shape)
    if problem:
        problems.append(f"shape: {problem}")
    return problems


@dataclass(frozen=True)
class ColumnSpec:
    """One input or output: a name, a numpy-style type name, nullability and (tensors) a shape."""

    name: str
    type: str
    nullable: bool = False
    shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        problems = _spec_problems(self.name, self.type, self.nullable, self.shape)
        if problems:
            raise InvalidInputError(f"ColumnSpec {self.name!r}: " + "; ".join(problems))
        if self.shape is not None:
            object.__setattr__(self, "shape", tuple(self.shape))

    def describe(self) -> str:
        """One line: ``amount: float64``, ``hour: int64 (nullable)``."""
        text = f"{self.name}: {self.type}"
        if self.shape is not None:
            text += f", shape ({', '.join(str(d) for d in self.shape)})"
        return text + (" (nullable)" if self.nullable else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-safe form."""
        return {
            "name": self.name,
            "type": self.type,
            "nullable": self.nullable,
            "shape": None if self.shape is None else list(self.shape),
        }


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value


@dataclass(frozen=True)
class Signature:
    """What a model takes (``inputs``) and gives (``outputs``), and a classifier's classes."""

    inputs: tuple[ColumnSpec, ...]
    outputs: tuple[ColumnSpec, ...] = ()
    kind: Literal["columns", "tensor"] = "columns"
    classes: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        if self.classes is not None:
            classes = tuple(_plain(c) for c in self.classes)
            for c in classes:
                if not isinstance(c, str | int | float | bool):
                    raise InvalidInputError(
                        f"signature.classes: each class must be a string or a number, got {c!r}"
                    )
            object.__setattr__(self, "classes", classes)
        if self.kind not in ("columns", "tensor"):
            raise InvalidInputError(
                f"signature.kind: must be 'columns' or 'tensor', got {self.kind!r}"
            )
        for field, specs in (("inputs", self.inputs), ("outputs", self.outputs)):
            for spec in specs:
                if not isinstance(spec, ColumnSpec):
                    raise InvalidInputError(
                        f"signature.{field}: must hold ColumnSpec objects, got {spec!r}"
                    )
            names = [s.name for s in specs]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise InvalidInputError(
                    f"signature.{field}: duplicate names {', '.join(map(repr, dupes))}"
                )
        if not self.inputs:
            raise InvalidInputError("signature.inputs: a signature needs at least one input")
        if self.kind == "tensor":
            if len(self.inputs) != 1 or self.inputs[0].shape is None:
                raise InvalidInputError(
                    "signature.inputs: a tensor signature has exactly one input, with a shape "
                    "such as [-1, 30]"
                )
            if self.inputs[0].type not in (*FLOAT_TYPES, *INT_TYPES, "bool", "string"):
                raise InvalidInputError(
                    f"signature.inputs: a tensor holds numbers, bools or strings, not "
                    f"{self.inputs[0].type}"
                )
        else:
            shaped = [s.name for s in self.inputs if s.shape is not None]
            if shaped:
                raise InvalidInputError(
                    f"signature.inputs: column {shaped[0]!r} has a shape, which only a tensor "
                    "signature (kind: tensor) may have"
                )

    @property
    def names(self) -> tuple[str, ...]:
        """The input names, in order."""
        return tuple(s.name for s in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-safe form (lists, strings, numbers, booleans, null)."""
        return {
            "kind": self.kind,
            "inputs": [s.to_dict() for s in self.inputs],
            "outputs": [s.to_dict() for s in self.outputs],
            "classes": None if self.classes is None else list(self.classes),
        }

    @classmethod
    def from_dict(cls, d: object) -> Signature:
        """Read :meth:`to_dict`'s form back; a malformed field raises ``InvalidInputError``."""
        if not isinstance(d, Mapping):
            raise InvalidInputError(
                f"signature: must be a mapping with 'inputs', got {type(d).__name__}"
            )
        unknown = sorted(str(k) for k in d if k not in ("kind", "inputs", "outputs", "classes"))
        if unknown:
            raise InvalidInputError(
                f"signature: unknown field(s) {', '.join(map(repr, unknown))}; "
                "the fields are kind, inputs, outputs, classes"
            )
        kind = d.get("kind", "columns")
        if kind not in ("columns", "tensor"):
            raise InvalidInputError(f"signature.kind: must be 'columns' or 'tensor', got {kind!r}")
        if "inputs" not in d:
            raise InvalidInputError("signature.inputs: missing (a list of column specs)")
        inputs = _specs_from_list(d["inputs"], "inputs")
        outputs = _specs_from_list(d.get("outputs") or [], "outputs")
        classes = d.get("classes")
        if classes is not None and not isinstance(classes, list | tuple):
            raise InvalidInputError(
                f"signature.classes: must be a list or null, got {type(classes).__name__}"
            )
        return cls(
            inputs=inputs,
            outputs=outputs,
            kind=cast('Literal["columns", "tensor"]', kind),
            classes=None if classes is None else tuple(classes),
        )


def _specs_from_list(items: object, field: str) -> tuple[ColumnSpec, ...]:
    if not isinstance(items, list | tuple):
        raise InvalidInputError(
            f"signature.{field}: must be a list of column specs, got {type(items).__name__}"
        )
    specs = []
    for i, item in enumerate(items):
        path = f"signature.{field}[{i}]"
        if not isinstance(item, Mapping):
            raise InvalidInputError(
                f"{path}: must be a mapping with name and type, got {type(item).__name__}"
            )
        unknown = sorted(str(k) for k in item if k not in ("name", "type", "nullable", "shape"))
        if unknown:
            raise InvalidInputError(
                f"{path}: unknown field(s) {', '.join(map(repr, unknown))}; "
                "the fields are name, type, nullable, shape"
            )
        for key in ("name", "type"):
            if key not in item:
                raise InvalidInputError(f"{path}.{key}: missing")
        name, type_name = item["name"], item["type"]
        nullable, shape = item.get("nullable", False), item.get("shape")
        problems = _spec_problems(name, type_name, nullable, shape)
        if problems:
            raise InvalidInputError(f"{path}.{problems[0]}")
        specs.append(ColumnSpec(name, type_name, nullable, None if shape is None else tuple(shape)))
    return tuple(specs)


def describe(signature: Signature) -> str:
    """A short human line per column (inputs, then outputs, then the classes)."""
    lines = [s.describe() for s in signature.inputs]
    lines += [f"output {s.describe()}" for s in signature.outputs]
    if signature.classes is not None:
        lines.append(f"classes: {', '.join(map(repr, signature.classes))}")
    return "\n".join(lines)


def _expected(signature: Signature) -> str:
    shown = [s.describe() for s in signature.inputs[:_MAX_LISTED]]
    more = len(signature.inputs) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def _show(value: Any) -> str:
    text = repr(_plain(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _names(names: Sequence[object]) -> str:
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


# ---------------------------------------------------------------- reading what callers pass


def _polars(data: object) -> str | None:
    """``frame``, ``lazy`` or ``series`` for a polars object (without importing polars)."""
    pl = sys.modules.get("polars")
    if pl is None:
        return None
    if isinstance(data, pl.DataFrame):
        return "frame"
    if isinstance(data, pl.LazyFrame):
        return "lazy"
    if isinstance(data, pl.Series):
        return "series"
    return None


def _polars_to_pandas(df: Any) -> pd.DataFrame:
    """A polars frame as pandas, keeping int columns with nulls as ints (``Int64``)."""
    import pandas as pd

    out = df.to_pandas()
    for name, dtype in df.schema.items():
        if dtype.is_integer() and df[name].null_count() > 0:
            out[name] = pd.array(df[name].to_list(), dtype=str(dtype))  # "Int64", "UInt8", ...
    return cast("pd.DataFrame", out)


def _shape_of(data: Any) -> str:
    return str(tuple(int(d) for d in data.shape))


def _read(data: object, what: str) -> tuple[str, Any]:
    """``("frame", DataFrame)`` or ``("array", ndarray | Series)`` for anything accepted."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return "frame", data
    if isinstance(data, pd.Series):
        return "array", data
    if isinstance(data, np.ndarray):
        return "array", data
    polars = _polars(data)
    if polars == "frame":
        return "frame", _polars_to_pandas(data)
    if polars == "series":
        return "array", cast(Any, data).to_pandas()
    if polars == "lazy":
        raise InvalidInputError(f"{what} is a polars LazyFrame: call .collect() on it first")
    if isinstance(data, Mapping):
        if not data:
            raise InvalidInputError(f"{what} is an empty dict: give one entry per column")
        if all(np.ndim(v) == 0 for v in data.values()):
            data = {k: [v] for k, v in data.items()}  # scalars: one row
        try:
            return "frame", pd.DataFrame(dict(data))
        except (ValueError, TypeError) as e:
            raise InvalidInputError(
                f"{what} is a dict that is not a table of columns ({e}): give each column as "
                "a list or 1-D array of the same length, or scalars for one row"
            ) from None
    if isinstance(data, list | tuple):
        if not data:
            raise InvalidInputError(f"{what} is empty: it needs at least one row")
        records = [isinstance(r, Mapping) for r in data]
        if all(records):
            return "frame", pd.DataFrame.from_records(list(data))
        if any(records):
            raise InvalidInputError(
                f"{what} mixes dicts (records) with other rows: give a list of dicts, one per row"
            )
        return "array", data
    raise InvalidInputError(
        f"{what} has unsupported type {type(data).__module__}.{type(data).__qualname__}: pass a "
        "pandas or polars DataFrame, a dict of columns, a list of dicts (records) or a numpy array"
    )


def _as_array(data: Any, what: str) -> npt.NDArray[Any]:
    """A list (of lists), Series or ndarray as an ndarray; text stays objects, not numpy str."""
    import numpy as np
    import pandas as pd

    if isinstance(data, np.ndarray):
        arr = data
    elif isinstance(data, pd.Series):
        arr = data.to_numpy(dtype=object) if data.dtype.kind not in "biufcmM" else data.to_numpy()
    else:
        try:
            arr = np.asarray(data)
        except ValueError:
            raise InvalidInputError(
                f"{what} has rows of different lengths: every row needs the same number of values"
            ) from None
        if arr.dtype.kind in "USO":
            arr = np.array(data, dtype=object)
    if arr.dtype.kind in "US":
        arr = arr.astype(object)
    return arr


# ---------------------------------------------------------------- inference


def _kinds(values: Any) -> dict[str, Any]:
    """The kinds of python values in an object column (non-null), each with its first value."""
    import numpy as np

    found: dict[str, Any] = {}
    for v in values:
        if isinstance(v, bool | np.bool_):
            kind = "bool"
        elif isinstance(v, int | np.integer):
            kind = "int"
        elif isinstance(v, float | np.floating):
            kind = "float"
        elif isinstance(v, str):
            kind = "string"
        elif isinstance(v, _dt.date | np.datetime64):
            kind = "datetime"
        else:
            kind = "other"
        found.setdefault(kind, v)
    return found


def _numeric_kind(kinds: Mapping[str, Any]) -> str | None:
    """``bool``, ``int`` or ``float`` when every value is a number (bools count as ints)."""
    names = set(kinds)
    for kind, allowed in (("bool", {"bool"}), ("int", {"bool", "int"})):
        if names <= allowed:
            return kind
    return "float" if names <= {"bool", "int", "float"} else None


def _is_object(dtype: Any) -> bool:
    import numpy as np

    return isinstance(dtype, np.dtype) and dtype.kind == "O"


def _dtype_name(dtype: Any) -> str | None:
    """The signature type of a pandas/numpy dtype, or None for object and unsupported ones."""
    import numpy as np
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return f"datetime64[{dtype.unit}, {dtype.tz}]"
    if _is_object(dtype):
        return None
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        name = np.dtype(getattr(dtype, "numpy_dtype", dtype)).name
        return name if name in _SIMPLE_TYPES else None
    if isinstance(dtype, np.dtype) and dtype.kind == "M":
        return dtype.name if _DATETIME.match(dtype.name) else None
    if pd.api.types.is_string_dtype(dtype):
        return "string"
    return None


def _infer_column(series: pd.Series, label: str) -> tuple[str, bool]:
    """(type, nullable) of one column of an example."""
    import pandas as pd

    mask = series.isna().to_numpy(dtype=bool)
    nullable = bool(mask.any())
    name = _dtype_name(series.dtype)
    if name is not None:
        return name, nullable
    if not _is_object(series.dtype):
        raise InvalidInputError(
            f"{label} has type {series.dtype}, which a signature cannot describe: convert it to a "
            "number, bool, string, category or datetime64 column"
        )
    values = series[~mask]
    if values.empty:
        raise InvalidInputError(
            f"{label} holds only nulls, so its type cannot be inferred: give an example where it "
            "has values, or cast it (e.g. .astype('float64'))"
        )
    kinds = _kinds(values)
    numeric = _numeric_kind(kinds)
    if numeric is not None:
        return {"bool": "bool", "int": "int64", "float": "float64"}[numeric], nullable
    if set(kinds) == {"string"}:
        return "string", nullable
    if set(kinds) == {"datetime"}:
        try:
            parsed = pd.to_datetime(values)
        except (ValueError, TypeError) as e:
            raise InvalidInputError(f"{label} holds dates that do not convert: {e}") from None
        parsed_name = _dtype_name(parsed.dtype)
        if parsed_name is not None:
            return parsed_name, nullable
    mixed = ", ".join(f"{k} ({_show(v)})" for k, v in kinds.items())
    raise InvalidInputError(
        f"{label} mixes kinds of values: {mixed}; give every column one type "
        "(e.g. .astype('float64') or .astype(str))"
    )


def _check_rows(frame_or_array: Any, what: str) -> int:
    rows = int(frame_or_array.shape[0]) if getattr(frame_or_array, "ndim", 1) > 0 else 0
    if rows == 0:
        raise InvalidInputError(f"{what} has no rows: give at least one row")
    return rows


def _infer_frame(frame: pd.DataFrame, what: str) -> tuple[ColumnSpec, ...]:
    _check_rows(frame, what)
    if frame.shape[1] == 0:
        raise InvalidInputError(f"{what} has no columns")
    bad = [c for c in frame.columns if not isinstance(c, str) or not c]
    if bad:
        raise InvalidInputError(
            f"{what} has column names that are not strings ({_names(bad)}): name the columns, "
            "e.g. df.columns = [f'f{i}' for i in range(df.shape[1])]"
        )
    dupes = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    if dupes:
        raise InvalidInputError(f"{what} has duplicate column names {_names(dupes)}")
    specs = []
    for name in frame.columns:
        type_name, nullable = _infer_column(frame[name], f"{what} column {name!r}")
        specs.append(ColumnSpec(name, type_name, nullable))
    return tuple(specs)


def _infer_array(data: Any, what: str, name: str) -> tuple[ColumnSpec, int]:
    import pandas as pd

    arr = _as_array(data, what)
    if arr.ndim == 0:
        raise InvalidInputError(f"{what} is a single value: give an array of rows")
    rows = _check_rows(arr, what)
    type_name, nullable = _infer_column(pd.Series(arr.ravel()), what)
    if nullable and (type_name in INT_TYPES or type_name == "bool"):
        raise InvalidInputError(
            f"{what} holds {type_name} values and nulls, which a numpy {type_name} array cannot "
            "hold: give floats with np.nan for the missing values"
        )
    if type_name not in _SIMPLE_TYPES or type_name == "category":
        raise InvalidInputError(
            f"{what} is an array of {type_name}; an array signature takes numbers, bools or "
            "strings: pass a DataFrame for other types"
        )
    return ColumnSpec(name, type_name, nullable, (-1, *arr.shape[1:])), rows


def _output_spec(data: Any, what: str, name: str) -> tuple[ColumnSpec, int]:
    spec, rows = _infer_array(data, what, name)
    assert spec.shape is not None
    if len(spec.shape) == 1:
        spec = ColumnSpec(spec.name, spec.type, spec.nullable)  # one value per row: no shape
    return spec, rows


def _infer_outputs(predictions: object, rows: int) -> tuple[ColumnSpec, ...]:
    """Outputs from ``model.predict(example)``: an array, a frame, or a dict name -> array."""
    what = "predictions"
    if isinstance(predictions, Mapping) and predictions:
        outputs: list[ColumnSpec] = []
        counts: set[int] = set()
        for name, value in predictions.items():
            if not isinstance(name, str) or not name:
                raise InvalidInputError(f"predictions: output names must be strings, got {name!r}")
            spec, got = _output_spec(value, f"predictions[{name!r}]", name)
            outputs.append(spec)
            counts.add(got)
        if counts != {rows}:
            raise InvalidInputError(
                f"predictions has outputs of {_names(sorted(counts))} rows but the example has "
                f"{rows}: pass model.predict(example) for the same example"
            )
        return tuple(outputs)
    kind, data = _read(predictions, what)
    if kind == "frame":
        specs = _infer_frame(data, what)
        got = int(data.shape[0])
    else:
        name = getattr(data, "name", None)
        spec, got = _output_spec(
            data, what, name if isinstance(name, str) and name else "prediction"
        )
        specs = (spec,)
    if got != rows:
        raise InvalidInputError(
            f"predictions has {got} rows but the example has {rows}: pass "
            "model.predict(example) for the same example"
        )
    return specs


def infer_signature(
    example: object, *, predictions: object = None, classes: Sequence[Any] | None = None
) -> Signature:
    """The signature of a model from its input example (and, optionally, its predictions)."""
    what = "the input example"
    kind, data = _read(example, what)
    if kind == "frame":
        inputs = _infer_frame(data, what)
        rows = int(data.shape[0])
        sig_kind: Literal["columns", "tensor"] = "columns"
    else:
        spec, rows = _infer_array(data, what, _TENSOR_NAME)
        inputs, sig_kind = (spec,), "tensor"
    outputs = () if predictions is None else _infer_outputs(predictions, rows)
    return Signature(
        inputs=inputs,
        outputs=outputs,
        kind=sig_kind,
        classes=None if classes is None else tuple(classes),
    )


# ---------------------------------------------------------------- enforcement


@dataclass
class _Got:
    """The non-null values of a column and what kinds of values they are."""

    kinds: dict[str, Any]  # kind -> first value; kinds: bool int float string datetime other
    values: pd.Series
    dtype: str


def _got(series: pd.Series, mask: npt.NDArray[np.bool_]) -> _Got:
    import pandas as pd

    values = series[~mask]
    dtype = series.dtype
    first = values.iloc[0] if len(values) else None
    kind: str | None = None
    if isinstance(dtype, pd.DatetimeTZDtype) or (getattr(dtype, "kind", "") == "M"):
        kind = "datetime"
    elif not _is_object(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        if pd.api.types.is_bool_dtype(dtype):
            kind = "bool"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "int"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "float"
        elif pd.api.types.is_string_dtype(dtype):
            kind = "string"
        else:
            kind = "other"
    kinds = _kinds(values) if kind is None else ({kind: first} if len(values) else {})
    return _Got(kinds, values, str(dtype))


def _numbers(got: _Got, kind: str) -> npt.NDArray[Any]:
    """The non-null values as a numpy array of their own numeric kind."""
    import numpy as np

    dtype: Any = got.values.dtype
    if len(got.values) == 0:
        return np.zeros(0, dtype=np.bool_)
    if not _is_object(dtype):
        return np.asarray(got.values.to_numpy(dtype=getattr(dtype, "numpy_dtype", dtype)))
    items = got.values.tolist()
    if kind == "int":
        arr = np.asarray(items)
        return arr if arr.dtype.kind in "iub" else np.asarray(items, dtype=np.float64)
    return np.asarray(items, dtype=np.bool_ if kind == "bool" else np.float64)


def _full(values: Any, mask: npt.NDArray[np.bool_], dtype: Any, fill: Any) -> Any:
    import numpy as np

    out = np.full(mask.shape[0], fill, dtype=dtype)
    out[~mask] = values
    return out


def _non_finite(label: str, target: str, arr: npt.NDArray[Any]) -> str | None:
    import numpy as np

    if arr.dtype.kind != "f":
        return None
    bad = ~np.isfinite(arr)
    if bad.any():
        return (
            f"{label} ({target}) has {int(bad.sum())} non-finite value(s) such as "
            f"{_show(arr[bad][0])}: replace them (NaN counts as a null)"
        )
    return None


def _to_float(label: str, target: str, got: _Got, mask: Any) -> tuple[Any, str | None]:
    import numpy as np

    kind = _numeric_kind(got.kinds)
    if kind is None:
        return None, _refusal(label, target, got, _ACCEPTED["float"], f"give {target} values")
    arr = _numbers(got, kind)
    problem = _non_finite(label, target, arr)
    if problem:
        return None, problem
    limit = float(np.finfo(target).max)
    big = np.abs(arr.astype(np.float64)) > limit
    if big.any():
        return None, (
            f"{label} ({target}) has {int(big.sum())} value(s) too large for {target}, such as "
            f"{_show(arr[big][0])}: scale them or use a wider type"
        )
    with np.errstate(all="ignore"):
        values = arr.astype(target)
    return _full(values, mask, target, np.nan), None


def _to_int(label: str, target: str, got: _Got, mask: Any) -> tuple[Any, str | None]:
    import numpy as np
    import pandas as pd

    kind = _numeric_kind(got.kinds)
    if kind is None:
        return None, _refusal(label, target, got, _ACCEPTED["int"], f"give {target} values")
    arr = _numbers(got, kind)
    info = np.iinfo(target)
    if arr.dtype.kind == "f":
        problem = _non_finite(label, target, arr)
        if problem:
            return None, problem
        fraction = arr != np.trunc(arr)
        if fraction.any():
            return None, (
                f"{label} ({target}) has {int(fraction.sum())} value(s) that are not whole "
                f"numbers, such as {_show(arr[fraction][0])}: a float becomes an int only when "
                "every value is whole; round the values or retrain with a float column"
            )
        out = (arr < float(info.min)) | (arr >= float(info.max) + 1.0)
    elif arr.dtype.kind in "iu":
        src = np.iinfo(arr.dtype)
        out = np.zeros(arr.shape, dtype=bool)
        if info.min > src.min:
            out |= arr < info.min
        if info.max < src.max:
            out |= arr > info.max
    else:
        out = np.zeros(arr.shape, dtype=bool)
    if out.any():
        return None, (
            f"{label} ({target}) has {int(out.sum())} value(s) outside the {target} range "
            f"[{info.min}, {info.max}], such as {_show(arr[out][0])}"
        )
    values = arr.astype(target)
    if mask.any():
        return pd.arrays.IntegerArray(_full(values, mask, target, 0), mask.copy()), None
    return values, None


def _to_bool(label: str, target: str, got: _Got, mask: Any) -> tuple[Any, str | None]:
    import pandas as pd

    if _numeric_kind(got.kinds) != "bool":
        return None, _refusal(label, target, got, _ACCEPTED["bool"], "pass True/False values")
    values = _numbers(got, "bool").astype(bool)
    if mask.any():
        return pd.arrays.BooleanArray(_full(values, mask, bool, False), mask.copy()), None
    return values, None


def _default_string_dtype() -> Any:
    import pandas as pd

    return pd.Series(["a"]).dtype  # pandas' own type for text: ``str`` (pandas 3) or object


def _to_text(
    label: str, target: str, got: _Got, series: pd.Series, mask: Any
) -> tuple[Any, str | None]:
    import numpy as np
    import pandas as pd

    if target == "category" and isinstance(series.dtype, pd.CategoricalDtype):
        return series.array.copy(), None
    if set(got.kinds) - {"string"}:
        return None, _refusal(
            label,
            target,
            got,
            {"string"},
            "a text column takes str values; convert codes with .astype(str)",
        )
    if target == "category":
        return series.astype(object).astype("category").array, None
    if not _is_object(series.dtype):
        return series.array.copy(), None
    values = np.array(series.to_numpy(dtype=object), dtype=object)
    values[mask] = None
    default = _default_string_dtype()
    return (values if _is_object(default) else pd.array(values, dtype=default)), None


def _to_datetime(
    label: str, target: str, got: _Got, series: pd.Series, mask: Any
) -> tuple[Any, str | None]:
    import pandas as pd

    try:
        wanted = pd.api.types.pandas_dtype(target)
    except (TypeError, ValueError) as e:
        return None, f"{label}: the signature's type {target} is not usable here ({e})"
    tz = getattr(wanted, "tz", None)
    if set(got.kinds) - {"datetime", "string"}:
        return None, _refusal(
            label,
            target,
            got,
            {"datetime", "string"},
            "give datetime64 values or ISO 8601 "
            "strings (numbers are not read as times; convert epochs with "
            "pandas.to_datetime(..., unit='s'))",
        )
    parsed = series
    if _is_object(series.dtype) or "string" in got.kinds:
        try:
            parsed = pd.to_datetime(
                series.astype(object), format="ISO8601", errors="coerce", utc=tz is not None
            )
        except (ValueError, TypeError) as e:
            return None, f"{label} ({target}) has times that do not convert: {e}"
        bad = parsed.isna().to_numpy(dtype=bool) & ~mask
        if bad.any():
            return None, (
                f"{label} ({target}) has {int(bad.sum())} value(s) that are not ISO 8601 "
                f"times, such as {_show(series[bad].iloc[0])}: use e.g. '2024-05-01T13:45:00'"
            )
    have = getattr(parsed.dtype, "tz", None)
    if tz is None and have is not None:
        return None, (
            f"{label} ({target}) has time zone {have} but the model takes naive times: "
            "convert with .dt.tz_convert(None)"
        )
    if tz is not None and have is None:
        return None, (
            f"{label} ({target}) has naive times but the model takes time zone {tz}: "
            "localize them with .dt.tz_localize(...)"
        )
    try:
        if tz is not None:
            parsed = parsed.dt.tz_convert(tz)
        return parsed.astype(wanted).array, None
    except (ValueError, OverflowError) as e:
        return None, f"{label} ({target}) has times outside the {target} range: {e}"


_ACCEPTED = {"float": {"bool", "int", "float"}, "int": {"bool", "int", "float"}, "bool": {"bool"}}
_WORDS = {
    "bool": "bool values",
    "int": "integers",
    "float": "floats",
    "string": "strings",
    "datetime": "dates/times",
}


def _refusal(label: str, target: str, got: _Got, accepted: set[str], fix: str) -> str:
    """The words for values of a kind the target does not take."""
    wrong = {k: v for k, v in got.kinds.items() if k not in accepted}
    if "string" in wrong and "string" not in accepted:
        return (
            f"{label} ({target}) got strings such as {_show(wrong['string'])}: text is not "
            "converted to numbers; convert the column first (e.g. with pandas.to_numeric)"
        )
    kind, example = next(iter(wrong.items())) if wrong else ("other", None)
    words = _WORDS.get(kind, f"values of type {type(_plain(example)).__name__}")
    if kind in _WORDS and got.dtype != "object":
        words = f"{got.dtype} values"
    return f"{label} ({target}) got {words} such as {_show(example)}: {fix}"


def _coerce(label: str, spec: ColumnSpec, series: pd.Series) -> tuple[Any, str | None]:
    """A column as the spec's type (a new array) or the problem, in words."""
    import pandas as pd

    mask = series.isna().to_numpy(dtype=bool)
    nulls = int(mask.sum())
    if nulls and not spec.nullable:
        return None, (
            f"{label} ({spec.type}) has {nulls} null value(s) but the model does not accept "
            "nulls there: fill them (e.g. .fillna(...)) or drop those rows"
        )
    target = spec.type
    if isinstance(series.dtype, pd.CategoricalDtype) and target != "category":
        series = series.astype(object)
    got = _got(series, mask)
    if target in FLOAT_TYPES:
        return _to_float(label, target, got, mask)
    if target in INT_TYPES:
        return _to_int(label, target, got, mask)
    if target == "bool":
        return _to_bool(label, target, got, mask)
    if target in ("string", "category"):
        return _to_text(label, target, got, series, mask)
    return _to_datetime(label, target, got, series, mask)


def _frame(signature: Signature, data: object) -> pd.DataFrame:
    import pandas as pd

    kind, value = _read(data, "the data")
    if kind == "frame":
        return cast("pd.DataFrame", value)
    names = list(signature.names)
    if isinstance(value, pd.Series):
        raise SignatureError(
            "the data is a pandas Series (one column) but the model takes columns "
            f"{_names(names)}: pass a DataFrame, or series.to_frame().T for one row"
        )
    if isinstance(value, list | tuple):
        widths = {len(r) if isinstance(r, list | tuple) else -1 for r in value}
        if -1 in widths:
            raise SignatureError(
                "the data is a flat list but the model takes columns "
                f"{_names(names)}: pass a list of rows (lists), a dict or a DataFrame"
            )
        if widths != {len(names)}:
            raise SignatureError(
                f"the data has rows of {_names(sorted(widths))} values but the model takes "
                f"{len(names)} columns, in this order: {_names(names)}"
            )
        return pd.DataFrame([list(r) for r in value], columns=names)
    arr = _as_array(value, "the data")
    if arr.ndim != 2 or arr.shape[1] != len(names):
        raise SignatureError(
            f"the data is an array of shape {_shape_of(arr)} but the model takes "
            f"{len(names)} columns: pass a 2-D array of shape (rows, {len(names)}) with the "
            f"columns in this order: {_names(names)}, or a DataFrame"
        )
    return pd.DataFrame({n: arr[:, i] for i, n in enumerate(names)})


def _enforce_columns(signature: Signature, data: object, allow_extra: bool) -> pd.DataFrame:
    import pandas as pd

    frame = _frame(signature, data)
    columns = list(frame.columns)
    dupes = sorted({str(c) for c in columns if columns.count(c) > 1})
    if dupes:
        raise SignatureError(f"the data has duplicate columns {_names(dupes)}: keep one of each")
    names = signature.names
    missing = [n for n in names if n not in columns]
    known = set(names)
    extra = [c for c in columns if c not in known]
    problems = []
    if missing:
        text = f"missing column(s) {_names(missing)}"
        if extra:
            text += f" (the data has {_names(extra)} instead: renamed?)"
        problems.append(f"{text}; the model takes: {_expected(signature)}")
    elif extra and not allow_extra:
        problems.append(
            f"unexpected column(s) {_names(extra)}: the model does not take them; drop them, or "
            "pass allow_extra=True to ignore them"
        )
    if frame.shape[0] == 0:
        problems.append("the data has no rows: give at least one row")
    if problems:
        raise SignatureError("; ".join(problems))
    out: dict[str, Any] = {}
    for spec in signature.inputs:
        values, problem = _coerce(f"column {spec.name!r}", spec, frame[spec.name])
        if problem:
            problems.append(problem)
        out[spec.name] = values
    if problems:
        raise SignatureError("; ".join(problems))
    return pd.DataFrame(out, index=frame.index.copy())


def _dims_match(shape: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    return len(shape) == len(expected) and all(
        e in (-1, s) for s, e in zip(shape, expected, strict=True)
    )


def _enforce_tensor(signature: Signature, data: object) -> npt.NDArray[Any]:
    import numpy as np
    import pandas as pd

    spec = signature.inputs[0]
    expected = spec.shape
    assert expected is not None
    want = (
        f"({', '.join('rows' if d == -1 and i == 0 else str(d) for i, d in enumerate(expected))})"
    )
    if isinstance(data, Mapping) or (
        isinstance(data, list | tuple) and data and all(isinstance(r, Mapping) for r in data)
    ):
        raise SignatureError(
            f"the model takes an array of shape {want}, not named columns: pass a numpy array"
        )
    kind, value = _read(data, "the data")
    arr = _as_array(value.to_numpy() if kind == "frame" else value, "the data")
    if arr.ndim == len(expected) - 1 and _dims_match(arr.shape, expected[1:]):
        arr = arr[np.newaxis, ...]  # one row
    if not _dims_match(arr.shape, expected):
        raise SignatureError(
            f"the data has shape {_shape_of(arr)} but the model takes shape {want} "
            f"(signature {spec.type} {tuple(expected)})"
        )
    if arr.shape[0] == 0:
        raise SignatureError("the data has no rows: give at least one row")
    values, problem = _coerce("the input array", spec, pd.Series(arr.ravel()))
    if problem:
        raise SignatureError(problem)
    if isinstance(values, pd.api.extensions.ExtensionArray) and spec.type not in (
        "string",
        "category",
    ):
        raise SignatureError(
            f"the input array ({spec.type}) has nulls, which a numpy {spec.type} array cannot "
            "hold: fill them first"
        )
    dtype = object if spec.type == "string" else spec.type
    return np.array(values, dtype=dtype).reshape(arr.shape)


def enforce(
    signature: Signature, data: object, *, allow_extra: bool = False
) -> pd.DataFrame | npt.NDArray[Any]:
    """``data`` as the model takes it: a new DataFrame (columns) or ndarray (tensor).

    Raises :class:`SignatureError` naming every column that does not match and how to fix it.
    Extra columns are an error unless ``allow_extra=True`` (then they are dropped).
    """
    if signature.kind == "tensor":
        return _enforce_tensor(signature, data)
    fast = _already_conforming(signature, data)
    if fast is not None:
        return fast
    return _enforce_columns(signature, data, allow_extra)


_FAST_KINDS = {"f": "float", "i": "int", "u": "uint", "b": "bool"}


def _already_conforming(signature: Signature, data: object) -> pd.DataFrame | None:
    """A copy of ``data`` when it is a pandas frame that already has exactly the signature's
    columns, numeric or bool with the signature's dtypes, no nulls where none are allowed and
    no infinities: the common case of a model called with what it was trained on, checked with
    a few numpy operations instead of column by column (about 50x faster for one row of 30
    columns). Anything else returns None and takes the full path."""
    import sys

    if "pandas" not in sys.modules:
        return None
    import numpy as np
    import pandas as pd

    if not isinstance(data, pd.DataFrame) or len(data) == 0:
        return None
    names = [c.name for c in signature.inputs]
    if len(data.columns) != len(names) or set(data.columns) != set(names):
        return None
    if not data.columns.is_unique:
        return None
    dtypes = data.dtypes
    for spec in signature.inputs:
        dtype = dtypes[spec.name]
        if not isinstance(dtype, np.dtype) or dtype.kind not in _FAST_KINDS:
            return None
        if str(dtype) != spec.type:
            return None
    frame = data if list(data.columns) == names else data[names]
    floats = [s.name for s in signature.inputs if dtypes[s.name].kind == "f"]
    if len(floats) == len(names):
        block = frame.to_numpy()
    elif floats:
        block = frame[floats].to_numpy(dtype=np.float64)
    else:
        block = None
    if block is not None and not np.isfinite(block).all():
        return None  # nulls or infinities: the full path says which and where
    return frame.copy()
