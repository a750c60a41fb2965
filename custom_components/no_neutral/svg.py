"""
The adaptor's waveforms over one mains cycle, drawn as an SVG picture.

Built with ElementTree (SVG is XML), so every element is escaped and well formed,
and no plotting library has to be installed into Home Assistant. Two panels
share the time axis: the lamp voltage and the capacitor current, each with the
relay closed and open.

The dashboard's picture card scales the SVG to its width (400-500 px on a phone
or a dashboard column), so sizes are set against a narrow view box: text of at
least 4 % of the width stays about 17 px or more on the screen. The title, the
legend and the plots each get their own band, top to bottom, so none runs into
another whatever the title says. Colours come from a style sheet with a dark
scheme: an SVG shown in an <img> follows the browser's prefers-color-scheme.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH = 600
FONT_PX = 24  # tick labels, legend, headings: 4 % of the width
TITLE_PX = 28
# The advance of a sans-serif glyph the layout assumes, in em, when it wraps the
# title and places the legend: measured in Chromium with DejaVu Sans, the
# picture's texts take 0.50-0.55 em a glyph, 0.61 in bold, and a row of digits
# 0.636 (Arial's are narrower).
CHAR_EM = 0.64
BOLD_EM = 0.7
LINE_SPACING = 1.3
PAD = 12
MARGIN_LEFT = 96
MARGIN_RIGHT = 24
PANEL_HEIGHT = 240
SWATCH = 36  # length of a legend's line
LEGEND_GAP = 32  # between two legend entries

# Light scheme first, then the dark one (Home Assistant's own card and text
# colours); the curves keep a 3:1 contrast against either background.
LIGHT = {
    "background": "#ffffff",
    "text": "#212121",
    "grid": "#d5d5d5",
    "closed": "#b35c00",
    "open": "#1f63b4",
}
DARK = {
    "background": "#1c1c1c",
    "text": "#e1e1e1",
    "grid": "#444444",
    "closed": "#ffa726",
    "open": "#64b5f6",
}


@dataclass(frozen=True, kw_only=True)
class Labels:
    """The picture's words besides its title, in the viewer's language."""

    closed: str  # the legend of each relay state
    open: str
    lamp_voltage: str  # the panels' headings
    capacitor_current: str
    time_axis: str


@dataclass(frozen=True, kw_only=True)
class Trace:
    """One state's waveforms, sampled at the same instants."""

    time_s: Sequence[float]
    lamp_v: Sequence[float]
    cap_current_a: Sequence[float]


