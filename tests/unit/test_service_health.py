"""The health probe against a real TLS server on 127.0.0.1 that answers like Jupyter (or
not), and the health step's failure report."""

from __future__ import annotations

import datetime
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jupyter_bootstrap import certs, https_probe
from jupyter_bootstrap.account import Account
from jupyter_bootstrap.console import Console
from jupyter_bootstrap.engine import Context, Options
from jupyter_bootstrap.errors import StepFailed
from jupyter_bootstrap.facts import Facts
from jupyter_bootstrap.https_probe import ProbeTarget
from jupyter_bootstrap.paths import Paths
from jupyter_bootstrap.service import journal as service_journal
from jupyter_bootstrap.service import systemctl
from jupyter_bootstrap.settings import Settings
from jupyter_bootstrap.steps import health
from tests.support.net import free_port


def write_pair(directory: Path, names: list[str]) -> tuple[Path, Path]:
    key_pem, cert_pem = certs.self_signed(names, "ec", certs.utc_now())
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "key.pem").write_bytes(key_pem)
    (directory / "cert.pem").write_bytes(cert_pem)
    return directory / "cert.pem", directory / "key.pem"


class FakeJupyter:
    """GET /api -> 200 {"version"}, GET /api/contents -> `contents_status` (403 = login
    enforced), over TLS with the given pair."""

    def __init__(self, certfile: Path, keyfile: Path, contents_status: int = 403) -> None:
        self.port = free_port()
        self.contents_status = contents_status
        self.api_status = 200
        # Set: /api streams this many bytes with no length, as something else on the port
        # might; `sent` counts what got out before the client hung up.
        self.endless: int = 0
        self.sent = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/api" and outer.endless:
                    self.send_response(200)
                    self.send_header("Connection", "close")
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        while outer.sent < outer.endless:
                            self.wfile.write(chunk)
                            outer.sent += len(chunk)
                    except OSError:  # the client closed: what it did not want
                        pass
                    return
                if self.path == "/api":
                    status, body = outer.api_status, json.dumps({"version": "2.99.0"})
                else:
                    status, body = outer.contents_status, "{}"
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(certfile), str(keyfile))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeJupyter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    return write_pair(tmp_path / "ours", ["localhost", "127.0.0.1"])


@pytest.fixture
def server(pair: tuple[Path, Path]) -> Iterator[FakeJupyter]:
    with FakeJupyter(*pair) as running:
        yield running


def test_a_jupyter_that_enforces_login_is_healthy(
    server: FakeJupyter, pair: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Neither a CA bundle variable nor a proxy in the environment may get in the way.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    result = https_probe.probe(https_probe.target_for(server.port, pair[0], False, []))
    assert result.ok, result
    assert result.version == "2.99.0"
    assert result.summary == f"https://localhost:{server.port}/ answers (Jupyter 2.99.0); " + (
        "login required"
    )


PROBE_IN_A_FRESH_INTERPRETER = """
import json, sys
from pathlib import Path
from jupyter_bootstrap import https_probe
result = https_probe.probe(https_probe.target_for(int(sys.argv[1]), Path(sys.argv[2]), False, []))
print(json.dumps({"ok": result.ok, "requests": "requests" in sys.modules}))
"""


def test_the_probe_needs_no_requests(server: FakeJupyter, pair: tuple[Path, Path]) -> None:
    """`status` probes on every run: the standard library's TLS client, not requests."""
    ran = subprocess.run(
        [sys.executable, "-c", PROBE_IN_A_FRESH_INTERPRETER, str(server.port), str(pair[0])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(ran.stdout) == {"ok": True, "requests": False}, ran.stderr


def test_an_endless_answer_is_read_only_so_far(pair: tuple[Path, Path]) -> None:
    """Whatever holds the port, a probe reads a bounded answer and comes back."""
    with FakeJupyter(*pair) as server:
        server.endless = 256 * 1024 * 1024
        result = https_probe.probe(https_probe.target_for(server.port, pair[0], False, []))
        time.sleep(0.2)  # the server's last write fails once the connection is gone
    assert not result.ok
    # What the kernel's buffers took in flight, not the 256 MiB offered.
    assert server.sent < 32 * 1024 * 1024, server.sent


def test_an_open_jupyter_fails_at_once(pair: tuple[Path, Path]) -> None:
    with FakeJupyter(*pair, contents_status=200) as server:
        started = time.monotonic()
        result, _ = https_probe.wait(
            https_probe.target_for(server.port, pair[0], False, []), time.monotonic() + 30
        )
    assert time.monotonic() - started < 5  # no point waiting: it will not fix itself
    assert result.kind == https_probe.OPEN
    assert "without the password" in result.summary


def test_another_certificate_does_not_verify(server: FakeJupyter, tmp_path: Path) -> None:
    other, _ = write_pair(tmp_path / "other", ["localhost"])
    result = https_probe.probe(https_probe.target_for(server.port, other, False, []))
    assert result.kind == https_probe.TLS_VERIFY


def test_the_hostname_is_checked(server: FakeJupyter, pair: tuple[Path, Path]) -> None:
    result = https_probe.probe(ProbeTarget(server.port, "example.org", str(pair[0])))
    assert result.kind == https_probe.TLS_VERIFY
    assert "example.org" in result.summary


def test_nothing_listening_is_refused(pair: tuple[Path, Path]) -> None:
    result = https_probe.probe(https_probe.target_for(free_port(), pair[0], False, []))
    assert result.kind == https_probe.REFUSED


def test_something_else_on_the_port_is_not_jupyter(
    server: FakeJupyter, pair: tuple[Path, Path]
) -> None:
    server.api_status = 404
    result = https_probe.probe(https_probe.target_for(server.port, pair[0], False, []))
    assert result.kind == https_probe.NOT_JUPYTER


def test_own_self_signed_certificate_is_trusted_for_its_own_name(tmp_path: Path) -> None:
    certfile, _ = write_pair(tmp_path, ["jupyter.example.org", "alt.example.org"])
    target = https_probe.target_for(443, certfile, True, ["alt.example.org"])
    assert (target.hostname, target.verify) == ("alt.example.org", str(certfile))
    target = https_probe.target_for(443, certfile, True, [])
    assert target.hostname == "alt.example.org"  # the first name, sorted: deterministic


def test_own_ca_signed_certificate_is_checked_against_the_system_cas(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    now = certs.utc_now()
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jupyter.example.org")]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some CA")]))
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("jupyter.example.org")]), False)
        .sign(ca_key, hashes.SHA256())
    )
    certfile = tmp_path / "fullchain.pem"
    certfile.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    target = https_probe.target_for(443, certfile, True, ["jupyter.example.org"])
    assert (target.hostname, target.verify) == ("jupyter.example.org", True)


