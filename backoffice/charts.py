"""Server-side SVG charts for the dashboard: no JavaScript, no CDN, every bar a link."""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from django.utils.safestring import SafeString, mark_safe

PALETTE = {
    "trial": "#7aa6c2",
    "active": "#2e8540",
    "paused": "#c2a878",
    "suspended": "#d9822b",
    "cancelled": "#b3261e",
    "expired": "#8c6d9e",
    "purged": "#6b6b6b",
}
DEFAULT_COLOUR = "#417690"


@dataclass
class Bar:
    label: str
    value: int
    url: str = ""
    colour: str = DEFAULT_COLOUR


@dataclass
class Series:
    """One stacked segment of each column of a month-by-month chart."""

    label: str
    values: list[int]
    url: str = ""
    colour: str = DEFAULT_COLOUR


@dataclass
class Figure:
    title: str
    svg: SafeString
    link: str = ""
    note: str = ""
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # label, value, url


def _a(url: str, inner: str, title: str) -> str:
    body = f"<title>{escape(title)}</title>{inner}"
    if not url:
        return f"<g>{body}</g>"
    return f'<a href="{escape(url)}">{body}</a>'


def bar_chart(bars: list[Bar], *, width: int = 420, bar_height: int = 22) -> SafeString:
    """Horizontal bars with their label and value; each bar links to the list behind it."""
    label_width, gap = 230, 6
    height = max(1, len(bars)) * (bar_height + gap)
    top = max([b.value for b in bars] + [1])
    room = width - label_width - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:{width}px" '
        f'viewBox="0 0 {width} {height}" role="img" class="bo-chart">'
    ]
    for i, bar in enumerate(bars):
        y = i * (bar_height + gap)
        length = round(room * bar.value / top) if bar.value else 0
        inner = (
            f'<text x="0" y="{y + bar_height * 0.7:.0f}" font-size="12">{escape(bar.label)}</text>'
            f'<rect x="{label_width}" y="{y}" width="{max(length, 1)}" height="{bar_height}" '
            f'fill="{bar.colour}" rx="2"/>'
            f'<text x="{label_width + length + 4}" y="{y + bar_height * 0.7:.0f}" '
            f'font-size="12">{bar.value:,}</text>'
        )
        parts.append(_a(bar.url, inner, f"{bar.label}: {bar.value:,}"))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)


def stacked_columns(
    months: list[str], series: list[Series], *, width: int = 640, height: int = 220
) -> SafeString:
    """Month-by-month stacked columns (e.g. accounts by state), with a legend."""
    legend_height, axis_height = 20, 18
    plot_height = height - legend_height - axis_height
    n = max(1, len(months))
    column = width / n
    totals = [sum(s.values[i] for s in series) for i in range(len(months))]
    top = max(totals + [1])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" style="max-width:{width}px" '
        f'viewBox="0 0 {width} {height}" role="img" class="bo-chart">'
    ]
    for i, month in enumerate(months):
        x = i * column + 4
        base = legend_height + plot_height
        for s in series:
            value = s.values[i]
            h = plot_height * value / top
            if h <= 0:
                continue
            base -= h
            rect = (
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{column - 8:.1f}" '
                f'height="{h:.1f}" fill="{s.colour}"/>'
            )
            parts.append(_a(s.url, rect, f"{month} {s.label}: {value:,}"))
        parts.append(
            f'<text x="{x + (column - 8) / 2:.1f}" y="{height - 4}" font-size="10" '
            f'text-anchor="middle">{escape(month)}</text>'
        )
    x = 0
    for s in series:
        parts.append(
            _a(
                s.url,
                f'<rect x="{x}" y="4" width="10" height="10" fill="{s.colour}"/>'
                f'<text x="{x + 13}" y="13" font-size="11">{escape(s.label)}</text>',
                s.label,
            )
        )
        x += 14 + 7 * len(s.label) + 10
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text above is escaped)
