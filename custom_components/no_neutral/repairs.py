"""Repair issues: one per active fault of an adaptor, with what to do about it."""

from __future__ import annotations

from typing import Any, Final, override

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN

# Faults that can burn something or leave a socket live; the rest degrade the light.
ERRORS: Final = frozenset(
    {
        "no_load",
        "fuse_overstress",
        "fuse_switching",
        "fuse_blown",
        "cap_overvoltage",
        "slow_discharge",
    }
)
# Faults the user fixes by replacing a part; the fix flow resets its history.
REPLACEABLE: Final = {"fuse_blown": "fuse", "cap_end_of_life": "capacitor"}


def issue_id(entry_id: str, code: str) -> str:
    """Return the issue id of one fault of one entry."""
    return f"{entry_id}_{code}"


@callback
def async_sync_issues(
    hass: HomeAssistant,
    entry_id: str,
    title: str,
    active: tuple[str, ...],
    codes: tuple[str, ...],
) -> None:
    """Raise an issue for every active fault and clear the others."""
    for code in codes:
        if code not in active:
            ir.async_delete_issue(hass, DOMAIN, issue_id(entry_id, code))
            continue
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id(entry_id, code),
            is_fixable=code in REPLACEABLE,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR if code in ERRORS else ir.IssueSeverity.WARNING,
            translation_key=code,
            translation_placeholders={"name": title},
            data={"entry_id": entry_id, "code": code},
        )


@callback
def async_clear_issues(hass: HomeAssistant, entry_id: str, codes: tuple[str, ...]) -> None:
    """Clear every issue of an entry (it is unloaded or removed)."""
    for code in codes:
        ir.async_delete_issue(hass, DOMAIN, issue_id(entry_id, code))


SIMULATION_PROBLEMS: Final = ("invalid_scenario", "simulation_failed")


@callback
def async_sync_simulation_issue(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    problem: tuple[str, dict[str, str]] | None,
) -> None:
    """Raise the issue of a scenario the simulator refused or could not solve, or clear it."""
    for key in SIMULATION_PROBLEMS:
        if problem is None or problem[0] != key:
            ir.async_delete_issue(hass, DOMAIN, issue_id(entry.entry_id, key))
    if problem is not None:
        key, placeholders = problem
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id(entry.entry_id, key),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=key,
            translation_placeholders={"name": entry.title, **placeholders},
        )


HISTORY_RESET: Final = "history_reset"


@callback
def async_create_history_reset_issue(
    hass: HomeAssistant, entry: ConfigEntry[Any], kept_as: str
) -> None:
    """
    Say that the saved history was unreadable and started afresh.

    Persistent until the user confirms it: the wear it cost does not come back
    by itself, and the next start (with a fresh file) would not raise it again.
    """
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(entry.entry_id, HISTORY_RESET),
        is_fixable=True,
        is_persistent=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=HISTORY_RESET,
        translation_placeholders={"name": entry.title, "path": kept_as},
        data={"entry_id": entry.entry_id, "code": HISTORY_RESET},
    )


@callback
def async_delete_history_reset_issue(hass: HomeAssistant, entry_id: str) -> None:
    """Forget the issue of a removed entry."""
    ir.async_delete_issue(hass, DOMAIN, issue_id(entry_id, HISTORY_RESET))


class PartReplacedFlow(ConfirmRepairFlow):
    """Confirm that the part was replaced, and start its history again."""

    def __init__(self, entry_id: str, part: str) -> None:
        """Remember which entry and which part."""
        self.entry_id = entry_id
        self.part = part

    @override
    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        if user_input is not None and (
            entry := self.hass.config_entries.async_get_entry(self.entry_id)
        ):
            adaptor = entry.runtime_data.adaptor
            if self.part == "fuse":
                await adaptor.async_reset_fuse()
            else:
                await adaptor.async_reset_capacitor()
        return await super().async_step_confirm(user_input)


async def async_create_fix_flow(
    hass: HomeAssistant,  # noqa: ARG001
    issue_id: str,  # noqa: ARG001
    data: dict[str, Any] | None,
) -> RepairsFlow:
    """Return the fix flow of a replaceable part's issue, or an acknowledgement."""
    assert data is not None  # noqa: S101  (only issues created with data are fixable)
    if data["code"] == HISTORY_RESET:
        # Nothing to reset: confirming says the user has read it.
        return ConfirmRepairFlow()
    return PartReplacedFlow(str(data["entry_id"]), REPLACEABLE[str(data["code"])])
