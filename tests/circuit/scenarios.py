"""Scenarios compared with ngspice, and how long ngspice runs the open relay.

Together they use every lamp type, a blown fuse, no bleed resistor (ghost
flashing), 120 V / 60 Hz, large resistive lamps and an LED driver that drops
out every cycle. The ghost scenario has a
small capacitor and a long cable so that the flash period is about a second
and ngspice can show three starts in a few seconds of simulated time.
"""

from __future__ import annotations

from typing import Any

# name: (scenario, seconds of open relay ngspice simulates after the closed run)
SCENARIOS: dict[str, tuple[dict[str, Any], float]] = {
    "default": ({}, 30.0),
    "halogen_150w": ({"lamp": {"type": "resistive", "power_w": 150}}, 5.0),
    "fuse_blown": ({"smoothing": {"fuse_blown": True}}, 5.0),
    "ghost_no_bleed": (
        {
            "smoothing": {"bleed_resistance_ohm": None, "capacitance_uf": 2.2},
            "cable": {"length_m": 30, "capacitance_pf_per_m": 100},
        },
        6.0,
    ),
    "us_120v_60hz": (
        {
            "mains": {"voltage_rms": 120, "frequency_hz": 60},
            "lamp": {"power_w": 9, "rated_voltage_v": 120, "led_start_v": 60, "led_stop_v": 40},
            "smoothing": {"voltage_rating_v": 200},
        },
        30.0,
    ),
    "capacitive_dropper": ({"lamp": {"type": "capacitive_dropper"}}, 36.0),
    "no_lamp": ({"lamp": {"type": "none"}, "smoothing": {"bleed_resistance_ohm": 47000}}, 10.0),
    # The capacitor drains into the filament (1.8 ms) to a fraction of a volt
    # before each pulse: the closed cycle's long steps must not smear that.
    "halogen_500w": ({"lamp": {"type": "resistive", "power_w": 500}}, 3.0),
    # The driver stops and restarts every cycle (led_dropout); a small
    # capacitor against the LED input capacitance sharpens the inrush. The
    # bleed (0.9 s with 4.2 uF) takes 12 s to settle to 0.1 %.
    "led_dropout": ({"lamp": {"power_w": 60}, "smoothing": {"capacitance_uf": 2}}, 12.0),
}
