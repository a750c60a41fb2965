"""The integration loads into Home Assistant."""

from __future__ import annotations

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration

from custom_components.no_neutral.const import DOMAIN


async def test_integration_loads(hass: HomeAssistant) -> None:
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.name == "No-Neutral Adaptor"
    assert integration.config_flow is True
    assert integration.pkg_path == "custom_components.no_neutral"
    await integration.async_get_component()
    handler = await integration.async_get_platform("config_flow")
    assert config_entries.HANDLERS[DOMAIN].__module__ == handler.__name__


async def test_user_flow_starts(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] == "form"
    assert result["step_id"] == "user"
