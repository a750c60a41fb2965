"""
The Matter way in: the server's URL, then a node it has or a relay commissioned onto it.

matter -> user (server URL) -> pick (menu) -> node | commission_code | commission_ip
-> [commissioning progress] -> commissioned -> adaptor (config_flow.py).
Also what the other ways read from a server: its fabric and relay nodes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
from dataclasses import dataclass
from typing import Any, Final, override

import probatio
from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from matter_server.client.exceptions import (
    MatterClientException,
    ServerVersionTooNew,
    ServerVersionTooOld,
)
from matter_server.client.models.node import MatterNode
from matter_server.common.errors import MatterError
from matter_server.common.models import MatterNodeData
from yarl import URL

from .const import CONF_URL, DEFAULT_URL, LOGGER, MINIR4M_PRODUCT_ID, SONOFF_VENDOR_ID
from .discovery import matter_server_urls
from .flow_steps import StepsBase
from .option_form import ERROR_INVALID_NUMBER, ERROR_NOT_WHOLE_NUMBER
from .options import number_selector
from .relay import RelayDeviceInfo, has_relay_output
from .server import listening_client

CONF_NODE: Final = "node"
CONF_CODE: Final = "code"
CONF_PIN: Final = "pin"
CONF_IP_ADDRESS: Final = "ip_address"

ERROR_SERVER_TOO_OLD: Final = "server_too_old"
ERROR_SERVER_TOO_NEW: Final = "server_too_new"
ERROR_CANNOT_CONNECT: Final = "cannot_connect"
ERROR_NOT_A_RELAY: Final = "not_a_relay"

# A device that takes longer than this to commission has failed.
COMMISSION_TIMEOUT: Final = 120


@dataclass(frozen=True, kw_only=True)
class NodeChoice:
    """A node the user can pick."""

    node_id: int
    unique_id: str
    info: RelayDeviceInfo

    @property
    def label(self) -> str:
        """Return name, vendor and product, as the picker shows them."""
        vendor = self.info.vendor_name or f"0x{self.info.vendor_id:04X}"
        product = self.info.product_name or f"0x{self.info.product_id:04X}"
        return f"{self.info.name} ({vendor} {product}, node {self.node_id})"

    @property
    def sort_key(self) -> tuple[int, int]:
        """Sort a Sonoff MINIR4M first, then other Sonoff devices, then by node id."""
        sonoff = self.info.vendor_id == SONOFF_VENDOR_ID
        minir4m = sonoff and self.info.product_id == MINIR4M_PRODUCT_ID
        return (0 if minir4m else 1 if sonoff else 2, self.node_id)


def node_choice(node: MatterNode, compressed_fabric_id: int) -> NodeChoice:
    """Return the pickable node (with its relay's device info) a server's node stands for."""
    info = RelayDeviceInfo.from_node(node, compressed_fabric_id)
    return NodeChoice(node_id=node.node_id, unique_id=info.unique_id, info=info)


class ServerError(Exception):
    """The server could not be used; `key` is the form error."""

    def __init__(self, key: str) -> None:
        """Keep the form error's key."""
        super().__init__(key)
        self.key = key


def url_schema(url: str) -> probatio.Schema:
    """Return the server URL form, `url` filled in."""
    return probatio.Schema(
        {
            probatio.Required(CONF_URL, default=url): TextSelector(
                TextSelectorConfig(type=TextSelectorType.URL)
            )
        }
    )


def _url_error(url: str) -> str | None:
    try:
        parsed = URL(url)
    except ValueError:
        return "invalid_url"
    if parsed.scheme not in ("ws", "wss") or not parsed.host:
        return "invalid_url"
    return None


async def async_read_nodes(hass: HomeAssistant, url: str) -> tuple[int, list[NodeChoice]]:
    """Return the server's fabric and every node with an OnOff cluster, best first."""
    try:
        async with listening_client(hass, url) as client:
            info = client.server_info
            assert info is not None  # noqa: S101 - set by connect
            fabric = info.compressed_fabric_id
            choices = [
                node_choice(node, fabric) for node in client.get_nodes() if has_relay_output(node)
            ]
    except ServerVersionTooOld as err:
        raise ServerError(ERROR_SERVER_TOO_OLD) from err
    except ServerVersionTooNew as err:
        raise ServerError(ERROR_SERVER_TOO_NEW) from err
    except (MatterClientException, MatterError, TimeoutError, OSError) as err:
        LOGGER.debug("Cannot use the Matter server %s: %s", url, err)
        raise ServerError(ERROR_CANNOT_CONNECT) from err
    return fabric, sorted(choices, key=lambda choice: choice.sort_key)


def node_schema(choices: dict[str, NodeChoice], default: str | None = None) -> probatio.Schema:
    """Return the node picker, best first; `default` is preselected when the server has it."""
    ordered = sorted(choices.values(), key=lambda choice: choice.sort_key)
    selector = SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=str(choice.node_id), label=choice.label)
                for choice in ordered
            ],
            mode=SelectSelectorMode.LIST,
        )
    )
    default = default if default in choices else str(ordered[0].node_id)
    return probatio.Schema({probatio.Required(CONF_NODE, default=default): selector})


