"""A model card, as Markdown and as one self-contained HTML page, from a model's metadata.

Sections: the model, intended use, data, metrics, slices, plots, gate verdict, inputs and
outputs, requirements, lineage. The Markdown refers to plots as ``plots/<name>`` (save them
next to it); the HTML carries them as base64 ``<img>`` data, with inline CSS, no JavaScript and
no external URL, so the file can be mailed or opened offline. Every string from the metadata is
escaped: :func:`html.escape` in HTML; in Markdown, ``<`` and ``>`` become entities (no raw
HTML reaches a renderer) and table cells have their ``|`` escaped.
"""

from __future__ import annotations

import base64
import html
import math
import numbers
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from loopml._errors import InvalidInputError

__all__ = ["METRIC_LABELS", "model_card"]

#: How metric names are shown; other names are shown as they are.
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "precision": "Precision",
    "recall": "Recall",
    "f1": "F1",
    "roc_auc": "ROC AUC",
    "pr_auc": "PR AUC (average precision)",
    "log_loss": "Log loss",
    "ece": "Expected calibration error",
    "brier": "Brier score",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
    "mape": "MAPE (fraction)",
}
#: Shorter names for the columns of slice tables.
SHORT_LABELS = {"pr_auc": "PR AUC", "ece": "ECE", "brier": "Brier", "mape": "MAPE"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_UNDEFINED_LINES = 20  # per slice table, then "and N more"

_CSS = """
:root{--bg:#f6f7f9;--card:#fff;--fg:#1b1f24;--mut:#57606a;--line:#d0d7de;--grid:#eaeef2;
--bad:#b42318;--badbg:#fee4e2;--ok:#1a7f37;--okbg:#dcfae6;--warn:#8a5300;--warnbg:#fef0c7}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;
--mut:#9198a1;--line:#30363d;--grid:#21262d;--bad:#ff8a80;--badbg:#4a1512;--ok:#6fdd8b;
--okbg:#0f3d1f;--warn:#f5c46b;--warnbg:#3d2c05}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.wrap{max-width:1100px;margin:0 auto;padding:0 20px 40px}
header{padding:28px 0 8px}
h1{font-size:26px;margin:0 0 6px;overflow-wrap:anywhere}
h2{font-size:18px;margin:28px 0 10px}
h3{font-size:15px;margin:18px 0 8px}
.meta{display:flex;flex-wrap:wrap;gap:6px 28px;color:var(--mut);margin:0}
.meta b{color:var(--fg);font-weight:600}
.meta span{overflow-wrap:anywhere}
p,ul{margin:6px 0}
.mut{color:var(--mut)}
.use{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;
white-space:pre-wrap;overflow-wrap:anywhere}
table{border-collapse:collapse;font-size:13px;background:var(--card);border:1px solid var(--line);
border-radius:8px;overflow:hidden;margin:6px 0}
th,td{padding:6px 10px;text-align:left;border-bottom:1px solid var(--grid);vertical-align:top;
overflow-wrap:anywhere}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--mut);
background:var(--bg)}
tbody th{text-transform:none;letter-spacing:0;font-size:13px;font-weight:600;color:var(--fg);
white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:last-child td{border-bottom:0}
.tw{overflow-x:auto}
code{font:13px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.b{display:inline-block;padding:2px 10px;border-radius:10px;font-size:13px;font-weight:600}
.b.k{color:var(--ok);background:var(--okbg)}.b.d{color:var(--bad);background:var(--badbg)}
.b.u{color:var(--warn);background:var(--warnbg)}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(420px,100%),1fr));gap:16px}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px}
figure img{display:block;width:100%;height:auto}
figcaption{color:#57606a;font-size:12px;text-align:center}
footer{color:var(--mut);font-size:12px;padding:8px 0 30px}
"""


# --- values ---------------------------------------------------------------------------------


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _md(text: object) -> str:
    """Markdown text: ``<``/``>`` as entities, so a renderer sees no raw HTML."""
    return str(text).replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: object) -> str:
    """A Markdown table cell: one line, ``|`` escaped."""
    one_line = " ".join(_md(text).split())
    return one_line.replace("|", "\\|") or " "


