"""
The model's circuit (docs/model.md) as an ngspice netlist, and the figures from its runs.

This is the independent reference the simulator is tested and benchmarked
against: ngspice integrates the same element models with its own adaptive
time steps, from all-zero initial conditions, long enough to settle, and the
figures are read off its waveforms by the definitions of docs/model.md.

Numerical aids, stated in the netlist's comments too: ngspice needed no tiny
capacitances across the diodes; the LED driver's hysteresis is a latch node
(a 1 nF capacitor set and reset through a behavioural current source with a
1 us time constant, holding its charge in between; a latch that fed its own
state back into the comparator flipped during Newton iterations, 2 to 3 V
early); the relay is a voltage-controlled switch driven by a PWL source
that ramps over 1 us centred on the closing instant (a 1 ns ramp made ngspice
stop with "timestep too small" at some closing phases).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from custom_components.no_neutral.circuit import RESULT_KEYS, Scenario
from custom_components.no_neutral.circuit.elements import RHO_CU, VT

F64 = npt.NDArray[np.float64]

# Boltzmann/elementary charge: the temperature at which ngspice's thermal
# voltage equals the model's fixed 25.85 mV (TNOM = TEMP, so IS is not scaled).
_K_OVER_Q: Final = 1.380649e-23 / 1.602176634e-19
TEMP_C: Final = VT / _K_OVER_Q - 273.15
VECTORS: Final = ("lampv", "ledon", "irf", "idc", "ilamp", "vxc", "vbulk", "isrc", "vsrc")
DISCHARGE_LIMIT_S: Final = 30.0
# IEC 60898's conventional tripping current, in multiples of the rated current.
BREAKER_TRIP_FACTOR: Final = 1.45
# The closed steady cycle's keys run from lamp_v_mean to device_supply_ok in
# RESULT_KEYS, then the source's three.
CLOSED_KEYS: Final = (
    *RESULT_KEYS[: RESULT_KEYS.index("device_supply_ok") + 1],
    "source_current_rms_a",
    "source_current_peak_a",
    "source_power_w",
)
# A shorted diode or capacitor is this resistance (docs/model.md).
SHORT_OHM: Final = 0.01
# Junction capacitance: none, as in the model (ngspice needed none).
DIODE_CJO_F: Final = 0.0
# Numerical aid: the relay's control voltage ramps over 1 us centred on the
# closing instant (the switch itself still flips at once, at the ramp's
# middle); a 1 ns step gave "timestep too small" at some closing phases.
SWITCH_RAMP_S: Final = 1e-6
OPTIONS: Final = [".options method=gear maxord=2 reltol=1e-4 abstol=1e-10 vntol=1e-7 itl4=100"]
# Numerical aid: when ngspice still stops with "timestep too small" (seen at a
# few closing phases), the run is repeated with these settings, in order.
FALLBACK_OPTIONS: Final = (
    ".options method=trap reltol=1e-4 abstol=1e-10 vntol=1e-7 itl4=100",
    ".options method=gear maxord=2 reltol=1e-4 abstol=1e-9 vntol=1e-6 itl4=200 gmin=1e-10",
    # A reversed splitter diode leaves the relay's supply dead (its bulk
    # capacitor below 1 V, the load's current circulating in the bridge):
    # ngspice found the matrix singular at BM without the simulator's own
    # 1e-12 S from every node to N (rshunt).
    ".options method=gear maxord=2 reltol=1e-4 abstol=1e-9 vntol=1e-6 itl4=200 rshunt=1e12",
    # The capacitor shorted, switched on: two of the 36 phases at T/1600 went
    # on to the last settings (reltol 1e-3, the inrush energy 0.5 mJ off).
    ".options method=trap reltol=1e-4 abstol=1e-10 vntol=1e-7 itl4=100 rshunt=1e12",
    ".options method=trap reltol=1e-3 abstol=1e-8 vntol=1e-5 itl4=500 rshunt=1e12",
)


@dataclass(frozen=True, slots=True)
class Run:
    """One ngspice transient: relay state over time, optional lamp hold."""

    tstop: float
    tmax: float
    relay_closed_at_start: bool
    switch_at: float | None = None
    hold_lamp: bool = False


def _g(value: float) -> str:
    return f"{value:.12g}"


def netlist(sc: Scenario, run: Run, raw_path: str, options: str | None = None) -> str:
    """Write the model's circuit as an ngspice deck for one transient run."""
    f = sc.mains.frequency_hz
    r_wire = sc.cable.length_m * RHO_CU / sc.cable.conductor_mm2
    leak = 1000.0 / sc.diode.reverse_leakage_a
    lamp = sc.lamp
    rated = lamp.count * lamp.power_w
    on0, on1 = (1, 0) if run.relay_closed_at_start else (0, 1)
    lines = [
        "* no-neutral adaptor, topology of docs/model.md (N is node 0)",
        f".options temp={_g(TEMP_C)} tnom={_g(TEMP_C)}",
        options or OPTIONS[0],
        f"VS src 0 SIN(0 {_g(math.sqrt(2.0) * sc.mains.voltage_rms)} {_g(f)} 0 0 0)",
        "* source resistance plus the L conductor; VPS measures the source current",
        f"RS src srcr {_g(sc.mains.source_resistance_ohm + r_wire)}",
        "VPS srcr L 0",
        "* relay contact: a switch driven by a PWL control voltage (numerical aid)",
    ]
    if run.switch_at is None:
        lines.append(f"VCTL ctl 0 {on0}")
    else:
        t = run.switch_at
        t0, t1 = t - SWITCH_RAMP_S / 2, t + SWITCH_RAMP_S / 2
        lines.append(f"VCTL ctl 0 PWL(0 {on0} {_g(t0)} {on0} {_g(t1)} {on1})")
    lines += [
        f".model SREL SW(VT=0.5 VH=0 RON=0.01 ROFF={_g(sc.relay.open_resistance_ohm)})",
        "SREL L LO ctl 0 SREL",
        (
            f".model DX D(IS={_g(sc.diode.saturation_current_a)} N={_g(sc.diode.ideality)} "
            f"RS={_g(sc.diode.series_resistance_ohm)} CJO={_g(DIODE_CJO_F)})"
        ),
        "* relay supply: full bridge L/DN -> BP/BM, bulk capacitor, constant power",
    ]
    diodes = [
        ("B1", "L", "BP"),
        ("B2", "DN", "BP"),
        ("B3", "BM", "L"),
        ("B4", "BM", "DN"),
        ("A", "DN", "SWS"),
        ("D", "SWS", "LO"),
        ("B", "SWL", "0"),
    ]
    faults = {"A": sc.faults.Da, "D": sc.faults.Dd, "B": sc.faults.Db}
    for name, anode, cathode in diodes:
        lines += _diode(name, anode, cathode, faults.get(name, "ok"))
        lines.append(f"RL{name} {anode} {cathode} {_g(leak)}")
    p_on, p_off = sc.device.power_w_on, sc.device.power_w_off
    lines += [
        f"CB BP BM {_g(sc.device.bulk_capacitance_uf * 1e-6)}",
        f"BDEV BP BM I=((V(ctl) > 0.5) ? {_g(p_on)} : {_g(p_off)}) / max(V(BP,BM), 1)",
        "* lamp-feed diode Dc with its leakage; VPDC measures the current",
        "VPDC P PDC 0",
        *_diode("C", "PDC", "SWL", sc.faults.Dc),
        f"RLC PDC SWL {_g(leak)}",
        f"RW SWS SWL {_g(r_wire)}",
        f"CK L SWS {_g(sc.cable.length_m * sc.cable.capacitance_pf_per_m * 1e-12)}",
    ]
    cap = sc.faults.capacitor
    if not sc.smoothing.fuse_blown and cap != "open":
        lines += [
            "* fusible resistor, ESR and smoothing capacitor; VPRF measures the current",
            "VPRF XN P 0",
            f"RF XN X {_g(sc.smoothing.fuse_resistance_ohm)}",
            f"RESR X XC {_g(sc.smoothing.esr_ohm)}",
            (
                f"RCS XC 0 {_g(SHORT_OHM)}"
                if cap == "shorted"
                else f"CS XC 0 {_g(sc.smoothing.capacitance_uf * 1e-6)}"
            ),
        ]
    else:
        lines += ["VPRF XN P 0", "RXN XN 0 1e15", "VXC XC 0 0"]
    if sc.smoothing.bleed_resistance_ohm is not None:
        lines.append(f"RBL P 0 {_g(sc.smoothing.bleed_resistance_ohm)}")
    if run.hold_lamp:
        lines.append("VHOLD P 0 0")
    lines.append("* lamp load between N and P; VPL measures the driver/filament current")
    lines.append("VPL 0 NL 0")
    if lamp.type == "led":
        start, stop = lamp.led_start_v, lamp.led_stop_v
        lines += [
            f"CLED 0 P {_g(lamp.count * lamp.led_input_capacitance_uf * 1e-6)}",
            "* LED driver hysteresis: latch node ledon (0 or 1) on a 1 nF capacitor, set",
            "* above the start voltage and reset below the stop voltage through 1 mS (1 us",
            "* time constant), held in between: no self-reference, so Newton cannot flip it",
            (
                f"BLAT 0 ledon I=1e-3*((V(0,P) > {_g(start)}) ? (1 - V(ledon)) : "
                f"((V(0,P) < {_g(stop)}) ? (0 - V(ledon)) : 0))"
            ),
            "CLAT ledon 0 1n",
            f"BLED NL P I=(V(ledon) > 0.5) ? {_g(rated)} / max(V(0,P), 1) : 0",
        ]
    else:
        lines.append("VLEDON ledon 0 0")
        if lamp.type == "resistive":
            lines.append(f"RLAMP NL P {_g(lamp.rated_voltage_v**2 / rated)}")
        else:
            lines.append("RLAMP NL P 1e15")
    lines += [
        "ELV lampv 0 0 P 1",
        "EVB vbulk 0 BP BM 1",
        f".tran {_g(run.tmax / 10)} {_g(run.tstop)} 0 {_g(run.tmax)} uic",
        ".control",
        "set filetype=binary",
        "run",
        f"write {raw_path} v(lampv) v(ledon) i(VPRF) i(VPDC) i(VPL) v(XC) v(vbulk) i(VPS) v(src)",
        ".endc",
        ".end",
    ]
    return "\n".join(lines) + "\n"


