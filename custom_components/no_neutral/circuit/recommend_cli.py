"""Command line: python -m custom_components.no_neutral.circuit recommend [options]."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from .params import ScenarioError
from .recommend import Demands, recommend

# Each option sets one scenario key; an error on that key names the option.
_OPTIONS: dict[str, tuple[str, str, type]] = {
    "lamp_type": ("--lamp-type", "lamp.type", str),
    "lamp_count": ("--lamp-count", "lamp.count", int),
    "lamp_power": ("--lamp-power", "lamp.power_w", float),
    "lamp_voltage": ("--lamp-voltage", "lamp.rated_voltage_v", float),
    "mains_voltage": ("--mains-voltage", "mains.voltage_rms", float),
    "mains_frequency": ("--mains-frequency", "mains.frequency_hz", float),
}
_SCENARIO = "--scenario"
_DEMANDS = {"ambient_c": "--ambient", "life_years": "--life-years"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m custom_components.no_neutral.circuit recommend",
        description="Recommend the capacitor, fusible resistor and bleed resistor to buy.",
    )
    parser.add_argument(
        _SCENARIO, metavar="FILE", help="a scenario (JSON) to start from; options override it"
    )
    for dest, (flag, key, kind) in _OPTIONS.items():
        parser.add_argument(flag, dest=dest, type=kind, help=f"sets {key}")
    parser.add_argument("--ambient", dest="ambient_c", type=float, default=40.0, help="degC")
    parser.add_argument("--life-years", dest="life_years", type=float, default=10.0)
    parser.add_argument(
        "--jobs", type=int, default=1, help="simulate in this many processes (default 1)"
    )
    return parser


def _base(args: argparse.Namespace) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if args.scenario:
        loaded = json.loads(Path(args.scenario).read_text())
        if not isinstance(loaded, dict):
            reason = "the scenario must be an object"
            raise ScenarioError(_SCENARIO, reason)
        base = loaded
    for dest, (_, key, _) in _OPTIONS.items():
        value = getattr(args, dest)
        if value is not None:
            section, name = key.split(".")
            group = base.setdefault(section, {})
            if not isinstance(group, dict):
                reason = "must be an object"
                raise ScenarioError(section, reason)
            group[name] = value
    return base


def _field(key: str) -> str:
    """Return the option that set a scenario key, or the key itself."""
    for flag, option_key, _ in _OPTIONS.values():
        if option_key == key:
            return f"{flag} ({key})"
    return _DEMANDS.get(key, key)


def main(argv: list[str]) -> int:
    """Print the recommendation as JSON; exit status 2 on bad input, naming the field."""
    args = _parser().parse_args(argv)
    if args.jobs < 1:
        sys.stderr.write("--jobs: must be at least 1\n")
        return 2
    try:
        base = _base(args)
        demands = Demands(ambient_c=args.ambient_c, life_years=args.life_years)
        if args.jobs == 1:
            result = recommend(base, demands=demands)
        else:
            with ProcessPoolExecutor(args.jobs) as pool:

                def spread(
                    fn: Callable[[Mapping[str, Any]], dict[str, Any]],
                    scenarios: Iterable[Mapping[str, Any]],
                ) -> Iterator[dict[str, Any]]:
                    return pool.map(fn, scenarios, chunksize=8)

                result = recommend(base, demands=demands, map_fn=spread)
    except OSError as err:
        sys.stderr.write(f"--scenario: cannot read: {err.strerror}\n")
        return 2
    except json.JSONDecodeError as err:
        sys.stderr.write(f"--scenario: not valid JSON: {err}\n")
        return 2
    except ScenarioError as err:
        sys.stderr.write(f"{_field(err.key)}: {err.reason}\n")
        return 2
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0
