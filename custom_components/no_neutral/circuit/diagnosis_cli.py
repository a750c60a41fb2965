"""Command line: python -m custom_components.no_neutral.circuit diagnose --symptom CODE [FILE]."""

from __future__ import annotations

import argparse
import json
import sys

from .diagnosis import DEFAULT_AMBIENT_C, SYMPTOMS, DiagnosisError, diagnose
from .params import ScenarioError
from .scenario_file import ScenarioFileError, read_scenario

PROG = "python -m custom_components.no_neutral.circuit diagnose"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Rank the single faults of the adaptor that reproduce the symptoms "
            "(docs/fault-finder.md). The scenario (the adaptor as built) is read "
            "from FILE, or standard input for '-' or none."
        ),
    )
    parser.add_argument(
        "--symptom",
        action="append",
        required=True,
        choices=SYMPTOMS,
        metavar="CODE",
        help=f"a symptom seen (repeat for several): {', '.join(SYMPTOMS)}",
    )
    parser.add_argument(
        "--ambient-c", type=float, default=DEFAULT_AMBIENT_C, help="ambient temperature, °C"
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE")
    return parser


def main(argv: list[str]) -> int:
    """Print the diagnosis as JSON; exit status 2 with the field named on bad input."""
    # argparse names the option and exits with status 2 on a bad one.
    args = _parser().parse_args(argv)
    try:
        answer = diagnose(read_scenario(args.file), args.symptom, ambient_c=args.ambient_c)
    except (ScenarioFileError, ScenarioError, DiagnosisError) as err:
        sys.stderr.write(f"{err}\n")
        return 2
    sys.stdout.write(json.dumps(answer, indent=2) + "\n")
    return 0
