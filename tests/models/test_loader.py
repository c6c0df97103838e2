"""Loading models: references, signature enforcement, downloads, and attacks on the loader.

The attacks check the side effect did not happen: a pickle's marker file is not created, a
tampered skops file never calls ``os.system``, a changed blob or bundle file loads nothing.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import posix
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
import yaml
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from loopml._errors import BlobCorruptError, ConflictError, InvalidInputError, NotFoundError
from loopml._workspace import Workspace, workspace
from loopml.models import LoadedModel, download, load_model, log_model, set_alias
from loopml.models._signature import SignatureError


# -- helpers ----------------------------------------------------------------------------------
def ws() -> Workspace:
    return workspace(create=True)


def blob_file(digest: str) -> Path:
    """Where the default workspace keeps a blob: .loopml/artifacts/sha256/<2 hex>/<62 hex>."""
    hexdigest = digest.removeprefix("sha256:")
    return Path.cwd() / ".loopml" / "artifacts" / "sha256" / hexdigest[:2] / hexdigest[2:]


def overwrite(file: Path, data: bytes) -> None:
    file.chmod(0o644)
    file.write_bytes(data)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def same_proba(got: Any, want: Any) -> None:
    """Equal up to the last bits: the checked input is a new (column-major) frame, so BLAS may
    sum in another order than on the caller's frame."""
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


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


class Booby:
    """A "model" whose unpickling touches a marker file: the code a pickle can run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def predict(self, data: Any) -> list[int]:
        return [0] * len(data)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (pathlib.Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    x, y = load_breast_cancer(as_frame=True, return_X_y=True)
    return x, y


@pytest.fixture(scope="module")
def pipe(cancer: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    x, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)


@pytest.fixture(scope="module")
def small_pipe(cancer: tuple[pd.DataFrame, pd.Series]) -> Pipeline:
    x, y = cancer
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000)).fit(x, y)


@pytest.fixture(scope="module")
def mixed(cancer: tuple[pd.DataFrame, pd.Series]) -> tuple[pd.DataFrame, LogisticRegression]:
    """Two columns of the data, one of them whole numbers (int64), and a model of them."""
    x, y = cancer
    frame = pd.DataFrame(
        {
            "radius": x["mean radius"].to_numpy(),
            "texture": x["mean texture"].round().astype("int64").to_numpy(),
        }
    )
    return frame, LogisticRegression(max_iter=1000).fit(frame, y)


@pytest.fixture(scope="module")
def evil_skops() -> bytes:
    """A real skops file of FunctionTransformer(func=os.system), made before any monkeypatch."""
    return bytes(sio.dumps(FunctionTransformer(func=os.system)))


@pytest.fixture
def fraud(pipe: Pipeline, cancer: tuple[pd.DataFrame, pd.Series]) -> pd.DataFrame:
    """``fraud`` version 1 (the pipeline) logged in this test's project; returns the features."""
    x, _ = cancer
    log_model(pipe, "fraud", input_example=x.head(5))
    return x


# -- references -------------------------------------------------------------------------------
def test_a_version_loads_by_number_and_predicts_what_the_model_predicts(
    pipe: Pipeline, fraud: pd.DataFrame
) -> None:
    model = load_model("models:/fraud/1")

    assert isinstance(model, LoadedModel)
    assert (model.name, model.version, model.flavor) == ("fraud", 1, "sklearn")
    assert model.uri == "models:/fraud/1"
    assert repr(model) == "LoadedModel(models:/fraud/1, sklearn)"
    assert model.has_predict_proba
    np.testing.assert_array_equal(model.predict(fraud), pipe.predict(fraud))
    same_proba(model.predict_proba(fraud), pipe.predict_proba(fraud))
    np.testing.assert_array_equal(model.model.predict_proba(fraud), pipe.predict_proba(fraud))
    pd.testing.assert_frame_equal(model.input_example, fraud.head(5))
    assert model.manifest["name"] == "fraud"


