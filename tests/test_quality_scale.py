"""
quality_scale.yaml's claims, held against the code.

Every rule that the file marks done and that can be read off the code has a
check here: hassfest's own where it has one (runtime data, typed entry,
unique entry, parallel updates, data descriptions), the nearest cheap one
otherwise. A rule not marked done is skipped, so marking one done puts it
under its check. Each check is also shown to report a deliberately broken
copy of the package (or of a module's names), so none of them passes by
reading nothing.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from homeassistant.const import Platform
from homeassistant.helpers.entity import Entity
from homeassistant.util.yaml import load_yaml_dict

PACKAGE = Path(__file__).parent.parent / "custom_components" / "no_neutral"
MODULE = "custom_components.no_neutral"

type Check = Callable[[Path], list[str]]


def _strings(package: Path) -> dict[str, Any]:
    strings: dict[str, Any] = json.loads((package / "strings.json").read_text())
    return strings


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _platforms(package: Path) -> list[str]:
    """Return the entity platforms the package has a module for."""
    return [platform.value for platform in Platform if (package / f"{platform}.py").exists()]


def _top_async_function(module: ast.Module, name: str) -> ast.AsyncFunctionDef | None:
    for node in module.body:
        if isinstance(node, ast.AsyncFunctionDef) and node.name == name:
            return node
    return None


# --- config-flow: every field of every step is described (hassfest's data_description check)


def check_config_flow(package: Path) -> list[str]:
    problems = []
    manifest = json.loads((package / "manifest.json").read_text())
    if manifest.get("config_flow") is not True:
        problems.append("manifest.json: config_flow is not true")
    strings = _strings(package)
    for flow in ("config", "options"):
        for step_id, step in strings.get(flow, {}).get("step", {}).items():
            # The step's own fields, and each section's.
            groups = {f"{flow}.step.{step_id}": step} | {
                f"{flow}.step.{step_id}.sections.{name}": group
                for name, group in step.get("sections", {}).items()
            }
            for where, group in groups.items():
                described = group.get("data_description", {})
                problems += [
                    f"{where}: no data_description for {key}"
                    for key in group.get("data", {})
                    if key not in described
                ]
    return problems


# --- runtime-data: async_setup_entry sets entry.runtime_data (hassfest's runtime_data check)


def check_runtime_data(package: Path) -> list[str]:
    setup = _top_async_function(_parse(package / "__init__.py"), "async_setup_entry")
    if setup is None or len(setup.args.args) != 2:
        return ["__init__.py: no top-level async_setup_entry(hass, entry)"]
    entry = setup.args.args[1].arg
    if any(
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == entry
        and node.attr == "runtime_data"
        and isinstance(node.ctx, ast.Store)
        for node in ast.walk(setup)
    ):
        return []
    return [f"__init__.py: async_setup_entry does not set {entry}.runtime_data"]


# --- strict-typing: the typed entry where Home Assistant hands one over (hassfest's list)

TYPED_ENTRY = re.compile(r"^[A-Za-z]+ConfigEntry$")
ENTRY_FUNCTIONS: dict[str, dict[str, int]] = {
    "__init__": {
        "async_migrate_entry": 2,
        "async_remove_config_entry_device": 2,
        "async_remove_entry": 2,
        "async_setup_entry": 2,
        "async_unload_entry": 2,
    },
    "diagnostics": {"async_get_config_entry_diagnostics": 2, "async_get_device_diagnostics": 2},
    **{platform.value: {"async_setup_entry": 2} for platform in Platform},
}


def _untyped_entry(function: ast.FunctionDef | ast.AsyncFunctionDef, position: int) -> bool:
    if len(function.args.args) < position:
        return True
    annotation = function.args.args[position - 1].annotation
    return not (isinstance(annotation, ast.Name) and TYPED_ENTRY.match(annotation.id))


def check_strict_typing(package: Path) -> list[str]:
    problems = []
    for name, functions in ENTRY_FUNCTIONS.items():
        path = package / f"{name}.py"
        if not path.exists():
            continue
        module = _parse(path)
        for function_name, position in functions.items():
            function = _top_async_function(module, function_name)
            if function is not None and _untyped_entry(function, position):
                problems.append(f"{path.name}: {function_name} does not use a typed ConfigEntry")
    for node in _parse(package / "config_flow.py").body:
        if isinstance(node, ast.ClassDef):
            problems += [
                f"config_flow.py: {node.name}.{function.name} does not use a typed ConfigEntry"
                for function in node.body
                if isinstance(function, ast.FunctionDef)
                and function.name == "async_get_options_flow"
                and _untyped_entry(function, 1)
            ]
    return problems


# --- unique-config-entry: the flow aborts on an entry that exists (hassfest's check)


def check_unique_config_entry(package: Path) -> list[str]:
    if json.loads((package / "manifest.json").read_text()).get("single_config_entry"):
        return []
    called = {
        node.func.attr
        for node in ast.walk(_parse(package / "config_flow.py"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    if {"_abort_if_unique_id_configured", "_async_abort_entries_match"} & called:
        return []
    return ["config_flow.py: never aborts on an entry that is configured already"]


# --- parallel-updates: every entity platform sets PARALLEL_UPDATES (hassfest's check)


def check_parallel_updates(package: Path) -> list[str]:
    problems = []
    for platform in _platforms(package):
        module = _parse(package / f"{platform}.py")
        if not any(
            isinstance(node, (ast.Assign, ast.AnnAssign))
            and any(
                isinstance(target, ast.Name) and target.id == "PARALLEL_UPDATES"
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            for node in module.body
        ):
            problems.append(f"{platform}.py: no PARALLEL_UPDATES")
    return problems


# --- has-entity-name, entity-translations, icon-translations: read off the loaded classes


def _modules(package: Path) -> dict[str, ModuleType]:
    return {
        platform: importlib.import_module(f"{MODULE}.{platform}")
        for platform in _platforms(package)
    }


def _entity_classes(module: ModuleType) -> list[type[Entity]]:
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Entity) and cls.__module__ == module.__name__
    ]


def _is_description(value: object) -> bool:
    # By name: a description of a platform whose class is not frozen is made
    # of a twin class (homeassistant.util.frozen_dataclass_compat), which
    # isinstance does not relate to helpers.entity's EntityDescription.
    return any(cls.__name__ == "EntityDescription" for cls in type(value).__mro__)


def _descriptions(value: object) -> Iterator[Any]:
    """Return the entity descriptions a module-level name holds, alone or in a tuple or list."""
    if _is_description(value):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _descriptions(item)


def _module_descriptions(module: ModuleType) -> list[Any]:
    return [
        description
        for name, value in vars(module).items()
        if name.isupper()
        for description in _descriptions(value)
    ]


def _class_default(cls: type[Entity], attribute: str) -> Any:
    """
    Return the class-level value of an `_attr_` attribute, None when no class sets it.

    Entity's metaclass turns each `_attr_` name into a property and keeps the
    class's value under `__attr_...`; the nearest class in the MRO wins.
    """
    for klass in cls.__mro__:
        names = vars(klass)
        if f"_{attribute}" in names:
            return names[f"_{attribute}"]
        if attribute in names and not isinstance(names[attribute], property):
            return names[attribute]
    return None


def check_has_entity_name(package: Path) -> list[str]:
    return [
        f"{platform}.py: {cls.__name__} does not set has_entity_name"
        for platform, module in _modules(package).items()
        for cls in _entity_classes(module)
        if _class_default(cls, "_attr_has_entity_name") is not True
    ]


def check_entity_translations(package: Path) -> list[str]:
    """Every name comes from strings.json; an entity without a key is the device's main feature."""
    entity_strings = _strings(package).get("entity", {})
    problems = []
    for platform, module in _modules(package).items():
        for description in _module_descriptions(module):
            key = description.translation_key
            if key is None or "name" not in entity_strings.get(platform, {}).get(key, {}):
                problems.append(f"{platform}.py: {description.key} has no translated name")
            if isinstance(description.name, str):
                problems.append(f"{platform}.py: {description.key} names itself in English")
        problems += [
            f"{platform}.py: {cls.__name__} names itself in English"
            for cls in _entity_classes(module)
            if isinstance(_class_default(cls, "_attr_name"), str)
        ]
    return problems


