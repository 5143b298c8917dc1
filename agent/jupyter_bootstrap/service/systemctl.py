"""A thin layer over systemctl. Reading state needs no rights; changing it goes through
`sudo -n` (call sudo.ensure first)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.run import run, sudo_argv

# systemd creates this directory early at boot; its absence is how sd_booted() tells that
# PID 1 is something else (a container's shell, WSL1's init).
BOOTED_MARKER = Path("/run/systemd/system")
SHOWN_PROPERTIES = (
    "LoadState",
    "ActiveState",
    "SubState",
    "UnitFileState",
    "MainPID",
    "ActiveEnterTimestampMonotonic",
    "FragmentPath",
    "User",
    "NeedDaemonReload",
    "NRestarts",
)


def is_booted() -> bool:
    return BOOTED_MARKER.is_dir()


def pid1_name() -> str:
    """What runs as PID 1 instead (for the error message)."""
    try:
        return Path("/proc/1/comm").read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def not_booted() -> str:
    """The one sentence for a machine without systemd (a container, WSL1)."""
    return f"systemd is not running on this machine (PID 1 is {pid1_name()})"


def not_booted_error(consequence: str, hint: str) -> UserError:
    return UserError(f"{not_booted()}, so {consequence}", hint=hint)


class UnitState(NamedTuple):
    load_state: str  # loaded, not-found, ...
    active_state: str  # active, activating, inactive, failed, ...
    sub_state: str  # running, auto-restart, dead, ...
    unit_file_state: str  # enabled, disabled, ...
    main_pid: Optional[int]
    active_since_monotonic: Optional[float]
    fragment_path: str  # the unit file systemd loaded it from ("" when none)
    # The User= of the unit as loaded (not as on disk): whom a start runs it as.
    user: str = ""
    # The file on disk changed since systemd loaded it: what runs is not what is there.
    need_daemon_reload: bool = False
    # How often systemd restarted it on its own (Restart=); None when systemd is too old
    # to say (before 235).
    restarts: Optional[int] = None

    @property
    def enabled(self) -> bool:
        return self.unit_file_state == "enabled"

    @property
    def active(self) -> bool:
        return self.active_state == "active"

    @property
    def running_or_restarting(self) -> bool:
        """A process of it is (or is about to be) there: restart rather than start."""
        return self.active_state in ("active", "activating", "reloading")

    @property
    def uptime_seconds(self) -> Optional[float]:
        if not self.active or self.active_since_monotonic is None:
            return None
        # systemd's timestamp and time.monotonic() are the same clock (CLOCK_MONOTONIC).
        return max(0.0, time.monotonic() - self.active_since_monotonic)

    def describe(self) -> str:
        return f"{self.active_state} ({self.sub_state})"


# What one `systemctl show` of several units said, while `read_together` holds it.
_read_together: dict[str, UnitState] = {}


@contextmanager
def read_together(units: Sequence[str]) -> Iterator[None]:
    """Within the block, `state()` of one of `units` answers from a single `systemctl show`
    of them all made on entering: a pass of checks asks about five units, and each call
    starts a process. Any change made through this module, or a unit file written, forgets
    them: from then on every `state()` asks systemd again."""
    _read_together.clear()
    if units and is_booted():
        _read_together.update(zip(units, _show(units)))
    try:
        yield
    finally:
        _read_together.clear()


def forget() -> None:
    """Something changed: what `read_together` read is stale."""
    _read_together.clear()


def state(unit: str) -> UnitState:
    known = _read_together.get(unit)
    if known is not None:
        return known
    return _show([unit])[0]


def _show(units: Sequence[str]) -> list[UnitState]:
    """One `systemctl show` of `units`: each unit's properties, in the order asked, blocks
    separated by an empty line."""
    argv = ["systemctl", "show", *units, "--no-pager"]
    for name in SHOWN_PROPERTIES:
        argv += ["-p", name]
    output = run(argv, check=False, timeout=30).stdout
    if len(units) == 1:
        return [_parse(output.splitlines())]
    blocks = [block.splitlines() for block in output.split("\n\n") if block.strip()]
    if len(blocks) != len(units):
        # Not one block per unit (an error for one of them): ask about each alone.
        return [_show([unit])[0] for unit in units]
    return [_parse(lines) for lines in blocks]


def _parse(lines: list[str]) -> UnitState:
    values = {}
    for line in lines:
        key, _, value = line.partition("=")
        values[key] = value.strip()
    pid = int(values.get("MainPID") or 0)
    since = int(values.get("ActiveEnterTimestampMonotonic") or 0)
    return UnitState(
        load_state=values.get("LoadState", "not-found"),
        active_state=values.get("ActiveState", "inactive"),
        sub_state=values.get("SubState", "dead"),
        unit_file_state=values.get("UnitFileState", ""),
        main_pid=pid or None,
        active_since_monotonic=since / 1e6 if since else None,
        fragment_path=values.get("FragmentPath", ""),
        user=values.get("User", ""),
        need_daemon_reload=values.get("NeedDaemonReload") == "yes",
        restarts=int(values["NRestarts"]) if values.get("NRestarts", "").isdigit() else None,
    )


def _systemctl(*args: str, what: str) -> None:
    forget()
    run(
        sudo_argv(["systemctl", *args]),
        what=what,
        timeout=120,
        hint="see `jupyter-bootstrap logs` and `systemctl status` for why",
    )


def daemon_reload() -> None:
    _systemctl("daemon-reload", what="systemctl daemon-reload")


def enable(*units: str) -> None:
    # systemctl enable reloads the daemon after enabling (there is no --no-reload here), so
    # unit files written just before are read by it: a daemon-reload of our own before it
    # would only cost a second reload of every unit.
    _systemctl("enable", "--quiet", *units, what=f"enabling {' and '.join(units)}")


def disable(unit: str) -> None:
    _systemctl("disable", "--quiet", unit, what=f"disabling {unit}")


def start(unit: str) -> None:
    _systemctl("start", unit, what=f"starting {unit}")


def restart(unit: str) -> None:
    _systemctl("restart", unit, what=f"restarting {unit}")


def stop(unit: str) -> None:
    _systemctl("stop", unit, what=f"stopping {unit}")


def reset_failed(unit: str) -> None:
    # Forget a failed state of a unit we removed; nothing to do is fine too.
    forget()
    run(sudo_argv(["systemctl", "reset-failed", unit]), check=False, timeout=60)
