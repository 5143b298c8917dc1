"""The journey on every Debian release the agent supports, from the oldest Python and systemd
to the newest: Debian 11 (Python 3.9, systemd 247), 12 (3.11, 252) and 13 (3.13, 257).

On each, one fresh instance goes through what a user does: install.sh piped from a loopback
server as ubuntu, `jupyter-bootstrap init` with the password on stdin (conda from the tests'
Miniforge stand-in, whose `jupyter` runs a Jupyter made on the instance's own Python), an
HTTPS login, a second init that changes nothing, and a reboot after which the service is
back and the login works. Debian 13 says it is Ubuntu 24.04 (os-release, lsb_release), so
install.sh and the agent take their Ubuntu paths there. Each release's instance is shut down
at the end of its test; the time of each part is in the terminal summary.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Callable, Optional, TypeVar

import pytest

import jupyter_bootstrap
from tests.e2e.instance import RELEASES, SystemdInstance, base_tarball, ensure_prerequisites
from tests.e2e.platforms import (
    IMPORT_EVERY_MODULE,
    JOURNEYS,
    NOBLE,
    RENDER_EVERY_UNIT,
    JourneyTimes,
    UbuntuLook,
    before_first_boot,
    make_jupyter_env,
)
from tests.support.e2e_agent import (
    PASSWORD,
    USER,
    assert_login_works,
    run_agent,
    wait_for_https,
    wait_until,
)
from tests.support.fake_installer import miniforge_using, sha256
from tests.support.install_agent import Served, install_agent, serve_installer
from tests.support.net import free_port
from tests.support.report import step_lines, step_states

pytestmark = pytest.mark.e2e

JUPYTER_PREFIX = "/opt/jupyter-env"
INSTALLER_PATH = "/miniforge/Miniforge3-Linux.sh"
UNIT = "jupyter.service"
# The release that is made to look like Ubuntu: the closest in Python and systemd to 24.04.
LOOKS = {"trixie": NOBLE}
STEPS = ["host", "conda", "shell", "jupyter", "password", "certificate", "config", "service"]
STEPS += ["kernels", "autostop", "renewal", "health"]
AGENT_PYTHON = "/home/ubuntu/.local/share/jupyter-bootstrap/venv/bin/python"

T = TypeVar("T")


@pytest.fixture(scope="module")
def served(agent_wheel: Path) -> Iterator[tuple[Served, str]]:
    """install.sh, the wheel and a Miniforge stand-in whose Python and `jupyter` are the
    instance's Jupyter environment; and the installer's sha256."""
    ensure_prerequisites()
    installer = miniforge_using(JUPYTER_PREFIX)
    with serve_installer(agent_wheel, {INSTALLER_PATH: installer}) as site:
        yield site, sha256(installer)


class Journey:
    """One release's instance and the timing of each part of its journey."""

    def __init__(self, times: JourneyTimes, look: Optional[UbuntuLook], tmp: Path) -> None:
        self.times = times
        self.look = look
        self.tmp = tmp
        self.instance = SystemdInstance(
            release=times.release, before_first_boot=before_first_boot(look)
        )
        self.port = free_port()

    def part(self, name: str, act: Callable[[], T]) -> T:
        started = time.monotonic()
        try:
            return act()
        finally:
            self.times.parts[name] = time.monotonic() - started

    def agent(self, *args: str, input: Optional[str] = None) -> str:
        return run_agent(self.instance, *args, input=input).stdout

    def root(self, cmd: str) -> str:
        return self.instance.run(cmd).stdout.strip()

    def cafile(self) -> str:
        """The certificate as `cert export` gives it to the user, for verified TLS."""
        path = self.tmp / f"cert-{uuid.uuid4().hex}.pem"
        path.write_text(self.agent("cert", "export"))
        return str(path)

    def main_pid(self) -> int:
        return int(self.root(f"systemctl show -p MainPID --value {UNIT}") or 0)


def unit_complaints(instance: SystemdInstance, installed: list[str]) -> list[str]:
    """What `systemd-analyze verify` of this instance says about the units we installed and
    about every unit the agent can render (made by its own Python, as installed)."""
    rendered = "/root/jb-rendered-units"
    instance.run(f"mkdir -p {rendered}")
    made = instance.run(
        [AGENT_PYTHON, "-c", RENDER_EVERY_UNIT, rendered, f"{JUPYTER_PREFIX}/bin/jupyter"]
    ).stdout.split()
    complaints = []
    # Apart: the rendered units have the installed ones' names.
    for units in (installed, made):
        verify = instance.run(["systemd-analyze", "verify", *units], check=False)
        names = tuple(f"{Path(unit).name}:" for unit in units)
        # systemd names the file and line of each directive it ignores (and exits 0), or the
        # unit for what it cannot use (a program that is not executable: and exits 1).
        complaints += [
            line
            for line in (verify.stdout + verify.stderr).splitlines()
            if "/etc/systemd/system/" in line or rendered in line or line.startswith(names)
        ]
        if verify.returncode != 0:
            said = (verify.stdout + verify.stderr).strip()
            complaints.append(f"systemd-analyze verify exited {verify.returncode}: {said}")
    return complaints