def check_icon_translations(package: Path) -> list[str]:
    """Icons come from icons.json, keyed by translation keys that exist; no hard-coded icon."""
    icons = json.loads((package / "icons.json").read_text()).get("entity", {})
    entity_strings = _strings(package).get("entity", {})
    problems = [
        f"icons.json: entity.{platform}.{key} is no entity's translation key"
        for platform, keys in icons.items()
        for key in keys
        if key not in entity_strings.get(platform, {})
    ]
    for platform, module in _modules(package).items():
        problems += [
            f"{platform}.py: {description.key} hard-codes its icon"
            for description in _module_descriptions(module)
            if description.icon is not None
        ]
        problems += [
            f"{platform}.py: {cls.__name__} hard-codes its icon"
            for cls in _entity_classes(module)
            if _class_default(cls, "_attr_icon") is not None
        ]
    return problems


CHECKS: dict[str, Check] = {
    "config-flow": check_config_flow,
    "runtime-data": check_runtime_data,
    "strict-typing": check_strict_typing,
    "unique-config-entry": check_unique_config_entry,
    "parallel-updates": check_parallel_updates,
    "has-entity-name": check_has_entity_name,
    "entity-translations": check_entity_translations,
    "icon-translations": check_icon_translations,
}


def _status(rule: str) -> str:
    value = load_yaml_dict(PACKAGE / "quality_scale.yaml")["rules"][rule]
    return str(value if isinstance(value, str) else value["status"])


