# shellcheck shell=bash
# The project's Python 3.14 environment, sourced by scripts/test, scripts/develop,
# scripts/lint and scripts/bench.
#
# Current Home Assistant needs Python 3.14. Where a python3.14 is on PATH we use a
# plain venv beside it ("host mode"). Otherwise ("root mode") we build a Debian
# forky root with debootstrap, holding python3.14 and every other tool the tests
# use (ngspice, python3.13 for the Matter server, Node for matter.js), and run
# commands inside it with unshare + chroot, the project bind-mounted at the same
# path. Both are cached under $NO_NEUTRAL_CACHE and rebuilt only when the files
# they are made from change.

set -euo pipefail

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${NO_NEUTRAL_CACHE:-/var/cache/no-neutral}"
ROOT_DIR="$CACHE_DIR/root314"
DEBIAN_SUITE=forky
PACKAGES_FILE="$PROJECT_DIR/scripts/packages.txt"
REQUIREMENTS_FILE="$PROJECT_DIR/requirements_test.txt"
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

log() { printf '[no_neutral] %s\n' "$*" >&2; }

_hash_files() { cat "$@" | sha256sum | cut -c1-16; }

_debian_mirror() {
    # The machine's own mirror, as its apt sources name it.
    local uri
    uri=$(grep -hoE '^(URIs:|deb) *https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
        | grep -v -- '-security' | head -n 1 | grep -oE 'https?://[^ ]+' || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

_packages() { grep -vE '^\s*(#|$)' "$PACKAGES_FILE"; }

_host_mode() { [[ "${NO_NEUTRAL_FORCE_ROOT:-0}" != 1 ]] && command -v python3.14 >/dev/null 2>&1; }

# Inside the environment, the venv lives here (same path in both modes, seen
# from inside).
if _host_mode; then
    VENV_DIR="$CACHE_DIR/venv314"
else
    VENV_DIR=/opt/no-neutral/venv314
fi
export VENV_DIR

_ensure_root() {
    local key stamp="$ROOT_DIR/.no-neutral-packages"
    key=$(_hash_files "$PACKAGES_FILE")
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$key" ]]; then
        return 0
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap (host)"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null \
            || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null; }
    fi
    if [[ ! -x "$ROOT_DIR/usr/bin/python3.14" ]]; then
        local mirror
        mirror=$(_debian_mirror)
        log "building the Python 3.14 root in $ROOT_DIR from $mirror ($DEBIAN_SUITE)"
        rm -rf "$ROOT_DIR.tmp"
        mkdir -p "$CACHE_DIR"
        debootstrap --variant=minbase --include=python3.14,python3.14-venv,ca-certificates \
            "$DEBIAN_SUITE" "$ROOT_DIR.tmp" "$mirror" /usr/share/debootstrap/scripts/sid >"$CACHE_DIR/debootstrap.log" 2>&1 \
            || { tail -n 20 "$CACHE_DIR/debootstrap.log" >&2; exit 1; }
        rm -rf "$ROOT_DIR"
        mv "$ROOT_DIR.tmp" "$ROOT_DIR"
    fi
    log "installing Debian packages into the root: $(_packages | tr '\n' ' ')"
    cp /etc/resolv.conf "$ROOT_DIR/etc/resolv.conf"
    # The snapshot mirror's Release files can be past their Valid-Until date.
    local apt_opts=(-o Acquire::Check-Valid-Until=false -q)
    chroot "$ROOT_DIR" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        apt-get "${apt_opts[@]}" update >"$CACHE_DIR/apt.log" 2>&1 || { tail -n 20 "$CACHE_DIR/apt.log" >&2; exit 1; }
    # shellcheck disable=SC2046
    chroot "$ROOT_DIR" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        apt-get "${apt_opts[@]}" install -y --no-install-recommends $(_packages) >>"$CACHE_DIR/apt.log" 2>&1 \
        || { tail -n 20 "$CACHE_DIR/apt.log" >&2; exit 1; }
    chroot "$ROOT_DIR" apt-get clean
    echo "$key" >"$stamp"
}

_ensure_host_packages() {
    # Host mode: the same tools from the host's own apt, where it has them.
    local missing=()
    command -v ngspice >/dev/null 2>&1 || missing+=(ngspice)
    command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    if ((${#missing[@]})); then
        log "installing host packages: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" libnl-3-200 libnl-route-3-200 >/dev/null
    fi
}

# Run a command inside the environment, from the project directory, with the
# venv first on PATH. Extra environment: NO_NEUTRAL_* variables pass through.
in_env() {
    local venv_path="$VENV_DIR/bin"
    if _host_mode; then
        (cd "$PROJECT_DIR" && PATH="$venv_path:$PATH" VIRTUAL_ENV="$VENV_DIR" "$@")
        return
    fi
    local passthrough=() var
    for var in $(compgen -e); do
        case "$var" in
            NO_NEUTRAL_* | CI | PYTEST_ADDOPTS | TERM | COLUMNS) passthrough+=("$var=${!var}") ;;
        esac
    done
    unshare --mount --fork -- /bin/bash -s -- "$ROOT_DIR" "$PROJECT_DIR" "$CACHE_DIR" "$HOST_CA_BUNDLE" \
        "$venv_path" "${#passthrough[@]}" "${passthrough[@]}" "$@" <<'INNER'
set -euo pipefail
root=$1 project=$2 cache=$3 ca=$4 venv_path=$5 npass=$6
shift 6
pass=("${@:1:$npass}")
shift "$npass"
mount --make-rprivate /
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mkdir -p "$root/dev/shm" "$root/run" "$root/root/.cache" "$cache/pip" "$cache/npm"
mount -t tmpfs tmpfs "$root/tmp"
mount -t tmpfs tmpfs "$root/run"
# After the tmpfs mounts: the project may itself live under /tmp.
mkdir -p "$root$project"
mount --bind "$project" "$root$project"
mount --bind "$cache/pip" "$root/root/.cache"
mkdir -p "$root/root/.npm" && mount --bind "$cache/npm" "$root/root/.npm"
# Other calls may be reading these files right now: replace them atomically,
# and only when they changed.
refresh() { cmp -s "$1" "$2" || { cp "$1" "$2.$$" && mv -f "$2.$$" "$2"; }; }
refresh /etc/resolv.conf "$root/etc/resolv.conf"
refresh /etc/hosts "$root/etc/hosts"
refresh "$ca" "$root/etc/ssl/certs/host-ca-bundle.crt"
cd "$root$project"
exec chroot "$root" /usr/bin/env -i \
    HOME=/root LANG=C.UTF-8 TZ=UTC \
    PATH="$venv_path:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    VIRTUAL_ENV="${venv_path%/bin}" \
    SSL_CERT_FILE=/etc/ssl/certs/host-ca-bundle.crt PIP_CERT=/etc/ssl/certs/host-ca-bundle.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/host-ca-bundle.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-bundle.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 \
    "${pass[@]}" /bin/bash -c 'cd "$0" && exec "$@"' "$project" "$@"
INNER
}

# Whether a venv was installed from requirements whose hash is $2 (its stamp
# file $1 is a path as seen inside the environment).
_venv_current() {
    local host_stamp="$1"
    _host_mode || host_stamp="$ROOT_DIR$1"
    [[ -f "$host_stamp" && "$(cat "$host_stamp")" == "$2" ]]
}

_ensure_venv() {
    local key
    key=$(_hash_files "$REQUIREMENTS_FILE")
    _venv_current "$VENV_DIR/.no-neutral-requirements" "$key" && return 0
    log "installing the Python 3.14 test environment from requirements_test.txt"
    # Installed over the existing venv, not a new one: a running test or
    # develop session keeps working while a pin is added.
    in_env /bin/bash -c '
        set -e
        [[ -x "$0/bin/python" ]] || python3.14 -m venv "$0"
        "$0/bin/python" -m pip install -q --upgrade pip
        "$0/bin/python" -m pip install -q -r requirements_test.txt
        echo "$1" >"$0/.no-neutral-requirements"
    ' "$VENV_DIR" "$key"
}

# Make sure the environment exists and is current; safe to call concurrently.
ensure_env() {
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.lock"
    flock 9
    if _host_mode; then
        _ensure_host_packages
    else
        _ensure_root
    fi
    _ensure_venv
    _ensure_matter_rig
    flock -u 9
}

# The Matter test rig: the server venv and the matter.js virtual relay.
source "$PROJECT_DIR/scripts/lib/matter.sh"
