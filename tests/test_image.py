"""The waveform picture: drawn from the simulation when asked, once per circuit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.no_neutral import image as image_module
from custom_components.no_neutral.circuit import DEFAULT_SCENARIO
from custom_components.no_neutral.coordinator import AGEING_INTERVAL
from custom_components.no_neutral.svg import nice_ticks
from tests.adaptor_common import HALOGEN_500, tick
from tests.link_helpers import wait_for

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled", "no_ws_heartbeat"),
]

SVG = "{http://www.w3.org/2000/svg}"
ENTITY = "image.hall_lamp_adaptor_waveforms"


async def _drawn(hass: HomeAssistant, previous: str | None = "unknown") -> str:
    """Wait for a new picture: the state (when its circuit changed) moves on."""

    def moved_on() -> bool:
        state = hass.states.get(ENTITY)
        return state is not None and state.state != previous

    await wait_for(moved_on, limit=120)
    return hass.states.get(ENTITY).state


async def _fetch(hass: HomeAssistant, client: ClientSessionGenerator) -> tuple[str, bytes]:
    state = hass.states.get(ENTITY)
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

    def draw(scenario: dict[str, Any]) -> bytes:
        drawn.append(scenario)
        return real_draw(scenario)

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
    hass.config_entries.async_update_entry(entry, options={**entry.options, **HALOGEN_500})
    await hass.async_block_till_done()
    # The coordinator reads the options at its next minute's tick.
    await tick(hass, freezer, AGEING_INTERVAL)
    await _drawn(hass, first)
    _, other = await _fetch(hass, hass_client)
    assert len(drawn) == 2
    assert drawn[-1]["lamp"]["power_w"] == 500.0
    assert b"500 W" in other
    assert b"500 W" not in picture


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
