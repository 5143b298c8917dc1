"""install.sh on a real systemd instance, as the user `ubuntu` would run it.

One fresh instance (stock: python3 but no python3-venv, empty apt lists, passwordless sudo)
goes through the whole journey once, in the order a user could meet it; every step records
what the installer printed and which files changed anywhere on the instance. Each test
then checks one promise of install.sh against that record, so the tests can run in
any order or alone. The instance is this module's own and is shut down at its end.

The installer and a wheel of the checkout come from a loopback HTTP server (the instance
shares the host's network). Inside, apt reaches Debian's mirror and pip reaches PyPI.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import pytest

import jupyter_bootstrap
from tests.e2e.instance import SystemdInstance
from tests.support.install_agent import (
    INSTALL_SH,
    INSTANCE_PIP_CACHE,
    Served,
    install_agent,
    install_env,
    serve_installer,
)

pytestmark = pytest.mark.e2e

VERSION = jupyter_bootstrap.__version__
HOME = "/home/ubuntu"
VENV = f"{HOME}/.local/share/jupyter-bootstrap/venv"
SYSTEM_LINK = "/usr/local/bin/jupyter-bootstrap"
USER_LINK = f"{HOME}/.local/bin/jupyter-bootstrap"
COMPLETION = f"{HOME}/.local/share/bash-completion/completions/jupyter-bootstrap"
SUDOERS = "/etc/sudoers.d/90-cloud-init-users"
EXPORT_LINE = 'export PATH="$HOME/.local/bin:$PATH"'

# Every file of the instance with its type, size, mtime and link target; minus what the
# system itself changes while it runs (logs, the journal, systemd's state, tmpfs mounts,
# the shared pip cache).
SNAPSHOT = (
    "find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp"
    f" -o -path /var/log -o -path /var/lib/systemd -o -path /var/tmp -o -path {INSTANCE_PIP_CACHE}"
    " \\) -prune -o -printf '%p %y %s %T@ %l\\n'"
)


@dataclass
class Step:
    """One run of the installer: what it printed and what it changed on the instance."""

    result: subprocess.CompletedProcess[str]
    changed: list[str]
    seconds: float

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr


@dataclass
class Journey:
    """What the instance looked like at first, and every step of the walk by name."""

    stock_has_ensurepip: bool = False
    python_version: str = ""
    steps: dict[str, Step] = field(default_factory=dict)
    # ubuntu's fresh login shell after the no-sudo install into ~/.local/bin.
    new_login_version: Optional[subprocess.CompletedProcess[str]] = None


def instance_files(instance: SystemdInstance) -> set[str]:
    return set(instance.run(SNAPSHOT, timeout=120).stdout.splitlines())


def run_step(
    instance: SystemdInstance,
    journey: Journey,
    name: str,
    act: Callable[[], subprocess.CompletedProcess[str]],
) -> None:
    """Do `act` and record its result, its duration and what it changed on the instance."""
    before = instance_files(instance)
    started = time.monotonic()
    result = act()
    seconds = time.monotonic() - started
    after = instance_files(instance)
    changed = sorted({line.split(" ", 1)[0] for line in before ^ after})
    journey.steps[name] = Step(result, changed, seconds)


def as_user(
    instance: SystemdInstance, command: str, user: str = "ubuntu"
) -> Callable[[], subprocess.CompletedProcess[str]]:
    """`bash -lc COMMAND` in a login of the user: what they type into a PuTTY session.
    As root: plain `bash -c COMMAND` (root is only ever refused here)."""
    if user == "root":
        return lambda: instance.run(command, timeout=900, check=False)
    login = f"bash -lc {shlex.quote(command)}"
    return lambda: instance.run(login, user=user, env=install_env(), timeout=900, check=False)


def without_sudo(instance: SystemdInstance) -> None:
    instance.run(f"mv {SUDOERS} /root/sudoers.saved")


def with_sudo(instance: SystemdInstance) -> None:
    instance.run(f"mv /root/sudoers.saved {SUDOERS}")


@pytest.fixture(scope="module")
def journey(
    systemd_instance_factory: Callable[[], SystemdInstance],
    agent_wheel: Path,
) -> Iterator[Journey]:
    wheel = agent_wheel
    script = INSTALL_SH.read_bytes()
    half = {"/install-half.sh": script[: len(script) // 2]}
    instance: SystemdInstance = systemd_instance_factory()
    record = Journey()
    try:
        with serve_installer(wheel, half) as served:
            walk(instance, served, record)
        yield record
    finally:
        instance.shutdown()


def walk(instance: SystemdInstance, served: Served, record: Journey) -> None:
    """The journey; each step's checks are in the tests below."""
    probe = instance.run("python3 -c 'import ensurepip'", check=False)
    record.stock_has_ensurepip = probe.returncode == 0
    record.python_version = instance.run(
        "python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'"
    ).stdout.strip()

    # Before anything is installed: what must not install anything.
    pipe = served.pipe_command()
    version = served.pipe_command(then="jupyter-bootstrap --version")
    half = served.pipe_command(served.server.url("/install-half.sh"))
    run_step(instance, record, "truncated", as_user(instance, half))
    run_step(instance, record, "root", as_user(instance, pipe, user="root"))
    without_sudo(instance)
    run_step(instance, record, "no sudo, stock", as_user(instance, pipe))
    with_sudo(instance)

    # The README's first line, then the command in that same shell; then once more.
    run_step(instance, record, "first", lambda: install_agent(instance, served, check=False))
    run_step(instance, record, "second", as_user(instance, pipe))

    # Sudo taken away after the install: the venv is there and so is the link.
    without_sudo(instance)
    run_step(instance, record, "no sudo, installed", as_user(instance, version))
    # ...and without the /usr/local/bin link either: the installer falls back to ~/.local/bin.
    instance.run(f"rm {SYSTEM_LINK}")
    run_step(instance, record, "no sudo, no link", as_user(instance, pipe))
    record.new_login_version = instance.run(
        "jupyter-bootstrap --version", user="ubuntu", check=False
    )
    with_sudo(instance)

    # Back with sudo: the /usr/local/bin link returns; then everything goes.
    run_step(instance, record, "relink", as_user(instance, pipe))
    uninstall = f"curl -fsSL {shlex.quote(served.script_url)} | bash -s -- --uninstall"
    run_step(instance, record, "uninstall", as_user(instance, uninstall))