def test_an_alias_and_the_bare_name_resolve_to_their_versions(
    pipe: Pipeline, small_pipe: Pipeline, fraud: pd.DataFrame
) -> None:
    log_model(small_pipe, "fraud", input_example=fraud.head(5))
    set_alias("fraud", "challenger", 1)

    assert load_model("models:/fraud@challenger").version == 1
    latest = load_model("models:/fraud")
    assert latest.version == 2
    same_proba(latest.predict_proba(fraud), small_pipe.predict_proba(fraud))
    assert load_model(Path("models:/fraud/1").as_posix()).version == 1


def test_the_bare_name_skips_deleted_versions(small_pipe: Pipeline, fraud: pd.DataFrame) -> None:
    log_model(small_pipe, "fraud", input_example=fraud.head(5))
    ws().store.delete_model_version("fraud", 2)

    assert load_model("models:/fraud").version == 1

    ws().store.delete_model_version("fraud", 1)
    with pytest.raises(NotFoundError, match="no version left"):
        load_model("models:/fraud")


@pytest.mark.parametrize(
    ("uri", "fix"),
    [
        ("models:/", "use models:/NAME/VERSION, models:/NAME@ALIAS"),
        ("models:/fraud/x", "the version must be a number (models:/fraud/3)"),
        ("models:/fraud/0", "the version must be a number"),
        ("models:/fraud/1/2", "use models:/NAME/VERSION"),
        ("models:/fraud@Champion", "lower-case"),
        ("models:/fraud@v3", "reserved"),
        ("models:/..", "without '..'"),
        ("s3://x", "neither a models:/ reference nor a bundle folder"),
        ("fraud", "use models:/NAME/VERSION, models:/NAME@ALIAS or the path"),
    ],
)
def test_a_bad_reference_is_refused_with_the_fix(uri: str, fix: str, fraud: pd.DataFrame) -> None:
    with pytest.raises(InvalidInputError) as info:
        load_model(uri)

    assert fix in str(info.value)


def test_a_missing_model_version_or_alias_is_not_found(fraud: pd.DataFrame) -> None:
    with pytest.raises(NotFoundError, match="no registered model 'nosuch'"):
        load_model("models:/nosuch/1")
    with pytest.raises(NotFoundError, match="no registered model 'nosuch'"):
        load_model("models:/nosuch")
    with pytest.raises(NotFoundError, match="has no version 9"):
        load_model("models:/fraud/9")
    with pytest.raises(NotFoundError, match="has no alias 'champion'"):
        load_model("models:/fraud@champion")


# -- the signature at predict time ------------------------------------------------------------
def test_a_missing_column_is_named_in_the_error(fraud: pd.DataFrame) -> None:
    model = load_model("models:/fraud/1")

    with pytest.raises(SignatureError) as info:
        model.predict(fraud.drop(columns=["mean radius"]))

    assert "missing column(s)" in str(info.value)
    assert "'mean radius'" in str(info.value)
    with pytest.raises(SignatureError, match="'mean radius'"):
        model.predict_proba(fraud.drop(columns=["mean radius"]))


def test_a_column_of_the_wrong_type_is_named_in_the_error(fraud: pd.DataFrame) -> None:
    model = load_model("models:/fraud/1")
    rows = fraud.head(3).astype({"mean texture": str})

    with pytest.raises(SignatureError) as info:
        model.predict(rows)

    assert "column 'mean texture' (float64) got strings" in str(info.value)


def test_an_extra_column_is_refused(fraud: pd.DataFrame) -> None:
    model = load_model("models:/fraud/1")

    with pytest.raises(SignatureError, match=r"unexpected column\(s\) 'leak'"):
        model.predict(fraud.head(3).assign(leak=1.0))


def test_a_mistyped_error_is_an_invalid_input_error(fraud: pd.DataFrame) -> None:
    model = load_model("models:/fraud/1")

    with pytest.raises(InvalidInputError):
        model.predict(fraud.head(3).drop(columns=["mean area"]))


