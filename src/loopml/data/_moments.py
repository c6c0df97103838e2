"""Mergeable moments of a numeric column: count, missing, infinities, min, max, mean, variance.

Each batch gives a :class:`Moments`; ``a.merge(b)`` equals the moments of the two batches
together (Chan, Golub and LeVeque's pairwise update of the mean and the sum of squared
deviations), so profiles of chunks, partitions or monitoring windows combine exactly, up to
floating-point rounding. Infinities are counted apart and kept out of min, max, mean and
variance; so are missing values (null and NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Moments:
    """Summary statistics that merge exactly."""

    count: int = 0  # finite values
    missing: int = 0  # null or NaN
    pos_inf: int = 0
    neg_inf: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean

    @classmethod
    def of(cls, values: Any) -> Moments:
        """Moments of a sequence of numbers (list, numpy array, pyarrow array; None = missing)."""
        import numpy as np

        if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
            values = values.to_numpy(zero_copy_only=False)
        array = np.asarray(values, dtype=np.float64)
        missing = int(np.isnan(array).sum())
        pos_inf = int(np.isposinf(array).sum())
        neg_inf = int(np.isneginf(array).sum())
        finite = array[np.isfinite(array)]
        if finite.size == 0:
            return cls(missing=missing, pos_inf=pos_inf, neg_inf=neg_inf)
        mean = float(finite.mean())
        return cls(
            count=int(finite.size),
            missing=missing,
            pos_inf=pos_inf,
            neg_inf=neg_inf,
            minimum=float(finite.min()),
            maximum=float(finite.max()),
            mean=mean,
            m2=float(((finite - mean) ** 2).sum()),
        )

    @classmethod
    def from_finite(
        cls, finite: Any, missing: int = 0, pos_inf: int = 0, neg_inf: int = 0
    ) -> Moments:
        """Moments from a float64 numpy array of finite values and the counts left out of it."""
        if finite.size == 0:
            return cls(missing=missing, pos_inf=pos_inf, neg_inf=neg_inf)
        mean = float(finite.mean())
        centred = finite - mean
        return cls(
            count=int(finite.size),
            missing=missing,
            pos_inf=pos_inf,
            neg_inf=neg_inf,
            minimum=float(finite.min()),
            maximum=float(finite.max()),
            mean=mean,
            m2=float(centred @ centred),
        )

    def merge(self, other: Moments) -> Moments:
        """The moments of both batches together."""
        n = self.count + other.count
        if n == 0:
            mean, m2 = 0.0, 0.0
        else:
            delta = other.mean - self.mean
            mean = self.mean + delta * other.count / n
            m2 = self.m2 + other.m2 + delta * delta * self.count * other.count / n
        return Moments(
            count=n,
            missing=self.missing + other.missing,
            pos_inf=self.pos_inf + other.pos_inf,
            neg_inf=self.neg_inf + other.neg_inf,
            minimum=min(self.minimum, other.minimum),
            maximum=max(self.maximum, other.maximum),
            mean=mean,
            m2=m2,
        )

    @property
    def total(self) -> int:
        """Every value seen, finite or not."""
        return self.count + self.missing + self.pos_inf + self.neg_inf

    @property
    def variance(self) -> float | None:
        """Sample variance (ddof=1) of the finite values; None below two values."""
        return self.m2 / (self.count - 1) if self.count > 1 else None

    @property
    def std(self) -> float | None:
        """Sample standard deviation of the finite values; None below two values."""
        variance = self.variance
        return math.sqrt(variance) if variance is not None else None

    @property
    def population_std(self) -> float | None:
        """Population standard deviation (ddof=0), as Evidently normalises Wasserstein."""
        return math.sqrt(self.m2 / self.count) if self.count else None
