"""/etc/os-release, parsed (platform.freedesktop_os_release needs Python 3.10)."""

from __future__ import annotations

import shlex
from pathlib import Path

from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.facts import OsInfo


def read(path: Path) -> OsInfo:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise UserError(
            f"cannot read {path} ({error.strerror}): unknown operating system",
            hint="this tool supports Ubuntu 20.04+ and Debian 11+; --force-os tries anyway",
        ) from None
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, raw = line.partition("=")
        if not sep or name.strip().startswith("#"):
            continue
        try:
            parts = shlex.split(raw)
        except ValueError:
            continue
        values[name.strip()] = parts[0] if parts else ""
    return OsInfo(
        id=values.get("ID", "unknown"),
        version_id=values.get("VERSION_ID", ""),
        pretty_name=values.get("PRETTY_NAME", values.get("ID", "unknown")),
    )
