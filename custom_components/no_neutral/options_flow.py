"""
The options flow: Configure's menu.

settings (every option, in sections; applied without a reload), troubleshoot
(symptoms -> [diagnosis progress] -> the ranked faults), parts (lamp and mains
-> [recommender progress] -> the parts to buy). The advisor's two steps change
nothing; their work runs in advice.py, off the event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Final

import probatio
from homeassistant.config_entries import (
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)

from .advice import (
    ADVICE_FAILURES,
    async_recommend,
    async_texts,
    async_troubleshoot,
    diagnosis_markdown,
    entry_ambient_c,
    failure_reason,
    recommendation_markdown,
)
from .circuit.diagnosis import (
    AMBIENT_RANGE_C,
    DEFAULT_AMBIENT_C,
    SYMPTOMS,
    DiagnosisError,
    check_ambient,
    check_symptoms,
)
from .option_form import (
    ERROR_FIELDS,
    async_check_scenario,
    async_error_message,
    async_submit,
    check_fields,
    form_with_input,
)
from .options import (
    CONF_LAMP_COUNT,
    CONF_LAMP_POWER_W,
    CONF_LAMP_TYPE,
    CONF_MAINS_FREQUENCY,
    CONF_MAINS_VOLTAGE,
    OPTION,
    OPTIONS_FORM,
    default_options,
    form_keys,
    number_selector,
    scenario_from_options,
)

OPTIONS_FORM_KEYS: Final = form_keys(OPTIONS_FORM)

OPTIONS_MENU: Final = ("settings", "troubleshoot", "parts")
CONF_SYMPTOMS: Final = "symptoms"
CONF_AMBIENT_C: Final = "ambient_c"
# What the parts recommender may be asked about besides the entry's own lamp and mains.
PARTS_KEYS: Final = (
    CONF_LAMP_TYPE,
    CONF_LAMP_COUNT,
    CONF_LAMP_POWER_W,
    CONF_MAINS_VOLTAGE,
    CONF_MAINS_FREQUENCY,
)
ERROR_NO_SYMPTOM: Final = "no_symptom"
ERROR_ADVICE_INPUT: Final = "advice_input"
ERROR_ADVICE_FAILED: Final = "advice_failed"
ABORT_ADVICE_SHOWN: Final = "advice_shown"


class NoNeutralOptionsFlow(OptionsFlow):
    """
    The adaptor's menu: its settings (no reload), the fault finder, the parts recommender.

    Troubleshoot and "Which parts to buy" take seconds to minutes: each runs
    as a progress step (the work on the shared simulator client, in executor
    jobs), then shows its answer and ends without changing the options.
    """

    def __init__(self) -> None:
        """Start with nothing asked."""
        self._task: asyncio.Task[str] | None = None
        self._answer = ""
        self._failure: tuple[str, str] | None = None
        self._symptoms: list[str] = []
        self._ambient_c: float | None = None
        self._parts_base: dict[str, Any] = {}
        self._parts_values: dict[str, Any] = {}

    async def async_step_init(self, _user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the settings, the fault finder and the parts recommender."""
        return self.async_show_menu(step_id="init", menu_options=list(OPTIONS_MENU))

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show every option in its section; an error names its field and keeps what was typed."""
        options = default_options() | dict(self.config_entry.options)
        errors: dict[str, str] = {}
        placeholders = {"problems": "", "reason": ""}
        if user_input is not None:
            submitted, errors, reasons = await async_submit(
                self.hass, OPTIONS_FORM_KEYS, options, user_input
            )
            placeholders |= reasons
            if not errors:
                return self.async_create_entry(data=submitted)
        return self.async_show_form(
            step_id="settings",
            data_schema=form_with_input(self, OPTIONS_FORM_KEYS, options, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _take_failure(self, errors: dict[str, str], placeholders: dict[str, str]) -> None:
        """Show the last run's failure on the form it was started from."""
        if self._failure is not None:
            errors["base"], placeholders["reason"] = self._failure
            self._failure = None

    async def async_step_troubleshoot(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask what the user sees (symptoms as checkboxes) and, optionally, the ambient."""
        errors: dict[str, str] = {}
        placeholders = {"reason": ""}
        self._take_failure(errors, placeholders)
        if self._ambient_c is None:
            # Where the adaptor runs: its ambient sensor's or option's reading.
            self._ambient_c = entry_ambient_c(self.config_entry)
        if user_input is not None:
            try:
                self._symptoms = check_symptoms(user_input.get(CONF_SYMPTOMS) or [])
                self._ambient_c = check_ambient(user_input.get(CONF_AMBIENT_C, self._ambient_c))
            except DiagnosisError as err:
                errors[err.key] = (
                    ERROR_NO_SYMPTOM if err.key == CONF_SYMPTOMS else ERROR_ADVICE_INPUT
                )
                placeholders["reason"] = err.reason
            else:
                return await self.async_step_troubleshoot_run()
        schema = probatio.Schema(
            {
                probatio.Optional(CONF_SYMPTOMS): SelectSelector(
                    SelectSelectorConfig(
                        options=list(SYMPTOMS),
                        translation_key="symptom",
                        multiple=True,
                        mode=SelectSelectorMode.LIST,
                    )
                ),
                probatio.Optional(CONF_AMBIENT_C): number_selector("°C", *AMBIENT_RANGE_C),
            }
        )
        suggested = {CONF_SYMPTOMS: self._symptoms, CONF_AMBIENT_C: self._ambient_c}
        if user_input is not None:
            suggested |= user_input
        return self.async_show_form(
            step_id="troubleshoot",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_troubleshoot(self) -> str:
        ambient = DEFAULT_AMBIENT_C if self._ambient_c is None else self._ambient_c
        answer = await async_troubleshoot(self.hass, self.config_entry, self._symptoms, ambient)
        return diagnosis_markdown(await async_texts(self.hass), answer)

    async def _async_progress(
        self, step_id: str, work: Callable[[], Coroutine[Any, Any, str]], done: str, back: str
    ) -> ConfigFlowResult:
        """Show progress while `work` runs; then its answer, or its failure on the `back` form."""
        if self._task is None:
            # Not eager: an answer all from the cache must still pass through the progress.
            self._task = self.hass.async_create_task(work(), eager_start=False)
        if not self._task.done():
            return self.async_show_progress(
                step_id=step_id, progress_action=step_id, progress_task=self._task
            )
        task, self._task = self._task, None
        try:
            self._answer = task.result()
        except ADVICE_FAILURES as err:
            self._failure = (ERROR_ADVICE_FAILED, failure_reason(err))
        if self._failure is not None:
            return self.async_show_progress_done(next_step_id=back)
        return self.async_show_progress_done(next_step_id=done)

    async def async_step_troubleshoot_run(
        self, _user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Simulate every candidate fault."""
        return await self._async_progress(
            "troubleshoot_run", self._async_troubleshoot, "troubleshoot_answer", "troubleshoot"
        )

    async def async_step_troubleshoot_answer(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the ranked faults; the options stay as they are."""
        return self._answer_form("troubleshoot_answer", user_input)

    def _answer_form(self, step_id: str, user_input: dict[str, Any] | None) -> ConfigFlowResult:
        if user_input is not None:
            return self.async_abort(reason=ABORT_ADVICE_SHOWN)
        return self.async_show_form(
            step_id=step_id,
            data_schema=probatio.Schema({}),
            description_placeholders={"answer": self._answer},
        )

    async def async_step_parts(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the lamps and the mains to choose parts for (the entry's by default)."""
        options = default_options() | dict(self.config_entry.options)
        errors: dict[str, str] = {}
        placeholders = {"problems": "", "reason": ""}
        self._take_failure(errors, placeholders)
        if user_input is not None:
            checked = check_fields(self.hass, PARTS_KEYS, user_input)
            options |= checked.options
            if not checked.errors:
                await async_check_scenario(self.hass, options, checked)
            if not checked.errors:
                self._parts_values = {key: options[key] for key in PARTS_KEYS}
                self._parts_base = scenario_from_options(options)
                return await self.async_step_parts_run()
            errors = {**checked.errors, "base": ERROR_FIELDS}
            placeholders |= {
                "problems": await async_error_message(self.hass, checked),
                "reason": checked.reason,
            }
        shown = self._parts_values or {key: OPTION[key].to_form(options[key]) for key in PARTS_KEYS}
        schema = probatio.Schema(
            {probatio.Required(key): OPTION[key].selector() for key in PARTS_KEYS}
        )
        return self.async_show_form(
            step_id="parts",
            data_schema=self.add_suggested_values_to_schema(schema, user_input or shown),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _async_parts(self) -> str:
        result = await async_recommend(self.hass, self._parts_base)
        return recommendation_markdown(await async_texts(self.hass), result)

    async def async_step_parts_run(
        self, _user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Simulate every stocked parts combination."""
        return await self._async_progress("parts_run", self._async_parts, "parts_answer", "parts")

    async def async_step_parts_answer(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the best three and why the others lost; the options stay as they are."""
        return self._answer_form("parts_answer", user_input)
