"""Jupyter in a real browser: headless Chromium (Debian's, driven by Selenium) against the
service on real systemd, trusting nothing but the certificate `jupyter-bootstrap cert
export` hands the user.

What a user does after `init`, in order, in one instance: export the certificate and
trust it, log in, run a cell, open a terminal; then the same with JupyterLab, through an
SSH tunnel's loopback address, and under a name of their own. The tests build on each
other and run in file order. The instance shares the host's network, so the browser
reaches the server at 127.0.0.1:PORT (or a name mapped there inside Chromium).

Set JUPYTER_BOOTSTRAP_SCREENSHOT_DIR to keep the screenshots (tools/screenshots.sh).
"""

from __future__ import annotations

import base64
import os
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

import pytest

from tests.e2e.instance import SystemdInstance
from tests.support import browser as chromium
from tests.support import jupyter_pages as pages
from tests.support.e2e_agent import HOME, PASSWORD, USER, prepare, run_agent, wait_until
from tests.support.net import free_port
from tests.support.report import step_states
from tests.support.require import skip_or_fail

if TYPE_CHECKING:
    import subprocess

    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.e2e

JUPYTER_ENV = f"{HOME}/jupyter-env"
NOTEBOOKS = f"{HOME}/Notebooks"
EXPORTED = f"{HOME}/jupyter.crt"
SCREENSHOT_ENV = "JUPYTER_BOOTSTRAP_SCREENSHOT_DIR"
HOSTNAME = "jb.example.test"
OTHER_NAME = "other.example.test"  # mapped to the same server, but not in its certificate
PRINT_42 = "print(6 * 7)"
# JupyterLab asks once whether to fetch Jupyter's news from the internet; a user who
# answered "no" has this file (and the screenshot does not carry the question).
LAB_NEWS_SETTINGS = (
    f"{HOME}/.jupyter/lab/user-settings/@jupyterlab/apputils-extension/"
    "notification.jupyterlab-settings"
)


@dataclass
class Box:
    """The instance with the agent installed and `init` done, and the port it serves."""

    instance: SystemdInstance
    port: int
    tmp: Path

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def agent(self, *args: str, input: Optional[str] = None) -> subprocess.CompletedProcess[str]:
        return run_agent(self.instance, *args, input=input)

    def root(self, cmd: str, check: bool = True) -> str:
        return self.instance.run(cmd, check=check).stdout.strip()

    def export_certificate(self) -> Path:
        """What `jupyter-bootstrap cert export` writes for the user to copy to their
        computer, copied out of the instance."""
        self.agent("cert", "export", "-o", EXPORTED)
        local = self.tmp / f"exported-{uuid.uuid4().hex}.crt"
        local.write_text(self.instance.read_file(EXPORTED, user=USER))
        return local

    def listening(self) -> set[str]:
        """The local addresses the server listens on (ADDRESS:PORT)."""
        lines = self.root(f"ss -Hltn 'sport = :{self.port}'").splitlines()
        return {line.split()[3] for line in lines}

    def file_text(self, path: str) -> Optional[str]:
        result = self.instance.run(f"cat -- {path}", user=USER, check=False)
        return result.stdout.strip() if result.returncode == 0 else None


@pytest.fixture(scope="module")
def box(
    systemd_instance_factory: Callable[[], SystemdInstance],
    agent_wheel: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Box]:
    missing = chromium.missing_tools()
    if missing:
        skip_or_fail(f"no browser to drive: missing {', '.join(missing)}")
    instance = systemd_instance_factory()
    try:
        prepare(instance, agent_wheel, JUPYTER_ENV)
        made = Box(instance, free_port(), tmp_path_factory.mktemp("browser"))
        result = made.agent(
            "init", "--prefix", JUPYTER_ENV, "--password-stdin", "--port", str(made.port),
            input=PASSWORD + "\n",
        )  # fmt: skip
        assert step_states(result.stdout)["health"] == "ok", result.stdout
        yield made
    finally:
        instance.shutdown()


@pytest.fixture(scope="module")
def exported(box: Box) -> Path:
    return box.export_certificate()


@pytest.fixture(scope="module")
def browser(box: Box, exported: Path) -> Iterator[WebDriver]:
    """One Chromium for the tests that trust the first certificate (their pages and
    cookies carry over, like a user's browser)."""
    workdir = box.tmp / "trusting"
    workdir.mkdir()
    with chromium.chromium(workdir, trusted=[exported]) as driver:
        yield driver


def screenshot(driver: WebDriver, name: str, tmp_path: Path) -> Path:
    """A PNG of the page, kept in $JUPYTER_BOOTSTRAP_SCREENSHOT_DIR when that is set."""
    folder = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    assert driver.save_screenshot(str(path)), f"no screenshot of {driver.current_url}"
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and path.stat().st_size > 1000
    return path


def assert_loads_without_certificate_error(driver: WebDriver, url: str) -> None:
    driver.get(url)
    assert chromium.certificate_error(driver) is None, f"{url}: {pages.page_text(driver)}"
    assert driver.title != "Privacy error"
    pages.jupyter_page(driver)


def run_42(driver: WebDriver, base: str, app: str, tag: str) -> None:
    """A new notebook whose first cell prints 42: the page, the kernel, and the secure
    websocket between them."""
    notebook = f"browser-{tag}.ipynb"
    pages.new_notebook(driver, notebook)
    assert pages.run_first_cell(driver, base, app, notebook, PRINT_42) == "42"


