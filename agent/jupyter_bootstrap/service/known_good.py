"""The last setup that passed the health check: the unit and the Jupyter config as they were
then, and the port the server answered on. A change that breaks a working server (a port
it cannot use, a user's line that crashes Jupyter at start) is rolled back to it, so the
server runs again when `init` reports the failure.

Kept in one 0600 JSON file in the agent's state directory: the config holds the password
hash, never the password.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap.files import (
    Owner,
    atomic_write,
    ensure_dir,
    read_bytes_or_none,
    write_backup,
)
from jupyter_bootstrap.service import systemctl
from jupyter_bootstrap.service import unit as units

SCHEMA_VERSION = 1
FILE_NAME = "last-good.json"
CONFIG_MODE = 0o600


class KnownGood(NamedTuple):
    unit: str  # jupyter.service
    unit_path: str
    unit_text: str
    config_path: str
    config_text: str
    port: int


def path_in(state_dir: Path) -> Path:
    return state_dir / FILE_NAME


def load(state_dir: Path) -> Optional[KnownGood]:
    try:
        data = json.loads(path_in(state_dir).read_text(encoding="utf-8"))
        if data.pop("schema_version", None) != SCHEMA_VERSION:
            return None
        return KnownGood(**data)
    except (OSError, ValueError, TypeError):
        return None  # none, or damaged: there is just nothing to roll back to


def remember(
    state_dir: Path, unit: str, unit_path: Path, config_path: Path, port: int, owner: Owner
) -> bool:
    """Record the files as they are now (call it right after a passing health check).
    Writes only when something changed, so a converged re-run writes nothing."""
    unit_bytes, config_bytes = read_bytes_or_none(unit_path), read_bytes_or_none(config_path)
    if unit_bytes is None or config_bytes is None:
        return False
    good = KnownGood(
        unit,
        str(unit_path),
        unit_bytes.decode("utf-8", "replace"),
        str(config_path),
        config_bytes.decode("utf-8", "replace"),
        port,
    )
    if load(state_dir) == good:
        return False
    ensure_dir(state_dir, 0o700, owner)
    text = json.dumps({"schema_version": SCHEMA_VERSION, **good._asdict()}, indent=2) + "\n"
    atomic_write(path_in(state_dir), text, 0o600, owner)
    return True


def restore(good: KnownGood, owner: Owner) -> list[str]:
    """Put the unit and config back as they were and restart the server with them; says
    what it did. The config that failed is kept as a backup beside it (it may hold the
    user's own lines). The caller checks that the server answers again."""
    restored = []
    config_path, unit_path = Path(good.config_path), Path(good.unit_path)
    current = read_bytes_or_none(config_path)
    if current != good.config_text.encode():
        if current is not None:
            backup = write_backup(config_path, current, owner)
            restored.append(f"{config_path} (the failing one is kept as {backup.name})")
        else:
            restored.append(str(config_path))
        atomic_write(config_path, good.config_text, CONFIG_MODE, owner)
    if units.read(unit_path) != good.unit_text:
        units.install(unit_path, good.unit_text)
        restored.append(str(unit_path))
    systemctl.daemon_reload()
    systemctl.restart(good.unit)
    return restored
