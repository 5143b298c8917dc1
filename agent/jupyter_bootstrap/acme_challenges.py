"""Proving to an ACME CA (Let's Encrypt) that this machine answers for a name or an address:
the tls-alpn-01 (RFC 8737) and http-01 challenges, each answered by a small server that runs
only while the CA looks and is closed afterwards, whatever happens.

acme 5.x dropped its tls-alpn-01 classes, so the challenge type is registered here on acme's
generic key-authorization machinery; the rest (key authorization, http-01's server) is acme's.
For an IP address the CA sends the reverse-DNS name as SNI and expects an iPAddress SAN
(RFC 8738). The servers bind what the caller configured: the caller arranges the privilege
for a port below 1024 (a capability on the process; the agent never serves as root)."""

from __future__ import annotations

import datetime
import errno
import hashlib
import ipaddress
import logging
import socket
import socketserver
import ssl
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Optional

from acme import challenges, messages, standalone
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from josepy.jwk import JWK

from jupyter_bootstrap.acme_errors import ChallengePortUnavailable, PortProblem
from jupyter_bootstrap.acme_ports import HTTP_01, TLS_ALPN_01, ChallengePorts

log = logging.getLogger("jupyter_bootstrap")

ACME_TLS_PROTOCOL = "acme-tls/1"
# id-pe-acmeIdentifier (RFC 8737 section 6.1).
ACME_IDENTIFIER_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
# A CA that opens a connection and says nothing must not hold a responder thread for long.
HANDSHAKE_TIMEOUT = 10.0


class TLSALPN01Response(challenges.KeyAuthorizationChallengeResponse):
    """The answer POSTed to the challenge URL: an empty object, like http-01's."""

    typ = TLS_ALPN_01


class TLSALPN01(challenges.KeyAuthorizationChallenge):
    """tls-alpn-01: the validation is the acmeIdentifier extension's value."""

    response_cls = TLSALPN01Response
    typ = TLS_ALPN_01

    def validation(self, account_key: JWK, **unused_kwargs: Any) -> bytes:
        return acme_identifier_value(self.key_authorization(account_key))


# Registered unconditionally: on acme 4.x this replaces its deprecated TLSALPN01, so the
# challenge bodies decode to the same class whichever acme is installed.
challenges.Challenge.register(TLSALPN01)
challenges.ChallengeResponse.register(TLSALPN01Response)


def acme_identifier_value(key_authorization: str) -> bytes:
    """The acmeIdentifier extension's extnValue: a DER OCTET STRING holding the SHA-256 of
    the key authorization (tag 0x04, length 32, digest)."""
    digest = hashlib.sha256(key_authorization.encode("ascii")).digest()
    return bytes([0x04, len(digest)]) + digest


def sni_name(identifier: str) -> str:
    """The TLS server name the CA asks for: the name itself, or for an IP address its
    reverse-DNS name (RFC 8738 section 6), without the final dot (SNI never carries it)."""
    try:
        address = ipaddress.ip_address(identifier)
    except ValueError:
        return identifier.lower().rstrip(".")
    return address.reverse_pointer


def _alt_name(identifier: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(identifier))
    except ValueError:
        return x509.DNSName(identifier)


def validation_certificate(
    identifier: str, key_authorization: str, now: datetime.datetime
) -> tuple[bytes, bytes]:
    """(key PEM, certificate PEM) of the self-signed certificate that answers tls-alpn-01 for
    `identifier`: exactly one SAN, and the critical acmeIdentifier extension."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ACME tls-alpn-01 challenge")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([_alt_name(identifier)]), critical=False)
        .add_extension(
            x509.UnrecognizedExtension(
                ACME_IDENTIFIER_OID, acme_identifier_value(key_authorization)
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


class Answer(NamedTuple):
    """One challenge to answer: for which identifier, and the challenge as the CA sent it."""

    identifier: str
    challenge: messages.ChallengeBody

    @property
    def key_authorization_challenge(self) -> challenges.KeyAuthorizationChallenge:
        chall = self.challenge.chall
        if not isinstance(chall, challenges.KeyAuthorizationChallenge):
            raise TypeError(f"{self.challenge.typ} is not a key-authorization challenge")
        return chall


def _tls_context(key_pem: bytes, cert_pem: bytes, folder: Path) -> ssl.SSLContext:
    # Python's ssl loads certificates from files only: they live in a private temporary
    # folder just long enough to be read (the key is a throw-away, but still).
    key_file, cert_file = folder / "key.pem", folder / "cert.pem"
    key_file.write_bytes(key_pem)
    cert_file.write_bytes(cert_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols([ACME_TLS_PROTOCOL])
    key_file.unlink()
    cert_file.unlink()
    return context


def tls_alpn_contexts(
    answers: Sequence[Answer], account_key: JWK, now: datetime.datetime
) -> dict[str, ssl.SSLContext]:
    """One TLS context per SNI name, each presenting that identifier's validation certificate."""
    contexts: dict[str, ssl.SSLContext] = {}
    with tempfile.TemporaryDirectory(prefix="jupyter-bootstrap-acme-") as folder:
        for answer in answers:
            key_authorization = answer.key_authorization_challenge.key_authorization(account_key)
            key_pem, cert_pem = validation_certificate(answer.identifier, key_authorization, now)
            contexts[sni_name(answer.identifier)] = _tls_context(key_pem, cert_pem, Path(folder))
    return contexts