def _diode(name: str, anode: str, cathode: str, fault: str) -> list[str]:
    """One adaptor diode in its fault state: shorted is a resistor, open is gone."""
    if fault == "shorted":
        return [f"* D{name} shorted", f"RSH{name} {anode} {cathode} {_g(SHORT_OHM)}"]
    if fault == "open":
        return [f"* D{name} open: only its leakage remains"]
    if fault == "reversed":
        return [f"* D{name} fitted the wrong way round", f"D{name} {cathode} {anode} DX"]
    return [f"D{name} {anode} {cathode} DX"]


def _read_raw(path: Path) -> dict[str, F64]:
    data = path.read_bytes()
    marker = b"Binary:\n"
    head_end = data.index(marker) + len(marker)
    header = data[:head_end].decode("ascii", "replace").splitlines()
    n_vars = n_points = 0
    for line in header:
        if line.startswith("No. Variables:"):
            n_vars = int(line.split(":")[1])
        elif line.startswith("No. Points:"):
            n_points = int(line.split(":")[1])
    values = np.frombuffer(data, dtype="<f8", count=n_vars * n_points, offset=head_end)
    table = values.reshape(n_points, n_vars)
    names = ("time", *VECTORS)
    return {name: table[:, k].copy() for k, name in enumerate(names)}


