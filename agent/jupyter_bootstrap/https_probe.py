"""Ask the running server, over verified TLS, whether it answers and enforces the login.

We connect to 127.0.0.1 (Jupyter binds 0.0.0.0 or 127.0.0.1, never ::1, so the name
`localhost` could lead to a refused IPv6 attempt) but send SNI for, and check the
certificate against, a host name: `localhost` for our own certificate, which covers it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

if TYPE_CHECKING:
    import requests
    from requests import Response

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
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


@dataclass(frozen=True)
class ProbeTarget:
    port: int
    hostname: str  # checked against the certificate and sent as SNI
    verify: Union[str, bool]  # the CA file, or True for the system's CAs

    @property
    def url(self) -> str:
        return f"https://{self.hostname}:{self.port}/"


@dataclass(frozen=True)
class ProbeResult:
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
) -> ProbeTarget:
    """Our self-signed certificate: trust it alone, for `localhost`. The user's own
    certificate: trust it alone too when it is self-signed, else the system's CAs (the
    certifi bundle requests ships); check it for the first configured name it covers. One
    from an ACME CA (`from_ca`): the CAs of `ca_bundle` when given (a private CA, the
    tests' Pebble), else the system's, for the first name it holds."""
    if not own and not from_ca:
        return ProbeTarget(port, "localhost", str(certfile))
    if from_ca:
        names, self_signed = _certificate_names(certfile)
        if self_signed:  # the fallback while the CA cannot be reached: ours after all
            return ProbeTarget(port, "localhost", str(certfile))
        covered = [name for name in hostnames if name.lower() in names]
        hostname = (covered or sorted(names) or ["localhost"])[0]
        return ProbeTarget(port, hostname, ca_bundle or True)
    names, self_signed = _certificate_names(certfile)
    covered = [name for name in hostnames if name.lower() in names]
    hostname = (covered or sorted(names) or ["localhost"])[0]
    return ProbeTarget(port, hostname, str(certfile) if self_signed else True)


def _certificate_names(certfile: Path) -> tuple[set[str], bool]:
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(certfile.read_bytes())
        alt = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (OSError, ValueError, x509.ExtensionNotFound):
        return set(), False
    names = {name.lower() for name in alt.value.get_values_for_type(x509.DNSName)}
    names |= {str(ip) for ip in alt.value.get_values_for_type(x509.IPAddress)}
    return names, certificate.issuer == certificate.subject


def session_for(hostname: str) -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter

    class PinnedHostname(HTTPAdapter):
        """Connect to the URL's address, verify the certificate for `hostname`."""

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["server_hostname"] = hostname
            kwargs["assert_hostname"] = hostname
            super().init_poolmanager(*args, **kwargs)

    session = requests.Session()
    # No proxy (https_proxy is set on many machines), no netrc, and no REQUESTS_CA_BUNDLE
    # overriding the certificate we verify against.
    session.trust_env = False
    session.mount("https://", PinnedHostname())
    return session


def probe(target: ProbeTarget) -> ProbeResult:
    """One try: GET /api must answer with Jupyter's version, /api/contents with 403."""
    import requests

    base = f"https://127.0.0.1:{target.port}"
    timeout = (CONNECT_TIMEOUT, READ_TIMEOUT)
    with session_for(target.hostname) as session:
        try:
            api = session.get(f"{base}/api", verify=target.verify, timeout=timeout)
            contents = session.get(f"{base}/api/contents", verify=target.verify, timeout=timeout)
        except requests.exceptions.SSLError as error:
            return _tls_failure(target, error)
        except requests.exceptions.ConnectionError as error:
            if "refused" in str(error).lower():
                return ProbeResult(False, f"nothing listens on port {target.port}", REFUSED)
            return ProbeResult(False, f"cannot connect to port {target.port}", TIMEOUT)
        except requests.exceptions.Timeout:
            return ProbeResult(False, f"port {target.port} does not answer", TIMEOUT)
        except requests.exceptions.RequestException as error:
            return ProbeResult(False, f"the request failed ({error})", NOT_JUPYTER)
        except OSError as error:  # requests: the CA file to verify against is unreadable
            return ProbeResult(False, f"cannot verify TLS: {error}", TLS_VERIFY)
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


def _judge(target: ProbeTarget, api: Response, contents: Response) -> ProbeResult:
    version = None
    try:
        body = api.json()
        version = body.get("version") if isinstance(body, dict) else None
    except ValueError:
        pass
    if api.status_code != 200 or not isinstance(version, str):
        return ProbeResult(
            False, f"port {target.port} answers, but not like Jupyter (/api: {api.status_code})",
            NOT_JUPYTER,
        )  # fmt: skip
    if contents.status_code != 403:
        return ProbeResult(
            False,
            f"Jupyter lets anyone in without the password (/api/contents: "
            f"{contents.status_code}, expected 403)",
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
