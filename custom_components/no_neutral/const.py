"""Constants of the No-Neutral Adaptor integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "no_neutral"
LOGGER = logging.getLogger(__package__)

DEFAULT_URL: Final = "ws://localhost:5580/ws"

# Config entry data.
CONF_URL: Final = "url"
CONF_NODE_ID: Final = "node_id"

# Sonoff MINIR4M, listed first among the server's nodes.
SONOFF_VENDOR_ID: Final = 0x1321
MINIR4M_PRODUCT_ID: Final = 0x0002

# The relay's OnOff attribute: endpoint 1, cluster 6 (OnOff), attribute 0.
RELAY_ENDPOINT: Final = 1
ONOFF_CLUSTER_ID: Final = 6
ONOFF_ATTRIBUTE_ID: Final = 0

# Options: the adaptor's parts, flat for the forms. Each maps to the dotted path
# of the CIRCUIT.md scenario it sets (scenario.py builds the scenario from them).
CONF_LAMP_TYPE: Final = "lamp_type"
CONF_LAMP_COUNT: Final = "lamp_count"
CONF_LAMP_POWER_W: Final = "lamp_power_w"
CONF_MAINS_VOLTAGE: Final = "mains_voltage_rms"
CONF_MAINS_FREQUENCY: Final = "mains_frequency_hz"
CONF_CABLE_LENGTH_M: Final = "cable_length_m"
CONF_CAPACITANCE_UF: Final = "capacitance_uf"
CONF_ESR_OHM: Final = "esr_ohm"
CONF_CAP_VOLTAGE_RATING_V: Final = "cap_voltage_rating_v"
CONF_FUSE_RESISTANCE_OHM: Final = "fuse_resistance_ohm"
CONF_FUSE_POWER_RATING_W: Final = "fuse_power_rating_w"
# None means no bleed resistor fitted.
CONF_BLEED_RESISTANCE_OHM: Final = "bleed_resistance_ohm"

SCENARIO_PATHS: Final[dict[str, str]] = {
    CONF_LAMP_TYPE: "lamp.type",
    CONF_LAMP_COUNT: "lamp.count",
    CONF_LAMP_POWER_W: "lamp.power_w",
    CONF_MAINS_VOLTAGE: "mains.voltage_rms",
    CONF_MAINS_FREQUENCY: "mains.frequency_hz",
    CONF_CABLE_LENGTH_M: "cable.length_m",
    CONF_CAPACITANCE_UF: "smoothing.capacitance_uf",
    CONF_ESR_OHM: "smoothing.esr_ohm",
    CONF_CAP_VOLTAGE_RATING_V: "smoothing.voltage_rating_v",
    CONF_FUSE_RESISTANCE_OHM: "smoothing.fuse_resistance_ohm",
    CONF_FUSE_POWER_RATING_W: "smoothing.fuse_power_rating_w",
    CONF_BLEED_RESISTANCE_OHM: "smoothing.bleed_resistance_ohm",
}

# Ageing (CIRCUIT.md, "Ageing and stress"); not part of the scenario.
CONF_CAP_RATED_LIFE_H: Final = "cap_rated_life_h"
CONF_CAP_RATED_TEMP_C: Final = "cap_rated_temp_c"
CONF_AMBIENT_TEMP_C: Final = "ambient_temp_c"
# Optional temperature sensor entity; when set it overrides CONF_AMBIENT_TEMP_C.
CONF_AMBIENT_SENSOR: Final = "ambient_sensor"

DEFAULT_CAP_RATED_LIFE_H: Final = 2000.0
DEFAULT_CAP_RATED_TEMP_C: Final = 105.0
DEFAULT_AMBIENT_TEMP_C: Final = 25.0

LAMP_TYPES: Final = ("led", "resistive", "capacitive_dropper", "none")
