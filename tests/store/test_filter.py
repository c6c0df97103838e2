"""The run search language, parsed without any database: loopml.store._filter."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loopml._errors import FilterSyntaxError, InvalidInputError
from loopml.store._filter import (
    BoolOp,
    Comparison,
    Field,
    OrderKey,
    parse_filter,
    parse_order_by,
)

METRIC_AUC = Field("metric", "auc")


def metric(key: str) -> Field:
    return Field("metric", key)


def param(key: str) -> Field:
    return Field("param", key)


def tag(key: str) -> Field:
    return Field("tag", key)


def attribute(key: str) -> Field:
    return Field("attribute", key)


def epoch_ms(moment: dt.datetime) -> float:
    return float(int(moment.timestamp() * 1000))


# -- valid filters --------------------------------------------------------------------------------
@pytest.mark.parametrize("blank", [None, "", "   ", "\n\t"])
def test_no_filter_or_a_blank_one_means_no_condition(blank: str | None) -> None:
    assert parse_filter(blank) is None


@pytest.mark.parametrize(
    ("source", "op"),
    [
        ("metrics.auc = 0.9", "="),
        ("metrics.auc == 0.9", "="),
        ("metrics.auc != 0.9", "!="),
        ("metrics.auc <> 0.9", "!="),
        ("metrics.auc < 0.9", "<"),
        ("metrics.auc <= 0.9", "<="),
        ("metrics.auc > 0.9", ">"),
        ("metrics.auc >= 0.9", ">="),
        ("metrics.auc>=0.9", ">="),
    ],
)
def test_a_metric_compares_with_a_number_under_every_operator(source: str, op: str) -> None:
    assert parse_filter(source) == Comparison(METRIC_AUC, op, 0.9)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1.0), ("-2", -2.0), ("+3.5", 3.5), (".5", 0.5), ("1e-3", 0.001), ("2.", 2.0)],
)
def test_numbers_are_read_in_every_usual_form(text: str, value: float) -> None:
    assert parse_filter(f"metrics.loss < {text}") == Comparison(metric("loss"), "<", value)


@pytest.mark.parametrize(
    ("prefix", "kind"),
    [
        ("metrics", "metric"),
        ("metric", "metric"),
        ("params", "param"),
        ("param", "param"),
        ("tags", "tag"),
        ("tag", "tag"),
        ("METRICS", "metric"),
        ("Params", "param"),
    ],
)
def test_every_prefix_names_its_kind_of_field(prefix: str, kind: str) -> None:
    value = 1.0 if kind == "metric" else "1"
    node = parse_filter(f"{prefix}.k = {'1' if kind == 'metric' else repr('1')}")
    assert node == Comparison(Field(kind, "k"), "=", value)  # type: ignore[arg-type]


def test_strings_take_single_or_double_quotes_and_doubled_quotes_escape() -> None:
    assert parse_filter("params.opt = 'adam'") == Comparison(param("opt"), "=", "adam")
    assert parse_filter('params.opt = "adam"') == Comparison(param("opt"), "=", "adam")
    assert parse_filter("tags.note = 'it''s'") == Comparison(tag("note"), "=", "it's")
    assert parse_filter('tags.note = "say ""hi"""') == Comparison(tag("note"), "=", 'say "hi"')
    assert parse_filter("tags.note = ''") == Comparison(tag("note"), "=", "")


def test_keys_may_hold_dots_dashes_slashes_and_colons_unquoted() -> None:
    node = parse_filter("metrics.val/loss-2:x.y > 0")
    assert node == Comparison(metric("val/loss-2:x.y"), ">", 0.0)


def test_backtick_quoted_keys_may_hold_spaces_and_operators() -> None:
    assert parse_filter("metrics.`val loss` < 0.3") == Comparison(metric("val loss"), "<", 0.3)
    assert parse_filter("params.`a = b, c` = 'x'") == Comparison(param("a = b, c"), "=", "x")
    assert parse_filter("tags.`it``s` = 'x'") == Comparison(tag("it`s"), "=", "x")