def test_safe_coercions_int_to_float_and_whole_floats_to_int_predict_the_same(
    mixed: tuple[pd.DataFrame, LogisticRegression],
) -> None:
    frame, fitted = mixed
    log_model(fitted, "mixed", input_example=frame.head(5))
    model = load_model("models:/mixed/1")
    types = {c["name"]: c["type"] for c in model.signature.to_dict()["inputs"]}
    assert types == {"radius": "float64", "texture": "int64"}
    want = fitted.predict_proba(frame)

    whole_floats = frame.astype({"texture": "float64"})
    np.testing.assert_array_equal(model.predict_proba(whole_floats), want)
    rounded = frame.assign(radius=frame["radius"].round().astype("int64"))
    np.testing.assert_array_equal(
        model.predict_proba(rounded), fitted.predict_proba(rounded.astype({"radius": float}))
    )
    as_rows = frame.head(2).to_numpy().tolist()
    np.testing.assert_array_equal(model.predict_proba(as_rows), want[:2])


def test_a_fractional_float_in_an_int_column_is_refused(
    mixed: tuple[pd.DataFrame, LogisticRegression],
) -> None:
    frame, fitted = mixed
    log_model(fitted, "mixed", input_example=frame.head(5))
    model = load_model("models:/mixed/1")

    with pytest.raises(SignatureError, match=r"column 'texture' .* not whole numbers"):
        model.predict(frame.head(3).astype({"texture": float}).assign(texture=[1.5, 2.0, 3.0]))


def test_a_regressor_has_no_predict_proba(cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    x, y = cancer
    log_model(LinearRegression().fit(x, y), "score", input_example=x.head(5))
    model = load_model("models:/score/1")

    assert not model.has_predict_proba
    with pytest.raises(InvalidInputError, match="has no predict_proba"):
        model.predict_proba(x.head(3))


# -- downloads and bundle folders -------------------------------------------------------------
def test_a_downloaded_bundle_folder_loads_and_predicts_the_same(
    pipe: Pipeline, fraud: pd.DataFrame, tmp_path: Path
) -> None:
    folder = download("models:/fraud/1", tmp_path / "bundle")

    assert sorted(p.name for p in folder.iterdir()) == [
        "input_example.json",
        "model.skops",
        "model.yaml",
    ]
    model = load_model(folder)
    assert model.version is None
    assert model.name == "fraud"
    same_proba(model.predict_proba(fraud), pipe.predict_proba(fraud))
    with pytest.raises(SignatureError, match="'mean radius'"):
        model.predict(fraud.drop(columns=["mean radius"]))


def test_download_by_alias_writes_the_aliased_version(
    small_pipe: Pipeline, fraud: pd.DataFrame, tmp_path: Path
) -> None:
    log_model(small_pipe, "fraud", input_example=fraud.head(5))
    set_alias("fraud", "challenger", 2)

    folder = download("models:/fraud@challenger", tmp_path / "out")

    manifest = yaml.safe_load((folder / "model.yaml").read_bytes())
    assert (folder / "model.yaml").read_bytes() == ws().artifacts.get_bytes(
        ws().store.get_model_version("fraud", 2).bundle_digest
    )
    assert manifest["files"]["model.skops"]["digest"] == sha256(
        (folder / "model.skops").read_bytes()
    )


def test_a_folder_without_a_manifest_is_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"has no model\.yaml"):
        load_model(tmp_path)


# -- attack: a pickle that runs code ----------------------------------------------------------
def test_a_pickled_model_is_refused_by_default_and_its_code_does_not_run(project: Path) -> None:
    marker = project / "pwned"
    version = log_model(Booby(marker), "trap", flavor="pyfunc")
    assert version.flavor == "pyfunc"
    assert not marker.exists()
    assert ws().store.get_model_version("trap", 1).trusted_types == []

    with pytest.raises(InvalidInputError) as info:
        load_model("models:/trap/1")

    message = str(info.value)
    assert "trusted=True" in message
    assert "allow_pickle" in message
    assert "loopml.toml" in message
    assert not marker.exists()


def test_a_pickled_model_loads_when_the_caller_trusts_it_which_runs_its_code(
    project: Path,
) -> None:
    marker = project / "pwned"
    log_model(Booby(marker), "trap", flavor="pyfunc")

    load_model("models:/trap/1", trusted=True)

    assert marker.exists()  # the pickle ran: this is why the default refuses


def test_a_pickled_model_loads_when_the_workspace_allows_pickles(project: Path) -> None:
    marker = project / "pwned"
    log_model(Booby(marker), "trap", flavor="pyfunc")
    (project / "loopml.toml").write_text("[models]\nallow_pickle = true\n")

    load_model("models:/trap/1")

    assert marker.exists()