def _code(text: object) -> str:
    """Text for a Markdown code span: one line, no backticks."""
    return " ".join(str(text).replace("`", "'").split())


def _fmt(x: Any) -> str:
    """A metric value for people: 4 decimals near 1, short otherwise."""
    if x is None:
        return "n/a"
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return str(x)
    v = float(x)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if v == 0:
        return "0"
    if abs(v) < 1e-3:
        return f"{v:.2e}"
    if abs(v) < 1000:
        return f"{v:.4f}"
    return f"{v:,.1f}"


def _rows(x: Any) -> str:
    return f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else str(x)


def _label(metric: str, short: bool = False) -> str:
    if short and metric in SHORT_LABELS:
        return SHORT_LABELS[metric]
    return METRIC_LABELS.get(metric, metric)


def _mapping(value: Any, key: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInputError(
            f"model card: {key!r} must be a mapping, got {type(value).__name__}"
        )
    return value


def _list(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInputError(f"model card: {key!r} must be a list, got {type(value).__name__}")
    return list(value)


def _plot_mime(name: str, data: Any) -> str:
    if not isinstance(data, bytes | bytearray):
        raise InvalidInputError(f"model card: plot {name!r} must be PNG bytes")
    if not bytes(data).startswith(PNG_SIGNATURE):
        raise InvalidInputError(f"model card: plot {name!r} is not a PNG file")
    return "image/png"


# --- the card as data: (title, [blocks]) where a block is text, a table or a list ------------


class _Table:
    def __init__(
        self, head: Sequence[str], rows: list[list[str]], numeric: Sequence[int] = ()
    ) -> None:
        self.head, self.rows, self.numeric = list(head), rows, set(numeric)


class _Items:
    def __init__(self, items: list[str], code: bool = False) -> None:
        self.items, self.code = items, code


class _Text:
    def __init__(self, text: str, muted: bool = False, pre: bool = False) -> None:
        self.text, self.muted, self.pre = text, muted, pre


class _Sub:
    def __init__(self, title: str, code: bool = False) -> None:
        self.title, self.code = title, code


class _Verdict:
    def __init__(self, blessed: bool | None) -> None:
        self.blessed = blessed


class _Plots:
    def __init__(self, plots: list[tuple[str, bytes]]) -> None:
        self.plots = plots


_Block = _Table | _Items | _Text | _Sub | _Verdict | _Plots


def _metrics_blocks(evaluation: Mapping[str, Any]) -> list[_Block]:
    metrics = _mapping(evaluation.get("metrics"), "evaluation.metrics")
    undefined = _mapping(evaluation.get("undefined"), "evaluation.undefined")
    notes = _list(evaluation.get("notes"), "evaluation.notes")
    if not metrics:
        return [_Text("No metrics were computed.", muted=True)]
    rows = []
    for name, value in metrics.items():
        why = undefined.get(name, "") if value is None else ""
        rows.append([_label(str(name)), _fmt(value), str(why)])
    blocks: list[_Block] = []
    where = []
    if evaluation.get("dataset"):
        where.append(f"on {evaluation['dataset']}")
    if evaluation.get("task"):
        where.append(f"task: {evaluation['task']}")
    if where:
        blocks.append(_Text(", ".join(where), muted=True))
    if any(r[2] for r in rows):
        blocks.append(_Table(["Metric", "Value", "Why undefined"], rows, numeric=[1]))
    else:
        blocks.append(_Table(["Metric", "Value"], [r[:2] for r in rows], numeric=[1]))
    if notes:
        blocks.append(_Items([str(n) for n in notes]))
    return blocks


def _slice_blocks(slices: list[Any]) -> list[_Block]:
    if not slices:
        return [_Text("No slices were evaluated.", muted=True)]
    by_column: dict[str, list[Mapping[str, Any]]] = {}
    for i, s in enumerate(slices):
        s = _mapping(s, f"evaluation.slices[{i}]")
        by_column.setdefault(str(s.get("column", "")), []).append(s)
    blocks: list[_Block] = []
    for column, items in by_column.items():
        names: list[str] = []
        for s in items:
            for name in _mapping(s.get("metrics"), "slice metrics").get("values") or {}:
                if name not in names:
                    names.append(str(name))
        rows = []
        why: list[str] = []
        for s in items:
            m = _mapping(s.get("metrics"), "slice metrics")
            values = _mapping(m.get("values"), "slice metrics values")
            reasons = _mapping(m.get("undefined"), "slice metrics undefined")
            value = str(s.get("value", ""))
            rows.append([value, _rows(s.get("rows", "")), *(_fmt(values.get(n)) for n in names)])
            for n in names:
                if values.get(n) is None and n in reasons:
                    why.append(f"{value}: {_label(n, short=True)} — {reasons[n]}")
        blocks.append(_Sub(column, code=True))
        blocks.append(
            _Table(
                ["Slice", "Rows", *(_label(n, short=True) for n in names)],
                rows,
                range(1, len(names) + 2),
            )
        )
        if why:
            extra = len(why) - MAX_UNDEFINED_LINES
            shown = why[:MAX_UNDEFINED_LINES] + ([f"and {extra} more"] if extra > 0 else [])
            blocks.append(_Text("n/a means undefined:", muted=True))
            blocks.append(_Items(shown))
    return blocks


def _signature_blocks(signature: Mapping[str, Any]) -> list[_Block]:
    blocks: list[_Block] = []
    for key, title in (("inputs", "Inputs"), ("outputs", "Outputs")):
        fields = _list(signature.get(key), f"signature.{key}")
        if not fields:
            continue
        has_shape = any(isinstance(f, Mapping) and f.get("shape") is not None for f in fields)
        rows = []
        for f in fields:
            f = _mapping(f, f"signature.{key} item")
            row = [str(f.get("name", "")), str(f.get("type", ""))]
            if has_shape:
                shape = f.get("shape")
                row.append("" if shape is None else str(list(shape)))
            rows.append(row)
        blocks.append(_Sub(title))
        blocks.append(_Table(["Name", "Type", *(["Shape"] if has_shape else [])], rows))
    return blocks or [_Text("No signature was recorded.", muted=True)]


def _sections(info: Mapping[str, Any]) -> list[tuple[str, list[_Block]]]:
    name, version = info["name"], info["version"]
    training = _mapping(info.get("training_data"), "training_data")
    evaluation = _mapping(info.get("evaluation"), "evaluation")
    datasets = [str(d) for d in _list(info.get("datasets"), "datasets")]
    plots_in = _mapping(info.get("plots"), "plots")
    gate = _mapping(info.get("gate"), "gate")
    requirements = [str(r) for r in _list(info.get("requirements"), "requirements")]
    signature = _mapping(info.get("signature"), "signature")

    model_rows = [["Name", str(name)], ["Version", str(version)]]
    for key, label in (("flavor", "Flavor"), ("created_at", "Created"), ("run_id", "Run")):
        if info.get(key):
            model_rows.append([label, str(info[key])])
    sections: list[tuple[str, list[_Block]]] = [("The model", [_Table(["", ""], model_rows)])]

    description = info.get("description")
    sections.append(
        (
            "Intended use",
            [_Text(str(description), pre=True)]
            if description
            else [_Text("Not stated.", muted=True)],
        )
    )

    data: list[_Block] = []
    if training:
        label = str(training.get("name", "?"))
        if training.get("version") is not None:
            label += f"/{training['version']}"
        rows = [["Dataset", label]]
        if training.get("rows") is not None:
            rows.append(["Rows", _rows(training["rows"])])
        if training.get("profile_id"):
            rows.append(["Reference profile", str(training["profile_id"])])
        data += [_Sub("Training data"), _Table(["", ""], rows)]
        columns = [str(c) for c in _list(training.get("columns"), "training_data.columns")]
        if columns:
            data += [_Text(f"{len(columns)} columns:", muted=True), _Items(columns, code=True)]
    if evaluation.get("dataset"):
        data += [_Sub("Evaluation data"), _Text(str(evaluation["dataset"]))]
    sections.append(("Data", data or [_Text("No data was recorded.", muted=True)]))

    sections.append(("Metrics", _metrics_blocks(evaluation)))
    sections.append(("Slices", _slice_blocks(_list(evaluation.get("slices"), "slices"))))

    plots = [(str(k), v) for k, v in plots_in.items()]
    for k, v in plots:
        _plot_mime(k, v)
    sections.append(("Plots", [_Plots(plots)] if plots else [_Text("No plots.", muted=True)]))

    if gate:
        blessed = bool(gate.get("blessed"))
        reasons = [str(r) for r in _list(gate.get("reasons"), "gate.reasons")]
        verdict: list[_Block] = [_Verdict(blessed)]
        verdict.append(_Items(reasons) if reasons else _Text("No reasons recorded.", muted=True))
    else:
        verdict = [_Verdict(None), _Text("No gate was run for this version.", muted=True)]
    sections.append(("Gate verdict", verdict))

    sections.append(("Inputs and outputs", _signature_blocks(signature)))
    sections.append(
        (
            "Requirements",
            [_Items(requirements, code=True)]
            if requirements
            else [_Text("None recorded.", muted=True)],
        )
    )

    lineage_rows = []
    if info.get("run_id"):
        lineage_rows.append(["Training run", str(info["run_id"])])
    for d in datasets:
        lineage_rows.append(["Dataset", d])
    if training.get("profile_id"):
        lineage_rows.append(["Reference profile", str(training["profile_id"])])
    if evaluation.get("dataset"):
        lineage_rows.append(["Evaluated on", str(evaluation["dataset"])])
    sections.append(
        (
            "Lineage",
            [_Table(["", ""], lineage_rows)]
            if lineage_rows
            else [_Text("No lineage recorded.", muted=True)],
        )
    )
    return sections


# --- Markdown -------------------------------------------------------------------------------


def _md_block(block: _Block) -> str:
    if isinstance(block, _Table):
        head = block.head if any(block.head) else [" ", " "]
        sep = ["---:" if i in block.numeric else "---" for i in range(len(head))]
        lines = ["| " + " | ".join(_cell(h) for h in head) + " |", "| " + " | ".join(sep) + " |"]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
        return "\n".join(lines)
    if isinstance(block, _Items):
        if block.code:
            return "\n".join(f"- `{_code(i)}`" for i in block.items)
        return "\n".join(f"- {' '.join(_md(i).split())}" for i in block.items)
    if isinstance(block, _Text):
        text = _md(block.text)
        return f"_{text}_" if block.muted else text
    if isinstance(block, _Sub):
        if block.code:
            return f"### `{_code(block.title) or '(unnamed)'}`"
        return f"### {' '.join(_md(block.title).split())}"
    if isinstance(block, _Verdict):
        if block.blessed is None:
            return "**Not gated**"
        return "**Blessed**" if block.blessed else "**Not blessed**"
    return "\n\n".join(
        f"![{_md(n).replace('[', '(').replace(']', ')')}](plots/{quote(n)})" for n, _ in block.plots
    )


def _markdown(title: str, sections: list[tuple[str, list[_Block]]]) -> str:
    parts = [f"# {' '.join(_md(title).split())}"]
    for heading, blocks in sections:
        parts.append(f"## {heading}")
        parts.extend(_md_block(b) for b in blocks)
    parts.append("_Made by loopml._")
    return "\n\n".join(parts) + "\n"


# --- HTML -----------------------------------------------------------------------------------


def _html_block(block: _Block) -> str:
    if isinstance(block, _Table):
        head = ""
        if any(block.head):
            head = (
                "<thead><tr>"
                + "".join(
                    f"<th{' class=n' if i in block.numeric else ''}>{_esc(h)}</th>"
                    for i, h in enumerate(block.head)
                )
                + "</tr></thead>"
            )
        body = "".join(
            "<tr>"
            + "".join(
                f"<td{' class=n' if i in block.numeric else ''}>{_esc(c)}</td>"
                if any(block.head)
                else (f"<th>{_esc(c)}</th>" if i == 0 else f"<td>{_esc(c)}</td>")
                for i, c in enumerate(row)
            )
            + "</tr>"
            for row in block.rows
        )
        return f'<div class="tw"><table>{head}<tbody>{body}</tbody></table></div>'
    if isinstance(block, _Items):
        wrap = ("<code>", "</code>") if block.code else ("", "")
        items = "".join(f"<li>{wrap[0]}{_esc(i)}{wrap[1]}</li>" for i in block.items)
        return f"<ul>{items}</ul>"
    if isinstance(block, _Text):
        if block.pre:
            return f'<div class="use">{_esc(block.text)}</div>'
        cls = ' class="mut"' if block.muted else ""
        return f"<p{cls}>{_esc(block.text)}</p>"
    if isinstance(block, _Sub):
        if block.code:
            return f"<h3><code>{_esc(block.title)}</code></h3>"
        return f"<h3>{_esc(block.title)}</h3>"
    if isinstance(block, _Verdict):
        if block.blessed is None:
            return '<p><span class="b u">not gated</span></p>'
        if block.blessed:
            return '<p><span class="b k">blessed</span></p>'
        return '<p><span class="b d">not blessed</span></p>'
    figures = []
    for name, data in block.plots:
        b64 = base64.b64encode(bytes(data)).decode("ascii")
        figures.append(
            f'<figure><img alt="{_esc(name)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{_esc(name)}</figcaption></figure>"
        )
    return f'<div class="plots">{"".join(figures)}</div>'


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")


def _html(title: str, info: Mapping[str, Any], sections: list[tuple[str, list[_Block]]]) -> str:
    meta = []
    for key, label in (("flavor", "Flavor"), ("created_at", "Created"), ("run_id", "Run")):
        if info.get(key):
            meta.append(f"<span><b>{label}</b> {_esc(info[key])}</span>")
    gate = info.get("gate")
    if isinstance(gate, Mapping):
        badge = "k" if gate.get("blessed") else "d"
        word = "blessed" if gate.get("blessed") else "not blessed"
        meta.append(f'<span><span class="b {badge}">{word}</span></span>')
    body = "".join(
        f'<section id="{_anchor(h)}"><h2>{_esc(h)}</h2>{"".join(_html_block(b) for b in blocks)}'
        "</section>"
        for h, blocks in sections
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f'<div class="wrap"><header><h1>{_esc(title)}</h1>'
        f'<p class="meta">{"".join(meta)}</p></header>{body}'
        "<footer>Made by loopml.</footer></div></body></html>\n"
    )


def model_card(info: Mapping[str, Any]) -> tuple[str, str]:
    """The model card of one model version, as ``(markdown, html)``.

    ``info`` needs ``name`` and ``version``; every other key is optional: ``flavor``,
    ``description`` (intended use), ``created_at``, ``run_id``, ``datasets`` (``"name/version"``
    strings), ``training_data`` (``name, version, rows, columns, profile_id``), ``evaluation``
    (``dataset, task, metrics, undefined, notes, slices``: slices as ``SliceResult.to_dict()``),
    ``plots`` (file name → PNG bytes), ``gate`` (``blessed, reasons``), ``requirements`` and
    ``signature`` (``inputs``/``outputs``: lists of ``{name, type}``). The same ``info`` always
    gives the same text.
    """
    if not isinstance(info, Mapping):
        raise InvalidInputError(f"model card: info must be a mapping, got {type(info).__name__}")
    missing = [k for k in ("name", "version") if info.get(k) in (None, "")]
    if missing:
        raise InvalidInputError(f"model card: info needs {' and '.join(missing)}")
    title = f"Model card: {info['name']} v{info['version']}"
    sections = _sections(info)
    return _markdown(title, sections), _html(title, info, sections)
