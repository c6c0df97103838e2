"""The run search language: ``metrics.auc > 0.9 and params.C = '1.0'``.

Grammar (keywords are case-insensitive)::

    filter     := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := term ("and" term)*
    term       := "(" or_expr ")" | comparison
    comparison := field op value | field ["not"] "in" "(" value ("," value)* ")"
                | field "is" ["not"] "null"
    field      := metrics.KEY | params.KEY | tags.KEY | [attributes.]ATTRIBUTE
    op         := = | == | != | <> | < | <= | > | >= | like | ilike | not like | not ilike

A KEY with spaces or odd characters is quoted with backticks: ``metrics.`val loss` < 0.3``.
ATTRIBUTE is one of ``run_id``, ``name``, ``status``, ``experiment``, ``start_time``,
``end_time``; times compare against epoch milliseconds or an ISO date string.

``order_by`` is a comma-separated list (or a list) of ``field [asc|desc]``.

Parsing is pure and backend-neutral; :mod:`loopml.store._sql` turns the tree into SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, NoReturn

from loopml._errors import FilterSyntaxError

Kind = Literal["metric", "param", "tag", "attribute"]

_PREFIXES: dict[str, Kind] = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attribute",
    "attribute": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
ATTRIBUTES = ("run_id", "name", "status", "experiment", "start_time", "end_time")
_ATTRIBUTE_ALIASES = {"id": "run_id", "run_name": "name", "experiment_name": "experiment"}
_TIME_ATTRIBUTES = ("start_time", "end_time")

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<quoted>`(?:[^`]|``)*`)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-./:]*)
    """,
    re.VERBOSE,
)

MAX_DEPTH = 50
_HELP = "e.g. metrics.auc > 0.9 and params.C = '1.0'"


@dataclass(frozen=True)
class Field:
    """A thing to compare: a metric, param or tag by key, or a run attribute."""

    kind: Kind
    key: str


@dataclass(frozen=True)
class Comparison:
    field: Field
    op: str  # "=", "!=", "<", "<=", ">", ">=", "like", "ilike", "not like", "not ilike",
    # "in", "not in", "is null", "is not null"
    value: float | str | tuple[float | str, ...] | None


@dataclass(frozen=True)
class BoolOp:
    op: Literal["and", "or"]
    items: tuple[Node, ...]


Node = Comparison | BoolOp


@dataclass(frozen=True)
class OrderKey:
    field: Field
    descending: bool


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(source: str, help_text: str = _HELP) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if match is None:
            raise FilterSyntaxError(
                f"cannot read {source[pos : pos + 20]!r} at position {pos} in {source!r}; "
                f"{help_text}"
            )
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(_Tok(kind, match.group(), pos))
        pos = match.end()
    return tokens


def _unquote(text: str) -> str:
    quote = text[0]
    return text[1:-1].replace(quote * 2, quote)


