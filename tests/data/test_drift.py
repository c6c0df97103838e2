"""``loopml.drift``: Evidently's values and rule end to end, every kind of input, bad inputs, and
the profile (sketch) path against the exact one."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

import loopml
from loopml import InvalidInputError
from loopml._errors import NotFoundError
from loopml.data._drift import DEFAULT_THRESHOLDS, auto_test, drift
from loopml.data._drift_report import ColumnDrift, DriftReport
from loopml.data._profile import profile
from loopml.demo import fraud_transactions

RTOL = 1e-9


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    """SQLite only here: dataset versions are tested on both backends in test_datasets.py."""
    return f"sqlite:///{tmp_path / 'store.db'}"


def _close(a: float, b: float, rel: float = RTOL) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=0.0)


def _stats(report: DriftReport) -> dict[str, tuple[str, float]]:
    return {c.column: (c.test, c.statistic) for c in report.columns}


def _skipped(report: DriftReport) -> dict[str, str]:
    return dict(report.skipped)


# ================================================================ Evidently 0.7.23's values


def _frames(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The generator of docs/design/data-phase.md §3, as it is written there."""
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "a": rng.normal(0, 1, n),
            "b": rng.normal(5, 2, n),
            "few": rng.integers(0, 4, n).astype(float),
            "cat": rng.choice(["x", "y", "z"], n),
            "bin": rng.choice(["p", "q"], n),
        }
    )
    rng = np.random.default_rng(seed + 1)
    cur = pd.DataFrame(
        {
            "a": rng.normal(0.5, 1, n),
            "b": rng.normal(5, 2, n),
            "few": rng.integers(0, 4, n).astype(float),
            "cat": rng.choice(["x", "y", "z"], n, p=[0.6, 0.2, 0.2]),
            "bin": rng.choice(["p", "q"], n),
        }
    )
    return ref, cur


GOLDEN: dict[str, dict[str, float]] = {
    "1000/None": {
        "a": 7.7335939682735e-21,
        "b": 0.8881734182535203,
        "few": 0.9309475481085141,
        "cat": 2.152477042254166e-65,
        "bin": 0.11744396832819382,
    },
    "1001/None": {
        "a": 0.5043734275798826,
        "b": 0.04597080065856485,
        "few": 0.006835893972735939,
        "cat": 0.18296474197547216,
        "bin": 0.02190453869730971,
    },
    "1001/psi": {
        "a": 0.25210230371924036,
        "b": 0.011188237551683109,
        "few": 0.000373846012942703,
        "cat": 0.2711071083073173,
        "bin": 0.003839085692384772,
    },
    "1001/ks": {"a": 8.111278009309733e-21, "b": 0.8885254074822251, "few": 1.0},
}
# The test Evidently chose for each value (its config's method / display name).
GOLDEN_TESTS: dict[str, dict[str, str]] = {
    "1000/None": {"a": "ks", "b": "ks", "few": "chisquare", "cat": "chisquare", "bin": "z"},
    "1001/None": {
        "a": "wasserstein",
        "b": "wasserstein",
        "few": "jensenshannon",
        "cat": "jensenshannon",
        "bin": "jensenshannon",
    },
    "1001/psi": dict.fromkeys(GOLDEN["1001/psi"], "psi"),
    "1001/ks": dict.fromkeys(GOLDEN["1001/ks"], "ks"),
}


@functools.cache
def _golden_report(key: str) -> DriftReport:
    rows, method = key.split("/")
    ref, cur = _frames(int(rows))
    return drift(
        ref,
        cur,
        columns=list(GOLDEN[key]),
        method="auto" if method == "None" else method,
    )


@pytest.mark.parametrize(
    ("key", "column"), [(key, column) for key, values in GOLDEN.items() for column in values]
)
def test_evidentlys_18_values_come_out_of_drift_to_1e9(key: str, column: str) -> None:
    result = _golden_report(key).column(column)
    assert result.test == GOLDEN_TESTS[key][column]
    assert _close(result.statistic, GOLDEN[key][column]), (result.statistic, GOLDEN[key][column])
    if result.test in ("ks", "chisquare", "z"):
        assert result.p_value == result.statistic
    else:
        assert result.p_value is None
    assert result.exact and result.error is None and not result.uncertain


def test_evidentlys_decisions_and_dataset_verdict_are_reproduced() -> None:
    # Evidently: at 1,000 rows a (K-S) and cat (chi-square) fail; share 0.4 < 0.5 -> no drift.
    small = _golden_report("1000/None")
    assert [c.column for c in small.columns if c.drifted] == ["a", "cat"]
    assert (small.share_drifted, small.drifted) == (0.4, False)
    assert {c.threshold for c in small.columns} == {0.05}
    large = _golden_report("1001/None")
    assert [c.column for c in large.columns if c.drifted] == ["a", "cat"]
    assert {c.threshold for c in large.columns} == {0.1}
    assert (large.share_drifted, large.drifted) == (0.4, False)
    assert {c.column: c.kind for c in large.columns} == {
        "a": "numerical",
        "b": "numerical",
        "few": "numerical",
        "cat": "categorical",
        "bin": "categorical",
    }


def test_evidentlys_1000_row_values_come_out_of_profiles_exactly() -> None:
    # 1,000 distinct values are still counted exactly by a profile, so nothing is estimated.
    ref, cur = _frames(1000)
    report = drift(profile(ref), profile(cur))
    for column, expected in GOLDEN["1000/None"].items():
        result = report.column(column)
        assert result.test == GOLDEN_TESTS["1000/None"][column]
        assert _close(result.statistic, expected)
        assert result.exact and result.error is None


# ========================================================================== the auto rule


def test_auto_test_is_evidentlys_table() -> None:
    assert auto_test("numerical", 1000, 6) == "ks"
    assert auto_test("numerical", 1000, 5) == "chisquare"
    assert auto_test("numerical", 1000, 3) == "chisquare"
    assert auto_test("numerical", 1000, 2) == "z"
    assert auto_test("categorical", 1000, 50) == "chisquare"
    assert auto_test("categorical", 1000, 2) == "z"
    assert auto_test("categorical", 1000, 1) == "z"
    assert auto_test("numerical", 1001, 6) == "wasserstein"
    assert auto_test("numerical", 1001, 5) == "jensenshannon"
    assert auto_test("numerical", 1001, 2) == "jensenshannon"
    assert auto_test("categorical", 1001, 2) == "jensenshannon"
    assert auto_test("categorical", 1001, 50) == "jensenshannon"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (1000, {"x": "ks", "c": "chisquare", "b": "z"}),
        (1001, {"x": "wasserstein", "c": "jensenshannon", "b": "jensenshannon"}),
    ],
)
def test_1000_reference_rows_get_p_value_tests_and_1001_get_distances(
    rows: int, expected: dict[str, str]
) -> None:
    rng = np.random.default_rng(rows)

    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "x": rng.normal(0, 1, n),
                "c": rng.choice(["u", "v", "w"], n),
                "b": rng.choice([True, False], n),
            }
        )

    report = drift(frame(rows), frame(3000))  # the current side's size does not matter
    assert {c.column: c.test for c in report.columns} == expected
    thresholds = {c.column: c.threshold for c in report.columns}
    assert thresholds == {k: DEFAULT_THRESHOLDS[v] for k, v in expected.items()}


