"""The rendered config, loaded by a real Jupyter Server: TLS verifies against the generated
certificate and the password login works (and a wrong one does not)."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
import requests

from tests.support.cli import PASSWORD, init_files_only, invoke
from tests.support.jupyter_server import login, running_server
from tests.support.net import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
def configured(home: Path, jupyter_prefix: Path) -> tuple[Path, int]:
    port = free_port()
    result = init_files_only(jupyter_prefix, "--port", str(port))
    assert result.exit_code == 0, result.output
    return home, port


def test_real_server_serves_https_and_enforces_the_password(
    configured: tuple[Path, int], jupyter_prefix: Path
) -> None:
    home, port = configured
    config = home / ".jupyter" / "jupyter_server_config.py"
    certfile = home / "certs" / "mycert.pem"
    with running_server(jupyter_prefix, config, home, port, certfile) as base:
        # TLS verifies against our certificate for the name "localhost".
        api = requests.get(f"{base}/api", verify=str(certfile), timeout=10)
        assert api.status_code == 200
        assert "version" in api.json()

        anonymous = requests.get(f"{base}/api/contents", verify=str(certfile), timeout=10)
        assert anonymous.status_code == 403

        status, session = login(base, PASSWORD, certfile)
        assert status == 302
        contents = session.get(f"{base}/api/contents", verify=str(certfile), timeout=10)
        assert contents.status_code == 200

        wrong_status, wrong_session = login(base, "not the password", certfile)
        assert wrong_status == 401
        after = wrong_session.get(f"{base}/api/contents", verify=str(certfile), timeout=10)
        assert after.status_code == 403

        # Verified only against our certificate: the system CAs do not know it.
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"https://127.0.0.1:{port}/api", verify=True, timeout=10)

        # Only HTTPS is served: a plain-HTTP request to the port fails.
        plain = f"http://127.0.0.1:{port}/api"
        with pytest.raises(requests.RequestException):
            answer = requests.get(plain, timeout=5)
            answer.raise_for_status()


def test_the_exported_certificate_alone_verifies_the_server(
    configured: tuple[Path, int], jupyter_prefix: Path, tmp_path: Path
) -> None:
    """What `cert export` writes is all a fresh client needs: no system CAs, no environment
    (REQUESTS_CA_BUNDLE is set on these machines), no flag that skips verification."""
    home, port = configured
    pem, der = tmp_path / "jupyter.crt", tmp_path / "jupyter.cer"
    assert invoke("cert", "export", "-o", str(pem)).exit_code == 0
    assert invoke("cert", "export", "--format", "der", "-o", str(der)).exit_code == 0
    config = home / ".jupyter" / "jupyter_server_config.py"
    with running_server(jupyter_prefix, config, home, port, home / "certs" / "mycert.pem") as base:
        session = requests.Session()
        session.trust_env = False
        assert session.get(f"{base}/api", verify=str(pem), timeout=10).status_code == 200
        status, logged_in = login(base, PASSWORD, pem)
        assert status == 302
        assert logged_in.get(f"{base}/api/contents", verify=str(pem), timeout=10).ok
        # The DER form, as the only root of a plain TLS client, for both names it covers.
        context = ssl.create_default_context(cadata=der.read_bytes())
        for host in ("localhost", "127.0.0.1"):
            with (
                socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
                context.wrap_socket(raw, server_hostname=host) as tls,
            ):
                assert tls.version() is not None
        # A name the certificate does not cover fails, so the check above means something.
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            context.wrap_socket(raw, server_hostname="other.example.test")
