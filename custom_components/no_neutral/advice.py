"""
The advisor for the forms: the fault finder and the parts recommender, run and put in words.

The options flow's Troubleshoot and "Which parts to buy" steps and the repair
issues' fix flows run the same two things here and show the same answers.
The fault finder runs through troubleshoot.async_diagnose (its candidates in
two batches on the simulator client every entry shares). The recommender's
sweep runs in an executor job; each of its circuits goes through that same
client too, in batches (recommend_action.async_recommend, which the
`recommend_parts` action runs), so a sweep of minutes never holds the event
loop and never runs beside the entries' own simulations.

The answers are markdown built from the integration's translations (the
`common` category, keys `advice_...`; the symptoms are the `symptom`
selector's), in Home Assistant's language: a form's description placeholder
can hold only finished text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.translation import async_get_translations

from .circuit import ScenarioError
from .circuit.diagnosis import DEFAULT_AMBIENT_C, DiagnosisError
from .circuit.recommend import CRITERIA, Demands, Stock
from .const import DOMAIN
from .data import NoNeutralConfigEntry
from .options import capacitor_spec, default_options, scenario_from_options
from .recommend_action import async_recommend as async_recommend_parts
from .simulator import async_get_simulator, figures_many
from .troubleshoot import async_diagnose

# What the recommender chooses from (the E-series stock); the tests narrow it.
PARTS_STOCK: Stock = Stock()
# The ranked faults an answer lists: the rest rarely help and make the form long.
SHOWN_FAULTS: Final = 5
# What the advisor's work may end in instead of an answer; the form shows failure_reason().
# A fix flow's input is the entry's own: its ambient (the options allow 100 °C)
# may be past the fault finder's range.
ADVICE_FAILURES: Final = (ScenarioError, DiagnosisError, ArithmeticError, HomeAssistantError)


def failure_reason(err: Exception) -> str:
    """Say why the advisor has no answer: the value refused and why, or the error."""
    if isinstance(err, ScenarioError | DiagnosisError):
        return f"{err.key}: {err.reason}"
    return str(err) or type(err).__name__


def entry_scenario(entry: NoNeutralConfigEntry) -> dict[str, Any]:
    """
    Return the adaptor's scenario as the entry's simulations have it (its parts worn).

    An entry that is not loaded has no simulation yet: its options as given.
    """
    if _loaded(entry):
        return dict(entry.runtime_data.adaptor.data.scenario)
    return scenario_from_options(default_options() | dict(entry.options))


def entry_ambient_c(entry: NoNeutralConfigEntry) -> float:
    """Return the ambient temperature the entry's adaptor runs at (the fault finder's default)."""
    return float(entry.runtime_data.adaptor.data.ambient_c) if _loaded(entry) else DEFAULT_AMBIENT_C


def _loaded(entry: NoNeutralConfigEntry) -> bool:
    runtime = getattr(entry, "runtime_data", None)
    return runtime is not None and runtime.adaptor.data is not None


async def async_troubleshoot(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    symptoms: Sequence[str],
    ambient_c: float,
) -> dict[str, Any]:
    """
    Return the fault finder's answer for the entry's adaptor.

    Raises DiagnosisError or ScenarioError naming the field before simulating,
    ArithmeticError or SimulatorTimeoutError as async_diagnose does.
    """
    if _loaded(entry):
        # The entry's own runs: its scenario is cached already.
        simulate_many_fn = entry.runtime_data.adaptor.async_simulate_many
    else:
        simulate_many_fn = partial(
            async_get_simulator(hass).async_run_many, "figures", figures_many
        )
    return await async_diagnose(
        simulate_many_fn,
        entry_scenario(entry),
        list(symptoms),
        ambient_c=ambient_c,
        capacitor=capacitor_spec(default_options() | dict(entry.options)),
    )


async def async_recommend(hass: HomeAssistant, base: Mapping[str, Any]) -> dict[str, Any]:
    """
    Return the parts recommendation for a base scenario (its lamp and mains).

    The action's sweep (recommend_action.async_recommend): one sweep at a time,
    its circuits in batches on the shared simulator client, the last answers kept. Cancelled,
    the sweep stops at its next batch. Raises ScenarioError naming the scenario key.
    """
    return await async_recommend_parts(hass, base, stock=PARTS_STOCK, demands=Demands())


# --- in words -----------------------------------------------------------------


class Texts:
    """The advisor's words in Home Assistant's language; a missing key shows as itself."""

    def __init__(self, common: Mapping[str, str], selector: Mapping[str, str]) -> None:
        """Keep the flattened translations of `common` and `selector`."""
        self._common = common
        self._selector = selector

    def __call__(self, key: str, **placeholders: object) -> str:
        """Return the text of `advice_<key>` with its placeholders filled."""
        text = self._common.get(f"component.{DOMAIN}.common.advice_{key}", key)
        for name, value in placeholders.items():
            text = text.replace(f"{{{name}}}", str(value))
        return text

    def symptom(self, code: str) -> str:
        """Return a symptom's label (the form's checkbox)."""
        return self._selector.get(f"component.{DOMAIN}.selector.symptom.options.{code}", code)

    def lamp_type(self, code: str) -> str:
        """Return a lamp type's name."""
        return self._selector.get(f"component.{DOMAIN}.selector.lamp_type.options.{code}", code)

    def part(self, part: str) -> str:
        """Return a part's name: a diode by its label on the drawing."""
        if part in {"Da", "Db", "Dc", "Dd"}:
            return self("part_diode", diode=part)
        return self(f"part_{part}")

    def symptoms(self, codes: Iterable[str]) -> str:
        """Return symptoms as a list in words."""
        return "; ".join(self.symptom(code) for code in codes)