def test_reference_rows_are_counted_after_dropping_missing_and_infinite_values() -> None:
    rng = np.random.default_rng(3)
    ref = rng.normal(0, 1, 1003)
    ref[:2] = np.nan
    ref[2] = np.inf  # 1,000 finite values left: still the small-sample rule
    report = drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": rng.normal(0, 1, 500)}))
    assert report.column("x").test == "ks"
    assert report.column("x").reference_rows == 1000
    assert report.column("x").reference_missing == 2


@pytest.mark.parametrize(
    ("n_values", "small", "large"),
    [
        (2, "z", "jensenshannon"),
        (3, "chisquare", "jensenshannon"),
        (5, "chisquare", "jensenshannon"),
        (6, "ks", "wasserstein"),
    ],
)
def test_few_values_of_a_numerical_column_pick_the_count_tests(
    n_values: int, small: str, large: str
) -> None:
    for rows, expected in ((600, small), (1500, large)):
        values = (np.arange(rows) % n_values).astype(float) / 2
        report = drift(pd.DataFrame({"x": values}), pd.DataFrame({"x": values[::-1].copy()}))
        assert (report.column("x").kind, report.column("x").test) == ("numerical", expected)


def test_n_values_counts_the_distinct_values_of_both_sides_together() -> None:
    ref = pd.DataFrame({"x": np.tile([0.0, 1.0, 2.0], 100)})
    cur = pd.DataFrame({"x": np.tile([3.0, 4.0, 5.0], 100)})  # 3 + 3 = 6 values: KS
    assert drift(ref, cur).column("x").test == "ks"
    cur = pd.DataFrame({"x": np.tile([1.0, 2.0, 3.0], 100)})  # 4 values: chi-square
    assert drift(ref, cur).column("x").test == "chisquare"


@pytest.mark.parametrize(
    ("distinct", "kind", "test"), [(10, "categorical", "chisquare"), (11, "numerical", "ks")]
)
def test_an_int_column_is_categorical_up_to_10_distinct_values(
    distinct: int, kind: str, test: str
) -> None:
    values = np.arange(330) % distinct
    report = drift(pd.DataFrame({"n": values}), pd.DataFrame({"n": values[::-1].copy()}))
    assert (report.column("n").kind, report.column("n").test) == (kind, test)
    # the same through profiles
    via = drift(profile(pd.DataFrame({"n": values})), profile(pd.DataFrame({"n": values})))
    assert (via.column("n").kind, via.column("n").test) == (kind, test)


def test_a_float_column_is_numerical_even_with_few_values() -> None:
    values = (np.arange(300) % 4).astype(float)
    report = drift(pd.DataFrame({"f": values}), pd.DataFrame({"f": values}))
    assert report.column("f").kind == "numerical"


@pytest.mark.parametrize("source", ["data", "profiles"])
def test_strings_with_more_distinct_values_than_half_their_rows_are_free_text(
    source: str,
) -> None:
    ref = pd.DataFrame(
        {
            "half": ["a", "b", "c", "d", "e"] * 2,  # 5 of 10: categorical
            "text": ["a", "b", "c", "d", "e", "f", "a", "b", "c", "d"],  # 6 of 10: free text
        }
    )
    sides: tuple[Any, Any] = (ref, ref)
    if source == "profiles":
        sides = (profile(ref), profile(ref))
    report = drift(*sides)
    assert [c.column for c in report.columns] == ["half"]
    assert report.column("half").kind == "categorical"
    reason = _skipped(report)["text"]
    assert "free text" in reason and "6 distinct of 10" in reason and "not tested" in reason


@pytest.mark.parametrize("source", ["data", "profiles"])
def test_dates_and_times_are_not_tested(source: str) -> None:
    ref = pd.DataFrame(
        {
            "at": pd.date_range("2024-01-01", periods=50, freq="h", tz="UTC"),
            "day": pd.date_range("2024-01-01", periods=50).date,
            "x": np.arange(50.0),
        }
    )
    cur = ref.assign(at=ref["at"] + pd.Timedelta(days=365))
    sides: tuple[Any, Any] = (ref, cur)
    if source == "profiles":
        sides = (profile(ref), profile(cur))
    report = drift(*sides)
    assert [c.column for c in report.columns] == ["x"]
    assert _skipped(report) == {
        "at": "dates and times are not tested",
        "day": "dates and times are not tested",
    }


def test_booleans_are_categorical() -> None:
    report = drift(
        pd.DataFrame({"flag": [True, False] * 100}), pd.DataFrame({"flag": [True] * 200})
    )
    assert (report.column("flag").kind, report.column("flag").test) == ("categorical", "z")
    assert report.column("flag").drifted


# ====================================================================== decisions at the edge


def _shifted(n: int = 300, shift: float = 0.2, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "c": rng.choice(["u", "v", "w"], n),
            "b": rng.choice(["p", "q"], n),
        }
    )
    cur = pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "c": rng.choice(["u", "v", "w"], n, p=[0.4, 0.3, 0.3]),
            "b": rng.choice(["p", "q"], n, p=[0.55, 0.45]),
        }
    )
    return ref, cur


@pytest.mark.parametrize(
    ("column", "test"),
    [("x", "ks"), ("c", "chisquare"), ("b", "z"), ("c", "z")]
    + [("x", t) for t in ("wasserstein", "psi", "jensenshannon", "linf")]
    + [("c", t) for t in ("psi", "jensenshannon", "linf")],
)
def test_a_threshold_equal_to_the_statistic_decides_like_evidently(column: str, test: str) -> None:
    ref, cur = _shifted()
    statistic = drift(ref, cur, columns=[column], tests={column: test}).column(column).statistic
    assert 0 < statistic < 1

    def drifted(threshold: float) -> bool:
        report = drift(ref, cur, columns=[column], tests={column: (test, threshold)})
        assert report.column(column).threshold == threshold
        return report.column(column).drifted

    if test == "ks":  # p <= threshold
        assert drifted(statistic)
        assert not drifted(float(np.nextafter(statistic, 0.0)))
    elif test in ("chisquare", "z"):  # p < threshold
        assert not drifted(statistic)
        assert drifted(float(np.nextafter(statistic, 1.0)))
    else:  # distance >= threshold
        assert drifted(statistic)
        assert not drifted(float(np.nextafter(statistic, math.inf)))


