"""ONNX models (an ``onnx.ModelProto``), run with ONNX Runtime."""

from __future__ import annotations

from typing import Any

from loopml._errors import InvalidInputError
from loopml.models._flavors import module_is


class OnnxModel:
    """An ONNX Runtime session with ``predict`` (first output) and ``predict_proba`` (the
    ``probabilities`` output, when the graph has one). Tabular input goes to the single input
    as a 2-D array of the input's element type."""

    def __init__(self, session: Any) -> None:
        self.session = session
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise InvalidInputError("loopml runs ONNX models with exactly one input tensor")
        self.input = inputs[0]
        self.outputs = [o.name for o in session.get_outputs()]

    def _run(self, data: Any) -> list[Any]:
        import numpy as np

        dtype: Any = np.float64 if "double" in self.input.type else np.float32
        if "int64" in self.input.type:
            dtype = np.int64
        array = np.asarray(data.to_numpy() if hasattr(data, "to_numpy") else data, dtype=dtype)
        if array.ndim == 1:
            array = array.reshape(1, -1)
        return list(self.session.run(None, {self.input.name: array}))

    def predict(self, data: Any) -> Any:
        return self._run(data)[0]

    def predict_proba(self, data: Any) -> Any:
        if "probabilities" not in self.outputs:
            raise AttributeError("this ONNX graph has no 'probabilities' output")
        return self._run(data)[self.outputs.index("probabilities")]


def session(data: bytes) -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise InvalidInputError(
            "this model needs ONNX Runtime: pip install 'loopml[onnx]'"
        ) from exc
    try:
        return onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types
        raise InvalidInputError(f"the ONNX model does not load: {exc}") from exc


class OnnxFlavor:
    name = "onnx"
    format = "onnx"
    filename = "model.onnx"
    needs = {"onnxruntime", "numpy"}

    def matches(self, model: Any) -> bool:
        return module_is(model, "onnx") and hasattr(model, "SerializeToString")

    def save(self, model: Any) -> tuple[bytes, list[str], dict[str, Any]]:
        return bytes(model.SerializeToString()), [], {}

    def load(self, data: bytes, trusted: list[str], meta: dict[str, Any]) -> Any:
        return OnnxModel(session(data))
