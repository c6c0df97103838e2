"""open_data: every input loopml accepts becomes the same canonical batches, streamed."""

from __future__ import annotations

import gzip
import sqlite3
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

import loopml.data._inputs as inputs
from loopml import InvalidInputError
from loopml.data._inputs import Source, open_data, read_table


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "amount": [1.5, np.nan, 3.25, -4.0],
            "name": ["a", "b", "c", "d"],
            "flag": [True, False, True, False],
        }
    )


def _expected() -> pa.Table:
    return pa.table(
        {
            "id": pa.array([1, 2, 3, 4], pa.int64()),
            "amount": pa.array([1.5, None, 3.25, -4.0], pa.float64()),
            "name": pa.array(["a", "b", "c", "d"], pa.large_string()),
            "flag": pa.array([True, False, True, False]),
        }
    )


def _write_csv(folder: Path) -> Path:
    _frame().to_csv(folder / "data.csv", index=False)
    return folder / "data.csv"


def _write_parquet(folder: Path) -> Path:
    _frame().to_parquet(folder / "data.parquet", index=False)
    return folder / "data.parquet"


def _write_two_parts(folder: Path) -> Path:
    parts = folder / "parts"
    parts.mkdir()
    _frame().iloc[:2].to_parquet(parts / "part-0.parquet", index=False)
    _frame().iloc[2:].to_csv(parts / "part-1.csv", index=False)
    (parts / "README.txt").write_text("not data")
    return parts


INPUTS: dict[str, Callable[[Path], Any]] = {
    "pandas": lambda _: _frame(),
    "pandas-with-arrow-dtypes": lambda _: _frame().convert_dtypes(dtype_backend="pyarrow"),
    "polars": lambda _: pl.from_pandas(_frame()),
    "polars-lazy": lambda _: pl.from_pandas(_frame()).lazy(),
    "arrow-table": lambda _: pa.Table.from_pandas(_frame(), preserve_index=False),
    "arrow-record-batch": lambda _: pa.RecordBatch.from_pandas(_frame(), preserve_index=False),
    "csv-path": lambda folder: str(_write_csv(folder)),
    "csv-pathlib": _write_csv,
    "parquet-path": lambda folder: str(_write_parquet(folder)),
    "folder": _write_two_parts,
    "glob": lambda folder: str(_write_two_parts(folder) / "part-*"),
}


@pytest.mark.parametrize("kind", list(INPUTS))
def test_every_input_gives_the_same_canonical_table(kind: str, project: Path) -> None:
    data = INPUTS[kind](project)
    source = open_data(data)
    assert isinstance(source, Source)
    table = source.read_all()
    assert table.schema == _expected().schema
    assert table.equals(_expected()), table
    assert read_table(data).equals(_expected())
    assert source.num_rows in (None, 4)
    # Batches can be read more than once.
    assert pa.Table.from_batches(list(source.batches()), source.schema).equals(table)
    assert open_data(source) is source


def test_sql_through_a_sqlalchemy_url_gives_the_canonical_table(project: Path) -> None:
    database = project / "db.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("create table t (id integer, amount real, name text)")
        connection.executemany(
            "insert into t values (?, ?, ?)",
            [(1, 1.5, "a"), (2, None, "b"), (3, 3.25, "c"), (4, -4.0, "d")],
        )
    connection.close()
    url = f"sqlite:///{database}"
    source = open_data("select id, amount, name from t order by id", url=url)
    assert source.read_all().equals(_expected().select(["id", "amount", "name"]))
    assert source.description["kind"] == "sql" and source.description["url"] == url
    assert source.num_rows == 4
    with pytest.raises(InvalidInputError, match=r"the query failed on sqlite.*no such table"):
        open_data("select * from missing", url=url)


def test_sql_errors_name_the_problem_without_the_password() -> None:
    with pytest.raises(InvalidInputError, match="SQL query text"):
        open_data(_frame(), url="sqlite://")
    with pytest.raises(InvalidInputError, match="not a SQLAlchemy database URL"):
        open_data("select 1", url="not a url")
    with pytest.raises(InvalidInputError) as info:
        open_data("select 1", url="postgresql+psycopg://user:secret@127.0.0.1:1/db")
    assert "query failed" in str(info.value) and "secret" not in str(info.value)


@pytest.mark.parametrize(
    "query",
    [
        "select * from t",
        "  WITH x AS (SELECT 1) SELECT * FROM x",
        "SELECT\n    id,\n    amount\nFROM t",
        "select\tid from t",
    ],
    ids=["select", "with", "select-newline", "select-tab"],
)
def test_a_sql_query_without_url_says_to_give_url(query: str) -> None:
    with pytest.raises(InvalidInputError, match="url="):
        open_data(query)


# -- CSV: whole or streamed ------------------------------------------------------------------


def _numbers_csv(path: Path, rows: int, last: str | None = None) -> Path:
    lines = ["n,word,x"] + [f"{i},w{i % 7},{i * 0.5}" for i in range(rows)]
    if last is not None:
        lines.append(last)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def small_csv_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stream every CSV over 1 KB in 4 KB blocks (the real limits are 256 MB and 64 MB)."""
    monkeypatch.setattr(inputs, "CSV_WHOLE_FILE_BYTES", 1_000)
    monkeypatch.setattr(inputs, "CSV_BLOCK_BYTES", 4_096)


def test_a_csv_bigger_than_the_limit_streams_in_blocks(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _numbers_csv(project / "big.csv", 5_000)
    whole = open_data(path)
    assert whole.num_rows == 5_000
    monkeypatch.setattr(inputs, "CSV_WHOLE_FILE_BYTES", 1_000)
    monkeypatch.setattr(inputs, "CSV_BLOCK_BYTES", 4_096)
    streamed = open_data(path)
    assert streamed.num_rows is None  # not known until read
    assert streamed.schema == whole.schema
    batches = list(streamed.batches())
    assert len(batches) > 10
    assert all(batch.schema == whole.schema for batch in batches)
    assert streamed.read_all().equals(whole.read_all())
    assert streamed.read_all().equals(whole.read_all())  # read again: the file is reopened


def test_a_late_type_change_in_a_streamed_csv_is_a_clear_error(
    project: Path, small_csv_limits: None
) -> None:
    path = _numbers_csv(project / "late.csv", 5_000, last="oops,w,1.0")
    source = open_data(path)
    assert source.schema.field("n").type == pa.int64()  # inferred from the first block
    with pytest.raises(InvalidInputError, match=r"changes a column's type.*Parquet") as info:
        source.read_all()
    assert "late.csv" in str(info.value) and "oops" in str(info.value)


def test_a_csv_read_whole_types_columns_from_every_row(project: Path) -> None:
    # 100,000 rows (1.5 MB) is past pyarrow's first 1 MB block: a value there still counts.
    path = _numbers_csv(project / "late.csv", 100_000, last="oops,w,1.0")
    source = open_data(path)
    assert source.num_rows == 100_001
    assert source.schema.field("n").type == pa.large_string()
    assert source.read_all().column("n")[-1].as_py() == "oops"


def test_a_non_utf8_csv_names_the_column_and_encoding(project: Path) -> None:
    path = project / "latin1.csv"
    path.write_bytes("city,n\nZ\xfcrich,1\nParis,2\n".encode("latin-1"))
    with pytest.raises(InvalidInputError, match=r"column 'city'.*not valid UTF-8.*encoding="):
        open_data(path)


def test_a_streamed_csv_with_non_utf8_text_after_its_first_block_names_the_column(
    project: Path, small_csv_limits: None
) -> None:
    path = _numbers_csv(project / "late8.csv", 5_000)
    with path.open("ab") as handle:
        handle.write("1,Z\xfcrich,1.0\n".encode("latin-1"))
    with pytest.raises(InvalidInputError, match=r"column 'word'.*UTF-8.*encoding="):
        open_data(path).read_all()


def test_an_empty_csv_is_a_clear_error_and_a_header_only_csv_has_no_rows(project: Path) -> None:
    (project / "empty.csv").write_text("")
    with pytest.raises(InvalidInputError, match=r"empty\.csv as CSV"):
        open_data(project / "empty.csv")
    (project / "header.csv").write_text("a,b\n")
    table = read_table(project / "header.csv")
    assert table.column_names == ["a", "b"] and table.num_rows == 0


# -- Parquet ---------------------------------------------------------------------------------


def test_parquet_streams_in_batches_of_the_requested_size(project: Path) -> None:
    path = project / "rows.parquet"
    table = pa.table({"x": np.arange(5_000, dtype=np.float64), "s": [str(i) for i in range(5_000)]})
    pq.write_table(table, path, row_group_size=1_000)
    source = open_data(path, batch_rows=700)
    assert source.num_rows == 5_000 and source.description["kind"] == "parquet"
    batches = list(source.batches())
    assert len(batches) >= 8 and all(batch.num_rows <= 700 for batch in batches)
    assert sum(batch.num_rows for batch in batches) == 5_000
    expected = pa.table({"x": table.column("x"), "s": table.column("s").cast(pa.large_string())})
    assert source.read_all().equals(expected)


def test_a_parquet_file_named_csv_is_read_as_parquet(project: Path) -> None:
    _frame().to_parquet(project / "really.csv", index=False)
    source = open_data(project / "really.csv")
    assert source.description["kind"] == "parquet"
    assert source.read_all().equals(_expected())


def test_a_csv_named_parquet_is_a_clear_error(project: Path) -> None:
    _frame().to_csv(project / "fake.parquet", index=False)
    with pytest.raises(InvalidInputError, match=r"named \.parquet but is not a Parquet file"):
        open_data(project / "fake.parquet")


def test_compressed_and_other_files_are_refused(project: Path) -> None:
    csv_bytes = _frame().to_csv(index=False).encode()
    (project / "data.csv.gz").write_bytes(gzip.compress(csv_bytes))
    with zipfile.ZipFile(project / "data.zip", "w") as archive:
        archive.writestr("data.csv", csv_bytes)
    feather.write_feather(pa.Table.from_pandas(_frame()), project / "data.arrow")
    for name in ("data.csv.gz", "data.zip", "data.arrow"):
        with pytest.raises(InvalidInputError, match="is not a CSV or Parquet file"):
            open_data(project / name)
    (project / "gz.csv").write_bytes(gzip.compress(csv_bytes))
    with pytest.raises(InvalidInputError, match="convert it to CSV or Parquet"):
        open_data(str(project / "gz.csv"))


def test_a_missing_file_is_named(project: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"nope\.csv: no such file"):
        open_data(project / "nope.csv")


# -- folders and globs -----------------------------------------------------------------------


def test_a_folder_or_glob_of_two_files_has_two_partitions(project: Path) -> None:
    folder = _write_two_parts(project)
    for data in (folder, str(folder), str(folder / "*.*"), str(project / "**" / "part-*")):
        source = open_data(data)
        parts = source.partitions()
        assert len(parts) == 2, data
        assert [Path(str(p.description["path"])).name for p in parts] == [
            "part-0.parquet",
            "part-1.csv",
        ]
        assert source.description["kind"] == "files"
        assert [Path(f).name for f in source.description["files"]] == [  # type: ignore[attr-defined]
            "part-0.parquet",
            "part-1.csv",
        ]
        assert [p.read_all().num_rows for p in parts] == [2, 2]
        assert source.num_rows == 4
    single = open_data(_frame())
    assert single.partitions() == [single]


def test_files_with_different_columns_in_a_folder_are_a_clear_error(project: Path) -> None:
    folder = project / "mixed"
    folder.mkdir()
    _frame().to_parquet(folder / "a.parquet", index=False)
    _frame().rename(columns={"amount": "value"}).to_parquet(folder / "b.parquet", index=False)
    with pytest.raises(
        InvalidInputError, match=r"b\.parquet does not have the columns.*a\.parquet"
    ):
        open_data(folder)
    _frame().astype({"id": "float64"}).to_parquet(folder / "b.parquet", index=False)
    with pytest.raises(InvalidInputError, match="columns and types"):
        open_data(str(folder / "*.parquet"))


def test_an_empty_folder_or_a_glob_matching_nothing_is_a_clear_error(project: Path) -> None:
    (project / "empty").mkdir()
    (project / "empty" / "notes.txt").write_text("no data here")
    with pytest.raises(InvalidInputError, match=r"holds no \.csv or \.parquet file"):
        open_data(project / "empty")
    with pytest.raises(InvalidInputError, match=r"holds no \.csv or \.parquet file"):
        open_data(str(project / "nothing-*.csv"))


# -- in-memory data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        42,
        [1, 2, 3],
        {"a": [1, 2]},
        np.arange(3),
        pd.Series([1, 2, 3]),
        pl.Series("a", [1, 2, 3]),
        pa.array([1, 2, 3]),
    ],
    ids=["int", "list", "dict", "numpy", "pandas-series", "polars-series", "arrow-array"],
)
def test_an_object_that_is_not_a_table_is_a_clear_error(data: object) -> None:
    with pytest.raises(InvalidInputError, match="DataFrame"):
        open_data(data)


def test_duplicate_column_names_are_refused(project: Path) -> None:
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    table = pa.table([pa.array([1]), pa.array([2])], names=["a", "a"])
    (project / "dup.csv").write_text("a,b,a\n1,2,3\n")
    for data in (frame, table, project / "dup.csv"):
        with pytest.raises(InvalidInputError, match="duplicate column name"):
            open_data(data)


def test_memory_sources_are_batched_and_know_their_rows() -> None:
    frame = pd.DataFrame({"x": range(1_000)})
    source = open_data(frame, batch_rows=300)
    assert source.num_rows == 1_000 and source.description == {"kind": "pandas"}
    assert [batch.num_rows for batch in source.batches()] == [300, 300, 300, 100]
    assert open_data(pl.from_pandas(frame)).description == {"kind": "polars"}
    assert open_data(pa.Table.from_pandas(frame)).description == {"kind": "arrow"}
