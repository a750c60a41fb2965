"""
Pairing codes and setup PINs never leave the config flow: not in any log line
(every logger, debug level), not in the created entry, not in its diagnostics,
not in a failed commissioning's error text. Real parts: the python-matter-server
and the matter.js virtual relay (tests/rig.py), commissioned through the flow.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.no_neutral.const import CONF_URL, DOMAIN
from tests.adaptor_common import _shared_simulations  # noqa: F401 (fixture)
from tests.rig import reset_relay
from tests.test_config_flow import form_input
from tools.rig.relay_rig import RelayRig

from .common import watch_logs

pytestmark = [
    pytest.mark.matter,
    pytest.mark.netns,
    pytest.mark.usefixtures("socket_enabled"),
]

ADAPTOR_INPUT = form_input(
    {
        "lamp_type": "led",
        "lamp_count": 1,
        "lamp_power_w": 9,
        "mains_voltage_rms": 230,
        "mains_frequency_hz": 50,
    }
)
WRONG_PIN = 12345679


def secrets_of(rig: RelayRig) -> tuple[str, ...]:
    found = [rig.relay.manual_code, str(rig.relay.passcode), str(WRONG_PIN)]
    if rig.relay.qr_code:
        found.append(rig.relay.qr_code)
    return tuple(found)


async def _flow_to(
    hass: HomeAssistant, url: str, how: str, user_input: dict[str, Any]
) -> dict[str, Any]:
    flow = hass.config_entries.flow
    result = await flow.async_init(DOMAIN, context={"source": config_entries.SOURCE_USER})
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "matter"})
    result = await flow.async_configure(result["flow_id"], {CONF_URL: url})
    result = await flow.async_configure(result["flow_id"], {"next_step_id": how})
    result = await flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done(wait_background_tasks=True)
    return await flow.async_configure(result["flow_id"])  # type: ignore[return-value]


async def test_pairing_code_and_pin_stay_secret(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, relay_rig: RelayRig
) -> None:
    rig = relay_rig
    await hass.async_add_executor_job(reset_relay, rig)
    secrets = secrets_of(rig)
    texts: list[str] = []
    with watch_logs(level=logging.DEBUG) as logs:
        # A wrong PIN: commissioning fails; the form says why without the PIN.
        result = await _flow_to(
            hass, rig.server.url, "commission_ip", {"pin": WRONG_PIN, "ip_address": rig.relay.ip}
        )
        assert result["type"] is FlowResultType.FORM, result
        assert result["errors"], result
        texts.append(repr(result))
        hass.config_entries.flow.async_abort(result["flow_id"])
        # The right code: commissioned, entry created.
        result = await _flow_to(
            hass, rig.server.url, "commission_code", {"code": rig.relay.manual_code}
        )
        assert result["step_id"] == "adaptor", result
        texts.append(repr(result))
        result = await hass.config_entries.flow.async_configure(result["flow_id"], ADAPTOR_INPUT)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        await hass.async_block_till_done()
        texts.append(repr(dict(entry.data)) + repr(dict(entry.options)) + entry.title)
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        texts.append(repr(diagnostics))
        await hass.config_entries.async_unload(entry.entry_id)
    log_text = logs.text()
    assert log_text  # the watch saw the flow
    leaked_logs = [line for line in log_text.splitlines() if any(s in line for s in secrets)]
    assert not leaked_logs, leaked_logs[:5]
    for text in texts:
        assert not [s for s in secrets if s in text], text[:500]
