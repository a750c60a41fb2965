"""
Home Assistant's translation rules (hassfest), checked for every strings file.

The hassfest action, run on a custom integration, refuses it when strings.json
or translations/en.json breaks its translation schema (issue 17: literal JSON
braces read as a placeholder). These tests hold strings.json and every file in
translations/ to the same rules, written out here, so that a new string or a
new language cannot break them again:

- top level: only the sections hassfest knows; inside each section only the
  keys its schema allows, with its required ones (a step's flow, an issue's
  title, a service's name and description, ...);
- key names: slugs where hassfest wants slugs, translation keys (lower case,
  digits, single - or _ inside) where it wants those;
- every translated value: a string, not empty (the issue's rule), no HTML, no
  leading or trailing white space, no URL, placeholders that are identifiers,
  none inside single quotes, none at all where hassfest allows none (entity
  states, state attribute names, units), and a `[%key:...%]` reference only as
  the whole string;
- a flow step's data_description keys are keys of its data; an issue has a
  description or a fix flow, not both;
- across files: every translation has the placeholders of strings.json for
  the same key and no key strings.json lacks; a reference in strings.json
  resolves, one level deep; none in translations/ (Home Assistant shows a
  custom integration's translations as written, references unresolved);
- against services.yaml: every action and field translated, no translated
  action or field it lacks, a select's translation_key in `selector`.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import slugify
from homeassistant.util.yaml import load_yaml_dict

PACKAGE = Path(__file__).parent.parent / "custom_components" / "no_neutral"
STRINGS = PACKAGE / "strings.json"
TRANSLATIONS = sorted((PACKAGE / "translations").glob("*.json"))
FILES = [STRINGS, *TRANSLATIONS]

# Key rules: each returns why a key is refused, or None.
KeyRule = Callable[[str], str | None]


def any_key(_key: str) -> str | None:
    """Hassfest takes any string here (flow steps, errors, issue ids)."""
    return None


def slug(key: str) -> str | None:
    """A slug: what Home Assistant's slugify leaves unchanged."""
    return None if key and slugify(key) == key else "is not a slug (a-z, 0-9, single _ inside)"


def slug_or_blank(key: str) -> str | None:
    """A slug, or `_` (the entity component's and selector's default entry)."""
    return None if key == "_" else slug(key)


def underscore_slug(key: str) -> str | None:
    """A slug that may start with one underscore."""
    return slug(key.removeprefix("_")) if key.startswith("_") else slug(key)


TRANSLATION_KEY = re.compile(r"[a-z0-9]+(?:[-_][a-z0-9]+)*")


def translation_key(key: str) -> str | None:
    """Lower case letters and digits, - or _ only between them, never two in a row."""
    if TRANSLATION_KEY.fullmatch(key):
        return None
    return "is not a translation key ([a-z0-9-_], no leading, trailing or double - or _)"


# Value kinds.
TEXT = "text"  # every value rule
NO_PLACEHOLDERS = "text without placeholders"
NAME = "name"  # hassfest asks only for a string (a service field's or attribute's name)

HTML = re.compile(r"<[a-z][^>\n]*>", re.IGNORECASE)
QUOTED_PLACEHOLDER = re.compile(r"'\{\w+\}'")
# What hassfest counts as a URL: a scheme it knows (or www.), then a host name
# with a top-level domain.
URL = re.compile(
    r"(?:(?:ftps?|scp|https?|mqtts?|socket|socks5)://|www\.)"
    r"[a-z0-9]+(?:[-.][a-z0-9]+)*\.[a-z]{2,5}",
    re.IGNORECASE,
)
REFERENCE = re.compile(r"\[%key:([^%]+)%\]")