def type_in_a_terminal(box: Box, driver: WebDriver, base: str, app: str, tag: str) -> None:
    """A command typed into a new terminal leaves its file in the notebook folder."""
    made = f"{NOTEBOOKS}/terminal-{tag}.txt"
    keys = pages.open_terminal(driver, base, app)
    keys.send_keys(f"echo {tag}-$((6*7)) > {made}\n")
    wait_until(lambda: box.file_text(made) == f"{tag}-42", 30, f"{made} from the terminal")


# -- trust: the exported certificate, and nothing else ---------------------------------------


def test_the_exported_certificate_is_the_one_the_server_presents(box: Box, exported: Path) -> None:
    pem = exported.read_text()
    assert pem.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE KEY" not in pem
    served = ssl.get_server_certificate(("127.0.0.1", box.port))
    assert ssl.PEM_cert_to_DER_cert(served) == ssl.PEM_cert_to_DER_cert(pem)
    box.agent("cert", "export", "--format", "der", "-o", f"{HOME}/jupyter.cer")
    der = base64.b64decode(box.root(f"base64 -w0 {HOME}/jupyter.cer"))
    assert der == ssl.PEM_cert_to_DER_cert(pem)
    assert box.listening() == {f"0.0.0.0:{box.port}"}


def test_without_it_chromium_shows_its_certificate_warning(box: Box, tmp_path: Path) -> None:
    """The check below can fail: the same page in a browser with an empty trust store."""
    with chromium.chromium(tmp_path, trusted=[]) as driver:
        driver.get(f"{box.base}/")
        assert chromium.certificate_error(driver) == "ERR_CERT_AUTHORITY_INVALID"
        assert driver.title == "Privacy error"


def test_trusting_it_the_login_page_loads_with_no_warning(box: Box, browser: WebDriver) -> None:
    assert browser.capabilities["acceptInsecureCerts"] is False
    assert chromium.version_number(chromium.chromium_version()) == browser.capabilities.get(
        "browserVersion"
    )
    assert_loads_without_certificate_error(browser, f"{box.base}/")


# -- Notebook 7, as init sets it up ----------------------------------------------------------


def test_a_wrong_password_is_refused_on_the_page(box: Box, browser: WebDriver) -> None:
    pages.submit_password(browser, box.base, "not the password")
    assert "Invalid credentials" in pages.refused_with(browser)
    assert not browser.find_elements("css selector", ".jp-DirListing-content")


def test_the_password_opens_the_file_browser(box: Box, browser: WebDriver) -> None:
    pages.log_in(browser, box.base, PASSWORD, "notebook")
    assert browser.current_url.startswith(f"{box.base}/tree")


def test_a_new_notebook_runs_a_cell_over_a_secure_websocket(
    box: Box, browser: WebDriver, tmp_path: Path
) -> None:
    # Its own login: tools/screenshots.sh runs this test without the ones above.
    pages.log_in(browser, box.base, PASSWORD, "notebook")
    run_42(browser, box.base, "notebook", "notebook")
    screenshot(browser, "notebook.png", tmp_path)


def test_a_terminal_runs_what_is_typed_into_it(box: Box, browser: WebDriver) -> None:
    type_in_a_terminal(box, browser, box.base, "notebook", "notebook")


# -- the same with JupyterLab, then only through a tunnel --------------------------------------


def test_jupyterlab_logs_in_runs_a_cell_and_a_terminal(
    box: Box, browser: WebDriver, tmp_path: Path
) -> None:
    box.instance.write_file(LAB_NEWS_SETTINGS, '{"fetchNews": "false"}\n', owner=USER)
    result = box.agent("init", "--app", "lab")
    assert step_states(result.stdout)["health"] == "ok", result.stdout
    assert_loads_without_certificate_error(browser, f"{box.base}/")
    pages.log_in(browser, box.base, PASSWORD, "lab")
    run_42(browser, box.base, "lab", "lab")
    screenshot(browser, "lab.png", tmp_path)
    type_in_a_terminal(box, browser, box.base, "lab", "lab")


def test_tunnel_access_listens_on_loopback_and_works_at_localhost(
    box: Box, browser: WebDriver
) -> None:
    """What an SSH tunnel delivers: the browser at https://localhost:PORT, the server on
    127.0.0.1 alone (and its certificate names localhost)."""
    result = box.agent("init", "--access", "tunnel")
    assert step_states(result.stdout)["health"] == "ok", result.stdout
    assert box.listening() == {f"127.0.0.1:{box.port}"}
    local = f"https://localhost:{box.port}"
    assert_loads_without_certificate_error(browser, f"{local}/")
    pages.log_in(browser, local, PASSWORD, "lab")
    run_42(browser, local, "lab", "tunnel")
    type_in_a_terminal(box, browser, local, "lab", "tunnel")


# -- a name of the user's own: what the certificate lists is what the browser accepts ----------


def test_a_hostname_is_accepted_and_a_name_not_in_the_certificate_is_not(
    box: Box, exported: Path, tmp_path: Path
) -> None:
    result = box.agent("init", "--hostname", HOSTNAME, "--access", "public")
    states = step_states(result.stdout)
    assert (states["certificate"], states["health"]) == ("changed", "ok"), result.stdout
    renewed = box.export_certificate()
    assert renewed.read_text() != exported.read_text()
    rules = [f"MAP {HOSTNAME} 127.0.0.1", f"MAP {OTHER_NAME} 127.0.0.1"]
    with chromium.chromium(tmp_path, trusted=[renewed], host_rules=rules) as driver:
        named = f"https://{HOSTNAME}:{box.port}"
        assert_loads_without_certificate_error(driver, f"{named}/")
        pages.log_in(driver, named, PASSWORD, "lab")
        driver.get(f"https://{OTHER_NAME}:{box.port}/")
        assert chromium.certificate_error(driver) == "ERR_CERT_COMMON_NAME_INVALID"
