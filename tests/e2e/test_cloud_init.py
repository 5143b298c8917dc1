"""Unattended first boot through real cloud-init (issue 14): an instance with Debian's
cloud-init boots with a NoCloud seed holding what `jupyter-bootstrap cloud-init` printed,
and nobody types a command.

Where everything comes from, as on EC2 but on loopback: install.sh and the agent's wheel
from this test's HTTP server (--install-url, --source), the conda installer too (the tests'
Miniforge stand-in, tests/support/fake_installer.py, via init's --installer-url and
--installer-sha256, passed on by the command); its `jupyter` runs the Jupyter the image
holds (tests/e2e/cloud_image.py). Only Debian's and PyPI's packages come from outside:
python3-venv (install.sh adds it, as on a stock Ubuntu image) and the agent's dependencies.

Two instances: one whose first boot sets Jupyter up (then a reboot that must run nothing
again), and one whose conda installer is missing at first boot (a mirror that is down),
which the user repairs later with a plain `jupyter-bootstrap init`.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import pytest
import requests
import urllib3

from tests.e2e.cloud_image import JUPYTER_PREFIX, cloud_init_tarball
from tests.e2e.instance import SystemdInstance, _write_root_file, ensure_prerequisites
from tests.support.e2e_agent import HOME, USER, assert_login_works, run_agent, wait_for_https
from tests.support.fake_installer import miniforge_using, sha256
from tests.support.install_agent import Served, serve_installer
from tests.support.net import free_port

pytestmark = pytest.mark.e2e

# Typed into `jupyter-bootstrap cloud-init` on this machine only; the instance gets its hash.
PASSWORD = "first boot, nobody typing"
INSTALLER = f"Miniforge3-Linux-{os.uname().machine}.sh"
SERVED_INSTALLER = f"/miniforge/{INSTALLER}"
LATE_INSTALLER = f"/late/{INSTALLER}"  # not served until the "mirror" is back
OUTPUT_LOG = "/var/log/cloud-init-output.log"
AGENT_LOG = f"{HOME}/.local/state/jupyter-bootstrap/jupyter-bootstrap.log"
# apt, pip and conda at first boot: about a minute here; generous for slow mirrors.
FIRST_BOOT_TIMEOUT = 900.0
# Places a plaintext password could end up, inside the instance.
SEARCHED = "/etc /home /root /tmp /var/tmp /var/lib/cloud /var/log /var/cache/jb-e2e-pip"


@dataclass
class Launched:
    """One instance launched with user data: how long it took, and what it served."""

    instance: SystemdInstance
    served: Served
    port: int
    document: str
    tmp: Path
    first_boot_seconds: float = 0.0
    https_after_seconds: Optional[float] = None
    notes: dict[str, str] = field(default_factory=dict)

    def root(self, cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.instance.run(cmd, check=check, timeout=120)

    def cafile(self) -> str:
        """The certificate as `cert export` gives it to the user, for verified TLS."""
        pem = run_agent(self.instance, "cert", "export").stdout
        path = self.tmp / f"cert-{uuid.uuid4().hex}.pem"
        path.write_text(pem)
        return str(path)


def user_data(served: Served, installer_path: str, digest: str, port: int, form: str) -> str:
    """What an operator runs on their own machine, password on stdin."""
    argv = [
        sys.executable, "-m", "jupyter_bootstrap", "cloud-init", "--format", form,
        "--password-stdin", "--install-url", served.script_url, "--source", served.wheel_url,
        "--installer-url", served.server.url(installer_path), "--installer-sha256", digest,
        "--port", str(port),
    ]  # fmt: skip
    result = subprocess.run(
        argv, input=PASSWORD + "\n", capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stdout
    return result.stdout


def seed(document: str) -> Callable[[Path], None]:
    """What the cloud puts in place before power-on: the NoCloud seed, and (this being a
    test) no instance metadata lookups anywhere inside, cloud-init's services included."""

    def write(root: Path) -> None:
        meta = f"instance-id: iid-jb-e2e-{uuid.uuid4().hex[:12]}\nlocal-hostname: jb-e2e\n"
        _write_root_file(root, "var/lib/cloud/seed/nocloud/meta-data", meta, 0o600)
        _write_root_file(root, "var/lib/cloud/seed/nocloud/user-data", document, 0o600)
        _write_root_file(
            root,
            "etc/systemd/system.conf.d/90-jb-e2e.conf",
            "[Manager]\nDefaultEnvironment=JUPYTER_BOOTSTRAP_METADATA_URL=off\n",
        )

    return write