@pytest.mark.parametrize("setting", ['"true"', "1", "false"])
def test_only_a_literal_true_allows_pickles(setting: str, project: Path) -> None:
    marker = project / "pwned"
    log_model(Booby(marker), "trap", flavor="pyfunc")
    (project / "loopml.toml").write_text(f"[models]\nallow_pickle = {setting}\n")

    with pytest.raises(InvalidInputError, match="allow_pickle"):
        load_model("models:/trap/1")

    assert not marker.exists()


def test_a_downloaded_pickle_folder_is_refused_unless_trusted(
    project: Path, tmp_path: Path
) -> None:
    marker = project / "pwned"
    log_model(Booby(marker), "trap", flavor="pyfunc")
    folder = download("models:/trap/1", tmp_path / "trap")
    (project / "loopml.toml").write_text("[models]\nallow_pickle = true\n")

    with pytest.raises(InvalidInputError, match=r"trusted=True"):
        load_model(folder)

    assert not marker.exists()


# -- attack: a manifest that claims extra trusted types ---------------------------------------
def tamper(folder: Path, model_bytes: bytes, claims: list[str]) -> None:
    """Replace the folder's model.skops and make model.yaml agree with it completely."""
    (folder / "model.skops").write_bytes(model_bytes)
    manifest = yaml.safe_load((folder / "model.yaml").read_bytes())
    manifest["files"]["model.skops"] = {"digest": sha256(model_bytes), "size": len(model_bytes)}
    manifest["trusted_types_at_logging"] = claims
    (folder / "model.yaml").write_text(yaml.safe_dump(manifest))


def test_a_manifest_claiming_extra_trusted_types_does_not_widen_what_loads(
    fraud: pd.DataFrame, evil_skops: bytes, system_recorder: Recorder, tmp_path: Path
) -> None:
    folder = download("models:/fraud/1", tmp_path / "bundle")
    tamper(folder, evil_skops, ["posix.system"])

    with pytest.raises(InvalidInputError) as info:
        load_model(folder)

    assert "posix.system" in str(info.value)
    assert "Nothing was loaded" in str(info.value)
    assert system_recorder.calls == []
    # The control: the bytes are a real attack once the *caller* trusts the type.
    loaded = load_model(folder, trusted_types=["posix.system"])
    loaded.model.transform(["echo owned"])
    assert system_recorder.calls == [(["echo owned"],)]


def test_a_model_blob_overwritten_in_the_artifact_store_is_refused_as_corrupt(
    fraud: pd.DataFrame, evil_skops: bytes, system_recorder: Recorder
) -> None:
    record = ws().store.get_model_version("fraud", 1)
    overwrite(blob_file(record.file("model.skops").digest), evil_skops)

    with pytest.raises(BlobCorruptError, match="is corrupt"):
        load_model("models:/fraud/1")

    assert system_recorder.calls == []
    with pytest.raises((BlobCorruptError, NotFoundError)):
        load_model("models:/fraud/1")  # the damaged blob was moved aside: nothing loads
    assert system_recorder.calls == []


def test_a_manifest_blob_overwritten_to_claim_trust_is_refused_as_corrupt(
    fraud: pd.DataFrame, system_recorder: Recorder
) -> None:
    record = ws().store.get_model_version("fraud", 1)
    manifest = yaml.safe_load(ws().artifacts.get_bytes(record.bundle_digest))
    manifest["trusted_types_at_logging"] = ["posix.system"]

    overwrite(blob_file(record.bundle_digest), yaml.safe_dump(manifest).encode())

    with pytest.raises(BlobCorruptError):
        load_model("models:/fraud/1")
    assert system_recorder.calls == []


def test_logging_the_clean_model_again_repairs_a_corrupted_blob(
    pipe: Pipeline, fraud: pd.DataFrame, evil_skops: bytes
) -> None:
    record = ws().store.get_model_version("fraud", 1)
    overwrite(blob_file(record.file("model.skops").digest), evil_skops)
    with pytest.raises(BlobCorruptError):
        load_model("models:/fraud/1")

    assert log_model(pipe, "fraud", input_example=fraud.head(5)).created is False

    np.testing.assert_array_equal(load_model("models:/fraud/1").predict(fraud), pipe.predict(fraud))


