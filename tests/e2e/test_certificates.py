"""The certificate's life on real systemd, as user ubuntu in one booted Debian instance
(tests/e2e/instance.py), in file order like a user's weeks on one machine:

1. self-signed, with the renewal timer and its boot-time unit; the instance "comes back
   with a new public IP" (the metadata stand-in says so) and after a reboot, before Jupyter
   starts and with no `init`, the certificate covers it;
2. a certificate from an ACME CA (Pebble on this host, checking ports 443 and 80 like Let's
   Encrypt) that the login user gets through a unit lending it CAP_NET_BIND_SERVICE alone:
   tls-alpn-01 first, http-01 when nothing answers on 443;
3. a forced renewal while a kernel runs: a new certificate, the same Jupyter, the same
   kernel state;
4. a real browser whose one added trust anchor is Pebble's root;
5. uninstall takes the renewal units away.

The instance shares the host's network: the metadata stand-in and Pebble run on the host,
on loopback, and the instance reaches them at the same addresses; Pebble connects to
127.0.0.1:443 and :80, where the agent inside answers. Every agent call carries the
stand-in's URL (and the renewal units carry it from there), so nothing ever asks the real
metadata address.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import pytest
from cryptography import x509

from jupyter_bootstrap.acme_names import ALLOW_LOOPBACK_ENV
from jupyter_bootstrap.service import port_owner
from tests.e2e.instance import SystemdInstance
from tests.support import browser as chromium
from tests.support import jupyter_pages as pages
from tests.support.e2e_agent import (
    HOME,
    PASSWORD,
    USER,
    login,
    prepare,
    run_agent,
    wait_for_https,
    wait_until,
)
from tests.support.jupyter_kernels import execute, start_kernel
from tests.support.metadata_server import MetadataServer, metadata_service
from tests.support.net import free_port
from tests.support.pebble import Pebble, pebble_command
from tests.support.report import step_states
from tests.support.require import skip_or_fail

pytestmark = pytest.mark.e2e

JUPYTER_ENV = f"{HOME}/jupyter-env"
CERTFILE = f"{HOME}/certs/mycert.pem"
STATE = f"{HOME}/.local/state/jupyter-bootstrap"
RECORD = f"{STATE}/certificate.json"
UNIT = "jupyter.service"
RENEWAL = "jupyter-certificate.service"
TIMER = "jupyter-certificate.timer"
RENEWAL_PATH = f"/etc/systemd/system/{RENEWAL}"
TIMER_PATH = f"/etc/systemd/system/{TIMER}"
# In the home, not /tmp: the renewal unit has a /tmp of its own (PrivateTmp=yes).
CA_BUNDLE = f"{HOME}/pebble-ca-bundle.pem"
# What an EC2 instance gets after a stop/start: any address of 127.0.0.0/8 is this machine.
FIRST_IP, NEW_IP = "127.0.0.1", "127.0.0.2"
# Where Let's Encrypt connects (and Pebble here): the challenge ports the agent defaults to.
CA_CHECKS_TLS, CA_CHECKS_HTTP = 443, 80
# A tls-alpn-01 responder where the CA does not connect: that check fails, http-01 remains.
ELSEWHERE = 4443
PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?", re.S)


@dataclass
class Box:
    """The instance with the agent installed, the port Jupyter serves, and the environment
    every agent call gets (the metadata stand-in, later the loopback switch for the CA)."""

    instance: SystemdInstance
    port: int
    tmp: Path
    metadata: MetadataServer
    env: dict[str, str] = field(default_factory=dict)

    def agent(
        self, *args: str, input: Optional[str] = None, code: Optional[int] = 0
    ) -> subprocess.CompletedProcess[str]:
        return run_agent(self.instance, *args, input=input, code=code, env=self.env)

    def root(self, cmd: str, check: bool = True) -> str:
        return self.instance.run(cmd, check=check).stdout.strip()

    def main_pid(self) -> int:
        return int(self.root(f"systemctl show -p MainPID --value {UNIT}") or 0)

    def started_this_boot(self) -> list[str]:
        """The units whose start job systemd finished in this boot, in that order: for a
        oneshot unit that is when its program exited ("Finished"), for Jupyter when it was
        started. Read from PID 1's structured journal entries, not their wording."""
        # `journalctl -b` is no help: the boot id is the host kernel's, the same for every
        # boot of the instance. This boot began when its systemd did, on the host's
        # monotonic clock, which the journal's timestamps share.
        booted = int(self.root("systemctl show -p UserspaceTimestampMonotonic --value"))
        assert booted > 0, "systemd does not say when it started"
        self.root("journalctl --sync")  # what PID 1 logged so far is in before we read
        out = self.root("journalctl -o json --no-pager _PID=1 JOB_TYPE=start JOB_RESULT=done")
        entries = [json.loads(line) for line in out.splitlines()]
        return [
            str(entry.get("UNIT", ""))
            for entry in entries
            if int(entry["__MONOTONIC_TIMESTAMP"]) >= booted
        ]

    def jupyter_starts(self) -> int:
        return self.started_this_boot().count(UNIT)

    def certificate_file(self) -> Path:
        """The certificate(s) of the file Jupyter serves, without the key, copied out: what
        a user would trust for a self-signed one."""
        data = self.instance.read_file(CERTFILE).encode()
        path = self.tmp / f"served-{len(list(self.tmp.glob('served-*')))}.pem"
        path.write_bytes(b"".join(PEM_BLOCK.findall(data)))
        return path

    def record(self) -> dict[str, object]:
        """The renewal record: when the CA was last asked, and how it checked the machine."""
        document: dict[str, object] = json.loads(self.instance.read_file(RECORD))
        return document