def describe(step: Step) -> str:
    return f"exit {step.result.returncode} after {step.seconds:.0f}s\n{step.output}"


# ---------------------------------------------------------------------------- must show


def test_the_instance_starts_without_venv_support(journey: Journey) -> None:
    # Otherwise the first install below would not prove that install.sh adds python3-venv.
    assert not journey.stock_has_ensurepip


def test_curl_pipe_bash_makes_the_command_work_in_the_same_shell(journey: Journey) -> None:
    step = journey.steps["first"]
    assert step.result.returncode == 0, describe(step)
    out = step.result.stdout
    assert "==> Installing python3-venv with apt-get" in out
    assert f"ok  jupyter-bootstrap {VERSION} installed" in out
    assert f"ok  linked {SYSTEM_LINK}\n" in out
    assert EXPORT_LINE not in out  # /usr/local/bin is on PATH already
    # The installer's last words, then `jupyter-bootstrap --version` from the same shell.
    assert out.endswith(
        f"Next, run:\n    jupyter-bootstrap init\njupyter-bootstrap, version {VERSION}\n"
    ), out
    assert re.search(r"warning|error", step.result.stderr) is None, step.result.stderr
    assert {SYSTEM_LINK, COMPLETION, f"{VENV}/bin/jupyter-bootstrap"} <= set(step.changed)


def test_the_second_run_is_up_to_date_and_changes_nothing(journey: Journey) -> None:
    step = journey.steps["second"]
    assert step.result.returncode == 0, describe(step)
    assert f"ok  jupyter-bootstrap {VERSION}: already up to date\n" in step.result.stdout
    assert "==>" not in step.result.stdout  # no apt, no venv, no pip
    assert step.changed == []


def test_a_truncated_copy_does_nothing(journey: Journey) -> None:
    step = journey.steps["truncated"]
    assert step.result.stdout == "", describe(step)
    assert step.changed == []


def test_root_is_refused_with_advice(journey: Journey) -> None:
    step = journey.steps["root"]
    assert step.result.returncode == 1, describe(step)
    assert step.result.stderr.startswith("error: refusing to run as root\n")
    assert "Run it as the login user (e.g. ubuntu), without sudo" in step.result.stderr
    assert step.changed == []


def test_without_sudo_on_a_stock_image_it_prints_the_exact_command(journey: Journey) -> None:
    step = journey.steps["no sudo, stock"]
    assert step.result.returncode == 1, describe(step)
    package = f"python{journey.python_version}-venv"
    assert f"the package {package} is missing" in step.result.stderr
    assert f"\n    sudo apt-get update && sudo apt-get install -y {package}\n" in step.result.stderr
    assert step.changed == []


def test_without_sudo_after_the_install_it_still_succeeds(journey: Journey) -> None:
    step = journey.steps["no sudo, installed"]
    assert step.result.returncode == 0, describe(step)
    assert "already up to date" in step.result.stdout
    assert step.result.stdout.endswith(f"jupyter-bootstrap, version {VERSION}\n")
    assert step.changed == []


def test_without_sudo_or_system_link_it_uses_local_bin(journey: Journey) -> None:
    step = journey.steps["no sudo, no link"]
    assert step.result.returncode == 0, describe(step)
    out = step.result.stdout
    assert "ok  linked ~/.local/bin/jupyter-bootstrap (no sudo -n" in out
    assert f"Run this first:\n    {EXPORT_LINE}\n" in out
    # Debian's and Ubuntu's ~/.profile add ~/.local/bin already: no profile edit. (~/.local
    # changes because bin/ is new in it.)
    assert step.changed == [f"{HOME}/.local", f"{HOME}/.local/bin", USER_LINK]
    # The next login (a new PuTTY session) finds the command.
    assert journey.new_login_version is not None
    assert journey.new_login_version.stdout == f"jupyter-bootstrap, version {VERSION}\n"


def test_uninstall_removes_the_venv_links_and_completion(journey: Journey) -> None:
    relink = journey.steps["relink"]
    assert relink.result.returncode == 0, describe(relink)
    assert f"ok  linked {SYSTEM_LINK}\n" in relink.result.stdout
    # ~/.local/bin (first on PATH) links the same venv: nothing to warn about.
    assert relink.result.stderr == ""
    step = journey.steps["uninstall"]
    assert step.result.returncode == 0, describe(step)
    for removed in (SYSTEM_LINK, "~/.local/bin/jupyter-bootstrap", VENV):
        shown = removed.replace(HOME, "~")
        assert f"ok  removed {shown}\n" in step.result.stdout
    assert "ok  removed ~/.local/share/bash-completion/completions/jupyter-bootstrap\n" in (
        step.result.stdout
    )
    gone = {SYSTEM_LINK, USER_LINK, COMPLETION, VENV, str(Path(VENV).parent)}
    assert gone <= set(step.changed)
