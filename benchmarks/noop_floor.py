"""The floor of a no-op `init` or `status` on a converged machine: what any check that the
server is set up and working cannot avoid. Run with the agent's own Python, as the login
user, inside the instance:

    python noop_floor.py [--with-click]

Python starts; the settings file is read; systemd is asked once about the unit; one TLS
handshake (verified against the server's certificate) and one HTTP request reach Jupyter.
Standard library only: no import of the agent's dependencies is part of the floor.

--with-click imports click first: the same floor for a command line built on click, as the
agent's is. It is not the issue's floor; run_all shows it beside it, so that what the
command-line library alone costs is told apart from what the agent's own code costs.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from pathlib import Path


def main() -> None:
    if "--with-click" in sys.argv[1:]:
        import click  # noqa: F401
    home = Path.home()
    settings = json.loads((home / ".config" / "jupyter-bootstrap" / "settings.json").read_text())
    port = int(settings.get("port") or 8888)
    unit = f"{settings.get('service_name') or 'jupyter'}.service"
    subprocess.run(
        ["systemctl", "show", unit, "-p", "ActiveState,SubState,MainPID,FragmentPath"],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(cafile=str(home / "certs" / "mycert.pem"))
    # 127.0.0.1 with the name `localhost` for SNI and the certificate check, as the agent's
    # probe does (the name alone could try ::1 first, where Jupyter does not listen).
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with context.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"GET /api HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    if not answer.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"/api answered {answer[:40]!r}")


if __name__ == "__main__":
    main()
