"""loopml.datasets: register, get and list immutable, content-addressed dataset versions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import loopml
from loopml.demo import fraud_transactions


@pytest.fixture
def frame() -> pd.DataFrame:
    return fraud_transactions(500, seed=2)


def test_registering_gives_version_1_with_a_content_id_and_the_data_back(
    workspace_env: str, frame: pd.DataFrame
) -> None:
    version = loopml.datasets.register(
        frame, "transactions", roles={"is_fraud": "target", "transaction_id": "id"}
    )
    assert version.version == 1
    assert version.id.startswith("sha256:") and len(version.id) == 71
    assert version.rows == 500
    assert [name for name, _ in version.columns] == list(frame.columns)
    assert version.roles["is_fraud"] == "target" and version.roles["amount"] == "feature"
    assert version.columns_with_role("id") == ["transaction_id"]
    pd.testing.assert_frame_equal(loopml.datasets.get("transactions").to_pandas(), frame)


def test_the_same_data_registered_twice_is_stored_once(
    workspace_env: str, frame: pd.DataFrame
) -> None:
    first = loopml.datasets.register(frame, "transactions")
    blobs_before = {b.digest for b in loopml.workspace().artifacts.list_blobs()}
    again = loopml.datasets.register(pl.from_pandas(frame), "transactions")
    assert again.version == first.version == 1
    assert again.id == first.id
    assert {b.digest for b in loopml.workspace().artifacts.list_blobs()} == blobs_before


def test_new_data_becomes_the_next_version_and_get_returns_the_latest(
    workspace_env: str, frame: pd.DataFrame
) -> None:
    first = loopml.datasets.register(frame, "transactions")
    shifted = loopml.datasets.register(
        fraud_transactions(500, seed=2, shift=1.0), "transactions", parents=[first]
    )
    assert shifted.version == 2
    assert shifted.parents == [("transactions", 1, "derived")]
    assert loopml.datasets.get("transactions").version == 2
    assert loopml.datasets.get("transactions", 1).id == first.id
    assert [v.version for v in loopml.datasets.versions("transactions")] == [1, 2]
    assert [v.name for v in loopml.datasets.versions()] == ["transactions"]


def test_the_active_run_is_recorded_as_the_producer(
    workspace_env: str, frame: pd.DataFrame
) -> None:
    with loopml.start_run(experiment="ingest") as run:
        version = loopml.datasets.register(frame, "transactions")
    assert version.run_id == run.id
    assert loopml.datasets.get("transactions").run_id == run.id


def test_csv_and_parquet_files_register_as_the_same_content(
    workspace_env: str, frame: pd.DataFrame, project: Path
) -> None:
    frame.to_csv(project / "tx.csv", index=False)
    frame.to_parquet(project / "tx.parquet", index=False)
    from_csv = loopml.datasets.register(project / "tx.csv", "from_csv")
    from_parquet = loopml.datasets.register(str(project / "tx.parquet"), "from_parquet")
    assert from_csv.id == from_parquet.id == loopml.datasets.register(frame, "frame").id
    assert from_csv.record.source["kind"] == "csv"


def test_infinities_and_all_missing_columns_are_kept(workspace_env: str) -> None:
    data = pd.DataFrame({"x": [1.0, np.inf, -np.inf], "empty": [np.nan, np.nan, np.nan]})
    version = loopml.datasets.register(data, "edge")
    back = version.to_pandas()
    assert back["x"].tolist() == [1.0, np.inf, -np.inf]
    assert back["empty"].isna().all()


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: pd.DataFrame(), "empty"),
        (lambda p: pd.DataFrame({"a": []}), "empty"),
        (lambda p: pd.DataFrame({"m": [1, "x", 2.5]}), "column 'm' mixes types"),
        (lambda p: [1, 2], "cannot read a list"),
        (lambda p: p / "missing.csv", "no such file"),
    ],
)
def test_bad_input_gets_a_clear_error(
    workspace_env: str, project: Path, make: object, words: str
) -> None:
    with pytest.raises(loopml.InvalidInputError, match=words):
        loopml.datasets.register(make(project), "bad")  # type: ignore[operator]


def test_a_non_utf8_csv_names_the_column_and_the_fix(workspace_env: str, project: Path) -> None:
    (project / "latin.csv").write_bytes("name,n\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(loopml.InvalidInputError, match="UTF-8"):
        loopml.datasets.register(project / "latin.csv", "latin")


def test_a_file_that_is_not_what_its_extension_says_is_refused(
    workspace_env: str, project: Path
) -> None:
    (project / "fake.parquet").write_text("a,b\n1,2\n")
    with pytest.raises(loopml.InvalidInputError, match="not a Parquet file"):
        loopml.datasets.register(project / "fake.parquet", "fake")


@pytest.mark.parametrize(
    ("roles", "words"),
    [({"nope": "target"}, "does not have"), ({"amount": "label"}, "not a role")],
)
def test_bad_roles_are_refused(
    workspace_env: str, frame: pd.DataFrame, roles: dict[str, str], words: str
) -> None:
    with pytest.raises(loopml.InvalidInputError, match=words):
        loopml.datasets.register(frame, "transactions", roles=roles)


def test_unknown_datasets_and_versions_say_how_to_list_them(workspace_env: str) -> None:
    with pytest.raises(loopml.NotFoundError, match="loopml data list"):
        loopml.datasets.get("nothing")
    loopml.datasets.register(pa.table({"a": [1]}), "one")
    with pytest.raises(loopml.NotFoundError, match="version 7"):
        loopml.datasets.get("one", 7)
    with pytest.raises(loopml.InvalidInputError, match="positive integer"):
        loopml.datasets.get("one", 0)


def test_gc_keeps_the_blobs_of_dataset_versions(workspace_env: str, frame: pd.DataFrame) -> None:
    version = loopml.datasets.register(frame, "transactions")
    referenced = loopml.workspace().store.referenced_digests()
    assert version.record.files[0].digest in referenced


def test_roles_carry_over_to_the_next_version_unless_given(
    workspace_env: str, frame: pd.DataFrame
) -> None:
    loopml.datasets.register(frame, "transactions", roles={"is_fraud": "target"})
    second = loopml.datasets.register(frame.head(100), "transactions")
    assert second.roles["is_fraud"] == "target"
    third = loopml.datasets.register(frame.head(50), "transactions", roles={})
    assert third.roles["is_fraud"] == "feature"


def test_a_folder_and_a_glob_of_files_register_as_one_table(
    workspace_env: str, frame: pd.DataFrame, project: Path
) -> None:
    parts = project / "parts"
    parts.mkdir()
    frame.iloc[:200].to_parquet(parts / "a.parquet", index=False)
    frame.iloc[200:].to_csv(parts / "b.csv", index=False)
    from_folder = loopml.datasets.register(parts, "folder")
    from_glob = loopml.datasets.register(str(parts / "*.*"), "glob")
    assert from_folder.id == from_glob.id == loopml.datasets.register(frame, "whole").id
    assert from_folder.record.source["kind"] == "files"


def test_files_that_disagree_on_columns_are_refused(workspace_env: str, project: Path) -> None:
    parts = project / "parts"
    parts.mkdir()
    pd.DataFrame({"a": [1]}).to_csv(parts / "a.csv", index=False)
    pd.DataFrame({"b": [1]}).to_csv(parts / "b.csv", index=False)
    with pytest.raises(loopml.InvalidInputError, match="does not have the columns"):
        loopml.datasets.register(parts, "mixed")
    with pytest.raises(loopml.InvalidInputError, match=r"no \.csv or \.parquet"):
        loopml.datasets.register(str(parts / "*.json"), "nothing")


def test_a_sql_query_registers_its_result_and_never_records_the_password(
    workspace_env: str, frame: pd.DataFrame, project: Path
) -> None:
    from sqlalchemy import create_engine

    url = f"sqlite:///{project / 'warehouse.db'}"
    engine = create_engine(url)
    frame.to_sql("transactions", engine, index=False)
    engine.dispose()
    version = loopml.datasets.register(
        "SELECT * FROM transactions WHERE amount > 50", "big", url=url
    )
    assert version.rows == int((frame["amount"] > 50).sum())
    assert version.record.source == {
        "kind": "sql",
        "url": url,
        "query": "SELECT * FROM transactions WHERE amount > 50",
    }
    with pytest.raises(loopml.InvalidInputError, match="query failed"):
        loopml.datasets.register("SELECT * FROM nowhere", "bad", url=url)
    with pytest.raises(loopml.InvalidInputError, match="url="):
        loopml.datasets.register("SELECT 1", "no_url")


@pytest.mark.postgres
def test_a_query_against_postgresql_hides_the_password(pg_uri: str, workspace_env: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_uri).set(password="s3cret").render_as_string(hide_password=False)
    version = loopml.datasets.register("SELECT 1 AS one", "one", url=url)
    assert version.rows == 1
    assert "s3cret" not in str(version.record.source)


def test_a_csv_whose_type_changes_late_in_the_file_is_read_whole(
    workspace_env: str, project: Path
) -> None:
    (project / "late.csv").write_text("a\n" + "1\n" * 300_000 + "1.5\n")
    version = loopml.datasets.register(project / "late.csv", "late")
    assert version.columns == [("a", "double")]
    assert version.rows == 300_001


_REGISTER_CHILD = """
import sys
import pyarrow as pa
pa.set_cpu_count(2)
pa.set_io_thread_count(2)
import loopml

