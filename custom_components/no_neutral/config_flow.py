"""
Config flow for No-Neutral Adaptor.

start (menu): a Matter relay, or companion mode (follow a switch or light).
companion (entity, relay model) -> adaptor -> entry.
matter -> user (server URL) -> pick (menu) -> node | commission_code | commission_ip
-> [commissioning progress] -> adaptor (lamp and mains) -> entry.
zeroconf (a node of HA's Matter server announcing itself) -> adaptor -> entry.
Reconfigure changes the server URL or the node; the options flow edits the
adaptor's parts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, override

import probatio
from homeassistant.config_entries import (
    SOURCE_ZEROCONF,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
from matter_server.client.exceptions import (
    MatterClientException,
    ServerVersionTooNew,
    ServerVersionTooOld,
)
from matter_server.client.models.node import MatterNode
from matter_server.common.errors import MatterError
from matter_server.common.models import MatterNodeData
from yarl import URL

from .const import (
    CONF_ENTITY,
    CONF_NODE_ID,
    CONF_RELAY_MODEL,
    CONF_URL,
    DEFAULT_URL,
    DOMAIN,
    LOGGER,
    MINIR4M_PRODUCT_ID,
    SONOFF_VENDOR_ID,
)
from .discovery import (
    OperationalName,
    followed_by_companion,
    matter_server_urls,
    operational_name,
)
from .follower import entity_reference
from .option_form import (
    ERROR_INVALID_NUMBER,
    ERROR_NOT_WHOLE_NUMBER,
    async_submit,
    country_mains,
    form_with_input,
)
from .options import (
    ADAPTOR_STEP,
    CONF_RELAY_POWER_W_OFF,
    CONF_RELAY_POWER_W_ON,
    default_options,
    form_keys,
    number_selector,
)
from .options_flow import NoNeutralOptionsFlow
from .relay import RelayDeviceInfo, has_relay_output
from .relay_models import MINIR4M, RELAY_MODELS
from .server import listening_client

if TYPE_CHECKING:
    from .data import NoNeutralConfigEntry

CONF_NODE: Final = "node"
CONF_CODE: Final = "code"
CONF_PIN: Final = "pin"
CONF_IP_ADDRESS: Final = "ip_address"

ERROR_SERVER_TOO_OLD: Final = "server_too_old"
ERROR_SERVER_TOO_NEW: Final = "server_too_new"
ERROR_CANNOT_CONNECT: Final = "cannot_connect"
ERROR_NOT_A_RELAY: Final = "not_a_relay"
ERROR_ENTITY_NOT_FOUND: Final = "entity_not_found"
ERROR_OWN_RELAY_ENTITY: Final = "own_relay_entity"
ERROR_ALREADY_FOLLOWED: Final = "already_followed"
# Companion mode follows what another integration switches.
COMPANION_DOMAINS: Final = ["switch", "light"]

ABORT_NOT_MATTER_NODE: Final = "not_matter_node"
ABORT_NO_MATTER_ENTRY: Final = "no_matter_entry"
ABORT_OTHER_FABRIC: Final = "other_fabric"
ABORT_NOT_A_RELAY_NODE: Final = "not_a_relay_node"
ABORT_NODE_REMOVED: Final = "node_removed"

# A device that takes longer than this to commission has failed.
COMMISSION_TIMEOUT: Final = 120

ADAPTOR_STEP_KEYS: Final = form_keys(ADAPTOR_STEP)


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


def _choice(node: MatterNode, compressed_fabric_id: int) -> NodeChoice:
    info = RelayDeviceInfo.from_node(node, compressed_fabric_id)
    return NodeChoice(node_id=node.node_id, unique_id=info.unique_id, info=info)


class _ServerError(Exception):
    """The server could not be used; `key` is the form error."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _url_schema(url: str) -> probatio.Schema:
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


async def _async_read_nodes(hass: HomeAssistant, url: str) -> tuple[int, list[NodeChoice]]:
    """Return the server's fabric and every node with an OnOff cluster, best first."""
    try:
        async with listening_client(hass, url) as client:
            info = client.server_info
            assert info is not None  # noqa: S101 - set by connect
            fabric = info.compressed_fabric_id
            choices = [
                _choice(node, fabric) for node in client.get_nodes() if has_relay_output(node)
            ]
    except ServerVersionTooOld as err:
        raise _ServerError(ERROR_SERVER_TOO_OLD) from err
    except ServerVersionTooNew as err:
        raise _ServerError(ERROR_SERVER_TOO_NEW) from err
    except (MatterClientException, MatterError, TimeoutError, OSError) as err:
        LOGGER.debug("Cannot use the Matter server %s: %s", url, err)
        raise _ServerError(ERROR_CANNOT_CONNECT) from err
    return fabric, sorted(choices, key=lambda choice: choice.sort_key)


