"""The fast input path: a check compiled from the model's signature that turns a request's
tensors (or MLflow ``dataframe_split`` rows) straight into the matrix the model predicts on.

``models._signature.enforce`` builds a pandas frame and checks it column by column, which is
right for a library call and far too slow for a server (about 2 ms for one row, fifteen times a
whole request). When every input of a model is a number, the server instead checks names,
shape, kind and finiteness with a few numpy operations (a few microseconds) and hands the model
a float64 matrix in signature order. Anything the fast path does not accept exactly (a missing
or extra column, strings, nulls, infinities, a float sent to an integer column) returns None and
takes the general path, which raises the precise, per-column error.

The fast path is used only if, at warm-up, it predicts exactly what the general path predicts
on the input example, without a warning. A scikit-learn model fitted on a frame warns when it is
given a bare matrix, so the fast path predicts on a copy without ``feature_names_in_`` (the
server has already checked the names); a model that needs its frame (a ColumnTransformer that
selects columns by name) fails that comparison and keeps the general path.
"""

from __future__ import annotations

from typing import Any

_FLOATS = ("float64", "float32", "float16")
_INTS = ("int64", "int32", "int16", "int8", "uint64", "uint32", "uint16", "uint8")


class FastInput:
    """A signature compiled for numeric matrices; ``None`` means "take the general path"."""

    def __init__(self, columns: list[str], types: list[str]) -> None:
        import numpy as np

        self.columns = columns
        self.width = len(columns)
        self.position = {name: i for i, name in enumerate(columns)}
        self.integer = [t in _INTS for t in types]
        self.any_integer = any(self.integer)
        # What each column's type can hold: a value outside is refused (by the general path).
        low, high = [], []
        for kind in types:
            info: Any = np.iinfo(kind) if kind in _INTS else np.finfo(kind)
            top = float(info.max)
            if kind in _INTS and int(top) > int(info.max):  # 2**63 - 1 rounds up to 2**63
                top = float(np.nextafter(top, -np.inf))
            low.append(float(info.min))
            high.append(top)
        self.low, self.high = np.asarray(low), np.asarray(high)
        self.bounded = any(t != "float64" for t in types)
        # float32 and float16 columns are rounded to their type, as the general path does.
        self.narrow = [(i, t) for i, t in enumerate(types) if t in ("float32", "float16")]

    @classmethod
    def compile(cls, signature: Any) -> FastInput | None:
        """A fast path for ``signature``, or None when some input is not a number."""
        if signature is None or signature.kind != "columns":
            return None
        columns, types = [], []
        for spec in signature.inputs:
            if spec.type not in _FLOATS and spec.type not in _INTS:
                return None
            columns.append(spec.name)
            types.append(spec.type)
        return cls(columns, types)

    def _finish(self, matrix: Any) -> Any:
        import numpy as np

        if matrix.dtype.kind not in "fiu":
            return None
        if matrix.dtype != np.float64:
            matrix = matrix.astype(np.float64)
        if matrix.shape[0] == 0 or not np.isfinite(matrix).all():
            return None  # empty, nulls or infinities: the general path explains
        if self.any_integer:
            whole = matrix[:, self.integer]
            if not np.array_equal(whole, np.trunc(whole)):
                return None  # a fraction in an integer column: the general path says which
        if self.bounded and not ((matrix >= self.low).all() and (matrix <= self.high).all()):
            return None  # a value the column's type cannot hold: the general path says which
        if self.narrow:
            matrix = matrix.copy() if not matrix.flags.writeable else matrix
            for at, kind in self.narrow:
                matrix[:, at] = matrix[:, at].astype(kind)
        return matrix

    def from_v2(self, tensors: list[Any]) -> Any:
        """One 2-D input ``[rows, columns]`` or one 1-D input per column, all numbers."""
        import numpy as np

        if len(tensors) == 1 and tensors[0].name not in self.position:
            array = tensors[0].array
            if array.ndim != 2 or array.shape[1] != self.width:
                return None
            return self._finish(array)
        if len(tensors) != self.width:
            return None
        ordered: list[Any] = [None] * self.width
        rows = -1
        for tensor in tensors:
            at = self.position.get(tensor.name)
            if at is None or ordered[at] is not None:
                return None
            array = tensor.array
            if array.ndim == 2 and array.shape[1] == 1:
                array = array[:, 0]
            if array.ndim != 1 or (rows >= 0 and len(array) != rows):
                return None
            if array.dtype.kind not in "fiu":
                return None
            rows = len(array)
            ordered[at] = array
        return self._finish(np.column_stack(ordered))

    def from_split(self, doc: Any) -> Any:
        """MLflow ``{"dataframe_split": {"columns": [...], "data": [[...], ...]}}``."""
        import numpy as np

        if not isinstance(doc, dict) or len(doc) != 1:
            return None
        value = doc.get("dataframe_split")
        if not isinstance(value, dict) or set(value) - {"columns", "data"}:
            return None
        columns, data = value.get("columns"), value.get("data")
        if not isinstance(columns, list) or not isinstance(data, list) or not data:
            return None
        try:
            matrix = np.asarray(data)
        except (ValueError, TypeError):
            return None
        if matrix.ndim != 2 or matrix.shape[1] != self.width or len(columns) != self.width:
            return None
        if columns != self.columns:
            if not all(isinstance(c, str) for c in columns) or set(columns) != set(self.columns):
                return None  # unknown, missing, repeated or non-text names: the general path
            matrix = matrix[:, [columns.index(name) for name in self.columns]]
        return self._finish(matrix)


