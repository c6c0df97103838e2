"""Profiles: per-column statistics of a dataset that merge, computed in bounded memory.

For every column a :class:`ColumnProfile` keeps the row and missing counts and, by type:

* numbers, dates and times: :class:`~loopml.data._moments.Moments` (count, missing,
  infinities, min, max, mean, variance), a KLL :class:`~loopml.data._quantiles.QuantileSketch`
  (quantiles, CDF, histograms) and a :class:`~loopml.data._hll.DistinctSketch`;
* every column: exact value counts while the column has at most ``cap`` distinct values.
  Text columns with more distinct values switch to a frequent-items sketch (the heavy
  hitters, with error bounds) and a CPC distinct-count sketch (Apache DataSketches).

``profile(a).merge(profile(b))`` equals ``profile(a + b)``: exactly for counts, moments (up
to floating-point rounding) and distinct-count registers, and within the KLL sketch's
documented rank error for quantiles (exact while a sketch holds at most ``k`` values).
Data is read batch by batch (:mod:`loopml.data._inputs`), so memory does not grow with the
data; ``executor="ray"`` profiles the files of a dataset in Ray tasks and merges them.

Serialised form (:meth:`Profile.to_bytes`): a JSON document (``format: 1``) with the sketches
base64-encoded. KLL sketches are randomised, so the same data can give different bytes; a
stored profile is keyed by the dataset version and the :attr:`Profile.spec`, never by its digest.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError
from loopml.data._hll import DEFAULT_P, DistinctSketch
from loopml.data._moments import Moments
from loopml.data._quantiles import DEFAULT_K, QuantileSketch

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

FORMAT = 1
DEFAULT_CAP = 1000
FREQUENT_LG_K = 10  # frequent-items sketch: up to 768 tracked items


def _spec(k: int, p: int, cap: int) -> str:
    return f"v{FORMAT};kll{k};hll{p};cap{cap}"


def _family(arrow_type: pa.DataType) -> str:
    """'number', 'temporal', 'boolean' or 'text': how a column of this type is profiled."""
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "number"
    if pa.types.is_decimal(arrow_type):
        return "number"
    if (
        pa.types.is_timestamp(arrow_type)
        or pa.types.is_date(arrow_type)
        or pa.types.is_duration(arrow_type)
        or pa.types.is_time(arrow_type)
    ):
        return "temporal"
    if pa.types.is_null(arrow_type):
        return "null"
    return "text"


def _as_float64(array: pa.Array) -> np.ndarray[Any, Any]:
    """The column as float64 numpy (null -> NaN); temporal values as their integer ticks."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    t = array.type
    if pa.types.is_timestamp(t) or pa.types.is_duration(t) or pa.types.is_date64(t):
        array = array.view(pa.int64())
    elif pa.types.is_date32(t) or pa.types.is_time32(t):
        array = array.view(pa.int32())
    elif pa.types.is_time64(t):
        array = array.view(pa.int64())
    if not pa.types.is_float64(array.type):
        # Not a safe cast: integers and ticks past 2**53 round to the nearest float, which is
        # what moments and quantiles need (exact counts use the integers themselves).
        array = pc.cast(array, pa.float64(), safe=False)
    # Read the buffers directly: pyarrow's own conversion of arrays with nulls imports pandas
    # (30 MB and half a second) just to return floats.
    n, offset = len(array), array.offset
    buffers = array.buffers()
    out: np.ndarray[Any, Any] = np.frombuffer(buffers[1], dtype=np.float64)[offset : offset + n]
    if array.null_count:
        bits = np.frombuffer(buffers[0], dtype=np.uint8)
        valid = np.unpackbits(bits, bitorder="little")[offset : offset + n].astype(bool)
        out = np.where(valid, out, np.nan)
    return out


