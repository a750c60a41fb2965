"""Config flow for No-Neutral Adaptor."""

from __future__ import annotations

from typing import Any

import probatio
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult

from .const import CONF_URL, DEFAULT_URL, DOMAIN


class NoNeutralConfigFlow(ConfigFlow, domain=DOMAIN):
    """Pair a relay and describe its adaptor."""

    VERSION = 1

    async def async_step_user(
        self,
        user_input: dict[str, Any] | None = None,  # noqa: ARG002
    ) -> ConfigFlowResult:
        """Ask for the Matter server."""
        return self.async_show_form(
            step_id="user",
            data_schema=probatio.Schema({probatio.Required(CONF_URL, default=DEFAULT_URL): str}),
        )
