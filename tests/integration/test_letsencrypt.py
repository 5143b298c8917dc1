"""`init --certificate letsencrypt` against a real ACME CA (Pebble) on loopback: the
instance metadata (a loopback stand-in) says the public IP is 127.0.0.1, which the tests-only
switch lets through the public-name filter. A real Jupyter Server serves what was issued and
picks up a renewal without a restart; a CA that is down never leaves it without a
certificate."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509

from jupyter_bootstrap import acme_names, trust_anchor
from tests.integration.conftest import StartPebble
from tests.support.cli import flat, init_files_only, invoke
from tests.support.fresh_process import loaded_by
from tests.support.jupyter_server import running_server
from tests.support.metadata_server import MetadataServer, metadata_service
from tests.support.net import free_port
from tests.support.not_a_directory import garbage_directory
from tests.support.pebble import BLOCKED_NAME, Pebble
from tests.support.report import step_states

pytestmark = pytest.mark.integration

EC2_NAME = "ec2-127-0-0-1.eu-west-2.compute.amazonaws.com"


@pytest.fixture
def public_ip_is_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[MetadataServer]:
    """EC2's metadata service saying the instance's public IPv4 is 127.0.0.1, and the
    tests-only switch that lets a loopback address be ordered."""
    monkeypatch.setenv(acme_names.ALLOW_LOOPBACK_ENV, "1")
    with metadata_service(public_ipv4="127.0.0.1", public_hostname=EC2_NAME) as server:
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", server.url)
        yield server


def trust_file(pebble: Pebble, folder: Path) -> Path:
    """What a user of a private CA passes as --acme-ca-bundle: the CA's HTTPS (Pebble's
    listener) and the root of what it issues (for the health check)."""
    bundle = folder / "acme-ca-bundle.pem"
    bundle.write_bytes(Path(pebble.ca_bundle).read_bytes() + pebble.root_pem())
    return bundle


def letsencrypt_flags(pebble: Pebble, bundle: Path) -> tuple[str, ...]:
    return (
        "--certificate", "letsencrypt",
        "--acme-directory", pebble.directory_url,
        "--acme-ca-bundle", str(bundle),
        "--acme-tls-alpn-port", str(pebble.tls_port),
        "--acme-http-port", str(pebble.http_port),
    )  # fmt: skip


def served(port: int, root: Path, name: str = "127.0.0.1") -> x509.Certificate:
    """The certificate a new connection gets, verified against the CA's root alone."""
    context = ssl.create_default_context(cafile=str(root))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def file_certificate(home: Path) -> x509.Certificate:
    return trust_anchor.read_chain((home / "certs" / "mycert.pem").read_bytes())[0]


