"""A real browser for the e2e tier: Debian's headless Chromium driven by Selenium through
Debian's chromedriver, trusting exactly the certificates a test imports into an NSS
database of its own.

Chromium on Linux adds the roots of `$HOME/.pki/nssdb` to its own, so each browser gets a
throw-away HOME (passed to chromedriver, whose children inherit it) and a fresh profile:
nothing the machine or an earlier browser trusted leaks in, and no flag loosens
certificate checks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, TypeVar

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The commands, with the Debian package that has each.
TOOLS = {CHROMIUM: "chromium", CHROMEDRIVER: "chromium-driver", "certutil": "libnss3-tools"}

FLAGS = (
    "--headless=new",
    "--no-sandbox",  # the tests run as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
    "--no-first-run",
    # Everything Chromium would fetch from Google on its own: the network here refuses it,
    # and the tests talk to 127.0.0.0/8 only.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A proxy in the environment would receive the names mapped to 127.0.0.1 below.
    "--no-proxy-server",
)

# The interstitial Chromium shows instead of a page whose certificate it refuses.
CERT_ERROR = re.compile(r"NET::(ERR_CERT_[A-Z_]+)")

# browserVersion of every session started, for the test run's summary.
SESSIONS: set[str] = set()

T = TypeVar("T")


def missing_tools() -> list[str]:
    """What this machine lacks to run the browser tests, as install hints."""
    missing = [
        f"{Path(tool).name} (apt-get install {package})"
        for tool, package in TOOLS.items()
        if shutil.which(tool) is None
    ]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    return missing


def chromium_version() -> str:
    """What `chromium --version` says (the Debian wrapper script's stderr noise aside)."""
    if shutil.which(CHROMIUM) is None:
        return "not installed"
    result = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    return result.stdout.strip() or f"unknown ({result.stderr.strip()})"


def chromedriver_version() -> str:
    if shutil.which(CHROMEDRIVER) is None:
        return "not installed"
    result = subprocess.run(
        [CHROMEDRIVER, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    return result.stdout.strip()


def version_number(text: str) -> str:
    """156.0.8078.114 from "Chromium 156.0.8078.114 built on Debian ..."."""
    found = re.search(r"\d+(?:\.\d+){1,3}", text)
    return found.group(0) if found else text


def certutil(db: Path, *args: str) -> None:
    subprocess.run(["certutil", "-d", f"sql:{db}", *args], check=True, capture_output=True)


def nss_home(home: Path, trusted: Sequence[Path]) -> Path:
    """A HOME whose NSS database is new and holds exactly `trusted` as trust anchors
    (`C,,`: trusted to issue server certificates)."""
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    certutil(db, "-N", "--empty-password")
    for number, certificate in enumerate(trusted):
        name = "jupyter-bootstrap" if number == 0 else f"jupyter-bootstrap-{number}"
        certutil(db, "-A", "-t", "C,,", "-n", name, "-i", str(certificate))
    return home


@contextmanager
def chromium(
    workdir: Path, trusted: Sequence[Path] = (), host_rules: Sequence[str] = ()
) -> Iterator[WebDriver]:
    """A headless Chromium in `workdir` (a fresh directory) trusting `trusted` alone;
    `host_rules` are host resolver rules such as "MAP name.test 127.0.0.1"."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.proxy import Proxy, ProxyType
    from selenium.webdriver.remote.client_config import ClientConfig

    home = nss_home(workdir / "home", trusted)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={workdir / 'profile'}")
    # Every other name resolves to nothing: whatever the browser tries, it reaches loopback
    # only.
    rules = [*host_rules, "MAP * ~NOTFOUND", "EXCLUDE localhost", "EXCLUDE 127.0.0.1"]
    options.add_argument(f"--host-resolver-rules={', '.join(rules)}")
    options.accept_insecure_certs = False
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TMPDIR": str(workdir),
    }
    # Our own driver path: Selenium would otherwise run its manager, which downloads.
    service = Service(
        executable_path=CHROMEDRIVER, env=env, log_output=str(workdir / "chromedriver.log")
    )
    service.start()
    try:
        # Selenium's own requests to chromedriver on loopback must not go to a proxy.
        direct = Proxy()
        direct.proxy_type = ProxyType.DIRECT
        config = ClientConfig(remote_server_addr=service.service_url, proxy=direct)
        driver = webdriver.Remote(service.service_url, options=options, client_config=config)
        try:
            SESSIONS.add(str(driver.capabilities.get("browserVersion", "?")))
            yield driver
        finally:
            driver.quit()
    finally:
        service.stop()


def certificate_error(driver: WebDriver) -> Optional[str]:
    """The NET::ERR_CERT_... code if Chromium shows its certificate interstitial."""
    # The code is in the interstitial's text; its source holds it only in escaped data.
    text = driver.execute_script("return document.body ? document.body.innerText : ''")
    found = CERT_ERROR.search(str(text))
    return found.group(1) if found else None


def wait_for(
    driver: WebDriver, condition: Callable[[WebDriver], T], what: str, timeout: float = 60
) -> T:
    """What `condition` returns once that is truthy, or a failure naming `what` and the
    page the browser was on."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    # Jupyter's pages re-render as they load: an element found a moment ago may be gone,
    # and the condition is simply tried again.
    waiting = WebDriverWait(
        driver, timeout, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]
    )
    try:
        return waiting.until(condition)
    except TimeoutException:
        raise AssertionError(
            f"{what}: not within {timeout} s; the browser is on {driver.current_url} "
            f"({driver.title!r})"
        ) from None
