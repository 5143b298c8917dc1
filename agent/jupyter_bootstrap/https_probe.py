"""Ask the running server, over verified TLS, whether it answers and enforces the login.

We connect to 127.0.0.1 (Jupyter binds 0.0.0.0 or 127.0.0.1, never ::1, so the name
`localhost` could lead to a refused IPv6 attempt) but send SNI for, and check the
certificate against, a host name: `localhost` for our own certificate, which covers it.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Optional, Union

if TYPE_CHECKING:
    from jupyter_bootstrap.certificate_facts import CertificateInfo

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
MAX_BODY = 1024 * 1024
# A probe is one TLS handshake on loopback (milliseconds): asking often costs the server
# nothing, and the first init waits for a just-started server no longer than it must.
POLL_INTERVAL = 0.1

# Kinds of failure (ProbeResult.kind), used to name a likely cause.
REFUSED = "refused"
TLS_VERIFY = "tls-verify"
TLS_HANDSHAKE = "tls-handshake"
TIMEOUT = "timeout"
NOT_JUPYTER = "not-jupyter"
OPEN = "auth-not-enforced"


class ProbeTarget(NamedTuple):
    port: int
    hostname: str  # checked against the certificate and sent as SNI
    verify: Union[str, bool]  # the CA file, or True for the system's CAs

    @property
    def url(self) -> str:
        return f"https://{self.hostname}:{self.port}/"


class ProbeResult(NamedTuple):
    ok: bool
    summary: str
    kind: str = ""
    version: Optional[str] = None

    @property
    def retryable(self) -> bool:
        """Worth asking again: the server may still be starting. An open server (no login
        required) will not fix itself."""
        return not self.ok and self.kind != OPEN


def target_for(
    port: int,
    certfile: Path,
    own: bool,
    hostnames: list[str],
    from_ca: bool = False,
    ca_bundle: Optional[str] = None,
    facts: Optional[CertificateInfo] = None,
) -> ProbeTarget:
    """Our self-signed certificate: trust it alone, for `localhost`. The user's own
    certificate: trust it alone too when it is self-signed, else the system's CAs (the
    certifi bundle requests ships); check it for the first configured name it covers. One
    from an ACME CA (`from_ca`): the CAs of `ca_bundle` when given (a private CA, the
    tests' Pebble), else the system's, for the first name it holds. `facts`: what the
    certificate step found in `certfile` this run, so that it need not be read again."""
    if not own and not from_ca:
        return ProbeTarget(port, "localhost", str(certfile))
    names, self_signed = _certificate_names(certfile, facts)
    if from_ca and self_signed:  # the fallback while the CA cannot be reached: ours after all
        return ProbeTarget(port, "localhost", str(certfile))
    covered = [name for name in hostnames if name.lower() in names]
    hostname = (covered or sorted(names) or ["localhost"])[0]
    if from_ca:
        return ProbeTarget(port, hostname, ca_bundle or True)
    return ProbeTarget(port, hostname, str(certfile) if self_signed else True)


def _certificate_names(certfile: Path, facts: Optional[CertificateInfo]) -> tuple[set[str], bool]:
    """(the names the certificate holds, DNS names lowercased; whether it is self-issued)."""
    if facts is not None:
        return set(facts.dns_names | facts.ip_addresses), facts.self_issued
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(certfile.read_bytes())
        alt = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (OSError, ValueError, x509.ExtensionNotFound):
        return set(), False
    names = {name.lower() for name in alt.value.get_values_for_type(x509.DNSName)}
    names |= {str(ip) for ip in alt.value.get_values_for_type(x509.IPAddress)}
    return names, certificate.issuer == certificate.subject


class Answer(NamedTuple):
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class NoConnection(Exception):
    """No TLS connection to the server: the result that says why."""

    def __init__(self, result: ProbeResult) -> None:
        super().__init__(result.summary)
        self.result = result


class LoopbackConnection(http.client.HTTPSConnection):
    """Connects to 127.0.0.1 and verifies the certificate for (and sends SNI of) `hostname`,
    with the connect and the read timeouts of the probe."""

    def __init__(self, port: int, hostname: str, context: ssl.SSLContext) -> None:
        super().__init__("127.0.0.1", port, timeout=CONNECT_TIMEOUT, context=context)
        self._verified_name = hostname
        self._tls = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls.wrap_socket(self.sock, server_hostname=self._verified_name)
        self.sock.settimeout(READ_TIMEOUT)

    def get(self, path: str, headers: Optional[dict[str, str]] = None) -> Answer:
        self.request("GET", path, headers=headers or {})
        response = self.getresponse()
        # Bounded: Jupyter's answers here are small (a kernel list is a few hundred bytes a
        # kernel), and whatever else holds the port must not make a check read without end.
        return Answer(response.status, response.read(MAX_BODY))


def tls_context(verify: Union[str, bool]) -> ssl.SSLContext:
    """Verification as the requests library did it here before: only the given CA file (or,
    for `True`, the certifi bundle requests ships), TLS 1.2 at least, the host name checked
    against the certificate's names (never its common name). The standard library's client
    costs a fraction of importing requests, and `status` runs this every time."""
    if verify is True:
        import certifi

        where = certifi.where()
    else:
        where = str(verify)
    if not os.path.exists(where):
        raise OSError(f"Could not find a suitable TLS CA certificate bundle, invalid path: {where}")
    if os.path.isdir(where):
        context = ssl.create_default_context(capath=where)
    else:
        context = ssl.create_default_context(cafile=where)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.hostname_checks_common_name = False
    return context


def connect(target: ProbeTarget) -> LoopbackConnection:
    """A verified TLS connection to the server; NoConnection carries why there is none."""
    try:
        context = tls_context(target.verify)
    except ssl.SSLError as error:  # a CA file that holds no certificate
        raise NoConnection(_tls_failure(target, error)) from None
    except OSError as error:  # the CA file to verify against is unreadable
        raise NoConnection(ProbeResult(False, f"cannot verify TLS: {error}", TLS_VERIFY)) from None
    connection = LoopbackConnection(target.port, target.hostname, context)
    try:
        connection.connect()
    except ssl.SSLError as error:
        connection.close()
        raise NoConnection(_tls_failure(target, error)) from None
    except ConnectionRefusedError:
        connection.close()
        result = ProbeResult(False, f"nothing listens on port {target.port}", REFUSED)
        raise NoConnection(result) from None
    except OSError:  # a timeout too: the port is filtered, or the server is stuck
        connection.close()
        result = ProbeResult(False, f"cannot connect to port {target.port}", TIMEOUT)
        raise NoConnection(result) from None
    return connection


def probe(target: ProbeTarget) -> ProbeResult:
    """One try: GET /api must answer with Jupyter's version, /api/contents with 403. One TLS
    connection for both requests."""
    try:
        connection = connect(target)
    except NoConnection as failed:
        return failed.result
    try:
        api = connection.get("/api")
        contents = connection.get("/api/contents")
    except socket.timeout:
        return ProbeResult(False, f"port {target.port} does not answer", TIMEOUT)
    except ssl.SSLError as error:
        return _tls_failure(target, error)
    except (ConnectionError, http.client.RemoteDisconnected):
        return ProbeResult(False, f"cannot connect to port {target.port}", TIMEOUT)
    except (http.client.HTTPException, OSError) as error:
        return ProbeResult(False, f"the request failed ({error})", NOT_JUPYTER)
    finally:
        connection.close()
    return _judge(target, api, contents)


def _tls_failure(target: ProbeTarget, error: Exception) -> ProbeResult:
    text = str(error)
    if "CERTIFICATE_VERIFY_FAILED" in text or "hostname" in text.lower():
        return ProbeResult(
            False,
            f"the server's certificate does not verify for {target.hostname}",
            TLS_VERIFY,
        )
    return ProbeResult(False, "the TLS handshake fails", TLS_HANDSHAKE)


def _judge(target: ProbeTarget, api: Answer, contents: Answer) -> ProbeResult:
    version = None
    try:
        body = api.json()
        version = body.get("version") if isinstance(body, dict) else None
    except ValueError:
        pass
    if api.status != 200 or not isinstance(version, str):
        return ProbeResult(
            False, f"port {target.port} answers, but not like Jupyter (/api: {api.status})",
            NOT_JUPYTER,
        )  # fmt: skip
    if contents.status != 403:
        return ProbeResult(
            False,
            f"Jupyter lets anyone in without the password (/api/contents: "
            f"{contents.status}, expected 403)",
            OPEN,
            version,
        )
    return ProbeResult(
        True, f"{target.url} answers (Jupyter {version}); login required", "", version
    )


def wait(target: ProbeTarget, deadline: float) -> tuple[ProbeResult, float]:
    """Probe until it works, cannot get better, or `deadline` (time.monotonic()) passes.
    Returns the last result and how long it took."""
    started = time.monotonic()
    while True:
        result = probe(target)
        if not result.retryable or time.monotonic() + POLL_INTERVAL >= deadline:
            return result, time.monotonic() - started
        time.sleep(POLL_INTERVAL)
