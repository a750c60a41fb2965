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
# Companion mode (follower.py): the followed switch or light (its entity
# registry id) and the kind of relay behind it (relay_models.py).
CONF_ENTITY: Final = "entity"
CONF_RELAY_MODEL: Final = "relay_model"

# Sonoff MINIR4M, listed first among the server's nodes.
SONOFF_VENDOR_ID: Final = 0x1321
MINIR4M_PRODUCT_ID: Final = 0x0002

# The relay's OnOff attribute: endpoint 1, cluster 6 (OnOff), attribute 0.
RELAY_ENDPOINT: Final = 1
ONOFF_CLUSTER_ID: Final = 6
ONOFF_ATTRIBUTE_ID: Final = 0
