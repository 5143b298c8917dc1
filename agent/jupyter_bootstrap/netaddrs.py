"""The machine's own IPv4 addresses, read from its interfaces (never by connecting out)."""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct

SIOCGIFADDR = 0x8915  # linux/sockios.h: get the interface's primary IPv4 address


def interface_ipv4_addresses() -> list[str]:
    """Non-loopback IPv4 addresses of the interfaces that have one, sorted."""
    found: set[str] = set()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, request)
            except OSError:
                continue  # interface without an IPv4 address, or down
            address = ipaddress.IPv4Address(answer[20:24])
            if not address.is_loopback and not address.is_link_local:
                found.add(str(address))
    return sorted(found, key=ipaddress.IPv4Address)
