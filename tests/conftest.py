"""Fixtures shared by every test."""

from __future__ import annotations

import pytest

# Imported before the hass fixture starts, so that Home Assistant's loader finds
# this project's custom_components rather than the harness's own.
import custom_components.no_neutral  # noqa: F401

pytest_plugins = ["tests.rig", "tests.adaptor_common"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let Home Assistant load integrations from custom_components.

    Only tests that run Home Assistant get it: the circuit tests need no hass.
    """
    if "hass" in request.fixturenames:
        request.getfixturevalue("enable_custom_integrations")
