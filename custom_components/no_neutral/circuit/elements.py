"""The adaptor's network (docs/model.md): node numbers, SI element values, record layout."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from .params import Scenario

F64 = npt.NDArray[np.float64]
BOOL = npt.NDArray[np.bool_]

VT: Final = 0.02585
RHO_CU: Final = 0.0175
RELAY_CLOSED_OHM: Final = 0.01
# SPICE's gmin: keeps every node tied to N so the matrix stays regular even when
# all diodes are off and the relay is open.
GMIN: Final = 1e-12

# Node numbers (N is ground and has none).
L, LO, DN, SWS, SWL, P, BP, BM = range(8)
NODES: Final = 8
# Nonlinear two-terminal elements (anode/+ , cathode/-), -1 for N.
ELEMENTS: Final = (
    (L, BP),  # relay supply bridge
    (DN, BP),
    (BM, L),
    (BM, DN),
    (DN, SWS),  # Da
    (SWS, LO),  # Dd
    (SWL, -1),  # Db
    (P, SWL),  # Dc
    (BP, BM),  # the relay's constant-power load
    (-1, P),  # the LED driver, N to P
)
DIODES: Final = 8
DC: Final = 7
# The adaptor diodes that the scenario's faults group names, by element index.
FAULT_ELEMENTS: Final = {"Da": 4, "Dd": 5, "Db": 6, "Dc": 7}
# A shorted diode or capacitor (docs/model.md).
SHORT_OHM: Final = 0.01
# An element that is not there: both ends on N, so it sees 0 V and adds nothing.
ABSENT: Final = (-1, -1)
# Capacitor states: cable (L-SWS), bulk (BP-BM), LED input (N-P), smoothing C.
CAP_CABLE, CAP_BULK, CAP_LED, CAP_SMOOTH = range(4)
CAPS: Final = 4

# Quantities recorded per time point.
REC_VLAMP, REC_ICAP, REC_VCAP, REC_VBULK, REC_PLAMP, REC_LEDON, REC_IDC, REC_PSRC = range(8)
# Followed by the eight node voltages (for energy checks and waveforms).
REC_NODES: Final = 8
RECORDS: Final = REC_NODES + NODES


def _incidence(pos: int, neg: int) -> F64:
    row = np.zeros(NODES)
    if pos >= 0:
        row[pos] += 1.0
    if neg >= 0:
        row[neg] -= 1.0
    return row


@dataclass(frozen=True, slots=True)
class Circuit:
    """Element values of a scenario, in SI units, plus the fixed matrices."""

    omega: float
    v_peak: float
    period: float
    g_source: float
    r_wire: float
    c_cable: float
    c_bulk: float
    p_dev_on: float
    p_dev_off: float
    i_sat: float
    n_vt: float
    r_series: float
    g_leak: float
    c_smooth: float
    r_branch: float
    r_fuse: float
    r_esr: float
    has_branch: bool
    g_bleed: float
    c_led: float
    p_led: float
    g_lamp: float
    led_start: float
    led_stop: float
    relay_closed: bool
    g_relay_open: float
    # The fault states: each element's terminals (a reversed diode swapped,
    # an open or shorted one ABSENT, its short stamped into g_static), how
    # Dc's junction current counts in the current through Dc (P to SWL), and
    # the linear conductance across Dc (leakage, plus a short).
    elements: tuple[tuple[int, int], ...]
    dc_sign: float
    g_dc_linear: float
    cap_shorted: bool
    # Every diode as designed and the capacitor not shorted.
    nominal: bool
    a_matrix: F64 = field(repr=False)
    outer: F64 = field(repr=False)
    g_static: F64 = field(repr=False)

    @property
    def smooth_capacitance(self) -> float:
        """Return the lamp side's smoothing capacitance: none with the branch open or shorted."""
        return self.c_smooth if self.has_branch and not self.cap_shorted else 0.0

    @property
    def smooth_memory(self) -> float:
        """Return 1, or 0 where the smoothing branch is a resistor (a shorted capacitor)."""
        return 0.0 if self.cap_shorted else 1.0

    @property
    def signs(self) -> F64:
        """Return each element's orientation against ELEMENTS: 1, -1 reversed, 0 absent."""
        return np.array(
            [
                0.0 if now == ABSENT else (1.0 if now == designed else -1.0)
                for now, designed in zip(self.elements, ELEMENTS, strict=True)
            ]
        )

    @classmethod
    def from_scenario(cls, sc: Scenario) -> Circuit:
        """Turn scenario units (uF, pF/m, mm2) into SI element values."""
        r_wire = sc.cable.length_m * RHO_CU / sc.cable.conductor_mm2
        lamp = sc.lamp
        rated = lamp.count * lamp.power_w
        is_led = lamp.type == "led"
        g_lamp = rated / lamp.rated_voltage_v**2 if lamp.type == "resistive" else 0.0
        g_leak = sc.diode.reverse_leakage_a / 1000.0
        g_bleed = (
            0.0
            if sc.smoothing.bleed_resistance_ohm is None
            else 1.0 / sc.smoothing.bleed_resistance_ohm
        )
        elements = list(ELEMENTS)
        shorts: list[tuple[int, int]] = []
        for name, k in FAULT_ELEMENTS.items():
            state = getattr(sc.faults, name)
            if state == "reversed":
                elements[k] = (ELEMENTS[k][1], ELEMENTS[k][0])
            elif state in {"open", "shorted"}:
                elements[k] = ABSENT
                if state == "shorted":
                    shorts.append(ELEMENTS[k])
        dc_state = sc.faults.Dc
        dc_sign = {"ok": 1.0, "reversed": -1.0}.get(dc_state, 0.0)
        g_dc_linear = g_leak + (1.0 / SHORT_OHM if dc_state == "shorted" else 0.0)
        cap_state = sc.faults.capacitor
        a_matrix = np.array([_incidence(p, n) for p, n in elements])
        outer = np.einsum("ki,kj->kij", a_matrix, a_matrix).reshape(len(elements), -1)
        g = np.eye(NODES) * GMIN
        for a, b in shorts:
            stamp(g, a, b, 1.0 / SHORT_OHM)
        g_source = 1.0 / (sc.mains.source_resistance_ohm + r_wire)
        g[L, L] += g_source
        stamp(g, SWS, SWL, 1.0 / r_wire)
        for k in range(DIODES):
            # The leakage stays across a diode in every fault state.
            stamp(g, *ELEMENTS[k], g_leak)
        stamp(g, P, -1, g_bleed + g_lamp)
        return cls(
            omega=2.0 * math.pi * sc.mains.frequency_hz,
            v_peak=math.sqrt(2.0) * sc.mains.voltage_rms,
            period=1.0 / sc.mains.frequency_hz,
            g_source=g_source,
            r_wire=r_wire,
            c_cable=sc.cable.length_m * sc.cable.capacitance_pf_per_m * 1e-12,
            c_bulk=sc.device.bulk_capacitance_uf * 1e-6,
            p_dev_on=sc.device.power_w_on,
            p_dev_off=sc.device.power_w_off,
            i_sat=sc.diode.saturation_current_a,
            n_vt=sc.diode.ideality * VT,
            r_series=sc.diode.series_resistance_ohm,
            g_leak=g_leak,
            c_smooth=sc.smoothing.capacitance_uf * 1e-6,
            # A shorted capacitor is SHORT_OHM in series with Rf and the ESR.
            r_branch=sc.smoothing.fuse_resistance_ohm
            + sc.smoothing.esr_ohm
            + (SHORT_OHM if cap_state == "shorted" else 0.0),
            r_fuse=sc.smoothing.fuse_resistance_ohm,
            r_esr=sc.smoothing.esr_ohm,
            has_branch=not sc.smoothing.fuse_blown and cap_state != "open",
            g_bleed=g_bleed,
            c_led=lamp.count * lamp.led_input_capacitance_uf * 1e-6 if is_led else 0.0,
            p_led=rated if is_led else 0.0,
            g_lamp=g_lamp,
            led_start=lamp.led_start_v,
            led_stop=lamp.led_stop_v,
            relay_closed=sc.relay.closed,
            g_relay_open=1.0 / sc.relay.open_resistance_ohm,
            elements=tuple(elements),
            dc_sign=dc_sign,
            g_dc_linear=g_dc_linear,
            cap_shorted=cap_state == "shorted",
            # An open capacitor is the same circuit as a blown fusible resistor.
            nominal=elements == list(ELEMENTS) and cap_state != "shorted",
            a_matrix=a_matrix,
            outer=outer,
            g_static=g,
        )


def stamp(g: F64, a: int, b: int, value: float | F64) -> None:
    """Add a conductance between nodes a and b (-1 for N) to a nodal matrix (or a stack)."""
    if a >= 0:
        g[..., a, a] += value
    if b >= 0:
        g[..., b, b] += value
    if a >= 0 and b >= 0:
        g[..., a, b] -= value
        g[..., b, a] -= value
