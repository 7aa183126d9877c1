"""Bar charts as inline SVG, drawn on the server: the KPI page works offline and loads no
script or stylesheet from anywhere. Pure drawing code (text in, text out).

A chart is a picture for sighted readers only: it is `role="img"` with a title, and the
page puts its figures in a table beside it (screen readers read the table). A bar of a
week with nothing measured is left out and its label says "geen", so an empty week is
never drawn as 0 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 640
HEIGHT = 220
LEFT = 44  # room for the axis labels
BOTTOM = 36  # room for the week labels
TOP = 12
BAR = "#0b4f8a"  # the page's link colour: 8.6:1 on white
GRID = "#767676"  # 4.5:1 on white, so the axis text stays readable


@dataclass(frozen=True)
class Point:
    label: str  # e.g. "wk 14"
    value: float | None  # None: nothing measured in this period


def _nice_max(values: Sequence[float], percent: bool) -> float:
    """The top of the axis: 100 for shares; for counts the next 1/2/5 × 10^n above the max."""
    if percent:
        return 100.0
    top = max(values, default=0.0)
    if top <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= top:
        step *= 10
    for factor in (1, 2, 5, 10):
        if top <= factor * step:
            return factor * step
    return 10 * step


def _figure(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.0f}%"
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def bar_chart(chart_id: str, title: str, points: Sequence[Point], *, percent: bool) -> str:
    """An SVG bar chart of `points` (shares in percent, or counts), titled `title`."""
    measured = [p.value for p in points if p.value is not None]
    top = _nice_max(measured, percent)
    plot_w = WIDTH - LEFT - 8
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(points), 1)
    bar_w = max(min(slot * 0.7, 48.0), 2.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"'
        f' width="100%" role="img" aria-labelledby="{chart_id}-title" class="chart">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}"'
            f' stroke="{GRID}" stroke-width="{1 if fraction == 0 else 0.5}"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12"'
            f' fill="#1a1a1a">{escape(_figure(top * fraction, percent))}</text>'
        )
    # Label every week when they fit, else every n-th (26 labels do not fit in 640 px).
    every = max(1, -(-len(points) // 13))
    for i, point in enumerate(points):
        x = LEFT + slot * i + (slot - bar_w) / 2
        centre = x + bar_w / 2
        if point.value is not None:
            h = plot_h * min(max(point.value, 0.0), top) / top
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}"'
                f' height="{h:.1f}" fill="{BAR}"/>'
            )
        else:
            parts.append(
                f'<text x="{centre:.1f}" y="{TOP + plot_h - 4:.1f}" text-anchor="middle"'
                ' font-size="11" fill="#1a1a1a">geen</text>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 16:.1f}" text-anchor="middle"'
                f' font-size="12" fill="#1a1a1a">{escape(point.label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