@pytest.mark.parametrize("rule", CHECKS)
def test_rule_marked_done_holds(rule: str) -> None:
    if _status(rule) != "done":
        pytest.skip(f"{rule} is not marked done")
    assert CHECKS[rule](PACKAGE) == []


def test_the_rules_checked_are_marked_done() -> None:
    """The checks above are not all skipped: every rule they check is claimed today."""
    assert {rule: _status(rule) for rule in CHECKS} == dict.fromkeys(CHECKS, "done")


# --- each check reports a broken copy


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}"
    path.write_text(text.replace(old, new, 1))


def _drop_description(
    package: Path, flow: str, step: str, key: str, section: str | None = None
) -> None:
    strings = _strings(package)
    group = strings[flow]["step"][step]
    if section is not None:
        group = group["sections"][section]
    del group["data_description"][key]
    (package / "strings.json").write_text(json.dumps(strings))


BROKEN_COPIES: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "config-flow",
        lambda p: _drop_description(p, "config", "node", "node"),
        "config.step.node: no data_description for node",
    ),
    (
        "config-flow",
        lambda p: _drop_description(p, "options", "settings", "fuse_power_rating_w", "bypass"),
        "options.step.settings.sections.bypass: no data_description for fuse_power_rating_w",
    ),
    (
        "runtime-data",
        lambda p: _replace(p / "__init__.py", "entry.runtime_data = ", "runtime_data = "),
        "__init__.py: async_setup_entry does not set entry.runtime_data",
    ),
    (
        "strict-typing",
        lambda p: _replace(
            p / "config_flow.py",
            "async_get_options_flow(config_entry: NoNeutralConfigEntry)",
            "async_get_options_flow(config_entry: ConfigEntry)",
        ),
        (
            "config_flow.py: NoNeutralConfigFlow.async_get_options_flow"
            " does not use a typed ConfigEntry"
        ),
    ),
    (
        "strict-typing",
        lambda p: _replace(p / "light.py", "entry: NoNeutralConfigEntry,", "entry: ConfigEntry,"),
        "light.py: async_setup_entry does not use a typed ConfigEntry",
    ),
    (
        "unique-config-entry",
        # Every call (the user flow's and discovery's): renamed, so none aborts.
        lambda p: (p / "config_flow.py").write_text(
            (p / "config_flow.py")
            .read_text()
            .replace("self._abort_if_unique_id_configured(", "self._no_abort(")
        ),
        "config_flow.py: never aborts on an entry that is configured already",
    ),
    (
        "parallel-updates",
        lambda p: _replace(p / "sensor.py", "PARALLEL_UPDATES = 0", "UPDATES = 0"),
        "sensor.py: no PARALLEL_UPDATES",
    ),
]


@pytest.mark.parametrize(
    ("rule", "breakage", "expected"),
    BROKEN_COPIES,
    ids=[f"{rule}-{index}" for index, (rule, _, _) in enumerate(BROKEN_COPIES)],
)
def test_check_reports_a_broken_copy(
    tmp_path: Path, rule: str, breakage: Callable[[Path], None], expected: str
) -> None:
    copy = tmp_path / "no_neutral"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "circuit"))
    breakage(copy)
    assert CHECKS[rule](copy) == [expected]


def test_entity_checks_report_broken_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loaded-class checks, against the modules with one name broken each."""
    sensor = importlib.import_module(f"{MODULE}.sensor")
    image = importlib.import_module(f"{MODULE}.image")
    light = importlib.import_module(f"{MODULE}.light")

    # Where Entity's metaclass keeps a class's `_attr_has_entity_name`.
    monkeypatch.setattr(light.NoNeutralLight, "__attr_has_entity_name", False, raising=False)
    assert check_has_entity_name(PACKAGE) == [
        "light.py: NoNeutralLight does not set has_entity_name"
    ]
    monkeypatch.undo()

    monkeypatch.setattr(
        image, "WAVEFORMS", dataclasses.replace(image.WAVEFORMS, translation_key="nowhere")
    )
    assert check_entity_translations(PACKAGE) == ["image.py: waveforms has no translated name"]
    monkeypatch.undo()

    first, *rest = sensor.SENSORS
    monkeypatch.setattr(sensor, "SENSORS", (dataclasses.replace(first, icon="mdi:flash"), *rest))
    assert check_icon_translations(PACKAGE) == [f"sensor.py: {first.key} hard-codes its icon"]