@dataclass
class ColumnProfile:
    """Mergeable statistics of one column."""

    name: str
    type: str  # canonical Arrow type, e.g. "double", "large_string", "timestamp[us, tz=UTC]"
    family: str  # "number" | "temporal" | "boolean" | "text" | "null"
    rows: int = 0
    missing: int = 0  # null, or NaN in a float column
    moments: Moments | None = None
    quantiles: QuantileSketch | None = None
    distinct_sketch: DistinctSketch | None = None
    counts: dict[Any, int] | None = field(default_factory=dict)  # None once past the cap
    frequent: Any = None  # datasketches.frequent_strings_sketch, text past the cap
    text_distinct: Any = None  # datasketches.cpc_sketch, text past the cap

    # -- reading -----------------------------------------------------------------------------
    @property
    def present(self) -> int:
        """Non-missing values (infinities included)."""
        return self.rows - self.missing

    @property
    def exact_counts(self) -> bool:
        """True while every distinct value is counted exactly."""
        return self.counts is not None

    @property
    def distinct(self) -> float:
        """Number of distinct non-missing values: exact below the cap, an estimate above."""
        if self.counts is not None:
            return float(len(self.counts))
        if self.distinct_sketch is not None:
            estimate = self.distinct_sketch.estimate()
        elif self.text_distinct is not None:
            estimate = float(self.text_distinct.get_estimate())
        else:
            return 0.0
        return min(estimate, float(self.present))  # an estimate never exceeds the values seen

    def top(self, n: int = 10) -> list[tuple[Any, int]]:
        """The ``n`` most frequent values with their counts (estimates past the cap)."""
        if self.counts is not None:
            return sorted(self.counts.items(), key=lambda kv: (-kv[1], _order(kv[0])))[:n]
        if self.frequent is not None:
            import datasketches

            items = self.frequent.get_frequent_items(
                datasketches.frequent_items_error_type.NO_FALSE_NEGATIVES, 0
            )
            ranked = sorted(
                ((item[0], int(item[1])) for item in items), key=lambda kv: (-kv[1], kv[0])
            )
            return ranked[:n]
        return []

    def summary(self) -> dict[str, Any]:
        """The headline numbers, JSON-able (for tables and ``--json``)."""
        out: dict[str, Any] = {
            "column": self.name,
            "type": self.type,
            "rows": self.rows,
            "missing": self.missing,
            "distinct": round(self.distinct),
            "distinct_exact": self.exact_counts,
        }
        m = self.moments
        if m is not None and m.count:
            out.update(
                mean=m.mean,
                std=m.std,
                min=m.minimum,
                max=m.maximum,
                infinite=m.pos_inf + m.neg_inf,
            )
            if self.quantiles is not None and self.quantiles.count:
                p5, p25, p50, p75, p95 = self.quantiles.quantiles([0.05, 0.25, 0.5, 0.75, 0.95])
                out.update(p5=p5, p25=p25, median=p50, p75=p75, p95=p95)
        if self.family in ("text", "boolean") or (self.counts is not None and len(self.counts)):
            out["top"] = [[_json_key(k), c] for k, c in self.top(5)]
        return out

    # -- building ----------------------------------------------------------------------------
    def update(self, array: pa.Array, cap: int) -> None:
        """Add one batch of this column."""
        import numpy as np

        n = len(array)
        self.rows += n
        if self.family in ("number", "temporal"):
            values = _as_float64(array)
            nan = np.isnan(values)
            missing = int(nan.sum())
            finite_mask = np.isfinite(values)
            finite = values[finite_mask]
            pos_inf = int(np.isposinf(values).sum()) if finite.size + missing < n else 0
            neg_inf = n - missing - finite.size - pos_inf
            self.missing += missing
            assert self.moments is not None and self.quantiles is not None
            assert self.distinct_sketch is not None
            self.moments = self.moments.merge(
                Moments.from_finite(finite, missing, pos_inf, neg_inf)
            )
            self.quantiles.update_finite(finite)
            self.distinct_sketch.update(finite)
            if self.counts is not None:
                if self.family == "temporal" or self.type.startswith(("int", "uint")):
                    self._count_integers(array, cap)
                else:
                    self._count_numbers(finite + 0.0, cap)  # -0.0 counts as 0.0
            return
        self.missing += array.null_count
        if self.family == "null":
            return
        self._count_values(array, cap)

    def _count_integers(self, array: pa.Array, cap: int) -> None:
        """Exact counts of integers (and of date/time ticks), without a detour through floats."""
        import pyarrow as pa
        import pyarrow.compute as pc

        assert self.counts is not None
        t = array.type
        if self.family == "temporal":
            array = array.view(pa.int32() if t.bit_width == 32 else pa.int64())
        array = array.drop_null()
        if len(array) == 0:
            return
        probe = array.slice(0, 4 * (cap + 1))
        if len(probe) > cap and pc.count_distinct(probe).as_py() > cap:
            self.counts = None
            return
        pairs = pc.value_counts(array)
        if len(pairs) > cap:
            self.counts = None
            return
        values = pairs.field("values").to_pylist()
        for value, count in zip(values, pairs.field("counts").to_pylist(), strict=True):
            self.counts[value] = self.counts.get(value, 0) + count
        if len(self.counts) > cap:
            self.counts = None

    def _count_numbers(self, finite: np.ndarray[Any, Any], cap: int) -> None:
        import numpy as np

        assert self.counts is not None
        probe = finite[: 4 * (cap + 1)]
        if probe.size > cap and np.unique(probe).size > cap:
            self.counts = None  # more distinct values than the cap: the sketches take over
            return
        values, counts = np.unique(finite, return_counts=True)
        if values.size > cap:
            self.counts = None
            return
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            self.counts[value] = self.counts.get(value, 0) + count
        if len(self.counts) > cap:
            self.counts = None

    def _count_values(self, array: pa.Array, cap: int) -> None:
        import pyarrow.compute as pc

        if array.null_count == len(array):
            return
        pairs = pc.value_counts(array.drop_null())
        values = pairs.field("values").to_pylist()
        counts = pairs.field("counts").to_pylist()
        if self.counts is not None:
            for value, count in zip(values, counts, strict=True):
                self.counts[value] = self.counts.get(value, 0) + count
            if len(self.counts) <= cap or self.family == "boolean":
                return
            values, counts = list(self.counts), list(self.counts.values())
            self.counts = None
        self._sketch_values(values, counts)

    def _sketch_values(self, values: list[Any], counts: list[int]) -> None:
        import datasketches

        if self.frequent is None:
            self.frequent = datasketches.frequent_strings_sketch(FREQUENT_LG_K)
            self.text_distinct = datasketches.cpc_sketch(12)
        for value, count in zip(values, counts, strict=True):
            text = str(value)
            self.frequent.update(text, count)
            self.text_distinct.update(text)

    # -- merging -----------------------------------------------------------------------------
    def merge(self, other: ColumnProfile, cap: int) -> ColumnProfile:
        """The profile of both columns' values together (neither input changes)."""
        import datasketches

        if (other.name, other.family) != (self.name, self.family) or (
            self.family == "temporal" and other.type != self.type
        ):
            raise InvalidInputError(
                f"cannot merge profiles of column {self.name!r} ({self.type}) and "
                f"{other.name!r} ({other.type}); the columns differ"
            )
        out = ColumnProfile(
            self.name, self.type, self.family, self.rows + other.rows, self.missing + other.missing
        )
        if self.moments is not None and other.moments is not None:
            out.moments = self.moments.merge(other.moments)
        if self.quantiles is not None and other.quantiles is not None:
            out.quantiles = self.quantiles.merge(other.quantiles)
        if self.distinct_sketch is not None and other.distinct_sketch is not None:
            out.distinct_sketch = self.distinct_sketch.merge(other.distinct_sketch)
        if self.counts is not None and other.counts is not None:
            merged = dict(self.counts)
            for key, count in other.counts.items():
                merged[key] = merged.get(key, 0) + count
            if len(merged) <= cap or self.family == "boolean":
                out.counts = merged
                return out
        out.counts = None
        if self.family != "text":
            return out
        out.frequent = datasketches.frequent_strings_sketch(FREQUENT_LG_K)
        union = datasketches.cpc_union(12)
        for side in (self, other):
            if side.counts is not None:
                single = datasketches.cpc_sketch(12)
                for key, count in side.counts.items():
                    out.frequent.update(str(key), count)
                    single.update(str(key))
                union.update(single)
            else:
                out.frequent.merge(side.frequent)
                union.update(side.text_distinct)
        out.text_distinct = union.get_result()
        return out

    # -- serialisation -----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        def b64(data: bytes) -> str:
            return base64.b64encode(data).decode("ascii")

        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "family": self.family,
            "rows": self.rows,
            "missing": self.missing,
            "counts": None
            if self.counts is None
            else [[_json_key(k), c] for k, c in self.counts.items()],
        }
        if self.moments is not None:
            m = self.moments
            out["moments"] = [
                m.count,
                m.missing,
                m.pos_inf,
                m.neg_inf,
                _json_float(m.minimum),
                _json_float(m.maximum),
                m.mean,
                m.m2,
            ]
        if self.quantiles is not None:
            out["kll"] = b64(self.quantiles.to_bytes())
        if self.distinct_sketch is not None:
            out["hll"] = b64(self.distinct_sketch.to_bytes())
        if self.frequent is not None:
            out["frequent"] = b64(bytes(self.frequent.serialize()))
            out["cpc"] = b64(bytes(self.text_distinct.serialize()))
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], k: int) -> ColumnProfile:
        import datasketches

        counts = data.get("counts")
        column = cls(
            name=data["name"],
            type=data["type"],
            family=data["family"],
            rows=int(data["rows"]),
            missing=int(data["missing"]),
            counts=None if counts is None else {_from_json_key(k_): int(c) for k_, c in counts},
        )
        if "moments" in data:
            count, missing, pos_inf, neg_inf, lo, hi, mean, m2 = data["moments"]
            column.moments = Moments(
                count,
                missing,
                pos_inf,
                neg_inf,
                _from_json_float(lo),
                _from_json_float(hi),
                mean,
                m2,
            )
        if "kll" in data:
            column.quantiles = QuantileSketch.from_bytes(base64.b64decode(data["kll"]), k)
        if "hll" in data:
            column.distinct_sketch = DistinctSketch.from_bytes(base64.b64decode(data["hll"]))
        if "frequent" in data:
            column.frequent = datasketches.frequent_strings_sketch.deserialize(
                base64.b64decode(data["frequent"])
            )
            column.text_distinct = datasketches.cpc_sketch.deserialize(
                base64.b64decode(data["cpc"])
            )
        return column