def ngspice_run(
    sc: Scenario, run: Run, ngspice: str = "ngspice", timeout_s: float = 600.0
) -> dict[str, F64]:
    """Run one transient in ngspice (batch mode) and return its vectors."""
    exe = shutil.which(ngspice)
    if exe is None:
        msg = f"{ngspice} is not installed"
        raise FileNotFoundError(msg)
    errors = []
    for options in (OPTIONS[0], *FALLBACK_OPTIONS):
        with tempfile.TemporaryDirectory(prefix="no_neutral_spice_") as tmp:
            deck = Path(tmp) / "deck.cir"
            raw = Path(tmp) / "out.raw"
            deck.write_text(netlist(sc, run, str(raw), options))
            proc = subprocess.run(
                [exe, "-b", str(deck)],
                capture_output=True,
                text=True,
                check=False,
                cwd=tmp,
                timeout=timeout_s,
            )
            if proc.returncode == 0 and raw.exists():
                return _read_raw(raw)
            errors.append(f"{options}: {proc.returncode}: {proc.stderr[-600:]}")
            if "Timestep too small" not in proc.stderr + proc.stdout:
                break
    msg = "ngspice failed: " + "\n".join(errors)
    raise RuntimeError(msg)


def _window(v: dict[str, F64], t0: float, t1: float) -> dict[str, F64]:
    """Vectors resampled onto their own points inside [t0, t1], ends included."""
    t = v["time"]
    inside = (t > t0) & (t < t1)
    grid = np.concatenate(([t0], t[inside], [t1]))
    return {k: np.interp(grid, t, arr) for k, arr in v.items()}