def test_a_certificate_from_the_ca_is_served_and_renewed_without_a_restart(
    home: Path,
    jupyter_prefix: Path,
    os_release: Path,
    public_ip_is_loopback: MetadataServer,
    pebble: Pebble,
    tmp_path: Path,
) -> None:
    bundle = trust_file(pebble, tmp_path)
    root = tmp_path / "pebble-root.pem"
    root.write_bytes(pebble.root_pem())
    port = free_port()
    result = init_files_only(
        jupyter_prefix, "--port", str(port), *letsencrypt_flags(pebble, bundle)
    )
    assert result.exit_code == 0, result.output
    assert step_states(result.output)["certificate"] == "changed"
    text = flat(result.output)
    assert "Pebble" in text and "127.0.0.1" in text
    # The EC2 name is no use to a public CA: left out, saying why.
    assert f"left out of the certificate: {EC2_NAME}, an EC2 name" in text
    first = file_certificate(home)
    assert not trust_anchor.is_self_issued(first)
    assert trust_anchor.subject_alt_names(first) == ("127.0.0.1",)
    pem = (home / "certs" / "mycert.pem").read_bytes()
    assert b"PRIVATE KEY" in pem and (home / "certs" / "mycert.pem").stat().st_mode & 0o777 == 0o600
    assert invoke("status").exit_code == 0
    # Checked again in a fresh process: the certificate's facts (issuer, names, expiry) are
    # recalled, so neither the ACME client nor cryptography is loaded to say all is well.
    loaded = loaded_by(["status"], os_release, tmp_path / "no-units", tmp_path / "not-booted")
    assert loaded.code == 0, loaded.output
    assert loaded.heavy() == [], loaded.output
    assert "from Pebble" in flat(loaded.output)
    assert invoke("cert", "renew").exit_code == 0  # not due: nothing happens
    assert file_certificate(home) == first

    config = home / ".jupyter" / "jupyter_server_config.py"
    with running_server(jupyter_prefix, config, home, port, root, host="127.0.0.1") as base:
        assert served(port, root) == first
        session = requests.Session()
        session.trust_env = False
        answer = session.get(f"https://127.0.0.1:{port}/api", verify=str(root), timeout=10)
        assert answer.status_code == 200
        renewed = invoke("cert", "renew", "--force")
        assert renewed.exit_code == 0, renewed.output
        second = file_certificate(home)
        assert second.serial_number != first.serial_number
        # The same server process, a new connection: the new certificate.
        assert served(port, root) == second
        login = session.get(f"{base}/login", verify=str(root), timeout=10)
        assert login.status_code == 200


def test_a_ca_that_is_down_keeps_the_certificate_that_serves(
    home: Path,
    jupyter_prefix: Path,
    public_ip_is_loopback: MetadataServer,
    start_pebble: StartPebble,
    tmp_path: Path,
) -> None:
    pebble = start_pebble()
    flags = letsencrypt_flags(pebble, trust_file(pebble, tmp_path))
    assert init_files_only(jupyter_prefix, *flags).exit_code == 0
    before = (home / "certs" / "mycert.pem").read_bytes()
    pebble.stop()
    failed = invoke("cert", "renew", "--force")
    assert failed.exit_code == 1
    assert "cannot reach the ACME server" in flat(failed.stderr)
    assert (home / "certs" / "mycert.pem").read_bytes() == before
    # Still valid for long: no drift, but status says what happened.
    status = invoke("status")
    assert status.exit_code == 0, status.output
    assert "the last attempt to get a certificate failed" in flat(status.output)
    document = json.loads(invoke("status", "--json").stdout)
    assert any("last attempt" in warning for warning in document["warnings"])
    pebble.start()  # a new CA key and no accounts: the agent registers again by itself
    # (the issuing root changed: the health check of a later init would need the new one)
    renewed = invoke("cert", "renew", "--force")
    assert renewed.exit_code == 0, renewed.output
    assert (home / "certs" / "mycert.pem").read_bytes() != before
    assert "last attempt" not in flat(invoke("status").output)


def test_an_expired_certificate_and_a_ca_that_is_down_fall_back_to_self_signed(
    home: Path,
    jupyter_prefix: Path,
    public_ip_is_loopback: MetadataServer,
    start_pebble: StartPebble,
    tmp_path: Path,
) -> None:
    pebble = start_pebble(validity_seconds=15)
    flags = letsencrypt_flags(pebble, trust_file(pebble, tmp_path))
    first = init_files_only(jupyter_prefix, *flags)
    assert first.exit_code == 0, first.output
    expires = file_certificate(home).not_valid_after_utc.timestamp()
    pebble.stop()
    while time.time() <= expires + 1:
        time.sleep(0.2)
    failed = invoke("cert", "renew")
    assert failed.exit_code == 1
    stand_in = file_certificate(home)
    assert trust_anchor.is_self_issued(stand_in)  # ours, not nothing
    status = invoke("status")
    assert status.exit_code == 3
    assert "a self-signed certificate stands in" in flat(status.output)
    info = json.loads(invoke("info", "--json").stdout)
    assert info["certificate"]["fallback"] is True and info["certificate"]["kind"] == "letsencrypt"
    pebble.start()
    assert invoke("cert", "renew").exit_code == 0
    assert not trust_anchor.is_self_issued(file_certificate(home))
    assert json.loads(invoke("info", "--json").stdout)["certificate"]["fallback"] is False


