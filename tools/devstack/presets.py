"""
Lamp scenarios that scripts/develop can start with (--lamp NAME).

Each one makes a different part of the integration visible: the healthy
default, and one preset per warning that a lamp choice can raise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class LampPreset:
    """What the adaptor step and the options get for one preset."""

    description: str
    adaptor: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, LampPreset] = {
    "led10": LampPreset(
        description="one 10 W switch-mode LED bulb (healthy)",
        adaptor={"lamp_type": "led", "lamp_count": 1, "lamp_power_w": 10},
    ),
    "led2": LampPreset(
        description="one 2 W LED bulb: under 3 W, no-load risk",
        adaptor={"lamp_type": "led", "lamp_count": 1, "lamp_power_w": 2},
    ),
    "halogen500": LampPreset(
        description="a 500 W halogen lamp: half power, fuse overstress",
        adaptor={"lamp_type": "resistive", "lamp_count": 1, "lamp_power_w": 500},
    ),
    "none": LampPreset(
        description="no lamp in the socket: no-load risk",
        adaptor={"lamp_type": "none", "lamp_count": 1, "lamp_power_w": 10},
    ),
    "dropper": LampPreset(
        description="a capacitive-dropper LED bulb: incompatible",
        adaptor={"lamp_type": "capacitive_dropper", "lamp_count": 1, "lamp_power_w": 5},
    ),
    "nobleed": LampPreset(
        description="10 W LED with no bleed resistor: ghost flashing, socket stays live",
        adaptor={"lamp_type": "led", "lamp_count": 1, "lamp_power_w": 10},
        options={"bleed_resistance_ohm": None},
    ),
}