def served(port: int, host: str = "127.0.0.1", cafile: Optional[Path] = None) -> x509.Certificate:
    """The certificate a new connection to host:port gets; with `cafile`, the connection is
    verified against that file alone, for the name `host`."""
    if cafile is None:
        return x509.load_pem_x509_certificate(ssl.get_server_certificate((host, port)).encode())
    context = ssl.create_default_context(cafile=str(cafile))
    with (
        socket.create_connection((host, port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def ip_addresses(certificate: x509.Certificate) -> set[str]:
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(address) for address in names.get_values_for_type(x509.IPAddress)}


@pytest.fixture(scope="module")
def metadata() -> Iterator[MetadataServer]:
    """EC2's metadata service on loopback; the instance reaches it at the same URL."""
    with metadata_service(public_ipv4=FIRST_IP) as server:
        yield server


@pytest.fixture(scope="module")
def box(
    systemd_instance_factory: Callable[[], SystemdInstance],
    agent_wheel: Path,
    metadata: MetadataServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Box]:
    instance = systemd_instance_factory()
    try:
        prepare(instance, agent_wheel, JUPYTER_ENV)
        yield Box(
            instance,
            free_port(),
            tmp_path_factory.mktemp("certificates"),
            metadata,
            {"JUPYTER_BOOTSTRAP_METADATA_URL": metadata.url},
        )
    finally:
        instance.shutdown()


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    """Pebble checking the standard ports, as Let's Encrypt does. It only connects to them;
    the agent inside the instance (the same network) must be able to listen there."""
    if pebble_command() is None:
        skip_or_fail("pebble (Let's Encrypt's ACME test server) is not installed")
    for port in (CA_CHECKS_TLS, CA_CHECKS_HTTP):
        holders = port_owner.holders(port)
        if holders or port_owner.listening_inodes(port):
            who = ", ".join(h.describe() for h in holders) or "a process we cannot see"
            pytest.fail(
                f"port {port} is taken on this host ({who}); the CA's checks of the agent in "
                "the instance need it free"
            )
    running = Pebble(
        tmp_path_factory.mktemp("pebble"), http_port=CA_CHECKS_HTTP, tls_port=CA_CHECKS_TLS
    )
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def pebble_root(pebble: Pebble, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root of what this Pebble issues (made anew at each start): the one trust anchor
    of every client below."""
    path = tmp_path_factory.mktemp("pebble-root") / "pebble-root.pem"
    path.write_bytes(pebble.root_pem())
    return path


# -- 1. self-signed: a new public IP is in the certificate after a reboot ----------------------


def test_init_installs_the_renewal_units_carrying_the_metadata_url(box: Box) -> None:
    result = box.agent(
        "init", "--prefix", JUPYTER_ENV, "--password-stdin", "--port", str(box.port),
        input=PASSWORD + "\n",
    )  # fmt: skip
    states = step_states(result.stdout)
    assert (states["certificate"], states["renewal"], states["health"]) == (
        "changed", "changed", "ok",
    ), result.stdout  # fmt: skip
    assert "GET /latest/meta-data/public-ipv4" in box.metadata.requests
    # The unit runs without anyone logged in: it must ask the same metadata service.
    text = box.instance.read_file(RENEWAL_PATH)
    assert f'Environment="JUPYTER_BOOTSTRAP_METADATA_URL={box.metadata.url}"' in text
    loaded = box.root(f"systemctl show -p Environment --value {RENEWAL}").split()
    assert f"JUPYTER_BOOTSTRAP_METADATA_URL={box.metadata.url}" in loaded
    assert "AmbientCapabilities" not in text  # a self-signed certificate opens no port
    assert box.root(f"systemctl is-enabled {TIMER} {RENEWAL}").split() == ["enabled", "enabled"]
    assert box.root(f"systemctl is-active {TIMER}") == "active"
    timers = box.root("systemctl list-timers --all --no-pager --no-legend").splitlines()
    assert any(TIMER in line and RENEWAL in line for line in timers), timers


def test_after_a_reboot_a_new_public_ip_is_served_before_jupyter_starts(box: Box) -> None:
    before = served(box.port)
    assert FIRST_IP in ip_addresses(before) and NEW_IP not in ip_addresses(before)
    box.metadata.items["public-ipv4"] = NEW_IP
    box.metadata.requests.clear()

    box.instance.reboot()  # no init after it: the boot alone must bring the new address in
    wait_until(
        lambda: box.root(f"systemctl is-active {UNIT}", check=False) == "active",
        60,
        f"{UNIT} active after the reboot",
    )
    trusted = box.certificate_file()
    wait_for_https(box.port, str(trusted), 60)
    assert box.metadata.requests, "the boot-time renewal did not ask the metadata service"
    # At the new address itself, verified against the certificate a user would trust.
    now = served(box.port, host=NEW_IP, cafile=trusted)
    assert NEW_IP in ip_addresses(now)
    assert now.serial_number != before.serial_number
    assert box.root(f"systemctl show -p Result --value {RENEWAL}") == "success"
    order = box.started_this_boot()
    assert RENEWAL in order and UNIT in order, order
    assert order.index(RENEWAL) < order.index(UNIT), order
    box.agent("status")  # exit 0: nothing drifted, the certificate covers what metadata says


# -- 2. from the CA, through a unit that may open ports 443 and 80 ----------------------------


def test_lets_encrypt_as_the_login_user_through_the_capability(
    box: Box, pebble: Pebble, pebble_root: Path
) -> None:
    box.metadata.items["public-ipv4"] = FIRST_IP
    box.env[ALLOW_LOOPBACK_ENV] = "1"  # the CA here validates on loopback
    # The CA's HTTPS (Pebble's listener) and the root of what it issues (for the health
    # check): what a user of a private CA passes.
    bundle = Path(pebble.ca_bundle).read_bytes() + pebble_root.read_bytes()
    box.instance.write_file(CA_BUNDLE, bundle, owner=USER)
    pid, starts = box.main_pid(), box.jupyter_starts()

    result = box.agent(
        "init", "--certificate", "letsencrypt", "--acme-directory", pebble.directory_url,
        "--acme-ca-bundle", CA_BUNDLE,
    )  # fmt: skip
    states = step_states(result.stdout)
    assert (states["certificate"], states["renewal"], states["health"]) == (
        "changed", "changed", "ok",
    ), result.stdout  # fmt: skip
    flat = " ".join(result.stdout.split())
    assert "from Pebble" in flat and "the browser warns" not in flat, flat
    leaf = served(box.port, cafile=pebble_root)  # verified against Pebble's root alone
    assert leaf.issuer != leaf.subject and "Pebble" in leaf.issuer.rfc4514_string()
    assert ip_addresses(leaf) == {FIRST_IP}
    record = box.record()
    assert record["ok"] is True and "checked by tls-alpn-01" in str(record["detail"]), record
    # ubuntu may not listen on 443: the order ran in a transient unit holding the capability.
    transient = box.root("journalctl -o cat --no-pager -u 'jupyter-bootstrap-acme-*'")
    assert "jupyter-bootstrap-acme-" in transient, transient
    assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in box.instance.read_file(RENEWAL_PATH)
    # Jupyter reads the same certificate file for every new connection, and nothing else it
    # reads at start (unit, config, password) changed: the switch needs no restart.
    assert box.main_pid() == pid
    assert box.jupyter_starts() == starts


def test_when_nothing_answers_on_443_http_01_on_80_does(
    box: Box, pebble: Pebble, pebble_root: Path
) -> None:
    result = box.agent("init", "--acme-tls-alpn-port", str(ELSEWHERE))
    assert step_states(result.stdout)["health"] == "ok", result.stdout
    before = served(box.port, cafile=pebble_root)
    # Pebble reuses a valid authorization of the same account now and then (1 in 100 even
    # with reuse off), and a reused one is checked by nothing: a new account makes the CA
    # check this order for real.
    box.instance.run(f"rm -f {STATE}/acme/account-*.json", user=USER)
    box.agent("cert", "renew", "--force")
    record = box.record()
    assert record["ok"] is True and "checked by http-01" in str(record["detail"]), record
    after = served(box.port, cafile=pebble_root)
    assert after.serial_number != before.serial_number


# -- 3. a renewal under a running kernel -------------------------------------------------------


def test_a_forced_renewal_keeps_jupyter_and_its_kernels(box: Box, pebble_root: Path) -> None:
    root, host = str(pebble_root), FIRST_IP
    status, session, xsrf = login(box.port, PASSWORD, root, host=host)
    assert status == 302
    kernel = start_kernel(box.port, session, xsrf, root, host=host)
    assert execute(box.port, session, root, kernel, "x = 41; print('set')", host=host) == "set"
    before = served(box.port, cafile=pebble_root)
    pid, starts = box.main_pid(), box.jupyter_starts()

    box.agent("cert", "renew", "--force")
    after = served(box.port, cafile=pebble_root)
    assert after.serial_number != before.serial_number
    assert (box.main_pid(), box.jupyter_starts()) == (pid, starts)
    # The websocket is a new connection, verified against the new certificate's root.
    assert execute(box.port, session, root, kernel, "print(x + 1)", host=host) == "42"


# -- 4. a browser whose one added trust anchor is Pebble's root ------------------------------


def test_chromium_trusting_only_the_cas_root_logs_in_and_runs_a_cell(
    box: Box, pebble_root: Path, tmp_path: Path
) -> None:
    missing = chromium.missing_tools()
    if missing:
        skip_or_fail(f"no browser to drive: missing {', '.join(missing)}")
    base = f"https://127.0.0.1:{box.port}"
    with chromium.chromium(tmp_path, trusted=[pebble_root]) as driver:
        nssdb = tmp_path / "home" / ".pki" / "nssdb"
        listed = subprocess.run(
            ["certutil", "-d", f"sql:{nssdb}", "-L"], capture_output=True, text=True, check=True
        ).stdout
        # One certificate added to the browser's own store: Pebble's root.
        assert listed.count("C,,") == 1 and "jupyter-bootstrap" in listed, listed
        driver.get(f"{base}/")
        assert chromium.certificate_error(driver) is None, pages.page_text(driver)
        pages.jupyter_page(driver)
        pages.log_in(driver, base, PASSWORD, "notebook")
        pages.new_notebook(driver, "from-the-ca.ipynb")
        printed = pages.run_first_cell(
            driver, base, "notebook", "from-the-ca.ipynb", "print(6 * 7)"
        )
        assert printed == "42"


# -- 5. uninstall --------------------------------------------------------------------------


def test_uninstall_removes_the_renewal_timer_and_its_unit(box: Box) -> None:
    box.agent("uninstall", "--yes")
    for path in (RENEWAL_PATH, TIMER_PATH):
        assert box.root(f"test -e {path} && echo yes || echo no") == "no", path
    assert TIMER not in box.root("systemctl list-timers --all --no-pager --no-legend")
    assert box.root(f"systemctl is-enabled {TIMER}", check=False) != "enabled"
