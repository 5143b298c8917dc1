"""Stand-ins for systemctl, journalctl and sudo, for unit tests on a machine without systemd.

They are real executables on PATH, so the agent's run.py path is exercised as it is: argv,
exit codes, captured output. systemctl keeps each unit's state (enabled, active, MainPID) in
a JSON file and records every call; a unit is "loaded" when its file exists in the unit
directory, as with the real one.

    fake = FakeSystemd.install(tmp_path, monkeypatch)
    ... run the agent ...
    assert fake.changes() == [["daemon-reload"], ["enable", "--quiet", "jupyter.service"], ...]
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

UNIT = "jupyter.service"  # the agent's default unit, and the one these methods default to

SYSTEMCTL = r"""
import json, os, sys, time
from pathlib import Path

state_path = Path(os.environ["FAKE_SYSTEMD_STATE"])
unit_dir = Path(os.environ["FAKE_SYSTEMD_UNIT_DIR"])
data = json.loads(state_path.read_text())
args = sys.argv[1:]
data["calls"].append(args)
units = data["units"]


def unit(name):
    return units.setdefault(name, {"enabled": False, "active": False, "pid": 0, "since": 0})


def save():
    state_path.write_text(json.dumps(data))


def file_text(path):
    return path.read_text() if path.exists() else None


def user_line(text):
    for line in (text or "").splitlines():
        if line.startswith("User="):
            return line[5:]
    return ""


def show(name):
    u = unit(name)
    path = unit_dir / name
    loaded = path.exists() or u.get("loaded", False)
    props = {
        "LoadState": "loaded" if loaded else "not-found",
        "ActiveState": u.get("state") or ("active" if u["active"] else "inactive"),
        "SubState": u.get("sub") or ("running" if u["active"] else "dead"),
        "UnitFileState": ("enabled" if u["enabled"] else "disabled") if loaded else "",
        "MainPID": str(u["pid"] if u["active"] else 0),
        "ActiveEnterTimestampMonotonic": str(int(u["since"] * 1e6) if u["active"] else 0),
        "FragmentPath": u.get("fragment") or (str(path) if path.exists() else ""),
        # As loaded at the last daemon-reload (or, never reloaded, as on disk).
        "User": user_line(u.get("loaded_text", file_text(path))),
        "NRestarts": str(u.get("restarts", 0)),
        "NeedDaemonReload": "yes"
        if "loaded_text" in u and u["loaded_text"] != file_text(path)
        else "no",
    }
    wanted = [args[i + 1] for i, a in enumerate(args) if a == "-p"]
    return "".join(f"{key}={props[key]}\n" for key in wanted)


command = args[0]
if command == "show":
    # Several units: one block each, in the order asked, an empty line between two.
    values = {i + 1 for i, a in enumerate(args) if a == "-p"}
    shown = [a for i, a in enumerate(args[1:], 1) if not a.startswith("-") and i not in values]
    print("\n".join(show(name) for name in shown), end="")
    save()
    sys.exit(0)
if command == "is-enabled":
    print("enabled" if unit(args[1])["enabled"] else "disabled")
    save()
    sys.exit(0 if unit(args[1])["enabled"] else 1)
# Like the real one, enable and disable reload the daemon after their changes.
if command in ("daemon-reload", "enable", "disable") and "--no-reload" not in args:
    for entry in unit_dir.iterdir():
        unit(entry.name)["loaded_text"] = entry.read_text()
names = [a for a in args[1:] if not a.startswith("-")]
if command in data.get("fail", []):
    print(f"Job for {names[0]} failed.", file=sys.stderr)
    save()
    sys.exit(1)
for name in names:
    u = unit(name)
    if command == "enable":
        u["enabled"] = True
    elif command == "disable":
        u["enabled"] = False
    elif command in ("start", "restart"):
        if command == "restart" or not u["active"]:
            data["next_pid"] += 1
            # As systemd does: a start asked for (not one of its own automatic restarts)
            # counts restarts from 0 again.
            u.update(active=True, pid=data["next_pid"], since=time.monotonic(), restarts=0)
            u.pop("state", None)
            u.pop("sub", None)
    elif command == "stop":
        u.update(active=False, pid=0)
