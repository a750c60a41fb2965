"""
The adaptor's history on disk: loaded once, saved soon after every change.

`HistoryStore` writes the history (and the active warnings) through HA's
Store with atomic writes: within SAVE_DELAY_S of a change, at once when a part
is replaced, at stop and at unload.

A damaged file costs the history, never the entry. HA's Store renames a file
it cannot decode aside (`.corrupt.<time>`), raises its own
storage_corruption issue and loads nothing. A file it decodes but the
history cannot use (bad values, wrong shape, another version) is renamed aside
here the same way. Either way the history starts afresh, a warning names both
files and a repair issue tells the user what that means.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN
from homeassistant.exceptions import UnsupportedStorageVersionError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .circuit.ageing import History, HistoryError
from .const import DOMAIN, LOGGER
from .data import NoNeutralConfigEntry
from .reboots import RebootLog
from .repairs import async_create_history_reset_issue, async_delete_history_reset_issue

STORAGE_VERSION: Final = 1
# 1.2 adds the energies (lamp, losses, standby). A minor step: an older
# version of the integration still reads the file (and ignores them).
STORAGE_MINOR_VERSION: Final = 2
ENERGY_KEYS: Final = ("lamp_energy_wh", "loss_energy_wh", "standby_energy_wh")
# Written at most this long after a change, and at stop and unload.
SAVE_DELAY_S: Final = 300

# What is written: the history and the warnings active with it.
type Snapshot = Callable[[], tuple[History, tuple[str, ...]]]


class _HistoryFile(Store[dict[str, Any]]):
    """HA's Store, migrating the files of older versions."""

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: object
    ) -> dict[str, Any]:
        # Typed as object: it is whatever the file held.
        if old_major_version != STORAGE_VERSION:
            raise NotImplementedError  # kept aside, the history starts afresh
        if not isinstance(old_data, dict):
            History.from_dict(old_data)  # raises HistoryError naming what it is
            raise HistoryError(key="", reason="not an object")
        data = dict(old_data)
        if old_minor_version < 2:  # noqa: PLR2004
            # Nothing was counted before 1.2: the energies start at zero.
            for key in ENERGY_KEYS:
                data.setdefault(key, 0.0)
        # The Store writes what this returns before the history reads it: a file
        # it cannot use must fail here, to be kept aside as it was.
        History.from_dict(data)
        _stored_warnings(data, ())
        return data


def _store(hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
    # Atomic (fsync'd) writes, as HA's own registries: a power cut right
    # after a save must not leave an empty file.
    return _HistoryFile(
        hass,
        STORAGE_VERSION,
        f"{DOMAIN}.{entry_id}",
        minor_version=STORAGE_MINOR_VERSION,
        atomic_writes=True,
    )


class HistoryStore:
    """One entry's history file: load it, save it soon, save it now."""

    def __init__(
        self, hass: HomeAssistant, entry: NoNeutralConfigEntry, snapshot: Snapshot
    ) -> None:
        """Write what `snapshot` returns whenever a save is due."""
        self._hass = hass
        self._entry = entry
        self._snapshot = snapshot
        self.store = _store(hass, entry.entry_id)
        self._save_timer: CALLBACK_TYPE | None = None
        self._closed = False
        # The relay's reboots, kept with the history (read at load).
        self.reboots = RebootLog()

    @property
    def path(self) -> str:
        """Return the history file's path."""
        return str(self.store.path)

    async def async_load(self, known_warnings: tuple[str, ...]) -> tuple[History, tuple[str, ...]]:
        """Return the stored history and active warnings; fresh ones if the file is unreadable."""
        history, warnings, self.reboots = await _async_load(
            self._hass, self._entry, self.store, known_warnings
        )
        return history, warnings

    @callback
    def request_save(self) -> None:
        """
        Have the history written within SAVE_DELAY_S.

        Not the store's own delayed save alone: that one debounces (every call
        moves the write to the call's time plus the delay), so asking every
        minute would never write before stop.
        """
        # After close the history is written already; no timer may outlive the entry.
        if self._save_timer is None and not self._closed:
            # Cancelled when Home Assistant stops: save_at_stop writes then.
            self._save_timer = async_call_later(
                self._hass, SAVE_DELAY_S, HassJob(self._save_due, cancel_on_shutdown=True)
            )

    @callback
    def _save_due(self, _now: datetime) -> None:
        self._save_timer = None
        self._entry.async_create_task(self._hass, self.async_save(), f"{DOMAIN} history save")

    async def async_save(self) -> None:
        """Write the history now (a part was replaced)."""
        await self.store.async_save(self._data())

    @callback
    def save_at_stop(self) -> None:
        """Write the history as Home Assistant stops (flushed by the store at the final write)."""
        self.store.async_delay_save(self._data, 0)

    async def async_close(self) -> None:
        """Write the history a last time (the entry unloads); no save is requested after."""
        self._closed = True
        if self._save_timer is not None:
            self._save_timer()
            self._save_timer = None
        await self.async_save()

    def _data(self) -> dict[str, Any]:
        history, warnings = self._snapshot()
        return {**history.as_dict(), "warnings": list(warnings), "reboots": self.reboots.as_dict()}


async def async_remove_history(hass: HomeAssistant, entry_id: str) -> None:
    """Delete an entry's stored history (the entry was removed)."""
    async_delete_history_reset_issue(hass, entry_id)
    await _store(hass, entry_id).async_remove()


async def _async_load(
    hass: HomeAssistant,
    entry: NoNeutralConfigEntry,
    store: Store[dict[str, Any]],
    known_warnings: tuple[str, ...],
) -> tuple[History, tuple[str, ...], RebootLog]:
    """Return the stored history, active warnings and reboots; a fresh start if unreadable."""
    existed = await hass.async_add_executor_job(os.path.exists, store.path)
    try:
        stored = await store.async_load()
        if stored is not None:
            return (
                History.from_dict(stored),
                _stored_warnings(stored, known_warnings),
                RebootLog.from_dict(stored.get("reboots")),
            )
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
            return History(), (), RebootLog()  # a new adaptor
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
    return History(), (), RebootLog()


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
