"""
Reconfigure's later steps: another node of the server, or another entity to follow.

reconfigure (config_flow.py: the server URL; a companion entry goes straight to
reconfigure_companion) -> reconfigure_node.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigEntryState, ConfigFlowResult
from homeassistant.helpers import entity_registry as er

from .companion_steps import companion_schema, entity_error
from .const import CONF_ENTITY, CONF_NODE_ID, CONF_URL
from .flow_steps import StepsBase
from .follower import entity_reference
from .matter_steps import CONF_NODE, node_schema

ERROR_ALREADY_FOLLOWED: Final = "already_followed"


class ReconfigureSteps(StepsBase):
    """Reconfigure's steps after the first (mixed into the config flow)."""

    async def async_step_reconfigure_node(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the node (the current one is preselected when the server still has it)."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            choice = self._choices[user_input[CONF_NODE]]
            await self.async_set_unique_id(choice.unique_id)
            changes: dict[str, Any] = {
                "unique_id": choice.unique_id,
                "data_updates": {CONF_URL: self._url, CONF_NODE_ID: choice.node_id},
            }
            return self._async_reconfigured(entry, changes)
        return self.async_show_form(
            step_id="reconfigure_node",
            data_schema=node_schema(self._choices, default=str(entry.data[CONF_NODE_ID])),
        )

    def _async_reconfigured(self, entry: ConfigEntry, changes: dict[str, Any]) -> ConfigFlowResult:
        if entry.state is ConfigEntryState.LOADED:
            # Its update listener reloads it onto the new server, node or entity.
            return self.async_update_and_abort(entry, **changes)
        return self.async_update_reload_and_abort(entry, **changes)

    async def async_step_reconfigure_companion(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Follow another switch or light (the one followed was replaced or removed)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            entity_id = user_input[CONF_ENTITY]
            reference = entity_reference(self.hass, entity_id)
            if error := entity_error(self.hass, entity_id):
                errors[CONF_ENTITY] = error
            elif reference in self._configured_ids(except_entry=entry):
                errors[CONF_ENTITY] = ERROR_ALREADY_FOLLOWED
            else:
                await self.async_set_unique_id(reference)
                changes = {"unique_id": reference, "data_updates": {CONF_ENTITY: reference}}
                return self._async_reconfigured(entry, changes)
        current = er.async_resolve_entity_id(er.async_get(self.hass), entry.data[CONF_ENTITY])
        return self.async_show_form(
            step_id="reconfigure_companion",
            data_schema=companion_schema(entity_id=current, with_model=False),
            errors=errors,
        )