async def async_texts(hass: HomeAssistant) -> Texts:
    """Return the advisor's words in Home Assistant's language."""
    language = hass.config.language
    common = await async_get_translations(hass, language, "common", {DOMAIN})
    selector = await async_get_translations(hass, language, "selector", {DOMAIN})
    return Texts(common, selector)


KILO: Final = 1000.0


def _n(value: float) -> str:
    return f"{value:g}"


def _range(values: Sequence[float], unit: str) -> str:
    low, high = values
    if unit == "Ω" and low >= KILO:
        # A bleed resistor reads 198-242 kΩ, as its colour bands and the meter say.
        low, high, unit = low / KILO, high / KILO, "kΩ"
    return f"{_n(low)} {unit}" if low == high else f"{_n(low)}-{_n(high)} {unit}"


def _value(value: float, unit: str) -> str:
    return _range((value, value), unit)


_UNITS: Final = {
    "capacitance_uf": "µF",
    "voltage_rating_v": "V",
    "resistance_ohm": "Ω",
    "power_rating_w": "W",
    "power_w": "W",
}


def _reading(t: Texts, reading: object, unit: str) -> str:
    if isinstance(reading, int | float) and not isinstance(reading, bool):
        return _value(reading, unit)
    if reading in {"resistive", "led", "capacitive_dropper"}:
        return t.lamp_type(str(reading))
    return t(f"reading_{reading}")


def check_text(t: Texts, check: Mapping[str, Any]) -> str:
    """Return one multimeter check in words."""
    part = t.part(check["part"])
    kind = check["check"]
    if kind == "diode_test":
        return t(
            "check_diode_test",
            part=part,
            forward=_range(check["good_forward_v"], "V"),
            cathode=check["cathode_to"],
            reading=t(f"reading_{check['fault_reading']}"),
        )
    if kind == "resistance":
        good = check["good_ohm"]
        return t(
            "check_resistance",
            part=part,
            good=t("good_no_short") if good is None else _range(good, "Ω"),
            reading=_reading(t, check["fault_reading"], "Ω"),
        )
    if kind == "capacitance":
        return t(
            "check_capacitance",
            part=part,
            good=_range(check["good_uf"], "µF"),
            reading=_reading(t, check["fault_reading"], "µF"),
        )
    if kind == "marking":
        if "good_voltage_rating_v" in check:
            good, unit = _n(check["good_voltage_rating_v"]) + " V", "V"
        else:
            good, unit = _range(check["good_w"], "W"), "W"
        return t(
            "check_marking", part=part, good=good, reading=_reading(t, check["fault_reading"], unit)
        )
    return t("check_inspect", part=part, reading=_reading(t, check["fault_reading"], ""))


def action_text(t: Texts, action: Mapping[str, Any]) -> str:
    """Return one repair in words."""
    part = t.part(action["part"])
    if action["action"] == "turn_around":
        return t("action_turn_around", part=part, cathode=action["cathode_to"])
    if action.get("with") == "diode_10a_1000v":
        value = t("value_diode")
    elif "lamp_type" in action:
        value = t.lamp_type(action["lamp_type"])
    else:
        value = " ".join(_value(action[key], unit) for key, unit in _UNITS.items() if key in action)
    return t(f"action_{action['action']}", part=part, value=value or "-")


