"""The adaptor's waveforms over one mains cycle, as a picture (SVG)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, override

from homeassistant.components.image import ImageEntity, ImageEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .adaptor_entity import AdaptorEntity
from .circuit import waveforms
from .coordinator import NoNeutralConfigEntry
from .waveform import Trace, render_svg

# Read-only: the coordinator owns every update.
PARALLEL_UPDATES = 0

WAVEFORMS = ImageEntityDescription(
    key="waveforms",
    translation_key="waveforms",
    entity_category=EntityCategory.DIAGNOSTIC,
)

LAMP_NAMES = {
    "led": "LED",
    "resistive": "filament",
    "capacitive_dropper": "dropper LED",
    "none": "no lamp",
}


def picture_title(scenario: dict[str, Any]) -> str:
    """Say in a few words which circuit the picture shows."""
    lamp = scenario.get("lamp", {})
    smoothing = scenario.get("smoothing", {})
    kind = lamp.get("type", "led")
    name = LAMP_NAMES.get(kind, kind)
    if kind not in {"none", "capacitive_dropper"}:
        name = f"{lamp.get('count', 1)} x {lamp.get('power_w', 10):g} W {name}"
    capacitor = smoothing.get("capacitance_uf", 15)
    return f"One mains cycle: {name}, {capacitor:.3g} µF capacitor"


def draw(scenario: dict[str, Any]) -> bytes:
    """Simulate the scenario's waveforms and draw them (runs in the executor)."""
    wave = waveforms(scenario)
    time_s = wave["time_s"].tolist()
    traces = {
        state: Trace(
            time_s=time_s,
            lamp_v=wave[f"{state}_lamp_v"].tolist(),
            cap_current_a=wave[f"{state}_cap_current_a"].tolist(),
        )
        for state in ("closed", "open")
    }
    return render_svg(traces, title=picture_title(scenario))


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the waveform picture."""
    async_add_entities([WaveformImage(hass, entry)])


class WaveformImage(AdaptorEntity, ImageEntity):
    """Lamp voltage and capacitor current, relay closed and open."""

    _attr_content_type = "image/svg+xml"
    entity_description = WAVEFORMS

    def __init__(self, hass: HomeAssistant, entry: NoNeutralConfigEntry) -> None:
        """Follow the adaptor's coordinator; nothing is drawn until it has data."""
        AdaptorEntity.__init__(self, entry, WAVEFORMS.key)
        ImageEntity.__init__(self, hass)
        self._drawn_for: str | None = None
        self._drawing: asyncio.Task[None] | None = None
        self._image: bytes | None = None

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self._cancel_drawing)
        self._schedule_redraw()

    @callback
    def _cancel_drawing(self) -> None:
        if self._drawing is not None:
            self._drawing.cancel()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        self._schedule_redraw()
        super()._handle_coordinator_update()

    @callback
    def _schedule_redraw(self) -> None:
        """Redraw only when the simulated circuit changed, not on every update."""
        data = self.coordinator.data
        key = json.dumps(data.scenario, sort_keys=True)
        if key == self._drawn_for:
            return
        self._drawn_for = key
        if self._drawing is not None:
            self._drawing.cancel()
        self._drawing = self.coordinator.config_entry.async_create_background_task(
            self.hass, self._async_redraw(dict(data.scenario), key), f"{self.entity_id} redraw"
        )

    async def _async_redraw(self, scenario: dict[str, Any], key: str) -> None:
        image = await self.hass.async_add_executor_job(draw, scenario)
        if key != self._drawn_for:
            return  # a newer circuit is being drawn already
        self._drawing = None
        self._image = image
        self._attr_image_last_updated = dt_util.utcnow()
        self.async_write_ha_state()

    @override
    async def async_image(self) -> bytes | None:
        return self._image
