"""Charts drawn on the server as SVG: readable without JavaScript, and allowed by the
Content-Security-Policy (colours are presentation attributes, not styles).

Each chart is decoration beside a table of the same figures, which screen readers
read; the SVG is hidden from them so the figures are not read twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import format_number
from markupsafe import Markup, escape

#: Colours with at least 3:1 contrast against white (WCAG 1.4.11) and apart from each
#: other also in grey: dark blue, green, red, amber, grey, violet.
PALETTE = ("#0b4f8a", "#1d6b2f", "#a1161c", "#9a6200", "#5a5a5a", "#6a3d9a")

WIDTH = 640
HEIGHT = 260
#: Room for the axis labels on the left and below, and the legend on top.
LEFT, BOTTOM, TOP = 48, 40, 34


@dataclass(frozen=True)
class Series:
    """One stacked part of every column: its name and a value per category."""

    label: str
    values: Sequence[int]


def _svg(height: int, body: str, title: str) -> Markup:
    # Safe by construction: ``body`` holds only numbers and texts passed through escape().
    return Markup(  # noqa: S704
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="presentation" aria-hidden="true" focusable="false" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>'
    )


def _legend(labels: Sequence[str]) -> str:
    parts, x = [], LEFT
    for index, label in enumerate(labels):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="8" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="19" font-size="14">{escape(label)}</text>'
        )
        x += 30 + 8 * len(label)
    return "".join(parts)


def stacked_columns(categories: Sequence[str], series: Sequence[Series], title: str) -> Markup:
    """A column per category, each stacked from the series' values, with a legend."""
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top = max([*totals, 1])
    plot_height = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - 8) / max(len(categories), 1)
    parts = [
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - 8}" y2="{HEIGHT - BOTTOM}" '
        f'stroke="#4a4a4a"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" font-size="13" text-anchor="end">'
        f"{escape(format_number(top))}</text>",
        f'<line x1="{LEFT}" y1="{TOP}" x2="{WIDTH - 8}" y2="{TOP}" stroke="#c8c8c8"/>',
    ]
    for i, category in enumerate(categories):
        x = LEFT + i * step + step * 0.15
        y: float = HEIGHT - BOTTOM
        for index, part in enumerate(series):
            height = plot_height * part.values[i] / top
            if height > 0:
                y -= height
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                    f'height="{height:.1f}" fill="{PALETTE[index % len(PALETTE)]}"/>'
                )
        # A second line ("2026") under a label only where given: narrow columns.
        lines = "".join(
            f'<tspan x="{x + step * 0.35:.1f}" dy="{0 if n == 0 else 14}">{escape(line)}</tspan>'
            for n, line in enumerate(category.split("\n"))
        )
        parts.append(
            f'<text y="{HEIGHT - BOTTOM + 15}" font-size="12" text-anchor="middle">{lines}</text>'
        )
    parts.append(_legend([s.label for s in series]))
    return _svg(HEIGHT, "".join(parts), title)


def bars(items: Sequence[tuple[str, int]], title: str) -> Markup:
    """A horizontal bar per item, its label on the left and its value at its end."""
    row, label_width = 26, 220
    height = max(len(items), 1) * row + 8
    top = max([value for _, value in items] + [1])
    room = WIDTH - label_width - 60
    parts = []
    for i, (label, value) in enumerate(items):
        y = 4 + i * row
        width = room * value / top
        shown = label if len(label) <= 30 else label[:29] + "…"
        parts.append(
            f'<text x="{label_width - 6}" y="{y + 14}" font-size="14" text-anchor="end">'
            f"{escape(shown)}</text>"
            f'<rect x="{label_width}" y="{y + 2}" width="{width:.1f}" height="{row - 6}" '
            f'fill="{PALETTE[0]}"/>'
            f'<text x="{label_width + width + 4:.1f}" y="{y + 14}" font-size="14">'
            f"{escape(format_number(value))}</text>"
        )
    return _svg(height, "".join(parts), title)
