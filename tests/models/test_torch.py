"""PyTorch modules as safetensors: the class comes from the store, never from the bundle."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import loopml
from tests.pipelines._project import CodeProject, forget_modules_under

torch = pytest.importorskip("torch")  # a dev dependency: `make test` installs it

NET = """
import torch


class Net(torch.nn.Module):
    def __init__(self, n_in: int = 4, hidden: int = 8) -> None:
        super().__init__()
        self.loopml_init = {"n_in": n_in, "hidden": hidden}
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 2)
        )

    def forward(self, x):
        return self.layers(x)


class NotAModule:
    def __init__(self, **kwargs) -> None:
        raise RuntimeError("must never be built")
"""


@pytest.fixture
def netmod(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setattr(sys, "path", [str(project), *sys.path])
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    code = CodeProject(project)
    code.write("netmod.py", NET)
    loopml.init(project)
    yield code.load("netmod")
    forget_modules_under(project)


def _net(netmod: object) -> object:
    torch.manual_seed(0)
    return netmod.Net(n_in=4, hidden=6)  # type: ignore[attr-defined]


def test_a_module_round_trips_through_safetensors_with_identical_outputs(netmod: object) -> None:
    net = _net(netmod)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    version = loopml.log_model(net, "net", input_example=x)
    assert version.flavor == "torch"
    record = loopml.workspace().store.get_model_version("net", 1)
    assert record.trusted_types == ["torch-class:netmod:Net"]
    assert {f.name for f in record.files} >= {"model.safetensors", "model.yaml"}
    loaded = loopml.load_model("models:/net/1")
    with torch.no_grad():
        want = net(torch.as_tensor(x)).numpy()  # type: ignore[operator]
    np.testing.assert_array_equal(loaded.predict(x), want)
    proba = loaded.predict_proba(x)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert loaded.model.module.layers[0].in_features == 4


def test_the_class_named_in_the_bundle_is_ignored_in_favour_of_the_store(
    netmod: object, tmp_path: Path
) -> None:
    x = np.zeros((2, 4), dtype=np.float32)
    loopml.log_model(_net(netmod), "net", input_example=x)
    folder = loopml.models.download("models:/net/1", tmp_path / "bundle")
    manifest = (folder / "model.yaml").read_text()
    (folder / "model.yaml").write_text(manifest.replace("netmod:Net", "netmod:NotAModule"))
    # The registry path loads the stored class, whatever a copy of the manifest says.
    assert loopml.load_model("models:/net/1").model.module.__class__.__name__ == "Net"
    # A bundle folder has no store behind it: without a class reference it refuses.
    with pytest.raises(loopml.InvalidInputError, match="no trusted class reference"):
        loopml.load_model(folder)
    # Naming a class that is not a torch module is refused before anything is built.
    with pytest.raises(loopml.InvalidInputError, match=r"is not a torch\.nn\.Module"):
        loopml.load_model(folder, trusted_types=["torch-class:netmod:NotAModule"])


def test_a_module_class_defined_inside_a_function_is_refused_when_logged(project: Path) -> None:
    class Local(torch.nn.Module):
        def forward(self, x: object) -> object:
            return x

    with pytest.raises(loopml.InvalidInputError, match="importable file"):
        loopml.log_model(Local(), "local", path=project)
