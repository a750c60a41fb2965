"""
Drive the integration's config and options flows through HA's REST API.

This is what the frontend does when a person adds the integration, so the
develop stack sets itself up through the same code paths a user goes through.
"""

from __future__ import annotations

import time
from typing import Any

from homeassistant.util import slugify

from tools.devstack.ha_api import HomeAssistantAPI, HomeAssistantAPIError

DOMAIN = "no_neutral"
FLOW = "/api/config/config_entries/flow"
OPTIONS_FLOW = "/api/config/config_entries/options/flow"


def form_values(step: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """
    Fill a form as a person who accepts every default would, plus overrides.

    A key whose override is None is left out (an empty optional field). The
    fields of a section go under the section's name, as the frontend sends them.
    """
    return _fill(step.get("data_schema", []), overrides)


def _fill(schema: list[dict[str, Any]], overrides: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in schema:
        name = field["name"]
        if field.get("type") == "expandable":
            values[name] = _fill(field["schema"], overrides)
            continue
        if "default" in field:
            values[name] = field["default"]
        suggested = (field.get("description") or {}).get("suggested_value")
        if suggested is not None:
            values[name] = suggested
        if name in overrides:
            if overrides[name] is None:
                values.pop(name, None)
            else:
                values[name] = overrides[name]
    return values


def _expect(step: dict[str, Any], kind: str, step_id: str | None = None) -> None:
    if step.get("type") != kind or (step_id is not None and step.get("step_id") != step_id):
        msg = f"expected {kind} {step_id or ''}, got {step}"
        raise HomeAssistantAPIError(msg)
    if step.get("errors"):
        msg = f"the form {step.get('step_id')} reported errors: {step['errors']}"
        raise HomeAssistantAPIError(msg)


def _submit(
    api: HomeAssistantAPI, flow: str, step: dict[str, Any], step_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    """
    Check that `step` is the form `step_id`, submit `values`; return the next step.

    Values that pick a next step answer a menu.
    """
    _expect(step, "menu" if "next_step_id" in values else "form", step_id)
    return api.request("POST", flow, values)


def _wait_for_progress(
    api: HomeAssistantAPI, step: dict[str, Any], timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while step.get("type") == "progress":
        if time.monotonic() > deadline:
            msg = f"commissioning did not finish within {timeout} s"
            raise HomeAssistantAPIError(msg)
        time.sleep(0.5)
        step = api.request("GET", f"{FLOW}/{step['flow_id']}")
    if step.get("type") == "progress_done":
        step = api.request("POST", f"{FLOW}/{step['flow_id']}", {})
    return step


def add_template_switch(api: HomeAssistantAPI, name: str) -> str:
    """
    Add an optimistic template switch (no state template: it shows what it was told).

    The stand-in for a relay that another integration controls; return its entity id.
    """
    step = api.request("POST", FLOW, {"handler": "template"})
    flow = f"{FLOW}/{step['flow_id']}"
    step = api.request("POST", flow, {"next_step_id": "switch"})
    step = _submit(api, flow, step, "switch", {"name": name})
    _expect(step, "create_entry")
    entity_id = f"switch.{slugify(name)}"
    deadline = time.monotonic() + 30
    while True:
        try:
            api.state(entity_id)
        except HomeAssistantAPIError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        else:
            return entity_id


def add_companion_entry(
    api: HomeAssistantAPI, *, entity_id: str, relay_model: str, adaptor: dict[str, Any]
) -> dict[str, Any]:
    """Add an adaptor in companion mode, following `entity_id`."""
    flow, step = _start_flow(api, "companion")
    step = _submit(api, flow, step, "companion", {"entity": entity_id, "relay_model": relay_model})
    return _describe_adaptor(api, flow, step, adaptor)


def _start_flow(api: HomeAssistantAPI, way: str) -> tuple[str, dict[str, Any]]:
    """Start the config flow and take `way` from its first menu; return the flow's path and step."""
    step = api.request("POST", FLOW, {"handler": DOMAIN, "show_advanced_options": False})
    flow = f"{FLOW}/{step['flow_id']}"
    return flow, _submit(api, flow, step, "start", {"next_step_id": way})


def _describe_adaptor(
    api: HomeAssistantAPI, flow: str, step: dict[str, Any], adaptor: dict[str, Any]
) -> dict[str, Any]:
    """Fill the adaptor step; return the new entry."""
    step = _submit(api, flow, step, "adaptor", form_values(step, adaptor))
    _expect(step, "create_entry")
    entry: dict[str, Any] = step["result"]
    return entry


def add_entry(
    api: HomeAssistantAPI, *, url: str, manual_code: str, adaptor: dict[str, Any]
) -> dict[str, Any]:
    """Add the adaptor: pick the server's relay if it has one, else commission it."""
    flow, step = _start_flow(api, "matter")
    step = _submit(api, flow, step, "user", {"url": url})
    _expect(step, "menu", "pick")
    if "node" in step["menu_options"]:
        step = _submit(api, flow, step, "pick", {"next_step_id": "node"})
        step = _submit(api, flow, step, "node", form_values(step, {}))
    else:
        step = _submit(api, flow, step, "pick", {"next_step_id": "commission_code"})
        step = _submit(api, flow, step, "commission_code", {"code": manual_code})
        step = _wait_for_progress(api, step, timeout=120)
    return _describe_adaptor(api, flow, step, adaptor)


def set_options(api: HomeAssistantAPI, entry_id: str, overrides: dict[str, Any]) -> None:
    """Change an entry's options through its options flow."""
    step = api.request("POST", OPTIONS_FLOW, {"handler": entry_id})
    flow = f"{OPTIONS_FLOW}/{step['flow_id']}"
    # The menu's "Adaptor settings": the options form.
    step = _submit(api, flow, step, "init", {"next_step_id": "settings"})
    step = _submit(api, flow, step, "settings", form_values(step, overrides))
    _expect(step, "create_entry")
