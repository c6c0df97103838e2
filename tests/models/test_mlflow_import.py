"""Reading MLflow model directories: the fixtures were written by MLflow 3.17.2 itself.

``fixtures/mlflow/`` comes from ``fixtures/make_mlflow_models.py`` (run with an MLflow venv);
``expected.json`` holds what MLflow's own loader predicted on each input example.
"""

from __future__ import annotations

import json
import os
import pickle
import posix
import shlex
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from loopml._errors import InvalidInputError, NotFoundError
from loopml.models._mlflow_import import ImportedModel, read_mlflow_model

FIXTURES = Path(__file__).parent / "fixtures" / "mlflow"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
TREE = "sklearn.tree._tree.Tree"


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target, symlinks=True)
    return target


def edit_mlmodel(model_dir: Path, change: Callable[[dict[str, Any]], None]) -> None:
    doc = yaml.safe_load((model_dir / "MLmodel").read_text())
    change(doc)
    (model_dir / "MLmodel").write_text(yaml.safe_dump(doc))


def refusal(path: Path, **kwargs: Any) -> str:
    with pytest.raises(InvalidInputError) as info:
        read_mlflow_model(path, **kwargs)
    return str(info.value)


class Recorder:
    """Stands in for os.system: records calls, runs nothing."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> int:
        self.calls.append(args)
        return 0


@pytest.fixture
def system_recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(os, "system", recorder)
    monkeypatch.setattr(posix, "system", recorder)  # what skops would resolve "posix.system" to
    return recorder


# --- the scikit-learn pipeline -----------------------------------------------------------------


def test_a_skops_pipeline_imports_with_its_signature_example_and_requirements() -> None:
    imported = read_mlflow_model(FIXTURES / "sklearn_skops")

    assert isinstance(imported, ImportedModel)
    assert type(imported.model).__name__ == "Pipeline"
    assert imported.signature_inputs == [
        ("amount", "float64"),
        ("hour", "int64"),
        ("n_tx_24h", "int64"),
        ("merchant_risk", "float32"),
    ]
    assert imported.signature_outputs == [("output", "int64")]
    assert imported.tensor_shape is None
    example = imported.input_example
    assert isinstance(example, pd.DataFrame)
    assert list(example.columns) == ["amount", "hour", "n_tx_24h", "merchant_risk"]
    assert {c: str(t) for c, t in example.dtypes.items()} == {
        "amount": "float64",
        "hour": "int64",
        "n_tx_24h": "int64",
        "merchant_risk": "float32",
    }
    assert len(example) == 5
    assert imported.requirements == [
        "numpy==2.4.6",
        "pandas==3.1.1",
        "scikit-learn==1.9.1",
        "scipy==1.17.1",
        "skops==0.16.0",
    ]
    assert imported.mlflow_version == "3.17.2"
    assert imported.sklearn_version == "1.9.1"
    assert imported.claimed_trusted_types == []
    assert imported.trusted_types == []


def test_the_imported_pipeline_predicts_exactly_what_mlflow_predicted() -> None:
    imported = read_mlflow_model(FIXTURES / "sklearn_skops")

    expected = EXPECTED["sklearn_skops"]
    assert imported.model.predict(imported.input_example).tolist() == expected["predict"]
    assert (
        imported.model.predict_proba(imported.input_example).tolist() == (expected["predict_proba"])
    )


def test_the_model_bytes_are_the_file_as_is_and_the_source_names_its_origin() -> None:
    imported = read_mlflow_model(FIXTURES / "sklearn_skops")

    assert imported.model_file == "model.skops"
    assert imported.model_bytes == (FIXTURES / "sklearn_skops" / "model.skops").read_bytes()
    mlmodel = yaml.safe_load((FIXTURES / "sklearn_skops" / "MLmodel").read_text())
    assert imported.source == {
        "path": str((FIXTURES / "sklearn_skops").resolve()),
        "model_uuid": mlmodel["model_uuid"],
        "utc_time_created": mlmodel["utc_time_created"],
    }
    assert "model_bytes" not in repr(imported)


def test_a_logged_models_run_id_is_kept_in_the_source(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    edit_mlmodel(model_dir, lambda d: d.update(run_id="abc123", model_id="m-42"))

    source = read_mlflow_model(model_dir).source

    assert source["run_id"] == "abc123"
    assert source["model_id"] == "m-42"


# --- trust: the caller's, never the file's ------------------------------------------------------


def test_a_forest_is_refused_without_trust_although_its_mlmodel_claims_the_tree_type() -> None:
    message = refusal(FIXTURES / "forest_skops")

    assert TREE in message
    assert "the file claims these are trusted" in message
    assert "does not take a file's word for it" in message
    assert f"--trust {TREE}" in message


def test_a_forest_loads_when_the_caller_trusts_the_tree_type() -> None:
    imported = read_mlflow_model(FIXTURES / "forest_skops", trust=[TREE])

    assert imported.trusted_types == [TREE]
    assert imported.claimed_trusted_types == [TREE]
    expected = EXPECTED["forest_skops"]
    assert imported.model.predict(imported.input_example).tolist() == expected["predict"]
    assert (
        imported.model.predict_proba(imported.input_example).tolist() == (expected["predict_proba"])
    )


def test_trusting_a_type_the_file_does_not_use_grants_nothing() -> None:
    imported = read_mlflow_model(FIXTURES / "sklearn_skops", trust=[TREE, "posix.system"])

    assert imported.trusted_types == []


def test_a_type_the_file_needs_is_refused_even_when_mlmodel_does_not_claim_it(
    tmp_path: Path,
) -> None:
    model_dir = copy_fixture("forest_skops", tmp_path)
    edit_mlmodel(model_dir, lambda d: d["flavors"]["sklearn"].update(skops_trusted_types=None))

    message = refusal(model_dir)

    assert TREE in message
    assert "claims" not in message


def test_trust_must_be_a_list_of_names_not_one_string() -> None:
    message = refusal(FIXTURES / "forest_skops", trust=TREE)

    assert "list" in message


# --- attacks: nothing from the file runs ---------------------------------------------------------


def test_the_mlflow_model_that_trusts_os_system_is_refused_and_nothing_runs(
    system_recorder: Recorder,
) -> None:
    message = refusal(FIXTURES / "evil_skops")

    assert "posix.system" in message
    assert "the file claims these are trusted" in message
    assert "Danger" in message
    assert "--trust posix.system" not in message  # the fix is not to trust it
    assert system_recorder.calls == []


def test_a_variant_built_here_that_claims_posix_system_never_builds_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    model_dir = tmp_path / "evil"
    model_dir.mkdir()
    transformer = FunctionTransformer(func=os.system, validate=False, check_inverse=False)
    (model_dir / "model.skops").write_bytes(sio.dumps(transformer))
    marker = tmp_path / "pwned"
    (model_dir / "MLmodel").write_text(
        yaml.safe_dump(
            {
                "flavors": {
                    "sklearn": {
                        "code": None,
                        "pickled_model": "model.skops",
                        "serialization_format": "skops",
                        "sklearn_version": "1.9.1",
                        "skops_trusted_types": ["posix.system", "builtins.eval"],
                    }
                },
                "saved_input_example_info": {
                    "artifact_path": "input_example.json",
                    "pandas_orient": "split",
                    "type": "dataframe",
                },
            }
        )
    )
    (model_dir / "input_example.json").write_text(
        json.dumps({"columns": ["cmd"], "data": [[f"touch {shlex.quote(str(marker))}"]]})
    )
    recorder = Recorder()
    monkeypatch.setattr(os, "system", recorder)
    monkeypatch.setattr(posix, "system", recorder)

    message = refusal(model_dir)

    assert "posix.system" in message
    assert recorder.calls == []
    assert not marker.exists()


def test_only_the_callers_trust_widens_what_loads_and_loading_calls_nothing(
    system_recorder: Recorder,
) -> None:
    imported = read_mlflow_model(FIXTURES / "evil_skops", trust=["posix.system"])

    assert imported.trusted_types == ["posix.system"]
    assert imported.model.func is system_recorder  # built, as the caller asked; never called
    assert system_recorder.calls == []


def _malicious_pickle(marker: Path) -> bytes:
    class RunsACommand:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (os.system, (f"touch {shlex.quote(str(marker))}",))

    return pickle.dumps(RunsACommand())


def test_the_cloudpickle_model_is_refused_with_the_reason_and_the_fix() -> None:
    message = refusal(FIXTURES / "pickle_model")

    assert "cloudpickle" in message
    assert "runs any code" in message
    assert 'serialization_format="skops"' in message


def test_a_pickle_whose_unpickling_would_run_a_command_is_refused_and_does_not_run(
    tmp_path: Path,
) -> None:
    model_dir = copy_fixture("pickle_model", tmp_path)
    marker = tmp_path / "pwned"
    (model_dir / "model.pkl").write_bytes(_malicious_pickle(marker))

    refusal(model_dir)

    assert not marker.exists()


def test_a_model_without_serialization_format_is_treated_as_pickle_and_refused(
    tmp_path: Path,
) -> None:
    model_dir = copy_fixture("pickle_model", tmp_path)
    marker = tmp_path / "pwned"
    (model_dir / "model.pkl").write_bytes(_malicious_pickle(marker))
    edit_mlmodel(model_dir, lambda d: d["flavors"]["sklearn"].pop("serialization_format"))

    message = refusal(model_dir)

    assert "'pickle'" in message
    assert not marker.exists()


def test_a_pickle_disguised_as_skops_is_refused_without_unpickling(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    marker = tmp_path / "pwned"
    (model_dir / "model.skops").write_bytes(_malicious_pickle(marker))

    message = refusal(model_dir)

    assert "not a skops file" in message
    assert not marker.exists()


def test_a_model_that_ships_code_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    edit_mlmodel(model_dir, lambda d: d["flavors"]["sklearn"].update(code="code"))

    message = refusal(model_dir)

    assert "flavors.sklearn.code" in message
    assert "code_paths" in message


def test_an_unknown_serialization_format_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    edit_mlmodel(model_dir, lambda d: d["flavors"]["sklearn"].update(serialization_format="joblib"))

    assert "'joblib'" in refusal(model_dir)


def test_a_model_without_a_sklearn_flavor_is_refused_naming_its_flavors(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    edit_mlmodel(model_dir, lambda d: d["flavors"].pop("sklearn"))

    message = refusal(model_dir)

    assert "python_function" in message
    assert "skops" in message


# --- files that leave the directory --------------------------------------------------------------


def test_a_symlinked_model_file_pointing_outside_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    outside = tmp_path / "elsewhere.skops"
    (model_dir / "model.skops").rename(outside)
    (model_dir / "model.skops").symlink_to(outside)

    message = refusal(model_dir)

    assert "symbolic link" in message
    assert "model.skops" in message


def test_a_symlinked_folder_on_the_way_to_the_model_file_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (model_dir / "model.skops").rename(outside / "model.skops")
    (model_dir / "data").symlink_to(outside)
    edit_mlmodel(
        model_dir, lambda d: d["flavors"]["sklearn"].update(pickled_model="data/model.skops")
    )

    assert "symbolic link" in refusal(model_dir)


def test_a_model_file_in_a_subfolder_is_read(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    (model_dir / "data").mkdir()
    (model_dir / "model.skops").rename(model_dir / "data" / "model.skops")
    edit_mlmodel(
        model_dir, lambda d: d["flavors"]["sklearn"].update(pickled_model="data/model.skops")
    )

    assert read_mlflow_model(model_dir).model_file == "data/model.skops"


def test_a_symlinked_mlmodel_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    (model_dir / "MLmodel").rename(tmp_path / "MLmodel.real")
    (model_dir / "MLmodel").symlink_to(tmp_path / "MLmodel.real")

    assert "symbolic link" in refusal(model_dir)


def test_a_symlinked_example_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    (model_dir / "input_example.json").unlink()
    (model_dir / "input_example.json").symlink_to("/etc/hostname")

    assert "symbolic link" in refusal(model_dir)


@pytest.mark.parametrize(
    "name",
    [
        "../elsewhere.skops",
        "data/../../elsewhere.skops",
        "/etc/passwd",
        "C:\\model.skops",
        "..\\elsewhere.skops",
        "",
        ".",
        7,
    ],
)
def test_a_pickled_model_name_that_leaves_the_directory_is_refused(
    tmp_path: Path, name: object
) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    shutil.copy(model_dir / "model.skops", tmp_path / "elsewhere.skops")
    edit_mlmodel(model_dir, lambda d: d["flavors"]["sklearn"].update(pickled_model=name))

    message = refusal(model_dir)

    assert "flavors.sklearn.pickled_model" in message


def test_an_example_name_that_leaves_the_directory_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    edit_mlmodel(
        model_dir,
        lambda d: d["saved_input_example_info"].update(artifact_path="../../input_example.json"),
    )

    assert "saved_input_example_info.artifact_path" in refusal(model_dir)


def test_a_model_file_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    (model_dir / "model.skops").unlink()
    os.mkfifo(model_dir / "model.skops")  # reading it would block forever

    assert "not a regular file" in refusal(model_dir)


# --- broken directories -------------------------------------------------------------------------


def test_a_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        read_mlflow_model(tmp_path / "nope")


def test_a_file_instead_of_a_directory_points_at_its_folder() -> None:
    message = refusal(FIXTURES / "sklearn_skops" / "MLmodel")

    assert "not a directory" in message
    assert str(FIXTURES / "sklearn_skops") in message


def test_a_directory_without_mlmodel_suggests_the_subfolder_that_has_one(tmp_path: Path) -> None:
    copy_fixture("sklearn_skops", tmp_path)

    message = refusal(tmp_path)

    assert "no MLmodel file" in message
    assert "sklearn_skops" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("flavors: [unclosed\n", "not valid YAML at line"),
        ("flavors:\n\tsklearn: {}\n", "not valid YAML"),
        (b"flavors: \xc3\x28 x\n", "not valid YAML"),
        ("- just\n- a list\n", "does not hold a YAML mapping"),
        ("", "does not hold a YAML mapping"),
        ("flavors: 3\n", "no 'flavors' mapping"),
        ("created: 2026-13-45 10:00:00\nflavors: {}\n", "not valid YAML"),
        ("!!python/object/apply:os.system ['echo hi']\n", "not valid YAML"),
    ],
)
def test_a_malformed_mlmodel_is_an_invalid_input_error(
    tmp_path: Path, content: str | bytes, expected: str, system_recorder: Recorder
) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    target = model_dir / "MLmodel"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)

    assert expected in refusal(model_dir)
    assert system_recorder.calls == []


def test_a_missing_skops_file_is_named(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    (model_dir / "model.skops").unlink()

    message = refusal(model_dir)

    assert "model.skops is missing" in message
    assert "pickled_model" in message


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04truncated"])
def test_a_skops_file_that_is_not_a_zip_is_refused(tmp_path: Path, content: bytes) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    (model_dir / "model.skops").write_bytes(content)

    assert "not a skops file" in refusal(model_dir)


def test_a_zip_that_is_not_a_skops_file_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    with zipfile.ZipFile(model_dir / "model.skops", "w") as archive:
        archive.writestr("readme.txt", "hello")

    assert "not a readable skops file" in refusal(model_dir)


def test_a_skops_file_with_a_broken_schema_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    with zipfile.ZipFile(model_dir / "model.skops", "w") as archive:
        archive.writestr("schema.json", "{not json")

    assert "not a readable skops file" in refusal(model_dir)


# --- signatures -------------------------------------------------------------------------------


def _with_signature(
    model_dir: Path, inputs: list[dict[str, Any]], columns: list[str], rows: list[list[Any]]
) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["signature"]["inputs"] = json.dumps(inputs)

    edit_mlmodel(model_dir, change)
    (model_dir / "input_example.json").write_text(json.dumps({"columns": columns, "data": rows}))


def test_every_mlflow_column_type_maps_to_its_dtype_and_the_example_is_cast(
    tmp_path: Path,
) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    kinds = ["double", "float", "long", "integer", "boolean", "string"]
    _with_signature(
        model_dir,
        [{"type": k, "name": f"c_{k}", "required": True} for k in kinds],
        [f"c_{k}" for k in kinds],
        [[1.5, 0.25, 3, 4, True, "a"], [2.0, 1, 5, 6, False, "b"]],
    )

    imported = read_mlflow_model(model_dir)

    expected = ["float64", "float32", "int64", "int32", "bool", "string"]
    assert imported.signature_inputs == [
        (f"c_{k}", t) for k, t in zip(kinds, expected, strict=True)
    ]
    example = imported.input_example
    assert isinstance(example, pd.DataFrame)
    assert [str(t) for t in example.dtypes] == expected
    assert example["c_string"].tolist() == ["a", "b"]


@pytest.mark.parametrize("kind", ["binary", "datetime", "array", {"type": "object"}])
def test_a_column_type_loopml_cannot_check_is_refused_naming_the_column(
    tmp_path: Path, kind: Any
) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    _with_signature(
        model_dir, [{"type": kind, "name": "when", "required": True}], ["when"], [["x"]]
    )

    message = refusal(model_dir)

    assert "'when'" in message
    assert (json.dumps(kind) if isinstance(kind, dict) else repr(kind)) in message


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([[1.5]], "fractional"),
        ([[None]], "missing"),
        ([["3"]], "not numbers"),
    ],
)
def test_an_example_value_that_does_not_fit_the_signature_is_refused(
    tmp_path: Path, rows: list[list[Any]], why: str
) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    _with_signature(model_dir, [{"type": "long", "name": "n", "required": True}], ["n"], rows)

    message = refusal(model_dir)

    assert "'n'" in message
    assert why in message


def test_an_example_whose_columns_differ_from_the_signature_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    _with_signature(model_dir, [{"type": "long", "name": "n", "required": True}], ["m"], [[1]])

    message = refusal(model_dir)

    assert "missing: ['n']" in message
    assert "['m']" in message


def test_a_signature_that_is_not_json_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    edit_mlmodel(model_dir, lambda d: d["signature"].update(inputs="[{not json"))

    assert "signature.inputs is not valid JSON" in refusal(model_dir)


def test_no_signature_and_no_example_give_empty_lists_and_none(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)

    def change(doc: dict[str, Any]) -> None:
        del doc["signature"], doc["saved_input_example_info"]

    edit_mlmodel(model_dir, change)

    imported = read_mlflow_model(model_dir)

    assert imported.signature_inputs == []
    assert imported.signature_outputs == []
    assert imported.input_example is None


def test_a_missing_example_file_that_mlmodel_names_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    (model_dir / "input_example.json").unlink()

    assert "input_example.json is missing" in refusal(model_dir)


def test_an_example_that_is_not_json_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    (model_dir / "input_example.json").write_text("{columns: nope")

    assert "not valid JSON" in refusal(model_dir)


def test_an_example_with_an_index_keeps_it(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    example = json.loads((model_dir / "input_example.json").read_text())
    example["index"] = [10, 11, 12, 13, 14]
    (model_dir / "input_example.json").write_text(json.dumps(example))

    imported = read_mlflow_model(model_dir)

    assert isinstance(imported.input_example, pd.DataFrame)
    assert imported.input_example.index.tolist() == [10, 11, 12, 13, 14]
    assert str(imported.input_example["merchant_risk"].dtype) == "float32"


def test_a_tensor_signature_becomes_one_input_with_its_shape() -> None:
    imported = read_mlflow_model(FIXTURES / "tensor_skops")

    assert imported.signature_inputs == [("input", "float32")]
    assert imported.tensor_shape == [-1, 4]
    assert imported.signature_outputs == [("output", "int64")]
    assert imported.output_tensor_shape == [-1]
    example = imported.input_example
    assert isinstance(example, np.ndarray)
    assert example.dtype == np.float32
    assert example.shape == (3, 4)
    assert imported.model.predict(example).tolist() == EXPECTED["tensor_skops"]["predict"]


def test_a_tensor_of_strings_is_refused(tmp_path: Path) -> None:
    model_dir = copy_fixture("tensor_skops", tmp_path)
    spec = [{"type": "tensor", "tensor-spec": {"dtype": "str", "shape": [-1]}}]
    edit_mlmodel(model_dir, lambda d: d["signature"].update(inputs=json.dumps(spec)))

    assert "'str'" in refusal(model_dir)


# --- requirements ------------------------------------------------------------------------------


def test_requirements_drop_mlflow_comments_and_pip_options(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    (model_dir / "requirements.txt").write_text(
        "# written by hand\n"
        "--extra-index-url https://example.invalid/simple\n"
        "MLflow==3.17.2\n"
        "mlflow_skinny==3.17.2\n"
        "mlflow-tracking-helper==1.0\n"
        "scikit-learn==1.9.1  # the model\n"
        "\n"
        "numpy>=2; python_version >= '3.11'\n"
    )

    assert read_mlflow_model(model_dir).requirements == [
        "mlflow-tracking-helper==1.0",
        "scikit-learn==1.9.1",
        "numpy>=2; python_version >= '3.11'",
    ]


def test_a_model_without_requirements_has_none(tmp_path: Path) -> None:
    model_dir = copy_fixture("sklearn_skops", tmp_path)
    (model_dir / "requirements.txt").unlink()

    assert read_mlflow_model(model_dir).requirements == []
