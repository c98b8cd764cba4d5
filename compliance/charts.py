"""Server-rendered inline SVG bar charts for the cycle report (no JavaScript, CSP-safe).

Values are compared by their share of the largest, so one chart fits any scale (tonnes or percent).
"""

from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

COLOURS = ["#2f6f9f", "#d08c2e", "#4c9a5b", "#a23b3b"]


def bar_chart(title: str, groups: list[tuple[str, list[tuple[str, float]]]], width: int = 560,
              bar_height: int = 14) -> str:
    """Horizontal grouped bars: ``groups`` = [(group label, [(series label, value), ...]), ...]."""
    values = [abs(float(v)) for _g, series in groups for _s, v in series] or [0]
    top = max(values) or 1
    label_w, gap = 150, 6
    rows = []
    y = 28
    for group, series in groups:
        rows.append(format_html('<text x="0" y="{}" font-size="12" font-weight="bold">{}</text>', y + 10, group))
        for i, (name, value) in enumerate(series):
            w = int((width - label_w - 120) * abs(float(value)) / top)
            rows.append(format_html(
                '<text x="10" y="{}" font-size="11">{}</text><rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                '<title>{}: {}</title></rect><text x="{}" y="{}" font-size="11">{}</text>',
                y + 10 + (i + 1) * (bar_height + gap) - 4, name, label_w, y + (i + 1) * (bar_height + gap) - 2,
                max(w, 1), bar_height, COLOURS[i % len(COLOURS)], name, f"{value:,}", label_w + w + 6,
                y + 10 + (i + 1) * (bar_height + gap) - 4, f"{value:,}"))
        y += (len(series) + 1) * (bar_height + gap) + 8
    body = mark_safe("".join(rows))
    return format_html('<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{}" height="{}" '
                       'viewBox="0 0 {} {}" aria-label="{}"><text x="0" y="14" font-size="13">{}</text>{}</svg>',
                       width, y + 4, width, y + 4, escape(title), title, body)
