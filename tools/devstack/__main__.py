"""
scripts/develop: the whole integration running, as a user would have it.

Starts a real python-matter-server and a matter.js virtual MINIR4M in network
namespaces of their own (tools/rig), then Home Assistant with this integration
from the working tree; completes HA's onboarding through its own API, adds the
adaptor through the integration's config flow (commissioning the relay the
first time), writes the adaptor's dashboard, and waits. Ctrl-C stops it all.
Everything lives in the config folder, so the next start finds the same relay,
the same entry and the same history.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from tools.devstack import dashboard, flows
from tools.devstack.ha_api import DEV_PASSWORD, DEV_USERNAME, HomeAssistantAPI
from tools.devstack.presets import PRESETS
from tools.rig.relay_rig import RelayRig

PROJECT_DIR = Path(__file__).resolve().parents[2]
DOMAIN = "no_neutral"
DASHBOARD_FILE = "dashboards/no_neutral.yaml"
DASHBOARD_PATH = "/no-neutral/adaptor"


def say(message: str) -> None:
    """Tell the person at the keyboard what is happening."""
    print(f"[develop] {message}", flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="scripts/develop", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8123, help="HA's HTTP port (8123)")
    parser.add_argument(
        "--config", type=Path, default=PROJECT_DIR / "config", help="HA's config folder"
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
    parser.add_argument("--ready-file", type=Path, help="write the stack's facts here when ready")
    parser.add_argument(
        "--ha-only", action="store_true", help="only Home Assistant: no Matter server, no relay"
    )
    return parser.parse_args(argv)


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


def setup_adaptor(api: HomeAssistantAPI, rig: RelayRig, lamp: str) -> dict[str, object]:
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

    def start(self) -> None:
        """Start the relay rig and HA, then set HA up."""
        started = time.monotonic()
        prepare_config(self.config)
        if not self.args.ha_only:
            say("starting the Matter server and the virtual MINIR4M (network namespaces)")
            self.rig = RelayRig(
                self.config / ".devstack" / "rig", serial="DEV0001", port=self.args.matter_port
            )
            self.rig.start()
            say(f"Matter server on {self.rig.server.url}")
        say(f"starting Home Assistant on http://127.0.0.1:{self.args.port}")
        log = (self.config / ".devstack").resolve()
        log.mkdir(parents=True, exist_ok=True)
        with (log / "hass.out").open("wb") as out:
            self.hass = subprocess.Popen(
                ["hass", "--config", str(self.config), "--skip-pip"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # HA 2026.10 keeps its HTTP settings in storage, confirmed in
                # the UI; SETUP_PORT sets the default port without YAML.
                env=os.environ | {"SETUP_PORT": str(self.args.port)},
            )
        api = HomeAssistantAPI(f"http://127.0.0.1:{self.args.port}")
        api.wait_until_up()
        onboarded = api.onboard_or_login()
        say("onboarding done" if onboarded else "already onboarded")
        facts: dict[str, object] = {"url": api.base_url, "username": DEV_USERNAME}
        if self.rig is not None:
            entry = setup_adaptor(api, self.rig, self.args.lamp)
            ids, device_id = dashboard.entity_ids(api, entry)
            names = dashboard.short_names(api, ids)
            dashboard.write(self.config / DASHBOARD_FILE, dashboard.build(ids, names))
            facts |= {
                "entry_id": entry["entry_id"],
                "device_id": device_id,
                "entities": ids,
                "lamp": self.args.lamp,
                "dashboard": DASHBOARD_PATH,
            }
        took = time.monotonic() - started
        facts["startup_s"] = round(took, 1)
        say(f"ready in {took:.1f} s")
        say(f"  open http://127.0.0.1:{self.args.port}{DASHBOARD_PATH}")
        say(f"  log in as {DEV_USERNAME!r} with the password {DEV_PASSWORD!r}")
        say(f"  HA's log: {self.config / 'home-assistant.log'}; Ctrl-C stops everything")
        if self.args.ready_file:
            self.args.ready_file.write_text(json.dumps(facts, indent=2))

    def wait(self) -> int:
        """Wait until HA ends (or a signal stops the stack)."""
        assert self.hass is not None  # noqa: S101
        return self.hass.wait()

    def stop(self) -> None:
        """Stop HA, then the relay and the server."""
        if self.hass is not None and self.hass.poll() is None:
            say("stopping Home Assistant")
            self.hass.terminate()
            try:
                self.hass.wait(timeout=60)
            except subprocess.TimeoutExpired:
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

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # Also SIGINT: a process started in the background by a shell without job
    # control (a CI runner, `scripts/develop &`) inherits SIGINT ignored, and
    # Ctrl-C or `kill -INT` would then do nothing.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        code = stack.wait()
    except KeyboardInterrupt:
        code = 0
    finally:
        stack.stop()
    say("stopped")
    return code


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main(sys.argv[1:]))
