"""The model card: every section, escaped, one self-contained HTML file, the same text each time."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from loopml._errors import InvalidInputError
from loopml.models._card import model_card
from loopml.models._metrics import classification_metrics, slice_metrics
from loopml.models._plots import classification_plots

XSS = "<script>alert(1)</script>"
SECTIONS = [
    "The model",
    "Intended use",
    "Data",
    "Metrics",
    "Slices",
    "Plots",
    "Gate verdict",
    "Inputs and outputs",
    "Requirements",
    "Lineage",
]


class Collector(HTMLParser):
    """Tags, attributes and text of a page, to check structure without regexes on markup."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.h2: list[str] = []
        self.images: dict[str, str] = {}
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        self._in_h2 = tag == "h2"
        if tag == "img":
            a = dict(attrs)
            self.images[str(a["alt"])] = str(a["src"])

    def handle_endtag(self, tag: str) -> None:
        self._in_h2 = False

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.h2.append(data)


def parse(page: str) -> Collector:
    c = Collector()
    c.feed(page)
    c.close()
    return c


@pytest.fixture(scope="module")
def info() -> dict[str, Any]:
    """A card's metadata from a real model: breast cancer, its metrics, slices and plots."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X_tr, y_tr)
    proba = model.predict_proba(X_te)
    frame = X_te.reset_index(drop=True)
    frame["size"] = np.where(frame["mean radius"] > 15, "large", "small")
    frame.loc[::9, "size"] = None
    overall = classification_metrics(y_te, proba)
    slices = slice_metrics(frame, y_te, proba, ["size", "mean texture"], task="classification")
    return {
        "name": "cancer",
        "version": 3,
        "flavor": "sklearn",
        "description": "Second opinion for screening. Not for diagnosis.",
        "created_at": "2025-01-02T03:04:05+00:00",
        "run_id": "run-7f3a",
        "datasets": ["cancer-train/1", "cancer-test/1"],
        "training_data": {
            "name": "cancer-train",
            "version": 1,
            "rows": len(X_tr),
            "columns": list(X.columns),
            "profile_id": "prof-91c2",
        },
        "evaluation": {
            "dataset": "cancer-test/1",
            "task": "classification",
            "metrics": overall.values,
            "undefined": overall.undefined,
            "notes": overall.notes,
            "slices": [s.to_dict() for s in slices],
        },
        "plots": classification_plots(y_te, proba),
        "gate": {"blessed": True, "reasons": ["roc_auc 0.9914 >= 0.85", "first version"]},
        "requirements": ["scikit-learn==1.9.1", "numpy>=2"],
        "signature": {
            "inputs": [{"name": c, "type": "float64"} for c in X.columns],
            "outputs": [{"name": "probabilities", "type": "float64", "shape": [-1, 2]}],
        },
    }


def test_the_card_has_every_section_in_order(info: dict[str, Any]) -> None:
    md, page = model_card(info)
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings == SECTIONS
    assert parse(page).h2 == SECTIONS
    assert md.startswith("# Model card: cancer v3\n")


def test_the_card_shows_the_metrics_slices_gate_signature_and_lineage(
    info: dict[str, Any],
) -> None:
    md, page = model_card(info)
    roc = info["evaluation"]["metrics"]["roc_auc"]
    assert f"| ROC AUC | {roc:.4f} |" in md
    assert f"<td>ROC AUC</td><td class=n>{roc:.4f}</td>" in page
    assert "### `size`" in md and "### `mean texture`" in md
    assert "| (missing) |" in md
    assert "**Blessed**" in md and "- roc_auc 0.9914 &gt;= 0.85" in md
    assert '<span class="b k">blessed</span>' in page
    assert "| mean radius | float64 |" in md
    assert "| probabilities | float64 | [-1, 2] |" in md
    assert "- `scikit-learn==1.9.1`" in md
    assert "| Training run | run-7f3a |" in md
    assert "| Reference profile | prof-91c2 |" in md
    assert "| Dataset | cancer-train/1 |" in md
    assert "Second opinion for screening." in md and "Second opinion for screening." in page


def test_markdown_links_the_plots_and_html_embeds_the_same_bytes(info: dict[str, Any]) -> None:
    md, page = model_card(info)
    for name in info["plots"]:
        assert f"![{name}](plots/{name})" in md
    images = parse(page).images
    assert sorted(images) == sorted(info["plots"])
    for name, src in images.items():
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        assert base64.b64decode(src[len(prefix) :]) == info["plots"][name]


def test_the_html_is_one_self_contained_file_without_scripts(info: dict[str, Any]) -> None:
    _, page = model_card(info)
    c = parse(page)
    assert "script" not in c.tags
    assert "link" not in c.tags and "iframe" not in c.tags
    for key, value in c.attrs:
        assert not (value or "").startswith(("http:", "https:", "//")), (key, value)
        assert not key.startswith("on"), key
    assert "http://" not in page and "https://" not in page
    assert page.startswith("<!DOCTYPE html>")


def test_the_card_escapes_a_script_in_the_description_and_everywhere_else(
    info: dict[str, Any],
) -> None:
    hostile = dict(info)
    hostile["description"] = f"Use with care {XSS}"
    hostile["name"] = f"m{XSS}"
    hostile["gate"] = {"blessed": False, "reasons": [XSS]}
    hostile["requirements"] = [XSS]
    hostile["signature"] = {"inputs": [{"name": XSS, "type": '"><img src=x onerror=alert(1)>'}]}
    hostile["evaluation"] = {
        **info["evaluation"],
        "notes": [XSS],
        "slices": [
            {**s, "column": XSS, "value": f"{s['value']} | {XSS}"}
            for s in info["evaluation"]["slices"]
        ],
    }
    hostile["plots"] = {f"{XSS}.png": next(iter(info["plots"].values()))}
    md, page = model_card(hostile)
    assert "<script" not in page.lower()
    assert "onerror" not in "".join(k for k, _ in parse(page).attrs)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Markdown renderers pass raw HTML through: none may reach them, outside code spans.
    outside_code = re.sub(r"`[^`\n]*`", "", md)
    assert "<script" not in outside_code
    assert "<img" not in outside_code
    assert "Use with care &lt;script&gt;" in md


def test_a_pipe_in_a_slice_value_does_not_break_the_markdown_table(
    info: dict[str, Any],
) -> None:
    slices = [{**s, "value": "a|b"} for s in info["evaluation"]["slices"] if s["column"] == "size"]
    card = dict(info, evaluation={**info["evaluation"], "slices": slices})
    md, _ = model_card(card)
    row = next(line for line in md.splitlines() if line.startswith("| a\\|b |"))
    header = next(line for line in md.splitlines() if line.startswith("| Slice | Rows |"))
    assert len(re.split(r"(?<!\\)\|", row)) == len(re.split(r"(?<!\\)\|", header))


def test_undefined_slice_metrics_show_na_and_their_reason() -> None:
    frame = pd.DataFrame({"group": ["a", "a", "b", "b"]})
    y = [1, 0, 1, 1]
    slices = slice_metrics(frame, y, [0.9, 0.2, 0.7, 0.4], "group", task="classification")
    card = {
        "name": "m",
        "version": 1,
        "evaluation": {"metrics": {"roc_auc": None}, "undefined": {"roc_auc": "no rows"}},
    }
    card["evaluation"]["slices"] = [s.to_dict() for s in slices]  # type: ignore[index]
    md, page = model_card(card)
    assert "| ROC AUC | n/a | no rows |" in md
    assert "- b: ROC AUC — only one class in y_true (1)" in md
    assert "only one class in y_true (1)" in page


def test_a_minimal_card_needs_only_a_name_and_a_version() -> None:
    md, page = model_card({"name": "tiny", "version": "1"})
    assert re.findall(r"^## (.+)$", md, flags=re.M) == SECTIONS
    assert "_Not stated._" in md
    assert "**Not gated**" in md
    assert "No plots." in page


@pytest.mark.parametrize("missing", ["name", "version"])
def test_a_card_without_name_or_version_is_refused(missing: str) -> None:
    info = {"name": "m", "version": 2}
    del info[missing]
    with pytest.raises(InvalidInputError, match=missing):
        model_card(info)


def test_a_plot_that_is_not_a_png_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"'roc\.png' is not a PNG"):
        model_card({"name": "m", "version": 1, "plots": {"roc.png": b"GIF89a..."}})


def test_the_same_metadata_gives_the_same_card(info: dict[str, Any]) -> None:
    assert model_card(info) == model_card(dict(info))