def test_a_string_quoted_key_after_the_dot_is_accepted_too() -> None:
    assert parse_filter("params.'my key' = 'v'") == Comparison(param("my key"), "=", "v")


def test_numbers_compared_with_params_and_tags_keep_the_text_as_written() -> None:
    assert parse_filter("params.C = 1.0") == Comparison(param("C"), "=", "1.0")
    assert parse_filter("params.C = 1") == Comparison(param("C"), "=", "1")
    assert parse_filter("params.C != 1e3") == Comparison(param("C"), "!=", "1e3")
    assert parse_filter("tags.n = -2") == Comparison(tag("n"), "=", "-2")
    assert parse_filter("params.C = .50") == Comparison(param("C"), "=", ".50")


def test_numbers_in_a_param_in_list_keep_the_text_as_written() -> None:
    assert parse_filter("params.C in (1, 2.50)") == Comparison(param("C"), "in", ("1", "2.50"))
    assert parse_filter("tags.v not in (1e3)") == Comparison(tag("v"), "not in", ("1e3",))


def test_in_and_not_in_take_a_parenthesised_list() -> None:
    assert parse_filter("params.opt in ('adam', 'sgd')") == Comparison(
        param("opt"), "in", ("adam", "sgd")
    )
    assert parse_filter("params.opt NOT IN ('adam')") == Comparison(
        param("opt"), "not in", ("adam",)
    )
    assert parse_filter("metrics.k in (1, 2.5)") == Comparison(metric("k"), "in", (1.0, 2.5))


@pytest.mark.parametrize(
    ("source", "op"),
    [
        ("params.opt like 'a%'", "like"),
        ("params.opt LIKE 'a%'", "like"),
        ("params.opt ilike 'a%'", "ilike"),
        ("params.opt not like 'a%'", "not like"),
        ("params.opt Not ILike 'a%'", "not ilike"),
    ],
)
def test_like_and_ilike_take_a_quoted_pattern(source: str, op: str) -> None:
    assert parse_filter(source) == Comparison(param("opt"), op, "a%")


@pytest.mark.parametrize(
    ("source", "op"),
    [
        ("metrics.auc is null", "is null"),
        ("metrics.auc IS NULL", "is null"),
        ("metrics.auc is not null", "is not null"),
        ("metrics.auc Is Not Null", "is not null"),
    ],
)
def test_is_null_and_is_not_null(source: str, op: str) -> None:
    assert parse_filter(source) == Comparison(METRIC_AUC, op, None)


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("status = 'x'", "status"),
        ("attributes.status = 'x'", "status"),
        ("attribute.status = 'x'", "status"),
        ("attr.status = 'x'", "status"),
        ("run.status = 'x'", "status"),
        ("STATUS = 'x'", "status"),
        ("`status` = 'x'", "status"),
        ("attributes.`status` = 'x'", "status"),
        ("name = 'x'", "name"),
        ("run_name = 'x'", "name"),
        ("run_id = 'x'", "run_id"),
        ("id = 'x'", "run_id"),
        ("experiment = 'x'", "experiment"),
        ("experiment_name = 'x'", "experiment"),
    ],
)
def test_attributes_are_named_bare_or_with_a_prefix_or_an_alias(source: str, key: str) -> None:
    assert parse_filter(source) == Comparison(attribute(key), "=", "x")


def test_a_time_attribute_takes_epoch_milliseconds_or_an_iso_date() -> None:
    assert parse_filter("start_time > 1700000000000") == Comparison(
        attribute("start_time"), ">", 1_700_000_000_000.0
    )
    day = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    assert parse_filter("start_time >= '2024-05-01'") == Comparison(
        attribute("start_time"), ">=", epoch_ms(day)
    )
    offset = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert parse_filter("end_time < '2024-05-01T12:30:00+02:00'") == Comparison(
        attribute("end_time"), "<", epoch_ms(offset)
    )
    # a time without a zone is UTC
    assert parse_filter("attributes.end_time < '2024-05-01T10:30:00'") == Comparison(
        attribute("end_time"), "<", epoch_ms(offset)
    )