class HttpsWatch:
    """Notes when Jupyter first answers over HTTPS on `port`, while the boot runs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.started = time.monotonic()
        self.answered: Optional[float] = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        session = requests.Session()
        session.trust_env = False
        while not self._stop.is_set():
            try:
                # Only when it first answers; the login is checked properly afterwards.
                url = f"https://127.0.0.1:{self.port}/api"
                if session.get(url, verify=False, timeout=2).status_code == 200:
                    self.answered = time.monotonic() - self.started
                    return
            except requests.RequestException:
                pass
            self._stop.wait(0.5)

    def stop(self, grace: float) -> Optional[float]:
        """The first answer's time, waiting up to `grace` seconds more for it: a poll in
        flight when the boot ends (a slow handshake on a loaded machine) still counts."""
        self._thread.join(timeout=grace)
        self._stop.set()
        self._thread.join(timeout=5)
        return self.answered


def launch(
    served: Served, document: str, port: int, tmp: Path, answer_grace: float = 0.0
) -> Launched:
    """Boot a fresh instance from the cloud-init image with `document` as its user data, and
    wait, typing nothing, until systemd has finished booting: cloud-init's final stage (and
    with it the user data) is part of the boot."""
    instance = SystemdInstance(tarball=cloud_init_tarball(), before_first_boot=seed(document))
    launched = Launched(instance, served, port, document, tmp)
    watch = HttpsWatch(port)
    started = time.monotonic()
    try:
        instance.start(timeout=FIRST_BOOT_TIMEOUT)
    finally:
        launched.first_boot_seconds = time.monotonic() - started
        launched.https_after_seconds = watch.stop(grace=answer_grace)
    return launched


# -- the first boot that works ----------------------------------------------------------------


@pytest.fixture(scope="module")
def site(agent_wheel: Path) -> Iterator[tuple[Served, bytes]]:
    """install.sh, the wheel and the Miniforge stand-in, served on loopback."""
    ensure_prerequisites()
    installer = miniforge_using(JUPYTER_PREFIX)
    with serve_installer(agent_wheel, {SERVED_INSTALLER: installer}) as served:
        yield served, installer


@pytest.fixture(scope="module")
def booted(
    site: tuple[Served, bytes], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Launched]:
    served, installer = site
    port = free_port()
    document = user_data(served, SERVED_INSTALLER, sha256(installer), port, "cloud-config")
    tmp = tmp_path_factory.mktemp("first-boot")
    launched = launch(served, document, port, tmp, answer_grace=30.0)
    try:
        answered = launched.https_after_seconds
        print(
            f"\nfirst boot: {launched.first_boot_seconds:.0f} s until booted; HTTPS answered "
            + ("never" if answered is None else f"after {answered:.0f} s")
        )
        yield launched
    finally:
        launched.instance.shutdown()


def test_first_boot_serves_jupyter_and_the_password_logs_in(booted: Launched) -> None:
    output = booted.root(f"cat {OUTPUT_LOG}").stdout
    assert "jupyter-bootstrap first boot: done" in output, output[-4000:]
    # It answered by itself, nobody typing, as the boot finished.
    assert booted.https_after_seconds is not None
    assert booted.root("systemctl is-active jupyter.service").stdout.strip() == "active"
    assert_login_works(booted.port, booted.cafile(), PASSWORD)


def test_cloud_init_says_done_without_errors(booted: Launched) -> None:
    long = booted.root("cloud-init status --long").stdout
    assert "status: done" in long, long
    assert "error" not in long.lower(), long


def test_the_login_user_runs_the_command_in_a_login_shell(booted: Launched) -> None:
    found = booted.instance.run("command -v jupyter-bootstrap", user=USER).stdout.strip()
    assert found == "/usr/local/bin/jupyter-bootstrap"
    status = run_agent(booted.instance, "status")  # exit 0 asserted
    assert "All good." in status.stdout


def test_everything_in_the_users_home_is_theirs_and_root_got_nothing(booted: Launched) -> None:
    strangers = booted.root(f"find {HOME} ! -user {USER}").stdout
    assert strangers == ""
    assert booted.root("test -e /root/.local/share/jupyter-bootstrap", check=False).returncode
    venv = f"{HOME}/.local/share/jupyter-bootstrap/venv"
    assert booted.root(f"stat -c %U {venv}/bin/jupyter-bootstrap").stdout.strip() == USER


def test_no_plaintext_password_anywhere(booted: Launched) -> None:
    assert PASSWORD not in booted.document
    assert "argon2:$argon2id$" in booted.document
    quoted = shlex.quote(PASSWORD)
    found = booted.root(f"grep -rlF -- {quoted} {SEARCHED} 2>/dev/null", check=False)
    assert found.stdout == "", found.stdout
    journal = booted.root(f"journalctl -b --no-pager | grep -cF -- {quoted}", check=False)
    assert journal.stdout.strip() == "0"


def test_a_reboot_runs_nothing_again_and_jupyter_comes_back(booted: Launched) -> None:
    server = booted.served.server
    fetched = {"/install.sh": 1, SERVED_INSTALLER: 1}
    assert {path: len(server.requests(path, "GET")) for path in fetched} == fetched
    booted.instance.reboot(timeout=300, clean=True)
    cafile = booted.cafile()
    wait_for_https(booted.port, cafile, timeout=120)
    assert_login_works(booted.port, cafile, PASSWORD)
    assert {path: len(server.requests(path, "GET")) for path in fetched} == fetched
    output = booted.root(f"cat {OUTPUT_LOG}").stdout
    assert output.count("jupyter-bootstrap first boot: downloading install.sh") == 1
    long = booted.root("cloud-init status --long").stdout
    assert "status: done" in long and "error" not in long.lower(), long
    run_agent(booted.instance, "status")


# -- the first boot that fails --------------------------------------------------------------


@pytest.fixture(scope="module")
def failed(
    site: tuple[Served, bytes], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Launched]:
    """The installer's address answers 404 at first boot, like a mirror that is down."""
    served, installer = site
    port = free_port()
    document = user_data(served, LATE_INSTALLER, sha256(installer), port, "script")
    launched = launch(served, document, port, tmp_path_factory.mktemp("failed-boot"))
    try:
        yield launched
    finally:
        launched.instance.shutdown()


