"""A dataset's schema: what its columns must look like, inferred from data and kept as YAML.

::

    schema = infer_schema(frame, roles={"id": "id", "is_fraud": "target"}, name="transactions")
    schema.save("transactions.schema.yaml")       # people review and edit this file
    schema = Schema.load("transactions.schema.yaml")

The YAML format is loopml's own (``version: 1`` is the format version, not the schema's): a
mapping of column name to its rules. Loading a YAML never runs code: custom checks in it are
declarative (``{check: between, value: [0, 100]}``); Python checks are passed to
:func:`loopml.data._validate.validate` instead. Every problem in a hand-edited file is reported
with its line, column and key.

Inference rules (:func:`infer_schema`, one streaming pass over the data, so it works on data
larger than memory):

- ``type``: the column's canonical Arrow type (``int64``, ``double``, ``bool``,
  ``large_string``, ``timestamp[us, tz=UTC]``, ...).
- ``role``: from ``roles=`` (or the dataset version's roles), else ``feature``.
- ``nullable``: true when a missing value was seen (and for empty data, which shows nothing).
  ``max_null_rate``: the observed null rate plus 0.05 of headroom, rounded *up* to two decimals
  and capped at 1 (2% missing gives 0.07); no limit when the column had no missing values.
- ``min`` / ``max``: the observed range of numeric, date and timestamp columns, infinities
  included (so the data passes its own schema); dates and times are ISO text.
- ``categories``: the sorted distinct values of string, bool and integer columns with at most
  ``max_categories`` of them; a column with more gets no list (distinct values are tracked only
  up to ``max_categories + 1`` per column, then dropped). An integer column with categories
  gets no min/max: the categories bound it already, and a new value is one anomaly, not two.
- ``unique``: true for an ``id`` column whose values were all distinct.
- Columns with role ``id`` or ``timestamp`` get no range or categories (new ids and event times
  are expected to move past what was seen); ``ignored`` columns are checked only for presence
  and type.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loopml._errors import InvalidInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from loopml.data._inputs import Source

FORMAT_VERSION = 1
NULL_RATE_HEADROOM = 0.05
ROLES = ("feature", "target", "prediction", "id", "timestamp", "ignored")
SEVERITIES = ("error", "warning")
CHECK_NAMES = (
    "ge",
    "gt",
    "le",
    "lt",
    "between",
    "isin",
    "notin",
    "str_matches",
    "str_length",
    "unique",
)
# Anomaly kinds whose severity a column may override (``severity: {out_of_range: error}``).
COLUMN_KINDS = (
    "missing_column",
    "wrong_type",
    "not_nullable",
    "null_rate",
    "out_of_range",
    "unseen_category",
    "duplicate_id",
    "duplicate_value",
    "custom_check",
)

_HEADER = """\
# loopml data schema (file format version 1). Review it, edit it, keep it with your code.
# Validate data against it with loopml.validate(data, "this-file.yaml") or the CLI.
#
# Each column (delete a key to drop its check):
#   type            Arrow type: int64, double, bool, large_string, timestamp[us, tz=UTC], ...
#   role            feature, target, prediction, id, timestamp or ignored
#   nullable        false: any missing value is an error
#   max_null_rate   a warning when the share of missing values is above it (0 to 1)
#   min, max        a warning for values outside [min, max] (ISO text for dates and times)
#   categories      a warning for values not in this list
#   unique          an error for repeated values
#   checks          more rules, each {check: NAME, value: ...}: ge, gt, le, lt, between [lo, hi],
#                   isin [...], notin [...], str_matches REGEX (from the start of the value),
#                   str_length [min, max], unique. An error unless it says severity: warning.
#   severity        per-kind override, e.g. {out_of_range: error, null_rate: error}
# allow_extra_columns: true accepts columns that are not listed here.
"""

_COLUMN_KEYS = (
    "type",
    "role",
    "nullable",
    "max_null_rate",
    "min",
    "max",
    "categories",
    "unique",
    "checks",
    "severity",
)
_SCHEMA_KEYS = ("version", "name", "allow_extra_columns", "columns")

_INT_TYPES = {f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)}
_SIMPLE_TYPES = _INT_TYPES | {
    "null",
    "bool",
    "float",
    "double",
    "large_string",
    "large_binary",
    "date32[day]",
    "date64[ms]",
}
_TYPE_ALIASES = {
    "boolean": "bool",
    "float32": "float",
    "float64": "double",
    "halffloat": "float",
    "string": "large_string",
    "str": "large_string",
    "utf8": "large_string",
    "large_utf8": "large_string",
    "binary": "large_binary",
    "date": "date32[day]",
    "date32": "date32[day]",
    "date64": "date64[ms]",
    "timestamp": "timestamp[us]",
}
_TYPE_PATTERNS = (
    re.compile(r"timestamp\[(s|ms|us|ns)(, tz=UTC)?\]"),
    re.compile(r"duration\[(s|ms|us|ns)\]"),
    re.compile(r"time32\[(s|ms)\]"),
    re.compile(r"time64\[(us|ns)\]"),
    re.compile(r"decimal(128|256)\(\d+, \d+\)"),
)


class _Problem(InvalidInputError):
    """A problem at one place of a schema: ``path`` inside the column (or the document)."""

    def __init__(
        self, path: tuple[str | int, ...], detail: str, *, at_key: bool = False, prefix: str = ""
    ) -> None:
        super().__init__(prefix + detail)
        self.path = path
        self.detail = detail
        self.at_key = at_key
        self.mark: Any = None  # where in the YAML, when the path alone cannot say


def _type_kind(type_name: str) -> str:
    """int, float, bool, string, timestamp, date or other."""
    if type_name in _INT_TYPES:
        return "int"
    if type_name in ("float", "double"):
        return "float"
    if type_name in ("bool", "large_string"):
        return {"bool": "bool", "large_string": "string"}[type_name]
    if type_name.startswith("timestamp["):
        return "timestamp"
    if type_name.startswith("date"):
        return "date"
    return "other"


def normalise_type(name: object) -> str:
    """The canonical Arrow type string for a type name from a schema (aliases accepted)."""
    if not isinstance(name, str) or not name.strip():
        raise _Problem(("type",), f"type must be an Arrow type name, not {name!r}")
    text = " ".join(name.strip().split()).lower().replace("tz=utc", "tz=UTC")
    text = _TYPE_ALIASES.get(text, text)
    if text in _SIMPLE_TYPES or any(p.fullmatch(text) for p in _TYPE_PATTERNS):
        return text
    if text.startswith("timestamp[") and "tz=" in text:
        raise _Problem(
            ("type",),
            f"type {name!r}: loopml keeps times with a time zone in UTC; write "
            "timestamp[us, tz=UTC]",
        )
    raise _Problem(
        ("type",),
        f"unknown type {name!r}; use an Arrow type such as int64, double, bool, large_string, "
        "date32[day], timestamp[us] or timestamp[us, tz=UTC]",
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coerce(kind: str, type_name: str, value: object, path: tuple[str | int, ...]) -> Any:
    """A min/max/category/check value for a column of ``kind``, in its stored form.

    Numbers stay numbers, dates and times become ISO text (so the YAML reads well and
    round-trips), strings and bools must be strings and bools.
    """
    if value is None:
        raise _Problem(path, "null is not allowed here (nullable: governs missing values)")
    if kind in ("int", "float"):
        if not _is_number(value):
            raise _Problem(path, f"{value!r} is not a number, and the column is {type_name}")
        return value
    if kind == "timestamp":
        aware = "tz=" in type_name
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                raise _Problem(
                    path, f"{value!r} is not an ISO date-time such as 2024-01-31T12:00:00"
                ) from None
        else:
            raise _Problem(path, f"{value!r} is not a date-time, and the column is {type_name}")
        if aware and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        elif aware:
            moment = moment.astimezone(UTC)
        elif moment.tzinfo is not None:
            raise _Problem(
                path,
                f"{value!r} has a time zone but the column ({type_name}) has none; drop the offset",
            )
        return moment.isoformat()
    if kind == "date":
        if isinstance(value, datetime):
            raise _Problem(path, f"{value!r} is a date-time; the column holds dates")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip()).isoformat()
            except ValueError:
                raise _Problem(path, f"{value!r} is not an ISO date such as 2024-01-31") from None
        raise _Problem(path, f"{value!r} is not a date, and the column is {type_name}")
    if kind == "string":
        if not isinstance(value, str):
            raise _Problem(path, f"{value!r} is not text; quote it")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _Problem(path, f"{value!r} is not true or false")
        return value
    raise _Problem(path, f"values cannot be given for a {type_name} column")


def _comparable(kind: str, value: Any) -> Any:
    """A stored value as something that orders correctly (ISO text -> datetime/date)."""
    if kind == "timestamp":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    return value


_RANGE_KINDS = ("int", "float", "timestamp", "date")
_CATEGORY_KINDS = ("string", "int", "bool")
_SET_KINDS = ("string", "int", "float", "bool")


@dataclass
class ColumnSchema:
    """The rules for one column. See the module docstring for what each field means."""

    name: str
    type: str
    role: str = "feature"
    nullable: bool = True
    max_null_rate: float | None = None
    min: float | int | str | None = None
    max: float | int | str | None = None
    categories: list[str | int | bool] | None = None
    unique: bool = False
    checks: list[dict[str, Any]] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self._normalise()
        except _Problem as exc:
            key = " > ".join(str(p) for p in exc.path)
            prefix = f"column {self.name!r}" + (f", {key}" if key else "") + ": "
            raise _Problem(exc.path, exc.detail, at_key=exc.at_key, prefix=prefix) from None

    def _normalise(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise _Problem((), f"a column name must be non-empty text, not {self.name!r}")
        self.type = normalise_type(self.type)
        kind = _type_kind(self.type)
        if self.role not in ROLES:
            raise _Problem(
                ("role",), f"role {self.role!r} is not a role; use one of {', '.join(ROLES)}"
            )
        for key in ("nullable", "unique"):
            if not isinstance(getattr(self, key), bool):
                raise _Problem((key,), f"{key} must be true or false")
        rate = self.max_null_rate
        if rate is not None and (not _is_number(rate) or not 0 <= rate <= 1):
            raise _Problem(("max_null_rate",), f"max_null_rate must be between 0 and 1, not {rate}")
        for key in ("min", "max"):
            value = getattr(self, key)
            if value is not None:
                if kind not in _RANGE_KINDS:
                    raise _Problem(
                        (key,),
                        f"{key} applies to numbers, dates and times, not to a {self.type} "
                        "column; use categories or checks instead",
                    )
                setattr(self, key, _coerce(kind, self.type, value, (key,)))
        if (
            self.min is not None
            and self.max is not None
            and _comparable(kind, self.min) > _comparable(kind, self.max)
        ):
            raise _Problem(("min",), f"min {self.min} is above max {self.max}; make min <= max")
        if self.categories is not None:
            if kind not in _CATEGORY_KINDS:
                raise _Problem(
                    ("categories",),
                    f"categories apply to text, integer and bool columns, not {self.type}; use "
                    "min/max or an isin check",
                )
            if not isinstance(self.categories, list):
                raise _Problem(("categories",), "categories must be a list of values")
            self.categories = [
                _coerce(kind, self.type, v, ("categories", i))
                for i, v in enumerate(self.categories)
            ]
        if not isinstance(self.checks, list):
            raise _Problem(("checks",), "checks must be a list of {check: NAME, value: ...}")
        self.checks = [self._check(i, c, kind) for i, c in enumerate(self.checks)]
        if not isinstance(self.severity, dict):
            raise _Problem(("severity",), "severity must map anomaly kinds to error or warning")
        for key, level in self.severity.items():
            if key not in COLUMN_KINDS:
                raise _Problem(
                    ("severity", key),
                    f"{key!r} is not an anomaly kind; use one of {', '.join(COLUMN_KINDS)}",
                    at_key=True,
                )
            if level not in SEVERITIES:
                raise _Problem(
                    ("severity", key), f"severity must be error or warning, not {level!r}"
                )

    def _check(self, i: int, spec: object, kind: str) -> dict[str, Any]:
        where: tuple[str | int, ...] = ("checks", i)
        if not isinstance(spec, dict) or "check" not in spec:
            raise _Problem(where, "each check is a mapping {check: NAME, value: ...}")
        unknown = [k for k in spec if k not in ("check", "value", "severity")]
        if unknown:
            raise _Problem(
                (*where, unknown[0]),
                f"unknown key {unknown[0]!r} in a check; a check has check, value and severity",
                at_key=True,
            )
        name = spec["check"]
        if name not in CHECK_NAMES:
            raise _Problem(
                (*where, "check"),
                f"unknown check {name!r}; use one of {', '.join(CHECK_NAMES)}",
            )
        out: dict[str, Any] = {"check": name}
        value = spec.get("value")
        at = (*where, "value")
        if name in ("ge", "gt", "le", "lt"):
            if kind not in _RANGE_KINDS:
                raise _Problem(at, f"{name} compares numbers, dates or times, not {self.type}")
            out["value"] = _coerce(kind, self.type, value, at)
        elif name == "between":
            if kind not in _RANGE_KINDS:
                raise _Problem(at, f"between compares numbers, dates or times, not {self.type}")
            if not isinstance(value, list) or len(value) != 2:
                raise _Problem(at, "between needs value: [lowest, highest]")
            low, high = (_coerce(kind, self.type, v, (*at, j)) for j, v in enumerate(value))
            if _comparable(kind, low) > _comparable(kind, high):
                raise _Problem(at, f"between [{low}, {high}]: the lowest is above the highest")
            out["value"] = [low, high]
        elif name in ("isin", "notin"):
            if kind not in _SET_KINDS:
                raise _Problem(at, f"{name} applies to text, numbers and bools, not {self.type}")
            if not isinstance(value, list) or not value:
                raise _Problem(at, f"{name} needs value: a non-empty list of values")
            out["value"] = [_coerce(kind, self.type, v, (*at, j)) for j, v in enumerate(value)]
        elif name in ("str_matches", "str_length") and kind != "string":
            raise _Problem((*where, "check"), f"{name} applies to text, not to {self.type}")
        elif name == "str_matches":
            if not isinstance(value, str):
                raise _Problem(at, "str_matches needs value: a regular expression (quote it)")
            try:
                re.compile(value)
            except re.error as exc:
                raise _Problem(at, f"{value!r} is not a valid regular expression: {exc}") from None
            out["value"] = value
        elif name == "str_length":
            ok = isinstance(value, list) and len(value) == 2
            ok = ok and all(v is None or (isinstance(v, int) and v >= 0) for v in value)  # type: ignore[union-attr]
            if not ok or value == [None, None]:
                raise _Problem(
                    at, "str_length needs value: [shortest, longest] (null for no limit)"
                )
            assert isinstance(value, list)
            if value[0] is not None and value[1] is not None and value[0] > value[1]:
                raise _Problem(at, f"str_length {value}: the shortest is above the longest")
            out["value"] = list(value)
        elif value not in (None, True):  # unique
            raise _Problem(at, "unique takes no value")
        if "severity" in spec:
            if spec["severity"] not in SEVERITIES:
                raise _Problem(
                    (*where, "severity"),
                    f"severity must be error or warning, not {spec['severity']!r}",
                )
            out["severity"] = spec["severity"]
        return out

    @property
    def kind(self) -> str:
        """int, float, bool, string, timestamp, date or other."""
        return _type_kind(self.type)

    @property
    def is_unique(self) -> bool:
        """Whether values must not repeat (``unique: true`` or a ``unique`` check)."""
        return self.unique or any(c["check"] == "unique" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """The column's YAML mapping (without its name), keys in a stable order."""
        out: dict[str, Any] = {"type": self.type, "role": self.role, "nullable": self.nullable}
        for key in ("max_null_rate", "min", "max", "categories"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.unique:
            out["unique"] = True
        if self.checks:
            out["checks"] = [dict(c) for c in self.checks]
        if self.severity:
            out["severity"] = dict(self.severity)
        return out


@dataclass
class Schema:
    """The expected columns of a dataset; :meth:`to_yaml` / :meth:`from_yaml` for the file."""

    columns: list[ColumnSchema]
    name: str | None = None
    allow_extra_columns: bool = False
    version: int = FORMAT_VERSION  # the file format, not the schema's own version

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for column in self.columns:
            if column.name in seen:
                raise _Problem(("columns", column.name), f"column {column.name!r} appears twice")
            seen.add(column.name)
        if self.version != FORMAT_VERSION:
            raise _Problem(
                ("version",),
                f"schema file format version {self.version!r} is not supported (this loopml "
                f"reads version {FORMAT_VERSION}); version is the format, not the schema's own "
                "version",
            )
        if not isinstance(self.allow_extra_columns, bool):
            raise _Problem(("allow_extra_columns",), "allow_extra_columns must be true or false")
        if self.name is not None and not isinstance(self.name, str):
            raise _Problem(("name",), "name must be text")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSchema:
        """The rules of column ``name``."""
        for column in self.columns:
            if column.name == name:
                return column
        raise InvalidInputError(
            f"the schema has no column {name!r}; its columns: {', '.join(self.names) or 'none'}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "name": self.name,
            "allow_extra_columns": self.allow_extra_columns,
            "columns": {c.name: c.to_dict() for c in self.columns},
        }

    def to_yaml(self) -> str:
        """Readable YAML: a header saying how to edit it, then the rules, in a stable order."""
        import yaml

        class Dumper(yaml.SafeDumper):
            pass

        def flow_list(dumper: yaml.SafeDumper, data: _FlowList) -> yaml.Node:
            return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)

        def flow_dict(dumper: yaml.SafeDumper, data: _FlowDict) -> yaml.Node:
            return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)

        def text(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
            # PyYAML writes NEL (U+0085) raw in plain and single-quoted scalars and reads it
            # back as a line break; double quotes escape it.
            style = '"' if "\x85" in data else None
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

        Dumper.add_representer(str, text)
        Dumper.add_representer(_FlowList, flow_list)
        Dumper.add_representer(_FlowDict, flow_dict)
        document = self.to_dict()
        for spec in document["columns"].values():
            if "categories" in spec:
                spec["categories"] = _FlowList(spec["categories"])
            if "checks" in spec:
                spec["checks"] = [_flow(c) for c in spec["checks"]]
            if "severity" in spec:
                spec["severity"] = _FlowDict(spec["severity"])
        body = yaml.dump(
            document,
            Dumper=Dumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )
        return _HEADER + body

    @classmethod
    def from_yaml(cls, text: str, *, source: str | None = None) -> Schema:
        """Parse and check a schema YAML; errors name the line, column and key at fault.

        ``source`` (a file name) prefixes error messages.
        """
        import yaml

        where = f"{source}: " if source else "schema YAML: "
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise InvalidInputError(f"{where}{at}this is not valid YAML ({problem})") from None
        try:
            _check_duplicate_keys(root)
            return cls._from_document(document, root)
        except _Problem as exc:
            raise InvalidInputError(where + _describe(exc, root)) from None

    @classmethod
    def _from_document(cls, document: object, root: Any) -> Schema:
        if not isinstance(document, dict):
            raise _Problem((), "a schema is a mapping with version, name and columns")
        for key in document:
            if key not in _SCHEMA_KEYS:
                raise _Problem(
                    (key,),
                    f"unknown key {key!r}; a schema has {', '.join(_SCHEMA_KEYS)}",
                    at_key=True,
                )
        raw_columns = document.get("columns")
        if raw_columns is None:
            raw_columns = {}
        if not isinstance(raw_columns, dict):
            raise _Problem(
                ("columns",), "columns must be a mapping of column name to its rules (type, ...)"
            )
        columns = []
        for name, spec in raw_columns.items():
            if not isinstance(name, str):
                raise _Problem(
                    ("columns", name), f"column name {name!r} is not text; quote it", at_key=True
                )
            try:
                columns.append(_column_from_dict(name, spec, _node_at(root, ("columns", name))))
            except _Problem as exc:
                raise _Problem(
                    ("columns", name, *exc.path), exc.detail, at_key=exc.at_key
                ) from None
        return cls(
            columns,
            name=document.get("name"),
            allow_extra_columns=document.get("allow_extra_columns", False),
            version=document.get("version", FORMAT_VERSION),
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the YAML to ``path``; returns the path."""
        target = Path(path)
        target.write_text(self.to_yaml(), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Schema:
        """Read a schema YAML file."""
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidInputError(f"cannot read schema {source}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read schema {source}: {exc}") from None
        return cls.from_yaml(text, source=str(source))


class _FlowList(list[Any]):
    """A list written on one line in YAML: ``[a, b, c]``."""


class _FlowDict(dict[str, Any]):
    """A mapping written on one line in YAML: ``{check: ge, value: 0}``."""


def _flow(value: dict[str, Any]) -> _FlowDict:
    return _FlowDict({k: _FlowList(v) if isinstance(v, list) else v for k, v in value.items()})


def _column_from_dict(name: str, spec: object, node: Any) -> ColumnSchema:
    if not isinstance(spec, dict) or "type" not in spec:
        raise _Problem((), f"column {name!r} needs at least a type, e.g. {{type: int64}}")
    for key in spec:
        if key not in _COLUMN_KEYS:
            raise _Problem(
                (key,),
                f"unknown key {key!r}; a column has {', '.join(_COLUMN_KEYS)}",
                at_key=True,
            )
    values = dict(spec)
    try:
        is_text = normalise_type(values["type"]) == "large_string"
    except _Problem:
        is_text = False
    if is_text:
        # YAML reads an unquoted NO as false and 01 as 1: keep the text as written.
        if isinstance(values.get("categories"), list):
            values["categories"] = _as_text(values["categories"], _node_at(node, ("categories",)))
        checks = values.get("checks")
        if isinstance(checks, list):
            values["checks"] = [
                _check_as_text(c, _node_at(node, ("checks", i))) for i, c in enumerate(checks)
            ]
    return ColumnSchema(name=name, **values)


def _as_text(items: list[Any], node: Any) -> list[Any]:
    import yaml

    out = []
    for i, item in enumerate(items):
        scalar = node.value[i] if isinstance(node, yaml.SequenceNode) else None
        if isinstance(scalar, yaml.ScalarNode) and not isinstance(item, str | None):
            item = scalar.value
        out.append(item)
    return out


def _check_as_text(spec: Any, node: Any) -> Any:
    import yaml

    if not isinstance(spec, dict) or "value" not in spec:
        return spec
    value_node = _node_at(node, ("value",))
    value = spec["value"]
    if isinstance(value, list) and spec.get("check") in ("isin", "notin"):
        return {**spec, "value": _as_text(value, value_node)}
    text = isinstance(value_node, yaml.ScalarNode) and not isinstance(value, str | None)
    if spec.get("check") == "str_matches" and text:
        return {**spec, "value": value_node.value}
    return spec


def _check_duplicate_keys(node: Any, path: tuple[Any, ...] = ()) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            if name in seen:
                problem = _Problem((*path, name), f"key {name!r} appears twice; keep one of them")
                problem.mark = key.start_mark
                raise problem
            seen.add(name)
            _check_duplicate_keys(value, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicate_keys(item, (*path, i))


def _node_at(node: Any, path: tuple[Any, ...], *, at_key: bool = False) -> Any:
    """The YAML node at ``path`` (or the deepest one found); the key node when ``at_key``."""
    import yaml

    for depth, step in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                    node = key if (last and at_key) else value
                    break
            else:
                return node
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if step >= len(node.value):
                return node
            node = node.value[step]
        else:
            return node
    return node


def _describe(problem: _Problem, root: Any) -> str:
    node = _node_at(root, problem.path, at_key=problem.at_key) if root is not None else None
    mark = problem.mark or getattr(node, "start_mark", None)
    at = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    key = " > ".join(str(p) for p in problem.path)
    if at and key:
        return f"{at} ({key}): {problem.detail}"
    return f"{at or key}: {problem.detail}" if (at or key) else problem.detail


# -- inference ------------------------------------------------------------------------------


@dataclass
class _Stats:
    """What one streaming pass keeps per column."""

    kind: str
    nulls: int = 0
    low: int | float | None = None  # raw (ints for dates and times)
    high: int | float | None = None
    distinct: set[Any] | None = None  # None: not tracked, or too many
    ids: list[Any] = field(default_factory=list)  # arrays of an id column (for uniqueness)


def open_input(
    data: Any, roles: Mapping[str, str] | None = None
) -> tuple[Source, dict[str, str], str | None]:
    """``data`` as a Source, with the roles and name it carries (a dataset version has both)."""
    from loopml.data._inputs import open_data

    carried: dict[str, str] = {}
    name = None
    if type(data).__name__ == "DatasetVersion" and hasattr(data, "to_arrow"):
        carried = dict(data.roles)
        name = data.name
        data = data.to_arrow()
    source = open_data(data)
    merged = {**carried, **dict(roles or {})}
    unknown = sorted(set(merged) - set(source.schema.names))
    if unknown:
        raise InvalidInputError(
            f"roles name column(s) {', '.join(map(repr, unknown))} that the data does not have; "
            f"columns: {', '.join(source.schema.names)}"
        )
    for column, role in merged.items():
        if role not in ROLES:
            raise InvalidInputError(
                f"role {role!r} of column {column!r} is not a role; use one of {', '.join(ROLES)}"
            )
    return source, merged, name


def infer_schema(
    data: Any,
    *,
    roles: Mapping[str, str] | None = None,
    max_categories: int = 20,
    name: str | None = None,
) -> Schema:
    """The schema of ``data`` (anything loopml reads, or a dataset version), in one pass.

    ``roles`` maps columns to feature (default), target, prediction, id, timestamp or ignored;
    a dataset version's own roles are used unless overridden. The inference rules are in the
    module docstring.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if (
        isinstance(max_categories, bool)
        or not isinstance(max_categories, int)
        or max_categories < 0
    ):
        raise InvalidInputError(
            f"max_categories must be a whole number >= 0, not {max_categories!r}"
        )
    source, column_roles, carried_name = open_input(data, roles)
    fields = list(source.schema)
    stats: list[_Stats] = []
    for f in fields:
        role = column_roles.get(f.name, "feature")
        kind = _type_kind(str(f.type)) if role not in ("id", "timestamp", "ignored") else "other"
        track = kind in _CATEGORY_KINDS and max_categories > 0
        stats.append(_Stats(kind=kind, distinct=set() if track else None))
    rows = 0
    for batch in source.batches():
        rows += batch.num_rows
        for i, f in enumerate(fields):
            _update(stats[i], batch.column(i), max_categories, column_roles.get(f.name), pa, pc)
    columns = [
        _column(f, stats[i], column_roles.get(f.name, "feature"), rows)
        for i, f in enumerate(fields)
    ]
    return Schema(columns, name=name if name is not None else carried_name)


def _update(s: _Stats, array: Any, max_categories: int, role: str | None, pa: Any, pc: Any) -> None:
    s.nulls += array.null_count
    if role == "id":
        s.ids.append(array)
    if array.null_count == len(array):
        return
    if s.kind in _RANGE_KINDS:
        if s.kind in ("timestamp", "date"):
            array = array.view(pa.int64() if array.type.bit_width == 64 else pa.int32())
        bounds = pc.min_max(array)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        s.low = low if s.low is None else min(s.low, low)
        s.high = high if s.high is None else max(s.high, high)
    if s.distinct is not None:
        values = pc.unique(array)
        if len(values) > max_categories + 1:
            s.distinct = None
            return
        s.distinct.update(v for v in values.to_pylist() if v is not None)
        if len(s.distinct) > max_categories:
            s.distinct = None


def _column(f: pa.Field, s: _Stats, role: str, rows: int) -> ColumnSchema:
    type_name = str(f.type)
    nullable = s.nulls > 0 or rows == 0 or role == "ignored"
    rate = None
    if s.nulls and role != "ignored":
        rate = min(1.0, math.ceil(round((s.nulls / rows + NULL_RATE_HEADROOM) * 100, 6)) / 100)
    low = high = None
    if s.low is not None and s.high is not None:
        low, high = _bound(s.low, f.type, ceil=False), _bound(s.high, f.type, ceil=True)
        if low is None or high is None:
            low = high = None
    categories = None
    if s.distinct:
        categories = sorted(s.distinct)
        if s.kind == "int":
            low = high = None  # the categories bound it already: one anomaly, not two
    unique = False
    if role == "id" and s.ids:
        import polars as pl
        import pyarrow as pa

        values = pl.Series(pa.chunked_array(s.ids, type=f.type))  # n_unique: 30x pyarrow's
        present = len(values) - values.null_count()
        unique = present > 0 and values.drop_nulls().n_unique() == present
    return ColumnSchema(
        name=f.name,
        type=type_name,
        role=role,
        nullable=nullable,
        max_null_rate=rate,
        min=low,
        max=high,
        categories=categories,
        unique=unique,
    )


_EPOCH = datetime(1970, 1, 1)
_PER_MICROSECOND = {"s": 1_000_000, "ms": 1_000, "us": 1}


def _bound(raw: int | float, arrow_type: pa.DataType, *, ceil: bool) -> Any:
    """A min (floor) or max (ceil) in its YAML form; ISO text for dates and times."""
    import pyarrow as pa

    if not (pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type)):
        return raw
    assert isinstance(raw, int)
    try:
        if pa.types.is_date32(arrow_type):
            return (_EPOCH.date() + timedelta(days=raw)).isoformat()
        if pa.types.is_date64(arrow_type):
            days = -(-raw // 86_400_000) if ceil else raw // 86_400_000
            return (_EPOCH.date() + timedelta(days=days)).isoformat()
        unit = arrow_type.unit
        micros = (
            (-(-raw // 1000) if ceil else raw // 1000)
            if unit == "ns"
            else raw * _PER_MICROSECOND[unit]
        )
        moment = _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return None  # beyond what datetime holds (year 9999): no range
    if arrow_type.tz:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


__all__ = ["ROLES", "ColumnSchema", "Schema", "infer_schema"]