def _order(value: Any) -> tuple[int, Any]:
    """A sort key that orders numbers as numbers and everything else as text."""
    if isinstance(value, int | float):
        return (0, value)
    if isinstance(value, bytes):
        return (1, value)
    return (2, str(value))


def _json_key(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode("ascii")}  # reversible, unlike text
    return value


def _from_json_key(value: Any) -> Any:
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"])
    return value


def _json_float(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)


def _from_json_float(value: float | str) -> float:
    return float(value)


@dataclass
class Profile:
    """Per-column statistics of a whole dataset, mergeable with profiles of more data."""

    columns: dict[str, ColumnProfile]
    rows: int = 0
    k: int = DEFAULT_K
    p: int = DEFAULT_P
    cap: int = DEFAULT_CAP
    source: str = ""  # what was profiled, for people

    @property
    def spec(self) -> str:
        """The settings that make two profiles comparable and mergeable."""
        return _spec(self.k, self.p, self.cap)

    def __getitem__(self, name: str) -> ColumnProfile:
        try:
            return self.columns[name]
        except KeyError:
            raise InvalidInputError(
                f"the profile has no column {name!r}; columns: {', '.join(self.columns)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def merge(self, other: Profile) -> Profile:
        """The profile of both datasets together (same columns and settings)."""
        if not isinstance(other, Profile):
            raise InvalidInputError(f"can only merge a Profile with a Profile, not {other!r}")
        if other.spec != self.spec:
            raise InvalidInputError(
                f"cannot merge profiles made with different settings ({self.spec} vs "
                f"{other.spec}); profile both with the same k, p and cap"
            )
        if list(other.columns) != list(self.columns):
            missing = sorted(set(self.columns) ^ set(other.columns))
            raise InvalidInputError(
                "cannot merge profiles of different columns"
                + (f" (only on one side: {', '.join(missing)})" if missing else " (order)")
            )
        columns = {
            name: column.merge(other.columns[name], self.cap)
            for name, column in self.columns.items()
        }
        return replace(self, columns=columns, rows=self.rows + other.rows)

    def summary(self) -> list[dict[str, Any]]:
        return [c.summary() for c in self.columns.values()]

    def to_bytes(self) -> bytes:
        document = {
            "format": FORMAT,
            "spec": self.spec,
            "rows": self.rows,
            "k": self.k,
            "p": self.p,
            "cap": self.cap,
            "source": self.source,
            "columns": [c.to_json() for c in self.columns.values()],
        }
        return json.dumps(document, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Profile:
        try:
            document = json.loads(data)
            if not isinstance(document, dict):
                raise InvalidInputError("not a loopml profile: expected a JSON object")
            if document.get("format") != FORMAT:
                raise InvalidInputError(
                    f"this profile has format {document.get('format')!r}; this loopml reads "
                    f"format {FORMAT}: upgrade loopml, or profile the data again"
                )
            k = int(document["k"])
            columns = [ColumnProfile.from_json(c, k) for c in document["columns"]]
        except InvalidInputError:
            raise
        except (ValueError, KeyError, TypeError, RuntimeError) as exc:
            raise InvalidInputError(f"not a loopml profile: {exc}") from exc
        return cls(
            {c.name: c for c in columns},
            rows=int(document["rows"]),
            k=k,
            p=int(document["p"]),
            cap=int(document["cap"]),
            source=str(document.get("source", "")),
        )

    def __repr__(self) -> str:
        return f"Profile({self.source or 'data'!s}: {self.rows} rows, {len(self.columns)} columns)"


class ProfileBuilder:
    """Accumulates batches of one schema into a :class:`Profile`."""

    def __init__(
        self,
        schema: pa.Schema,
        *,
        k: int = DEFAULT_K,
        p: int = DEFAULT_P,
        cap: int = DEFAULT_CAP,
        source: str = "",
    ) -> None:
        self.k, self.p, self.cap, self.source = k, p, cap, source
        self.rows = 0
        self.columns: dict[str, ColumnProfile] = {}
        for field_ in schema:
            family = _family(field_.type)
            column = ColumnProfile(field_.name, str(field_.type), family)
            if family in ("number", "temporal"):
                column.moments = Moments()
                column.quantiles = QuantileSketch(k)
                column.distinct_sketch = DistinctSketch(p)
            self.columns[field_.name] = column

    def update(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        for column, array in zip(self.columns.values(), batch.columns, strict=True):
            column.update(array, self.cap)

    def result(self) -> Profile:
        return Profile(
            self.columns, rows=self.rows, k=self.k, p=self.p, cap=self.cap, source=self.source
        )


def _profile_source(source: Any, k: int, p: int, cap: int, label: str) -> Profile:
    builder = ProfileBuilder(source.schema, k=k, p=p, cap=cap, source=label)
    for batch in source.batches():
        builder.update(batch)
    return builder.result()


def _label(data: Any, description: Mapping[str, object]) -> str:
    if isinstance(data, str):
        return data
    kind = description.get("kind", "data")
    path = description.get("path") or description.get("from")
    return f"{kind} {path}" if path else str(kind)


def profile(
    data: Any,
    *,
    columns: Iterable[str] | None = None,
    executor: str = "local",
    k: int = DEFAULT_K,
    p: int = DEFAULT_P,
    cap: int = DEFAULT_CAP,
    url: str | None = None,
) -> Profile:
    """The profile of ``data``: anything loopml reads, or a dataset version.

    ``columns`` limits it to some columns. ``executor="ray"`` profiles each file (or each
    slice of in-memory data) in a Ray task and merges the results; it starts a local Ray
    instance unless one is running or ``RAY_ADDRESS`` names a cluster. ``k`` sets the KLL
    sketch size (rank error about 0.35 % at 800), ``p`` the distinct-count precision
    (0.8 % at 14) and ``cap`` how many distinct values are counted exactly.
    """
    from loopml.data._inputs import open_data

    if executor not in ("local", "ray"):
        raise InvalidInputError(f"executor must be 'local' or 'ray', not {executor!r}")
    if hasattr(data, "profile") and callable(data.profile) and hasattr(data, "to_arrow"):
        if (
            columns is None
            and executor == "local"
            and (k, p, cap)
            == (
                DEFAULT_K,
                DEFAULT_P,
                DEFAULT_CAP,
            )
        ):
            result: Profile = data.profile()
            return result
        data = data.to_arrow()
    source = open_data(data, url=url)
    if columns is not None:
        source = _select(source, list(columns))
    label = _label(data, source.description)
    if executor == "ray":
        from loopml.data._ray import profile_on_ray

        merged: Profile = profile_on_ray(source, k=k, p=p, cap=cap, label=label)
        return merged
    return _profile_source(source, k, p, cap, label)


def _select(source: Any, names: list[str]) -> Any:
    from loopml.data._inputs import Source

    unknown = [n for n in names if n not in source.schema.names]
    if unknown:
        raise InvalidInputError(
            f"no column(s) {', '.join(map(repr, unknown))} in the data; columns: "
            f"{', '.join(source.schema.names)}"
        )
    schema = source.schema
    indices = [schema.get_field_index(n) for n in names]

    def batches() -> Any:
        for batch in source.batches():
            yield batch.select(indices)

    import pyarrow as pa

    sub = pa.schema([schema.field(i) for i in indices])
    return Source(
        sub,
        source.description,
        batches,
        num_rows=source.num_rows,
        parts=[_select(part, names) for part in source.parts],
    )


__all__ = ["ColumnProfile", "Profile", "ProfileBuilder", "profile"]