def test_a_failed_first_boot_says_so_in_cloud_inits_output(failed: Launched) -> None:
    output = failed.root(f"cat {OUTPUT_LOG}").stdout
    assert "jupyter-bootstrap first boot: FAILED: jupyter-bootstrap init stopped" in output
    assert "run `jupyter-bootstrap status`: it says what failed" in output
    assert "error: conda:" in output and "404" in output, output[-4000:]
    agent_log = failed.root(f"cat {AGENT_LOG}").stdout
    assert "404" in agent_log
    long = failed.root("cloud-init status --long", check=False).stdout
    assert "status: error" in long, long


def test_status_says_what_failed_and_init_repairs_it(
    failed: Launched, site: tuple[Served, bytes]
) -> None:
    status = run_agent(failed.instance, "status", code=3)
    text = " ".join(status.stdout.split())
    assert "The setup at first boot (cloud-init) failed" in text
    assert "at the conda step" in text and "404" in text
    assert "Run `jupyter-bootstrap init` to repair it" in text
    # The mirror is back; the user repairs it, typing no flag and no password.
    failed.served.server.add(LATE_INSTALLER, site[1])
    run_agent(failed.instance, "init")
    assert_login_works(failed.port, failed.cafile(), PASSWORD)
    healthy = run_agent(failed.instance, "status")
    assert "failed" not in healthy.stdout
