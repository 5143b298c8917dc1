"""Fixtures of the unit tier: the stand-in systemd, a port for Jupyter, a bare loopback
file server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_systemd import FakeSystemd
from tests.support.installer_server import InstallerServer
from tests.support.net import free_port


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path) -> FakeSystemd:
    """Stand-in systemctl, journalctl and sudo (tests/support/fake_systemd.py) on PATH."""
    # Imported here, not at the top: a conftest that fails to import stops every test of
    # the tier, not only the ones that use this fixture.
    from jupyter_bootstrap import https_probe
    from jupyter_bootstrap.https_probe import ProbeResult

    installed = FakeSystemd.install(tmp_path, monkeypatch)
    # No server really starts: the health probe answers for it.
    monkeypatch.setattr(
        https_probe, "probe", lambda target: ProbeResult(True, f"{target.url} answers")
    )
    return installed


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def installer_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallerServer]:
    """An empty loopback server (tests/support/installer_server.py), reached without a proxy
    even when the environment names one."""
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    with InstallerServer() as server:
        yield server
