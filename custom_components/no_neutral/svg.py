"""
The adaptor's waveforms over one mains cycle, drawn as an SVG picture.

Built with ElementTree (SVG is XML), so every element is escaped and well formed,
and no plotting library has to be installed into Home Assistant. Two panels
share the time axis: the lamp voltage and the capacitor current, each with the
relay closed and open.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH = 720
PANEL_HEIGHT = 220
MARGIN_LEFT = 70
MARGIN_RIGHT = 20
MARGIN_TOP = 40
PANEL_GAP = 50
MARGIN_BOTTOM = 60
COLOURS = {"closed": "#e8a200", "open": "#1f77b4"}
LABELS = {"closed": "relay closed", "open": "relay open"}


@dataclass(frozen=True, kw_only=True)
class Trace:
    """One state's waveforms, sampled at the same instants."""

    time_s: Sequence[float]
    lamp_v: Sequence[float]
    cap_current_a: Sequence[float]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return round tick values covering [low, high] (1, 2 or 5 times a power of ten)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0]
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def _label(value: float) -> str:
    return f"{value:g}"


class _Panel:
    """A plot area with its own y scale."""

    def __init__(
        self, root: ET.Element, top: float, x_range: tuple[float, float], y_values: list[float]
    ) -> None:
        self.root = root
        self.top = top
        self.left = MARGIN_LEFT
        self.width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        self.height = PANEL_HEIGHT
        self.x0, self.x1 = x_range
        finite = [v for v in y_values if math.isfinite(v)] or [0.0]
        self.y_ticks = nice_ticks(min(*finite, 0.0), max(*finite, 0.0))
        self.y0, self.y1 = self.y_ticks[0], self.y_ticks[-1]

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / (self.x1 - self.x0) * self.width

    def y(self, value: float) -> float:
        return self.top + (self.y1 - value) / (self.y1 - self.y0) * self.height

    def frame(self, title: str, x_ticks: list[float], *, x_labels: bool) -> None:
        grid = ET.SubElement(self.root, "g", {"stroke": "#d0d0d0", "stroke-width": "1"})
        text = ET.SubElement(
            self.root, "g", {"font-size": "12", "fill": "#444", "font-family": "sans-serif"}
        )
        for tick in self.y_ticks:
            y = _fmt(self.y(tick))
            ET.SubElement(
                grid, "line", {"x1": _fmt(self.left), "x2": _fmt(self.x(self.x1)), "y1": y, "y2": y}
            )
            label = ET.SubElement(
                text, "text", {"x": _fmt(self.left - 6), "y": y, "text-anchor": "end"}
            )
            label.set("dominant-baseline", "middle")
            label.text = _label(tick)
        for tick in x_ticks:
            x = _fmt(self.x(tick))
            ET.SubElement(
                grid, "line", {"x1": x, "x2": x, "y1": _fmt(self.top), "y2": _fmt(self.y(self.y0))}
            )
            if x_labels:
                label = ET.SubElement(
                    text,
                    "text",
                    {"x": x, "y": _fmt(self.y(self.y0) + 16), "text-anchor": "middle"},
                )
                label.text = _label(tick)
        heading = ET.SubElement(
            text, "text", {"x": _fmt(self.left), "y": _fmt(self.top - 8), "font-weight": "bold"}
        )
        heading.text = title

    def curve(self, times_ms: Sequence[float], values: Sequence[float], colour: str) -> None:
        points = " ".join(
            f"{_fmt(self.x(t))},{_fmt(self.y(v))}"
            for t, v in zip(times_ms, values, strict=True)
            if math.isfinite(v)
        )
        ET.SubElement(
            self.root,
            "polyline",
            {"points": points, "fill": "none", "stroke": colour, "stroke-width": "2"},
        )


def render_svg(traces: Mapping[str, Trace], *, title: str) -> bytes:
    """Draw the lamp voltage and capacitor current of each trace ("closed", "open")."""
    height = MARGIN_TOP + 2 * PANEL_HEIGHT + PANEL_GAP + MARGIN_BOTTOM
    root = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": str(WIDTH),
            "height": str(height),
            "viewBox": f"0 0 {WIDTH} {height}",
        },
    )
    ET.SubElement(root, "rect", {"width": "100%", "height": "100%", "fill": "white"})
    heading = ET.SubElement(
        root,
        "text",
        {"x": str(MARGIN_LEFT), "y": "20", "font-size": "15", "font-family": "sans-serif"},
    )
    heading.text = title

    times_ms = {name: [t * 1000.0 for t in trace.time_s] for name, trace in traces.items()}
    all_times = [t for values in times_ms.values() for t in values] or [0.0, 1.0]
    x_range = (min(all_times), max(all_times))
    x_ticks = nice_ticks(*x_range)
    x_range = (x_ticks[0], x_ticks[-1])

    panels = (
        ("Lamp voltage (V)", "lamp_v", MARGIN_TOP + 10),
        ("Capacitor current (A)", "cap_current_a", MARGIN_TOP + 10 + PANEL_HEIGHT + PANEL_GAP),
    )
    for index, (panel_title, field, top) in enumerate(panels):
        values = [v for trace in traces.values() for v in getattr(trace, field)]
        panel = _Panel(root, top, x_range, values)
        panel.frame(panel_title, x_ticks, x_labels=index == len(panels) - 1)
        for name, trace in traces.items():
            panel.curve(times_ms[name], getattr(trace, field), COLOURS.get(name, "#555"))

    axis = ET.SubElement(
        root,
        "text",
        {
            "x": _fmt(MARGIN_LEFT + (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / 2),
            "y": str(height - 8),
            "text-anchor": "middle",
            "font-size": "12",
            "font-family": "sans-serif",
        },
    )
    axis.text = "time within one mains cycle (ms)"
    legend_x = WIDTH - MARGIN_RIGHT - 260
    for offset, name in enumerate(traces):
        x = legend_x + offset * 130
        ET.SubElement(
            root,
            "line",
            {
                "x1": str(x),
                "x2": str(x + 24),
                "y1": "16",
                "y2": "16",
                "stroke": COLOURS.get(name, "#555"),
                "stroke-width": "3",
            },
        )
        label = ET.SubElement(
            root,
            "text",
            {"x": str(x + 30), "y": "20", "font-size": "12", "font-family": "sans-serif"},
        )
        label.text = LABELS.get(name, name)
    svg: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return svg
