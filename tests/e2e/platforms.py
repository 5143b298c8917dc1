"""What the platform journeys (test_platforms.py) need besides an instance: a Debian root that
says it is Ubuntu, the Jupyter environment a conda installer would bring on each release's
Python, and the times the journeys took, for the terminal summary (conftest.py).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from tests.e2e.instance import RELEASES, SystemdInstance, _write_root_file

REQUIREMENTS = Path(__file__).resolve().parent / "requirements"


@dataclass(frozen=True)
class UbuntuLook:
    """An Ubuntu release as /etc/os-release, /etc/lsb-release and `lsb_release` tell it."""

    version_id: str  # "24.04"
    point_release: str  # "24.04.3"
    codename: str  # "noble"
    nickname: str  # "Noble Numbat"

    @property
    def pretty_name(self) -> str:
        return f"Ubuntu {self.point_release} LTS"

    def os_release(self) -> str:
        return (
            f'PRETTY_NAME="{self.pretty_name}"\n'
            'NAME="Ubuntu"\n'
            f'VERSION_ID="{self.version_id}"\n'
            f'VERSION="{self.point_release} LTS ({self.nickname})"\n'
            f"VERSION_CODENAME={self.codename}\n"
            "ID=ubuntu\n"
            "ID_LIKE=debian\n"
            'HOME_URL="https://www.ubuntu.com/"\n'
            f"UBUNTU_CODENAME={self.codename}\n"
        )

    def lsb_release_file(self) -> str:
        return (
            "DISTRIB_ID=Ubuntu\n"
            f"DISTRIB_RELEASE={self.version_id}\n"
            f"DISTRIB_CODENAME={self.codename}\n"
            f'DISTRIB_DESCRIPTION="{self.pretty_name}"\n'
        )

    def apply(self, root: Path) -> None:
        """Make an unpacked, not yet booted root say it is this Ubuntu release."""
        # Debian's /etc/os-release is a link to /usr/lib/os-release; both say the same here,
        # whichever a program reads.
        for path in ("etc/os-release", "usr/lib/os-release"):
            _write_root_file(root, path, self.os_release())
        _write_root_file(root, "etc/lsb-release", self.lsb_release_file())
        _write_root_file(root, "usr/bin/lsb_release", LSB_RELEASE, 0o755)


# Ubuntu's lsb_release (a Python program of the lsb-release package) answers from
# /etc/lsb-release; this one gives the same answers for the options scripts use.
LSB_RELEASE = r"""#!/bin/sh
# A stand-in for Ubuntu's lsb_release, written by jupyter-bootstrap's e2e tests.
. /etc/lsb-release
short=0 id=0 release=0 codename=0 description=0
for arg in "$@"; do
    case $arg in
        --short) short=1 ;;
        --id) id=1 ;;
        --release) release=1 ;;
        --codename) codename=1 ;;
        --description) description=1 ;;
        --all) id=1 release=1 codename=1 description=1 ;;
        --*) echo "lsb_release: unknown option $arg" >&2; exit 1 ;;
        -*)
            flags=${arg#-}
            while [ -n "$flags" ]; do
                case $flags in
                    s*) short=1 ;;
                    i*) id=1 ;;
                    r*) release=1 ;;
                    c*) codename=1 ;;
                    d*) description=1 ;;
                    a*) id=1 release=1 codename=1 description=1 ;;
                    *) echo "lsb_release: unknown option -$flags" >&2; exit 1 ;;
                esac
                flags=${flags#?}
            done
            ;;
    esac
done
if [ $((id + release + codename + description)) -eq 0 ]; then
    echo "No LSB modules are available." >&2
    exit 0
fi
say() {
    if [ "$short" = 1 ]; then echo "$2"; else printf '%s:\t%s\n' "$1" "$2"; fi
}
[ "$id" = 1 ] && say "Distributor ID" "$DISTRIB_ID"
[ "$description" = 1 ] && say "Description" "$DISTRIB_DESCRIPTION"
[ "$release" = 1 ] && say "Release" "$DISTRIB_RELEASE"
[ "$codename" = 1 ] && say "Codename" "$DISTRIB_CODENAME"
exit 0
"""

NOBLE = UbuntuLook(version_id="24.04", point_release="24.04.3", codename="noble",
                   nickname="Noble Numbat")  # fmt: skip


def before_first_boot(look: Optional[UbuntuLook]) -> Optional[Callable[[Path], None]]:
    return None if look is None else look.apply


def make_jupyter_env(instance: SystemdInstance, prefix: str, python: str) -> None:
    """The Jupyter a conda installer would bring, at `prefix`, on the instance's `python`
    (a version like "3.9"). Where current Jupyter does not install, a set resolved for that
    Python once (tests/e2e/requirements/) is installed without dependency resolution."""
    pinned = REQUIREMENTS / f"jupyter-python{python}.txt"
    if not pinned.exists():
        instance.make_venv(prefix, ["notebook"], user="root")
        return
    inside = f"/root/{pinned.name}"
    instance.write_file(inside, pinned.read_text())
    instance.make_venv(prefix, ["--no-deps", "-r", inside], user="root")
    instance.run(f"rm {shlex.quote(inside)}")


# Run by the agent's own Python inside: imports every module of the agent, so one that only
# a rarer command loads cannot hide a syntax or library feature this Python lacks.
IMPORT_EVERY_MODULE = """
import importlib
import pkgutil

import jupyter_bootstrap

names = [
    module.name
    for module in pkgutil.walk_packages(jupyter_bootstrap.__path__, "jupyter_bootstrap.")
    if not module.name.endswith(".__main__")  # runs the command line
]
for name in names:
    importlib.import_module(name)
print(len(names))
"""

# Run by the agent's own Python inside: writes every unit the agent can make (each template,
# with and without a port below 1024) into the folder argv[1], under the names systemd would
# load them by, for that instance's `systemd-analyze verify`. The journey only ever installs
# some of them.
RENDER_EVERY_UNIT = """
import sys
from pathlib import Path

from jupyter_bootstrap.service import idle_units, kernel_units, renewal_units, unit
from jupyter_bootstrap.service.agent_run import AgentRun

out = Path(sys.argv[1])
jupyter_bin = Path(sys.argv[2])
home = Path("/home/ubuntu")
environment = ("JUPYTER_BOOTSTRAP_METADATA_URL=off",)
run = AgentRun("ubuntu", "ubuntu", home, sys.executable, environment)
for name, low in (("jupyter", False), ("jupyter-low", True)):
    values = unit.UnitValues(
        user="ubuntu", group="ubuntu", notebook_dir=home, jupyter_bin=jupyter_bin,
        app="notebook", config_file=home / ".jupyter/jupyter_server_config.py",
        privileged_port=low,
    )
    (out / f"{name}.service").write_text(unit.render(values))
    renewal = renewal_units.RenewalValues(
        service_name=name, user="ubuntu", group="ubuntu", home=home,
        program=sys.executable, environment=environment, privileged_ports=low,
    )
    (out / renewal_units.service_name_for(name)).write_text(renewal_units.render_service(renewal))
    (out / renewal_units.timer_name_for(name)).write_text(renewal_units.render_timer(renewal))
kernels = kernel_units.KernelUnitValues(service_name="jupyter", run=run, watched=(home,))
(out / "jupyter-kernels.service").write_text(kernel_units.render_service(kernels))
(out / "jupyter-kernels.path").write_text(kernel_units.render_path(kernels))
idle = idle_units.IdleUnitValues(service_name="jupyter", run=run, after=3 * 3600, interval=300)
(out / "jupyter-stop-when-idle.service").write_text(idle_units.render_service(idle))
(out / "jupyter-stop-when-idle.timer").write_text(idle_units.render_timer(idle))
print("\\n".join(sorted(str(path) for path in out.iterdir())))
"""


@dataclass
class JourneyTimes:
    """How long each part of one release's journey took, in seconds, in order."""

    release: str
    image_seconds: float = 0.0  # building the base image, when it was not cached
    parts: dict[str, float] = field(default_factory=dict)
    passed: bool = False

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def describe(self) -> str:
        parts = ", ".join(f"{name} {seconds:.0f}" for name, seconds in self.parts.items())
        image = f"; image built in {self.image_seconds:.0f} s" if self.image_seconds > 1 else ""
        outcome = "" if self.passed else " (FAILED)"
        info = RELEASES[self.release]
        return (
            f"{self.release} (Debian {info['debian']}, Python {info['python']}, systemd "
            f"{info['systemd']}){outcome}: {self.total:.0f} s ({parts}){image}"
        )


#: Filled by test_platforms.py, read by conftest.py's terminal summary.
JOURNEYS: list[JourneyTimes] = []


def summary_lines() -> list[str]:
    if not JOURNEYS:
        return []
    total = ", ".join(f"{j.release} {j.total:.0f} s" for j in JOURNEYS)
    return [f"platform journey: {total}", *(f"  {j.describe()}" for j in JOURNEYS)]
