"""``loopml.tune``: hyperparameter search where every trial is a tracked child run.

::

    from loopml.pipelines import choice, integer, loguniform

    def train(params):
        model = fit(C=params["C"], depth=params["depth"])
        return {"roc_auc": score(model)}          # or just a number: the metric

    best = loopml.tune(
        train,
        {"C": loguniform(1e-3, 10), "depth": integer(2, 8), "kernel": choice(["a", "b"])},
        metric="roc_auc", mode="max", num_samples=20,
    )
    best.params, best.value, best.run_id

Backends: ``optuna`` (the default: TPE in this process, ``pip install 'loopml[tune]'``) and
``ray`` (Ray Tune, trials in parallel on a local or existing cluster). The search space uses
loopml's own vocabulary, translated for each backend: ``uniform``, ``loguniform``,
``integer`` (both bounds included), ``choice``; a plain list is a choice, anything else a
constant. The parent run (``loopml.kind=tune``) holds the best parameters and value; every
trial is its child run with its parameters and metrics, and the best one carries the tag
``loopml.tune.best=true``. A trial that raises is a failed run; the search goes on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loopml._errors import InvalidInputError


@dataclass(frozen=True)
class Uniform:
    low: float
    high: float


@dataclass(frozen=True)
class LogUniform:
    low: float
    high: float


@dataclass(frozen=True)
class Integer:
    low: int
    high: int  # included


@dataclass(frozen=True)
class Choice:
    options: tuple[Any, ...]


def uniform(low: float, high: float) -> Uniform:
    if not low < high:
        raise InvalidInputError(f"uniform({low}, {high}): low must be below high")
    return Uniform(float(low), float(high))


def loguniform(low: float, high: float) -> LogUniform:
    if not 0 < low < high:
        raise InvalidInputError(f"loguniform({low}, {high}): need 0 < low < high")
    return LogUniform(float(low), float(high))


def integer(low: int, high: int) -> Integer:
    if not low <= high:
        raise InvalidInputError(f"integer({low}, {high}): low must not exceed high")
    return Integer(int(low), int(high))


def choice(options: Any) -> Choice:
    values = tuple(options)
    if not values:
        raise InvalidInputError("choice([...]) needs at least one option")
    return Choice(values)


@dataclass
class Trial:
    run_id: str
    params: dict[str, Any]
    value: float | None
    status: str  # finished | failed


@dataclass
class TuneResult:
    """The best trial of a search, and every trial."""

    run_id: str  # the parent run
    params: dict[str, Any]
    value: float
    best_run_id: str
    metric: str
    mode: str
    trials: list[Trial] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"TuneResult(best {self.metric}={self.value:.6g} with {self.params}, "
            f"{len(self.trials)} trials, run {self.run_id[:8]})"
        )


def _space(search_space: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(search_space, Mapping) or not search_space:
        raise InvalidInputError(
            "search_space must be a non-empty dict of parameter names to uniform(...), "
            "loguniform(...), integer(...), choice([...]), a list of options or a constant"
        )
    return {str(k): choice(v) if isinstance(v, list) else v for k, v in search_space.items()}


def _metrics(returned: Any, metric: str) -> dict[str, float]:
    if isinstance(returned, int | float) and not isinstance(returned, bool):
        return {metric: float(returned)}
    if isinstance(returned, Mapping) and metric in returned:
        return {str(k): float(v) for k, v in returned.items() if isinstance(v, int | float)}
    raise InvalidInputError(
        f"the training function returned {returned!r}; return the metric {metric!r} as a "
        f"number, or a dict of metrics that holds {metric!r}"
    )


def tune(
    train_fn: Callable[[dict[str, Any]], Any],
    search_space: Mapping[str, Any],
    *,
    metric: str,
    mode: str = "max",
    num_samples: int = 10,
    backend: str = "optuna",
    seed: int = 0,
    experiment: str | None = None,
    name: str = "tune",
    path: Any = None,
) -> TuneResult:
    """Search ``search_space`` for the parameters that optimise ``metric``; see the module doc."""
    from loopml.tracking import start_run

    if mode not in ("max", "min"):
        raise InvalidInputError(f"mode must be 'max' or 'min', not {mode!r}")
    if not isinstance(num_samples, int) or num_samples < 1:
        raise InvalidInputError(f"num_samples must be a whole number >= 1, not {num_samples!r}")
    if backend not in ("optuna", "ray"):
        raise InvalidInputError(f"backend must be 'optuna' or 'ray', not {backend!r}")
    space = _space(search_space)
    trials: list[Trial] = []
    with start_run(
        experiment=experiment,
        name=name,
        tags={"loopml.kind": "tune", "loopml.tune.backend": backend},
        params={"metric": metric, "mode": mode, "num_samples": num_samples, "seed": seed},
        path=path,
    ) as parent:
        if backend == "optuna":
            _optuna(train_fn, space, metric, mode, num_samples, seed, parent, trials, path)
        else:
            _ray(train_fn, space, metric, mode, num_samples, seed, parent, trials, path)
        done = [t for t in trials if t.status == "finished" and t.value is not None]
        if not done:
            raise InvalidInputError(
                f"every one of the {len(trials)} trials failed; see their runs "
                f"(loopml runs list -f \"tags.loopml.tune.parent = '{parent.id}'\")"
            )
        best = (max if mode == "max" else min)(done, key=lambda t: t.value or 0.0)
        assert best.value is not None
        from loopml._workspace import workspace

        workspace(path).store.set_tags(best.run_id, {"loopml.tune.best": "true"})
        parent.log_params({f"best.{k}": v for k, v in best.params.items()})
        parent.log_metric(f"best_{metric}", best.value)
        parent.set_tag("loopml.tune.best_run", best.run_id)
        parent_id = parent.id
    return TuneResult(parent_id, best.params, best.value, best.run_id, metric, mode, trials)


def _run_trial(
    train_fn: Callable[[dict[str, Any]], Any],
    params: dict[str, Any],
    metric: str,
    number: int,
    parent_id: str,
    trials: list[Trial],
    path: Any,
) -> float | None:
    from loopml.tracking import start_run

    with start_run(
        name=f"trial-{number}",
        parent=parent_id,
        tags={"loopml.kind": "trial", "loopml.tune.parent": parent_id},
        params=params,
        path=path,
    ) as run:
        try:
            metrics = _metrics(train_fn(dict(params)), metric)
        except Exception as exc:
            import traceback

            run.end("failed", error=traceback.format_exc()[-4000:])
            trials.append(Trial(run.id, params, None, "failed"))
            del exc
            return None
        run.log_metrics(metrics)
        value = metrics[metric]
        trials.append(Trial(run.id, params, value, "finished"))
        return value


def _optuna(
    train_fn: Callable[[dict[str, Any]], Any],
    space: dict[str, Any],
    metric: str,
    mode: str,
    num_samples: int,
    seed: int,
    parent: Any,
    trials: list[Trial],
    path: Any,
) -> None:
    try:
        import optuna
    except ImportError:
        raise InvalidInputError(
            "backend='optuna' needs Optuna: pip install 'loopml[tune]' (or use backend='ray')"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def objective(trial: Any) -> float:
        params: dict[str, Any] = {}
        for key, spec in space.items():
            if isinstance(spec, Uniform):
                params[key] = trial.suggest_float(key, spec.low, spec.high)
            elif isinstance(spec, LogUniform):
                params[key] = trial.suggest_float(key, spec.low, spec.high, log=True)
            elif isinstance(spec, Integer):
                params[key] = trial.suggest_int(key, spec.low, spec.high)
            elif isinstance(spec, Choice):
                params[key] = trial.suggest_categorical(key, list(spec.options))
            else:
                params[key] = spec
        value = _run_trial(train_fn, params, metric, trial.number, parent.id, trials, path)
        if value is None or not math.isfinite(value):
            raise optuna.TrialPruned()  # a failed trial: recorded as a failed run
        return value

    study = optuna.create_study(
        direction="maximize" if mode == "max" else "minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
    )
    study.optimize(objective, n_trials=num_samples)


def _ray(
    train_fn: Callable[[dict[str, Any]], Any],
    space: dict[str, Any],
    metric: str,
    mode: str,
    num_samples: int,
    seed: int,
    parent: Any,
    trials: list[Trial],
    path: Any,
) -> None:

    parent_id: str = parent.id  # the callback is pickled by Ray: no live objects in it
    recorded = trials
    from ray import tune as ray_tune

    from loopml.data._ray import _ray as ensure_ray

    ensure_ray()
    param_space: dict[str, Any] = {}
    for key, spec in space.items():
        if isinstance(spec, Uniform):
            param_space[key] = ray_tune.uniform(spec.low, spec.high)
        elif isinstance(spec, LogUniform):
            param_space[key] = ray_tune.loguniform(spec.low, spec.high)
        elif isinstance(spec, Integer):
            param_space[key] = ray_tune.randint(spec.low, spec.high + 1)  # Ray excludes high
        elif isinstance(spec, Choice):
            param_space[key] = ray_tune.choice(list(spec.options))
        else:
            param_space[key] = spec

    def trainable(config: dict[str, Any]) -> None:
        try:
            metrics = _metrics(train_fn(dict(config)), metric)
        except Exception as exc:
            ray_tune.report({"loopml_error": repr(exc)[:2000], metric: float("nan")})
            return
        ray_tune.report(metrics)

    class Record(ray_tune.Callback):
        """Runs in the driver: each finished trial becomes a tracked child run."""

        def on_trial_complete(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
            result = dict(trial.last_result or {})
            config = {k: trial.config[k] for k in space}
            error = result.get("loopml_error")

            def replay(_: dict[str, Any]) -> Any:
                if error:
                    raise RuntimeError(error)
                return {k: v for k, v in result.items() if k == metric or k in _numeric(result)}

            _run_trial(replay, config, metric, len(recorded), parent_id, recorded, path)

        def on_trial_error(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
            config = {k: trial.config[k] for k in space}

            def fail(_: dict[str, Any]) -> Any:
                raise RuntimeError(f"Ray trial {trial.trial_id} failed")

            _run_trial(fail, config, metric, len(recorded), parent_id, recorded, path)

    import tempfile

    with tempfile.TemporaryDirectory(prefix="loopml-tune-") as storage:
        ray_tune.Tuner(
            trainable,
            param_space=param_space,
            tune_config=ray_tune.TuneConfig(
                metric=metric,
                mode=mode,
                num_samples=num_samples,
                search_alg=ray_tune.search.BasicVariantGenerator(random_state=seed),
            ),
            run_config=ray_tune.RunConfig(
                name="loopml-tune", storage_path=storage, callbacks=[Record()], verbose=0
            ),
        ).fit()


def _numeric(result: Mapping[str, Any]) -> set[str]:
    skip = {"time_this_iter_s", "time_total_s", "timestamp", "training_iteration", "pid"}
    return {
        k
        for k, v in result.items()
        if isinstance(v, int | float)
        and not isinstance(v, bool)
        and k not in skip
        and not k.startswith(("time_", "iterations_", "node_", "date", "hostname"))
    }


__all__ = [
    "Choice",
    "Integer",
    "LogUniform",
    "TuneResult",
    "Uniform",
    "choice",
    "integer",
    "loguniform",
    "tune",
    "uniform",
]
