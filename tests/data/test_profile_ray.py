"""executor="ray": each file (or slice) in a Ray task, merged on the driver, same profile."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from loopml import InvalidInputError
from loopml.data._profile import ColumnProfile, Profile, profile

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_instance() -> Iterator[object]:
    """One local Ray instance (2 CPUs) for the module; profile() must reuse it."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture
def ray_only_once(ray_instance: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """Ray is running: a second ray.init() from loopml would be a bug."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("ray.init() called although Ray is initialised")

    monkeypatch.setattr(ray_instance, "init", refuse)
    return ray_instance


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": np.where(rng.random(rows) < 0.05, np.nan, rng.normal(seed, 1.0, rows)),
            "n": rng.integers(0, 50, rows),
            "s": pd.Series(rng.choice(["a", "b", "c", None], rows), dtype="str"),
            "b": rng.random(rows) < 0.25,
        }
    )


def _assert_close_profiles(on_ray: Profile, local: Profile, every: pd.DataFrame) -> None:
    assert on_ray.rows == local.rows == len(every)
    assert on_ray.column_names == local.column_names
    assert on_ray.spec == local.spec
    for name in local.column_names:
        ray_column: ColumnProfile = on_ray[name]
        local_column: ColumnProfile = local[name]
        assert (ray_column.rows, ray_column.missing, ray_column.counts) == (
            local_column.rows,
            local_column.missing,
            local_column.counts,
        ), name
        assert ray_column.distinct_sketch == local_column.distinct_sketch
        if local_column.moments is None:
            continue
        r, w = ray_column.moments, local_column.moments
        assert r is not None
        assert (r.count, r.missing, r.pos_inf, r.neg_inf, r.minimum, r.maximum) == (
            w.count,
            w.missing,
            w.pos_inf,
            w.neg_inf,
            w.minimum,
            w.maximum,
        )
        assert math.isclose(r.mean, w.mean, rel_tol=1e-9)
        assert r.variance is not None and w.variance is not None
        assert math.isclose(r.variance, w.variance, rel_tol=1e-9)
        # Quantiles: within twice the documented rank error of the exact CDF.
        assert ray_column.quantiles is not None
        values = np.sort(every[name].dropna().to_numpy(dtype=np.float64))
        grid = np.quantile(values, np.linspace(0.01, 0.99, 50))
        estimated = np.array(ray_column.quantiles.cdf(list(grid))[:-1])
        exact = np.searchsorted(values, grid, side="right") / values.size
        assert np.abs(estimated - exact).max() <= 2 * ray_column.quantiles.rank_error


def test_a_folder_of_parquet_files_profiles_on_ray_like_locally(
    ray_only_once: object, project: Path
) -> None:
    folder = project / "parts"
    folder.mkdir()
    frames = [_frame(40_000, seed) for seed in range(3)]
    for i, frame in enumerate(frames):
        frame.to_parquet(folder / f"part-{i}.parquet", index=False)
    every = pd.concat(frames, ignore_index=True)
    on_ray = profile(folder, executor="ray")
    local = profile(folder)
    _assert_close_profiles(on_ray, local, every)
    assert on_ray.source == local.source and str(folder) in on_ray.source


def test_columns_are_selected_on_ray_too(ray_only_once: object, project: Path) -> None:
    folder = project / "parts"
    folder.mkdir()
    frames = [_frame(2_000, seed) for seed in range(3)]
    for i, frame in enumerate(frames):
        frame.to_parquet(folder / f"part-{i}.parquet", index=False)
    on_ray = profile(str(folder / "*.parquet"), executor="ray", columns=["s", "x"])
    assert on_ray.column_names == ["s", "x"]
    _assert_close_profiles(
        on_ray, profile(folder, columns=["s", "x"]), pd.concat(frames, ignore_index=True)
    )


def test_an_in_memory_frame_profiles_on_ray_like_locally(ray_only_once: object) -> None:
    frame = _frame(50_001, seed=7)
    on_ray = profile(frame, executor="ray")
    _assert_close_profiles(on_ray, profile(frame), frame)
    assert on_ray.source == "pandas"


def test_an_empty_frame_profiles_on_ray(ray_only_once: object) -> None:
    frame = _frame(0, seed=1)
    on_ray = profile(frame, executor="ray")
    assert on_ray.rows == 0 and on_ray.column_names == ["x", "n", "s", "b"]


def test_other_settings_reach_the_ray_tasks(ray_only_once: object) -> None:
    frame = _frame(5_000, seed=3)
    on_ray = profile(frame, executor="ray", k=200, p=12, cap=10)
    assert on_ray.spec == profile(frame, k=200, p=12, cap=10).spec
    assert on_ray["n"].counts is None  # 50 distinct values: past the cap of 10
    assert on_ray["x"].distinct_sketch is not None and on_ray["x"].distinct_sketch.p == 12


@pytest.mark.parametrize("executor", ["dask", "Ray", "", "local "])
def test_an_unknown_executor_is_refused(executor: str) -> None:
    with pytest.raises(InvalidInputError, match="executor must be 'local' or 'ray'"):
        profile(pd.DataFrame({"x": [1.0]}), executor=executor)