def placeholders(text: str) -> set[str]:
    """Return the {names} of a string as str.format reads them; ValueError if malformed."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def value_problems(kind: str, value: object) -> Iterator[str]:
    """Say what breaks a value rule."""
    if not isinstance(value, str):
        yield f"must be a string, not {type(value).__name__}"
    elif not value.strip():
        yield "is empty"
    elif kind != NAME:
        yield from text_problems(value)
        yield from placeholder_problems(value, allowed=kind == TEXT)


def text_problems(value: str) -> Iterator[str]:
    """The rules on a translated text besides its placeholders."""
    if HTML.search(value):
        yield "contains HTML"
    if value != value.strip():
        yield "has leading or trailing white space"
    if URL.search(value):
        yield "contains a URL (use a placeholder)"
    if ("[%" in value or "%]" in value) and REFERENCE.fullmatch(value) is None:
        yield "combines a [%key:...%] reference with other text"


def placeholder_problems(value: str, *, allowed: bool) -> Iterator[str]:
    """Placeholders: identifiers, not in single quotes, only where allowed."""
    if QUOTED_PLACEHOLDER.search(value):
        yield "has a placeholder inside single quotes"
    try:
        names = placeholders(value)
    except ValueError as err:
        yield f"is not a valid format string ({err}): write braces as placeholders only"
        return
    if names and not allowed:
        yield f"may not hold placeholders here: {sorted(names)}"
    for name in sorted(names):
        if not name.isidentifier():
            yield f"placeholder {{{name}}} is not an identifier ([a-zA-Z_][a-zA-Z0-9_]*)"


# Shapes of the strings file.
Problems = Iterator[str]


@dataclass(frozen=True, kw_only=True)
class Fixed:
    """An object with these keys only; `required` ones must be there."""

    keys: Mapping[str, Shape]
    required: frozenset[str] = frozenset()
    # Extra rules on the whole object: (object, path) -> problems.
    rules: tuple[Callable[[Mapping[str, Any], str], Problems], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Keyed:
    """An object whose keys follow `key`, every value of one shape."""

    key: KeyRule
    value: Shape


@dataclass(frozen=True, kw_only=True)
class AnyOf:
    """Whichever of these shapes fits (the first one's problems if none)."""

    shapes: tuple[Shape, ...]


@dataclass(frozen=True, kw_only=True)
class Tree:
    """Nested objects to any depth, text at the leaves (the config panel)."""

    key: KeyRule


type Shape = str | Fixed | Keyed | AnyOf | Tree


def check(shape: Shape, value: object, path: str) -> Problems:
    """Yield 'path: problem' for everything in value that breaks shape."""
    if isinstance(shape, str):
        yield from (f"{path}: {problem}" for problem in value_problems(shape, value))
    elif isinstance(shape, AnyOf):
        found = [list(check(option, value, path)) for option in shape.shapes]
        if all(found):
            yield from found[0]
    elif not isinstance(value, Mapping):
        yield f"{path}: must be an object, not {type(value).__name__}"
    elif isinstance(shape, Fixed):
        yield from check_fixed(shape, value, path)
    else:
        for key, item in value.items():
            if (why := shape.key(key)) is not None:
                yield f"{path}.{key}: key {why}"
            if isinstance(shape, Keyed):
                yield from check(shape.value, item, f"{path}.{key}")
            else:
                yield from check(
                    shape if isinstance(item, Mapping) else TEXT, item, f"{path}.{key}"
                )


def check_fixed(shape: Fixed, value: Mapping[str, Any], path: str) -> Problems:
    """An object with a fixed set of keys."""
    for key in sorted(shape.required - set(value)):
        yield f"{path}: {key} is required"
    for key, item in value.items():
        if key in shape.keys:
            yield from check(shape.keys[key], item, f"{path}.{key}")
        else:
            yield f"{path}.{key}: not allowed here (allowed: {', '.join(sorted(shape.keys))})"
    for rule in shape.rules:
        yield from rule(value, path)


def texts(key: KeyRule = any_key, kind: str = TEXT) -> Keyed:
    """An object of translated strings."""
    return Keyed(key=key, value=kind)


def described_in_data(step: Mapping[str, Any], path: str) -> Problems:
    """A step's data_description only describes fields of its data."""
    data = step.get("data", {})
    for key in step.get("data_description", {}):
        if not isinstance(data, Mapping) or key not in data:
            yield f"{path}.data_description.{key}: not a key of {path}.data"


def flow(*, subentry: bool = False) -> Fixed:
    """A data entry flow: config, options, a subentry's or a repair's fix flow."""
    section = Fixed(
        keys={"data": texts(), "data_description": texts(), "description": TEXT, "name": TEXT}
    )
    step = Fixed(
        keys={
            "title": TEXT,
            "description": TEXT,
            "data": texts(),
            "data_description": texts(),
            "menu_options": texts(),
            "menu_option_descriptions": texts(),
            "submit": TEXT,
            "sections": Keyed(key=any_key, value=section),
        },
        rules=(described_in_data,),
    )
    keys: dict[str, Shape] = {
        "flow_title": TEXT,
        "step": Keyed(key=any_key, value=step),
        "error": texts(),
        "abort": texts(),
        "progress": texts(),
        "create_entry": texts(),
        "initiate_flow": Fixed(keys={"user": TEXT}, required=frozenset({"user"})),
    }
    required = {"step"}
    if subentry:
        keys["entry_type"] = TEXT
        keys["initiate_flow"] = Keyed(key=any_key, value=TEXT)
        required |= {"entry_type", "initiate_flow"}
    return Fixed(keys=keys, required=frozenset(required))


def description_or_fix_flow(issue: Mapping[str, Any], path: str) -> Problems:
    """An issue is either explained (description) or fixable (fix_flow)."""
    given = {"description", "fix_flow"} & set(issue)
    if len(given) != 1:
        yield f"{path}: needs exactly one of description and fix_flow, has {sorted(given)}"


def with_fields(*, sections: bool = False) -> Fixed:
    """An action (service), condition or trigger: name, description, fields."""
    a_field = Fixed(
        keys={"name": NAME, "description": TEXT, "example": TEXT},
        required=frozenset({"name", "description"}),
    )
    keys: dict[str, Shape] = {
        "name": TEXT,
        "description": TEXT,
        "fields": Keyed(key=translation_key, value=a_field),
    }
    if sections:
        keys["sections"] = Keyed(
            key=translation_key,
            value=Fixed(keys={"name": NAME, "description": TEXT}, required=frozenset({"name"})),
        )
    return Fixed(keys=keys, required=frozenset({"name", "description"}))


STATES = texts(translation_key, NO_PLACEHOLDERS)
ENTITY = Fixed(
    keys={
        "name": TEXT,
        "state": STATES,
        "state_attributes": Keyed(
            key=translation_key,
            value=Fixed(keys={"name": NO_PLACEHOLDERS, "state": STATES}),
        ),
        "unit_of_measurement": NO_PLACEHOLDERS,
    }
)
ENTITY_COMPONENT = Fixed(
    keys={
        "name": NAME,
        "state": STATES,
        "state_attributes": Keyed(
            key=translation_key, value=Fixed(keys={"name": NAME, "state": STATES})
        ),
    }
)
SELECTOR = Fixed(
    keys={
        "choices": texts(translation_key),
        "options": texts(translation_key),
        "unit_of_measurement": texts(translation_key),
        "fields": AnyOf(
            shapes=(
                Keyed(
                    key=translation_key,
                    value=Fixed(
                        keys={"name": NAME, "description": TEXT},
                        required=frozenset({"name", "description"}),
                    ),
                ),
                texts(slug, NAME),
            )
        ),
    }
)
# config.title is not allowed: hassfest warns (a custom integration) or fails
# (a core one), the entry's title having moved to the top level.
STRINGS_SCHEMA = Fixed(
    keys={
        "title": TEXT,
        "config": flow(),
        "config_subentries": Keyed(key=slug_or_blank, value=flow(subentry=True)),
        "options": flow(),
        "preview_features": Keyed(
            key=translation_key,
            value=Fixed(
                keys={
                    "name": TEXT,
                    "description": TEXT,
                    "enable_confirmation": TEXT,
                    "disable_confirmation": TEXT,
                },
                required=frozenset({"name", "description"}),
            ),
        ),
        "selector": Keyed(key=slug_or_blank, value=SELECTOR),
        "device_automation": Fixed(
            keys={
                name: texts()
                for name in (
                    "action_type",
                    "condition_type",
                    "trigger_type",
                    "trigger_subtype",
                    "extra_fields",
                    "extra_fields_descriptions",
                )
            }
        ),
        "system_health": Fixed(keys={"info": texts(translation_key)}),
        "config_panel": Tree(key=lambda key: None if key == "_" else translation_key(key)),
        "application_credentials": Fixed(keys={"description": TEXT}),
        "issues": Keyed(
            key=any_key,
            value=Fixed(
                keys={"title": TEXT, "description": TEXT, "fix_flow": flow()},
                required=frozenset({"title"}),
                rules=(description_or_fix_flow,),
            ),
        ),
        "entity_component": Keyed(key=slug_or_blank, value=ENTITY_COMPONENT),
        "device": Keyed(key=translation_key, value=Fixed(keys={"name": TEXT})),
        "entity": Keyed(key=slug, value=Keyed(key=translation_key, value=ENTITY)),
        "exceptions": Keyed(key=slug, value=Fixed(keys={"message": TEXT})),
        "services": Keyed(key=translation_key, value=with_fields(sections=True)),
        "conditions": Keyed(key=underscore_slug, value=with_fields()),
        "triggers": Keyed(key=underscore_slug, value=with_fields()),
        "conversation": Fixed(
            keys={"agent": Fixed(keys={"done": TEXT}, required=frozenset({"done"}))},
            required=frozenset({"agent"}),
        ),
        "common": texts(slug),
    }
)


def leaves(
    tree: Mapping[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (path, value) of a nested object that is not itself an object."""
    for key, value in tree.items():
        if isinstance(value, Mapping):
            yield from leaves(value, (*path, key))
        else:
            yield (*path, key), value


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def reference_problems(strings: Mapping[str, Any]) -> Problems:
    """A reference in strings.json names a string of strings.json that is no reference."""
    for path, value in leaves(strings):
        match = REFERENCE.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            continue
        target: Any = strings
        for part in match.group(1).split("::"):
            target = target.get(part) if isinstance(target, Mapping) else None
        where = ".".join(path)
        if not isinstance(target, str):
            yield f"{where}: reference {match.group(1)} does not name a string of strings.json"
        elif REFERENCE.fullmatch(target):
            yield f"{where}: reference {match.group(1)} names another reference (one level only)"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_follows_hassfest_translation_schema(path: Path) -> None:
    problems = list(check(STRINGS_SCHEMA, load(path), path.name))
    assert problems == []


def translation_problems(strings: Mapping[str, Any], translation: Mapping[str, Any]) -> Problems:
    """Same placeholders as strings.json for every key, no key it lacks, no reference."""
    source = dict(leaves(strings))
    for key, value in leaves(translation):
        where = ".".join(key)
        if key not in source:
            yield f"{where}: not in strings.json"
        elif isinstance(value, str) and REFERENCE.search(value):
            yield f"{where}: a reference, which Home Assistant shows as written here"
        elif isinstance(value, str) and isinstance(source[key], str):
            try:
                mine, theirs = placeholders(value), placeholders(source[key])
            except ValueError:
                continue  # the schema test names it
            if mine != theirs:
                yield f"{where}: placeholders {sorted(mine)}, strings.json {sorted(theirs)}"


@pytest.mark.parametrize("path", TRANSLATIONS, ids=lambda p: p.name)
def test_translation_matches_strings(path: Path) -> None:
    assert list(translation_problems(load(STRINGS), load(path))) == []


def test_english_is_complete() -> None:
    """Hassfest wants English complete: every key of strings.json in en.json."""
    english = dict(leaves(load(PACKAGE / "translations" / "en.json")))
    missing = [".".join(key) for key, _ in leaves(load(STRINGS)) if key not in english]
    assert missing == []


# The languages the integration ships besides English, each complete.
LANGUAGES = ("de", "fr", "nl", "cs")


@pytest.mark.parametrize("language", LANGUAGES)
async def test_home_assistant_shows_each_language(hass: HomeAssistant, language: str) -> None:
    """A user with the language set sees the integration's names and messages in it."""
    translation = load(PACKAGE / "translations" / f"{language}.json")
    for category, path in (
        ("entity", ("entity", "button", "capacitor_replaced", "name")),
        ("issues", ("issues", "incompatible_lamp", "description")),
        ("exceptions", ("exceptions", "cannot_connect", "message")),
    ):
        shown = await async_get_translations(hass, language, category, {"no_neutral"})
        wanted: Any = translation
        for part in path:
            wanted = wanted[part]
        assert shown[".".join(("component.no_neutral", *path))] == wanted


def untranslated(strings: Mapping[str, Any], translation: Mapping[str, Any]) -> Iterator[str]:
    """Every key of strings.json the translation lacks, and every English sentence left as is."""
    given = dict(leaves(translation))
    for key, english in leaves(strings):
        where = ".".join(key)
        if key not in given:
            yield f"{where}: missing"
        elif given[key] == english and len(str(english).split()) > 1:
            # A unit or an abbreviation (µF, ESR) stays; words are translated.
            yield f"{where}: still English"


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_is_complete(language: str) -> None:
    """Each language has every string (the same placeholders, no extra keys: see above)."""
    path = PACKAGE / "translations" / f"{language}.json"
    assert path in TRANSLATIONS
    assert list(untranslated(load(STRINGS), load(path))) == []


def test_references_resolve() -> None:
    assert list(reference_problems(load(STRINGS))) == []


def action_problems(actions: Mapping[str, Any], strings: Mapping[str, Any]) -> Problems:
    """services.yaml and the services section describe the same actions and fields."""
    translated = strings.get("services", {})
    for name in sorted(set(translated) - set(actions)):
        yield f"services.{name}: not in services.yaml"
    for name, schema in actions.items():
        text = translated.get(name)
        if not isinstance(text, Mapping):
            yield f"services.{name}: no translation"
            continue
        fields = (schema or {}).get("fields", {})
        sections = {key for key, spec in fields.items() if "fields" in spec}
        plain = set(fields) - sections
        nested = {inner for key in sections for inner in fields[key]["fields"]}
        given = set(text.get("fields", {}))
        for key in sorted(plain - given):
            yield f"services.{name}.fields.{key}: no translation"
        for key in sorted(given - plain - nested):
            yield f"services.{name}.fields.{key}: not in services.yaml"
        for key in sorted(sections - set(text.get("sections", {}))):
            yield f"services.{name}.sections.{key}: no translation"
        for key, spec in fields.items():
            select = (spec.get("selector") or {}).get("select") or {}
            wanted = select.get("translation_key")
            if wanted is not None and wanted not in strings.get("selector", {}):
                yield f"services.{name}.fields.{key}: selector {wanted} is not in selector"


def test_actions_are_translated() -> None:
    actions = load_yaml_dict(PACKAGE / "services.yaml")
    assert list(action_problems(actions, load(STRINGS))) == []


# The checker itself: each of these breaks one rule, and that one is reported.
def message(text: str) -> dict[str, Any]:
    return {"exceptions": {"failed": {"message": text}}}


BROKEN: dict[str, tuple[dict[str, Any], str]] = {
    "issue 17's braces": (
        {
            "services": {
                "simulate": {
                    "name": "Simulate",
                    "description": "What if.",
                    "fields": {
                        "scenario": {
                            "name": "Scenario",
                            "description": 'Values, for example {"cable": {"conductor_mm2": 2.5}}.',
                        }
                    },
                }
            }
        },
        'placeholder {"cable"} is not an identifier',
    ),
    "unknown top-level key": ({"entities": {}}, "entities: not allowed here"),
    "unknown key in a step": (
        {"config": {"step": {"user": {"titel": "Server"}}}},
        "titel: not allowed here",
    ),
    "flow without steps": ({"options": {"error": {"bad": "Bad."}}}, "step is required"),
    "config title": ({"config": {"title": "X", "step": {}}}, "title: not allowed here"),
    "empty string": (message(""), "is empty"),
    "trailing space": (message("Done. "), "leading or trailing white space"),
    "HTML": (message("<b>Done</b>"), "contains HTML"),
    "URL": (message("See https://example.com/help."), "contains a URL"),
    "quoted placeholder": (message("Node '{node}' gone."), "inside single quotes"),
    "lone brace": (message("A { here."), "not a valid format string"),
    "combined reference": (message("Done: [%key:common::ok%]"), "combines a [%key:...%]"),
    "placeholder in a state": (
        {"entity": {"sensor": {"mode": {"state": {"on": "On at {time}"}}}}},
        "may not hold placeholders here",
    ),
    "entity key not a translation key": (
        {"entity": {"sensor": {"Lamp_Power": {"name": "Power"}}}},
        "not a translation key",
    ),
    "platform not a slug": (
        {"entity": {"binary-sensor": {"flicker": {"name": "Flicker"}}}},
        "not a slug",
    ),
    "exception key not a slug": (
        {"exceptions": {"Cannot-Connect": {"message": "No."}}},
        "not a slug",
    ),
    "issue with description and fix flow": (
        {"issues": {"x": {"title": "X", "description": "Y", "fix_flow": {"step": {}}}}},
        "exactly one of description and fix_flow",
    ),
    "issue without title": ({"issues": {"x": {"description": "Y"}}}, "title is required"),
    "description of a field not in data": (
        {
            "config": {
                "step": {"user": {"data": {"url": "URL"}, "data_description": {"pin": "PIN"}}}
            }
        },
        "data_description.pin: not a key of",
    ),
    "action without description": (
        {"services": {"simulate": {"name": "Simulate"}}},
        "description is required",
    ),
    "not a string": (
        {"selector": {"lamp_type": {"options": {"led": 1}}}},
        "must be a string, not int",
    ),
}


@pytest.mark.parametrize(("strings", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_checker_reports_each_rule(strings: dict[str, Any], expected: str) -> None:
    problems = list(check(STRINGS_SCHEMA, strings, "strings.json"))
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_checker_reports_unresolved_references() -> None:
    strings = {
        "config": {"abort": {"a": "[%key:config::abort::b%]", "b": "[%key:config::abort::c%]"}}
    }
    assert list(reference_problems(strings)) == [
        "config.abort.a: reference config::abort::b names another reference (one level only)",
        "config.abort.b: reference config::abort::c does not name a string of strings.json",
    ]


def test_checker_reports_translation_drift() -> None:
    strings = {"exceptions": {"a": {"message": "At {url}."}, "b": {"message": "B."}}}
    translation = {
        "exceptions": {
            "a": {"message": "Bei {uri}."},
            "b": {"message": "[%key:exceptions::a::message%]"},
            "c": {"message": "C."},
        }
    }
    assert list(translation_problems(strings, translation)) == [
        "exceptions.a.message: placeholders ['uri'], strings.json ['url']",
        "exceptions.b.message: a reference, which Home Assistant shows as written here",
        "exceptions.c.message: not in strings.json",
    ]


def test_checker_reports_untranslated_strings() -> None:
    strings = {
        "exceptions": {"a": {"message": "At {url}."}, "b": {"message": "Gone away."}},
        "entity": {"sensor": {"esr": {"name": "ESR", "unit_of_measurement": "Ω"}}},
    }
    translation = {
        "exceptions": {"b": {"message": "Gone away."}},
        "entity": {"sensor": {"esr": {"name": "ESR", "unit_of_measurement": "Ω"}}},
    }
    assert list(untranslated(strings, translation)) == [
        "exceptions.a.message: missing",
        "exceptions.b.message: still English",
    ]


def test_checker_reports_untranslated_actions() -> None:
    actions = {
        "simulate": {
            "fields": {
                "lamp_type": {"selector": {"select": {"translation_key": "lamp"}}},
                "lamp_count": {"selector": {"number": {}}},
            }
        },
        "reset": None,
    }
    strings = {
        "services": {
            "simulate": {
                "name": "Simulate",
                "description": "What if.",
                "fields": {"lamp_type": {"name": "Lamp", "description": "The lamp."}},
            },
            "gone": {"name": "Gone", "description": "Removed."},
        }
    }
    assert list(action_problems(actions, strings)) == [
        "services.gone: not in services.yaml",
        "services.simulate.fields.lamp_count: no translation",
        "services.simulate.fields.lamp_type: selector lamp is not in selector",
        "services.reset: no translation",
    ]
