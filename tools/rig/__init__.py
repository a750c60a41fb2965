"""
The Matter test rig: a real python-matter-server and a matter.js virtual relay.

Used by the pytest fixtures (tests/rig.py), scripts/matter-rig and
scripts/bench_matter. Nothing here imports Home Assistant.
"""

from tools.rig.server import MatterServer, RigError
from tools.rig.sockets import free_port

__all__ = ["MatterServer", "RigError", "free_port"]
