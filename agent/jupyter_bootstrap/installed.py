"""What jupyter-bootstrap itself installed, so that it can finish an install that was cut short
and `uninstall --purge` deletes only what it made.

Today that is conda prefixes. Before the installer runs, `installing` is recorded (durably:
atomic write, fsync'd) with the installer's file name and the time; once the prefix works it
says `installed`. A prefix without a record was found, not made by us, and is never removed.
Kept in the agent's state directory as installed.json (state.json beside it belongs to the
service's records); an unreadable or newer-schema file counts as "nothing recorded": when in
doubt, the agent owns less, never more.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple, Optional

from jupyter_bootstrap.files import Owner, atomic_write, ensure_dir

SCHEMA_VERSION = 1
FILE_NAME = "installed.json"
BY = "jupyter-bootstrap"
INSTALLING = "installing"
INSTALLED = "installed"


class CondaRecord(NamedTuple):
    """A conda prefix this agent started installing (and, once `finished`, installed)."""

    prefix: Path
    status: str  # INSTALLING until the installer has finished and the prefix works
    installer: str  # the installer's file name
    started: str  # ISO 8601, UTC
    finished: Optional[str] = None

    @property
    def unfinished(self) -> bool:
        return self.status != INSTALLED

    def describe(self) -> str:
        if self.unfinished:
            return f"an install by {BY} that did not finish ({self.installer}, {self.started})"
        return f"installed by {BY} ({self.installer}, {self.finished})"


def path_in(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        return {}
    return data


def conda_records(state_dir: Path) -> dict[Path, CondaRecord]:
    """Every conda prefix recorded, by prefix."""
    section = _load(path_in(state_dir)).get("conda")
    records: dict[Path, CondaRecord] = {}
    if not isinstance(section, dict):
        return records
    for prefix, entry in section.items():
        if not isinstance(entry, dict) or entry.get("by") != BY:
            continue
        status, installer, started = (
            entry.get("status"),
            entry.get("installer"),
            entry.get("started"),
        )
        if status not in (INSTALLING, INSTALLED):
            continue
        if not isinstance(installer, str) or not isinstance(started, str):
            continue
        finished = entry.get("finished")
        records[Path(prefix)] = CondaRecord(
            Path(prefix),
            status,
            installer,
            started,
            finished if isinstance(finished, str) else None,
        )
    return records


def conda_record(state_dir: Path, prefix: Path) -> Optional[CondaRecord]:
    return conda_records(state_dir).get(prefix)


def record_conda(state_dir: Path, record: CondaRecord, owner: Optional[Owner] = None) -> None:
    """Write (or replace) the record of `record.prefix`; the others stay as they are."""
    ensure_dir(state_dir, 0o700, owner)
    path = path_in(state_dir)
    data = _load(path)
    section = data.get("conda")
    if not isinstance(section, dict):
        section = {}
    section[str(record.prefix)] = {
        "status": record.status,
        "by": BY,
        "installer": record.installer,
        "started": record.started,
        "finished": record.finished,
    }
    data.update({"schema_version": SCHEMA_VERSION, "conda": section})
    atomic_write(path, json.dumps(data, indent=2, sort_keys=True) + "\n", 0o600, owner)