def test_and_binds_tighter_than_or() -> None:
    a = Comparison(metric("a"), ">", 1.0)
    b = Comparison(metric("b"), ">", 2.0)
    c = Comparison(metric("c"), ">", 3.0)

    assert parse_filter("metrics.a > 1 or metrics.b > 2 and metrics.c > 3") == BoolOp(
        "or", (a, BoolOp("and", (b, c)))
    )
    assert parse_filter("metrics.a > 1 and metrics.b > 2 or metrics.c > 3") == BoolOp(
        "or", (BoolOp("and", (a, b)), c)
    )


def test_parentheses_group_and_chains_stay_flat() -> None:
    a = Comparison(metric("a"), ">", 1.0)
    b = Comparison(metric("b"), ">", 2.0)
    c = Comparison(metric("c"), ">", 3.0)

    assert parse_filter("(metrics.a > 1 or metrics.b > 2) AND metrics.c > 3") == BoolOp(
        "and", (BoolOp("or", (a, b)), c)
    )
    assert parse_filter("metrics.a > 1 and metrics.b > 2 and metrics.c > 3") == BoolOp(
        "and", (a, b, c)
    )
    assert parse_filter("((metrics.a > 1))") == a
    assert parse_filter("metrics.a > 1 Or (metrics.b > 2 oR metrics.c > 3)") == BoolOp(
        "or", (a, BoolOp("or", (b, c)))
    )


def test_a_string_may_contain_keywords_and_operators() -> None:
    assert parse_filter("tags.note = 'a and b or (c) = d'") == Comparison(
        tag("note"), "=", "a and b or (c) = d"
    )


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("metrics.a > 1 $", "cannot read '$'"),
        ("params.a = 'open", 'cannot read "\'open"'),
        ("metrics.a >", "the expression ends too early"),
        ("metrics.a > 1 and", "the expression ends too early"),
        ("metrics.a", "expected an operator after metrics.a"),
        ("metrics.a > 1 metrics.b > 2", "unexpected text at position 14"),
        ("(metrics.a > 1", "expected ')'"),
        ("metrics.a > 1)", "unexpected text"),
        ("bogus = 'x'", "unknown field 'bogus'"),
        ("attributes.bogus = 'x'", "unknown field 'bogus'"),
        ("`val loss` < 1", "unknown field 'val loss'"),
        ("metrics. > 1", "'metrics.' needs a key after the dot"),
        ("metrics.a > b", "expected a number or a 'quoted string', found 'b'"),
        ("metrics.a > 'x'", "metrics.a is a number; compare it with a number, not 'x'"),
        ("metrics.a in (1, 'x')", "metrics.a is a number"),
        ("metrics.a like '1%'", "like compares text; metric 'a' is a number"),
        ("start_time not ilike '2%'", "not ilike compares text"),
        ("params.a < '1'", "< compares numbers; use =, !=, like or in for param 'a'"),
        ("status >= 'x'", ">= compares numbers"),
        ("params.a like 5", "like needs a 'quoted pattern'"),
        ("start_time > 'yesterday'", "start_time takes epoch milliseconds or an ISO date"),
        ("params.a in 'x'", "expected '('"),
        ("params.a in ()", "expected a number or a 'quoted string', found ')'"),
        ("params.a in ('x' 'y')", "expected ')'"),
        ("params.a is 'x'", "expected 'null'"),
        ("params.a is not", "expected 'null' at the end"),
        ("params.a foo 'x'", "expected an operator (=, !="),
        ("params.a not = 'x'", "expected an operator"),
        ("1 = 1", "expected a field such as metrics.auc, found '1'"),
        ("'x' = 1", "expected a field"),
        ("metrics.a > 1 and ()", "expected a field"),
        ("metrics.a = `x`", "expected a number or a 'quoted string'"),
    ],
)
def test_a_filter_that_does_not_parse_says_what_is_wrong(source: str, problem: str) -> None:
    with pytest.raises(FilterSyntaxError, match=re.escape(problem)) as caught:
        parse_filter(source)
    message = str(caught.value)
    assert repr(source) in message  # names the whole filter
    assert "metrics.auc > 0.9" in message  # shows an example that works