def _half_drifted(columns: int, drifted: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({f"x{i}": rng.normal(0, 1, 200) for i in range(columns)})
    cur = ref.copy()
    for i in range(drifted):
        cur[f"x{i}"] = cur[f"x{i}"] + 5.0
    return ref, cur


def test_the_dataset_drifted_when_exactly_half_the_columns_did() -> None:
    report = drift(*_half_drifted(4, 2))
    assert report.number_drifted == 2
    assert report.share_drifted == 0.5
    assert report.drifted
    assert "drifted: 2 of 4 columns drifted" in repr(report)
    report = drift(*_half_drifted(4, 1))
    assert (report.share_drifted, report.drifted) == (0.25, False)
    assert "no drift" in repr(report)


def test_drift_share_sets_the_dataset_threshold() -> None:
    ref, cur = _half_drifted(4, 2)
    assert not drift(ref, cur, drift_share=0.51).drifted
    assert drift(ref, cur, drift_share=0.25).drifted
    all_drifted = drift(*_half_drifted(2, 2), drift_share=1.0)
    assert all_drifted.drift_share == 1.0 and all_drifted.drifted


def test_no_tested_columns_is_no_drift() -> None:
    frame = pd.DataFrame({"id": [1, 2, 3]})
    report = drift(frame, frame, roles={"id": "id"})
    assert report.columns == [] and report.share_drifted == 0.0 and not report.drifted


@pytest.mark.parametrize("share", [0, 0.0, -0.5, 1.5, math.nan, math.inf])
def test_a_drift_share_outside_0_to_1_is_refused(share: float) -> None:
    ref, cur = _shifted(50)
    with pytest.raises(InvalidInputError, match=r"drift_share must be a number in \(0, 1\]"):
        drift(ref, cur, drift_share=share)


@pytest.mark.parametrize("share", ["0.5", None, [0.5]])
def test_a_drift_share_that_is_not_a_number_is_refused_with_invalid_input(share: Any) -> None:
    ref, cur = _shifted(50)
    with pytest.raises(InvalidInputError, match="drift_share"):
        drift(ref, cur, drift_share=share)


# ======================================================================== kinds of input


def _mixed_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(12)
    ref = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 400),
            "n": rng.integers(0, 5, 400),
            "c": rng.choice(["u", "v", "w"], 400),
        }
    )
    cur = pd.DataFrame(
        {
            "x": rng.normal(0.3, 1, 400),
            "n": rng.integers(0, 6, 400),
            "c": rng.choice(["u", "v", "w"], 400, p=[0.5, 0.25, 0.25]),
        }
    )
    return ref, cur


def test_pandas_polars_arrow_csv_and_a_parquet_glob_give_the_same_statistics(
    project: Path,
) -> None:
    ref, cur = _mixed_frames()
    expected = _stats(drift(ref, cur))
    ref.to_csv("ref.csv", index=False)
    (project / "cur").mkdir()
    cur.iloc[:150].to_parquet("cur/part-0.parquet", index=False)
    cur.iloc[150:].to_parquet("cur/part-1.parquet", index=False)
    sides: list[tuple[Any, Any]] = [
        (pl.from_pandas(ref), pl.from_pandas(cur)),
        (pa.Table.from_pandas(ref), pa.Table.from_pandas(cur)),
        (pl.from_pandas(ref), pa.Table.from_pandas(cur)),
        ("ref.csv", "cur/*.parquet"),
        (project / "ref.csv", cur),
        (ref, str(project / "cur")),  # a folder
    ]
    for reference, current in sides:
        got = _stats(drift(reference, current))
        assert got.keys() == expected.keys()
        for name, (test, value) in expected.items():
            assert got[name][0] == test
            assert _close(got[name][1], value, 1e-12), (reference, name)
    report = drift("ref.csv", "cur/*.parquet")
    assert (report.reference, report.current) == ("ref.csv", "cur/*.parquet")
    assert (report.reference_rows, report.current_rows) == (400, 400)
    assert (drift(ref, cur).reference, drift(ref, cur).current) == ("reference", "current")


def test_profiles_on_both_sides_compare_through_the_profiles() -> None:
    ref, cur = _mixed_frames()
    exact = drift(ref, cur)
    via = drift(profile(ref), profile(cur))
    # fewer than 1,000 distinct values: the profiles count them all, the result is exact
    for column in exact.columns:
        assert via.column(column.column).test == column.test
        assert _close(via.column(column.column).statistic, column.statistic, 1e-12)
        assert via.column(column.column).exact
    assert (via.reference_rows, via.current_rows) == (400, 400)


def test_data_on_one_side_and_a_profile_on_the_other_compare_through_profiles() -> None:
    rng = np.random.default_rng(4)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 5000), "c": rng.choice(["u", "v"], 5000)})
    cur = pd.DataFrame({"x": rng.normal(0, 1, 5000), "c": rng.choice(["u", "v"], 5000)})
    exact = drift(ref, cur)
    for sides in ((ref, profile(cur)), (profile(ref), cur)):
        mixed = drift(*sides)
        error = mixed.column("x").error
        assert not mixed.column("x").exact and error is not None and 0 < error < 0.1
        assert abs(mixed.column("x").statistic - exact.column("x").statistic) <= error
        assert mixed.column("c").exact
        assert _close(mixed.column("c").statistic, exact.column("c").statistic, 1e-12)


def test_a_profile_side_is_labelled_with_its_source(project: Path) -> None:
    ref, cur = _mixed_frames()
    ref.to_csv("ref.csv", index=False)
    report = drift(profile("ref.csv"), cur)
    assert report.reference == "ref.csv"


@pytest.fixture
def versions(workspace_env: str) -> tuple[Any, Any]:
    first = loopml.datasets.register(
        fraud_transactions(400, seed=1),
        "tx",
        roles={"transaction_id": "id", "is_fraud": "target"},
    )
    second = loopml.datasets.register(fraud_transactions(400, seed=2, shift=1.0), "tx")
    return first, second


def test_dataset_versions_bring_their_roles_ids_are_skipped_targets_tested(
    versions: tuple[Any, Any],
) -> None:
    first, second = versions
    assert second.roles["transaction_id"] == "id"  # carried over from version 1
    report = drift(first, second)
    assert (report.reference, report.current) == ("tx v1", "tx v2")
    assert _skipped(report) == {"transaction_id": "role 'id' is not tested"}
    assert "is_fraud" in [c.column for c in report.columns]
    assert report.drifted
    # roles= overrides the version's roles
    again = drift(first, second, roles={"transaction_id": "feature", "is_fraud": "ignored"})
    assert "transaction_id" in [c.column for c in again.columns]
    assert _skipped(again) == {"is_fraud": "role 'ignored' is not tested"}


def test_a_dataset_version_against_data_or_a_profile(versions: tuple[Any, Any]) -> None:
    first, second = versions
    exact = drift(first, second)
    with_frame = drift(first, second.to_pandas())
    assert _stats(with_frame) == _stats(exact)
    assert with_frame.current == "current"
    via_profile = drift(first, second.profile())
    assert _skipped(via_profile) == {"transaction_id": "role 'id' is not tested"}
    for column in exact.columns:  # 400 rows: the profiles count every value, so exact
        got = via_profile.column(column.column)
        assert got.test == column.test and got.exact
        assert _close(got.statistic, column.statistic, 1e-12)


def test_roles_leave_ids_timestamps_and_ignored_columns_out() -> None:
    frame = pd.DataFrame(
        {
            "key": np.arange(100),
            "at": np.arange(100.0),
            "junk": np.arange(100.0),
            "label": np.arange(100) % 2,
            "x": np.arange(100.0),
        }
    )
    report = drift(
        frame,
        frame,
        roles={"key": "id", "at": "timestamp", "junk": "ignored", "label": "target"},
    )
    assert [c.column for c in report.columns] == ["label", "x"]
    assert _skipped(report) == {
        "key": "role 'id' is not tested",
        "at": "role 'timestamp' is not tested",
        "junk": "role 'ignored' is not tested",
    }


# ============================================================== tests, thresholds and kinds


def test_each_column_can_have_its_own_test_and_threshold() -> None:
    ref, cur = _mixed_frames()
    report = drift(ref, cur, tests={"x": "psi", "c": ("jensenshannon", 0.2), "n": ["linf", 0.3]})
    got = {c.column: (c.test, c.threshold) for c in report.columns}
    assert got == {"x": ("psi", 0.1), "c": ("jensenshannon", 0.2), "n": ("linf", 0.3)}
    # the other columns keep the auto rule
    partial = drift(ref, cur, tests={"x": ("wasserstein", 0.05)})
    assert {c.column: c.test for c in partial.columns} == {
        "x": "wasserstein",
        "n": "chisquare",
        "c": "chisquare",
    }


@pytest.mark.parametrize("method", ["psi", "jensenshannon", "linf", "chisquare", "z"])
def test_one_method_for_every_column_with_its_default_or_a_given_threshold(method: str) -> None:
    ref, cur = _mixed_frames()
    report = drift(ref, cur, method=method, columns=["n", "c"])
    assert report.method == method
    assert {(c.test, c.threshold) for c in report.columns} == {(method, DEFAULT_THRESHOLDS[method])}
    report = drift(ref, cur, method=method, threshold=0.2, columns=["n", "c"])
    assert {(c.test, c.threshold) for c in report.columns} == {(method, 0.2)}


def test_a_global_threshold_belongs_to_the_methods_test_not_to_per_column_tests() -> None:
    ref, cur = _mixed_frames()
    report = drift(ref, cur, method="psi", threshold=0.2, tests={"x": "ks"})
    assert (report.column("c").test, report.column("c").threshold) == ("psi", 0.2)
    # 0.2 is PSI's threshold; the KS p-value of column x keeps KS's default, 0.05
    assert (report.column("x").test, report.column("x").threshold) == ("ks", 0.05)


def test_kinds_force_a_columns_kind() -> None:
    ref, cur = _mixed_frames()
    report = drift(ref, cur, kinds={"n": "numerical", "x": "categorical"})
    assert (report.column("n").kind, report.column("n").test) == ("numerical", "ks")
    assert (report.column("x").kind, report.column("x").test) == ("categorical", "chisquare")
    via = drift(profile(ref), profile(cur), kinds={"n": "numerical"})
    assert (via.column("n").kind, via.column("n").test) == ("numerical", "ks")
    assert _close(via.column("n").statistic, report.column("n").statistic, 1e-12)


def test_a_text_column_cannot_be_forced_numerical() -> None:
    ref, cur = _mixed_frames()
    with pytest.raises(InvalidInputError, match="'c'"):
        drift(ref, cur, kinds={"c": "numerical"})


@pytest.mark.parametrize("test", ["ks", "wasserstein"])
def test_number_tests_on_a_categorical_column_say_what_to_use(test: str) -> None:
    ref, cur = _mixed_frames()
    for sides in ((ref, cur), (profile(ref), profile(cur))):
        with pytest.raises(InvalidInputError, match="needs numbers; use chisquare, z") as info:
            drift(*sides, tests={"c": test})
        assert "kinds=" in str(info.value)
    with pytest.raises(InvalidInputError, match="needs numbers"):
        drift(ref, cur, method=test)  # c is categorical


def test_chisquare_on_continuous_numbers_does_not_call_identical_samples_drifted() -> None:
    # Evidently allows chi-square only for categorical columns. Here every value of a continuous
    # column is its own category: any value not seen in the reference gives an infinite
    # statistic, p = 0, "drifted" for two samples of one distribution.
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 300)})
    cur = pd.DataFrame({"x": rng.normal(0, 1, 300)})
    try:
        report = drift(ref, cur, tests={"x": "chisquare"})
    except InvalidInputError as exc:
        assert "x" in str(exc)
    else:
        assert not report.column("x").drifted, report.column("x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "kss"}, "method: unknown test 'kss'; use 'auto' or one of ks, wasserstein"),
        ({"method": None}, "unknown test None"),
        ({"threshold": 0.2}, "threshold= applies to one test; pick it with method="),
        ({"method": "psi", "threshold": "x"}, "threshold must be a number, not 'x'"),
        ({"method": "psi", "threshold": -0.1}, "finite number >= 0"),
        ({"method": "psi", "threshold": math.inf}, "finite number >= 0"),
        ({"method": "psi", "threshold": math.nan}, "finite number >= 0"),
        ({"tests": {"x": "foo"}}, r"tests\['x'\]: unknown test 'foo'"),
        ({"tests": {"x": ("psi",)}}, r"must be a test name or \(test, threshold\)"),
        ({"tests": {"x": ("psi", 0.1, 2)}}, r"must be a test name or \(test, threshold\)"),
        ({"tests": {"x": 5}}, r"must be a test name or \(test, threshold\), not 5"),
        ({"tests": {"x": ("psi", "abc")}}, r"tests\['x'\]: the threshold must be a number"),
        ({"tests": {"x": ("nope", 0.1)}}, "unknown test 'nope'"),
        ({"kinds": {"x": "text"}}, "kinds\\['x'\\] = 'text'; a column kind is 'numerical' or"),
    ],
)
def test_bad_methods_thresholds_tests_and_kinds_are_refused_helpfully(
    kwargs: dict[str, Any], message: str
) -> None:
    ref, cur = _shifted(50)
    with pytest.raises(InvalidInputError, match=message):
        drift(ref, cur, **kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tests": {"amout": "psi"}},
        {"kinds": {"amout": "numerical"}},
        {"roles": {"amout": "id"}},
        {"roles": {"x": "idd"}},
    ],
    ids=["tests-column-typo", "kinds-column-typo", "roles-column-typo", "role-name-typo"],
)
def test_tests_kinds_and_roles_that_name_no_column_or_no_role_are_refused(
    kwargs: dict[str, Any],
) -> None:
    # A typo must not silently fall back to the auto rule (or test an id column).
    ref, cur = _shifted(50)
    with pytest.raises(InvalidInputError, match=r"amout|idd"):
        drift(ref, cur, **kwargs)


def test_columns_limits_the_tested_columns() -> None:
    ref, cur = _mixed_frames()
    report = drift(ref, cur, columns=["c", "x"])
    assert [c.column for c in report.columns] == ["c", "x"]
    assert report.skipped == []


