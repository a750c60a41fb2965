"""Base entity: every entity of an entry belongs to the adaptor's device; batched adding."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import NoNeutralConfigEntry

ADAPTOR_MODEL = "No-neutral adaptor"


class NoNeutralEntity(Entity):
    """An entity of the adaptor's device, which hangs off the relay's device."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: NoNeutralConfigEntry, key: str) -> None:
        """Name the entity after the adaptor's device and key its unique id."""
        self.entry = entry
        self._attr_unique_id = f"{entry.unique_id}_{key}"
        relay = entry.runtime_data.relay
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, str(entry.unique_id))},
            name=entry.title,
            manufacturer="No-Neutral Adaptor",
            model=ADAPTOR_MODEL,
        )
        if relay.device_id is not None:
            self._attr_device_info["via_device_id"] = relay.device_id


# One entity per loop step. HA adds all the entities of one async_add_entities
# call in a single step (registry entry, device lookup, first state write: about
# 1-1.5 ms each on a 2-core machine, more with many entries): fifteen sensors at
# once held the loop for 20 ms, and with fifty entries even two took 6.8 ms
# (tests/reliability/test_bench.py).
async def async_add_in_batches(
    async_add_entities: AddConfigEntryEntitiesCallback, entities: Iterable[Entity]
) -> None:
    """Add entities one at a time, letting the loop run between them."""
    for entity in list(entities):
        # Also before the first: the platform's own setup was this step's work.
        await asyncio.sleep(0)
        async_add_entities([entity])
