"""Certificates for an IP address from a real ACME CA: Pebble on loopback, validating for real
by connecting back to the responders of acme_order.order_certificate. Only 127.0.0.0/8 is
ever contacted.

What each failure looks like is checked here too, and that a failure leaves nothing behind:
no responder still listening, no file but the account's."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.verification import PolicyBuilder, Store

from jupyter_bootstrap import certs
from jupyter_bootstrap.acme_errors import (
    AcmeProblem,
    ChallengePortInUse,
    DirectoryUnreachable,
    DirectoryUntrusted,
    NotAnAcmeDirectory,
    ValidationFailed,
)
from jupyter_bootstrap.acme_order import DEFAULT_CHALLENGES, Issued, order_certificate
from jupyter_bootstrap.acme_ports import HTTP_01, TLS_ALPN_01, ChallengePorts
from tests.integration.conftest import StartPebble
from tests.support.net import free_port
from tests.support.not_a_directory import garbage_directory
from tests.support.pebble import BLOCKED_NAME, Pebble

pytestmark = pytest.mark.integration

LOOPBACK = "127.0.0.1"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback is reached directly, whatever proxy the machine's environment names."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)


@pytest.fixture
def key_pem() -> bytes:
    """The key the certificate is for."""
    return certs.new_private_key("ec").private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "acme"


@pytest.fixture
def previous_certificate(tmp_path: Path) -> Iterator[Path]:
    """A certificate already in place: no outcome of an order may touch it."""
    path = tmp_path / "certs" / "mycert.pem"
    path.parent.mkdir()
    key, cert = certs.self_signed([LOOPBACK], "ec", certs.utc_now())
    path.write_bytes(key + cert)
    before = path.read_bytes()
    yield path
    assert path.read_bytes() == before


def ports_of(pebble: Pebble) -> ChallengePorts:
    """Where Pebble connects back to: the responders must listen there."""
    return ChallengePorts(tls_alpn=pebble.tls_port, http=pebble.http_port)


def order(
    pebble: Pebble,
    state_dir: Path,
    key_pem: bytes,
    names: Sequence[str] = (LOOPBACK,),
    *,
    ports: Optional[ChallengePorts] = None,
    trust_pebble: bool = True,
    challenges: Sequence[str] = DEFAULT_CHALLENGES,
) -> Issued:
    return order_certificate(
        pebble.directory_url,
        names,
        state_dir,
        key_pem,
        ports=ports or ports_of(pebble),
        ca_bundle=pebble.ca_bundle if trust_pebble else None,
        challenges=challenges,
    )


def assert_chain_verifies(issued: Issued, pebble: Pebble, address: str) -> None:
    """As a client that trusts only this Pebble's root would check it."""
    leaf, *intermediates = x509.load_pem_x509_certificates(issued.chain_pem)
    assert leaf.not_valid_after_utc == issued.not_after
    store = Store(x509.load_pem_x509_certificates(pebble.root_pem()))
    verifier = (
        PolicyBuilder()
        .store(store)
        .build_server_verifier(x509.IPAddress(ipaddress.ip_address(address)))
    )
    verifier.verify(leaf, intermediates)


