"""Standalone: load a bundle folder and predict on its input example; print JSON.

Run by :mod:`loopml.models._infra` as ``python -I -S _infra_runner.py FOLDER FLAVOR
TRUSTED_JSON`` with only the bundle's locked requirements on ``sys.path``. It must need
nothing but the standard library and those requirements: loopml itself is not importable
there, which is the point (a gap in the requirements cannot hide behind loopml's own).
"""

import json
import sys
from pathlib import Path
from typing import Any


def load(folder: Path, flavor: str, trusted: list[str], meta: dict[str, Any]) -> Any:
    if flavor == "sklearn":
        import skops.io as sio

        return sio.loads((folder / "model.skops").read_bytes(), trusted=trusted)
    if flavor == "xgboost":
        import xgboost

        model = getattr(xgboost, meta["estimator"])()
        model.load_model(bytearray((folder / "model.ubj").read_bytes()))
        return model
    if flavor == "lightgbm":
        import lightgbm

        return lightgbm.Booster(model_str=(folder / "model.lgb.txt").read_text())
    if flavor == "onnx":
        import onnxruntime

        return onnxruntime.InferenceSession(
            (folder / "model.onnx").read_bytes(), providers=["CPUExecutionProvider"]
        )
    if flavor == "torch":
        import importlib

        from safetensors.torch import load as load_tensors

        [reference] = [t.split(":", 1)[1] for t in trusted if t.startswith("torch-class:")]
        module_name, _, qualname = reference.partition(":")
        cls: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        module = cls(**meta.get("init", {}))
        module.load_state_dict(load_tensors((folder / "model.safetensors").read_bytes()))
        return module.eval()
    raise SystemExit(f"the infra check does not run flavor {flavor!r}")


def example(folder: Path) -> Any:
    doc = json.loads((folder / "input_example.json").read_text())
    if "columns" in doc:
        import pandas as pd

        frame = pd.DataFrame(doc["data"], columns=doc["columns"])
        for column, dtype in doc.get("dtypes", {}).items():
            frame[column] = frame[column].astype(dtype)
        return frame
    import numpy as np

    return np.asarray(doc["data"], dtype=doc["dtype"])


def main(argv: list[str]) -> None:
    folder, flavor, trusted = Path(argv[1]), argv[2], json.loads(argv[3])
    meta = json.loads(argv[4]) if len(argv) > 4 else {}
    model = load(folder, flavor, trusted, meta)
    data = example(folder)
    if flavor == "onnx":
        import numpy as np

        values = data.to_numpy() if hasattr(data, "to_numpy") else data
        first = model.get_inputs()[0]
        dtype = np.float64 if "double" in first.type else np.float32
        out = model.run(None, {first.name: np.asarray(values, dtype=dtype)})[0]
    elif flavor == "torch":
        import numpy as np
        import torch

        values = data.to_numpy() if hasattr(data, "to_numpy") else data
        with torch.no_grad():
            out = model(torch.as_tensor(np.asarray(values, dtype=np.float32))).numpy()
    elif flavor == "lightgbm" and meta.get("classes") is not None:
        import numpy as np

        raw = np.asarray(model.predict(data))  # a booster gives probabilities
        proba = raw if raw.ndim == 2 else np.column_stack([1 - raw, raw])
        out = np.asarray(meta["classes"])[proba.argmax(axis=1)]
    else:
        out = model.predict(data)
    values = out.tolist() if hasattr(out, "tolist") else list(out)
    print(json.dumps({"predictions": values}, default=str))


if __name__ == "__main__":
    main(sys.argv)
