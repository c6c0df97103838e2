"""A :class:`~loopml.data._drift_report.DriftReport` as one self-contained HTML page.

The page works offline and from a file: CSS is inline, charts are inline SVG drawn here in
Python, and there is no JavaScript at all (the "only drifted" switch is a CSS checkbox). Every
string that comes from the data (column names, category labels, notes, dataset labels) goes
through :func:`html.escape`.

Layout: a header with the dataset verdict, a sticky bar with the legend and the switch, a
summary table (drifted columns first), then one card per column with its reference vs current
histogram and the test details. Charts stay small: coordinates are rounded to one decimal, the
bars of a series are one ``<path>``, and styling lives in CSS classes, so 100 columns with 30
bins each weigh a few hundred kilobytes.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from loopml.data._drift_report import P_VALUE_TESTS, ColumnDrift, DriftReport, Histogram

MAX_BARS = 20  # categorical charts show at most this many categories, then "other"
LABEL_CHARS = 22  # category labels longer than this are cut in the chart (full in the tooltip)

# Chart geometry (SVG user units; the SVG scales to the card width).
_W = 560.0
_NUM_H = 176.0
_NUM_LEFT = 40.0
_NUM_RIGHT = 552.0
_NUM_TOP = 10.0
_NUM_BASE = 150.0
_CAT_ROW = 20.0
_CAT_LABEL = 150.0  # right edge of the category labels
_CAT_BARS = (156.0, 456.0)  # where bars may go
_CAT_TOP = 4.0

_CSS = """
:root{--ref:#0072b2;--cur:#d55e00;--bg:#f6f7f9;--card:#fff;--fg:#1b1f24;--mut:#57606a;
--line:#d0d7de;--grid:#eaeef2;--bad:#b42318;--badbg:#fee4e2;--warn:#8a5300;--warnbg:#fef0c7;
--ok:#1a7f37;--okbg:#dcfae6;--hov:rgba(0,0,0,.06)}
@media (prefers-color-scheme:dark){:root{--ref:#56b4e9;--cur:#f0a04b;--bg:#0d1117;
--card:#161b22;--fg:#e6edf3;--mut:#9198a1;--line:#30363d;--grid:#21262d;--bad:#ff8a80;
--badbg:#4a1512;--warn:#f5c46b;--warnbg:#3d2c05;--ok:#6fdd8b;--okbg:#0f3d1f;
--hov:rgba(255,255,255,.08)}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.wrap{max-width:1240px;margin:0 auto;padding:0 20px}
header.top{padding-top:28px;padding-bottom:18px}
h1{font-size:26px;margin:0 0 4px;display:flex;align-items:center;gap:12px}
h1 .dot{width:14px;height:14px;border-radius:50%;background:var(--ok);flex:none}
h1.bad .dot{background:var(--bad)}h1.none .dot{background:var(--mut)}
.sub{font-size:16px;margin:0 0 12px}
.meta{display:flex;flex-wrap:wrap;gap:8px 28px;color:var(--mut);margin:0}
.meta b{color:var(--fg);font-weight:600}
.meta span{overflow-wrap:anywhere}
.meter{height:8px;max-width:520px;background:var(--grid);border-radius:4px;position:relative;
margin:0 0 14px;overflow:visible}
.meter i{display:block;height:100%;border-radius:4px;background:var(--ok)}
.bad+.sub+.meter i{background:var(--bad)}
.meter s{position:absolute;top:-4px;bottom:-4px;width:2px;background:var(--fg);text-decoration:none}
.bar{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid var(--line);
padding:8px 0;margin-bottom:16px}
.bar .wrap{display:flex;align-items:center;gap:18px;flex-wrap:wrap}
.key{display:inline-flex;align-items:center;gap:6px}
.key i{width:14px;height:14px;border-radius:3px;display:inline-block}
.key .r{background:var(--ref)}.key .c{background:var(--cur)}
.key span{max-width:320px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
#only{position:absolute;opacity:0;width:1px;height:1px}
.sw{margin-left:auto;cursor:pointer;user-select:none;display:inline-flex;align-items:center;gap:8px}
.sw i{width:32px;height:18px;border-radius:9px;background:var(--line);position:relative}
.sw i:after{content:"";position:absolute;top:2px;left:2px;width:14px;height:14px;
border-radius:50%;background:var(--card);transition:left .15s}
#only:checked~.bar .sw i{background:var(--bad)}
#only:checked~.bar .sw i:after{left:16px}
#only:focus-visible~.bar .sw{outline:2px solid var(--ref);outline-offset:3px}
#only:checked~main .nd{display:none}
h2{font-size:17px;margin:22px 0 10px}
table{border-collapse:collapse;width:100%;font-size:13px;background:var(--card);
border:1px solid var(--line);
border-radius:8px;overflow:hidden}
th,td{padding:6px 10px;text-align:left;border-bottom:1px solid var(--grid);vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--mut);
background:var(--bg)}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr:last-child td{border-bottom:0}
tr.d td:first-child{box-shadow:inset 3px 0 var(--bad)}
tr.u td:first-child{box-shadow:inset 3px 0 var(--warn)}
td.t{white-space:nowrap}td.w{white-space:normal}
td.col{max-width:260px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.tw{overflow-x:auto}
a{color:inherit}
.mut{color:var(--mut)}
.b{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;
white-space:nowrap}
.b.d{color:var(--bad);background:var(--badbg)}
.b.u{color:var(--warn);background:var(--warnbg)}
.b.k{color:var(--ok);background:var(--okbg)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(520px,100%),1fr));gap:16px;
align-items:start;margin-bottom:40px}
.card{scroll-margin-top:56px;background:var(--card);border:1px solid var(--line);
border-radius:8px;padding:14px 16px}
.card.d{border-top:3px solid var(--bad)}
.card.u{border-top:3px solid var(--warn)}
.card h3{font-size:15px;margin:0;display:flex;gap:8px;align-items:baseline;flex-wrap:wrap}
.card h3 code{font:600 15px/1.3 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
overflow-wrap:anywhere}
.card .k{color:var(--mut);font-size:13px;margin:2px 0 6px}
svg{display:block;width:100%;height:auto;overflow:visible}
svg text{font-size:11px;fill:var(--mut)}
svg .e{text-anchor:end}svg .m{text-anchor:middle}
svg .r{stroke:var(--ref)}svg .c{stroke:var(--cur)}svg .r,svg .c{fill:none}
svg .g{stroke:var(--grid);stroke-width:1}
svg .a{stroke:var(--line);stroke-width:1}
svg .o{font-style:italic}
svg .h{stroke:transparent}svg .h path:hover{stroke:var(--hov)}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:10px 0 0;font-size:13px}
dt{color:var(--mut)}dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.note{margin:8px 0 0;padding:6px 10px;border-radius:6px;background:var(--bg);font-size:13px;
overflow-wrap:anywhere}
.empty{background:var(--card);border:1px dashed var(--line);border-radius:8px;padding:28px;
text-align:center;color:var(--mut)}
.nochart{color:var(--mut);font-size:13px;padding:18px 0;text-align:center}
footer{color:var(--mut);font-size:12px;padding:0 0 30px}
@media (max-width:600px){.bar{position:static}td.col{max-width:180px}}
"""


# --- formatting -----------------------------------------------------------------------------


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def fmt_stat(x: float | None) -> str:
    """A statistic for people: ``3.2e-21`` for tiny p-values, ``0.1234`` for distances."""
    if x is None:
        return "n/a"
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "\u2212∞"
    if x == 0:
        return "0"
    ax = abs(x)
    if ax < 1e-3:
        return f"{x:.1e}"
    if ax < 1000:
        return f"{x:.4f}"
    return f"{x:.4g}"


def fmt_num(x: float) -> str:
    """A threshold, a bin edge or an error band: short, no trailing zeros."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "\u2212∞"
    if x == 0:
        return "0"
    return f"{x:.4g}"