class _Parser:
    def __init__(self, source: str, help_text: str = _HELP) -> None:
        self.help_text = help_text
        self.source = source
        self.tokens = _tokenize(source, help_text)
        self.i = 0
        self.depth = 0

    # -- helpers ------------------------------------------------------------------------------
    def peek(self) -> _Tok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def peek_word(self, offset: int = 0) -> str:
        j = self.i + offset
        if j < len(self.tokens) and self.tokens[j].kind == "word":
            return self.tokens[j].text.lower()
        return ""

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            self.fail("the expression ends too early")
        self.i += 1
        return tok

    def fail(self, problem: str) -> NoReturn:
        tok = self.peek()
        where = f"at position {tok.pos} ({tok.text!r})" if tok else "at the end"
        raise FilterSyntaxError(f"{problem} {where} in {self.source!r}; {self.help_text}")

    def expect(self, text: str) -> None:
        tok = self.peek()
        if tok is None or tok.text.lower() != text:
            self.fail(f"expected {text!r}")
        self.i += 1

    # -- grammar ------------------------------------------------------------------------------
    def parse_filter(self) -> Node:
        node = self.or_expr()
        if self.peek() is not None:
            self.fail("unexpected text")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.peek_word() == "or":
            self.i += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_expr(self) -> Node:
        items = [self.term()]
        while self.peek_word() == "and":
            self.i += 1
            items.append(self.term())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def term(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.text == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                self.fail(f"parentheses nested more than {MAX_DEPTH} deep")
            self.i += 1
            node = self.or_expr()
            self.expect(")")
            self.depth -= 1
            return node
        return self.comparison()

    def field(self) -> Field:
        tok = self.take()
        if tok.kind == "quoted":
            return _attribute(_unquote(tok.text), self)
        if tok.kind != "word":
            self.fail(f"expected a field such as metrics.auc, found {tok.text!r}")
        prefix, dot, rest = tok.text.partition(".")
        kind = _PREFIXES.get(prefix.lower())
        if not dot or kind is None:
            return _attribute(tok.text, self)
        if not rest:
            nxt = self.peek()
            if nxt is None or nxt.kind not in ("quoted", "string"):
                self.fail(f"{tok.text!r} needs a key after the dot")
            rest = _unquote(self.take().text)
        if kind == "attribute":
            return _attribute(rest, self)
        return Field(kind, rest)

    def value(self, field: Field | None = None) -> float | str:
        """A literal; for a text field a number keeps its text as written (1.0 stays '1.0')."""
        tok = self.take()
        if tok.kind == "number":
            if field is not None and _is_text(field):
                return tok.text
            return float(tok.text)
        if tok.kind == "string":
            return _unquote(tok.text)
        self.fail(f"expected a number or a 'quoted string', found {tok.text!r}")

    def comparison(self) -> Comparison:
        field = self.field()
        tok = self.peek()
        if tok is None:
            self.fail(f"expected an operator after {field.kind}s.{field.key}")
        word = tok.text.lower() if tok.kind == "word" else ""
        if tok.kind == "op":
            self.i += 1
            op = {"==": "=", "<>": "!="}.get(tok.text, tok.text)
            value = self.value(field)
            return _check(Comparison(field, op, _coerce(field, value, self)), self)
        if word == "is":
            self.i += 1
            negate = self.peek_word() == "not"
            if negate:
                self.i += 1
            self.expect("null")
            return Comparison(field, "is not null" if negate else "is null", None)
        negate = word == "not"
        if negate:
            self.i += 1
            word = self.peek_word()
        if word in ("like", "ilike"):
            self.i += 1
            value = self.value()
            if not isinstance(value, str):
                self.fail(f"{word} needs a 'quoted pattern'")
            op = f"not {word}" if negate else word
            return _check(Comparison(field, op, value), self)
        if word == "in":
            self.i += 1
            self.expect("(")
            values = [self.value(field)]
            while (tok := self.peek()) is not None and tok.text == ",":
                self.i += 1
                values.append(self.value(field))
            self.expect(")")
            coerced = tuple(_coerce(field, v, self) for v in values)
            return _check(Comparison(field, "not in" if negate else "in", coerced), self)
        self.fail("expected an operator (=, !=, <, <=, >, >=, like, ilike, in, is null)")


def _attribute(name: str, parser: _Parser) -> Field:
    key = _ATTRIBUTE_ALIASES.get(name.lower(), name.lower())
    if key not in ATTRIBUTES:
        parser.fail(
            f"unknown field {name!r}: use metrics.KEY, params.KEY, tags.KEY or one of "
            f"{', '.join(ATTRIBUTES)}"
        )
    return Field("attribute", key)


def _is_text(field: Field) -> bool:
    return field.kind in ("param", "tag") or (
        field.kind == "attribute" and field.key not in _TIME_ATTRIBUTES
    )


def _coerce(field: Field, value: float | str, parser: _Parser) -> float | str:
    if field.kind == "metric" and not isinstance(value, float):
        parser.fail(f"metrics.{field.key} is a number; compare it with a number, not {value!r}")
    if field.kind == "attribute" and field.key in _TIME_ATTRIBUTES and isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            parser.fail(f"{field.key} takes epoch milliseconds or an ISO date, not {value!r}")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return float(int(moment.timestamp() * 1000))
    if field.kind in ("param", "tag") or (
        field.kind == "attribute" and field.key not in _TIME_ATTRIBUTES
    ):
        return value if isinstance(value, str) else repr(value)
    return value


_ORDERED = ("<", "<=", ">", ">=")


def _check(comparison: Comparison, parser: _Parser) -> Comparison:
    field, op = comparison.field, comparison.op
    numeric = field.kind == "metric" or (
        field.kind == "attribute" and field.key in _TIME_ATTRIBUTES
    )
    if "like" in op and numeric:
        parser.fail(f"{op} compares text; {field.kind} {field.key!r} is a number")
    if op in _ORDERED and not numeric:
        parser.fail(f"{op} compares numbers; use =, !=, like or in for {field.kind} {field.key!r}")
    return comparison


def parse_filter(source: str | None) -> Node | None:
    """Parse a filter string (None or blank means no filter)."""
    if source is None or not source.strip():
        return None
    return _Parser(source).parse_filter()


def parse_order_by(order_by: str | Sequence[str] | None) -> list[OrderKey]:
    """Parse ``"metrics.auc desc, start_time"`` or a list of such items."""
    if order_by is None:
        return []
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    keys: list[OrderKey] = []
    for item in items:
        for part in _split_commas(item):
            parser = _Parser(part, "e.g. 'metrics.auc desc, start_time'")
            if parser.peek() is None:
                continue
            field = parser.field()
            descending = False
            direction = parser.peek_word()
            if direction in ("asc", "desc"):
                parser.i += 1
                descending = direction == "desc"
            if parser.peek() is not None:
                parser.fail("order_by takes 'field [asc|desc]'")
            keys.append(OrderKey(field, descending))
    return keys


def _split_commas(text: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "`'\"":
            quote = char
        elif char == ",":
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts
