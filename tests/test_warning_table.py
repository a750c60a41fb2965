"""The warning table: the simulator's codes, and every text and icon each warning needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.no_neutral.circuit import WARNING_CODES
from custom_components.no_neutral.repairs import PARTS_ADVICE_CODES
from custom_components.no_neutral.switching import SWITCHING_TRIGGER_TYPES
from custom_components.no_neutral.warning_table import (
    CODES,
    WARNINGS,
    Source,
    in_order,
    warning_changes,
)

PACKAGE = Path(__file__).parent.parent / "custom_components" / "no_neutral"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PACKAGE / name).read_text(encoding="utf-8"))
    return data


def test_simulation_rows_are_the_simulators_codes_in_its_order() -> None:
    simulated = tuple(w.code for w in WARNINGS if w.source is Source.SIMULATION)
    assert simulated == WARNING_CODES
    # The history's follow the simulator's (the order of every list of active warnings).
    assert (
        *WARNING_CODES,
        "fuse_switching",
        "fuse_blown",
        "cap_end_of_life",
        "cap_fast_wear",
        # Then the relay's own evidence.
        "relay_brown_outs",
    ) == CODES
    assert [w.code for w in WARNINGS if w.source is Source.RELAY] == ["relay_brown_outs"]


def test_every_warning_has_its_texts_and_icon() -> None:
    strings = load("strings.json")
    icons = load("icons.json")
    sensors = strings["entity"]["binary_sensor"]
    event_states = strings["entity"]["event"]["warning"]["state_attributes"]["event_type"]["state"]
    triggers = strings["device_automation"]["trigger_type"]
    issues = strings["issues"]
    for warning in WARNINGS:
        assert sensors[warning.code]["name"], warning.code
        issue = issues[warning.code]
        assert issue["title"], warning.code
        # A replaceable part's issue says what to do in its fix flow's confirmation,
        # one that other parts cure in its fix flow's first step (the parts advice).
        flow = issue.get("fix_flow", {}).get("step", {})
        text = flow["confirm"] if warning.part else flow["intro"] if flow else issue
        assert text["description"], warning.code
        fixable = warning.part is not None or warning.code in PARTS_ADVICE_CODES
        assert ("fix_flow" in issue) is fixable, warning.code
        if warning.code in PARTS_ADVICE_CODES:
            assert flow["answer"]["description"] == "{answer}", warning.code
        assert icons["entity"]["binary_sensor"][warning.code]["default"], warning.code
        for trigger_type in warning.trigger_types:
            assert triggers[trigger_type], trigger_type
            assert event_states[trigger_type], trigger_type
    # None left over from a former vocabulary.
    codes = set(CODES)
    trigger_types = {t for w in WARNINGS for t in w.trigger_types}
    assert set(sensors) == codes
    assert set(icons["entity"]["binary_sensor"]) == codes
    # Besides the warnings': the lamp switched elsewhere (switching.py), the relay's reboots.
    assert set(triggers) == trigger_types | set(SWITCHING_TRIGGER_TYPES) | {"relay_rebooted"}
    assert set(event_states) == trigger_types | {"relay_rebooted"}
    # The issues besides the warnings' own are the server's, the node's, the history's,
    # the simulator's, the relay's evidence and a companion's followed entity.
    assert set(issues) - codes == {
        "entity_removed",
        "server_version_too_old",
        "server_version_too_new",
        "node_removed",
        "history_reset",
        "invalid_scenario",
        "simulation_failed",
        "supply_evidence_light_on",
        "supply_evidence_light_off",
    }
    # HA reads the translation, the repository keeps the source: the same.
    assert load("translations/en.json") == strings


def test_user_facing_names_kept_their_words() -> None:
    names = {
        code: text["name"] for code, text in load("strings.json")["entity"]["binary_sensor"].items()
    }
    # Entity ids come from these names: changing one would rename a user's entity.
    assert names["no_load"] == "No-load risk"
    assert names["ghost_flash"] == "Ghost flashing"
    assert names["led_dropout"] == "Flicker"
    assert names["device_supply_low"] == "Relay supply low"
    assert names["cap_end_of_life"] == "Capacitor end of life"
    assert names["cap_overvoltage"] == "Capacitor overvoltage"
    assert names["fuse_switching"] == "Fuse switching overstress"
    assert names["cap_fast_wear"] == "Capacitor wearing fast"


def test_only_slow_discharge_is_a_safety_sensor_and_only_led_faults_depend_on_the_lamp() -> None:
    assert [w.code for w in WARNINGS if w.device_class == "safety"] == ["slow_discharge"]
    assert {w.code for w in WARNINGS if not w.applies_to("resistive")} == {
        "led_dropout",
        "ghost_flash",
    }
    assert all(w.applies_to("led") for w in WARNINGS)


def test_changes_are_in_table_order_and_unknown_codes_refused() -> None:
    changes = warning_changes(("fuse_blown", "no_load"), {"cap_end_of_life", "no_load"})
    assert changes.warnings == ("no_load", "cap_end_of_life")
    assert changes.raised == ("cap_end_of_life",)
    assert changes.cleared == ("fuse_blown",)
    assert not warning_changes(("no_load",), ["no_load"]).changed
    with pytest.raises(ValueError, match="flicker"):
        in_order({"no_load", "flicker"})