def _companion_schema(*, entity_id: str | None, with_model: bool) -> probatio.Schema:
    entity = (
        probatio.Required(CONF_ENTITY)
        if entity_id is None
        else probatio.Required(CONF_ENTITY, default=entity_id)
    )
    fields: dict[Any, Any] = {
        entity: EntitySelector(EntitySelectorConfig(domain=COMPANION_DOMAINS))
    }
    if with_model:
        fields[probatio.Required(CONF_RELAY_MODEL, default=MINIR4M)] = SelectSelector(
            SelectSelectorConfig(
                # Products by their name in every language; the generic ones translated.
                options=[
                    SelectOptionDict(value=model.key, label=model.label)
                    for model in RELAY_MODELS.values()
                ],
                translation_key=CONF_RELAY_MODEL,
                mode=SelectSelectorMode.DROPDOWN,
            )
        )
    return probatio.Schema(fields)


def _entity_error(hass: HomeAssistant, entity_id: str) -> str | None:
    """Return why an entity cannot be followed as a relay, if it cannot."""
    registry_entry = er.async_get(hass).async_get(entity_id)
    if registry_entry is not None and registry_entry.platform == DOMAIN:
        # An adaptor's own lamp: following it would count its relay twice.
        return ERROR_OWN_RELAY_ENTITY
    if registry_entry is None and hass.states.get(entity_id) is None:
        return ERROR_ENTITY_NOT_FOUND
    return None


def _entity_name(hass: HomeAssistant, entity_id: str) -> str:
    """Return the name the user knows the followed entity by."""
    if (state := hass.states.get(entity_id)) is not None and state.name:
        return state.name
    registry_entry = er.async_get(hass).async_get(entity_id)
    if registry_entry is not None:
        return registry_entry.name or registry_entry.original_name or entity_id
    return entity_id