@pytest.mark.parametrize("release", list(RELEASES))
def test_the_journey(
    release: str, served: tuple[Served, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    site, digest = served
    started = time.monotonic()
    base_tarball(release=release)  # once per release; cached between sessions
    times = JourneyTimes(release, image_seconds=time.monotonic() - started)
    JOURNEYS.append(times)
    journey = Journey(times, LOOKS.get(release), tmp_path_factory.mktemp(release))
    try:
        walk(journey, site, digest)
        times.passed = True
    finally:
        journey.instance.shutdown()


def walk(journey: Journey, site: Served, digest: str) -> None:
    instance, release = journey.instance, journey.times.release
    info = RELEASES[release]
    journey.part("boot", instance.start)
    versions = instance.run(
        "python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'"
        " && systemctl --version | head -1"
    ).stdout.split()
    assert (versions[0], versions[2]) == (info["python"], info["systemd"]), versions
    if journey.look is not None:
        lsb = instance.run("lsb_release -is && lsb_release -rs", user=USER).stdout.split()
        assert lsb == ["Ubuntu", journey.look.version_id]

    # curl | bash as ubuntu; the command works in that same shell.
    installed = journey.part("install.sh", lambda: install_agent(instance, site))
    version = jupyter_bootstrap.__version__
    assert installed.stdout.endswith(f"jupyter-bootstrap, version {version}\n"), installed.stdout
    assert "==> Installing python3-venv with apt-get" in installed.stdout
    imported = instance.run([AGENT_PYTHON, "-c", IMPORT_EVERY_MODULE], user=USER)
    assert int(imported.stdout) > 50, imported.stdout

    journey.part("jupyter env", lambda: make_jupyter_env(instance, JUPYTER_PREFIX, info["python"]))

    first = journey.part(
        "init",
        lambda: journey.agent(
            "init", "--distribution", "miniforge", "--port", str(journey.port),
            "--installer-url", site.server.url(INSTALLER_PATH), "--installer-sha256", digest,
            "--password-stdin", input=PASSWORD + "\n",
        ),
    )  # fmt: skip
    states = step_states(first)
    assert list(states) == STEPS, first
    assert (states["conda"], states["service"], states["health"]) == ("changed",) * 2 + ("ok",)
    assert "FAILED" not in states.values(), first
    host = step_lines(first)["host"]
    name = journey.look.pretty_name if journey.look else f"Debian GNU/Linux {info['debian']}"
    assert host.startswith(f"ok {name}"), host
    assert host.endswith(f"user {USER}"), host

    cafile = journey.cafile()
    journey.part("login", lambda: assert_login_works(journey.port, cafile))

    # What this systemd makes of every unit we wrote, and of every one the agent can write:
    # no line it does not understand.
    ours = journey.root("grep -l jupyter-bootstrap /etc/systemd/system/*.* | sort").split()
    assert f"/etc/systemd/system/{UNIT}" in ours, ours
    assert unit_complaints(instance, ours) == []
    # Written, then enabled (which reloads the daemon): systemd runs what is on disk.
    stale = journey.root(
        "for u in " + " ".join(Path(path).name for path in ours) + "; do "
        'echo "$u $(systemctl show -p NeedDaemonReload --value "$u")"; done'
    )
    assert [line for line in stale.splitlines() if not line.endswith(" no")] == [], stale

    pid = journey.main_pid()
    again = journey.part("init again", lambda: journey.agent("init"))
    assert step_states(again) == dict.fromkeys(STEPS, "ok"), again
    assert journey.main_pid() == pid

    def reboot() -> None:
        instance.reboot(timeout=300, clean=True)
        wait_until(lambda: journey.root(f"systemctl is-active {UNIT} || true") == "active",
                   60, f"{UNIT} active after the reboot")  # fmt: skip
        wait_for_https(journey.port, cafile, 60)
        assert_login_works(journey.port, cafile)

    journey.part("reboot", reboot)
    assert "All good." in journey.agent("status")
    # What the agent reads back from this systemd and journald, after the boot.
    assert "running for" in journey.agent("info")
    assert "is running at" in journey.agent("logs", "-n", "200")
