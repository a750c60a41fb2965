"""Command line: python -m custom_components.no_neutral.circuit [FILE]."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import diagnosis_cli, recommend_cli
from .figures import simulate
from .params import ScenarioError

# The first argument naming one of these runs it with the rest.
COMMANDS = {"diagnose": diagnosis_cli.main, "recommend": recommend_cli.main}


def main(argv: list[str] | None = None) -> int:
    """Read a scenario (FILE, or standard input for '-' or none), print the figures."""
    args = sys.argv[1:] if argv is None else argv
    if args and (command := COMMANDS.get(args[0])) is not None:
        return command(args[1:])
    if len(args) > 1:
        sys.stderr.write("usage: python -m custom_components.no_neutral.circuit [FILE]\n")
        return 2
    try:
        text = sys.stdin.read() if not args or args[0] == "-" else Path(args[0]).read_text()
    except OSError as err:
        sys.stderr.write(f"{args[0]}: cannot read: {err.strerror}\n")
        return 2
    try:
        scenario = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as err:
        sys.stderr.write(f": not valid JSON: {err}\n")
        return 2
    try:
        result = simulate(scenario)
    except ScenarioError as err:
        sys.stderr.write(f"{err}\n")
        return 2
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
