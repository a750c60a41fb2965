"""The manifest and hacs.json hold what hassfest and HACS require."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from homeassistant import const as ha_const
from homeassistant.requirements import pkg_util
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "custom_components" / "no_neutral"
MANIFEST = json.loads((PACKAGE / "manifest.json").read_text())
HACS = json.loads((ROOT / "hacs.json").read_text())

# The keys HACS accepts in hacs.json (hacs/integration, validate/hacs_manifest).
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
    "render_readme",
}


def test_manifest_keys() -> None:
    assert MANIFEST["domain"] == PACKAGE.name == "no_neutral"
    assert MANIFEST["name"] == "No-Neutral Adaptor"
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["iot_class"] == "local_push"
    assert MANIFEST["integration_type"] == "device"
    assert MANIFEST["codeowners"]
    assert all(owner.startswith("@") for owner in MANIFEST["codeowners"])
    for key in ("documentation", "issue_tracker"):
        assert MANIFEST[key].startswith("https://")
    # Custom integrations must carry a version that AwesomeVersion can parse.
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])
    # hassfest: domain and name first, then the rest sorted.
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_requirements_match_installed_home_assistant() -> None:
    """Every requirement is a lower bound that the targeted HA's pins satisfy."""
    for line in MANIFEST["requirements"]:
        req = Requirement(line)
        assert not any(spec.operator == "==" for spec in req.specifier), (
            f"{line}: pin with a lower bound so HA's own pin wins"
        )
        # The package HA's harness installed for this HA release satisfies it.
        assert pkg_util.is_installed(line), f"{line} is not satisfied by the test environment"


def test_matter_client_is_the_one_home_assistant_uses() -> None:
    """The Matter client is the package HA's own Matter integration requires."""
    ha_matter = json.loads(
        (Path(pkg_util.__file__).parent.parent / "components/matter/manifest.json").read_text()
    )
    (ha_req,) = (
        req
        for req in map(Requirement, ha_matter["requirements"])
        if req.name == "matter-python-client"
    )
    (ours,) = (req for req in map(Requirement, MANIFEST["requirements"]) if req.name == ha_req.name)
    pinned = Version(next(iter(ha_req.specifier)).version)
    assert ours.specifier.contains(pinned)


def test_hacs_json() -> None:
    assert set(HACS) <= HACS_KEYS
    assert HACS["name"] == MANIFEST["name"]
    assert Version(HACS["homeassistant"]) <= Version(ha_const.__version__)


def test_brand_images() -> None:
    """HA 2026.3+ serves a custom integration's brand images from brand/."""
    for name, size in (("icon.png", 256), ("icon@2x.png", 512)):
        data = (PACKAGE / "brand" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width = int.from_bytes(data[16:20], "big")
        height = int.from_bytes(data[20:24], "big")
        assert (width, height) == (size, size), name


def test_translations_match_strings() -> None:
    """HA reads translations/en.json; strings.json is the source."""
    strings = json.loads((PACKAGE / "strings.json").read_text())
    english = json.loads((PACKAGE / "translations" / "en.json").read_text())
    assert strings == english


def test_hassfest_finds_the_entry_points_at_the_top_level() -> None:
    """
    __init__.py imports Home Assistant only where it runs (the simulator needs numpy only).

    hassfest reads the module with `ast`, at its top level only: CONFIG_SCHEMA
    must be assigned there and every entry function defined there (their typed
    entry and runtime_data: tests/test_quality_scale.py).
    """
    module = ast.parse((PACKAGE / "__init__.py").read_text())
    assigned = {
        target.id
        for node in module.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert "CONFIG_SCHEMA" in assigned
    functions = {node.name for node in module.body if isinstance(node, ast.AsyncFunctionDef)}
    assert functions >= {
        "async_setup",
        "async_setup_entry",
        "async_unload_entry",
        "async_remove_entry",
        "async_migrate_entry",
    }
