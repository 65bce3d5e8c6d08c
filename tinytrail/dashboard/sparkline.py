"""Sparklines for the sites list: a polyline drawn on the server, no script needed."""

from __future__ import annotations

WIDTH, HEIGHT = 120, 32


def sparkline_points(values: list[int]) -> str:
    """SVG `points` for `values` scaled into a WIDTHxHEIGHT box (flat at the bottom if all 0)."""
    if not values:
        return f"0,{HEIGHT} {WIDTH},{HEIGHT}"
    top = max(values) or 1
    step = WIDTH / max(len(values) - 1, 1)
    pad = 2  # keep the stroke inside the box
    return " ".join(
        f"{i * step:.1f},{HEIGHT - pad - (v / top) * (HEIGHT - 2 * pad):.1f}"
        for i, v in enumerate(values)
    )