@dataclass(frozen=True)
class Box:
    """A rectangle of the picture, in view box units (y grows downwards)."""

    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Box) -> bool:
        """Whether the two share any area (touching edges do not count)."""
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )

    def union(self, other: Box) -> Box:
        """Return the smallest box holding both."""
        return Box(
            min(self.left, other.left),
            min(self.top, other.top),
            max(self.right, other.right),
            max(self.bottom, other.bottom),
        )


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Return the width a line of text is assumed to take."""
    return len(text) * (BOLD_EM if bold else CHAR_EM) * size


def text_box(
    text: str,
    *,
    x: float,
    baseline: float,
    size: float,
    anchor: str = "start",
    bold: bool = False,
) -> Box:
    """Return where a line of text lies: ascenders 0.8 em above the baseline, descenders 0.25 em."""
    width = text_width(text, size, bold=bold)
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return Box(left, baseline - 0.8 * size, left + width, baseline + 0.25 * size)


def wrap(text: str, size: float, width: float, *, bold: bool = False) -> list[str]:
    """Break text into lines that fit the width: after a colon or comma, else between words."""
    lines: list[str] = []
    line = ""
    for clause in re.split(r"(?<=[:,]) ", text):
        candidate = f"{line} {clause}" if line else clause
        if text_width(candidate, size, bold=bold) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for word in clause.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and text_width(candidate, size, bold=bold) > width:
                lines.append(line)
                candidate = word
            line = candidate
    lines.append(line)
    return lines


@dataclass(frozen=True, kw_only=True)
class Layout:
    """The bands of the picture, top to bottom: title, legend, the two panels."""

    title_lines: tuple[str, ...]
    title_baselines: tuple[float, ...]
    legend_baseline: float
    legend_x: tuple[float, ...]
    panel_tops: tuple[float, float]
    height: float


def layout(title: str, legend: Sequence[str]) -> Layout:
    """Lay out the bands for this title and these legend labels."""
    usable = WIDTH - 2 * PAD
    lines = tuple(wrap(title, TITLE_PX, usable, bold=True))
    title_step = TITLE_PX * LINE_SPACING
    first = PAD + 0.8 * TITLE_PX
    baselines = tuple(first + index * title_step for index in range(len(lines)))
    # The legend's band starts where the title's descenders end.
    legend_baseline = baselines[-1] + 0.25 * TITLE_PX + PAD + 0.8 * FONT_PX
    xs = []
    x: float = PAD
    for label in legend:
        xs.append(x)
        x += SWATCH + 8 + text_width(label, FONT_PX) + LEGEND_GAP
    # Each panel: its heading's band, then the plot; the tick labels of the
    # top value reach half a line above the plot.
    heading_band = FONT_PX * LINE_SPACING + FONT_PX / 2
    first_top = legend_baseline + 0.25 * FONT_PX + PAD + heading_band
    second_top = first_top + PANEL_HEIGHT + FONT_PX + heading_band
    # Below the last plot: its time labels, then the axis' name.
    height = second_top + PANEL_HEIGHT + axis_name_offset() + 0.25 * FONT_PX + PAD
    return Layout(
        title_lines=lines,
        title_baselines=baselines,
        legend_baseline=legend_baseline,
        legend_x=tuple(xs),
        panel_tops=(first_top, second_top),
        height=height,
    )


def axis_name_offset() -> float:
    """Return how far below the plot the time axis' name sits: a line under the time labels."""
    return 2 * FONT_PX * LINE_SPACING + 4


def style_sheet() -> str:
    """Return the colours of both schemes; the dark one when the viewer's browser asks for it."""

    def rules(scheme: Mapping[str, str]) -> str:
        return (
            f".background{{fill:{scheme['background']}}}"
            f"text{{fill:{scheme['text']}}}"
            f".grid{{stroke:{scheme['grid']}}}"
            f".closed{{stroke:{scheme['closed']}}}"
            f".open{{stroke:{scheme['open']}}}"
        )

    return (
        f"text{{font-family:sans-serif}}{rules(LIGHT)}"
        f"@media (prefers-color-scheme: dark){{{rules(DARK)}}}"
    )


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


def _text(parent: ET.Element, text: str, x: float, y: float, size: float, **extra: str) -> None:
    element = ET.SubElement(
        parent, "text", {"x": _fmt(x), "y": _fmt(y), "font-size": f"{size:g}", **extra}
    )
    element.text = text


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
        self.y_ticks = nice_ticks(min(*finite, 0.0), max(*finite, 0.0), count=4)
        self.y0, self.y1 = self.y_ticks[0], self.y_ticks[-1]

    def x(self, value: float) -> float:
        return self.left + (value - self.x0) / (self.x1 - self.x0) * self.width

    def y(self, value: float) -> float:
        return self.top + (self.y1 - value) / (self.y1 - self.y0) * self.height

    def frame(self, title: str, x_ticks: list[float], *, x_labels: bool) -> None:
        grid = ET.SubElement(self.root, "g", {"class": "grid", "stroke-width": "1"})
        text = ET.SubElement(self.root, "g")
        for tick in self.y_ticks:
            y = _fmt(self.y(tick))
            ET.SubElement(
                grid, "line", {"x1": _fmt(self.left), "x2": _fmt(self.x(self.x1)), "y1": y, "y2": y}
            )
            _text(
                text,
                _label(tick),
                self.left - 8,
                self.y(tick),
                FONT_PX,
                **{"text-anchor": "end", "dominant-baseline": "middle"},
            )
        for tick in x_ticks:
            x = _fmt(self.x(tick))
            ET.SubElement(
                grid, "line", {"x1": x, "x2": x, "y1": _fmt(self.top), "y2": _fmt(self.y(self.y0))}
            )
            if x_labels:
                baseline = self.y(self.y0) + FONT_PX * LINE_SPACING
                _text(
                    text, _label(tick), self.x(tick), baseline, FONT_PX, **{"text-anchor": "middle"}
                )
        # Above the top tick label's half line.
        heading_baseline = self.top - FONT_PX / 2 - 0.25 * FONT_PX - 2
        _text(text, title, PAD, heading_baseline, FONT_PX, **{"font-weight": "bold"})

    def curve(self, times_ms: Sequence[float], values: Sequence[float], state: str) -> None:
        points = " ".join(
            f"{_fmt(self.x(t))},{_fmt(self.y(v))}"
            for t, v in zip(times_ms, values, strict=True)
            if math.isfinite(v)
        )
        ET.SubElement(
            self.root,
            "polyline",
            {"points": points, "fill": "none", "class": state, "stroke-width": "3"},
        )


