"""The waveform picture: drawn from the simulation when asked, once per circuit."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.no_neutral import image as image_module
from custom_components.no_neutral.circuit import DEFAULT_SCENARIO
from custom_components.no_neutral.coordinator import AGEING_INTERVAL
from custom_components.no_neutral.svg import Box, nice_ticks, text_box
from tests.adaptor_common import HALOGEN_500, tick
from tests.link_helpers import wait_for

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled", "no_ws_heartbeat"),
]

SVG = "{http://www.w3.org/2000/svg}"
ENTITY = "image.hall_lamp_adaptor_waveforms"
PACKAGE = Path(__file__).parent.parent / "custom_components" / "no_neutral"


async def _drawn(
    hass: HomeAssistant, previous: str | None = "unknown", entity: str = ENTITY
) -> str:
    """Wait for a new picture: the state (when its circuit changed) moves on."""

    def moved_on() -> bool:
        state = hass.states.get(entity)
        return state is not None and state.state != previous

    await wait_for(moved_on, limit=120)
    return hass.states.get(entity).state


async def _fetch(
    hass: HomeAssistant, client: ClientSessionGenerator, entity: str = ENTITY
) -> tuple[str, bytes]:
    state = hass.states.get(entity)
    assert state is not None
    http = await client()
    response = await http.get(state.attributes["entity_picture"])
    assert response.status == HTTPStatus.OK
    return response.content_type, await response.read()


async def test_picture_shows_both_states(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("custom_components.no_neutral.PLATFORMS", [Platform.IMAGE])
    await entry_factory()
    await _drawn(hass)

    content_type, body = await _fetch(hass, hass_client)
    assert content_type == "image/svg+xml"
    svg = ET.fromstring(body)  # noqa: S314 (our own output)
    assert svg.tag == f"{SVG}svg"
    texts = [element.text or "" for element in svg.iter(f"{SVG}text")]
    assert "relay closed" in texts
    assert "relay open" in texts
    assert "Lamp voltage (V)" in texts
    assert any("1 x 10 W LED" in text for text in texts)
    curves = list(svg.iter(f"{SVG}polyline"))
    assert len(curves) == 4  # two quantities, two relay states
    for curve in curves:
        points = curve.get("points", "").split()
        assert len(points) > 100


async def test_drawn_on_demand_once_per_circuit(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    freezer: FrozenDateTimeFactory,
) -> None:
    monkeypatch.setattr("custom_components.no_neutral.PLATFORMS", [Platform.IMAGE])
    # Counted by a plain function: the harness runs a Mock given to the executor on the loop.
    drawn: list[dict[str, Any]] = []
    real_draw = image_module.draw

    def draw(scenario: dict[str, Any], texts: Mapping[str, str]) -> bytes:
        drawn.append(scenario)
        return real_draw(scenario, texts)

    monkeypatch.setattr(image_module, "draw", draw)
    entry = await entry_factory()
    first = await _drawn(hass)
    # Nobody has looked at it yet: nothing drawn (setting up costs no picture).
    assert len(drawn) == 0
    _, picture = await _fetch(hass, hass_client)
    assert len(drawn) == 1

    # An update with the same circuit (the coordinator refreshes) is the same picture.
    await entry.runtime_data.adaptor.async_refresh()
    await hass.async_block_till_done()
    assert hass.states.get(ENTITY).state == first
    assert await _fetch(hass, hass_client) == ("image/svg+xml", picture)
    assert len(drawn) == 1

    # Another lamp is another circuit: a new picture, drawn when fetched.
    # A minute on (the picture's time tells it from the first's), saved options
    # apply at once.
    await tick(hass, freezer, AGEING_INTERVAL)
    hass.config_entries.async_update_entry(entry, options={**entry.options, **HALOGEN_500})
    await hass.async_block_till_done()
    await _drawn(hass, first)
    _, other = await _fetch(hass, hass_client)
    assert len(drawn) == 2
    assert drawn[-1]["lamp"]["power_w"] == 500.0
    assert b"500 W" in other
    assert b"500 W" not in picture


def picture_words(language: str) -> dict[str, str]:
    """The picture's words as a language's translation file has them."""
    common = json.loads((PACKAGE / "translations" / f"{language}.json").read_text("utf-8"))
    translations = {
        f"component.no_neutral.common.{key}": text for key, text in common["common"].items()
    }
    return image_module.picture_texts(translations)


def texts_of(svg: ET.Element) -> list[str]:
    return [element.text or "" for element in svg.iter(f"{SVG}text")]


async def test_a_german_home_assistant_gets_a_german_picture(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry_factory: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hass.config.language = "de"
    monkeypatch.setattr("custom_components.no_neutral.PLATFORMS", [Platform.IMAGE])
    await entry_factory()
    # Its entity id comes from the German names: the adaptor's only picture.
    (entity,) = hass.states.async_entity_ids("image")
    await _drawn(hass, entity=entity)

    _, body = await _fetch(hass, hass_client, entity)
    svg = ET.fromstring(body)  # noqa: S314 (our own output)
    texts = texts_of(svg)
    assert "Relais geschlossen" in texts
    assert "Relais offen" in texts
    assert "Lampenspannung (V)" in texts
    assert "Kondensatorstrom (A)" in texts
    assert "Zeit in einer Netzperiode (ms)" in texts
    title = " ".join(line.text or "" for line in svg.iterfind(f"{SVG}g[@id='title']/{SVG}text"))
    assert title == "Eine Netzperiode: 1 \N{MULTIPLICATION SIGN} 10 W LED, Kondensator 15 µF"
    assert not {"relay closed", "relay open", "Lamp voltage (V)"} & set(texts)


def test_english_words_are_strings_json() -> None:
    """The words a picture falls back on are strings.json's, not a second copy."""
    strings = json.loads((PACKAGE / "strings.json").read_text("utf-8"))
    picture = {key: text for key, text in strings["common"].items() if key.startswith("picture_")}
    assert picture == dict(image_module.ENGLISH)


