"""
Ageing and stress of the adaptor's parts, between simulations (docs/model.md).

Pure maths, no Home Assistant import: the coordinator keeps the state, feeds it
the figures of the latest simulation and the time that passed, and feeds the
aged part values back into the next scenario.

Capacitor (the electrolytic rule of thumb, docs/model.md "Ageing and fuse stress"):

- Core temperature `Tc = Ta + Rth * P_esr`. `Rth` is chosen so that the rated
  ripple current through the new part's ESR heats the core by 5 K (the usual
  design rule behind catalogue ripple ratings): `Rth = 5 K / (I_rated^2 * ESR)`.
- Life at `Tc`: `L0 * 2 ** ((T0 - Tc) / 10)` hours.
- Consumed life is a fraction: each interval adds `hours / life_at(Tc)`.
  1.0 is end of life. Between new and end of life the capacitance falls and
  the ESR rises linearly with it, to -20 % and x2 at end of life; past end of
  life both hold their end-of-life values (extrapolating would be a guess).

Rated ripple current (`DEFAULT_RATED_RIPPLE_A`): catalogues of general-purpose
105 C radial electrolytics give 120 mA for 10 uF 450 V (10x20 mm) and 290 mA
for 22 uF 400 V (13x21 mm) at 100/120 Hz (RS PRO low-impedance series); 15 uF
400 V parts in 10x20 to 12.5x20 mm cans sit between, about 150 mA. With the
default 3 ohm ESR that gives Rth = 5 / (0.15^2 * 3) = 74 K/W, which matches
the 50 to 100 K/W that cans of that size show in free air. It is a
parameter: a user with a datasheet can give the real figure.

Fusible resistor: a first-order thermal model. Its heat above ambient `E` (J)
obeys `dE/dt = P(t) - E / tau`, so steady power `P` settles at `E = P * tau`,
and an inrush adds its energy at once and sheds it with time constant `tau`.
Stress is that heat against the heat of running at the rated power,
`100 * E / (P_rated * tau)` %: with steady power alone it is simply
`100 * P / P_rated`. The heat is kept in two parts, from steady power and
from switching, which add up (the model is linear), so that the model can
tell what pushes the resistor past its rating:

- `fuse_switching`: the steady part alone is within the rating, steady plus
  switching is not: the relay switches faster than the resistor can shed each
  inrush's energy. In the periodic limit, switching every `dt` seconds with
  `E_in` joules settles at `E_in / (1 - exp(-dt / tau))`, about
  `E_in * tau / dt`: the warning means `E_in / dt` exceeds the rated power
  left over by the steady load.
- Blown: the model says a fusible resistor opens at about 20 times its rated
  power within a minute; so it opens at the heat that 20 x `P_rated` reaches
  in 60 s: `20 * P_rated * tau * (1 - exp(-60 / tau))`.

`tau` (`DEFAULT_FUSE_TIME_CONSTANT_S`, 30 s) is an assumption: small axial
power resistors (1 to 3 W bodies) reach thermal equilibrium within one to
two minutes, i.e. three to five time constants, and fusible-resistor
datasheets allow 5x rated power for about 5 s (TT Electronics ULW3: 15 W for
5 s on a 3 W part) without damage, which this model also allows
(5 x rating for 5 s reaches at most 10 % of the 20x-in-60-s opening heat
for any tau from 10 to 60 s). A parameter as well.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

# Capacitor.
RATED_RIPPLE_RISE_K: Final = 5.0
DEFAULT_RATED_RIPPLE_A: Final = 0.15
# A general-purpose 105 °C electrolytic: 2000 h at its rated temperature (also
# the options' defaults).
DEFAULT_RATED_LIFE_H: Final = 2000.0
DEFAULT_RATED_TEMP_C: Final = 105.0
END_OF_LIFE_CAPACITANCE_LOSS: Final = 0.20
END_OF_LIFE_ESR_RISE: Final = 1.0  # +100 %, i.e. doubled
# Aged values fed to the simulator move in steps of this much consumed life
# (0.1 % capacitance, 0.5 % ESR): at most 200 simulations over the part's whole
# life instead of one per ageing tick. The sensors show the stepped values too.
CONSUMED_STEP: Final = 0.005

# Fusible resistor.
DEFAULT_FUSE_TIME_CONSTANT_S: Final = 30.0
FUSE_OPEN_POWER_FACTOR: Final = 20.0
FUSE_OPEN_TIME_S: Final = 60.0

SECONDS_PER_HOUR: Final = 3600.0


@dataclass(frozen=True, kw_only=True)
class CapacitorSpec:
    """The smoothing capacitor as bought (new values)."""

    capacitance_uf: float
    esr_ohm: float
    rated_life_h: float = DEFAULT_RATED_LIFE_H
    rated_temp_c: float = DEFAULT_RATED_TEMP_C
    rated_ripple_a: float = DEFAULT_RATED_RIPPLE_A

    @property
    def thermal_resistance_k_per_w(self) -> float:
        """Core-to-ambient thermal resistance: rated ripple heats the core by 5 K."""
        return RATED_RIPPLE_RISE_K / (self.rated_ripple_a**2 * self.esr_ohm)

    def core_temperature_c(self, ambient_c: float, esr_power_w: float) -> float:
        """Core temperature with that much power dissipated in the ESR."""
        return ambient_c + self.thermal_resistance_k_per_w * max(esr_power_w, 0.0)

    def life_h(self, core_c: float) -> float:
        """Total life (hours) at a constant core temperature."""
        return float(self.rated_life_h * 2.0 ** ((self.rated_temp_c - core_c) / 10.0))

    def aged_capacitance_uf(self, consumed: float) -> float:
        """Capacitance after that fraction of life."""
        return self.capacitance_uf * (1.0 - END_OF_LIFE_CAPACITANCE_LOSS * _wear(consumed))

    def aged_esr_ohm(self, consumed: float) -> float:
        """ESR after that fraction of life."""
        return self.esr_ohm * (1.0 + END_OF_LIFE_ESR_RISE * _wear(consumed))


def _wear(consumed: float) -> float:
    return min(max(consumed, 0.0), 1.0)


def consume(consumed: float, hours: float, life_h: float) -> float:
    """Add `hours` of operation at a temperature where the part lasts `life_h`."""
    return consumed + max(hours, 0.0) / life_h


def health_pct(consumed: float) -> float:
    """Life left, in percent of a new part (0 at and past end of life)."""
    return 100.0 * (1.0 - _wear(consumed))


def remaining_life_h(consumed: float, life_h: float) -> float:
    """Hours left if the part stays at the temperature where it lasts `life_h`."""
    return (1.0 - _wear(consumed)) * life_h


def end_of_life(consumed: float) -> bool:
    """Whether the part has reached -20 % capacitance / doubled ESR."""
    return consumed >= 1.0


def quantize_consumed(consumed: float) -> float:
    """Return the consumed life that the simulated part values use (see CONSUMED_STEP)."""
    steps = math.floor(_wear(consumed) / CONSUMED_STEP + 1e-9)
    return round(steps * CONSUMED_STEP, 6)


@dataclass(frozen=True, kw_only=True)
class FuseSpec:
    """The fusible resistor's rating and thermal time constant."""

    power_rating_w: float
    time_constant_s: float = DEFAULT_FUSE_TIME_CONSTANT_S

    @property
    def rated_heat_j(self) -> float:
        """Heat above ambient when running at its rated power for ever."""
        return self.power_rating_w * self.time_constant_s

    @property
    def opening_heat_j(self) -> float:
        """Heat at which it opens: what 20x its rating reaches in a minute."""
        tau = self.time_constant_s
        return (
            FUSE_OPEN_POWER_FACTOR
            * self.power_rating_w
            * tau
            * -math.expm1(-FUSE_OPEN_TIME_S / tau)
        )


