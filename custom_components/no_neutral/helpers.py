"""Turn Matter failures into translated Home Assistant errors; keep secrets out of texts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from aiohttp import ClientError
from homeassistant.exceptions import HomeAssistantError
from matter_server.client.exceptions import MatterClientException
from matter_server.common.errors import MatterError

from .const import DOMAIN

if TYPE_CHECKING:
    from .relay import RelayLink

# The user-information part of any URL in a text ("ws://user:pass@"). Greedy up
# to the last "@" before the path: a password typed with a raw "@" goes too.
_USERINFO: Final = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^/\s]+@")


def redact_url(text: str, *, marker: str = "") -> str:
    """
    Return `text` with the user name and password of every URL in it removed.

    A server behind a reverse proxy needs credentials in its URL; logs, error
    messages and repair issues show the host, port and path only. With a
    `marker`, the credentials are replaced by it (diagnostics show that there
    were some).
    """
    return _USERINFO.sub(lambda match: f"{match[1]}{marker}@" if marker else match[1], text)


@contextmanager
def relay_command(relay: RelayLink) -> Iterator[None]:
    """
    Wrap a command to the relay; report a failure in the user's language.

    Refuses up front when the server or the relay is unreachable, so the user
    reads why instead of waiting for a command that cannot arrive. A connection
    that dies while the command is written surfaces as aiohttp's or the OS's
    own error (ClientConnectionResetError); the user gets the translated
    "server went away" instead of a raw traceback.
    """
    url = redact_url(relay.server.url)
    if not relay.server.connected:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="server_unavailable",
            translation_placeholders={"url": url},
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
            translation_placeholders={"error": redact_url(str(err)) or type(err).__name__},
        ) from err
    except (ClientError, OSError, TimeoutError) as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="connection_lost",
            translation_placeholders={"url": url},
        ) from err