save()
"""

JOURNALCTL = r"""
import sys
print("Nov 26 12:00:00 host jupyter[42]: a line from the fake journal")
print("Nov 26 12:00:01 host jupyter[42]: OSError: [Errno 98] Address already in use")
"""

# `sudo -n CMD` runs CMD; `sudo -n true` answers as configured ($FAKE_SUDO_PASSWORDLESS).
SUDO = """#!/bin/sh
if [ "$1" = "-n" ]; then shift; fi
if [ "$1" = "-v" ]; then exit 1; fi
if [ "$1" = "true" ] && [ "${FAKE_SUDO_PASSWORDLESS:-1}" != "1" ]; then
    echo "sudo: a password is required" >&2; exit 1
fi
exec "$@"
"""

MUTATING = ("daemon-reload", "enable", "disable", "start", "restart", "stop", "reset-failed")


@dataclass
class FakeSystemd:
    bin_dir: Path
    unit_dir: Path
    state_path: Path

    @classmethod
    def install(cls, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeSystemd:
        from jupyter_bootstrap import paths
        from jupyter_bootstrap.service import systemctl

        bin_dir = tmp_path / "fakebin"
        unit_dir = tmp_path / "units"
        bin_dir.mkdir()
        unit_dir.mkdir()
        state_path = tmp_path / "fake-systemd.json"
        state_path.write_text(json.dumps({"units": {}, "calls": [], "next_pid": 4000}))
        for name, body in (("systemctl", SYSTEMCTL), ("journalctl", JOURNALCTL)):
            _executable(bin_dir / name, f"#!{sys.executable}\n{body}")
        _executable(bin_dir / "sudo", SUDO)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_SYSTEMD_STATE", str(state_path))
        monkeypatch.setenv("FAKE_SYSTEMD_UNIT_DIR", str(unit_dir))
        monkeypatch.setattr(paths, "SYSTEMD_UNIT_DIR", unit_dir)
        booted = tmp_path / "run-systemd-system"
        booted.mkdir()
        monkeypatch.setattr(systemctl, "BOOTED_MARKER", booted)
        return cls(bin_dir, unit_dir, state_path)

    def _data(self) -> dict[str, Any]:
        return dict(json.loads(self.state_path.read_text()))

    def _update(self, **changes: Any) -> None:
        data = self._data()
        data.update(changes)
        self.state_path.write_text(json.dumps(data))

    def calls(self) -> list[list[str]]:
        return list(self._data()["calls"])

    def changes(self, unit: Optional[str] = UNIT) -> list[list[str]]:
        """The calls that change something (not show / is-enabled) about `unit`, each
        daemon-reload kept where a call about `unit` follows it; `unit=None`: all of them.
        By default the Jupyter unit's: the renewal units have tests of their own."""
        mutating = [c for c in self.calls() if c and c[0] in MUTATING]
        if unit is None:
            return mutating
        kept: list[list[str]] = []
        reloaded = False
        for call in mutating:
            if call[0] == "daemon-reload":
                reloaded = True
            elif unit in call[1:]:
                if reloaded:
                    kept.append(["daemon-reload"])
                kept.append(call)
                reloaded = False
        return kept

    def clear_calls(self) -> None:
        self._update(calls=[])

    def unit(self, name: str = UNIT) -> dict[str, Any]:
        return dict(self._data()["units"].get(name, {}))

    def set_unit(self, name: str = UNIT, **values: Any) -> None:
        data = self._data()
        data["units"].setdefault(name, {"enabled": False, "active": False, "pid": 0, "since": 0})
        data["units"][name].update(values)
        self.state_path.write_text(json.dumps(data))

    def fail(self, *commands: str) -> None:
        self._update(fail=list(commands))


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
