"""How a report page looks: its CSS, figures as embedded PNGs, tables, fact lists.

Figures are PNGs at :data:`DPI` (sharp on high-density screens) whose ``width`` and
``height`` attributes give their logical size, 100 CSS pixels per inch of the figure,
so a 7.5-inch figure is shown 750 pixels wide (its 9-pt text at 12.5 pixels) and only
shrinks to fit a narrower screen. Every image has alt text. Numbers are right-aligned
in tabular digits; long values (checksums, commands) wrap instead of overflowing.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

DPI = 200
"""Resolution of the embedded figures: 2 image pixels per CSS pixel."""

CSS_PX_PER_INCH = 100
"""Logical size of a figure inch on the page (matplotlib's default screen dpi)."""

PHONE_FIGURE_WIDTH = 600
"""On screens narrower than 640 CSS pixels, wider figures are shown this wide."""

STYLE = """
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #dde1e6; --accent: #0072b2;
  --warn: #fff4d6; --warn-edge: #e69f00; --code: #f5f6f8; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); max-width: 62rem; margin: 0 auto; padding: 1.5rem 1rem 4rem; }
h1 { font-size: 1.8rem; line-height: 1.2; margin: 0.2rem 0 1rem; }
h2 { font-size: 1.3rem; margin: 2.4rem 0 0.6rem; padding-bottom: 0.2rem;
  border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 1.4rem 0 0.4rem; }
p { margin: 0.5rem 0; max-width: 46rem; }
.kicker { color: var(--muted); text-transform: uppercase; letter-spacing: 0.06em;
  font-size: 0.8rem; margin: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem;
  margin: 0 0 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; min-width: 0; overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0; }
.card { flex: 1 1 12rem; border: 1px solid var(--rule); border-radius: 8px;
  padding: 0.7rem 1rem; }
.card .value { font-size: 1.9rem; font-weight: 650; color: var(--accent);
  font-variant-numeric: tabular-nums; }
.card .label { color: var(--muted); font-size: 0.9rem; }
.warn { background: var(--warn); border-left: 4px solid var(--warn-edge);
  padding: 0.6rem 0.9rem; border-radius: 4px; }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: 0.85rem; }
pre { background: var(--code); padding: 0.8rem; border-radius: 6px; overflow-x: auto; }
pre.wrap { white-space: pre-wrap; }
pre.wrap span { white-space: nowrap; }
code.hash { overflow-wrap: anywhere; word-break: break-all; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.4rem 0; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid var(--rule); }
th { text-align: left; font-weight: 600; background: var(--code); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.low { color: #b3470d; font-weight: 600; }
.kv td:first-child { color: var(--muted); white-space: nowrap; }
.kv td + td { overflow-wrap: anywhere; }
.columns { display: flex; flex-wrap: wrap; gap: 0 1.6rem; align-items: flex-start; }
.scroll { overflow-x: auto; max-width: 100%; }
figure { margin: 1rem 0; }
figure img { display: block; max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 0.9rem; margin-top: 0.3rem;
  max-width: 46rem; }
details summary { cursor: pointer; color: var(--accent); margin: 0.4rem 0; }
@media (max-width: 640px) {
  body { font-size: 15px; padding: 1rem 0.8rem 3rem; }
  h1 { font-size: 1.45rem; }
  dl.facts { grid-template-columns: 1fr; gap: 0 0; }
  dl.facts dd { margin-bottom: 0.4rem; }
  dl.facts dt { font-size: 0.85rem; font-weight: 600; }
  .cards { gap: 0.5rem; }
  .card { padding: 0.4rem 0.8rem; }
  .card .value { font-size: 1.4rem; }
  figure.wide .frame { overflow-x: auto; }
  figure.wide img { max-width: none; width: 600px; }
}
"""


def e(text: Any) -> str:
    """``text`` escaped for HTML."""
    return html.escape(str(text))


def figure_html(fig: Figure, alt: str, caption: str = "") -> str:
    """A ``<figure>`` holding ``fig`` as an embedded PNG (closed afterwards).

    On a phone, a figure wider than :data:`PHONE_FIGURE_WIDTH` is shown at that
    width (its 9-pt text still 10 CSS pixels) and scrolls sideways inside its box,
    instead of shrinking until it cannot be read.
    """
    buffer = io.BytesIO()
    # The figure's own size (no "tight" box, which can add a margin): every plots
    # function lays itself out within at most 7.5 inches.
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    png = buffer.getvalue()
    width, height = (int.from_bytes(png[16 + 4 * i : 20 + 4 * i]) for i in range(2))
    scale = CSS_PX_PER_INCH / DPI
    data = base64.b64encode(png).decode("ascii")
    img = (
        f'<img alt="{e(alt)}" width="{round(width * scale)}" '
        f'height="{round(height * scale)}" src="data:image/png;base64,{data}">'
    )
    cap = f"<figcaption>{e(caption)}</figcaption>" if caption else ""
    wide = ' class="wide"' if width * scale > PHONE_FIGURE_WIDTH else ""
    return f'<figure{wide}><div class="frame">{img}</div>{cap}</figure>'


def table_html(
    rows: Sequence[Sequence[Any]],
    header: Sequence[str],
    *,
    numeric: Sequence[bool] | None = None,
    css: str = "",
) -> str:
    """A table; columns flagged in ``numeric`` are right-aligned in tabular digits.

    A cell is a value, or ``(value, css_class)`` to mark it (e.g. ``"low"``).
    """
    numeric = numeric or [False] * len(header)
    num = ["num" if n else "" for n in numeric]

    def cell(value: Any, column: str) -> str:
        value, mark = value if isinstance(value, tuple) else (value, "")
        classes = " ".join(c for c in (column, mark) if c)
        return (
            f'<td class="{classes}">{e(value)}</td>'
            if classes
            else f"<td>{e(value)}</td>"
        )

    head = "".join(
        f'<th class="{c}">{e(h)}</th>' if c else f"<th>{e(h)}</th>"
        for c, h in zip(num, header, strict=True)
    )
    body = "".join(
        "<tr>" + "".join(cell(v, c) for v, c in zip(row, num, strict=True)) + "</tr>"
        for row in rows
    )
    table_class = f' class="{css}"' if css else ""
    return (
        f"<table{table_class}><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def facts(items: Sequence[tuple[str, str]]) -> str:
    """A definition list; values are HTML already."""
    return (
        '<dl class="facts">'
        + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in items)
        + "</dl>"
    )


def cards(items: Sequence[tuple[str, str]]) -> str:
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="value">{e(value)}</div>'
            f'<div class="label">{e(label)}</div></div>'
            for value, label in items
        )
        + "</div>"
    )
