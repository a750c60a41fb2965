"""Where the rig's parts are installed (by scripts/lib/matter.sh)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
RELAY_DIR = PROJECT_DIR / "tools" / "virtual-relay"
RELAY_SCRIPT = RELAY_DIR / "relay.mjs"


def _server_venv() -> Path:
    if explicit := os.environ.get("NO_NEUTRAL_MATTER_SERVER_VENV"):
        return Path(explicit)
    # Inside the project's root (scripts/lib/env.sh "root mode").
    in_root = Path("/opt/no-neutral/venv-matter-server")
    if in_root.exists():
        return in_root
    # "Host mode": beside the cache.
    return Path(os.environ.get("NO_NEUTRAL_CACHE", "/var/cache/no-neutral")) / "venv-matter-server"


SERVER_VENV = _server_venv()
SERVER_BIN = SERVER_VENV / "bin" / "matter-server"


def node_executable() -> str:
    """Node.js, which runs the virtual relay."""
    return shutil.which("node") or "node"
