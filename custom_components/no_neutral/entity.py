"""The entity base: every entity of an entry belongs to the adaptor's device; batched adding."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, override

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import AdaptorCoordinator
from .data import NoNeutralConfigEntry, adaptor_identifier, adaptor_unique_id

ADAPTOR_MODEL = "No-neutral adaptor"


class NoNeutralEntity(CoordinatorEntity[AdaptorCoordinator]):
    """An entity of the adaptor's device (hung off the relay's) that follows its coordinator."""

    _attr_has_entity_name = True
    _written: tuple[object, ...] | None = None

    def __init__(self, entry: NoNeutralConfigEntry, key: str) -> None:
        """Follow the entry's coordinator; belong to the adaptor's device; key the unique id."""
        super().__init__(entry.runtime_data.adaptor)
        self.entry = entry
        # Keyed on the entry, not the relay's node: Reconfigure onto another
        # node keeps the adaptor's device, entity ids and history (data.py).
        self._attr_unique_id = adaptor_unique_id(entry, key)
        relay = entry.runtime_data.relay
        self._attr_device_info = DeviceInfo(
            identifiers={adaptor_identifier(entry)},
            # "<relay> adaptor": beside the relay's own device, which bears the
            # relay's name (the entry's title unless the user renamed it).
            translation_key="adaptor",
            translation_placeholders={"name": entry.title},
            manufacturer="No-Neutral Adaptor",
            model=ADAPTOR_MODEL,
        )
        if relay.device_id is not None:
            self._attr_device_info["via_device_id"] = relay.device_id

    def shown(self) -> tuple[object, ...] | None:
        """Return what the state shows besides availability (None: write at every update)."""
        return None

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        # Every update (each switching of the relay, each minute) would rewrite
        # all of an adaptor's two dozen states in one loop step, most of them
        # unchanged: 2.5-5.5 ms of the loop in tests/reliability/test_bench.py.
        if (shown := self.shown()) is not None:
            shown = (self.available, *shown)
            if shown == self._written:
                return
            self._written = shown
        # Marked as the adaptor's own: the coordinator ignores what comes of it.
        self.async_set_context(self.coordinator.context)
        super()._handle_coordinator_update()


# One entity per loop step. HA adds all the entities of one async_add_entities
# call in a single step (registry entry, device lookup, first state write: about
# 1-1.5 ms each on a 2-core machine, more with many entries): fifteen sensors at
# once held the loop for 20 ms, and with fifty entries even two took 6.8 ms
# (tests/reliability/test_bench.py).
async def async_add_in_batches(
    async_add_entities: AddConfigEntryEntitiesCallback, entities: Iterable[Entity]
) -> None:
    """Add entities one at a time, letting the loop run between them."""
    # Made one at a time too (a generator is read lazily): thirty sensors made
    # in one step were 7.4 ms of CPU with 50 entries and both cores busy.
    for entity in entities:
        # Also before the first: the platform's own setup was this step's work.
        await asyncio.sleep(0)
        async_add_entities([entity])


class Applicable(Protocol):
    """An entity description that exists for some options only."""

    @property
    def key(self) -> str:
        """Return the key of the entity's unique id."""
        ...

    @property
    def exists_fn(self) -> Callable[[Mapping[str, Any]], bool]:
        """Return whether the entity makes sense with these options."""
        ...


async def async_add_applicable[D: Applicable](
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    *,
    platform: str,
    descriptions: Iterable[D],
    make: Callable[[D], Entity],
) -> None:
    """
    Add the entities that make sense with the options, and follow their changes.

    A change of options applies without reloading the entry: the entities it
    leaves out go before the new picture is shown, those it calls for come
    after, showing it.
    """
    descriptions = tuple(descriptions)
    adaptor = entry.runtime_data.adaptor
    present: set[str] = set()

    def wanted() -> list[D]:
        return [d for d in descriptions if d.exists_fn(adaptor.options)]

    @callback
    def drop_stale() -> None:
        stale = present - {d.key for d in wanted()}
        present.difference_update(stale)
        async_remove_stale(hass, entry, platform, stale)

    async def add_new() -> None:
        new = [d for d in wanted() if d.key not in present]
        present.update(d.key for d in new)
        await async_add_in_batches(async_add_entities, (make(d) for d in new))

    # Also those an earlier run left in the registry.
    kept = {d.key for d in wanted()}
    async_remove_stale(hass, entry, platform, (d.key for d in descriptions if d.key not in kept))
    entry.async_on_unload(adaptor.async_add_options_hooks(drop_stale, add_new))
    await add_new()


@callback
def async_remove_stale(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, platform: str, keys: Iterable[str]
) -> None:
    """
    Remove the registry entries of entities that no longer make sense.

    A lamp type changed in the options (say LED to halogen) drops entities such
    as flicker; without this they would linger as unavailable. An entity in
    Home Assistant goes with its registry entry.
    """
    registry = er.async_get(hass)
    for key in keys:
        unique_id = adaptor_unique_id(entry, key)
        if entity_id := registry.async_get_entity_id(platform, DOMAIN, unique_id):
            registry.async_remove(entity_id)


async def async_migrate_adaptor_identity(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> None:
    """
    Key the adaptor's entities and device on the entry instead of the relay's node (entry 1.3).

    Each registry entry keeps its entity id, name, settings and history, and the
    device its id (device triggers name it): only the keys change.
    """
    node_key = entry.unique_id
    if node_key is None:
        return
    prefix = f"{node_key}_"

    @callback
    def migrate(registry_entry: er.RegistryEntry) -> dict[str, Any] | None:
        if registry_entry.platform != DOMAIN or not registry_entry.unique_id.startswith(prefix):
            return None
        key = registry_entry.unique_id.removeprefix(prefix)
        return {"new_unique_id": adaptor_unique_id(entry, key)}

    await er.async_migrate_entries(hass, entry.entry_id, migrate)
    devices = dr.async_get(hass)
    device = devices.async_get_device_by_identifier((DOMAIN, node_key), entry.entry_id)
    if device is not None and not devices.async_get_device_by_identifier(
        adaptor_identifier(entry), entry.entry_id
    ):
        devices.async_update_device(
            device.id,
            new_identifiers=(device.identifiers - {(DOMAIN, node_key)})
            | {adaptor_identifier(entry)},
        )
