"""Gates: may a candidate version replace the champion? (TFX calls it blessing.)

``Gate(thresholds={"roc_auc": ">= 0.85"}, vs_champion={"roc_auc": "+0.005", "log_loss":
"-0.0"}, infra=True).check("fraud", 4, dataset="transactions/3")``:

* ``thresholds``: absolute bounds, ``">= 0.85"``, ``"< 0.3"`` (``>=``, ``>``, ``<=``, ``<``).
* ``vs_champion``: change against the current champion, evaluated on the SAME dataset.
  ``"+0.005"``: the candidate must be at least 0.005 higher (a metric to maximise);
  ``"-0.0"``: at least 0.0 lower, i.e. no worse (a metric to minimise). The first version
  (no champion) faces the absolute thresholds only.
* ``infra``: the bundle loads and answers its input example in a fresh Python process that
  can import only the bundle's locked requirements (:mod:`loopml.models._infra`).

The verdict (blessed or not, with every reason) is stored on the version, and recorded in
the registry's history; only a blessed version becomes champion (see ``set_alias``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from loopml._errors import InvalidInputError

_BOUND = re.compile(r"\s*(>=|<=|>|<)\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*")
_DELTA = re.compile(r"\s*([-+])\s*(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*")
_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
}


def _bound(metric: str, text: str) -> tuple[str, float]:
    match = _BOUND.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInputError(
            f"threshold for {metric!r} is {text!r}; write it as '>= 0.85' (>=, >, <=, <)"
        )
    return match[1], float(match[2])


def _delta(metric: str, text: str) -> tuple[str, float]:
    match = _DELTA.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInputError(
            f"vs_champion for {metric!r} is {text!r}; write '+0.005' (must rise by at least "
            "0.005) or '-0.0' (must not rise: lower is better)"
        )
    return match[1], float(match[2])


@dataclass
class Verdict:
    """A gate's decision on a candidate: blessed or not, with every reason."""

    model: str
    candidate: int
    champion: int | None
    dataset: str
    blessed: bool
    reasons: list[str] = field(default_factory=list)
    candidate_metrics: dict[str, float | None] = field(default_factory=dict)
    champion_metrics: dict[str, float | None] = field(default_factory=dict)
    infra: dict[str, Any] | None = None
    evaluations: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "candidate": self.candidate,
            "champion": self.champion,
            "dataset": self.dataset,
            "blessed": self.blessed,
            "reasons": self.reasons,
            "candidate_metrics": self.candidate_metrics,
            "champion_metrics": self.champion_metrics,
            "infra": self.infra,
            "evaluations": self.evaluations,
        }


class Gate:
    """Checks a candidate version against thresholds, the champion and its infrastructure."""

    def __init__(
        self,
        thresholds: Mapping[str, str] | None = None,
        vs_champion: Mapping[str, str] | None = None,
        *,
        infra: bool = False,
        task: str = "classification",
        target: str | None = None,
    ) -> None:
        self.thresholds = {k: _bound(k, v) for k, v in (thresholds or {}).items()}
        self.vs_champion = {k: _delta(k, v) for k, v in (vs_champion or {}).items()}
        self.infra = infra
        self.task = task
        self.target = target

    def spec(self) -> dict[str, Any]:
        return {
            "thresholds": {k: f"{op} {v}" for k, (op, v) in self.thresholds.items()},
            "vs_champion": {k: f"{s}{v}" for k, (s, v) in self.vs_champion.items()},
            "infra": self.infra,
        }

    def check(
        self,
        name: str,
        version: int,
        *,
        dataset: Any,
        champion_alias: str = "champion",
        path: Any = None,
    ) -> Verdict:
        """Evaluate the candidate (and the champion, on the same dataset) and decide."""
        from loopml._errors import NotFoundError
        from loopml._workspace import workspace
        from loopml.models._evaluate import evaluate
        from loopml.models._registry import actor

        store = workspace(path).store
        store.get_model_version(name, version)  # exists?
        try:
            champion: int | None = store.resolve_alias(name, champion_alias)
        except NotFoundError:
            champion = None
        if champion == version:
            champion = None  # re-gating the champion: thresholds only
        candidate_eval = evaluate(
            f"models:/{name}/{version}", dataset, target=self.target, task=self.task, path=path
        )
        verdict = Verdict(
            model=name,
            candidate=version,
            champion=champion,
            dataset=candidate_eval.dataset,
            blessed=True,
            candidate_metrics=candidate_eval.metrics,
            evaluations={"candidate": candidate_eval.run_id},
        )
        reasons = verdict.reasons
        for metric, (op, bound) in self.thresholds.items():
            value = candidate_eval.metrics.get(metric)
            if value is None or not math.isfinite(value):
                verdict.blessed = False
                why = candidate_eval.undefined.get(metric, "not computed for this task")
                reasons.append(f"FAIL {metric} is undefined ({why}); needs {op} {bound}")
            elif _OPS[op](value, bound):
                reasons.append(f"pass {metric} {value:.4f} {op} {bound}")
            else:
                verdict.blessed = False
                reasons.append(f"FAIL {metric} {value:.4f} is not {op} {bound}")
        if champion is None:
            if self.vs_champion:
                reasons.append(f"no {champion_alias} yet: only the absolute thresholds apply")
        elif self.vs_champion:
            champion_eval = evaluate(
                f"models:/{name}/{champion}",
                dataset,
                target=self.target,
                task=self.task,
                path=path,
            )
            verdict.champion_metrics = champion_eval.metrics
            verdict.evaluations["champion"] = champion_eval.run_id
            for metric, (sign, delta) in self.vs_champion.items():
                new = candidate_eval.metrics.get(metric)
                old = champion_eval.metrics.get(metric)
                if new is None or old is None:
                    verdict.blessed = False
                    reasons.append(f"FAIL {metric} is undefined for the candidate or champion")
                    continue
                change = new - old
                ok = change >= delta if sign == "+" else change <= -delta
                need = f"at least +{delta}" if sign == "+" else f"at most -{delta}"
                word = "pass" if ok else "FAIL"
                reasons.append(
                    f"{word} {metric} {new:.4f} vs champion v{champion} {old:.4f} "
                    f"(change {change:+.4f}, needs {need})"
                )
                verdict.blessed = verdict.blessed and ok
        if self.infra:
            from loopml.models._infra import infra_check

            outcome = infra_check(name, version, path=path)
            verdict.infra = outcome.to_dict()
            if outcome.ok:
                reasons.append(
                    f"pass infra: loads and predicts in a clean process ({outcome.seconds:.1f} s)"
                )
            else:
                verdict.blessed = False
                reasons.append(f"FAIL infra: {outcome.error}")
        store.record_model_verdict(
            name,
            version,
            verdict.blessed,
            {**verdict.to_dict(), "gate": self.spec()},
            actor=actor(),
        )
        return verdict
