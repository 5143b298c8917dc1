"""Hostnames the user types: validated here, cheaply, before anything is written."""

from __future__ import annotations

import ipaddress
import re

from jupyter_bootstrap.errors import UserError

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def parse_hostname(value: str) -> str:
    """A DNS name or an IP address, normalised (lower case, no trailing dot); else a user
    error, because it would end up in the certificate and the URL we print."""
    text = value.strip()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    name = text.rstrip(".").lower()
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UserError(
            f"--hostname {value!r} is neither a DNS name nor an IP address",
            hint="give a name like ec2-3-8-1-2.eu-west-2.compute.amazonaws.com or an IP "
            "like 3.8.1.2",
        )
    if labels[-1].isdigit():
        raise UserError(f"--hostname {value!r} looks like a broken IP address")
    return name
