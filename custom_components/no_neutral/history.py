"""
Loading the adaptor's history from its Store: a damaged file costs the history, never the entry.

HA's Store renames a file it cannot decode aside (`.corrupt.<time>`), raises
its own storage_corruption issue and loads nothing. A file it decodes but the
history cannot use (bad values, wrong shape, another version) is renamed aside
here the same way. Either way the history starts afresh, a warning names both
files and a repair issue tells the user what that means.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import UnsupportedStorageVersionError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .circuit.ageing import History, HistoryError
from .const import LOGGER
from .repairs import async_create_history_reset_issue


async def async_load_history(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    store: Store[dict[str, Any]],
    known_warnings: tuple[str, ...],
) -> tuple[History, tuple[str, ...]]:
    """Return the stored history and active warnings; a fresh start if the file is unreadable."""
    existed = await hass.async_add_executor_job(os.path.exists, store.path)
    try:
        stored = await store.async_load()
        if stored is not None:
            return History.from_dict(stored), _stored_warnings(stored, known_warnings)
    except (
        ValueError,  # HistoryError included
        KeyError,
        TypeError,
        NotImplementedError,  # an older version without a migration
        UnsupportedStorageVersionError,
    ) as err:
        kept_as = await _async_keep_aside(hass, store.path)
        reason = str(err) if isinstance(err, HistoryError) else type(err).__name__
        LOGGER.warning(
            "The saved history of %s in %s is unreadable (%s); it starts afresh, "
            "the file is kept as %s",
            entry.title,
            store.path,
            reason,
            kept_as,
        )
    else:
        if not existed:
            return History(), ()  # a new adaptor
        # HA's Store found it undecodable (and logged why), or it held nothing.
        kept_as = _corrupt_copy(hass, store.path) or await _async_keep_aside(hass, store.path)
        LOGGER.warning(
            "The saved history of %s in %s could not be read; it starts afresh, "
            "the file is kept as %s",
            entry.title,
            store.path,
            kept_as,
        )
    async_create_history_reset_issue(hass, entry, kept_as)
    return History(), ()


def _stored_warnings(stored: Mapping[str, Any], known: tuple[str, ...]) -> tuple[str, ...]:
    """Return the stored active warnings (codes no longer known are dropped)."""
    warnings = stored.get("warnings", [])
    if not isinstance(warnings, list):
        raise HistoryError(key="warnings", reason=f"must be a list, not {type(warnings).__name__}")
    return tuple(code for code in known if code in warnings)


def _corrupt_copy(hass: HomeAssistant, path: str) -> str | None:
    """Return where HA's Store just put an undecodable file (from its repair issue)."""
    copies = [
        (issue.created, str(placeholders["corrupt_path"]))
        for issue in ir.async_get(hass).issues.values()
        if issue.domain == HOMEASSISTANT_DOMAIN
        and issue.translation_key == "storage_corruption"
        and (placeholders := issue.translation_placeholders or {}).get("original_path") == path
        and "corrupt_path" in placeholders
    ]
    return max(copies)[1] if copies else None


async def _async_keep_aside(hass: HomeAssistant, path: str) -> str:
    """Rename an unreadable history file aside, as HA's Store does; return its new name."""
    aside = f"{path}.corrupt.{dt_util.utcnow().isoformat()}"
    try:
        await hass.async_add_executor_job(os.rename, path, aside)
    except OSError as err:
        LOGGER.warning("Cannot keep the unreadable history %s aside: %s", path, err)
        return path
    return aside