@dataclass(frozen=True, kw_only=True)
class FuseHeat:
    """The fusible resistor's heat above ambient, by cause (J)."""

    steady_j: float = 0.0
    switching_j: float = 0.0

    @property
    def total_j(self) -> float:
        """All the heat."""
        return self.steady_j + self.switching_j

    def advance(self, spec: FuseSpec, seconds: float, steady_power_w: float) -> FuseHeat:
        """Return the heat after `seconds` at a steady power (exact for constant power)."""
        if seconds <= 0:
            return self
        decay = math.exp(-seconds / spec.time_constant_s)
        settled = max(steady_power_w, 0.0) * spec.time_constant_s
        return FuseHeat(
            steady_j=settled + (self.steady_j - settled) * decay,
            switching_j=self.switching_j * decay,
        )

    def add_inrush(self, energy_j: float) -> FuseHeat:
        """One switching's inrush energy, deposited at once (negatives add nothing)."""
        return replace(self, switching_j=self.switching_j + max(energy_j, 0.0))

    def stress_pct(self, spec: FuseSpec) -> float:
        """Heat against the heat of running at the rated power, in percent."""
        return 100.0 * self.total_j / spec.rated_heat_j

    def switching_overstress(self, spec: FuseSpec) -> bool:
        """Whether switching, not the steady load, pushes it past its rating."""
        return self.steady_j <= spec.rated_heat_j < self.total_j

    def opened(self, spec: FuseSpec) -> bool:
        """Whether the heat has reached the opening point."""
        return self.total_j >= spec.opening_heat_j


