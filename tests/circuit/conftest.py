"""The simulator needs no Home Assistant: switch off the suite's hass fixture."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the autouse fixture of tests/conftest.py, which starts hass."""
    return
