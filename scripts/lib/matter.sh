# shellcheck shell=bash
# The Matter test rig's own installs, sourced by scripts/lib/env.sh:
#  - the real python-matter-server in its own Python 3.13 venv (its pins clash
#    with Home Assistant's, and it runs on 3.12/3.13 only), keyed by a hash of
#    requirements_matter_server.txt;
#  - the matter.js virtual relay's node_modules (tools/virtual-relay, git-ignored),
#    keyed by a hash of its package-lock.json; npm's cache is the bind-mounted
#    $NO_NEUTRAL_CACHE/npm.
# Both are read by tests/rig.py (the pytest fixtures) and tools/rig (scripts/matter-rig).

MATTER_REQUIREMENTS_FILE="$PROJECT_DIR/requirements_matter_server.txt"
RELAY_DIR="$PROJECT_DIR/tools/virtual-relay"

if _host_mode; then
    MATTER_SERVER_VENV="$CACHE_DIR/venv-matter-server"
else
    MATTER_SERVER_VENV=/opt/no-neutral/venv-matter-server
fi
export MATTER_SERVER_VENV

_ensure_matter_server_venv() {
    local key
    key=$(_hash_files "$MATTER_REQUIREMENTS_FILE")
    _venv_current "$MATTER_SERVER_VENV/.no-neutral-requirements" "$key" && return 0
    log "installing the Matter server venv (Python 3.13) from requirements_matter_server.txt"
    # A fresh venv each time: a stale package left by an older pin set (above
    # all a `chip` package from matter-python-client) must not survive.
    in_env /bin/bash -c '
        set -e
        rm -rf "$0"
        python3.13 -m venv "$0"
        "$0/bin/python" -m pip install -q --upgrade pip
        "$0/bin/python" -m pip install -q -r requirements_matter_server.txt
        if "$0/bin/python" -m pip show -q matter-python-client >/dev/null 2>&1; then
            echo "matter-python-client must not be in the server venv" >&2
            exit 1
        fi
        echo "$1" >"$0/.no-neutral-requirements"
    ' "$MATTER_SERVER_VENV" "$key"
}

_ensure_virtual_relay() {
    local key stamp="$RELAY_DIR/node_modules/.no-neutral-lock"
    key=$(_hash_files "$RELAY_DIR/package-lock.json")
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
        return 0
    fi
    log "installing the matter.js virtual relay (npm ci in tools/virtual-relay)"
    in_env /bin/bash -c '
        set -e
        cd tools/virtual-relay
        npm ci --no-audit --no-fund --loglevel=error >/dev/null
        echo "$0" >node_modules/.no-neutral-lock
    ' "$key"
}

_ensure_matter_rig() {
    # The server writes its CHIP config to /data; the rig bind-mounts a work
    # folder there in a private mount namespace, which needs the mount point.
    if _host_mode; then
        mkdir -p /data
    else
        mkdir -p "$ROOT_DIR/data" "$ROOT_DIR/opt/no-neutral"
    fi
    _ensure_matter_server_venv
    _ensure_virtual_relay
}
