"""Command line: python -m custom_components.no_neutral.circuit [FILE]."""

from __future__ import annotations

import json
import sys

from . import diagnosis_cli, recommend_cli
from .figures import simulate
from .params import ScenarioError
from .scenario_file import ScenarioFileError, read_scenario

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
        result = simulate(read_scenario(args[0] if args else None))
    except (ScenarioFileError, ScenarioError) as err:
        sys.stderr.write(f"{err}\n")
        return 2
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