def test_columns_naming_a_column_missing_on_one_side_is_an_error() -> None:
    ref, cur = _mixed_frames()
    with pytest.raises(InvalidInputError, match="column 'x' is not in the current data") as info:
        drift(ref, cur.drop(columns="x"), columns=["x"])
    assert "columns there: n, c" in str(info.value)
    with pytest.raises(InvalidInputError, match="column 'x' is not in the reference data"):
        drift(ref.drop(columns="x"), cur, columns=["x"])
    with pytest.raises(InvalidInputError, match="column 'nope' is not in the reference"):
        drift(profile(ref), profile(cur), columns=["nope"])


def test_columns_given_as_one_string_means_that_column() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"amount": rng.normal(size=50), "a": rng.normal(size=50)})
    try:
        report = drift(ref, ref, columns="amount")  # type: ignore[arg-type]
    except InvalidInputError as exc:
        assert "list" in str(exc), exc  # or a message saying to pass a list
    else:
        assert [c.column for c in report.columns] == ["amount"]


def test_a_column_named_twice_is_tested_once() -> None:
    ref, cur = _mixed_frames()
    report = drift(ref, cur, columns=["x", "x"])
    assert [c.column for c in report.columns] == ["x"]


# ================================================================== exact equals scipy


def _scipy_value(test: str, ref: np.ndarray, cur: np.ndarray) -> float:
    """The statistic of ``test`` from scipy on raw, already cleaned samples (Evidently's recipe)."""
    if test == "ks":
        return float(stats.ks_2samp(ref, cur).pvalue)
    if test == "wasserstein":
        return float(stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))
    if ref.dtype.kind in "fi" and np.unique(ref).size > 20:
        edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        r = np.histogram(ref, edges)[0] / ref.size
        c = np.histogram(cur, edges)[0] / cur.size
    else:
        keys = np.union1d(np.unique(ref), np.unique(cur))
        r = np.array([np.sum(ref == k) for k in keys]) / ref.size
        c = np.array([np.sum(cur == k) for k in keys]) / cur.size
    if test == "jensenshannon":
        return float(distance.jensenshannon(r, c))
    if test == "linf":
        return float(np.max(np.abs(r - c)))
    if test == "psi":

        def fill(s: np.ndarray) -> np.ndarray:
            s = s.astype(float).copy()
            smallest = s[s != 0].min()
            s[s == 0] = smallest / 1e6 if smallest <= 1e-4 else 1e-4
            return s

        rf, cf = fill(r), fill(c)
        return float(np.sum((rf - cf) * np.log(rf / cf)))
    keys = np.union1d(np.unique(ref), np.unique(cur))
    rc = np.array([np.sum(ref == k) for k in keys], dtype=float)
    cc = np.array([np.sum(cur == k) for k in keys], dtype=float)
    if test == "chisquare":
        return float(stats.chisquare(cc, rc * (cc.sum() / rc.sum())).pvalue)
    n1, n2 = rc.sum(), cc.sum()
    p1, p2 = (n1 - rc[0]) / n1, (n2 - cc[0]) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(2 * stats.norm.sf(abs(z)))


@pytest.mark.parametrize("test", ["ks", "wasserstein", "psi", "jensenshannon", "linf"])
@pytest.mark.parametrize("rows", [(700, 500), (1500, 20_000)])
def test_numerical_statistics_on_raw_data_equal_scipy_to_1e9(
    test: str, rows: tuple[int, int]
) -> None:
    rng = np.random.default_rng(rows[0])
    ref = rng.normal(0, 1, rows[0])
    cur = rng.normal(0.1, 1.1, rows[1])
    ref[::50] = np.nan  # missing values are dropped first
    cur[::70] = np.inf
    report = drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), method=test)
    expected = _scipy_value(test, ref[np.isfinite(ref)], cur[np.isfinite(cur)])
    assert _close(report.column("x").statistic, expected), (report.column("x"), expected)


@pytest.mark.parametrize("test", ["chisquare", "z", "psi", "jensenshannon", "linf"])
def test_categorical_statistics_on_raw_data_equal_scipy_to_1e9(test: str) -> None:
    rng = np.random.default_rng(9)
    ref = rng.choice(["a", "b", "c", "d"], 800, p=[0.4, 0.3, 0.2, 0.1])
    cur = rng.choice(["a", "b", "c", "d"], 600, p=[0.35, 0.3, 0.2, 0.15])
    report = drift(pd.DataFrame({"c": ref}), pd.DataFrame({"c": cur}), method=test)
    expected = _scipy_value(test, ref, cur)
    assert _close(report.column("c").statistic, expected), (report.column("c"), expected)


def test_few_valued_numbers_are_counted_not_binned_for_psi_and_js() -> None:
    rng = np.random.default_rng(10)
    ref = rng.integers(0, 15, 1500).astype(float)
    cur = rng.integers(0, 15, 1200).astype(float)
    for test in ("psi", "jensenshannon", "linf"):
        report = drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), method=test)
        assert _close(report.column("x").statistic, _scipy_value(test, ref, cur)), test
    # chi-square compares categories: 15 numbers are categories only when said so
    with pytest.raises(InvalidInputError, match="kinds="):
        drift(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur}), method="chisquare")
    coded = drift(
        pd.DataFrame({"x": ref}),
        pd.DataFrame({"x": cur}),
        method="chisquare",
        kinds={"x": "categorical"},
    )
    assert _close(coded.column("x").statistic, _scipy_value("chisquare", ref, cur))


# =============================================================================== the report


def test_to_dict_is_json_and_holds_every_column_and_skip() -> None:
    ref, cur = _mixed_frames()
    report = drift(ref.assign(only_ref=1.0), cur, tests={"x": "psi"})
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert data["drifted"] == report.drifted
    assert data["share_drifted"] == report.share_drifted
    assert data["number_drifted"] == report.number_drifted
    assert (data["drift_share"], data["method"]) == (0.5, "auto")
    assert (data["reference"], data["current"]) == ("reference", "current")
    assert (data["reference_rows"], data["current_rows"]) == (400, 400)
    assert data["created_at"].endswith("+00:00")
    assert data["skipped"] == [{"column": "only_ref", "reason": "only in the reference data"}]
    assert [c["column"] for c in data["columns"]] == ["x", "n", "c"]
    x = data["columns"][0]
    assert (x["kind"], x["test"], x["test_name"]) == (
        "numerical",
        "psi",
        "Population stability index",
    )
    assert x["statistic"] == report.column("x").statistic and x["p_value"] is None
    assert x["threshold"] == 0.1 and x["drifted"] == report.column("x").drifted
    c = data["columns"][2]
    assert c["test"] == "chisquare" and c["p_value"] == c["statistic"]
    assert c["histogram"]["kind"] == "categorical"
    assert sorted(c["histogram"]["labels"]) == ["u", "v", "w"]
    assert len(x["histogram"]["edges"]) == len(x["histogram"]["reference"]) + 1


