"""A small HyperLogLog distinct-count sketch for numbers, vectorised with numpy.

DataSketches' HLL and CPC sketches take one value per Python call (about 200 ms per million
values); this one hashes a whole array at once (about 50 ms per million). Values are float64;
each is hashed with splitmix64 over its bit pattern (``-0.0`` counts as ``0.0``); the low ``p``
bits pick a register and the top 32 bits give the rank. With
``p = 14`` (16 KiB of registers) the relative standard error is ``1.04 / sqrt(2**14)`` = 0.8 %;
the estimator is Ertl's improved one, which is unbiased from a handful of values to billions
(small counts come out nearly exact). Registers merge with an element-wise maximum, which
gives exactly the registers of the union, so merged sketches equal the sketch of the combined
data.
"""

from __future__ import annotations

import math
from typing import Any

DEFAULT_P = 14


def _splitmix64(x: Any) -> Any:
    import numpy as np

    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == previous:
            return z / 3.0


class DistinctSketch:
    """HyperLogLog over float64 values (missing values are skipped by the caller)."""

    def __init__(self, p: int = DEFAULT_P, registers: Any = None) -> None:
        import numpy as np

        if not 4 <= p <= 18:
            raise ValueError(f"p must be between 4 and 18, not {p}")
        self.p = p
        self.registers = (
            np.zeros(1 << p, dtype=np.uint8)
            if registers is None
            else np.asarray(registers, dtype=np.uint8)
        )

    def update(self, values: Any) -> DistinctSketch:
        """Add float64 values (a numpy array); returns self."""
        import numpy as np

        array = np.asarray(values, dtype=np.float64)
        if array.size == 0:
            return self
        array = array + 0.0  # -0.0 + 0.0 is 0.0: one value
        hashed = _splitmix64(array.view(np.uint64))
        index = (hashed & np.uint64((1 << self.p) - 1)).astype(np.intp)
        # rank = leading zeros of the top 32 bits + 1; frexp's exponent is the bit length
        # (exact: 32-bit integers convert to float64 without rounding), 0 for a zero word.
        top = (hashed >> np.uint64(32)).astype(np.uint32).astype(np.float64)
        rank = (33 - np.frexp(top)[1]).astype(np.uint8)
        np.maximum.at(self.registers, index, rank)
        return self

    def merge(self, other: DistinctSketch) -> DistinctSketch:
        """The sketch of both inputs (neither input changes)."""
        import numpy as np

        if other.p != self.p:
            raise ValueError(f"cannot merge sketches of different sizes (p={self.p}, {other.p})")
        return DistinctSketch(self.p, np.maximum(self.registers, other.registers))

    def estimate(self) -> float:
        """The estimated number of distinct values (Ertl's improved estimator).

        O. Ertl, "New cardinality estimation algorithms for HyperLogLog sketches" (2017),
        algorithm 6: unbiased over the whole range without empirical bias tables, including
        where the classic estimator hands over from linear counting.
        """
        import numpy as np

        m = 1 << self.p
        q = 32  # ranks run from 1 to q + 1 (the top 32 bits of the hash)
        histogram = np.bincount(self.registers, minlength=q + 2).astype(np.float64)
        if histogram[0] == m:
            return 0.0
        z = m * _tau(1.0 - histogram[q + 1] / m)
        for k in range(q, 0, -1):
            z = 0.5 * (z + histogram[k])
        z += m * _sigma(histogram[0] / m)
        return float(m * m / (2.0 * math.log(2.0)) / z)

    @property
    def relative_error(self) -> float:
        """The relative standard error of :meth:`estimate` (about 0.8 % at p = 14)."""
        return 1.04 / math.sqrt(1 << self.p)

    def to_bytes(self) -> bytes:
        return bytes([self.p]) + self.registers.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> DistinctSketch:
        import numpy as np

        p = data[0]
        registers = np.frombuffer(data[1:], dtype=np.uint8).copy()
        if registers.size != 1 << p:
            raise ValueError("corrupt distinct-count sketch: wrong number of registers")
        return cls(p, registers)

    def __eq__(self, other: object) -> bool:
        import numpy as np

        return (
            isinstance(other, DistinctSketch)
            and other.p == self.p
            and bool(np.array_equal(self.registers, other.registers))
        )

    __hash__ = None  # type: ignore[assignment]
