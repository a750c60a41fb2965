"""Turn Matter failures into translated Home Assistant errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from homeassistant.exceptions import HomeAssistantError
from matter_server.client.exceptions import MatterClientException
from matter_server.common.errors import MatterError

from .const import DOMAIN

if TYPE_CHECKING:
    from .relay import RelayLink


@contextmanager
def relay_command(relay: RelayLink) -> Iterator[None]:
    """
    Wrap a command to the relay; report a failure in the user's language.

    Refuses up front when the server or the relay is unreachable, so the user
    reads why instead of waiting for a command that cannot arrive.
    """
    if not relay.server.connected:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="server_unavailable",
            translation_placeholders={"url": relay.server.url},
        )
    if not relay.available:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="relay_unavailable",
            translation_placeholders={"node_id": str(relay.node_id)},
        )
    try:
        yield
    except (MatterError, MatterClientException) as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_failed",
            translation_placeholders={"error": str(err) or type(err).__name__},
        ) from err