def test_to_html_writes_one_self_contained_page(tmp_path: Path) -> None:
    ref, cur = _mixed_frames()
    report = drift(ref, cur)
    path = tmp_path / "drift.html"
    html = report.to_html(path)
    assert path.read_text(encoding="utf-8") == html
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "<script" not in html.lower() and "<link" not in html.lower()
    for column in ("x", "n", "c"):
        assert f">{column}<" in html
    assert report.to_html() == html


def test_sorted_columns_puts_drifted_columns_first_most_severe_first() -> None:
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({k: rng.normal(0, 1, 500) for k in ("calm", "mild", "wild", "still")})
    cur = pd.DataFrame(
        {
            "calm": rng.normal(0.05, 1, 500),
            "mild": rng.normal(0.4, 1, 500),
            "wild": rng.normal(2.0, 1, 500),
            "still": ref["still"],
        }
    )
    report = drift(ref, cur)
    order = [c.column for c in report.sorted_columns()]
    assert order[:2] == ["wild", "mild"]
    assert set(order[2:]) == {"calm", "still"}
    assert [c.column for c in report.columns] == ["calm", "mild", "wild", "still"]  # data order
    assert report.column("wild").drifted
    with pytest.raises(NotFoundError, match="no column 'nope'; columns: calm, mild"):
        report.column("nope")


def test_column_drift_to_dict_names_its_test() -> None:
    column = ColumnDrift("x", "numerical", "wasserstein", 0.2, None, 0.1, True)
    assert column.to_dict()["test_name"] == "Wasserstein distance (normed)"
    assert column.test_name == "Wasserstein distance (normed)"


# ================================================================================ bad input


@pytest.mark.parametrize("side", ["reference", "current"])
def test_empty_data_is_refused_with_the_side_named(side: str, project: Path) -> None:
    full = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "a"]})
    empty = full.iloc[:0]
    sides = (empty, full) if side == "reference" else (full, empty)
    with pytest.raises(InvalidInputError, match=f"the {side} data is empty"):
        drift(*sides)


def test_a_csv_with_only_a_header_is_empty_data_not_a_type_change(project: Path) -> None:
    # Arrow reads the columns of a header-only CSV as type null.
    Path("empty.csv").write_text("x,c\n", encoding="utf-8")
    full = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "a"]})
    with pytest.raises(InvalidInputError, match="the reference data is empty"):
        drift("empty.csv", full)