class _TLSALPNHandler(socketserver.BaseRequestHandler):
    """The handshake is the whole answer: the CA reads the certificate and hangs up."""

    server: TLSALPNServer

    def handle(self) -> None:
        connection: socket.socket = self.request
        connection.settimeout(HANDSHAKE_TIMEOUT)
        try:
            with self.server.default_context.wrap_socket(connection, server_side=True) as tls:
                log.debug(
                    "tls-alpn-01: answered %s (ALPN %s)",
                    self.client_address[0],
                    tls.selected_alpn_protocol(),
                )
        except (OSError, ssl.SSLError) as error:
            # A port scanner or a browser, not the CA: nothing to answer.
            log.debug("tls-alpn-01: handshake with %s failed: %s", self.client_address[0], error)


class TLSALPNServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    """Serves validation certificates, chosen by SNI, to clients that offer acme-tls/1.

    Shaped like acme.standalone's servers (an `ipv6` flag) so that acme's
    BaseDualNetworkedServers binds it on both address families."""

    allow_reuse_address = True  # a responder closed a moment ago must not block the next
    daemon_threads = True

    def __init__(
        self,
        server_address: tuple[str, int],
        contexts: dict[str, ssl.SSLContext],
        ipv6: bool = False,
    ) -> None:
        self.address_family = socket.AF_INET6 if ipv6 else socket.AF_INET
        self.contexts = contexts
        # An unknown or missing SNI gets the first certificate: the CA judges it, not us.
        self.default_context = next(iter(contexts.values()))
        self.default_context.sni_callback = self._choose_certificate
        super().__init__(server_address, _TLSALPNHandler)

    def _choose_certificate(
        self, connection: ssl.SSLObject, server_name: Optional[str], _: ssl.SSLContext
    ) -> None:
        chosen = self.contexts.get((server_name or "").lower().rstrip("."))
        if chosen is not None:
            connection.context = chosen


class ThreadingHTTP01Server(socketserver.ThreadingMixIn, standalone.HTTP01Server):
    """acme's http-01 server, one thread per connection: on a public address a scanner
    that connects and says nothing must not keep the CA waiting behind it."""

    daemon_threads = True


DualServers = standalone.BaseDualNetworkedServers


def _bind(challenge: str, port: int, make: Callable[[], DualServers]) -> DualServers:
    """acme's dual-stack binding (:: first, then 0.0.0.0), with its failure told plainly."""
    try:
        servers = make()
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            reason = "in use"
        elif error.errno == errno.EACCES:
            reason = "permission denied"
        else:
            reason = error.strerror or str(error)
        raise ChallengePortUnavailable.of([PortProblem(challenge, port, reason)]) from None
    return servers


@contextmanager
def responding(
    challenge: str,
    answers: Sequence[Answer],
    account_key: JWK,
    ports: ChallengePorts,
    now: datetime.datetime,
) -> Iterator[None]:
    """Serve the answers to `challenge` for the duration of the block, and never longer."""
    port = ports.for_challenge(challenge)
    address = ("", port)  # "" is :: (dual-stack) for IPv6 and 0.0.0.0 for IPv4
    servers: DualServers
    if challenge == TLS_ALPN_01:
        contexts = tls_alpn_contexts(answers, account_key, now)
        servers = _bind(
            challenge,
            port,
            lambda: standalone.BaseDualNetworkedServers(TLSALPNServer, address, contexts),
        )
    elif challenge == HTTP_01:
        resources = set()
        for answer in answers:
            chall = answer.key_authorization_challenge
            response, validation = chall.response_and_validation(account_key)
            resources.add(
                standalone.HTTP01RequestHandler.HTTP01Resource(
                    chall=chall, response=response, validation=validation
                )
            )
        servers = _bind(
            challenge,
            port,
            lambda: standalone.BaseDualNetworkedServers(ThreadingHTTP01Server, address, resources),
        )
    else:
        raise ValueError(f"no responder for {challenge}")
    log.info("%s: answering on TCP port %d for %d identifier(s)", challenge, port, len(answers))
    servers.serve_forever()
    try:
        yield
    finally:
        servers.shutdown_and_server_close()
        log.info("%s: responder on TCP port %d closed", challenge, port)
