"""Server-rendered SVG bar charts (no JavaScript, CSP-safe): emissions per month stacked by unit."""

from decimal import Decimal

PALETTE = ["#2f6f4f", "#5b8fb9", "#c98b2b", "#8a5a9e", "#b94a48", "#4f8a8b", "#7a7a2e", "#3d5a80"]


def monthly_stacked_bars(series: list[tuple[str, list[Decimal]]], *, width: int = 720, height: int = 260) -> dict:
    """Geometry for a stacked bar chart of 12 months: bars, axis ticks and a legend, for the template."""
    left, bottom, top = 70, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    totals = [sum((values[m] for _name, values in series), Decimal(0)) for m in range(12)]
    peak = max(totals + [Decimal(1)])
    slot = plot_w / 12
    bars = []
    for m in range(12):
        y = top + plot_h
        for index, (name, values) in enumerate(series):
            value = values[m]
            if value <= 0:
                continue
            h = float(value / peak) * plot_h
            y -= h
            bars.append({"x": round(left + m * slot + slot * 0.15, 1), "y": round(y, 1), "w": round(slot * 0.7, 1),
                         "h": round(h, 1), "fill": PALETTE[index % len(PALETTE)],
                         "title": f"{name} {m + 1:02d}: {value:,.3f} tCO2"})
    ticks = [{"y": round(top + plot_h - plot_h * i / 4, 1), "label": f"{float(peak) * i / 4:,.0f}"} for i in range(5)]
    months = [{"x": round(left + m * slot + slot / 2, 1), "label": str(m + 1)} for m in range(12)]
    legend = [{"name": name, "fill": PALETTE[i % len(PALETTE)]} for i, (name, _v) in enumerate(series)]
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "months": months, "legend": legend,
            "left": left, "axis_y": top + plot_h, "label_y": height - 8}


def horizontal_bars(items: list[tuple[str, int]], *, width: int = 560, row: int = 22) -> dict:
    """Geometry for a labelled horizontal bar chart (e.g. warnings by rule)."""
    label_w = 220
    peak = max([value for _label, value in items] + [1])
    bars = [{"y": i * row, "w": round((width - label_w - 60) * value / peak, 1), "label": label, "value": value,
             "text_y": i * row + row * 0.7, "fill": PALETTE[i % len(PALETTE)]} for i, (label, value) in
            enumerate(items)]
    return {"width": width, "height": max(row * len(items), row), "bars": bars, "label_w": label_w, "row_h": row - 6}