big, tiny, workspace = sys.argv[1], sys.argv[2], sys.argv[3]
loopml.init(workspace)
loopml.datasets.register(tiny, "warm-up", path=workspace)  # every import, the thread pools


def status(key):
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(key):
                return int(line.split()[1]) << 10


with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # resets VmHWM (peak resident memory) to the current resident size
before = status("VmRSS")
version = loopml.datasets.register(big, "big", path=workspace)
print(version.rows, len(version.record.files), status("VmHWM") - before)
"""


@pytest.mark.slow
def test_registering_a_file_bigger_than_the_memory_cap_streams(tmp_path: Path) -> None:
    import subprocess
    import sys

    import pyarrow as pa
    import pyarrow.parquet as pq

    # 10M rows x 5 float64 columns = 400 MB of data, written as one Parquet file. The child's
    # peak resident memory may grow by far less than that while it registers the file: it never
    # holds the data, only a part or two of 2**20 rows (40 MB each) and their buffers. (Peak
    # RSS, not an address-space limit: malloc arenas and thread stacks reserve address space
    # differently from machine to machine.)
    rows = 10_000_000
    big, tiny = tmp_path / "big.parquet", tmp_path / "tiny.parquet"
    rng = np.random.default_rng(0)
    pq.write_table(pa.table({f"c{i}": rng.standard_normal(rows) for i in range(5)}), big)
    pq.write_table(pa.table({"c": [1.0, 2.0]}), tiny)
    env = {
        **{k: v for k, v in __import__("os").environ.items() if not k.startswith("LOOPML_")},
        "ARROW_DEFAULT_MEMORY_POOL": "system",
        "MALLOC_ARENA_MAX": "2",
    }
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _REGISTER_CHILD,
                str(big),
                str(tiny),
                str(tmp_path / "ws"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        stored_rows, parts, grown = map(int, done.stdout.split()[-3:])
        assert stored_rows == rows
        assert parts == 10  # parts of 2**20 rows: the unit of streaming
        assert grown < 240 << 20, f"peak memory grew by {grown >> 20} MB for 400 MB of data"
    finally:
        big.unlink()
    version = loopml.datasets.get("big", path=tmp_path / "ws")
    assert sum(batch.num_rows for batch in version.batches()) == rows