def test_ticks_are_round_and_cover_the_range() -> None:
    assert nice_ticks(0.0, 311.0) == [0.0, 100.0, 200.0, 300.0, 400.0]
    assert nice_ticks(-0.2, 0.2) == pytest.approx([-0.2, -0.1, 0.0, 0.1, 0.2])
    ticks = nice_ticks(0.0, 20.0)
    assert ticks[0] <= 0.0
    assert ticks[-1] >= 20.0


def test_title_takes_what_the_scenario_leaves_out_from_the_simulators_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The options leave out what the user did not change: the title still says the real circuit."""
    full = {
        "lamp": {"type": "resistive", "count": 1, "power_w": 10},
        "smoothing": {"capacitance_uf": 15},
    }
    title = "One mains cycle: 1 x 10 W filament, 15 µF capacitor"
    assert image_module.picture_title(full) == title
    assert image_module.picture_title({"lamp": {"type": "resistive"}}) == title
    # One fact: the simulator's own defaults, not a copy of them.
    monkeypatch.setitem(DEFAULT_SCENARIO["lamp"], "power_w", 60)
    monkeypatch.setitem(DEFAULT_SCENARIO["smoothing"], "capacitance_uf", 22)
    assert image_module.picture_title({"lamp": {"count": 2}}) == (
        "One mains cycle: 2 x 60 W LED, 22 µF capacitor"
    )


# The picture as a user sees it: drawn for a small lamp and for a long title.
SCENARIOS = {
    "10 W LED": {},
    "3 x 500 W halogen, 4.7 µF": {
        "lamp": {"type": "resistive", "count": 3, "power_w": 500},
        "smoothing": {"capacitance_uf": 4.7},
    },
}


@pytest.fixture(scope="module", params=SCENARIOS.values(), ids=SCENARIOS.keys())
def picture(request: pytest.FixtureRequest) -> ET.Element:
    return ET.fromstring(image_module.draw(request.param))  # noqa: S314 (our own output)


def view_box(svg: ET.Element) -> tuple[float, float]:
    _, _, width, height = (float(part) for part in svg.get("viewBox", "").split())
    return width, height


def boxes(group: ET.Element, *, bold: bool = False) -> Iterator[Box]:
    """What each text and line of a group covers (text as the layout assumes a font's width)."""
    bold = bold or group.get("font-weight") == "bold"
    for element in group:
        if element.tag == f"{SVG}g":
            yield from boxes(element, bold=bold)
        elif element.tag == f"{SVG}text":
            size = float(element.get("font-size", "0"))
            y = float(element.get("y", "0"))
            if element.get("dominant-baseline") == "middle":
                y += 0.3 * size  # the middle of a lower-case letter
            yield text_box(
                element.text or "",
                x=float(element.get("x", "0")),
                baseline=y,
                size=size,
                anchor=element.get("text-anchor", "start"),
                bold=bold or element.get("font-weight") == "bold",
            )
        elif element.tag == f"{SVG}line":
            xs = (float(element.get("x1", "0")), float(element.get("x2", "0")))
            ys = (float(element.get("y1", "0")), float(element.get("y2", "0")))
            half = float(element.get("stroke-width", "1")) / 2
            yield Box(min(xs), min(ys) - half, max(xs), max(ys) + half)
        elif element.tag == f"{SVG}polyline":
            points = [
                tuple(float(v) for v in point.split(","))
                for point in element.get("points", "").split()
            ]
            yield Box(
                min(p[0] for p in points),
                min(p[1] for p in points),
                max(p[0] for p in points),
                max(p[1] for p in points),
            )


def band(svg: ET.Element, name: str) -> Box:
    group = svg.find(f"{SVG}g[@id='{name}']")
    assert group is not None, name
    found = list(boxes(group))
    assert found, name
    whole = found[0]
    for box in found[1:]:
        whole = whole.union(box)
    return whole


def test_text_is_large_in_its_card(picture: ET.Element) -> None:
    """Shown 450 px wide, every text is at least 18 px: 4 % of the picture's width."""
    width, _ = view_box(picture)
    sizes = {float(text.get("font-size", "0")) for text in picture.iter(f"{SVG}text")}
    assert sizes
    assert min(sizes) >= 0.04 * width
    title = picture.find(f"{SVG}g[@id='title']/{SVG}text")
    assert title is not None
    assert float(title.get("font-size", "0")) > min(sizes)


def test_title_legend_and_plots_do_not_overlap(picture: ET.Element) -> None:
    bands_fit(picture)
    texts = [text.text or "" for text in picture.iter(f"{SVG}text")]
    assert "relay closed" in texts
    assert "relay open" in texts


@pytest.mark.parametrize("language", ["de", "fr", "nl", "cs"])
def test_each_language_fits(language: str) -> None:
    """Longer words (the legend, the time axis' name) still leave every band clear and whole."""
    words = picture_words(language)
    svg = ET.fromstring(  # noqa: S314 (our own output)
        image_module.draw(SCENARIOS["3 x 500 W halogen, 4.7 µF"], words)
    )
    bands_fit(svg)
    texts = texts_of(svg)
    for key in ("picture_relay_closed", "picture_relay_open", "picture_time_axis"):
        assert words[key] in texts
    legend = svg.find(f"{SVG}g[@id='legend']")
    assert legend is not None
    entries = list(boxes(legend))
    assert not any(
        first.overlaps(second)
        for index, first in enumerate(entries)
        for second in entries[index + 1 :]
    )


def bands_fit(picture: ET.Element) -> None:
    """Title, legend and plots top to bottom, none over another, all within the picture."""
    width, height = view_box(picture)
    title, legend, plots = (band(picture, name) for name in ("title", "legend", "plots"))
    # Top to bottom, each band clear of the next.
    assert title.bottom <= legend.top
    assert legend.bottom <= plots.top
    assert not title.overlaps(legend)
    assert not legend.overlaps(plots)
    # Nothing runs off the picture (a long title wraps).
    for box in (title, legend, plots):
        assert box.left >= 0
        assert box.right <= width
        assert box.top >= 0
        assert box.bottom <= height


def test_the_wrapped_title_keeps_each_part_whole() -> None:
    title = "One mains cycle: 3 x 500 W filament, 4.7 µF capacitor"
    svg = ET.fromstring(  # noqa: S314 (our own output)
        image_module.draw(SCENARIOS["3 x 500 W halogen, 4.7 µF"])
    )
    lines = [text.text for text in svg.iterfind(f"{SVG}g[@id='title']/{SVG}text")]
    assert len(lines) > 1
    assert " ".join(line or "" for line in lines) == title
    assert "3 x 500 W filament," in lines


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def schemes(svg: ET.Element) -> dict[str, dict[str, dict[str, str]]]:
    """The style sheet's rules, selector -> property -> value: light and dark."""
    style = svg.find(f"{SVG}style")
    assert style is not None
    sheet = style.text or ""
    match = re.search(r"@media\s*\(prefers-color-scheme:\s*dark\)\s*\{(.*)\}\s*$", sheet, re.DOTALL)
    assert match is not None, "no dark scheme"

    def rules(css: str) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
            for declaration in filter(None, body.split(";")):
                prop, value = declaration.split(":", 1)
                found.setdefault(selector.strip(), {})[prop.strip()] = value.strip()
        return found

    light = rules(sheet[: match.start()])
    return {"light": light, "dark": {**light, **rules(match.group(1))}}


def test_readable_in_a_light_and_a_dark_theme(picture: ET.Element) -> None:
    """Text 4.5:1 against the background, curves 3:1 (WCAG), in either scheme."""
    background = picture.find(f"{SVG}rect")
    assert background is not None
    assert background.get("class") == "background"
    assert background.get("fill") is None  # the scheme's colour, not a fixed white
    curve_classes = {curve.get("class") for curve in picture.iter(f"{SVG}polyline")}
    assert curve_classes == {"closed", "open"}
    found = schemes(picture)
    for scheme in found.values():
        back = scheme[".background"]["fill"]
        assert contrast(scheme["text"]["fill"], back) >= 4.5
        for state in curve_classes:
            assert contrast(scheme[f".{state}"]["stroke"], back) >= 3.0
    dark = found["dark"][".background"]["fill"]
    assert contrast(dark, "#000000") < contrast(dark, "#ffffff")  # a dark background