def assert_served_chain_verifies(issued: Issued, key_pem: bytes, pebble: Pebble, tmp: Path) -> None:
    """A TLS server presenting the chain is accepted by Python's ssl with hostname checking
    on, trusting only Pebble's root."""
    served = tmp / "served.pem"
    served.write_bytes(key_pem + issued.chain_pem)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(served)
    client_context = ssl.create_default_context(cadata=pebble.root_pem().decode())
    with socket.create_server((LOOPBACK, 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            connection, _ = listener.accept()
            try:
                with server_context.wrap_socket(connection, server_side=True):
                    pass
            except ssl.SSLError:
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        with (
            socket.create_connection((LOOPBACK, port), timeout=10) as raw,
            client_context.wrap_socket(raw, server_hostname=LOOPBACK) as tls,
        ):
            assert tls.version() is not None
        thread.join(timeout=10)


def assert_only_account_files(state_dir: Path) -> None:
    """The function returns the certificate: the account is all it ever writes."""
    if not state_dir.exists():
        return
    assert state_dir.stat().st_mode & 0o777 == 0o700
    for path in state_dir.iterdir():
        assert path.name.startswith("account-") and path.suffix == ".json", path
        assert path.stat().st_mode & 0o777 == 0o600


def assert_port_free(port: int) -> None:
    """Nothing listens on `port` any more (the responder was closed)."""
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("", port))


@contextmanager
def listening(*ports: int) -> Iterator[None]:
    """Another program holding `ports` on loopback."""
    sockets = []
    try:
        for port in ports:
            holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # As servers do: the responders' closed connections may linger in TIME_WAIT.
            holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            holder.bind((LOOPBACK, port))
            holder.listen()
            sockets.append(holder)
        yield
    finally:
        for holder in sockets:
            holder.close()


# --- issuance ----------------------------------------------------------------------------


def test_tls_alpn_01_issues_an_ip_certificate_that_verifies(
    pebble: Pebble, state_dir: Path, key_pem: bytes, tmp_path: Path, previous_certificate: Path
) -> None:
    issued = order(pebble, state_dir, key_pem, challenges=(TLS_ALPN_01,))

    assert issued.challenge == TLS_ALPN_01
    assert issued.profile is None  # Pebble 2.4 advertises no profiles
    assert len(x509.load_pem_x509_certificates(issued.chain_pem)) >= 2  # leaf + intermediate
    assert_chain_verifies(issued, pebble, LOOPBACK)
    assert_served_chain_verifies(issued, key_pem, pebble, tmp_path)
    assert_only_account_files(state_dir)
    assert_port_free(pebble.tls_port)


def test_http_01_issues_an_ip_certificate_that_verifies(
    pebble: Pebble, state_dir: Path, key_pem: bytes
) -> None:
    issued = order(pebble, state_dir, key_pem, challenges=(HTTP_01,))

    assert issued.challenge == HTTP_01
    assert_chain_verifies(issued, pebble, LOOPBACK)
    assert_only_account_files(state_dir)
    assert_port_free(pebble.http_port)


def test_a_failed_tls_alpn_01_falls_back_to_http_01(
    pebble: Pebble, state_dir: Path, key_pem: bytes
) -> None:
    # The tls-alpn-01 responder listens where Pebble does not connect: that check fails.
    wrong = ChallengePorts(tls_alpn=free_port(), http=pebble.http_port)

    issued = order(pebble, state_dir, key_pem, ports=wrong)

    assert issued.challenge == HTTP_01
    assert_chain_verifies(issued, pebble, LOOPBACK)


def test_a_busy_tls_port_falls_back_to_http_01(
    pebble: Pebble, state_dir: Path, key_pem: bytes
) -> None:
    with listening(pebble.tls_port):
        issued = order(pebble, state_dir, key_pem)

    assert issued.challenge == HTTP_01


def test_ipv4_and_ipv6_loopback_in_one_certificate(
    pebble: Pebble, state_dir: Path, key_pem: bytes
) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    issued = order(pebble, state_dir, key_pem, names=(LOOPBACK, "::1"), challenges=(HTTP_01,))

    assert_chain_verifies(issued, pebble, "::1")
    info = certs.inspect(issued.chain_pem, key_pem)
    assert info.ip_addresses == {LOOPBACK, "::1"}


# --- the account ---------------------------------------------------------------------------


def test_the_account_is_registered_once_and_reused(
    pebble: Pebble, state_dir: Path, key_pem: bytes
) -> None:
    accounts_before = pebble.accounts()
    order(pebble, state_dir, key_pem, challenges=(HTTP_01,))
    [account_file] = list(state_dir.iterdir())
    saved = account_file.read_bytes()

    order(pebble, state_dir, key_pem, challenges=(HTTP_01,))

    assert pebble.accounts() == accounts_before + 1
    assert account_file.read_bytes() == saved
    document = json.loads(saved)
    assert document["directory"] == pebble.directory_url
    assert document["account_url"].startswith(f"https://{LOOPBACK}:{pebble.acme_port}/")
    assert_only_account_files(state_dir)


def test_an_account_the_ca_forgot_is_registered_again(
    start_pebble: StartPebble, state_dir: Path, key_pem: bytes
) -> None:
    pebble = start_pebble()
    order(pebble, state_dir, key_pem, challenges=(HTTP_01,))
    [account_file] = list(state_dir.iterdir())
    first = json.loads(account_file.read_text())

    pebble.restart()  # a new Pebble knows no account
    order(pebble, state_dir, key_pem, challenges=(HTTP_01,))

    second = json.loads(account_file.read_text())
    assert second["key"] == first["key"]
    assert pebble.accounts() == 1


def test_authorizations_the_ca_reuses_need_no_responder(
    start_pebble: StartPebble, state_dir: Path, key_pem: bytes
) -> None:
    pebble = start_pebble(PEBBLE_AUTHZREUSE="100")
    order(pebble, state_dir, key_pem, challenges=(TLS_ALPN_01,))

    with listening(pebble.tls_port, pebble.http_port):
        issued = order(pebble, state_dir, key_pem)

    assert issued.challenge == TLS_ALPN_01  # how the reused authorization was validated
    assert_chain_verifies(issued, pebble, LOOPBACK)


# --- what goes wrong -------------------------------------------------------------------------


def test_an_unreachable_directory_is_named(
    state_dir: Path, key_pem: bytes, previous_certificate: Path, pebble: Pebble
) -> None:
    url = f"https://{LOOPBACK}:{free_port()}/dir"

    with pytest.raises(DirectoryUnreachable) as raised:
        order_certificate(url, [LOOPBACK], state_dir, key_pem, ca_bundle=pebble.ca_bundle)

    assert url in raised.value.message
    assert "connection refused" in raised.value.message
    assert raised.value.hint
    assert not state_dir.exists()  # not even an account key


def test_the_directory_is_verified_with_the_bundle_given_not_the_environment(
    pebble: Pebble, state_dir: Path, key_pem: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests would use this for verify=True; order_certificate never passes True.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pebble.ca_bundle)
    monkeypatch.setenv("CURL_CA_BUNDLE", pebble.ca_bundle)

    with pytest.raises(DirectoryUntrusted) as raised:
        order(pebble, state_dir, key_pem, trust_pebble=False)

    assert pebble.directory_url in raised.value.message
    assert "not trusted" in raised.value.message


@pytest.fixture
def garbage_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    with garbage_directory(tmp_path) as served:
        yield served


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/html", "not JSON"),
        ("/missing", "HTTP 404"),
        ("/json", "names no newNonce, newAccount, newOrder"),
        ("/list", "not a JSON object"),
    ],
)
def test_a_directory_that_is_not_one_is_told_apart(
    garbage_server: tuple[str, str],
    path: str,
    said: str,
    state_dir: Path,
    key_pem: bytes,
    previous_certificate: Path,
) -> None:
    base, bundle = garbage_server
    url = base + path

    with pytest.raises(NotAnAcmeDirectory) as raised:
        order_certificate(url, [LOOPBACK], state_dir, key_pem, ca_bundle=bundle)

    assert url in raised.value.message
    assert said in raised.value.message
    assert not state_dir.exists()


