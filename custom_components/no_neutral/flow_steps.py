"""
The base the config flow's step modules are written against.

Each way in (matter_steps.py, companion_steps.py, discovery_steps.py,
reconfigure_steps.py) is a mixin of config_flow.NoNeutralConfigFlow. Type
checkers see it as a subclass of config_flow.AdaptorFlow, whose state and
shared steps it uses; at run time it is a plain class, so that config_flow.py
can import it without an import circle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config_flow import AdaptorFlow as StepsBase
else:
    StepsBase = object

__all__ = ["StepsBase"]