def render_svg(traces: Mapping[str, Trace], *, title: str, words: Labels) -> bytes:
    """Draw the lamp voltage and capacitor current of each trace ("closed", "open")."""
    states = {"closed": words.closed, "open": words.open}
    labels = [states.get(name, name) for name in traces]
    bands = layout(title, labels)
    height = _fmt(bands.height)
    root = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": str(WIDTH),
            "height": height,
            "viewBox": f"0 0 {WIDTH} {height}",
        },
    )
    ET.SubElement(root, "style").text = style_sheet()
    ET.SubElement(root, "rect", {"class": "background", "width": "100%", "height": "100%"})

    heading = ET.SubElement(root, "g", {"id": "title", "font-weight": "bold"})
    for line, baseline in zip(bands.title_lines, bands.title_baselines, strict=True):
        _text(heading, line, PAD, baseline, TITLE_PX)

    legend = ET.SubElement(root, "g", {"id": "legend"})
    middle = _fmt(bands.legend_baseline - 0.3 * FONT_PX)
    for name, label, x in zip(traces, labels, bands.legend_x, strict=True):
        ET.SubElement(
            legend,
            "line",
            {
                "x1": _fmt(x),
                "x2": _fmt(x + SWATCH),
                "y1": middle,
                "y2": middle,
                "class": name,
                "stroke-width": "5",
            },
        )
        _text(legend, label, x + SWATCH + 8, bands.legend_baseline, FONT_PX)

    times_ms = {name: [t * 1000.0 for t in trace.time_s] for name, trace in traces.items()}
    all_times = [t for values in times_ms.values() for t in values] or [0.0, 1.0]
    x_range = (min(all_times), max(all_times))
    x_ticks = nice_ticks(*x_range)
    x_range = (x_ticks[0], x_ticks[-1])

    plots = ET.SubElement(root, "g", {"id": "plots"})
    panels = (
        (words.lamp_voltage, "lamp_v", bands.panel_tops[0]),
        (words.capacitor_current, "cap_current_a", bands.panel_tops[1]),
    )
    for index, (panel_title, field, top) in enumerate(panels):
        values = [v for trace in traces.values() for v in getattr(trace, field)]
        panel = _Panel(plots, top, x_range, values)
        panel.frame(panel_title, x_ticks, x_labels=index == len(panels) - 1)
        for name, trace in traces.items():
            panel.curve(times_ms[name], getattr(trace, field), name)

    _text(
        plots,
        words.time_axis,
        MARGIN_LEFT + (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / 2,
        bands.panel_tops[1] + PANEL_HEIGHT + axis_name_offset(),
        FONT_PX,
        **{"text-anchor": "middle"},
    )
    svg: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return svg
