"""A server-rendered price chart: the SVG geometry of closing prices (no JavaScript, CSP-safe)."""

from decimal import Decimal

WIDTH, HEIGHT, PAD = 640, 220, 30


def price_chart(bars) -> dict | None:
    """Polyline points and axis labels for the closes of ``bars`` (oldest first); None without data."""
    closes = [bar.close for bar in bars]
    if not closes:
        return None
    low, high = min(closes), max(closes)
    span = (high - low) or Decimal("1")
    step = (WIDTH - 2 * PAD) / max(len(closes) - 1, 1)
    points = []
    for i, close in enumerate(closes):
        x = PAD + i * step
        y = HEIGHT - PAD - float((close - low) / span) * (HEIGHT - 2 * PAD)
        points.append(f"{x:.1f},{y:.1f}")
    return {"width": WIDTH, "height": HEIGHT, "points": " ".join(points), "low": low, "high": high,
            "first": bars[0].date, "last": bars[-1].date, "pad": PAD, "bottom": HEIGHT - PAD,
            "right": WIDTH - PAD, "label_y": HEIGHT - 8}
