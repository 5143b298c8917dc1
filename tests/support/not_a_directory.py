"""An HTTPS server on loopback that answers where an ACME directory should be, but with
what a captive portal, a wrong URL or another service would send."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from jupyter_bootstrap import certs

LOOPBACK = "127.0.0.1"

# path -> (status, content type, body)
GARBAGE = {
    "/html": (200, "text/html", b"<html><body>Welcome to the hotel wifi</body></html>"),
    "/missing": (404, "text/html", b"<h1>Not Found</h1>"),
    "/json": (200, "application/json", json.dumps({"hello": "world"}).encode()),
    "/list": (200, "application/json", b"[1, 2, 3]"),
}


class _Garbage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, kind, body = GARBAGE.get(self.path, (500, "text/plain", b"?"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def garbage_directory(folder: Path) -> Iterator[tuple[str, str]]:
    """(base URL, CA bundle that trusts it); append a path of GARBAGE to the URL."""
    key, cert = certs.self_signed(["localhost", LOOPBACK], "ec", certs.utc_now())
    (folder / "garbage.pem").write_bytes(key + cert)
    (folder / "garbage-ca.pem").write_bytes(cert)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "garbage.pem")
    server = ThreadingHTTPServer((LOOPBACK, 0), _Garbage)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://{LOOPBACK}:{server.server_address[1]}", str(folder / "garbage-ca.pem")
    finally:
        server.shutdown()
        server.server_close()