def _mean(w: dict[str, F64], arr: F64) -> float:
    t = w["time"]
    return float(np.trapezoid(arr, t) / (t[-1] - t[0]))


@dataclass(frozen=True, slots=True)
class Plan:
    """How long ngspice runs: closed cycles, then open seconds; inrush phases."""

    closed_cycles: int = 20
    open_seconds: float = 40.0
    phases: tuple[float, ...] = tuple(float(p) for p in range(0, 360, 10))
    points_per_cycle: int = 400
    # The switch-on runs' maximum step (scenarios.PLAN_CHANGES makes it finer
    # where the inrush energies are small differences of large ones).
    inrush_points_per_cycle: int = 400
    # The closed steady cycle's figures come from a separate run with a finer
    # maximum step: at T/400 ngspice's capacitor ripple current was still 1 %
    # off its own converged value for small ripple (a dropper bulb, no load).
    fine_cycles: int = 12
    fine_points_per_cycle: int = 2000


def reference(sc: Scenario, plan: Plan | None = None, workers: int = 2) -> dict[str, Any]:
    """Every figure of docs/model.md computed from ngspice runs."""
    plan = plan or Plan()
    period = 1.0 / sc.mains.frequency_hz
    t_open = plan.closed_cycles * period
    tmax = period / plan.points_per_cycle
    t_fine = plan.fine_cycles * period
    runs: list[Run] = [
        Run(t_open + plan.open_seconds, tmax, relay_closed_at_start=True, switch_at=t_open),
        Run(10 * period, tmax, relay_closed_at_start=False, hold_lamp=True),
        Run(t_fine, period / plan.fine_points_per_cycle, relay_closed_at_start=True),
    ]
    # With the fuse blown (or the capacitor open) the inrush figures are 0 by definition.
    blown = _no_branch(sc)
    phases = [] if blown else sorted({*plan.phases, sc.relay.close_phase_deg})
    t_inrush = period / plan.inrush_points_per_cycle
    for phase in phases:
        t_close = (2.0 + phase / 360.0) * period
        runs.append(
            Run(t_close + 10 * period, t_inrush, relay_closed_at_start=False, switch_at=t_close)
        )
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda r: ngspice_run(sc, r), runs))
    main, leak, fine = results[0], results[1], results[2]
    out = _closed_and_open(sc, main, t_open, period)
    # The open-state keys of this second call see no open relay: dropped.
    closed = _closed_and_open(sc, fine, t_fine, period)
    for key in CLOSED_KEYS:
        out[key] = closed[key]
    lw = _window(leak, 9 * period, 10 * period)
    out["off_leakage_current_a"] = _mean(lw, np.abs(lw["idc"]))
    inrush: dict[float, tuple[float, float]] = {}
    for phase, res in zip(phases, results[3:], strict=True):
        t_close = (2.0 + phase / 360.0) * period
        w = _window(res, t_close, t_close + 10 * period)
        energy = float(np.trapezoid(w["irf"] ** 2, w["time"])) * sc.smoothing.fuse_resistance_ohm
        inrush[phase] = (
            float(np.max(np.abs(w["irf"]))),
            energy - 10 * period * out["fuse_power_w"],
        )
    peak, energy = inrush.get(sc.relay.close_phase_deg, (0.0, 0.0))
    out["inrush_peak_a"] = 0.0 if blown else peak
    out["inrush_fuse_energy_j"] = 0.0 if blown else energy
    mean = 0.0 if blown else float(np.mean([inrush[p][1] for p in plan.phases]))
    out["inrush_fuse_energy_mean_j"] = mean
    # The open steady cycle: the main run's last mains cycle.
    t_end = float(main["time"][-1])
    ow = _window(main, t_end - period, t_end)
    out.update(_source(sc, ow, "off_"))
    out["off_device_supply_min_v"] = float(ow["vbulk"].min())
    worst = max(out["source_current_rms_a"], out["off_source_current_rms_a"])
    out["breaker_trip"] = worst >= BREAKER_TRIP_FACTOR * sc.mains.breaker_a
    out["_raw"] = {"main": main, "t_open": t_open}
    return out


def _no_branch(sc: Scenario) -> bool:
    return sc.smoothing.fuse_blown or sc.faults.capacitor == "open"


