"""
Companion mode's way in: follow a switch or light that Home Assistant already controls.

companion (entity, relay model) -> adaptor (config_flow.py).
"""

from __future__ import annotations

from typing import Any, Final

import probatio
from homeassistant.config_entries import ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .const import CONF_ENTITY, CONF_RELAY_MODEL, DOMAIN
from .flow_steps import StepsBase
from .follower import entity_reference
from .options import CONF_RELAY_POWER_W_OFF, CONF_RELAY_POWER_W_ON
from .relay_models import MINIR4M, RELAY_MODELS

ERROR_ENTITY_NOT_FOUND: Final = "entity_not_found"
ERROR_OWN_RELAY_ENTITY: Final = "own_relay_entity"
# Companion mode follows what another integration switches.
COMPANION_DOMAINS: Final = ["switch", "light"]


def companion_schema(*, entity_id: str | None, with_model: bool) -> probatio.Schema:
    """Return the entity picker (`entity_id` preselected), with the relay model when asked."""
    entity = (
        probatio.Required(CONF_ENTITY)
        if entity_id is None
        else probatio.Required(CONF_ENTITY, default=entity_id)
    )
    fields: dict[Any, Any] = {
        entity: EntitySelector(EntitySelectorConfig(domain=COMPANION_DOMAINS))
    }
    if with_model:
        fields[probatio.Required(CONF_RELAY_MODEL, default=MINIR4M)] = SelectSelector(
            SelectSelectorConfig(
                # Products by their name in every language; the generic ones translated.
                options=[
                    SelectOptionDict(value=model.key, label=model.label)
                    for model in RELAY_MODELS.values()
                ],
                translation_key=CONF_RELAY_MODEL,
                mode=SelectSelectorMode.DROPDOWN,
            )
        )
    return probatio.Schema(fields)


def entity_error(hass: HomeAssistant, entity_id: str) -> str | None:
    """Return why an entity cannot be followed as a relay, if it cannot."""
    registry_entry = er.async_get(hass).async_get(entity_id)
    if registry_entry is not None and registry_entry.platform == DOMAIN:
        # An adaptor's own lamp: following it would count its relay twice.
        return ERROR_OWN_RELAY_ENTITY
    if registry_entry is None and hass.states.get(entity_id) is None:
        return ERROR_ENTITY_NOT_FOUND
    return None


def entity_name(hass: HomeAssistant, entity_id: str) -> str:
    """Return the name the user knows the followed entity by."""
    if (state := hass.states.get(entity_id)) is not None and state.name:
        return state.name
    registry_entry = er.async_get(hass).async_get(entity_id)
    if registry_entry is not None:
        return registry_entry.name or registry_entry.original_name or entity_id
    return entity_id


class CompanionSteps(StepsBase):
    """Companion mode's step (mixed into the config flow)."""

    async def async_step_companion(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the switch or light that Home Assistant already controls, and its relay's kind."""
        self._way_chosen = True
        errors: dict[str, str] = {}
        if user_input is not None:
            entity_id = user_input[CONF_ENTITY]
            if error := entity_error(self.hass, entity_id):
                errors[CONF_ENTITY] = error
            else:
                reference = entity_reference(self.hass, entity_id)
                # One entry per followed entity: a three-gang relay is three.
                await self._async_claim(reference)
                model = RELAY_MODELS[user_input[CONF_RELAY_MODEL]]
                self._companion = (
                    entity_name(self.hass, entity_id),
                    {CONF_ENTITY: reference, CONF_RELAY_MODEL: model.key},
                    {
                        CONF_RELAY_POWER_W_OFF: model.power_w_off,
                        CONF_RELAY_POWER_W_ON: model.power_w_on,
                    },
                )
                return await self.async_step_adaptor()
        schema = companion_schema(entity_id=None, with_model=True)
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(step_id="companion", data_schema=schema, errors=errors)
