"""
scripts/develop: the whole integration running, as a user would have it.

Starts a real python-matter-server and a matter.js virtual MINIR4M in network
namespaces of their own (tools/rig), then Home Assistant with this integration
from the working tree; completes HA's onboarding through its own API, adds the
adaptor through the integration's config flow (commissioning the relay the
first time), writes the adaptor's dashboard, puts the lamp and the adaptor in
the Energy dashboard, and waits. Ctrl-C stops it all.
Everything lives in the config folder, so the next start finds the same relay,
the same entry and the same history.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import datetime as dt
import ipaddress
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from tools.devstack import dashboard, energy, flows
from tools.devstack.ha_api import DEV_PASSWORD, DEV_USERNAME, HomeAssistantAPI
from tools.devstack.presets import PRESETS
from tools.rig.relay_rig import RelayRig
from tools.rig.server import RigError

PROJECT_DIR = Path(__file__).resolve().parents[2]
DOMAIN = "no_neutral"
DASHBOARD_FILE = "dashboards/no_neutral.yaml"
DASHBOARD_PATH = "/no-neutral/adaptor"
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


def say(message: str) -> None:
    """Tell the person at the keyboard what is happening."""
    print(f"[develop] {message}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="scripts/develop", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8123, help="HA's HTTP port (8123)")
    parser.add_argument(
        "--listen",
        type=_address,
        default="127.0.0.1",
        metavar="ADDRESS",
        help="the address HA listens on (127.0.0.1: this machine only; 0.0.0.0: every "
        "interface, the published development login included)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="HA's config folder (config; build/companion-config with --companion, so the "
        "two stacks keep their own entries)",
    )
    parser.add_argument(
        "--lamp",
        choices=sorted(PRESETS),
        default="led10",
        help="the lamp scenario: "
        + "; ".join(f"{name}: {preset.description}" for name, preset in sorted(PRESETS.items())),
    )
    parser.add_argument(
        "--matter-port", type=int, default=5580, help="the Matter server's port (5580)"
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        help="when ready, write the stack's facts here as JSON (URL, entities, process ids)",
    )
    parser.add_argument(
        "--ha-only", action="store_true", help="only Home Assistant: no Matter server, no relay"
    )
    parser.add_argument(
        "--companion",
        action="store_true",
        help="companion mode: no Matter server; a template switch stands for a relay another "
        "integration controls, and the adaptor follows it",
    )
    args = parser.parse_args(argv)
    if args.config is None:
        args.config = PROJECT_DIR / ("build/companion-config" if args.companion else "config")
    return args


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        msg = f"--listen: {text!r} is not an IP address"
        raise argparse.ArgumentTypeError(msg) from None


def _write_json(path: Path, data: object) -> None:
    """Write JSON whole: a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2))
    partial.replace(path)


def _storage(key: str, version: int, minor: int, data: object) -> dict[str, object]:
    return {"version": version, "minor_version": minor, "key": key, "data": data}


def prepare_storage(config: Path, listen: str, port: int) -> None:
    """
    Set what HA keeps in .storage (written while HA is not running).

    HTTP: HA 2026.10 reads its address and port from storage only. A version-1
    record holds just the two; HA migrates it, filling in its defaults.

    Onboarding: the frontend's "core_config" step also adds Google Translate,
    Met.no and Radio Browser (and so ffmpeg), which fail offline and have
    nothing to do with the adaptor. A fresh folder starts with that step (and
    analytics, integration) done; develop still makes the user through the
    onboarding API. configuration.yaml sets the location those steps ask for.

    Repairs: HA raises "Unsupported installation method" on every Core-in-a-venv
    install, which develop is; it is recorded as ignored, as the repair's
    Ignore button does, so the repairs HA shows are the adaptor's.
    """
    from homeassistant.const import __version__ as ha_version  # noqa: PLC0415

    storage = config / ".storage"
    _write_json(
        storage / "http",
        _storage("http", 1, 1, {"server_host": [listen], "server_port": port}),
    )
    if not (storage / "onboarding").exists():
        done = ["core_config", "analytics", "integration"]
        _write_json(storage / "onboarding", _storage("onboarding", 4, 1, {"done": done}))
    issues_file = storage / "repairs.issue_registry"
    if issues_file.exists():
        record = json.loads(issues_file.read_text())
    else:
        record = _storage("repairs.issue_registry", 1, 2, {"issues": []})
    issues: list[dict[str, Any]] = record["data"]["issues"]
    known = {(issue["domain"], issue["issue_id"]): issue for issue in issues}
    for issue_id in ("deprecated_method", "deprecated_method_architecture"):
        issue = known.get(("homeassistant", issue_id))
        if issue is None:
            issue = {
                "created": dt.datetime.now(dt.UTC).isoformat(),
                "domain": "homeassistant",
                "is_persistent": False,
                "issue_id": issue_id,
            }
            issues.append(issue)
        issue["dismissed_version"] = ha_version
    _write_json(issues_file, record)


