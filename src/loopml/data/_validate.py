"""Validate data against a :class:`~loopml.data._schema.Schema`: a result object of anomalies.

::

    result = validate(frame, Schema.load("transactions.schema.yaml"))
    result.ok                  # False when any anomaly has severity "error"
    result.anomalies           # [Anomaly(kind="out_of_range", column="amount", count=12, ...)]
    result.raise_for_errors()  # InvalidInputError summarising the errors, if any

Each :class:`Anomaly` has a kind, the column (None for whole-row checks), how many values
(rows) are affected (1 for a missing, extra or wrongly typed column), a severity, a message
and at most :data:`MAX_EXAMPLES` example rows (``{"row": index, "value": offending value}``,
rows counted from 0 over the whole data). Default severities:

- error: missing_column, wrong_type, not_nullable, duplicate_id, duplicate_value (a ``unique``
  column that is not an id), custom_check;
- warning: out_of_range, unseen_category, null_rate, extra_column, empty (no rows).

A column's ``severity:`` mapping in the YAML overrides them (``{out_of_range: error}``), and
each declarative check may say ``severity: warning``.

How it runs: one streaming pass over the data's batches, so data larger than memory works.

- Column presence and types come from the Arrow schema, once: a wrong type is one anomaly for
  the column and its other checks are skipped. A column whose values are all missing (Arrow
  type ``null``) matches any type; its null checks still apply.
- Per-value checks (min/max, categories, the YAML checks and Python checks) run through
  pandera's polars backend on each batch (``lazy=True``); its failure cases are folded into
  counts and a few examples per (column, check) batch by batch, never kept whole.
- What pandera cannot see across batches is our own pass: null counts (``nullable``,
  ``max_null_rate``; Arrow keeps null counts, so this is nearly free) and repeated values of
  ``unique`` columns over all batches (the column's values are held for that, one column only).

Python checks: ``validate(data, schema, checks={"name": fn})``. ``fn`` receives one batch as a
polars DataFrame (all columns) and returns a boolean polars Series (one per row) or a boolean
polars Expr, true for valid rows; null counts as valid. A check that fails is an error-severity
``custom_check`` anomaly whose examples hold the whole row. A function that raises stops the
validation with an :class:`~loopml.InvalidInputError` naming it. It sees one batch at a time, so
it cannot compare rows across batches.

pandera is imported only when some per-value check exists (its import takes about a second).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError
from loopml.data._schema import ColumnSchema, Schema, open_input

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    PythonCheck = Callable[[pl.DataFrame], pl.Series | pl.Expr]

MAX_EXAMPLES = 5
DEFAULT_SEVERITY = {
    "missing_column": "error",
    "wrong_type": "error",
    "not_nullable": "error",
    "duplicate_id": "error",
    "duplicate_value": "error",
    "custom_check": "error",
    "out_of_range": "warning",
    "unseen_category": "warning",
    "null_rate": "warning",
    "extra_column": "warning",
    "empty": "warning",
}


@dataclass
class Anomaly:
    """One way the data differs from its schema."""

    kind: str
    column: str | None
    count: int
    severity: str  # "error" or "warning"
    message: str
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "count": self.count,
            "severity": self.severity,
            "message": self.message,
            "examples": [{k: _jsonable(v) for k, v in e.items()} for e in self.examples],
        }


@dataclass
class ValidationResult:
    """The anomalies found; ``ok`` when none of them is an error."""

    anomalies: list[Anomaly]
    rows: int
    columns: int
    schema_name: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def errors(self) -> list[Anomaly]:
        return [a for a in self.anomalies if a.severity == "error"]

    @property
    def warnings(self) -> list[Anomaly]:
        return [a for a in self.anomalies if a.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (dates and times as ISO text)."""
        return {
            "schema": self.schema_name,
            "ok": self.ok,
            "rows": self.rows,
            "columns": self.columns,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "anomalies": [a.to_dict() for a in self.anomalies],
        }

    def raise_for_errors(self) -> ValidationResult:
        """Raise :class:`~loopml.InvalidInputError` if any anomaly is an error; else self."""
        errors = self.errors
        if not errors:
            return self
        shown = "; ".join(
            f"{a.kind}{f' ({a.column})' if a.column else ''}: {a.message}" for a in errors[:5]
        )
        more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
        raise InvalidInputError(
            f"the data does not match {self._what()}: {_plural(len(errors), 'error')}: "
            f"{shown}{more}. Fix the data, or edit the schema if it is too strict"
        )

    def _what(self) -> str:
        return f"schema {self.schema_name!r}" if self.schema_name else "the schema"

    def _summary(self) -> str:
        verdict = (
            "no anomalies"
            if not self.anomalies
            else f"{_plural(len(self.errors), 'error')}, {_plural(len(self.warnings), 'warning')}"
        )
        return (
            f"{self.rows:,} rows, {_plural(self.columns, 'column')} validated against "
            f"{self._what()}: {verdict}"
        )

    def __rich__(self) -> Any:
        from rich.markup import escape
        from rich.table import Table
        from rich.text import Text

        if not self.anomalies:
            return Text(self._summary(), style="green")
        table = Table(title=escape(self._summary()), header_style="bold", title_justify="left")
        table.add_column("severity", no_wrap=True)
        table.add_column("kind", no_wrap=True)
        table.add_column("column", style="cyan")
        table.add_column("count", justify="right", no_wrap=True)
        table.add_column("details")
        for a in self.anomalies:
            colour = "red" if a.severity == "error" else "yellow"
            examples = ", ".join(
                f"row {e['row']}: {_show(e.get('value'))}" if "row" in e else _show(e)
                for e in a.examples
            )
            details = escape(a.message) + (f"\n[dim]{escape(examples)}[/]" if examples else "")
            table.add_row(
                f"[{colour}]{a.severity}[/]",
                a.kind,
                escape(a.column or ""),
                f"{a.count:,}",
                details,
            )
        return table

    def __repr__(self) -> str:
        return (
            f"ValidationResult(ok={self.ok}, errors={len(self.errors)}, "
            f"warnings={len(self.warnings)}, rows={self.rows}, columns={self.columns})"
        )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf", "-inf": strict JSON has no infinities
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _show(value: Any, limit: int = 40) -> str:
    if value is None:
        return "null"
    text = repr(value) if isinstance(value, str) else str(_jsonable(value))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _severity(column: ColumnSchema | None, kind: str) -> str:
    if column is not None and kind in column.severity:
        return column.severity[kind]
    return DEFAULT_SEVERITY[kind]