def test_a_syntax_error_is_an_invalid_input_too() -> None:
    with pytest.raises(InvalidInputError):
        parse_filter("metrics.a >")
    assert issubclass(FilterSyntaxError, ValueError)


def test_a_filter_nested_too_deeply_is_a_syntax_error_not_a_crash() -> None:
    source = "(" * 5000 + "metrics.a > 1" + ")" * 5000
    with pytest.raises(FilterSyntaxError):
        parse_filter(source)


# -- order_by -------------------------------------------------------------------------------------
def test_order_by_nothing_is_an_empty_list() -> None:
    assert parse_order_by(None) == []
    assert parse_order_by("") == []
    assert parse_order_by([]) == []


def test_order_by_reads_a_comma_separated_list_with_directions() -> None:
    assert parse_order_by("metrics.auc desc, start_time, params.C ASC") == [
        OrderKey(METRIC_AUC, True),
        OrderKey(attribute("start_time"), False),
        OrderKey(param("C"), False),
    ]


def test_order_by_takes_a_list_of_items_too() -> None:
    assert parse_order_by(["metrics.auc DESC", "tags.team", "name desc, run_id"]) == [
        OrderKey(METRIC_AUC, True),
        OrderKey(tag("team"), False),
        OrderKey(attribute("name"), True),
        OrderKey(attribute("run_id"), False),
    ]


def test_order_by_keeps_commas_inside_quoted_keys() -> None:
    assert parse_order_by("metrics.`a, b` desc, params.'c,d'") == [
        OrderKey(metric("a, b"), True),
        OrderKey(param("c,d"), False),
    ]


def test_order_by_skips_empty_items() -> None:
    assert parse_order_by("metrics.auc, , name") == [
        OrderKey(METRIC_AUC, False),
        OrderKey(attribute("name"), False),
    ]


@pytest.mark.parametrize(
    ("order_by", "problem"),
    [
        ("metrics.auc sideways", "order_by takes 'field [asc|desc]'"),
        ("metrics.auc desc extra", "order_by takes 'field [asc|desc]'"),
        ("bogus desc", "unknown field 'bogus'"),
        ("metrics.", "'metrics.' needs a key after the dot"),
        ("metrics.auc > 1", "order_by takes 'field [asc|desc]'"),
        ("42", "expected a field"),
        ("metrics.auc; drop", "cannot read"),
    ],
)
def test_an_order_by_that_does_not_parse_says_what_is_wrong(order_by: str, problem: str) -> None:
    with pytest.raises(FilterSyntaxError, match=re.escape(problem)):
        parse_order_by(order_by)


# -- property -------------------------------------------------------------------------------------
_WORDS = [
    "metrics.auc",
    "params.C",
    "tags.t",
    "metrics.",
    "params.",
    "attributes.",
    "start_time",
    "end_time",
    "status",
    "name",
    "run_id",
    "bogus",
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    "like",
    "ilike",
    "asc",
    "desc",
    "=",
    "==",
    "!=",
    "<>",
    "<",
    "<=",
    ">",
    ">=",
    "(",
    ")",
    ",",
    "'x'",
    "'2024-01-01'",
    "'2024-13-45'",
    "'9999-12-31T23:59:59+00:00'",
    '"y"',
    "`k k`",
    "``",
    "'",
    "`",
    "1",
    "-2.5",
    "1e309",
    ".5",
    "1e",
]
_soup = st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join)
_texts = st.one_of(st.text(), _soup, st.lists(st.sampled_from(_WORDS), max_size=12).map("".join))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts)
def test_any_text_parses_to_a_tree_or_raises_a_filter_syntax_error(source: str) -> None:
    try:
        node = parse_filter(source)
    except FilterSyntaxError:
        return
    assert node is None or isinstance(node, Comparison | BoolOp)


@settings(max_examples=300, deadline=None)
@given(_texts)
def test_any_order_by_text_parses_to_keys_or_raises_a_filter_syntax_error(source: str) -> None:
    try:
        keys = parse_order_by(source)
    except FilterSyntaxError:
        return
    assert all(isinstance(key, OrderKey) for key in keys)
