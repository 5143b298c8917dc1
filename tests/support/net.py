"""Ports on the loopback interface."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (an e2e instance shares the host's
    network, so this holds for it too).

    There is a window between this check and the server binding the port; with distinct
    ports per test that race is harmless in practice.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
