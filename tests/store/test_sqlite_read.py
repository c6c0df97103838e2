"""The stdlib read path for one model version returns what the full store returns."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from loopml._errors import NotFoundError
from loopml.store import open_store
from loopml.store._records import ModelFile
from loopml.store._sqlite_read import read_model_version


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def uri(tmp_path: Path) -> str:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(uri)
    run = store.create_run("training")
    for n in (1, 2, 3):
        store.create_model_version(
            "fraud",
            bundle_digest=_digest(f"bundle{n}"),
            flavor="sklearn",
            format="skops",
            trusted_types=["sklearn.tree._tree.Tree"] if n == 2 else [],
            signature={"kind": "columns", "inputs": [{"name": "x", "type": "float64"}]},
            files=[ModelFile("model.skops", _digest(f"model{n}"), 10 * n)],
            run_id=run.id,
            actor="ada",
        )
    store.set_model_tags("fraud", 2, {"team": "risk"})
    store.record_model_verdict("fraud", 2, True, {"reasons": ["pass"]})
    store.set_model_alias("fraud", "champion", 2)
    store.delete_model_version("fraud", 3)
    store.close()
    return uri


def test_a_version_an_alias_and_the_latest_read_the_same_as_the_full_store(uri: str) -> None:
    store = open_store(uri)
    try:
        for version in (1, 2, 3):
            assert read_model_version(uri, "fraud", version=version) == store.get_model_version(
                "fraud", version
            )
        assert read_model_version(uri, "fraud", alias="champion") == store.get_model_version(
            "fraud", 2
        )
        latest = read_model_version(uri, "fraud")
        assert latest is not None and latest.version == 2  # v3 was deleted
    finally:
        store.close()


def test_missing_models_versions_and_aliases_raise_not_found(uri: str) -> None:
    with pytest.raises(NotFoundError, match="no registered model 'other'"):
        read_model_version(uri, "other", version=1)
    with pytest.raises(NotFoundError, match="no version 9"):
        read_model_version(uri, "fraud", version=9)
    with pytest.raises(NotFoundError, match="no alias 'canary'"):
        read_model_version(uri, "fraud", alias="canary")


def test_another_schema_revision_or_engine_is_left_to_the_full_store(
    uri: str, tmp_path: Path
) -> None:
    database = uri.removeprefix("sqlite:///")
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0005'")
    assert read_model_version(uri, "fraud", version=1) is None
    assert read_model_version("postgresql+psycopg://x/y", "fraud", version=1) is None
    assert read_model_version(f"sqlite:///{tmp_path / 'missing.db'}", "fraud") is None


def test_a_load_by_uri_never_imports_sqlalchemy(project: Path) -> None:
    import subprocess
    import sys

    code = """
import sys
import loopml
from sklearn.linear_model import LogisticRegression
import numpy as np
x = np.arange(20.0).reshape(10, 2); y = np.array([0, 1] * 5)
loopml.log_model(LogisticRegression().fit(x, y), "m", input_example=x[:3])
"""
    subprocess.run([sys.executable, "-c", code], cwd=project, check=True, capture_output=True)
    check = (
        "import sys, numpy as np, loopml; "
        "m = loopml.load_model('models:/m/1'); m.predict(np.zeros((1, 2))); "
        "print('sqlalchemy' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], cwd=project, check=True, capture_output=True, text=True
    )
    assert done.stdout.strip() == "False"