@dataclass(kw_only=True)
class History:
    """
    What the adaptor has been through: the state that a restart must keep.

    Only time with mains present counts, at the relay's state during that time:
    closed, the capacitor carries its ripple (ESR heat) and the fusible resistor
    its steady power; open, the capacitor sits at its bias at ambient and the
    resistor cools.
    """

    cap_consumed: float = 0.0
    powered_h: float = 0.0
    fuse: FuseHeat = field(default_factory=FuseHeat)
    fuse_blown: bool = False
    switchings: int = 0
    # Energy drawn from the mains (Wh): into the lamp with the relay closed;
    # lost in the adaptor and the relay's own supply (closed and open alike),
    # the open state's share of it apart as the standby energy.
    lamp_energy_wh: float = 0.0
    loss_energy_wh: float = 0.0
    standby_energy_wh: float = 0.0

    def advance(
        self,
        *,
        seconds: float,
        closed: bool,
        ambient_c: float,
        esr_power_w: float,
        fuse_power_w: float,
        cap: CapacitorSpec,
        fuse: FuseSpec,
        lamp_power_w: float = 0.0,
        loss_power_w: float = 0.0,
    ) -> None:
        """
        Count `seconds` of powered time in one relay state.

        `lamp_power_w` and `loss_power_w` are the mean powers in that state
        (the lamp's is 0 with the relay open), counted into the energies.
        """
        if seconds <= 0:
            return
        hours = seconds / SECONDS_PER_HOUR
        core_c = cap.core_temperature_c(ambient_c, esr_power_w if closed else 0.0)
        self.cap_consumed = consume(self.cap_consumed, hours, cap.life_h(core_c))
        self.powered_h += hours
        # A blown resistor carries nothing; what heat it had is shed.
        power = fuse_power_w if closed and not self.fuse_blown else 0.0
        self.fuse = self.fuse.advance(fuse, seconds, power)
        self.fuse_blown = self.fuse_blown or self.fuse.opened(fuse)
        self.lamp_energy_wh += max(lamp_power_w, 0.0) * hours if closed else 0.0
        loss_wh = max(loss_power_w, 0.0) * hours
        self.loss_energy_wh += loss_wh
        if not closed:
            self.standby_energy_wh += loss_wh

    def switched(self, *, closed: bool, inrush_j: float, fuse: FuseSpec) -> None:
        """Count one real switching; a closing puts its inrush into the resistor."""
        self.switchings += 1
        if closed and not self.fuse_blown:
            self.fuse = self.fuse.add_inrush(inrush_j)
            self.fuse_blown = self.fuse.opened(fuse)

    def capacitor_replaced(self) -> None:
        """Start the capacitor's life again."""
        self.cap_consumed = 0.0

    def fuse_replaced(self) -> None:
        """Start again with a new, cold fusible resistor."""
        self.fuse = FuseHeat()
        self.fuse_blown = False

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form kept in the store."""
        return {
            "cap_consumed": self.cap_consumed,
            "powered_h": self.powered_h,
            "fuse_steady_j": self.fuse.steady_j,
            "fuse_switching_j": self.fuse.switching_j,
            "fuse_blown": self.fuse_blown,
            "switchings": self.switchings,
            "lamp_energy_wh": self.lamp_energy_wh,
            "loss_energy_wh": self.loss_energy_wh,
            "standby_energy_wh": self.standby_energy_wh,
        }

    @classmethod
    def from_dict(cls, data: object) -> History:
        """
        Read the JSON form back (missing keys: a new adaptor); raise HistoryError.

        Typed as object: it is whatever the file held. A value that is not what
        `as_dict` writes (text, null, NaN, a negative count) is refused, not
        coerced: a guessed history would show wrong wear as if it were real.
        """
        if not isinstance(data, Mapping):
            raise HistoryError(key="", reason=f"not an object but {type(data).__name__}")
        return cls(
            cap_consumed=_stored_amount(data, "cap_consumed"),
            powered_h=_stored_amount(data, "powered_h"),
            fuse=FuseHeat(
                steady_j=_stored_amount(data, "fuse_steady_j"),
                switching_j=_stored_amount(data, "fuse_switching_j"),
            ),
            fuse_blown=_stored_flag(data, "fuse_blown"),
            switchings=_stored_count(data, "switchings"),
            lamp_energy_wh=_stored_amount(data, "lamp_energy_wh"),
            loss_energy_wh=_stored_amount(data, "loss_energy_wh"),
            standby_energy_wh=_stored_amount(data, "standby_energy_wh"),
        )


class HistoryError(ValueError):
    """A stored history that cannot be read: `key` is the field, `reason` what is wrong."""

    def __init__(self, key: str, reason: str) -> None:
        """Keep the key and the reason apart, as ScenarioError does."""
        super().__init__(f"{key}: {reason}" if key else reason)
        self.key = key
        self.reason = reason


def _stored_amount(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key, 0.0)
    # bool is an int subclass; JSON true is not an amount.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HistoryError(key, f"must be a number, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise HistoryError(key, "must be finite") from None
    if not math.isfinite(number) or number < 0:
        raise HistoryError(key, "must be a finite number, zero or more")
    return number


def _stored_count(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise HistoryError(key, "must be a whole number, zero or more")
    return value


def _stored_flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise HistoryError(key, f"must be true or false, not {type(value).__name__}")
    return value
