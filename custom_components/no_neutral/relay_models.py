"""
The relays an adaptor is built behind, and their own power draw (off and on).

The relay's own supply is the load the adaptor exists for (docs/model.md: the
device's constant power, contact open and closed). A companion entry picks its
relay here; the figures are the starting point of the options
`relay_power_w_off` and `relay_power_w_on`, which the user can override with a
measured value (the options form, section "Relay").

Where the figures come from, and how sure they are:
- MINIR4M: the model's own defaults (docs/model.md, `device.power_w_off`/`on`),
  the relay the adaptor was designed around.
- Generic Wi-Fi relay (an ESP8266/ESP32 Sonoff-style module): about 1.1 W
  idle with the relay open, as measured and reported in the Tasmota wiki
  ("Energy Saving": ~1.1 W idle without Sleep) and by indomus.it (Sonoff S20
  1.11 W, Dual R2 1.24 W, relay open); closed adds the relay coil, about
  0.4 W for a common 5 V coil (72 mA, Songle SRD-05VDC datasheet).
- SwitchMan M5 and NSPanel: no figure published that we could find. Both are
  ESP32 wall switches powered from the mains; the M5 has status LEDs, the
  NSPanel a backlit touch screen. The values are estimates (the generic Wi-Fi
  relay's, plus the screen's backlight for the NSPanel): measure yours and
  set the options.
- Generic Zigbee relay: a Zigbee SoC draws far less than Wi-Fi (tens of mA at
  3.3 V); 0.4 W open is an estimate for a mains relay module with its supply's
  own losses, plus a latching or small coil when closed. Also an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, kw_only=True)
class RelayModel:
    """A kind of relay and its own power draw, in watts."""

    key: str
    # A product's name (the same in every language); strings.json translates the generic ones.
    label: str
    power_w_off: float
    power_w_on: float


MINIR4M: Final = "minir4m"

RELAY_MODELS: Final[dict[str, RelayModel]] = {
    model.key: model
    for model in (
        RelayModel(key=MINIR4M, label="Sonoff MINIR4M", power_w_off=0.6, power_w_on=0.9),
        RelayModel(
            key="switchman_m5", label="Sonoff SwitchMan M5", power_w_off=1.1, power_w_on=1.5
        ),
        RelayModel(key="nspanel", label="Sonoff NSPanel", power_w_off=1.8, power_w_on=2.2),
        RelayModel(key="generic_wifi", label="Other Wi-Fi relay", power_w_off=1.1, power_w_on=1.5),
        RelayModel(
            key="generic_zigbee", label="Other Zigbee relay", power_w_off=0.4, power_w_on=0.7
        ),
    )
}
