"""The adaptor's waveforms over one mains cycle, as a picture (SVG)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from types import MappingProxyType
from typing import Any, Final, override

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from .circuit import ScenarioError, waveforms
from .circuit.params import DEFAULT_SCENARIO
from .const import DOMAIN
from .data import NoNeutralConfigEntry
from .entity import NoNeutralEntity, async_add_in_batches
from .simulator import SimulatorTimeoutError, async_get_simulator, scenario_key
from .svg import Labels, Trace, render_svg

# Read-only: the coordinator owns every update.
PARALLEL_UPDATES = 0

WAVEFORMS = ImageEntityDescription(
    key="waveforms",
    translation_key="waveforms",
    entity_category=EntityCategory.DIAGNOSTIC,
)

# The picture's words (strings.json's `common`, by key), in English: what a
# language lacks, and the picture drawn without Home Assistant.
ENGLISH: Final[Mapping[str, str]] = MappingProxyType(
    {
        "picture_title": "One mains cycle: {lamp}, {capacitance} µF capacitor",
        "picture_lamps": "{count} x {power} W {lamp}",
        "picture_lamp_led": "LED",
        "picture_lamp_resistive": "filament",
        "picture_lamp_capacitive_dropper": "dropper LED",
        "picture_lamp_none": "no lamp",
        "picture_relay_closed": "relay closed",
        "picture_relay_open": "relay open",
        "picture_lamp_voltage": "Lamp voltage (V)",
        "picture_capacitor_current": "Capacitor current (A)",
        "picture_time_axis": "time within one mains cycle (ms)",
    }
)


def picture_texts(translations: Mapping[str, str]) -> dict[str, str]:
    """Return the picture's words from Home Assistant's flattened translations of `common`."""
    prefix = f"component.{DOMAIN}.common."
    return {key: translations.get(prefix + key, english) for key, english in ENGLISH.items()}


async def async_picture_texts(hass: HomeAssistant) -> dict[str, str]:
    """Return the picture's words in Home Assistant's language."""
    translations = await async_get_translations(hass, hass.config.language, "common", {DOMAIN})
    return picture_texts(translations)


def picture_title(scenario: dict[str, Any], texts: Mapping[str, str] = ENGLISH) -> str:
    """Say in a few words which circuit the picture shows (what it leaves out: the defaults)."""
    lamp = DEFAULT_SCENARIO["lamp"] | scenario.get("lamp", {})
    smoothing = DEFAULT_SCENARIO["smoothing"] | scenario.get("smoothing", {})
    kind = lamp["type"]
    name = texts.get(f"picture_lamp_{kind}", kind)
    if kind not in {"none", "capacitive_dropper"}:
        name = texts["picture_lamps"].format(
            count=lamp["count"], power=f"{lamp['power_w']:g}", lamp=name
        )
    capacitor = smoothing["capacitance_uf"]
    return texts["picture_title"].format(lamp=name, capacitance=f"{capacitor:.3g}")


def draw(scenario: dict[str, Any], texts: Mapping[str, str] = ENGLISH) -> bytes:
    """Simulate the scenario's waveforms and draw them (one executor job; the SVG about 4 ms)."""
    wave = {key: values.tolist() for key, values in waveforms(scenario).items()}
    traces = {
        state: Trace(
            time_s=wave["time_s"],
            lamp_v=wave[f"{state}_lamp_v"],
            cap_current_a=wave[f"{state}_cap_current_a"],
        )
        for state in ("closed", "open")
    }
    words = Labels(
        closed=texts["picture_relay_closed"],
        open=texts["picture_relay_open"],
        lamp_voltage=texts["picture_lamp_voltage"],
        capacitor_current=texts["picture_capacitor_current"],
        time_axis=texts["picture_time_axis"],
    )
    return render_svg(traces, title=picture_title(scenario, texts), words=words)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the waveform picture."""
    await async_add_in_batches(async_add_entities, [WaveformImage(hass, entry)])


class WaveformImage(NoNeutralEntity, ImageEntity):
    """
    Lamp voltage and capacitor current, relay closed and open.

    Drawn on demand, when someone looks at it: the picture costs a waveform
    simulation and an SVG of a few thousand points, which fifty adaptors
    starting together must not all pay at once (nobody looks at them then).
    A new circuit moves `image_last_updated`, so the frontend asks again; the
    shared simulator client draws each circuit once and keeps the latest pictures.
    """

    _attr_content_type = "image/svg+xml"
    entity_description = WAVEFORMS

    def __init__(self, hass: HomeAssistant, entry: NoNeutralConfigEntry) -> None:
        """Follow the adaptor's coordinator; nothing is drawn until asked."""
        NoNeutralEntity.__init__(self, entry, WAVEFORMS.key)
        ImageEntity.__init__(self, hass)
        self._shown: str | None = None
        self._scenario: dict[str, Any] | None = None

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self._follow_circuit()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        self._follow_circuit()
        super()._handle_coordinator_update()

    @callback
    def _follow_circuit(self) -> None:
        """Offer a new picture when the simulated circuit changed, not on every update."""
        scenario = self.coordinator.data.scenario
        key = scenario_key(scenario)
        if key == self._shown:
            return
        self._shown = key
        self._scenario = dict(scenario)
        self._attr_image_last_updated = dt_util.utcnow()

    @override
    async def async_image(self) -> bytes | None:
        if self._scenario is None:
            return None
        # In Home Assistant's language. Cached by circuit alone: after a change
        # of language, as the entities' names, a picture already drawn keeps
        # the old words until the circuit changes or Home Assistant restarts.
        job = partial(draw, texts=await async_picture_texts(self.hass))
        try:
            return await async_get_simulator(self.hass).async_run("picture", job, self._scenario)
        except ScenarioError, ArithmeticError:
            # The coordinator's repair issue says why; there is nothing to draw.
            return None
        except SimulatorTimeoutError:
            # Not cached: the next look draws it again.
            return None
