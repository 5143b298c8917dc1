"""Fixtures shared by every tier: a throw-away home, the account the CLI acts for, a
supported OS, no network beyond loopback, and conda publishers on loopback.

Helpers (the password, running the CLI) are in tests/support/cli.py; fixtures of one tier
only are in that tier's conftest.py."""

from __future__ import annotations

import os
import pwd
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from jupyter_bootstrap import account as account_module
from jupyter_bootstrap import derived
from jupyter_bootstrap import paths as paths_module
from jupyter_bootstrap.account import Account

if TYPE_CHECKING:
    from tests.support.fake_installer import InstallerSite

UBUNTU_2204 = 'NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="22.04"\nPRETTY_NAME="Ubuntu 22.04.4 LTS"\n'


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The EC2 metadata address and Let's Encrypt must never be tried by accident: tests
    that want instance metadata start a loopback server and point this at it, and those that
    order a certificate name their Pebble with --acme-directory (a closed loopback port
    otherwise: a refusal, never a request that leaves the machine)."""
    monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", "off")
    monkeypatch.setenv("JUPYTER_BOOTSTRAP_ACME_DIRECTORY", "https://127.0.0.1:9/directory")


@pytest.fixture
def os_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "os-release"
    path.write_text(UBUNTU_2204)
    monkeypatch.setattr(paths_module, "OS_RELEASE", path)
    return path


# Where the agent keeps what it derived (rendered templates, certificate facts), under HOME.
RECORDS_UNDER_HOME = derived.RECORD_DIR


@pytest.fixture(autouse=True)
def _records_kept_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test without a throw-away home keeps them in its own directory, never in the home
    of whoever runs the tests (the `home` fixture puts them back under its home)."""
    monkeypatch.setattr(derived, "RECORD_DIR", tmp_path / "derived-records")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, os_release: Path) -> Iterator[Path]:
    """A fresh home for the user Jupyter is set up for. The tests run as root in CI, which
    the agent refuses (rightly) without --user: the account is therefore pinned to the
    current uid with this home, as `--user` would do for a real login user."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(derived, "RECORD_DIR", RECORDS_UNDER_HOME)
    name = pwd.getpwuid(os.getuid()).pw_name
    pinned = Account(name, os.getuid(), os.getgid(), home)
    monkeypatch.setattr(account_module, "resolve", lambda user: pinned)
    yield home


@pytest.fixture
def jupyter_prefix() -> Path:
    """An environment with Jupyter Server and Notebook 7: the test environment itself."""
    prefix = Path(sys.prefix)
    if not (prefix / "bin" / "jupyter").exists():
        pytest.skip("the test environment has no jupyter command (install the test extras)")
    return prefix


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: Path) -> Iterator[InstallerSite]:
    """A machine without conda whose installer publishers are a loopback server (nothing
    published yet: each test publishes what it needs)."""
    from tests.support.fake_installer import installer_site  # only for the tests using it

    with installer_site(tmp_path, monkeypatch) as made:
        yield made


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Which browser tests/e2e/test_browser.py drives. Here and not in tests/e2e: pytest
    asks only the conftests it loads before collecting for the header."""
    from tests.support import browser

    return [f"browser: {browser.chromium_version()}; {browser.chromedriver_version()}"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under CI (JUPYTER_BOOTSTRAP_REQUIRE_E2E=1) nothing may be skipped: a skip there means
    a tier that must run (root, debootstrap, a real Jupyter) did not."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.skipped
        and os.environ.get("JUPYTER_BOOTSTRAP_REQUIRE_E2E") == "1"
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped, but CI must run every test: {report.longrepr}"


_OUTCOMES: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each test's outcome, for docs/reliability.md (a failure in setup or teardown counts
    as the test's)."""
    if report.when == "call" or report.outcome != "passed":
        _OUTCOMES[report.nodeid] = report.outcome


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from tests.support import reliability

    reliability.save_outcomes(_OUTCOMES)