@pytest.mark.parametrize("source", ["data", "profiles"])
def test_an_all_nan_column_is_skipped_as_empty(source: str) -> None:
    ref = pd.DataFrame({"x": [np.nan] * 5, "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    cur = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    sides: tuple[Any, Any] = (ref, cur) if source == "data" else (profile(ref), profile(cur))
    report = drift(*sides)
    assert [c.column for c in report.columns] == ["y"]
    assert _skipped(report) == {"x": "no values in the reference data (all missing or infinite)"}
    report = drift(*reversed(sides))
    assert _skipped(report) == {"x": "no values in the current data (all missing or infinite)"}


@pytest.mark.parametrize("source", ["data", "profiles"])
@pytest.mark.parametrize("side", ["reference", "current"])
def test_an_all_none_column_is_skipped_as_all_missing_not_as_a_type_change(
    source: str, side: str
) -> None:
    # pandas makes an object column of None an Arrow null column: it is all missing, which is
    # what the reason must say (not "types differ: null in reference, double in current").
    missing = pd.DataFrame({"x": [None] * 5, "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    full = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "y": [1.0, 2.0, 3.0, 4.0, 5.0]})
    sides: tuple[Any, Any] = (missing, full) if side == "reference" else (full, missing)
    if source == "profiles":
        sides = (profile(sides[0]), profile(sides[1]))
    reason = _skipped(drift(*sides))["x"]
    assert "missing" in reason and side in reason, reason
    assert "types differ" not in reason


def test_infinities_are_left_out_and_counted_in_a_note() -> None:
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(0, 1, 200), rng.normal(0, 1, 150)
    ref_inf = np.concatenate([ref, [np.inf, -np.inf]])
    cur_inf = np.concatenate([cur, [np.inf]])
    report = drift(pd.DataFrame({"x": ref_inf}), pd.DataFrame({"x": cur_inf}))
    column = report.column("x")
    assert column.note == "3 infinite values left out"
    assert (column.reference_rows, column.current_rows) == (200, 150)
    assert _close(column.statistic, float(stats.ks_2samp(ref, cur).pvalue))
    via = drift(profile(pd.DataFrame({"x": ref_inf})), profile(pd.DataFrame({"x": cur_inf})))
    assert via.column("x").note == "3 infinite values left out"
    assert _close(via.column("x").statistic, column.statistic)


def test_an_all_infinite_column_is_skipped_with_the_reason() -> None:
    report = drift(
        pd.DataFrame({"x": [np.inf, -np.inf, np.inf]}), pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    )
    assert _skipped(report) == {"x": "no values in the reference data (all missing or infinite)"}


def test_a_mixed_type_object_column_is_refused_naming_the_column() -> None:
    bad = pd.DataFrame({"x": [1, "a", 2.5], "y": [1.0, 2.0, 3.0]})
    good = pd.DataFrame({"x": [1, 2, 3], "y": [1.0, 2.0, 3.0]})
    for sides in ((bad, good), (good, bad)):
        with pytest.raises(InvalidInputError, match="column 'x' mixes types") as info:
            drift(*sides)
        assert "astype(str)" in str(info.value)


def test_a_zero_variance_column_is_compared_without_dividing_by_zero() -> None:
    constant = pd.DataFrame({"x": [3.0] * 50})
    same = drift(constant, constant)
    assert (same.column("x").test, same.column("x").statistic) == ("z", 1.0)
    assert not same.drifted
    other = drift(constant, pd.DataFrame({"x": [4.0] * 50}))
    assert other.column("x").drifted
    # more than 1,000 rows: Wasserstein normalised by Evidently's floor of 0.001
    rng = np.random.default_rng(6)
    noisy = rng.normal(3.0, 0.01, 2000)
    report = drift(pd.DataFrame({"x": [3.0] * 2000}), pd.DataFrame({"x": noisy}))
    expected = stats.wasserstein_distance(np.full(2000, 3.0), noisy) / 0.001
    assert report.column("x").test == "wasserstein"
    assert _close(report.column("x").statistic, expected)
    # ... and a constant reference against itself is no drift by every test
    for test in ("ks", "wasserstein", "psi", "jensenshannon", "linf", "chisquare", "z"):
        result = drift(constant, constant, method=test).column("x")
        assert not result.drifted, test
        assert not math.isnan(result.statistic), test


@pytest.mark.parametrize(
    "values", [[0.0, 2.5e-311], [0.0, 1e-308], [-1e308, 1e308]], ids=["subnormal", "tiny", "huge"]
)
def test_a_range_too_small_or_too_large_for_the_chart_bins_does_not_warn(
    values: list[float],
) -> None:
    # The chart's bin index is (value - lo) * (30 / (hi - lo)): 30 / 2.5e-311 is inf, and
    # inf * 0 is NaN (RuntimeWarning, an error under -W error); hi - lo overflows for +-1e308.
    frame = pd.DataFrame({"x": values})
    report = drift(frame, frame, method="ks")
    column = report.column("x")
    assert not column.drifted
    assert column.histogram is not None
    assert sum(column.histogram.reference) == pytest.approx(1.0)
    assert all(math.isfinite(edge) for edge in column.histogram.edges or [])


def test_a_column_on_one_side_only_is_skipped_with_the_side() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0], "gone": [1.0, 2.0]})
    cur = pd.DataFrame({"x": [1.0, 2.0], "new": [1.0, 2.0]})
    for sides in ((ref, cur), (profile(ref), profile(cur))):
        report = drift(*sides)
        assert [c.column for c in report.columns] == ["x"]
        assert _skipped(report) == {
            "gone": "only in the reference data",
            "new": "only in the current data",
        }


@pytest.mark.parametrize("rows", [100, 2000])
def test_categories_seen_only_in_current_data_are_noted(rows: int) -> None:
    ref = pd.DataFrame({"c": np.tile(["a", "b"], rows // 2)})
    cur = pd.DataFrame({"c": np.tile(["a", "b", "c", "d", "a", "b"], rows // 6 + 1)[:rows]})
    for sides in ((ref, cur), (profile(ref), profile(cur))):
        column = drift(*sides).column("c")
        assert column.note == "2 categories seen only in current data: 'c', 'd'"
        assert column.drifted
        assert math.isfinite(column.statistic)
        if rows == 100:  # chi-square: the expected count is 0 -> p = 0, as scipy
            assert (column.test, column.statistic) == ("chisquare", 0.0)
        else:
            assert column.test == "jensenshannon"


def test_many_unseen_categories_are_shown_five_then_dots() -> None:
    ref = pd.DataFrame({"c": ["a"] * 30})
    cur = pd.DataFrame({"c": [f"new{i}" for i in range(8)] + ["a"] * 22})
    note = drift(ref, cur).column("c").note
    assert note is not None and note.startswith("8 categories seen only in current data: ")
    assert note.endswith(", ...") and note.count("'new") == 5


def test_columns_whose_types_differ_are_skipped_naming_both_types() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    cur = pd.DataFrame({"x": ["a", "b", "c"]})
    for sides in ((ref, cur), (profile(ref), profile(cur))):
        assert _skipped(drift(*sides)) == {
            "x": "types differ: double in reference, large_string in current"
        }


def test_a_non_utf8_csv_is_refused_with_the_fix(project: Path) -> None:
    Path("latin.csv").write_bytes("name,v\ncaf\xe9,1\nna\xefve,2\n".encode("latin-1"))
    good = pd.DataFrame({"name": ["a"], "v": [1]})
    with pytest.raises(InvalidInputError, match=r"column 'name' of latin\.csv is not valid UTF-8"):
        drift("latin.csv", good)
    with pytest.raises(InvalidInputError, match="iconv"):
        drift(good, "latin.csv")


def test_a_file_that_is_not_what_its_extension_says(project: Path) -> None:
    good = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    Path("fake.parquet").write_text("a,b\n1,3\n2,4\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"named \.parquet but is not a Parquet file"):
        drift("fake.parquet", good)
    Path("zipped.csv").write_bytes(b"PK\x03\x04not a csv at all")
    with pytest.raises(InvalidInputError, match="is not a CSV or Parquet file"):
        drift(good, "zipped.csv")
    # files are read by content: a Parquet file named .csv is read as Parquet
    pq.write_table(pa.Table.from_pandas(good, preserve_index=False), "really.csv")
    assert _stats(drift("really.csv", good)) == _stats(drift(good, good))


def test_a_missing_file_and_an_unreadable_object_are_refused() -> None:
    good = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(InvalidInputError, match="no such file"):
        drift("nope.csv", good)
    with pytest.raises(InvalidInputError, match="cannot read a list as data"):
        drift([1, 2, 3], good)


# ============================================================== the sketch (profile) path


BUILDS = 24


@pytest.fixture(scope="module")
def big() -> dict[str, Any]:
    """100k vs 100k rows; profiles of each; exact reports for every numerical test."""
    rng = np.random.default_rng(0)
    n = 100_000
    ref = pd.DataFrame(
        {
            "stable": rng.normal(0, 1, n),
            "shifted": rng.normal(0, 1, n),
            "cat": rng.choice(list("abcd"), n),
            "few": rng.integers(0, 4, n).astype(float),
            "count": rng.integers(0, 40, n),
        }
    )
    cur = pd.DataFrame(
        {
            "stable": rng.normal(0, 1, n),
            "shifted": rng.normal(0.5, 1, n),
            "cat": rng.choice(list("abcd"), n, p=[0.4, 0.2, 0.2, 0.2]),
            "few": rng.integers(0, 4, n).astype(float),
            "count": rng.integers(0, 41, n),
        }
    )
    numbers = ["stable", "shifted"]
    # KLL sketches are randomised: a few more independent builds of the numerical columns show
    # whether a band holds in general, not just for one draw.
    builds = [(profile(ref), profile(cur))] + [
        (profile(ref[numbers]), profile(cur[numbers])) for _ in range(BUILDS - 1)
    ]
    return {
        "ref": ref,
        "cur": cur,
        "ref_profile": builds[0][0],
        "cur_profile": builds[0][1],
        "builds": builds,
        "exact": {
            m: drift(ref, cur, method=m, columns=numbers)
            for m in ("wasserstein", "ks", "psi", "jensenshannon", "linf")
        },
    }


def _via_profiles(big: dict[str, Any], **kwargs: Any) -> DriftReport:
    return drift(big["ref_profile"], big["cur_profile"], **kwargs)


@pytest.mark.parametrize("column", ["stable", "shifted"])
def test_sketch_wasserstein_is_within_its_band_with_the_same_decision(
    big: dict[str, Any], column: str
) -> None:
    exact = big["exact"]["wasserstein"].column(column)
    sketched = _via_profiles(big, columns=["stable", "shifted"]).column(column)
    assert sketched.test == "wasserstein" == exact.test  # 100k rows, many values: auto picks it
    assert not sketched.exact and sketched.error is not None and 0 < sketched.error < 0.1
    assert abs(sketched.statistic - exact.statistic) <= sketched.error
    assert sketched.drifted == exact.drifted == (column == "shifted")
    assert not sketched.uncertain


@pytest.mark.parametrize("column", ["stable", "shifted"])
def test_sketch_ks_is_within_its_band_with_the_same_decision_unless_uncertain(
    big: dict[str, Any], column: str
) -> None:
    exact = big["exact"]["ks"].column(column)
    sketched = _via_profiles(big, method="ks", columns=[column]).column(column)
    assert not sketched.exact and sketched.error is not None
    assert abs(sketched.statistic - exact.statistic) <= sketched.error
    if column == "shifted":
        assert sketched.drifted and exact.drifted and not sketched.uncertain
    else:
        # 100k rows: D of two samples of one distribution (about 0.004) is below the sketches'
        # rank error (about 0.007), so the p-value is never clear: the column is uncertain,
        # and only then may the decision differ.
        assert sketched.drifted == exact.drifted or sketched.uncertain


@pytest.mark.parametrize("test", ["psi", "jensenshannon", "linf"])
@pytest.mark.parametrize("column", ["stable", "shifted"])
def test_sketch_binned_distances_give_the_exact_decision_and_linf_stays_in_its_band(
    big: dict[str, Any], column: str, test: str
) -> None:
    exact = big["exact"][test].column(column)
    misses = []
    for ref_profile, cur_profile in big["builds"]:
        sketched = drift(ref_profile, cur_profile, method=test, columns=[column]).column(column)
        assert not sketched.exact
        assert sketched.drifted == exact.drifted  # clearly stable or clearly drifted
        if test != "linf":
            # PSI and Jensen-Shannon of sketched shares have no proven band: none is claimed.
            assert sketched.error is None and not sketched.uncertain
            continue
        assert sketched.error is not None
        if abs(sketched.statistic - exact.statistic) > sketched.error:
            misses.append((sketched.statistic, sketched.error))
    assert misses == [], f"exact {exact.statistic}; outside the band in {len(misses)} of {BUILDS}"


def test_sketch_categorical_and_counted_columns_are_exact(big: dict[str, Any]) -> None:
    exact = drift(big["ref"], big["cur"], columns=["cat", "few", "count"])
    sketched = _via_profiles(big, columns=["cat", "few", "count"])
    for column in exact.columns:
        got = sketched.column(column.column)
        assert got.test == column.test
        assert got.exact and got.error is None and not got.uncertain
        assert _close(got.statistic, column.statistic, 1e-12), column.column
    assert {c.column: c.test for c in sketched.columns} == {
        "cat": "jensenshannon",
        "few": "jensenshannon",
        "count": "wasserstein",
    }
    # counted numbers: KS past scipy's exact-p-value size is scipy's asymptotic value too
    exact_ks = drift(big["ref"], big["cur"], columns=["count"], method="ks").column("count")
    sketched_ks = _via_profiles(big, columns=["count"], method="ks").column("count")
    assert _close(sketched_ks.statistic, exact_ks.statistic)


def test_a_threshold_inside_the_band_marks_the_column_uncertain(big: dict[str, Any]) -> None:
    exact = big["exact"]["wasserstein"].column("stable").statistic
    tests = {"stable": ("wasserstein", exact)}
    sketched = _via_profiles(big, columns=["stable"], tests=tests).column("stable")
    assert sketched.uncertain
    raw = drift(big["ref"], big["cur"], columns=["stable"], tests=tests).column("stable")
    assert raw.drifted and not raw.uncertain  # exact: statistic == threshold -> drifted
    far = _via_profiles(big, columns=["stable"], tests={"stable": ("wasserstein", 0.3)})
    assert not far.column("stable").uncertain
    # p-value tests: uncertain when the threshold is inside [p - error, p + error]
    ks = _via_profiles(big, columns=["stable"], method="ks").column("stable")
    assert ks.error is not None
    assert ks.uncertain == (ks.statistic - ks.error <= 0.05 <= ks.statistic + ks.error)


def test_sketch_chisquare_on_uncounted_numbers_says_to_use_another_test(
    big: dict[str, Any],
) -> None:
    with pytest.raises(InvalidInputError, match=r"[Cc]hi-square") as info:
        _via_profiles(big, columns=["stable"], method="chisquare")
    assert "use ks, wasserstein, psi or jensenshannon" in str(info.value)


# ====================================================================== properties


# Ordinary floats: no magnitudes below 1e-100 but zero (a range of subnormal width is tested
# on its own, test_a_range_too_small_or_too_large_for_the_chart_bins_does_not_warn).
ordinary = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False).map(
    lambda v: 0.0 if abs(v) < 1e-100 else v
)
frames = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        st.lists(
            st.one_of(ordinary, st.just(math.nan)),
            min_size=n,
            max_size=n,
        ),
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=max(n, 6), max_size=max(n, 6)),
    )
)
NUMBER_TESTS = ["auto", "ks", "wasserstein", "psi", "jensenshannon", "linf", "chisquare", "z"]
CATEGORY_TESTS = ["auto", "chisquare", "z", "psi", "jensenshannon", "linf"]
P_VALUE_TESTS = {"ks", "chisquare", "z"}


@settings(max_examples=60, deadline=None)
@given(
    data=frames,
    number_test=st.sampled_from(NUMBER_TESTS),
    category_test=st.sampled_from(CATEGORY_TESTS),
    through_profiles=st.booleans(),
)
def test_data_compared_with_itself_never_drifts(
    data: tuple[list[float], list[str]],
    number_test: str,
    category_test: str,
    through_profiles: bool,
) -> None:
    numbers, words = data
    frame_x = pd.DataFrame({"x": numbers})
    frame_c = pd.DataFrame({"c": words})
    for frame, column, test in ((frame_x, "x", number_test), (frame_c, "c", category_test)):
        side: Any = profile(frame) if through_profiles else frame
        tests = {} if test == "auto" else {column: test}
        distinct = frame[column].dropna().nunique()
        if column == "x" and test in ("chisquare", "z") and distinct > 5:
            with pytest.raises(InvalidInputError, match="compares categories"):
                drift(side, side, tests=tests)
            continue
        report = drift(side, side, tests=tests)
        assert not report.drifted
        for column in report.columns:
            assert not column.drifted, column
            if column.test in P_VALUE_TESTS:
                assert column.statistic == pytest.approx(1.0, abs=1e-12), column
            else:
                assert column.statistic == pytest.approx(0.0, abs=1e-12), column
        for name, reason in report.skipped:
            assert name == "x" and "no values" in reason  # only an all-NaN column


samples = st.lists(ordinary.map(lambda v: v / 1e4), min_size=1, max_size=60)
words = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=8, max_size=60)


@settings(max_examples=60, deadline=None)
@given(a=samples, b=samples, wa=words, wb=words)
def test_swapping_the_sides_keeps_ks_and_jensenshannon(
    a: list[float], b: list[float], wa: list[str], wb: list[str]
) -> None:
    def ks(x: list[float], y: list[float]) -> float:
        report = drift(pd.DataFrame({"x": x}), pd.DataFrame({"x": y}), method="ks")
        return report.column("x").statistic

    def js(x: list[str], y: list[str]) -> float:
        report = drift(pd.DataFrame({"c": x}), pd.DataFrame({"c": y}), method="jensenshannon")
        return report.column("c").statistic

    assert ks(a, b) == pytest.approx(ks(b, a), rel=1e-12, abs=1e-300)
    assert js(wa, wb) == pytest.approx(js(wb, wa), rel=1e-12, abs=1e-15)
