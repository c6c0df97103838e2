"""An ONNX copy of a scikit-learn model (skl2onnx), kept only if it predicts the same.

The check compares probabilities (or predictions) of the original and of ONNX Runtime on the
input example and on a held-out sample drawn around it (the example's rows with small noise
on numeric columns); the copy is kept when the largest difference is within ``TOLERANCE`` and
the predicted labels agree. A model skl2onnx cannot convert keeps only its skops bundle, and
the report says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TOLERANCE = 1e-5


@dataclass
class Converted:
    data: bytes | None
    report: dict[str, Any]


def _samples(example: Any) -> list[Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    if isinstance(example, pd.DataFrame):
        noisy = example.copy()
        for column in noisy.columns:
            if pd.api.types.is_float_dtype(noisy[column]):
                scale = float(noisy[column].std() or 1.0) * 0.05
                noisy[column] = noisy[column] + rng.normal(0, scale, len(noisy))
        return [example, noisy]
    array = np.asarray(example)
    return [array, array + rng.normal(0, 0.05 * float(array.std() or 1.0), array.shape)]


def convert(model: Any, example: Any) -> Converted:
    """Convert ``model``; ``data`` is None (with the reason) unless the copy matches."""
    if example is None:
        return Converted(None, {"kept": False, "reason": "to_onnx needs an input_example"})
    try:
        import numpy as np
        from skl2onnx import to_onnx

        from loopml.models._flavors._onnx import OnnxModel, session
    except ImportError:
        return Converted(
            None, {"kept": False, "reason": "skl2onnx is not installed: pip install 'loopml[onnx]'"}
        )
    first = np.asarray(
        example.to_numpy(dtype=np.float32) if hasattr(example, "to_numpy") else example,
        dtype=np.float32,
    )
    try:
        proto = to_onnx(model, first[:1], options={"zipmap": False}, target_opset=None)
    except Exception as exc:  # skl2onnx raises many kinds; the bundle keeps skops only
        return Converted(None, {"kept": False, "reason": f"{type(exc).__name__}: {exc}"[:500]})
    try:
        data = proto.SerializeToString()
        onnx_model = OnnxModel(session(data))
    except Exception as exc:  # any failure: keep skops only
        return Converted(None, {"kept": False, "reason": f"ONNX Runtime: {exc}"[:500]})
    worst = 0.0
    rows = 0
    for sample in _samples(example):
        matrix = np.asarray(
            sample.to_numpy(dtype=np.float32) if hasattr(sample, "to_numpy") else sample,
            dtype=np.float32,
        )
        rows += len(matrix)
        if hasattr(model, "predict_proba") and "probabilities" in onnx_model.outputs:
            want = np.asarray(model.predict_proba(sample), dtype=np.float64)
            got = np.asarray(onnx_model.predict_proba(matrix), dtype=np.float64)
        else:
            want = np.asarray(model.predict(sample), dtype=np.float64)
            got = np.asarray(onnx_model.predict(matrix), dtype=np.float64).reshape(want.shape)
        worst = max(worst, float(np.max(np.abs(want - got))) if want.size else 0.0)
        labels_agree = bool(
            np.array_equal(np.asarray(model.predict(sample)), onnx_model.predict(matrix).ravel())
        )
        if not labels_agree:
            worst = max(worst, 1.0)
    kept = worst <= TOLERANCE
    report: dict[str, Any] = {
        "kept": kept,
        "max_abs_diff": worst,
        "tolerance": TOLERANCE,
        "rows_checked": rows,
    }
    if not kept:
        report["reason"] = f"predictions differ by {worst:.3g} (tolerance {TOLERANCE})"
    return Converted(data if kept else None, report)
