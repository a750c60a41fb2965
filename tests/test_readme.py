"""The README documents every device trigger, every field and response key of the action."""

from __future__ import annotations

from pathlib import Path

import yaml

from custom_components.no_neutral.circuit import DEFAULT_SCENARIO, RESULT_KEYS, simulate
from custom_components.no_neutral.switching import SWITCHING_TYPES
from custom_components.no_neutral.warning_table import CODES

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()
PACKAGE = ROOT / "custom_components" / "no_neutral"


def section(title: str) -> str:
    """Return the README's section under this heading, up to the next heading."""
    start = README.index(f"\n### {title}\n")
    end = README.index("\n#", start + 1)
    return README[start:end]


def test_each_trigger_has_its_row() -> None:
    """One row per code: raised when, cleared when, the editor's text."""
    triggers = section("Device triggers and events")
    for code in CODES:
        rows = [line for line in triggers.splitlines() if line.startswith(f"| `{code}` |")]
        assert len(rows) == 1, code
        cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
        assert len(cells) == 4, code
        assert all(cells), code


def test_every_field_of_the_action_has_its_row() -> None:
    action = section("The `no_neutral.simulate` action")
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text())
    for field in services["simulate"]["fields"]:
        assert f"| `{field}` |" in action, field
    # Each scenario section, and the response's keys with every figure.
    for scenario_section in DEFAULT_SCENARIO:
        assert f"`{scenario_section}`" in action, scenario_section
    for key in ("scenario", "figures", *RESULT_KEYS):
        assert f"`{key}`" in action, key
    assert "(docs/model.md#scenario)" in action
    assert "(docs/model.md#figures)" in action


def test_the_repository_documents_its_own_model() -> None:
    """
    No file points at the team's internal model contract: users only have this repository.

    The model is documented in docs/model.md; a pointer elsewhere would be a dead
    link for every reader.
    """
    internal = "CIRCUIT" + ".md"
    texts = (".py", ".md", ".json", ".yaml", ".yml", ".toml", ".mjs", ".txt", ".cfg")
    skipped = {".git", "node_modules", "__pycache__", ".venv", "build"}

    # Walked by hand: rglob would descend into node_modules (150 MB) first.
    def files(folder: Path) -> list[Path]:
        found = []
        for path in folder.iterdir():
            if path.is_dir() and path.name not in skipped:
                found += files(path)
            elif path.is_file():
                found.append(path)
        return found

    offenders = [
        str(path.relative_to(ROOT))
        for path in files(ROOT)
        if path.is_file()
        and path.suffix in texts
        and not skipped.intersection(path.relative_to(ROOT).parts)
        and internal in path.read_text(errors="replace")
    ]
    assert offenders == []


def test_standby_cost_is_the_default_adaptors() -> None:
    """The standby figures in the README are the default scenario's, as simulated now."""
    figures = simulate({})
    standby_w = figures["off_source_power_w"]
    kwh_a_year = standby_w * 365.25 * 24 / 1000
    energy = section("Energy")
    assert f"draw {standby_w:.2f} W with the lamp off" in energy
    assert f"{kwh_a_year:.1f} kWh a year" in energy
    assert f"{kwh_a_year * 0.30:.2f} a year at an assumed\nprice of 0.30 per kWh" in energy
    on_losses_w = figures["source_power_w"] - figures["lamp_power_w"]
    assert f"take {on_losses_w:.2f} W more than the lamp's" in energy


def test_each_switching_event_type_has_its_row() -> None:
    triggers = section("Device triggers and events")
    for event_type in SWITCHING_TYPES:
        assert any(line.startswith(f"| `{event_type}` |") for line in triggers.splitlines())