class NoNeutralConfigFlow(ConfigFlow, domain=DOMAIN):
    """Pair a relay and describe its adaptor."""

    VERSION = 1
    # 1.2: binary sensors keyed by their warning's code (binary_sensor.async_migrate_unique_ids).
    # 1.3: the adaptor keyed by the entry, not by the relay's node
    # (entity.async_migrate_adaptor_identity).
    MINOR_VERSION = 3

    def __init__(self) -> None:
        """Start with nothing chosen."""
        self._url = DEFAULT_URL
        self._choices: dict[str, NodeChoice] = {}
        self._chosen: NodeChoice | None = None
        self._commission_args: dict[str, Any] = {}
        self._commission_task: asyncio.Task[NodeChoice] | None = None
        self._commission_error: tuple[str, str] | None = None
        # The way in is chosen once (start menu), then the Matter steps run as before.
        self._way_chosen = False
        # Companion mode's new entry: title, data and the options its relay sets.
        self._companion: tuple[str, dict[str, Any], dict[str, Any]] | None = None

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: NoNeutralConfigEntry) -> OptionsFlow:
        return NoNeutralOptionsFlow()

    def _configured_ids(self, *, except_entry: ConfigEntry | None = None) -> set[str | None]:
        return {
            entry.unique_id
            for entry in self._async_current_entries(include_ignore=False)
            if except_entry is None or entry.entry_id != except_entry.entry_id
        }

    async def _async_server_form_submit(
        self, user_input: dict[str, Any], *, except_entry: ConfigEntry | None = None
    ) -> dict[str, str]:
        """Validate the URL and read the nodes; return form errors."""
        url = user_input[CONF_URL].strip()
        if error := _url_error(url):
            return {CONF_URL: error}
        try:
            _fabric, choices = await _async_read_nodes(self.hass, url)
        except _ServerError as err:
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
            data_schema=_url_schema(url),
            errors=errors,
        )

    async def _async_claim(self, unique_id: str, *, raise_on_progress: bool = True) -> None:
        """Take the relay's unique id; abort if an entry has it already."""
        await self.async_set_unique_id(unique_id, raise_on_progress=raise_on_progress)
        self._abort_if_unique_id_configured()

    async def async_step_start(self, _user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the way in: a Matter relay, or a switch or light HA already controls."""
        return self.async_show_menu(step_id="start", menu_options=["matter", "companion"])

    async def async_step_matter(
        self, _user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Go the Matter way: the server's URL first (the step `user`, as before the menu)."""
        self._way_chosen = True
        return await self.async_step_user()

    async def async_step_companion(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the switch or light that Home Assistant already controls, and its relay's kind."""
        self._way_chosen = True
        errors: dict[str, str] = {}
        if user_input is not None:
            entity_id = user_input[CONF_ENTITY]
            if error := _entity_error(self.hass, entity_id):
                errors[CONF_ENTITY] = error
            else:
                reference = entity_reference(self.hass, entity_id)
                # One entry per followed entity: a three-gang relay is three.
                await self._async_claim(reference)
                model = RELAY_MODELS[user_input[CONF_RELAY_MODEL]]
                self._companion = (
                    _entity_name(self.hass, entity_id),
                    {CONF_ENTITY: reference, CONF_RELAY_MODEL: model.key},
                    {
                        CONF_RELAY_POWER_W_OFF: model.power_w_off,
                        CONF_RELAY_POWER_W_ON: model.power_w_on,
                    },
                )
                return await self.async_step_adaptor()
        schema = _companion_schema(entity_id=None, with_model=True)
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(step_id="companion", data_schema=schema, errors=errors)

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

    def _node_schema(self, default: str | None = None) -> probatio.Schema:
        choices = sorted(self._choices.values(), key=lambda choice: choice.sort_key)
        selector = SelectSelector(
            SelectSelectorConfig(
                options=[
                    SelectOptionDict(value=str(choice.node_id), label=choice.label)
                    for choice in choices
                ],
                mode=SelectSelectorMode.LIST,
            )
        )
        default = default if default in self._choices else str(choices[0].node_id)
        return probatio.Schema({probatio.Required(CONF_NODE, default=default): selector})

    async def async_step_node(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick one of the server's nodes that has an OnOff cluster."""
        if user_input is not None:
            return await self._async_use_node(self._choices[user_input[CONF_NODE]])
        return self.async_show_form(step_id="node", data_schema=self._node_schema())

    async def _async_use_node(self, choice: NodeChoice) -> ConfigFlowResult:
        # A discovered offer of the same node gives way once this flow creates the entry.
        await self._async_claim(choice.unique_id, raise_on_progress=False)
        self._chosen = choice
        return await self.async_step_adaptor()

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
        elif self._commission_error is not None:
            errors["base"], placeholders["error"] = self._commission_error
            self._commission_error = None
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
        elif self._commission_error is not None:
            errors["base"], placeholders["error"] = self._commission_error
            self._commission_error = None
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
                raise _ServerError(ERROR_NOT_A_RELAY)
            return _choice(node, info.compressed_fabric_id)

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
        except _ServerError as err:
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

    @override
    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """
        Offer a node of HA's Matter server, seen by its operational mDNS advertisement.

        The instance name carries the fabric and the node; the server is the
        one of HA's Matter entry whose fabric it is. A node followed already
        is not offered; its entry takes the Matter entry's URL if the server moved.
        """
        name = operational_name(discovery_info.name)
        if name is None:
            return self.async_abort(reason=ABORT_NOT_MATTER_NODE)
        await self.async_set_unique_id(name.unique_id)
        if followed_by_companion(self.hass, name):
            return self.async_abort(reason="already_configured")
        urls = matter_server_urls(self.hass)
        followed = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, name.unique_id)
        if not urls or (followed is not None and followed.data.get(CONF_URL) in urls):
            self._abort_if_unique_id_configured()
            return self.async_abort(reason=ABORT_NO_MATTER_ENTRY)
        found = await self._async_find_node(name, urls)
        if isinstance(found, str):
            self._abort_if_unique_id_configured()
            return self.async_abort(reason=found)
        self._url, choices = found
        # The entry's update listener reloads it onto the new URL.
        self._abort_if_unique_id_configured(updates={CONF_URL: self._url}, reload_on_update=False)
        chosen = next((choice for choice in choices if choice.node_id == name.node_id), None)
        if chosen is None:
            return self.async_abort(reason=ABORT_NOT_A_RELAY_NODE)
        self._chosen = chosen
        self.context["title_placeholders"] = {"name": chosen.info.name}
        return await self.async_step_adaptor()

    async def _async_find_node(
        self, name: OperationalName, urls: list[str]
    ) -> tuple[str, list[NodeChoice]] | str:
        """Return the URL and relays of the server holding the node's fabric, or an abort reason."""
        reason = ABORT_OTHER_FABRIC
        for url in urls:
            try:
                fabric, choices = await _async_read_nodes(self.hass, url)
            except _ServerError as err:
                reason = err.key
                continue
            if fabric == name.compressed_fabric_id:
                return url, choices
        return reason

    async def _async_discovered_node_gone(self) -> bool:
        """Return whether the server no longer has the discovered node (removed since the offer)."""
        assert self._chosen is not None  # noqa: S101 - set by async_step_zeroconf
        _fabric, choices = await _async_read_nodes(self.hass, self._url)
        return all(choice.node_id != self._chosen.node_id for choice in choices)

    async def async_step_adaptor(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Describe the lamp and the mains; everything else starts at the simulator's defaults."""
        title, data, relay_options = self._new_entry()
        # The mains usual in Home Assistant's country, until the user says otherwise.
        options = default_options() | country_mains(self.hass.config.country) | relay_options
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {
            "name": title,
            "problems": "",
            "reason": "",
        }
        if user_input is not None:
            options, errors, reasons = await async_submit(
                self.hass, ADAPTOR_STEP_KEYS, options, user_input
            )
            placeholders |= reasons
            if not errors and self.source == SOURCE_ZEROCONF:
                try:
                    if await self._async_discovered_node_gone():
                        return self.async_abort(reason=ABORT_NODE_REMOVED)
                except _ServerError as err:
                    errors = {"base": err.key}
            if not errors:
                return self.async_create_entry(title=title, data=data, options=options)
        return self.async_show_form(
            step_id="adaptor",
            data_schema=form_with_input(self, ADAPTOR_STEP_KEYS, options, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _new_entry(self) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """Return the new entry's title and data, and the options its relay sets."""
        if self._companion is not None:
            return self._companion
        assert self._chosen is not None  # noqa: S101 - set before the adaptor step
        data = {CONF_URL: self._url, CONF_NODE_ID: self._chosen.node_id}
        # A Matter relay starts at the model's own figures (a MINIR4M's).
        return self._chosen.info.name, data, {}

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the Matter server URL (then the node)."""
        entry = self._get_reconfigure_entry()
        if CONF_ENTITY in entry.data:
            return await self.async_step_reconfigure_companion()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_server_form_submit(user_input, except_entry=entry)
            if not errors and not self._choices:
                errors = {"base": "no_nodes"}
            if not errors:
                return await self.async_step_reconfigure_node()
        url = user_input[CONF_URL] if user_input else entry.data[CONF_URL]
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_url_schema(url),
            errors=errors,
        )

    async def async_step_reconfigure_node(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the node (the current one is preselected when the server still has it)."""
        entry = self._get_reconfigure_entry()
        if user_input is not None:
            choice = self._choices[user_input[CONF_NODE]]
            await self.async_set_unique_id(choice.unique_id)
            changes: dict[str, Any] = {
                "unique_id": choice.unique_id,
                "data_updates": {CONF_URL: self._url, CONF_NODE_ID: choice.node_id},
            }
            return self._async_reconfigured(entry, changes)
        return self.async_show_form(
            step_id="reconfigure_node",
            data_schema=self._node_schema(default=str(entry.data[CONF_NODE_ID])),
        )

    def _async_reconfigured(self, entry: ConfigEntry, changes: dict[str, Any]) -> ConfigFlowResult:
        if entry.state is ConfigEntryState.LOADED:
            # Its update listener reloads it onto the new server, node or entity.
            return self.async_update_and_abort(entry, **changes)
        return self.async_update_reload_and_abort(entry, **changes)

    async def async_step_reconfigure_companion(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Follow another switch or light (the one followed was replaced or removed)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            entity_id = user_input[CONF_ENTITY]
            reference = entity_reference(self.hass, entity_id)
            if error := _entity_error(self.hass, entity_id):
                errors[CONF_ENTITY] = error
            elif reference in self._configured_ids(except_entry=entry):
                errors[CONF_ENTITY] = ERROR_ALREADY_FOLLOWED
            else:
                await self.async_set_unique_id(reference)
                changes = {"unique_id": reference, "data_updates": {CONF_ENTITY: reference}}
                return self._async_reconfigured(entry, changes)
        current = er.async_resolve_entity_id(er.async_get(self.hass), entry.data[CONF_ENTITY])
        return self.async_show_form(
            step_id="reconfigure_companion",
            data_schema=_companion_schema(entity_id=current, with_model=False),
            errors=errors,
        )