# -- the step --------------------------------------------------------------------------------


def make_context(tmp_path: Path, certfile: Path, port: int) -> Context:
    """A real context with just what the health step reads: the port and certificate."""
    home = tmp_path / "home"
    return Context(
        account=Account("nobody", os.getuid(), os.getgid(), home),
        paths=Paths(home),
        settings=Settings(port=port),
        options=Options(),
        console=Console(quiet=True),
        facts=Facts(certfile=certfile, config_file=tmp_path / "jupyter_server_config.py"),
        read_password=lambda: pytest.fail("the health step never reads a password"),
    )


def test_a_just_started_server_is_waited_for(pair: tuple[Path, Path], tmp_path: Path) -> None:
    server = FakeJupyter(*pair)
    ctx = make_context(tmp_path, pair[0], server.port)
    ctx.run.service_started_at = time.monotonic()
    threading.Timer(1.0, server.__enter__).start()  # comes up a second later
    try:
        found = health.HealthStep().check(ctx)
    finally:
        time.sleep(0.1)
        server.__exit__()
    assert found.ok, found


def test_status_looks_once_and_reports_drift(pair: tuple[Path, Path], tmp_path: Path) -> None:
    ctx = make_context(tmp_path, pair[0], free_port())
    started = time.monotonic()
    found = health.HealthStep().check(ctx)
    assert time.monotonic() - started < 5
    assert not found.ok and "nothing listens" in found.summary


def test_failure_shows_the_journal_and_the_likely_cause(
    pair: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = "OSError: [Errno 98] Address already in use"
    monkeypatch.setattr(systemctl, "is_booted", lambda: True)
    monkeypatch.setattr(
        service_journal, "journal_tail", lambda unit, lines: f"{unit} {lines}: {journal}"
    )
    monkeypatch.setattr(health, "STARTUP_TIMEOUT", 1.0)
    port = free_port()
    ctx = make_context(tmp_path, pair[0], port)
    with pytest.raises(StepFailed) as failure:
        health.HealthStep().apply(ctx, health.HealthPlan(deadline=None))
    expected = f"Jupyter does not work over HTTPS: nothing listens on port {port}"
    assert failure.value.message == expected
    assert failure.value.details == f"jupyter.service 30: {journal}"
    assert failure.value.hint is not None and f"sport = :{port}" in failure.value.hint


@pytest.mark.parametrize(
    "kind, journal, expected",
    [
        (https_probe.REFUSED, "SyntaxError: invalid syntax", "could not load its config"),
        (https_probe.REFUSED, "PermissionError: [Errno 13] Permission denied", "cannot open"),
        (https_probe.REFUSED, "ModuleNotFoundError: No module named 'x'", "environment is broken"),
        (https_probe.REFUSED, "", "not listening"),
        (https_probe.OPEN, "Address already in use", "turns the password off"),
        (https_probe.TLS_VERIFY, "", "another certificate than"),
        (https_probe.TLS_HANDSHAKE, "", "cannot use its key"),
    ],
)
def test_likely_causes(
    pair: tuple[Path, Path], tmp_path: Path, kind: str, journal: str, expected: str
) -> None:
    ctx = make_context(tmp_path, pair[0], 8888)
    result = https_probe.ProbeResult(False, "x", kind)
    assert expected in health.likely_cause(ctx, result, journal)
