"""Units of ours that sit beside Jupyter's and are driven by a trigger (a path unit, a
timer): what is on disk, how it differs from what we want, and writing, enabling and
removing them as root. A unit of the same name that we did not write is never touched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap import paths
from jupyter_bootstrap.service import systemctl
from jupyter_bootstrap.service import unit as units
from jupyter_bootstrap.service.systemctl import UnitState


class UnitFile(NamedTuple):
    name: str  # jupyter-kernels.path
    path: Path
    text: str  # what we want there


def unit_file(name: str, text: str) -> UnitFile:
    return UnitFile(name, paths.SYSTEMD_UNIT_DIR / name, text)


class UnitsPlan(NamedTuple):
    """`files`: write them (`remove` False) or take them away (True); the trigger (the
    last of the files) is then enabled and (re)started, or stopped and disabled."""

    files: tuple[UnitFile, ...]
    trigger: str
    remove: bool
    restart_trigger: bool  # its own file changed while it ran: start it afresh

    @property
    def changes_files(self) -> bool:
        return bool(self.files)


def read_ours(files: Sequence[UnitFile]) -> dict[str, Optional[str]]:
    """Each unit's text on disk (None: absent); a unit we did not write is a user error."""
    found = {}
    for file in files:
        text = units.read(file.path)
        if text is not None and not units.is_ours(text):
            raise units.foreign_unit_error(file.path)
        found[file.name] = text
    return found


def decide(
    wanted: Sequence[UnitFile],
    on_disk: Mapping[str, Optional[str]],
    trigger: UnitState,
    keep: bool,
) -> tuple[list[str], Optional[UnitsPlan]]:
    """The problems and the plan (None: nothing to do). `wanted` ends with the trigger;
    `keep` False: the units should not be there at all."""
    name = wanted[-1].name
    if not keep:
        present = tuple(file for file in wanted if on_disk.get(file.name) is not None)
        if not present:
            return [], None
        return [f"{file.name} is still installed" for file in present], UnitsPlan(
            present, name, remove=True, restart_trigger=False
        )
    changed = tuple(file for file in wanted if on_disk.get(file.name) != file.text)
    problems = [
        f"{file.name} is missing" if on_disk.get(file.name) is None else f"{file.name} differs"
        for file in changed
    ]
    if not trigger.enabled:
        problems.append(f"{name} is not enabled")
    if not trigger.active:
        problems.append(f"{name} is not running")
    if not problems:
        return [], None
    restart = trigger.active and any(file.name == name for file in changed)
    return problems, UnitsPlan(changed, name, remove=False, restart_trigger=restart)


def carry_out(plan: UnitsPlan) -> None:
    if plan.remove:
        systemctl.stop(plan.trigger)
        systemctl.disable(plan.trigger)
        for file in plan.files:
            units.remove(file.path)
        systemctl.daemon_reload()
        return
    for file in plan.files:
        units.install(file.path, file.text)
    # Enabling reloads the daemon, which reads the files just written.
    systemctl.enable(plan.trigger)
    if plan.restart_trigger:
        systemctl.restart(plan.trigger)
    else:
        systemctl.start(plan.trigger)
