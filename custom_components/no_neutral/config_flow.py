"""
Config flow for No-Neutral Adaptor: the flow itself, and what its ways in share.

start (menu): a Matter relay (matter_steps.py), or companion mode: follow a
switch or light (companion_steps.py). A node of HA's Matter server announcing
itself comes in by discovery (discovery_steps.py). Every way ends in the
adaptor step here (lamp and mains) -> entry. Reconfigure (here, then
reconfigure_steps.py) changes the server URL and node, or the followed
entity; the options flow edits the adaptor's parts.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final, override

from homeassistant.config_entries import (
    SOURCE_ZEROCONF,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback

from .companion_steps import CompanionSteps
from .const import CONF_ENTITY, CONF_NODE_ID, CONF_URL, DEFAULT_URL, DOMAIN
from .discovery_steps import DiscoverySteps
from .matter_steps import MatterSteps, NodeChoice, ServerError, async_read_nodes, url_schema
from .option_form import async_submit, country_mains, form_with_input
from .options import ADAPTOR_STEP, default_options, form_keys
from .options_flow import NoNeutralOptionsFlow
from .reconfigure_steps import ReconfigureSteps

if TYPE_CHECKING:
    from .data import NoNeutralConfigEntry

ABORT_NODE_REMOVED: Final = "node_removed"

ADAPTOR_STEP_KEYS: Final = form_keys(ADAPTOR_STEP)


class AdaptorFlow(ConfigFlow):
    """What every way in shares: what was chosen, the unique id, the adaptor step it ends in."""

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._url = DEFAULT_URL
        self._choices: dict[str, NodeChoice] = {}
        self._chosen: NodeChoice | None = None
        self._commission_args: dict[str, Any] = {}
        self._commission_task: asyncio.Task[NodeChoice] | None = None
        self._commission_error: tuple[str, str] | None = None
        # The way in is chosen once (start menu), then the Matter steps run as before.
        self._way_chosen = False
        # Companion mode's new entry: title, data and the options its relay sets.
        self._companion: tuple[str, dict[str, Any], dict[str, Any]] | None = None

    def _configured_ids(self, *, except_entry: ConfigEntry | None = None) -> set[str | None]:
        return {
            entry.unique_id
            for entry in self._async_current_entries(include_ignore=False)
            if except_entry is None or entry.entry_id != except_entry.entry_id
        }

    async def _async_claim(self, unique_id: str, *, raise_on_progress: bool = True) -> None:
        """Take the relay's unique id; abort if an entry has it already."""
        await self.async_set_unique_id(unique_id, raise_on_progress=raise_on_progress)
        self._abort_if_unique_id_configured()

    async def async_step_start(self, _user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the way in: a Matter relay, or a switch or light HA already controls."""
        return self.async_show_menu(step_id="start", menu_options=["matter", "companion"])

    async def async_step_adaptor(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Describe the lamp and the mains; everything else starts at the simulator's defaults."""
        title, data, relay_options = self._new_entry()
        # The mains usual in Home Assistant's country, until the user says otherwise.
        options = default_options() | country_mains(self.hass.config.country) | relay_options
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {
            "name": title,
            "problems": "",
            "reason": "",
        }
        if user_input is not None:
            options, errors, reasons = await async_submit(
                self.hass, ADAPTOR_STEP_KEYS, options, user_input
            )
            placeholders |= reasons
            if not errors and self.source == SOURCE_ZEROCONF:
                try:
                    if await self._async_discovered_node_gone():
                        return self.async_abort(reason=ABORT_NODE_REMOVED)
                except ServerError as err:
                    errors = {"base": err.key}
            if not errors:
                return self.async_create_entry(title=title, data=data, options=options)
        return self.async_show_form(
            step_id="adaptor",
            data_schema=form_with_input(self, ADAPTOR_STEP_KEYS, options, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _new_entry(self) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """Return the new entry's title and data, and the options its relay sets."""
        if self._companion is not None:
            return self._companion
        assert self._chosen is not None  # noqa: S101 - set before the adaptor step
        data = {CONF_URL: self._url, CONF_NODE_ID: self._chosen.node_id}
        # A Matter relay starts at the model's own figures (a MINIR4M's).
        return self._chosen.info.name, data, {}

    async def _async_discovered_node_gone(self) -> bool:
        """Return whether the server no longer has the discovered node (removed since the offer)."""
        assert self._chosen is not None  # noqa: S101 - set by async_step_zeroconf
        _fabric, choices = await async_read_nodes(self.hass, self._url)
        return all(choice.node_id != self._chosen.node_id for choice in choices)


class NoNeutralConfigFlow(
    MatterSteps, CompanionSteps, DiscoverySteps, ReconfigureSteps, AdaptorFlow, domain=DOMAIN
):
    """Pair a relay, or follow a switch or light, and describe its adaptor."""

    VERSION = 1
    # 1.2: binary sensors keyed by their warning's code (binary_sensor.async_migrate_unique_ids).
    # 1.3: the adaptor keyed by the entry, not by the relay's node
    # (entity.async_migrate_adaptor_identity).
    MINOR_VERSION = 3

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: NoNeutralConfigEntry) -> OptionsFlow:
        return NoNeutralOptionsFlow()

    # Here, not in reconfigure_steps.py: hassfest looks for it in config_flow.py.
    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the Matter server URL (then the node); a companion entry its entity."""
        entry = self._get_reconfigure_entry()
        if CONF_ENTITY in entry.data:
            return await self.async_step_reconfigure_companion()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_server_form_submit(user_input, except_entry=entry)
            if not errors and not self._choices:
                errors = {"base": "no_nodes"}
            if not errors:
                return await self.async_step_reconfigure_node()
        url = user_input[CONF_URL] if user_input else entry.data[CONF_URL]
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=url_schema(url),
            errors=errors,
        )