def diagnosis_markdown(t: Texts, answer: Mapping[str, Any]) -> str:
    """Return the fault finder's answer as markdown: the ranked faults, what to measure and do."""
    lines: list[str] = []
    if given := answer["as_given"]["reproduces"]:
        lines += [t("as_given", symptoms=t.symptoms(given)), ""]
    candidates = answer["candidates"][:SHOWN_FAULTS]
    if not candidates:
        lines.append(t("no_fault"))
    for entry in candidates:
        # The titles name a diode by its label ("Diode Da ..."); other parts by the fault.
        title = t(f"fault_{entry['fault']}", part=entry["part"])
        lines.append(f"**{entry['rank']}. {title}**")
        lines.append(f"- {t('explains', symptoms=t.symptoms(entry['reproduces']))}")
        if entry["unexplained"]:
            lines.append(f"- {t('unexplained', symptoms=t.symptoms(entry['unexplained']))}")
        if entry["extra"]:
            lines.append(f"- {t('extra', symptoms=t.symptoms(entry['extra']))}")
        lines += [f"- {t('measure')}: {check_text(t, check)}" for check in entry["checks"]]
        lines += [f"- {t('fix')}: {action_text(t, action)}" for action in entry["actions"]]
        lines.append("")
    lines.append(t("precautions"))
    return "\n".join(lines).strip()


def _parts_line(t: Texts, parts: Mapping[str, Any]) -> str:
    bleed = parts["bleed_resistance_ohm"]
    return t(
        "parts",
        capacitor=f"{_n(parts['capacitance_uf'])} µF {_n(parts['voltage_rating_v'])} V",
        fuse=f"{_value(parts['fuse_resistance_ohm'], 'Ω')} {_n(parts['fuse_power_rating_w'])} W",
        bleed=t("no_bleed") if bleed is None else _value(bleed, "Ω"),
    )


def _margins(t: Texts, margins: Mapping[str, float | None]) -> str:
    return ", ".join(
        f"{t(f'criterion_{name}')} {margin:+.0%}"
        for name in CRITERIA
        if (margin := margins.get(name)) is not None
    )


def recommendation_markdown(t: Texts, result: Mapping[str, Any]) -> str:
    """Return the recommender's answer as markdown: the best three, why the others lost."""
    lines = [t("summary", qualifying=result["qualifying"], combinations=result["combinations"])]
    lines.append("")
    for rank, best in enumerate(result["best"], start=1):
        lines.append(f"**{rank}. {_parts_line(t, best)}**")
        lines.append(f"- {t('margins', margins=_margins(t, best['margins']))}")
    lost = [
        f"{t(f'criterion_{name}')} {count}"
        for name, count in result["lost"].items()
        if count and name != "warnings"
    ]
    lost += [
        f"{t(f'warning_{code}')} {count}"
        for code, count in result["lost_warnings"].items()
        if count
    ]
    if lost:
        lines += ["", t("lost", reasons=", ".join(lost))]
    if result["advice"]:
        lines += ["", t("nothing_qualifies")]
        lines += [
            f"- {t(f'change_{item["change"]}')} ({', '.join(_because(t, item['because']))})"
            for item in result["advice"]
        ]
    return "\n".join(lines).strip()


def _because(t: Texts, names: Iterable[str]) -> list[str]:
    return [t(f"criterion_{n}") if n in CRITERIA else t(f"warning_{n}") for n in names]


# --- for the repair issues' fix flows -----------------------------------------


async def async_parts_advice(hass: HomeAssistant, entry: NoNeutralConfigEntry) -> str:
    """Return the parts recommendation for the entry's lamp and mains, in words."""
    base = scenario_from_options(default_options() | dict(entry.options))
    result = await async_recommend(hass, base)
    return recommendation_markdown(await async_texts(hass), result)


async def async_supply_advice(
    hass: HomeAssistant, entry: NoNeutralConfigEntry, *, light_on: bool
) -> str:
    """Return the fault finder's answer for a relay that reboots, light on or off as observed."""
    symptom = "relay_drops_on" if light_on else "relay_drops_off"
    answer = await async_troubleshoot(hass, entry, [symptom], entry_ambient_c(entry))
    return diagnosis_markdown(await async_texts(hass), answer)
