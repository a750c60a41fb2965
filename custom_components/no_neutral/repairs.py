"""Repair issues: one per active warning of an adaptor (with its trigger event), and the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Coroutine
from functools import partial
from typing import Any, Final, override

import probatio
from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN, LOGGER
from .data import NoNeutralConfigEntry, adaptor_identifier
from .warning_table import (
    BY_CODE,
    CLEARED,
    CODES,
    RAISED,
    WARNING_EVENT,
    WARNINGS,
    AdaptorWarning,
    Part,
    WarningChanges,
    warning_changes,
)

# The warnings that other parts can cure: their fix flow shows which to buy.
PARTS_ADVICE_CODES: Final = frozenset(
    {"no_load", "led_dropout", "fuse_overstress", "cap_end_of_life", "ghost_flash"}
)


def issue_id(entry_id: str, code: str) -> str:
    """Return the issue id of one fault of one entry."""
    return f"{entry_id}_{code}"


@callback
def async_report_warnings(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    previous: tuple[str, ...],
    active: Collection[str],
    *,
    sync_issues: bool = False,
) -> WarningChanges:
    """
    Raise the repair issues of the active warnings and clear the others.

    Return them in order, with what changed since `previous` (the coordinator
    announces the changes). Issues are synced when a warning changed, or when
    asked: non-persistent issues do not survive a restart, so the first
    picture raises the loaded warnings' issues again.
    """
    changes = warning_changes(previous, active)
    if changes.changed or sync_issues:
        for warning in WARNINGS:
            if warning.code in changes.warnings:
                _async_create_warning_issue(hass, entry, warning)
            else:
                ir.async_delete_issue(hass, DOMAIN, issue_id(entry.entry_id, warning.code))
    return changes


@callback
def async_fire_warning_events(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, changes: WarningChanges
) -> None:
    """Fire the bus events behind the device triggers."""
    device = dr.async_get(hass).async_get_device_by_identifier(
        adaptor_identifier(entry), entry.entry_id
    )
    device_id = device.id if device else None
    for change, codes in ((RAISED, changes.raised), (CLEARED, changes.cleared)):
        for code in codes:
            trigger_type = BY_CODE[code].trigger_type(change)
            LOGGER.debug("%s: %s", entry.title, trigger_type)
            hass.bus.async_fire(
                WARNING_EVENT,
                {
                    "device_id": device_id,
                    "entry_id": entry.entry_id,
                    "code": code,
                    "type": trigger_type,
                },
            )


@callback
def _async_create_warning_issue(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, warning: AdaptorWarning
) -> None:
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(entry.entry_id, warning.code),
        # A replaceable part's issue is fixed by confirming the replacement;
        # one that other parts cure shows which to buy.
        is_fixable=warning.part is not None or warning.code in PARTS_ADVICE_CODES,
        is_persistent=False,
        severity=warning.severity,
        translation_key=warning.code,
        translation_placeholders={"name": entry.title},
        data={"entry_id": entry.entry_id, "code": warning.code},
    )


@callback
def async_clear_warning_issues(hass: HomeAssistant, entry_id: str) -> None:
    """Clear every warning issue of an entry (it is unloaded or removed)."""
    for code in CODES:
        ir.async_delete_issue(hass, DOMAIN, issue_id(entry_id, code))


SIMULATION_PROBLEMS: Final = ("invalid_scenario", "simulation_failed")


@callback
def async_sync_simulation_issue(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
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


# The relay browns out though the model says its supply is fine: the adaptor
# as built differs from its options. One issue, worded for the light's state
# the relay was in when it last went down.
SUPPLY_EVIDENCE: Final = "supply_evidence"
SUPPLY_EVIDENCE_KEYS: Final = {True: "supply_evidence_light_on", False: "supply_evidence_light_off"}


@callback
def async_sync_supply_evidence_issue(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    placeholders: dict[str, str] | None,
    *,
    light_on: bool | None = None,
) -> None:
    """
    Raise the model-versus-evidence issue (with the model's figures), or clear it (None).

    The light's state unknown, the issue says "light off": a relay that loses
    its supply with the lamp off is the common case (the open state feeds it
    least).
    """
    issue = issue_id(entry.entry_id, SUPPLY_EVIDENCE)
    if placeholders is None:
        ir.async_delete_issue(hass, DOMAIN, issue)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue,
        # Its fix flow runs the fault finder with the relay's symptom ticked.
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=SUPPLY_EVIDENCE_KEYS[bool(light_on)],
        translation_placeholders={"name": entry.title, **placeholders},
        data={"entry_id": entry.entry_id, "code": SUPPLY_EVIDENCE, "light_on": bool(light_on)},
    )


HISTORY_RESET: Final = "history_reset"


@callback
def async_create_history_reset_issue(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, kept_as: str
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

    def __init__(self, entry_id: str, part: Part) -> None:
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
            if self.part is Part.FUSE:
                await adaptor.async_reset_fuse()
            else:
                await adaptor.async_reset_capacitor()
        return await super().async_step_confirm(user_input)


type AdviceWork = Callable[[HomeAssistant, NoNeutralConfigEntry], Coroutine[Any, Any, str]]


class AdviceFlow(RepairsFlow):
    """
    Explain the issue, run the advisor (a progress step), show its answer; the issue stays.

    The issue goes away by itself once the adaptor's options or its relay
    agree again; the fault finder or the parts recommender says what to do.
    """

    def __init__(self, entry_id: str, work: AdviceWork) -> None:
        """Remember which entry, and the advice to run for it."""
        self.entry_id = entry_id
        self._work = work
        self._task: asyncio.Task[str] | None = None
        self._answer = ""
        self._failure = ""

    def _placeholders(self) -> dict[str, str]:
        issue = ir.async_get(self.hass).async_get_issue(self.handler, self.issue_id)
        return dict(issue.translation_placeholders or {}) if issue else {}

    async def async_step_init(self, _user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Start with what the issue is (the manager hands the first step the issue's data)."""
        return await self.async_step_intro()

    async def async_step_intro(self, user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Say what the issue is and that the advice takes a while."""
        if user_input is not None:
            return await self.async_step_run()
        return self.async_show_form(
            step_id="intro",
            data_schema=probatio.Schema({}),
            description_placeholders=self._placeholders(),
        )

    async def async_step_run(self, _user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Run the advisor in the background while the dialog shows progress."""
        # Imported here: advice.py reaches the coordinator's modules, which import this one.
        from .advice import ADVICE_FAILURES, failure_reason  # noqa: PLC0415

        entry = self.hass.config_entries.async_get_entry(self.entry_id)
        if entry is None:
            return self.async_abort(reason="entry_gone")
        if self._task is None:
            # Not eager: an answer all from the cache still passes through the progress.
            self._task = self.hass.async_create_task(
                self._work(self.hass, entry), eager_start=False
            )
        if not self._task.done():
            return self.async_show_progress(
                step_id="run", progress_action="run", progress_task=self._task
            )
        task, self._task = self._task, None
        try:
            self._answer = task.result()
        except ADVICE_FAILURES as err:
            self._failure = failure_reason(err)
        return self.async_show_progress_done(next_step_id="failed" if self._failure else "answer")

    async def async_step_answer(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Show the advisor's answer."""
        if user_input is not None:
            return self.async_abort(reason="advice_shown")
        return self.async_show_form(
            step_id="answer",
            data_schema=probatio.Schema({}),
            description_placeholders=self._placeholders() | {"answer": self._answer},
        )

    async def async_step_failed(
        self, _user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Say why there is no answer."""
        return self.async_abort(
            reason="advice_failed", description_placeholders={"reason": self._failure}
        )


class CapacitorAdviceFlow(AdviceFlow):
    """The capacitor's end of life: which capacitor to buy, or confirm its replacement."""

    @override
    async def async_step_init(self, _user_input: dict[str, str] | None = None) -> RepairsFlowResult:
        """Offer the parts advice (minutes) or the confirmation (as PartReplacedFlow)."""
        return self.async_show_menu(
            step_id="init",
            menu_options=["run", "confirm"],
            description_placeholders=self._placeholders(),
        )

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Confirm the replacement: the part's history starts again (as PartReplacedFlow)."""
        if user_input is None:
            return self.async_show_form(
                step_id="confirm",
                data_schema=probatio.Schema({}),
                description_placeholders=self._placeholders(),
            )
        if entry := self.hass.config_entries.async_get_entry(self.entry_id):
            await entry.runtime_data.adaptor.async_reset_capacitor()
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant,  # noqa: ARG001
    issue_id: str,  # noqa: ARG001
    data: dict[str, Any] | None,
) -> RepairsFlow:
    """Return the fix flow of an issue: the advisor's, a replaced part's, or an acknowledgement."""
    # Imported here: advice.py reaches the coordinator's modules, which import this one.
    from .advice import async_parts_advice, async_supply_advice  # noqa: PLC0415

    assert data is not None  # noqa: S101  (only issues created with data are fixable)
    code = str(data["code"])
    entry_id = str(data["entry_id"])
    if code == HISTORY_RESET:
        # Nothing to reset: confirming says the user has read it.
        return ConfirmRepairFlow()
    if code == SUPPLY_EVIDENCE:
        light_on = bool(data.get("light_on"))
        return AdviceFlow(entry_id, partial(async_supply_advice, light_on=light_on))
    part = BY_CODE[code].part
    if code in PARTS_ADVICE_CODES:
        if part is Part.CAPACITOR:
            return CapacitorAdviceFlow(entry_id, async_parts_advice)
        return AdviceFlow(entry_id, async_parts_advice)
    assert part is not None  # noqa: S101  (only a replaceable part's warning issue is fixable)
    return PartReplacedFlow(entry_id, part)
