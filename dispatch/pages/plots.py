"""Small server-side SVG charts for the supervisor's reports (no JavaScript, no CDN).

`bar_chart` draws stacked bars with a y axis and a legend; it returns markup
that templates embed with `|safe` (every label is escaped here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

# Colour-blind-safe palette (Okabe-Ito), then greys.
PALETTE = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
    "#666666",
]

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 12, 36


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _fmt(value: float) -> str:
    return f"{value:g}" if value < 1000 else f"{value:,.0f}"


def bar_chart(
    labels: Sequence[str],
    series: dict[str, Sequence[float]],
    *,
    title: str,
    unit: str = "",
    max_value: float | None = None,
    counts: bool = False,
    legend: bool | None = None,
) -> str:
    """Stacked bars, one per label; `series` maps a legend name to one value per label.

    `counts`: whole numbers, so the axis never shows a quarter of a call.
    `legend`: shown by default when there is more than one series.
    """
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max_value if max_value is not None else _nice_max(max(totals, default=0))
    if counts:
        top = max(4, math.ceil(top / 4) * 4)
    show_legend = len(series) > 1 if legend is None else legend
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(labels), 1)
    bar_w = max(slot * 0.7, 1)
    full_height = HEIGHT + 22 * _legend_rows(series, show_legend)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {full_height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in range(5):
        value = top * tick / 4
        y = TOP + plot_h - plot_h * tick / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
            f"{_fmt(value)}{escape(unit)}</text>"
        )
    every = max(1, math.ceil(len(labels) / 24))
    for i, label in enumerate(labels):
        x = LEFT + slot * i + (slot - bar_w) / 2
        base = TOP + plot_h
        for colour, (name, values) in zip(PALETTE * 3, series.items(), strict=False):
            value = values[i]
            if value <= 0:
                continue
            h = plot_h * min(value, top) / top
            base -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{escape(name)}, {escape(label)}: '
                f"{_fmt(value)}{escape(unit)}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text x="{LEFT + slot * i + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                f'class="tick" text-anchor="middle">{escape(label)}</text>'
            )
    if show_legend:
        parts.extend(_legend(series))
    parts.append("</svg>")
    return "".join(parts)


def _legend_rows(series: dict[str, Sequence[float]], shown: bool) -> int:
    return math.ceil(len(series) / 4) if shown else 0


def _legend(series: dict[str, Sequence[float]]) -> list[str]:
    parts = []
    for i, (colour, name) in enumerate(zip(PALETTE * 3, series, strict=False)):
        x = LEFT + (i % 4) * 170
        y = HEIGHT + 22 * (i // 4)
        parts.append(
            f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="{y}" class="legend">{escape(name)}</text>'
        )
    return parts
