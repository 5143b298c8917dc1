"""tls-alpn-01 (RFC 8737, RFC 8738 for IP addresses) as acme_challenges answers it: the
pieces as data, then the responder as a TLS client sees it, on loopback."""

from __future__ import annotations

import hashlib
import socket
import ssl
from collections.abc import Sequence

import pytest
from acme import challenges, messages
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from josepy import b64
from josepy.jwk import JWKEC

from jupyter_bootstrap import certs
from jupyter_bootstrap.acme_challenges import (
    ACME_IDENTIFIER_OID,
    ACME_TLS_PROTOCOL,
    TLSALPN01,
    Answer,
    acme_identifier_value,
    responding,
    sni_name,
    validation_certificate,
)
from jupyter_bootstrap.acme_errors import ChallengePortInUse
from jupyter_bootstrap.acme_ports import HTTP_01, TLS_ALPN_01, ChallengePorts
from tests.support.net import free_port

TOKEN = b"\x01" * 16  # what a CA sends base64url-encoded
ACCOUNT_KEY = JWKEC(key=ec.generate_private_key(ec.SECP256R1()))


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        ("127.0.0.1", "1.0.0.127.in-addr.arpa"),
        ("3.8.1.2", "2.1.8.3.in-addr.arpa"),
        (
            "2001:db8::1",
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        ),
        ("Jupyter.Example.org.", "jupyter.example.org"),
    ],
)
def test_the_sni_name_of_an_identifier(identifier: str, expected: str) -> None:
    assert sni_name(identifier) == expected


def test_the_acme_identifier_extension_is_a_der_octet_string_of_the_digest() -> None:
    value = acme_identifier_value("token.thumbprint")

    digest = hashlib.sha256(b"token.thumbprint").digest()
    assert value == b"\x04\x20" + digest  # OCTET STRING, 32 bytes
    assert len(value) == 34


def tls_alpn_body(token: bytes = TOKEN) -> messages.ChallengeBody:
    """A challenge as the CA sends it in an authorization."""
    body = messages.ChallengeBody.from_json(
        {
            "type": "tls-alpn-01",
            "url": "https://ca.invalid/chall/1",
            "status": "pending",
            "token": b64.b64encode(token).decode(),
        }
    )
    assert isinstance(body, messages.ChallengeBody)
    return body


def test_tls_alpn_01_challenges_decode_to_the_registered_type() -> None:
    body = tls_alpn_body()

    assert isinstance(body.chall, TLSALPN01)
    assert body.chall.token == TOKEN


def test_the_key_authorization_digest_is_what_the_ca_expects() -> None:
    chall = tls_alpn_body().chall
    assert isinstance(chall, TLSALPN01)

    # RFC 8555 section 8.1: token "." base64url(SHA-256 JWK thumbprint of the account key).
    thumbprint = b64.b64encode(ACCOUNT_KEY.thumbprint()).decode()
    expected = b64.b64encode(TOKEN).decode() + "." + thumbprint
    assert chall.key_authorization(ACCOUNT_KEY) == expected
    assert chall.validation(ACCOUNT_KEY) == b"\x04\x20" + hashlib.sha256(expected.encode()).digest()
    # What is POSTed to the challenge URL: an empty object (RFC 8555 section 7.5.1).
    assert chall.response(ACCOUNT_KEY).to_partial_json() == {}


@pytest.mark.parametrize(
    ("identifier", "alt_name"),
    [
        ("127.0.0.1", x509.IPAddress),
        ("::1", x509.IPAddress),
        ("jupyter.example.org", x509.DNSName),
    ],
)
def test_the_validation_certificate(identifier: str, alt_name: type[x509.GeneralName]) -> None:
    _, cert_pem = validation_certificate(identifier, "token.thumbprint", certs.utc_now())
    certificate = x509.load_pem_x509_certificate(cert_pem)

    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert len(names) == 1  # exactly one identifier (RFC 8737 section 3)
    [name] = list(names)
    assert isinstance(name, alt_name)
    assert str(name.value) == identifier
    extension = certificate.extensions.get_extension_for_oid(ACME_IDENTIFIER_OID)
    assert extension.critical
    assert isinstance(extension.value, x509.UnrecognizedExtension)
    assert extension.value.value == acme_identifier_value("token.thumbprint")


def handshake(
    port: int, server_name: str, protocols: Sequence[str]
) -> tuple[x509.Certificate, str | None]:
    """(the certificate presented, the protocol agreed) as the CA's TLS client sees them."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a validation certificate is self-signed
    context.set_alpn_protocols(list(protocols))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der), tls.selected_alpn_protocol()


def san(certificate: x509.Certificate) -> str:
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return str(next(iter(names)).value)


def test_the_responder_presents_each_identifier_its_certificate_by_sni() -> None:
    ports = ChallengePorts(tls_alpn=free_port(), http=free_port())
    answers = [
        Answer("127.0.0.1", tls_alpn_body(b"\x01" * 16)),
        Answer("jupyter.example.org", tls_alpn_body(b"\x02" * 16)),
    ]

    with responding(TLS_ALPN_01, answers, ACCOUNT_KEY, ports, certs.utc_now()):
        by_ip, protocol = handshake(ports.tls_alpn, "1.0.0.127.in-addr.arpa", [ACME_TLS_PROTOCOL])
        by_name, _ = handshake(ports.tls_alpn, "jupyter.example.org", [ACME_TLS_PROTOCOL])

    assert protocol == ACME_TLS_PROTOCOL
    assert san(by_ip) == "127.0.0.1"
    assert san(by_name) == "jupyter.example.org"
    for certificate, answer in ((by_ip, answers[0]), (by_name, answers[1])):
        chall = answer.key_authorization_challenge
        extension = certificate.extensions.get_extension_for_oid(ACME_IDENTIFIER_OID).value
        assert isinstance(extension, x509.UnrecognizedExtension)
        assert extension.value == chall.validation(ACCOUNT_KEY)


def test_the_responder_is_closed_when_the_block_fails() -> None:
    ports = ChallengePorts(tls_alpn=free_port(), http=free_port())
    body = messages.ChallengeBody.from_json(
        {
            "type": "http-01",
            "url": "https://ca.invalid/chall/2",
            "status": "pending",
            "token": b64.b64encode(TOKEN).decode(),
        }
    )
    assert isinstance(body.chall, challenges.HTTP01)

    with (
        pytest.raises(RuntimeError),
        responding(HTTP_01, [Answer("127.0.0.1", body)], ACCOUNT_KEY, ports, certs.utc_now()),
    ):
        raise RuntimeError("the CA went away")

    with socket.socket(socket.AF_INET6) as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("", ports.http))  # free again


def test_a_busy_port_is_a_typed_error_naming_it() -> None:
    ports = ChallengePorts(tls_alpn=free_port(), http=free_port())
    with (
        socket.create_server(("127.0.0.1", ports.tls_alpn)),
        pytest.raises(ChallengePortInUse) as raised,
        responding(
            TLS_ALPN_01, [Answer("127.0.0.1", tls_alpn_body())], ACCOUNT_KEY, ports, certs.utc_now()
        ),
    ):
        pass

    assert raised.value.ports == (ports.tls_alpn,)
    assert f"TCP port {ports.tls_alpn} already in use" in raised.value.message