def test_busy_challenge_ports_are_named(
    pebble: Pebble, state_dir: Path, key_pem: bytes, previous_certificate: Path
) -> None:
    with listening(pebble.tls_port, pebble.http_port), pytest.raises(ChallengePortInUse) as raised:
        order(pebble, state_dir, key_pem)

    assert raised.value.ports == (pebble.tls_port, pebble.http_port)
    assert str(pebble.tls_port) in raised.value.message
    assert str(pebble.http_port) in raised.value.message
    assert_only_account_files(state_dir)


def test_a_failed_validation_names_the_port_the_ca_could_not_reach(
    pebble: Pebble, state_dir: Path, key_pem: bytes, previous_certificate: Path
) -> None:
    # The responder answers on another port than the one the CA checks.
    wrong = ChallengePorts(tls_alpn=pebble.tls_port, http=free_port())

    with pytest.raises(ValidationFailed) as raised:
        order(pebble, state_dir, key_pem, ports=wrong, challenges=(HTTP_01,))

    error = raised.value
    assert error.message == (
        f"the CA could not reach this machine at {LOOPBACK} on TCP port {pebble.http_port} "
        "(http-01)"
    )
    assert error.hint is not None
    assert f"TCP {pebble.http_port} from anywhere" in error.hint
    assert "not yours" in error.hint
    assert error.details and "connection refused" in error.details
    assert_only_account_files(state_dir)
    assert_port_free(wrong.http)


def test_when_both_checks_fail_both_ports_are_named(
    pebble: Pebble, state_dir: Path, key_pem: bytes
) -> None:
    wrong = ChallengePorts(tls_alpn=free_port(), http=free_port())

    with pytest.raises(ValidationFailed) as raised:
        order(pebble, state_dir, key_pem, ports=wrong)

    assert raised.value.ports == (pebble.tls_port, pebble.http_port)
    assert f"TCP port {pebble.tls_port} (tls-alpn-01)" in raised.value.message
    assert f"TCP port {pebble.http_port} (http-01)" in raised.value.message
    assert_port_free(wrong.tls_alpn)
    assert_port_free(wrong.http)


def test_a_name_the_ca_refuses_is_quoted(
    pebble: Pebble, state_dir: Path, key_pem: bytes, previous_certificate: Path
) -> None:
    with pytest.raises(AcmeProblem) as raised:
        order(pebble, state_dir, key_pem, names=(BLOCKED_NAME,))

    assert raised.value.code == "rejectedIdentifier"
    assert "issuance is forbidden by policy" in raised.value.message
    assert BLOCKED_NAME in raised.value.message
    assert_only_account_files(state_dir)


def test_refused_nonces_are_retried(
    start_pebble: StartPebble, state_dir: Path, key_pem: bytes
) -> None:
    # One request in four refused: without retries beyond acme's single one, an order
    # (a dozen requests) would fail more often than not.
    pebble = start_pebble(PEBBLE_WFE_NONCEREJECT="25")

    issued = order(pebble, state_dir, key_pem, challenges=(HTTP_01,))

    assert_chain_verifies(issued, pebble, LOOPBACK)


def test_a_ca_that_refuses_every_nonce_gives_up_plainly(
    start_pebble: StartPebble, state_dir: Path, key_pem: bytes, previous_certificate: Path
) -> None:
    pebble = start_pebble(PEBBLE_WFE_NONCEREJECT="100")  # every nonce refused

    with pytest.raises(AcmeProblem) as raised:
        order(pebble, state_dir, key_pem)

    assert raised.value.code == "badNonce"
    assert raised.value.hint and "run again" in raised.value.hint
    assert_only_account_files(state_dir)