def _die_with_parent(parent: int) -> Callable[[], None]:
    """Run in the child before exec: SIGTERM when develop dies, even by SIGKILL."""

    def prctl() -> None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # develop died before the prctl
            os._exit(1)

    return prctl


def prepare_config(config: Path) -> None:
    """Write what HA needs in the config folder (the committed template, the link)."""
    config.mkdir(parents=True, exist_ok=True)
    template = PROJECT_DIR / "config" / "configuration.yaml"
    target = config / "configuration.yaml"
    if target.resolve() != template.resolve():
        shutil.copyfile(template, target)
    dashboard_file = config / DASHBOARD_FILE
    if not dashboard_file.exists():
        dashboard.write(dashboard_file, dashboard.build({}))
    links = config / "custom_components"
    links.mkdir(exist_ok=True)
    link = links / DOMAIN
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(PROJECT_DIR / "custom_components" / DOMAIN)
    # The develop-only bridge of the rig's mDNS (scripts/discovery-check).
    bridge = links / "devstack_mdns"
    if bridge.is_symlink() or bridge.exists():
        bridge.unlink()
    bridge.symlink_to(PROJECT_DIR / "tools" / "devstack" / "mdns_bridge")


def setup_adaptor(api: HomeAssistantAPI, rig: RelayRig, lamp: str) -> dict[str, Any]:
    """Add the adaptor the first time; afterwards set the chosen lamp's options."""
    preset = PRESETS[lamp]
    entries = api.config_entries(DOMAIN)
    if not entries:
        say("adding the adaptor through the config flow (commissioning the virtual relay)")
        flows.add_entry(
            api,
            url=rig.server.url,
            manual_code=rig.relay.manual_code,
            adaptor=preset.adaptor,
        )
        if preset.options:
            entry_id = api.config_entries(DOMAIN)[0]["entry_id"]
            flows.set_options(api, entry_id, preset.options)
    else:
        say(f"setting the lamp scenario {lamp!r} through the options flow")
        # Reset what other presets change, then apply this one.
        overrides = {"bleed_resistance_ohm": 220} | preset.adaptor | preset.options  # kΩ
        flows.set_options(api, entries[0]["entry_id"], overrides)
    return wait_loaded(api)


COMPANION_RELAY = "Hall relay"
COMPANION_SWITCH = "switch.hall_relay"


def setup_companion(api: HomeAssistantAPI, lamp: str) -> dict[str, Any]:
    """Add the template switch and an adaptor that follows it, the first time."""
    preset = PRESETS[lamp]
    entries = api.config_entries(DOMAIN)
    if not entries:
        say(f"adding a template switch {COMPANION_RELAY!r}, the relay another integration controls")
        entity_id = flows.add_template_switch(api, COMPANION_RELAY)
        # An optimistic switch knows no state until told one; a relay reports its own.
        api.request("POST", "/api/services/switch/turn_on", {"entity_id": entity_id})
        say(f"adding the adaptor in companion mode, following {entity_id}")
        flows.add_companion_entry(
            api, entity_id=entity_id, relay_model="generic_wifi", adaptor=preset.adaptor
        )
        if preset.options:
            flows.set_options(api, api.config_entries(DOMAIN)[0]["entry_id"], preset.options)
    return wait_loaded(api)


def wait_loaded(api: HomeAssistantAPI) -> dict[str, Any]:
    """Return the adaptor's entry once it is loaded."""
    entries = api.config_entries(DOMAIN)
    deadline = time.monotonic() + 60
    while entries[0]["state"] != "loaded":
        if time.monotonic() > deadline:
            msg = f"the adaptor did not load: {entries[0]}"
            raise RuntimeError(msg)
        time.sleep(0.5)
        entries = api.config_entries(DOMAIN)
    return entries[0]


