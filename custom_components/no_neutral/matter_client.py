"""
The Matter client, with the server's node dump parsed in the executor.

`MatterClient.start_listening` receives every node of the server in one
message and builds a MatterNode of each in the same loop step: 12 ms for one
MINIR4M, 550 ms for fifty, during which the event loop does nothing else
(Home Assistant's own Matter integration pays the same). This subclass does
exactly what its parent does (matter-python-client 1.4), but builds the nodes
in an executor job, so the loop only waits for the message.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, cast

from aiohttp import ClientSession
from homeassistant.core import HomeAssistant
from matter_server.client import MatterClient
from matter_server.client.exceptions import ConnectionClosed
from matter_server.client.models.node import MatterNode
from matter_server.common.helpers.util import dataclass_from_dict
from matter_server.common.models import (
    APICommand,
    CommandMessage,
    MatterNodeData,
    SuccessResultMessage,
)


def parse_nodes(dump: list[dict[str, Any]]) -> dict[int, MatterNode]:
    """Build the MatterNode of each node in a start_listening result."""
    nodes = (MatterNode(dataclass_from_dict(MatterNodeData, node)) for node in dump)
    return {node.node_id: node for node in nodes}


class RelayClient(MatterClient):
    """A MatterClient that parses the node dump off the event loop."""

    def __init__(self, hass: HomeAssistant, url: str, session: ClientSession) -> None:
        """Keep hass for its executor."""
        super().__init__(url, session)
        self.hass = hass

    async def start_listening(self, init_ready: asyncio.Event | None = None) -> None:
        """Start listening (as MatterClient does), the node dump parsed in the executor."""
        await self.connect()
        try:
            message = CommandMessage(
                message_id=uuid.uuid4().hex, command=APICommand.START_LISTENING
            )
            await self.connection.send_message(message)
            nodes_msg = cast(
                "SuccessResultMessage", await self.connection.receive_message_or_raise()
            )
            self._nodes = await self.hass.async_add_executor_job(parse_nodes, nodes_msg.result)
            self.logger.info("Matter client initialized.")
            if init_ready is not None:
                init_ready.set()
            while not self._stop_called:
                msg = await self.connection.receive_message_or_raise()
                self._handle_incoming_message(msg)
        except ConnectionClosed:
            pass
        finally:
            await self.disconnect()