# -- attack: a bundle whose digest does not match ---------------------------------------------
@pytest.mark.parametrize("name", ["model.skops", "input_example.json"])
def test_a_bundle_folder_file_that_does_not_match_its_digest_is_refused(
    name: str, fraud: pd.DataFrame, tmp_path: Path
) -> None:
    folder = download("models:/fraud/1", tmp_path / "bundle")
    with (folder / name).open("ab") as handle:
        handle.write(b" ")

    with pytest.raises(InvalidInputError, match=r"does not match its digest in model\.yaml"):
        load_model(folder)


def test_a_bundle_folder_with_a_missing_or_symlinked_file_is_refused(
    fraud: pd.DataFrame, tmp_path: Path
) -> None:
    folder = download("models:/fraud/1", tmp_path / "bundle")
    real = tmp_path / "elsewhere.skops"
    (folder / "model.skops").rename(real)

    with pytest.raises(InvalidInputError, match="is missing"):
        load_model(folder)
    (folder / "model.skops").symlink_to(real)
    with pytest.raises(InvalidInputError, match="symlink"):
        load_model(folder)


def test_a_manifest_naming_a_file_outside_the_folder_is_refused(
    fraud: pd.DataFrame, tmp_path: Path
) -> None:
    folder = download("models:/fraud/1", tmp_path / "bundle")
    manifest = yaml.safe_load((folder / "model.yaml").read_bytes())
    manifest["files"]["../outside"] = {"digest": "sha256:" + "0" * 64, "size": 1}
    (folder / "model.yaml").write_text(yaml.safe_dump(manifest))

    with pytest.raises(InvalidInputError, match="not a plain file name"):
        load_model(folder)


def test_a_manifest_that_is_not_a_loopml_manifest_is_refused(
    fraud: pd.DataFrame, tmp_path: Path
) -> None:
    folder = download("models:/fraud/1", tmp_path / "bundle")
    (folder / "model.yaml").write_text("flavors: {sklearn: {}}\n")

    with pytest.raises(InvalidInputError, match="not a loopml manifest"):
        load_model(folder)
    (folder / "model.yaml").write_text("a: [b\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_model(folder)


# -- attack: an alias pointing at a deleted version -------------------------------------------
def test_deleting_a_version_with_an_alias_is_refused_and_names_the_alias(
    fraud: pd.DataFrame,
) -> None:
    set_alias("fraud", "champion", 1, force="first model")

    with pytest.raises(ConflictError, match="@champion"):
        ws().store.delete_model_version("fraud", 1)

    assert load_model("models:/fraud@champion").version == 1
    assert ws().store.get_model_version("fraud", 1).status == "ready"


def test_deleting_with_drop_aliases_removes_the_alias_and_nothing_loads(
    fraud: pd.DataFrame,
) -> None:
    set_alias("fraud", "champion", 1, force="first model")

    ws().store.delete_model_version("fraud", 1, actor="ops", drop_aliases=True)

    with pytest.raises(NotFoundError, match="has no alias 'champion'"):
        load_model("models:/fraud@champion")
    with pytest.raises(NotFoundError, match="was deleted") as info:
        load_model("models:/fraud/1")
    assert "by ops" in str(info.value)
    with pytest.raises(NotFoundError, match="was deleted"):
        download("models:/fraud/1", Path("out"))
    assert not Path("out").exists()
    kinds = [e.kind for e in ws().store.model_history("fraud")]
    assert kinds[-2:] == ["alias_removed", "deleted"]


def test_an_alias_cannot_be_pointed_at_a_deleted_version(
    small_pipe: Pipeline, fraud: pd.DataFrame
) -> None:
    log_model(small_pipe, "fraud", input_example=fraud.head(5))
    ws().store.delete_model_version("fraud", 1)

    with pytest.raises(InvalidInputError, match="was deleted"):
        set_alias("fraud", "challenger", 1)
    set_alias("fraud", "challenger", 2)
    assert load_model("models:/fraud@challenger").version == 2