def without_feature_names(model: Any) -> Any:
    """A deep copy of ``model`` with every ``feature_names_in_`` removed (pipelines and
    ensembles included), so that scikit-learn predicts on a bare matrix without a warning."""
    import copy

    import numpy as np

    clone = copy.deepcopy(model)
    seen: set[int] = set()

    def walk(obj: Any, depth: int) -> None:
        if depth > 12 or id(obj) in seen or isinstance(obj, str | bytes | np.ndarray):
            return
        seen.add(id(obj))
        if isinstance(obj, list | tuple):
            for item in obj:
                walk(item, depth + 1)
            return
        if isinstance(obj, dict):
            for item in obj.values():
                walk(item, depth + 1)
            return
        attributes = getattr(obj, "__dict__", None)
        if not isinstance(attributes, dict) or not type(obj).__module__.startswith("sklearn"):
            return
        attributes.pop("feature_names_in_", None)
        for item in list(attributes.values()):
            walk(item, depth + 1)

    walk(clone, 0)
    return clone


def compile_fast(loaded: Any) -> tuple[FastInput, Any] | None:
    """The fast input check and the raw model it feeds, if both agree with the general path
    on the input example (same predictions, no warning); otherwise None."""
    import warnings

    import numpy as np

    fast = FastInput.compile(loaded.signature)
    example = loaded.input_example
    if fast is None or example is None:
        return None
    model = loaded.model
    if type(model).__module__.startswith("sklearn"):
        try:
            model = without_feature_names(model)
        except Exception:  # an estimator that cannot be copied keeps the general path
            return None
    try:
        from loopml.models._signature import enforce

        frame: Any = enforce(loaded.signature, example)
        matrix = fast._finish(np.asarray(frame[fast.columns].to_numpy()))
        if matrix is None:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            quick = np.asarray(model.predict(matrix))
            if loaded.has_predict_proba:
                quick_proba = np.asarray(model.predict_proba(matrix))
        if not np.array_equal(quick, np.asarray(loaded.predict(example))):
            return None
        if loaded.has_predict_proba and not np.allclose(
            quick_proba, np.asarray(loaded.predict_proba(example)), rtol=0, atol=1e-12
        ):
            return None
    except Exception:
        return None
    return fast, model
