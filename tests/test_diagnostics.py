"""Diagnostics: options, figures and history, with secrets redacted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from homeassistant.components.diagnostics import REDACTED
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.no_neutral.helpers import redact_url
from tests.adaptor_common import SNAPSHOT_UNIQUE_ID

pytestmark = [
    pytest.mark.matter,
    pytest.mark.usefixtures("socket_enabled"),
]


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    entry_factory: Callable[..., Any],
    snapshot: SnapshotAssertion,
) -> None:
    entry = await entry_factory(setup=False, unique_id=SNAPSHOT_UNIQUE_ID)
    hass_storage[f"no_neutral.{entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"no_neutral.{entry.entry_id}",
        "data": {"cap_consumed": 0.25, "powered_h": 1234.5, "switchings": 77},
    }
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    # The server's port and the imported node's id change from run to run.
    assert diagnostics["entry"]["data"]["url"] == entry.data["url"]
    assert diagnostics["relay"]["node_id"] == entry.data["node_id"]
    del diagnostics["entry"]["data"]
    del diagnostics["relay"]["node_id"]
    # The figures are the simulator's, whose last digits its numerics still
    # move: they must be exactly the coordinator's; the snapshot keeps their names.
    data = entry.runtime_data.adaptor.data
    assert diagnostics["figures"] == data.figures
    assert diagnostics["derived"]["core_temp_c"] == data.core_temp_c
    assert diagnostics["derived"]["cap_remaining_life_h"] == data.cap_remaining_life_h
    diagnostics["figures"] = sorted(diagnostics["figures"])
    del diagnostics["derived"]["core_temp_c"]
    del diagnostics["derived"]["cap_remaining_life_h"]
    assert diagnostics == snapshot
    assert diagnostics["history"]["cap_consumed"] == 0.25


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("ws://localhost:5580/ws", "ws://localhost:5580/ws"),
        ("ws://admin:secret@matter.lan:5580/ws", "ws://**REDACTED**@matter.lan:5580/ws"),
        ("wss://token@matter.lan/ws", "wss://**REDACTED**@matter.lan/ws"),
    ],
)
def test_url_credentials_are_redacted(url: str, redacted: str) -> None:
    assert redact_url(url, marker=REDACTED) == redacted