class MatterSteps(StepsBase):
    """The Matter way in's steps (mixed into the config flow)."""

    async def async_step_matter(
        self, _user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Go the Matter way: the server's URL first (the step `user`, as before the menu)."""
        self._way_chosen = True
        return await self.async_step_user()

    async def _async_server_form_submit(
        self, user_input: dict[str, Any], *, except_entry: ConfigEntry | None = None
    ) -> dict[str, str]:
        """Validate the URL and read the nodes; return form errors."""
        url = user_input[CONF_URL].strip()
        if error := _url_error(url):
            return {CONF_URL: error}
        try:
            _fabric, choices = await async_read_nodes(self.hass, url)
        except ServerError as err:
            return {"base": err.key}
        self._url = url
        configured = self._configured_ids(except_entry=except_entry)
        self._choices = {
            str(choice.node_id): choice for choice in choices if choice.unique_id not in configured
        }
        return {}

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the Matter server (after the way in is chosen)."""
        if user_input is None and not self._way_chosen:
            return await self.async_step_start()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_server_form_submit(user_input)
            if not errors:
                return await self.async_step_pick()
        url = user_input[CONF_URL] if user_input else self._suggested_url()
        return self.async_show_form(
            step_id="user",
            data_schema=url_schema(url),
            errors=errors,
        )

    def _suggested_url(self) -> str:
        """Return the server of HA's Matter integration, where it is set up."""
        return next(iter(matter_server_urls(self.hass)), DEFAULT_URL)

    async def async_step_pick(self, _user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer a paired node (when there is one) or commissioning a new relay."""
        options = ["commission_code", "commission_ip"]
        if self._choices:
            options.insert(0, "node")
        return self.async_show_menu(
            step_id="pick",
            menu_options=options,
            description_placeholders={"count": str(len(self._choices)), "url": self._url},
        )

    async def async_step_node(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick one of the server's nodes that has an OnOff cluster."""
        if user_input is not None:
            return await self._async_use_node(self._choices[user_input[CONF_NODE]])
        return self.async_show_form(step_id="node", data_schema=node_schema(self._choices))

    async def _async_use_node(self, choice: NodeChoice) -> ConfigFlowResult:
        # A discovered offer of the same node gives way once this flow creates the entry.
        await self._async_claim(choice.unique_id, raise_on_progress=False)
        self._chosen = choice
        return await self.async_step_adaptor()

    def _take_commission_error(self, errors: dict[str, str], placeholders: dict[str, str]) -> None:
        """Show the failed commissioning's error on the form it was started from."""
        if self._commission_error is not None:
            errors["base"], placeholders["error"] = self._commission_error
            self._commission_error = None

    async def async_step_commission_code(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Commission a new relay from its manual pairing code or QR code."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            code = str(user_input[CONF_CODE]).strip().replace("-", "").replace(" ", "")
            if code.startswith("MT:") or (code.isdigit() and len(code) in (11, 21)):
                self._commission_args = {"code": code}
                return await self.async_step_commissioning()
            errors[CONF_CODE] = "invalid_code"
        else:
            self._take_commission_error(errors, placeholders)
        return self.async_show_form(
            step_id="commission_code",
            data_schema=probatio.Schema({probatio.Required(CONF_CODE): TextSelector()}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_commission_ip(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Commission a new relay from its PIN (setup passcode) and, optionally, its IP."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            # The selector lets NaN and fractions through, as for the options.
            pin = float(user_input[CONF_PIN])
            if not math.isfinite(pin):
                errors[CONF_PIN] = ERROR_INVALID_NUMBER
            elif not pin.is_integer():
                errors[CONF_PIN] = ERROR_NOT_WHOLE_NUMBER
            ip_address = (user_input.get(CONF_IP_ADDRESS) or "").strip() or None
            if ip_address is not None:
                try:
                    ipaddress.ip_address(ip_address)
                except ValueError:
                    errors[CONF_IP_ADDRESS] = "invalid_ip"
            if not errors:
                self._commission_args = {"pin": int(user_input[CONF_PIN]), "ip": ip_address}
                return await self.async_step_commissioning()
        else:
            self._take_commission_error(errors, placeholders)
        return self.async_show_form(
            step_id="commission_ip",
            data_schema=probatio.Schema(
                {
                    probatio.Required(CONF_PIN): number_selector(None, 1, 99999998, whole=True),
                    probatio.Optional(CONF_IP_ADDRESS): TextSelector(),
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_commission(self) -> NodeChoice:
        args = self._commission_args
        async with (
            listening_client(self.hass, self._url) as client,
            asyncio.timeout(COMMISSION_TIMEOUT),
        ):
            if "code" in args:
                data: MatterNodeData = await client.commission_with_code(
                    args["code"], network_only=True
                )
            else:
                data = await client.commission_on_network(args["pin"], args["ip"])
            info = client.server_info
            assert info is not None  # noqa: S101 - set by connect
            node = MatterNode(data)
            if not has_relay_output(node):
                raise ServerError(ERROR_NOT_A_RELAY)
            return node_choice(node, info.compressed_fabric_id)

    async def async_step_commissioning(
        self, _user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show progress while the server commissions the relay."""
        if self._commission_task is None:
            self._commission_task = self.hass.async_create_task(self._async_commission())
        if not self._commission_task.done():
            return self.async_show_progress(
                step_id="commissioning",
                progress_action="commissioning",
                progress_task=self._commission_task,
            )
        task, self._commission_task = self._commission_task, None
        back = "commission_code" if "code" in self._commission_args else "commission_ip"
        try:
            self._chosen = task.result()
        except ServerError as err:
            self._commission_error = (err.key, "")
            return self.async_show_progress_done(next_step_id=back)
        except (MatterClientException, MatterError, TimeoutError, OSError) as err:
            LOGGER.warning("Commissioning failed: %s", err)
            self._commission_error = ("commission_failed", str(err) or type(err).__name__)
            return self.async_show_progress_done(next_step_id=back)
        return self.async_show_progress_done(next_step_id="commissioned")

    async def async_step_commissioned(
        self, _user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Carry on with the node that was just commissioned."""
        assert self._chosen is not None  # noqa: S101 - set by async_step_commissioning
        return await self._async_use_node(self._chosen)
