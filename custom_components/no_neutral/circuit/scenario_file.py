"""The command line's scenario: a JSON file, or standard input."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


class ScenarioFileError(Exception):
    """The scenario could not be read or is not JSON; the message names the source."""


def read_scenario(path: str | None) -> Any:
    """
    Return the JSON in `path` ("-" or None: standard input; nothing at all: {}).

    Any JSON value: the simulator's validation says what is wrong with it.
    """
    source = "-" if path is None else path
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as err:
        msg = f"{source}: cannot read: {err.strerror}"
        raise ScenarioFileError(msg) from err
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as err:
        msg = f"{source}: not valid JSON: {err}"
        raise ScenarioFileError(msg) from err