def test_a_busy_challenge_port_says_which_and_changes_nothing(
    home: Path,
    jupyter_prefix: Path,
    public_ip_is_loopback: MetadataServer,
    pebble: Pebble,
    tmp_path: Path,
) -> None:
    assert init_files_only(jupyter_prefix).exit_code == 0  # self-signed first
    before = (home / "certs" / "mycert.pem").read_bytes()
    flags = letsencrypt_flags(pebble, trust_file(pebble, tmp_path))
    with socket.socket() as tls, socket.socket() as http:
        for sock, held in ((tls, pebble.tls_port), (http, pebble.http_port)):
            sock.bind(("0.0.0.0", held))
            sock.listen()
        result = init_files_only(jupyter_prefix, *flags)
    assert result.exit_code == 1
    text = flat(result.stderr)
    assert f"port {pebble.tls_port}" in text and str(pebble.http_port) in text
    # The self-signed certificate goes on serving until the CA's one is there.
    assert (home / "certs" / "mycert.pem").read_bytes() == before


def test_an_unreachable_directory_is_named(
    home: Path, jupyter_prefix: Path, public_ip_is_loopback: MetadataServer
) -> None:
    url = f"https://127.0.0.1:{free_port()}/dir"
    result = init_files_only(
        jupyter_prefix, "--certificate", "letsencrypt", "--acme-directory", url
    )
    assert result.exit_code == 1
    assert f"cannot reach the ACME server at {url}" in flat(result.stderr)
    assert "Traceback" not in result.output


def test_no_public_name_is_exit_2_with_what_would_work(home: Path, jupyter_prefix: Path) -> None:
    result = init_files_only(jupyter_prefix, "--certificate", "letsencrypt")
    assert result.exit_code == 2
    text = flat(result.stderr)
    assert "no name of this machine can get a certificate from Let's Encrypt" in text
    assert "Elastic IP" in text and "--hostname" in text
    assert not (home / ".config" / "jupyter-bootstrap" / "settings.json").exists()


def test_tunnel_mode_is_refused_with_the_reason(
    home: Path, jupyter_prefix: Path, public_ip_is_loopback: MetadataServer
) -> None:
    result = init_files_only(jupyter_prefix, "--certificate", "letsencrypt", "--access", "tunnel")
    assert result.exit_code == 2
    assert "the browser opens localhost" in flat(result.stderr)


def test_back_to_self_signed_replaces_ours_without_calling_it_foreign(
    home: Path,
    jupyter_prefix: Path,
    public_ip_is_loopback: MetadataServer,
    pebble: Pebble,
    tmp_path: Path,
) -> None:
    flags = letsencrypt_flags(pebble, trust_file(pebble, tmp_path))
    assert init_files_only(jupyter_prefix, *flags).exit_code == 0
    result = init_files_only(jupyter_prefix, "--certificate", "self-signed")
    assert result.exit_code == 0, result.output
    assert trust_anchor.is_self_issued(file_certificate(home))
    assert "not made by jupyter-bootstrap" not in flat(result.output)
    assert not list((home / "certs").glob("*.bak*"))


def test_init_and_info_say_what_a_ca_certificate_needs(
    home: Path,
    jupyter_prefix: Path,
    public_ip_is_loopback: MetadataServer,
    pebble: Pebble,
    tmp_path: Path,
) -> None:
    flags = letsencrypt_flags(pebble, trust_file(pebble, tmp_path))
    output = flat(init_files_only(jupyter_prefix, *flags).output)
    # Pebble is not Let's Encrypt: only the real one is promised to every browser.
    assert "no warning in a browser that trusts that CA" in output
    assert f"Keep TCP {pebble.tls_port} (or {pebble.http_port}) open to anywhere" in output
    assert "SHA-256 fingerprint is" not in output  # nothing to compare by hand
    text = flat(invoke("info").stdout)
    assert "a browser that trusts that CA" in text and "Let's Encrypt's check" in text
    assert "Anywhere-IPv4" in text
    assert "No more certificate warning" not in text  # nothing to import
    document = json.loads(invoke("info", "--json").stdout)
    assert document["certificate"]["kind"] == "letsencrypt"
    assert document["trust"]["needed"] is False
    assert document["renewal"]["last_ok"] is True
    rules = document["security_group"]["inbound_rules"]
    assert {"port": pebble.tls_port, "source": "Anywhere-IPv4"}.items() <= rules[-1].items()