def _pct(share: float) -> str:
    if 0 < share < 0.0005:
        return "<0.1%"
    return f"{share * 100:.1f}%"


def _tick(share: float) -> str:
    return f"{share * 100:.3g}%"


def _nice(top: float) -> float:
    """The axis maximum: the smallest round number at or above ``top``."""
    if not math.isfinite(top) or top <= 0:
        return 1.0
    e = math.floor(math.log10(top))
    for m in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if top <= m * 10.0**e * (1 + 1e-9):
            return m * 10.0**e
    return top


def _rows(n: int) -> str:
    return f"{n:,}"


def _c(v: float) -> str:
    """An SVG coordinate: one decimal, no ``.0``."""
    s = f"{v:.1f}"
    if s.endswith(".0"):
        s = s[:-2]
    return "0" if s == "-0" else s


def _cut(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean(values: Sequence[float]) -> list[float]:
    """Shares fit to draw: non-finite and negative values become 0."""
    return [v if math.isfinite(v) and v > 0 else 0.0 for v in values]


def _rule(c: ColumnDrift) -> str:
    """When the test calls drift, in words."""
    t = fmt_num(c.threshold)
    if c.test == "ks":
        return f"drift when p-value ≤ {t}"
    if c.test in P_VALUE_TESTS:
        return f"drift when p-value < {t}"
    return f"drift when distance ≥ {t}"


def _statistic(c: ColumnDrift) -> str:
    s = fmt_stat(c.statistic)
    if c.error is not None and math.isfinite(c.error):
        s += f" ± {fmt_num(c.error)}"
    return s


def _badges(c: ColumnDrift) -> str:
    out = []
    if c.drifted:
        out.append('<span class="b d">drifted</span>')
    if c.uncertain:
        out.append('<span class="b u">uncertain</span>')
    if not out:
        out.append('<span class="b k">ok</span>')
    return " ".join(out)


def _row_class(c: ColumnDrift) -> str:
    if c.drifted:
        return "d"
    return "u nd" if c.uncertain else "nd"


def _missing(missing: int, rows: int) -> str:
    if missing <= 0:
        return "0"
    total = missing + rows
    share = f" ({missing / total * 100:.1f}%)" if total > 0 else ""
    return f"{_rows(missing)}{share}"


def _missing_pair(c: ColumnDrift) -> str:
    if c.reference_missing <= 0 and c.current_missing <= 0:
        return "<span class=mut>none</span>"
    ref = _missing(c.reference_missing, c.reference_rows)
    return f"{ref} / {_missing(c.current_missing, c.current_rows)}"


# --- charts ---------------------------------------------------------------------------------


def _numerical_svg(h: Histogram, name: str) -> str:
    ref, cur = _clean(h.reference), _clean(h.current)
    n = min(len(ref), len(cur))
    if n == 0:
        return '<p class="nochart">No values to chart.</p>'
    ref, cur = ref[:n], cur[:n]
    edges = h.edges if h.edges is not None and len(h.edges) == n + 1 else None
    top = _nice(max(max(ref), max(cur)))
    plot_h = _NUM_BASE - _NUM_TOP
    bw = (_NUM_RIGHT - _NUM_LEFT) / n
    gap = bw * 0.16 if bw > 4 else 0.0
    w = (bw - gap) / 2
    # Bars are vertical strokes as wide as a bar, from the baseline up: "M x base V top".
    scale = plot_h / top
    base = _c(_NUM_BASE)
    if edges is not None:
        names = [fmt_num(e) for e in edges]
        where = [f"{names[i]} \u2013 {names[i + 1]}" for i in range(n)]
    else:
        where = [f"bin {i + 1}" for i in range(n)]
    paths: dict[str, list[str]] = {"r": [], "c": []}
    hover: list[str] = []
    for i in range(n):
        x0 = _NUM_LEFT + i * bw
        for cls, share, x in (("r", ref[i], x0 + gap / 2), ("c", cur[i], x0 + gap / 2 + w)):
            bh = share * scale
            if bh >= 0.05:
                paths[cls].append(f"M{_c(x + w / 2)} {base}V{_c(_NUM_BASE - bh)}")
        # Edges are formatted numbers: nothing to escape in the tooltip.
        tip = f"{where[i]}: ref {_pct(ref[i])} · cur {_pct(cur[i])}"
        hover.append(f'<path d="M{_c(x0 + bw / 2)} 0V{base}"><title>{tip}</title></path>')
    mid_y = _NUM_TOP + plot_h / 2
    parts = [
        f'<svg viewBox="0 0 {_c(_W)} {_c(_NUM_H)}" role="img" '
        f'aria-label="{_esc("Histogram of " + name + ", reference vs current")}">',
        f'<path class="g" d="M{_c(_NUM_LEFT)} {_c(_NUM_TOP)}H{_c(_NUM_RIGHT)}'
        f'M{_c(_NUM_LEFT)} {_c(mid_y)}H{_c(_NUM_RIGHT)}"/>',
        f'<text class="e" x="{_c(_NUM_LEFT - 6)}" y="{_c(_NUM_TOP + 4)}">{_tick(top)}</text>',
        f'<text class="e" x="{_c(_NUM_LEFT - 6)}" y="{_c(mid_y + 4)}">{_tick(top / 2)}</text>',
        f'<text class="e" x="{_c(_NUM_LEFT - 6)}" y="{_c(_NUM_BASE + 4)}">0</text>',
    ]
    for cls in ("r", "c"):
        if paths[cls]:
            parts.append(f'<path class="{cls}" stroke-width="{_c(w)}" d="{"".join(paths[cls])}"/>')
    parts.append(f'<path class="a" d="M{_c(_NUM_LEFT)} {_c(_NUM_BASE)}H{_c(_NUM_RIGHT)}"/>')
    if edges is not None:
        y = _NUM_BASE + 16
        ticks = [(0, ""), (n, "e")]
        if n >= 4 and n % 2 == 0:
            ticks.insert(1, (n // 2, "m"))
        for i, anchor in ticks:
            x = _NUM_LEFT + i * bw
            cls = f' class="{anchor}"' if anchor else ""
            parts.append(
                f'<path class="a" d="M{_c(x)} {_c(_NUM_BASE)}v4"/>'
                f'<text{cls} x="{_c(x)}" y="{_c(y)}">{_esc(fmt_num(edges[i]))}</text>'
            )
    parts.append(f'<g class="h" stroke-width="{_c(bw)}">{"".join(hover)}</g></svg>')
    return "".join(parts)


def _categories(
    h: Histogram,
) -> tuple[list[str], list[float], list[float], tuple[float, float] | None]:
    """At most MAX_BARS categories (the largest), the rest folded into ``other``."""
    n = min(len(h.labels), len(h.reference), len(h.current))
    labels = list(h.labels[:n])
    ref, cur = _clean(h.reference[:n]), _clean(h.current[:n])
    other = None
    if h.other is not None:
        o_ref, o_cur = _clean(h.other)
        other = (o_ref, o_cur)
    if n > MAX_BARS:
        order = sorted(range(n), key=lambda i: -max(ref[i], cur[i]))
        keep = sorted(order[:MAX_BARS])
        rest = order[MAX_BARS:]
        extra = (sum(ref[i] for i in rest), sum(cur[i] for i in rest))
        other = extra if other is None else (other[0] + extra[0], other[1] + extra[1])
        labels = [labels[i] for i in keep]
        ref, cur = [ref[i] for i in keep], [cur[i] for i in keep]
    return labels, ref, cur, other


def _categorical_svg(h: Histogram, name: str) -> str:
    labels, ref, cur, other = _categories(h)
    rows: list[tuple[str, float, float, bool]] = [
        (lab, r, c, False) for lab, r, c in zip(labels, ref, cur, strict=True)
    ]
    if other is not None and (other[0] > 0 or other[1] > 0):
        rows.append(("other", other[0], other[1], True))
    if not rows:
        return '<p class="nochart">No values to chart.</p>'
    top = _nice(max(max(r, c) for _, r, c, _ in rows))
    x0, x1 = _CAT_BARS
    span = x1 - x0
    bar = (_CAT_ROW - 6) / 2
    height = _CAT_TOP + len(rows) * _CAT_ROW + 20
    paths: dict[str, list[str]] = {"r": [], "c": []}
    texts: list[str] = []
    hover: list[str] = []
    for i, (label, r, c, is_other) in enumerate(rows):
        y = _CAT_TOP + i * _CAT_ROW
        for cls, share, yy in (("r", r, y + 2), ("c", c, y + 2 + bar)):
            bw = share / top * span
            if bw >= 0.05:
                paths[cls].append(f"M{_c(x0)} {_c(yy + bar / 2)}h{_c(bw)}")
        text_y = _c(y + _CAT_ROW / 2 + 4)
        shown = "other categories" if is_other else _cut(label)
        ocls = " o" if is_other else ""
        texts.append(
            f'<text class="e{ocls}" x="{_c(_CAT_LABEL)}" y="{text_y}">{_esc(shown)}</text>'
        )
        texts.append(f'<text class="e" x="{_c(_W)}" y="{text_y}">{_pct(r)} → {_pct(c)}</text>')
        full = "other categories" if is_other else label
        tip = f"{full}: ref {_pct(r)} · cur {_pct(c)}"
        hover.append(
            f'<path d="M0 {_c(y + _CAT_ROW / 2)}h{_c(_W)}"><title>{_esc(tip)}</title></path>'
        )
    base = _CAT_TOP + len(rows) * _CAT_ROW
    parts = [
        f'<svg viewBox="0 0 {_c(_W)} {_c(height)}" role="img" '
        f'aria-label="{_esc("Category shares of " + name + ", reference vs current")}">',
        f'<path class="g" d="M{_c(x1)} {_c(_CAT_TOP)}V{_c(base)}'
        f'M{_c((x0 + x1) / 2)} {_c(_CAT_TOP)}V{_c(base)}"/>',
    ]
    for cls in ("r", "c"):
        if paths[cls]:
            parts.append(
                f'<path class="{cls}" stroke-width="{_c(bar)}" d="{"".join(paths[cls])}"/>'
            )
    parts.append(f'<path class="a" d="M{_c(x0)} {_c(_CAT_TOP)}V{_c(base)}"/>')
    parts.extend(texts)
    ty = _c(base + 14)
    parts.append(
        f'<text x="{_c(x0)}" y="{ty}">0</text>'
        f'<text class="m" x="{_c((x0 + x1) / 2)}" y="{ty}">{_tick(top / 2)}</text>'
        f'<text class="m" x="{_c(x1)}" y="{ty}">{_tick(top)}</text>'
    )
    parts.append(f'<g class="h" stroke-width="{_c(_CAT_ROW)}">{"".join(hover)}</g></svg>')
    return "".join(parts)


def _chart(c: ColumnDrift) -> str:
    h = c.histogram
    if h is None:
        return '<p class="nochart">No histogram for this column.</p>'
    if h.edges is not None or (h.kind == "numerical" and not h.labels):
        return _numerical_svg(h, c.column)
    return _categorical_svg(h, c.column)


# --- page -----------------------------------------------------------------------------------


def _label(text: str, default: str, key: bool = False) -> str:
    """A dataset label after its role ("Reference ..."), or nothing when it only repeats it."""
    if not text or text.strip().lower() == default:
        return ""
    if key:
        return f' <span class="mut" title="{_esc(text)}">{_esc(text)}</span>'
    return f" {_esc(text)}"


def _header(report: DriftReport) -> str:
    m = len(report.columns)
    if m == 0:
        title, sub = "Nothing compared", "The report has no columns."
    else:
        title = "Dataset drift detected" if report.drifted else "No dataset drift"
        cmp = "≥" if report.drifted else "<"
        sub = (
            f"{report.number_drifted} of {m} columns drifted (share {report.share_drifted:.2f} "
            f"{cmp} threshold {fmt_num(report.drift_share)})"
        )
    cls = ' class="bad"' if report.drifted else (' class="none"' if m == 0 else "")
    meter = ""
    if m:
        fill = min(max(report.share_drifted, 0.0), 1.0) * 100
        mark = min(max(report.drift_share, 0.0), 1.0) * 100
        meter = (
            f'<div class="meter" title="share of drifted columns vs the dataset threshold">'
            f'<i style="width:{fill:.1f}%"></i><s style="left:{mark:.1f}%"></s></div>'
        )
    meta = [
        f"<span><b>Reference</b>{_label(report.reference, 'reference')} · "
        f"{_rows(report.reference_rows)} rows</span>",
        f"<span><b>Current</b>{_label(report.current, 'current')} · "
        f"{_rows(report.current_rows)} rows</span>",
    ]
    if report.created_at:
        meta.append(f"<span><b>Created</b> {_esc(report.created_at)}</span>")
    meta.append(f"<span><b>Method</b> {_esc(report.method)}</span>")
    return (
        f'<header class="top wrap"><h1{cls}><span class="dot"></span>{_esc(title)}</h1>'
        f'<p class="sub">{_esc(sub)}</p>{meter}<p class="meta">{"".join(meta)}</p></header>'
    )


def _toolbar(report: DriftReport) -> str:
    switch = ""
    if report.columns:
        switch = '<label class="sw" for="only"><i></i>Show only drifted columns</label>'
    ref = _label(report.reference, "reference", key=True)
    cur = _label(report.current, "current", key=True)
    return (
        '<div class="bar"><div class="wrap">'
        f'<span class="key"><i class="r"></i>Reference{ref}</span>'
        f'<span class="key"><i class="c"></i>Current{cur}</span>'
        f"{switch}</div></div>"
    )


def _summary(cols: list[ColumnDrift]) -> str:
    head = (
        "<tr><th>Column</th><th>Kind</th><th>Test</th><th class=n>Statistic</th>"
        "<th class=n>Threshold</th><th>Result</th><th class=n>Missing ref / cur</th></tr>"
    )
    body = []
    for i, c in enumerate(cols):
        name = _esc(c.column)
        body.append(
            f'<tr class="{_row_class(c)}"><td class="col" title="{name}"><a href="#c{i}">{name}</a>'
            f"</td><td>{_esc(c.kind)}</td><td class=t>{_esc(c.test_name)}</td>"
            f"<td class=n>{_esc(_statistic(c))}</td><td class=n>{_esc(fmt_num(c.threshold))}</td>"
            f"<td>{_badges(c)}</td><td class='n w'>{_missing_pair(c)}</td></tr>"
        )
    rows = "".join(body)
    return (
        f'<h2>Columns</h2><div class="tw"><table><thead>{head}</thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def _card(i: int, c: ColumnDrift) -> str:
    name = _esc(c.column)
    details = [
        ("Test", _esc(c.test_name)),
        ("Statistic", _esc(fmt_stat(c.statistic))),
        ("Threshold", f"{_esc(fmt_num(c.threshold))} <span class=mut>({_esc(_rule(c))})</span>"),
    ]
    if c.p_value is not None and c.test not in P_VALUE_TESTS:
        details.append(("p-value", _esc(fmt_stat(c.p_value))))
    if not c.exact:
        band = (
            f"±{_esc(fmt_num(c.error))}, computed from profiles"
            if c.error is not None
            else "computed from profiles"
        )
        if c.uncertain:
            band += " — the threshold lies inside the band"
        details.append(("Error band", band))
    details.append(
        ("Values tested", f"{_rows(c.reference_rows)} reference · {_rows(c.current_rows)} current")
    )
    if c.reference_missing or c.current_missing:
        details.append(
            (
                "Missing",
                f"{_missing(c.reference_missing, c.reference_rows)} reference · "
                f"{_missing(c.current_missing, c.current_rows)} current",
            )
        )
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in details)
    note = f'<p class="note">{_esc(c.note)}</p>' if c.note else ""
    cls = _row_class(c)
    return (
        f'<section class="card {cls}" id="c{i}"><h3><code title="{name}">{name}</code>'
        f"{_badges(c)}</h3><p class=k>{_esc(c.kind)} · {_esc(c.test_name)}</p>"
        f"{_chart(c)}<dl>{dl}</dl>{note}</section>"
    )


def _skipped(report: DriftReport) -> str:
    if not report.skipped:
        return ""
    items = "".join(
        f"<li><code>{_esc(col)}</code> <span class=mut>— {_esc(why)}</span></li>"
        for col, why in report.skipped
    )
    return f"<h2>Not tested</h2><ul>{items}</ul>"


def render_html(report: DriftReport) -> str:
    """The report as one HTML5 page with inline CSS and SVG charts, readable offline."""
    cols = report.sorted_columns()
    if cols:
        main = (
            _summary(cols)
            + _skipped(report)
            + "<h2>Distributions</h2><div class=cards>"
            + "".join(_card(i, c) for i, c in enumerate(cols))
            + "</div>"
        )
    else:
        main = '<p class="empty">No columns were compared, so there is nothing to show.</p>'
        main += _skipped(report)
    title = (
        "Drift report: "
        + ("drifted" if report.drifted else "no drift")
        + f" — {report.reference} vs {report.current}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f'<input type="checkbox" id="only" aria-label="Show only drifted columns">'
        f"{_header(report)}{_toolbar(report)}"
        f'<main class="wrap">{main}</main>'
        '<footer class="wrap">Made by loopml. Statistics are on non-missing, finite values; '
        "chart bars are shares of each side's values.</footer></body></html>"
    )