def _source(sc: Scenario, w: dict[str, F64], prefix: str) -> dict[str, float]:
    """RMS and peak source current and the mean power into L over a window."""
    r_wire = sc.cable.length_m * RHO_CU / sc.cable.conductor_mm2
    i = w["isrc"]
    v_l = w["vsrc"] - i * (sc.mains.source_resistance_ohm + r_wire)
    out = {
        f"{prefix}source_current_rms_a": math.sqrt(_mean(w, i * i)),
        f"{prefix}source_power_w": _mean(w, v_l * i),
    }
    if not prefix:
        out["source_current_peak_a"] = float(np.max(np.abs(i)))
    return out


def _closed_and_open(
    sc: Scenario, v: dict[str, F64], t_open: float, period: float
) -> dict[str, Any]:
    lamp = sc.lamp
    rated = lamp.count * lamp.power_w
    w = _window(v, t_open - period, t_open)
    vl = w["lampv"]
    out: dict[str, Any] = {}
    out["lamp_v_mean"] = _mean(w, vl)
    out["lamp_v_min"] = float(vl.min())
    out["lamp_v_max"] = float(vl.max())
    # As the simulator: a lamp node at 0 V (or above N) has no ripple worth a percentage.
    out["lamp_ripple_pct"] = (
        (out["lamp_v_max"] - out["lamp_v_min"]) / out["lamp_v_mean"] * 100
        if out["lamp_v_mean"] > 1e-9
        else 0.0
    )
    out["lamp_power_w"] = _mean(w, vl * w["ilamp"])
    loads = lamp.type in {"led", "resistive"}
    out["lamp_power_ratio"] = out["lamp_power_w"] / rated if loads else 0.0
    out["led_dropout"] = bool(lamp.type == "led" and w["ledon"].min() < 0.5)
    blown = _no_branch(sc)
    i2 = _mean(w, w["irf"] ** 2)
    out["cap_ripple_current_rms_a"] = 0.0 if blown else math.sqrt(i2)
    out["cap_esr_power_w"] = 0.0 if blown else i2 * sc.smoothing.esr_ohm
    out["cap_voltage_max_v"] = 0.0 if blown else float(np.max(np.abs(w["vxc"])))
    out["fuse_power_w"] = 0.0 if blown else i2 * sc.smoothing.fuse_resistance_ohm
    out["device_supply_min_v"] = float(w["vbulk"].min())
    out["device_supply_ok"] = out["device_supply_min_v"] >= sc.device.min_input_v
    out.update(_source(sc, w, ""))
    t = v["time"]
    after = t > t_open
    out["discharge_time_s"] = _discharge_time(v, after, t_open)
    # Open steady state: the ghost-flash cycle if the driver keeps restarting,
    # else the last mains cycle.
    ledon = v["ledon"]
    rise = np.flatnonzero(after[1:] & (ledon[:-1] < 0.5) & (ledon[1:] >= 0.5)) + 1
    last = t >= t[-1] - period
    # Lit with the relay open (a fault feeds the lamp): the driver runs
    # through the whole last cycle without restarting, and glows steadily.
    lit = lamp.type == "led" and len(rise) < 3 and bool(np.all(ledon[last] >= 0.5))
    ghost = lamp.type == "led" and len(rise) >= 3
    out["ghost_flash"] = bool(ghost or lit)
    if ghost:
        t0, t1 = t[rise[-2]], t[rise[-1]]
        out["ghost_flash_period_s"] = float(t1 - t0)
        ow = _window(v, float(t0 - 1e-3), float(t1 - 1e-3))
        out["off_lamp_v"] = float(ow["lampv"].max())
    else:
        out["ghost_flash_period_s"] = None
        ow = _window(v, float(t[-1] - period), float(t[-1]))
        out["off_lamp_v"] = _mean(ow, ow["lampv"])
        prev = _window(v, float(t[-1] - 2 * period), float(t[-1] - period))
        out["_open_drift_v"] = abs(out["off_lamp_v"] - _mean(prev, prev["lampv"]))
    return out


def _discharge_time(v: dict[str, F64], after: npt.NDArray[np.bool_], t_open: float) -> float | None:
    """Time from the opening until the lamp voltage falls below 50 V; null beyond the limit."""
    t = v["time"]
    below = after & (v["lampv"] < 50.0)
    if not below.any():
        return None
    k = int(np.argmax(below))
    if v["lampv"][k - 1] < 50.0:
        # Below 50 V already when the relay opens (a fault holds the lamp low).
        return 0.0
    t_cross = t[k - 1] + (t[k] - t[k - 1]) * (v["lampv"][k - 1] - 50.0) / (
        v["lampv"][k - 1] - v["lampv"][k]
    )
    d = float(t_cross - t_open)
    return d if d <= DISCHARGE_LIMIT_S else None
