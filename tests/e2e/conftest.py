"""Fixtures that boot real systemd instances (see instance.py for how and what they cost).

Every fixture here skips the test when this machine cannot boot an instance (not root, no
debootstrap/unshare/nsenter, no cgroup2), and fails it instead when
JUPYTER_BOOTSTRAP_REQUIRE_E2E=1, as CI sets it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import platforms
from tests.e2e.instance import (
    InstanceFactory,
    SystemdInstance,
    base_tarball,
    ensure_prerequisites,
)
from tests.support import browser
from tests.support.install_agent import build_wheel


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The version each browser session reported itself (what was really driven), and how
    long the journey took on each Debian release."""
    if browser.SESSIONS:
        versions = ", ".join(sorted(browser.SESSIONS))
        terminalreporter.write_line(f"browser sessions: Chromium {versions} (headless)")
    for line in platforms.summary_lines():
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def systemd_instance_factory() -> Iterator[InstanceFactory]:
    """Make fresh, booted instances on demand; all of them are shut down after the session."""
    ensure_prerequisites()
    tarball = base_tarball()  # built once (about a minute), cached between sessions
    made: list[SystemdInstance] = []

    def make() -> SystemdInstance:
        instance = SystemdInstance(tarball=tarball)
        made.append(instance)
        instance.start()
        return instance

    try:
        yield make
    finally:
        errors = []
        for instance in made:
            try:
                instance.shutdown()
            except Exception as exc:  # shut the others down anyway, report at the end
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture(scope="session")
def systemd_instance(systemd_instance_factory: InstanceFactory) -> SystemdInstance:
    """One booted instance shared by the whole session (tests may change it: mind order)."""
    return systemd_instance_factory()


@pytest.fixture
def fresh_systemd_instance(
    systemd_instance_factory: InstanceFactory,
) -> Iterator[SystemdInstance]:
    """A booted instance of its own for one test, like a just-launched cloud instance."""
    instance = systemd_instance_factory()
    try:
        yield instance
    finally:
        instance.shutdown()


@pytest.fixture(scope="session")
def agent_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of the checkout, built once for every module that installs the agent."""
    return build_wheel(tmp_path_factory.mktemp("wheel"))