@pytest.mark.parametrize(
    "case", ["directory that is not one", "name the CA refuses", "every nonce refused"]
)
def test_a_refused_order_says_why_and_keeps_the_certificate_that_serves(
    home: Path,
    jupyter_prefix: Path,
    public_ip_is_loopback: MetadataServer,
    start_pebble: StartPebble,
    tmp_path: Path,
    case: str,
) -> None:
    """What the CA (or something posing as one) refuses reaches the user as one message and
    exit 1, and the certificate the server has keeps serving, byte for byte."""
    assert init_files_only(jupyter_prefix).exit_code == 0  # self-signed, serving
    certfile = home / "certs" / "mycert.pem"
    before = certfile.read_bytes()
    with garbage_directory(tmp_path) as (base, garbage_ca):
        flags: tuple[str, ...]
        if case == "directory that is not one":
            flags = (
                "--certificate", "letsencrypt", "--acme-directory", f"{base}/html",
                "--acme-ca-bundle", garbage_ca, "--acme-tls-alpn-port", str(free_port()),
                "--acme-http-port", str(free_port()),
            )  # fmt: skip
            said = f"{base}/html"
        elif case == "name the CA refuses":
            pebble = start_pebble()
            flags = (*letsencrypt_flags(pebble, trust_file(pebble, tmp_path)),
                     "--hostname", BLOCKED_NAME)  # fmt: skip
            said = BLOCKED_NAME
        else:
            pebble = start_pebble(PEBBLE_WFE_NONCEREJECT="100")
            flags = letsencrypt_flags(pebble, trust_file(pebble, tmp_path))
            said = "run again"
        result = init_files_only(jupyter_prefix, *flags)
    assert result.exit_code == 1, result.output
    assert said in flat(result.output)
    assert "Traceback" not in result.output
    assert certfile.read_bytes() == before
    # The next run says what serves meanwhile.
    status = invoke("status")
    assert status.exit_code == 3, status.output
    assert "the last attempt to get a certificate failed" in flat(status.output)


def test_metadata_that_does_not_answer_keeps_the_certificates_names(
    home: Path,
    jupyter_prefix: Path,
    public_ip_is_loopback: MetadataServer,
    pebble: Pebble,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A blip of the metadata service (or a boot before it answers) is no reason to call a
    working certificate from the CA an error, nor to order another."""
    flags = letsencrypt_flags(pebble, trust_file(pebble, tmp_path))
    assert init_files_only(jupyter_prefix, *flags).exit_code == 0
    before = (home / "certs" / "mycert.pem").read_bytes()
    monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", f"http://127.0.0.1:{free_port()}")
    status = invoke("status")
    assert status.exit_code == 0, status.output
    assert "metadata service did not answer this time" in flat(status.output)
    again = invoke("init")
    assert again.exit_code == 0, again.output
    assert step_states(again.output)["certificate"] == "ok"
    assert (home / "certs" / "mycert.pem").read_bytes() == before
    # A service that answers "no public address" (the instance lost it) is no blip: the
    # error stands, as it does before any certificate from the CA.
    with metadata_service() as private_subnet:
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", private_subnet.url)
        assert invoke("status").exit_code == 2
    monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", f"http://127.0.0.1:{free_port()}")
    (home / "certs" / "mycert.pem").unlink()
    assert invoke("status").exit_code == 2