@dataclass
class _Tally:
    """Counts and the first examples of one check over all batches."""

    kind: str
    column: str | None
    severity: str
    label: str  # what the check is, for the message
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


def validate(
    data: Any,
    schema: Schema | str | os.PathLike[str],
    *,
    checks: Mapping[str, PythonCheck] | None = None,
) -> ValidationResult:
    """Check ``data`` (anything loopml reads, or a dataset version) against ``schema``.

    ``schema`` is a :class:`Schema` or the path of its YAML file. ``checks`` adds Python checks
    (see the module docstring). Returns a :class:`ValidationResult`; it never raises for bad
    data, only for bad arguments (call ``raise_for_errors()`` to turn errors into an
    exception).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not isinstance(schema, Schema):
        if isinstance(schema, str | os.PathLike):
            schema = Schema.load(schema)
        else:
            raise InvalidInputError(
                f"schema must be a Schema or the path of a schema YAML, not "
                f"{type(schema).__name__}; make one with infer_schema(data)"
            )
    python_checks = _python_checks(checks)
    source, _, _ = open_input(data)
    fields = {f.name: f for f in source.schema}
    anomalies: list[Anomaly] = []
    usable: list[ColumnSchema] = []
    for column in schema.columns:
        found = fields.get(column.name)
        if found is None:
            anomalies.append(
                Anomaly(
                    "missing_column",
                    column.name,
                    1,
                    _severity(column, "missing_column"),
                    "the column is missing; add it to the data, or delete it from the schema",
                )
            )
        elif str(found.type) != column.type and not pa.types.is_null(found.type):
            anomalies.append(
                Anomaly(
                    "wrong_type",
                    column.name,
                    1,
                    _severity(column, "wrong_type"),
                    f"the column is {found.type}, the schema says {column.type}; cast it to "
                    f"{column.type}, or change its type in the schema (its other checks were "
                    "skipped)",
                )
            )
        else:
            usable.append(column)
    if not schema.allow_extra_columns:
        expected = set(schema.names)
        for name in source.schema.names:
            if name not in expected:
                anomalies.append(
                    Anomaly(
                        "extra_column",
                        name,
                        1,
                        DEFAULT_SEVERITY["extra_column"],
                        "the column is not in the schema; add it there, or set "
                        "allow_extra_columns: true",
                    )
                )

    typed = [c for c in usable if not pa.types.is_null(fields[c.name].type)]
    plan = _PanderaPlan(typed, python_checks) if _needs_pandera(typed, python_checks) else None
    nulls = {c.name: 0 for c in usable}
    null_rows: dict[str, list[dict[str, Any]]] = {c.name: [] for c in usable}
    unique_columns = [c for c in typed if c.is_unique]
    unique_parts: dict[str, list[pa.Array]] = {c.name: [] for c in unique_columns}
    rows = 0
    for batch in source.batches():
        for column in usable:
            array = batch.column(column.name)
            if array.null_count:
                nulls[column.name] += array.null_count
                seen = null_rows[column.name]
                if len(seen) < MAX_EXAMPLES:
                    where = pc.indices_nonzero(pc.is_null(array))[: MAX_EXAMPLES - len(seen)]
                    seen.extend({"row": rows + i, "value": None} for i in where.to_pylist())
        for column in unique_columns:
            unique_parts[column.name].append(batch.column(column.name))
        if plan is not None and batch.num_rows:
            plan.run(batch, rows)
        rows += batch.num_rows

    for column in usable:
        anomalies.extend(_null_anomalies(column, nulls[column.name], null_rows[column.name], rows))
        if column in unique_columns:
            anomalies.extend(
                _duplicates(column, unique_parts.pop(column.name), fields[column.name].type)
            )
    if plan is not None:
        anomalies.extend(plan.anomalies())
    if rows == 0:
        anomalies.append(
            Anomaly("empty", None, 0, DEFAULT_SEVERITY["empty"], "the data has no rows")
        )
    names = dict.fromkeys([*schema.names, *source.schema.names])  # schema order first
    order = {name: i for i, name in enumerate(names)}
    anomalies.sort(  # errors first, then by column (schema order, extra columns, whole rows)
        key=lambda a: (
            a.severity != "error",
            order.get(a.column, len(order)) if a.column else len(order),
        )
    )
    return ValidationResult(anomalies, rows, len(fields), schema.name)


def _python_checks(checks: Mapping[str, PythonCheck] | None) -> dict[str, PythonCheck]:
    if checks is None:
        return {}
    if not isinstance(checks, Mapping):
        raise InvalidInputError(
            "checks must map a check name to a function, e.g. "
            'checks={"positive": lambda df: df["amount"] > 0}'
        )
    for name, fn in checks.items():
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"check name {name!r} must be non-empty text")
        if not callable(fn):
            raise InvalidInputError(
                f"check {name!r} is a {type(fn).__name__}, not a function; pass a function "
                "that takes a polars DataFrame and returns a boolean Series or Expr"
            )
    return dict(checks)


def _null_anomalies(
    column: ColumnSchema, nulls: int, examples: list[dict[str, Any]], rows: int
) -> list[Anomaly]:
    if not nulls:
        return []
    if not column.nullable:
        return [
            Anomaly(
                "not_nullable",
                column.name,
                nulls,
                _severity(column, "not_nullable"),
                f"{_plural(nulls, 'value')} missing, and the schema says the column is never "
                "missing; fill them, or set nullable: true",
                examples,
            )
        ]
    limit = column.max_null_rate
    if limit is not None and rows and nulls / rows > limit:
        return [
            Anomaly(
                "null_rate",
                column.name,
                nulls,
                _severity(column, "null_rate"),
                f"null rate {nulls / rows:.3g} ({nulls:,} of {rows:,} rows) is above "
                f"max_null_rate {limit}; find where they come from, or raise max_null_rate",
                examples,
            )
        ]
    return []


def _duplicates(column: ColumnSchema, parts: list[Any], arrow_type: pa.DataType) -> list[Anomaly]:
    import polars as pl
    import pyarrow as pa

    if not parts:
        return []
    values = pl.Series(pa.chunked_array(parts, type=arrow_type))
    if values.drop_nulls().n_unique() == len(values) - values.null_count():
        return []  # the fast path: n_unique is about 10x is_duplicated
    repeated = values.is_duplicated() & values.is_not_null()
    count = int(repeated.sum())
    if not count:
        return []
    kind = "duplicate_id" if column.role == "id" else "duplicate_value"
    rows = repeated.arg_true().head(MAX_EXAMPLES).to_list()
    distinct = values.filter(repeated).n_unique()
    return [
        Anomaly(
            kind,
            column.name,
            count,
            _severity(column, kind),
            f"{_plural(count, 'row')} share {_plural(distinct, 'value')}; "
            f"{'ids' if kind == 'duplicate_id' else 'values'} must be unique",
            [{"row": r, "value": values[r]} for r in rows],
        )
    ]


def _needs_pandera(columns: list[ColumnSchema], python_checks: Mapping[str, Any]) -> bool:
    return bool(python_checks) or any(
        c.min is not None
        or c.max is not None
        or c.categories is not None
        or any(k["check"] != "unique" for k in c.checks)
        for c in columns
    )


class _PanderaPlan:
    """Our checks as one pandera polars schema; failure cases folded into tallies per batch."""

    def __init__(self, columns: list[ColumnSchema], python_checks: Mapping[str, Any]) -> None:
        import pandera.polars as pa

        self.tallies: dict[tuple[str | None, int], _Tally] = {}
        self.failures: dict[str, BaseException] = {}
        pandera_columns = {}
        for column in columns:
            column_checks: list[Any] = []
            for kind, label, severity, check in _column_checks(column, pa):
                self.tallies[(column.name, len(column_checks))] = _Tally(
                    kind, column.name, severity, label
                )
                column_checks.append(check)
            if column_checks:
                pandera_columns[column.name] = pa.Column(
                    None, checks=column_checks, nullable=True, coerce=False
                )
        frame_checks: list[Any] = []
        for name, fn in python_checks.items():
            self.tallies[(None, len(frame_checks))] = _Tally(
                "custom_check", None, DEFAULT_SEVERITY["custom_check"], name
            )
            frame_checks.append(pa.Check(self._wrap(name, fn), name=name))
        self.names = list(pandera_columns)
        self.whole_rows = bool(frame_checks)
        self.schema = pa.DataFrameSchema(
            pandera_columns, checks=frame_checks, strict=False, coerce=False
        )

    def _wrap(self, name: str, fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        import polars as pl

        def check(data: Any) -> Any:
            try:
                frame = data.lazyframe.collect()
                out = fn(frame)
                if isinstance(out, pl.Expr):
                    out = frame.select(out).to_series()
                if not isinstance(out, pl.Series):
                    raise TypeError(
                        f"it returned a {type(out).__name__}; return a boolean polars Series "
                        "or Expr"
                    )
                if out.dtype != pl.Boolean or len(out) != frame.height:
                    raise TypeError(
                        f"it returned {len(out)} values of type {out.dtype} for "
                        f"{frame.height} rows; return one boolean per row"
                    )
            except Exception as exc:
                self.failures.setdefault(name, exc)
                raise
            return pl.LazyFrame({"valid": out})

        return check

    def run(self, batch: pa.RecordBatch, offset: int) -> None:
        import polars as pl
        from pandera.errors import SchemaErrors

        frame = pl.from_arrow(batch if self.whole_rows else batch.select(self.names))
        assert isinstance(frame, pl.DataFrame)
        try:
            self.schema.validate(frame, lazy=True)
        except SchemaErrors as exc:
            cases = exc.failure_cases
        else:
            return
        if self.failures:
            name, error = next(iter(self.failures.items()))
            raise InvalidInputError(
                f"check {name!r} failed to run on the data: {type(error).__name__}: {error}; "
                "it must take a polars DataFrame and return a boolean Series or Expr"
            ) from error
        broken = cases.filter(pl.col("index").is_null())
        if broken.height:
            row = broken.row(0, named=True)
            raise InvalidInputError(
                f"check {row['check']} on column {row['column']!r} could not run: "
                f"{row['failure_case']}; fix the check in the schema"
            )
        grouped = cases.group_by("column", "check_number").agg(
            pl.len().alias("count"), pl.col("index").head(MAX_EXAMPLES).alias("rows")
        )
        for column, number, count, rows in grouped.iter_rows():
            tally = self.tallies.get((column, number))
            if tally is None:  # pandera reported something we did not ask for
                raise InvalidInputError(
                    f"unexpected validation failure on column {column!r}: "
                    f"{cases.filter(pl.col('column') == column).row(0, named=True)}"
                )
            tally.count += count
            for row in sorted(rows)[: MAX_EXAMPLES - len(tally.examples)]:
                if column is None:
                    value: Any = batch.slice(row, 1).to_pylist()[0]
                else:
                    value = batch.column(column)[row].as_py()
                tally.examples.append({"row": offset + row, "value": value})

    def anomalies(self) -> list[Anomaly]:
        out = []
        for tally in self.tallies.values():
            if not tally.count:
                continue
            what = "value" if tally.column is not None else "row"
            if tally.kind == "out_of_range":
                message = (
                    f"{_plural(tally.count, what)} outside the range {tally.label}; fix the "
                    "data, or widen min/max in the schema"
                )
            elif tally.kind == "unseen_category":
                message = (
                    f"{_plural(tally.count, what)} not among the categories {tally.label}; add "
                    "the new ones to categories in the schema if they are valid"
                )
            else:
                message = f"{_plural(tally.count, what)} fail check {tally.label}"
            out.append(
                Anomaly(
                    tally.kind,
                    tally.column,
                    tally.count,
                    tally.severity,
                    message,
                    tally.examples,
                )
            )
        return out


def _column_checks(column: ColumnSchema, pa: Any) -> list[tuple[str, str, str, Any]]:
    """(kind, label, severity, pandera check) for each per-value rule of ``column``."""
    out = []
    kind = column.kind

    def value(v: Any) -> Any:
        if kind == "timestamp":
            return datetime.fromisoformat(v)
        if kind == "date":
            return date.fromisoformat(v)
        return v

    low, high = column.min, column.max
    if low is not None or high is not None:
        label = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        if low is not None and high is not None:
            check = pa.Check.in_range(value(low), value(high))
        elif low is not None:
            check = pa.Check.ge(value(low))
        else:
            check = pa.Check.le(value(high))
        out.append(("out_of_range", label, _severity(column, "out_of_range"), check))
    if column.categories is not None:
        shown = ", ".join(map(str, column.categories[:10]))
        more = ", ..." if len(column.categories) > 10 else ""
        out.append(
            (
                "unseen_category",
                f"[{shown}{more}]",
                _severity(column, "unseen_category"),
                pa.Check.isin(column.categories),
            )
        )
    builders = {
        "ge": lambda v: pa.Check.ge(value(v)),
        "gt": lambda v: pa.Check.gt(value(v)),
        "le": lambda v: pa.Check.le(value(v)),
        "lt": lambda v: pa.Check.lt(value(v)),
        "between": lambda v: pa.Check.in_range(value(v[0]), value(v[1])),
        "isin": lambda v: pa.Check.isin(v),
        "notin": lambda v: pa.Check.notin(v),
        "str_matches": lambda v: pa.Check.str_matches(v),
        "str_length": lambda v: pa.Check.str_length(v[0], v[1]),
    }
    for spec in column.checks:
        if spec["check"] == "unique":
            continue  # across all batches, in our own pass
        label = spec["check"] + (f" {spec['value']!r}" if "value" in spec else "")
        severity = spec.get("severity") or _severity(column, "custom_check")
        out.append(("custom_check", label, severity, builders[spec["check"]](spec.get("value"))))
    return out


__all__ = ["Anomaly", "ValidationResult", "validate"]