class Stack:
    """The running processes, stopped in reverse order."""

    def __init__(self, args: argparse.Namespace) -> None:
        """Keep the options; nothing starts yet."""
        self.args = args
        self.config: Path = args.config.resolve()
        self.rig: RelayRig | None = None
        self.hass: subprocess.Popen[bytes] | None = None
        self.facts: dict[str, object] = {}
        # develop reaches HA on the address it listens on (loopback for "all").
        host = "127.0.0.1" if ipaddress.ip_address(args.listen).is_unspecified else args.listen
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{args.port}"

    def start(self) -> None:
        """Start the relay rig and HA, then set HA up."""
        started = time.monotonic()
        prepare_config(self.config)
        prepare_storage(self.config, self.args.listen, self.args.port)
        if not self.args.ha_only and not self.args.companion:
            say("starting the Matter server and the virtual MINIR4M (network namespaces)")
            self.rig = RelayRig(
                self.config / ".devstack" / "rig", serial="DEV0001", port=self.args.matter_port
            )
            self.rig.start()
            say(f"Matter server on {self.rig.server.url}")
        say(f"starting Home Assistant on {self.url} (listening on {self.args.listen})")
        log = (self.config / ".devstack").resolve()
        log.mkdir(parents=True, exist_ok=True)
        with (log / "hass.out").open("wb") as out:
            self.hass = subprocess.Popen(
                ["hass", "--config", str(self.config), "--skip-pip"],
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own session: a Ctrl-C is for develop, which stops HA
                # after it; and it ends with develop, even a killed one.
                start_new_session=True,
                preexec_fn=_die_with_parent(os.getpid()),  # noqa: PLW1509 (one thread here)
            )
        api = HomeAssistantAPI(self.url)
        api.wait_until_up()
        onboarded = api.onboard_or_login()
        say("onboarding done" if onboarded else "already onboarded")
        facts: dict[str, object] = {"url": api.base_url, "username": DEV_USERNAME}
        entry: dict[str, Any] | None = None
        if self.rig is not None:
            entry = setup_adaptor(api, self.rig, self.args.lamp)
        elif self.args.companion:
            entry = setup_companion(api, self.args.lamp)
        if entry is not None:
            ids, device_id = dashboard.entity_ids(api, entry)
            names = dashboard.short_names(api, ids)
            if self.args.companion:
                # The relay's own switch is the lamp's control on the dashboard.
                ids["light"] = COMPANION_SWITCH
            dashboard.write(self.config / DASHBOARD_FILE, dashboard.build(ids, names))
            say("adding the lamp and the adaptor to the Energy dashboard's individual devices")
            asyncio.run(energy.save_prefs(api.base_url, str(api.token), ids))
            facts |= {
                "entry_id": entry["entry_id"],
                "device_id": device_id,
                "entities": ids,
                "lamp": self.args.lamp,
                "dashboard": DASHBOARD_PATH,
            }
        took = time.monotonic() - started
        facts["startup_s"] = round(took, 1)
        self.facts = facts
        self._write_facts()
        say(f"ready in {took:.1f} s")
        say(f"  open {self.url}{DASHBOARD_PATH}")
        say(f"  log in as {DEV_USERNAME!r} with the password {DEV_PASSWORD!r}")
        say(f"  HA's log: {self.config / 'home-assistant.log'}; Ctrl-C stops everything")

    def _write_facts(self) -> None:
        """Write the ready file: the facts, and which processes run now."""
        if not self.args.ready_file:
            return
        processes = {"develop": os.getpid(), "hass": self.hass.pid if self.hass else None}
        if self.rig is not None:
            processes |= {
                "matter_server": self.rig.server.pid,
                "proxy": self.rig.server.proxy_pid,
                "relay": self.rig.relay.pid,
            }
        _write_json(self.args.ready_file, self.facts | {"processes": processes})

    def wait(self) -> int:
        """Wait until HA ends (or a signal stops the stack); restart a Matter server that dies."""
        assert self.hass is not None  # noqa: S101
        while True:
            watched = [self.hass.pid]
            if self.rig is not None and (server := self.rig.server.pid) is not None:
                watched.append(server)
            fds = [os.pidfd_open(pid) for pid in watched]
            try:
                select.select(fds, [], [])
            finally:
                for fd in fds:
                    os.close(fd)
            if self.hass.poll() is not None:
                say(f"Home Assistant ended (exit status {self.hass.returncode})")
                return self.hass.returncode
            if self.rig is not None and not self.rig.server.running:
                say("the Matter server stopped; starting it again")
                self.rig.server.restart()
                self._write_facts()  # before saying so: a reader of both sees new pids
                say(f"Matter server back on {self.rig.server.url}")

    def stop(self) -> None:
        """Stop HA, then the relay and the server."""
        if self.hass is not None and self.hass.poll() is None:
            say("stopping Home Assistant")
            self.hass.terminate()
            try:
                self.hass.wait(timeout=60)
            except subprocess.TimeoutExpired:
                say("Home Assistant did not stop in 60 s: killing it")
                self.hass.kill()
                self.hass.wait()
        if self.rig is not None:
            say("stopping the virtual relay and the Matter server")
            self.rig.close()
            self.rig = None


def main(argv: list[str]) -> int:
    """Run the stack until Ctrl-C."""
    args = parse_args(argv)
    stack = Stack(args)
    stopping = False

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        if stopping:
            # A second Ctrl-C: the stop under way is bounded (SIGKILL after
            # a timeout at each step), interrupting it would leave processes.
            os.write(sys.stdout.fileno(), b"[develop] stopping already\n")
            return
        stopping = True
        raise KeyboardInterrupt

    # Also SIGINT: a process started in the background by a shell without job
    # control (a CI runner, `scripts/develop &`) inherits SIGINT ignored, and
    # Ctrl-C or `kill -INT` would then do nothing.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    code = 0
    try:
        stack.start()
        code = stack.wait()
    except KeyboardInterrupt:
        pass
    except RigError as err:
        say(f"the Matter rig failed: {err}")
        code = 1
    finally:
        stopping = True
        stack.stop()
    say("stopped")
    return code


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
