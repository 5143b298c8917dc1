"""Hostnames the user types: validated here, cheaply, before anything is written."""

from __future__ import annotations

import ipaddress
import re

from jupyter_bootstrap.errors import UserError

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_HINT = "give a name like ec2-3-8-1-2.eu-west-2.compute.amazonaws.com or an IP like 3.8.1.2"


def parse_hostname(value: str) -> str:
    """A DNS name or an IP address, normalised (lower case, no trailing dot, a name with
    non-ASCII letters in its ASCII form `xn--...`, which is what certificates hold and what
    browsers send); else a user error, because it would end up in the certificate and the
    URL we print."""
    text = value.strip()
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if getattr(address, "scope_id", None):
            # fe80::1%eth0: the zone means something on this machine only, and a
            # certificate's IP address entry has no room for it.
            raise UserError(
                f"--hostname {value!r} is an address with a zone (%...), which a certificate "
                "cannot hold",
                hint="give the machine's public name or address instead",
            )
        return str(address)
    if "://" in text or "/" in text:
        raise UserError(
            f"--hostname {value!r} is a URL, not a host name",
            hint="give only the name, without https:// or a path: " + _HINT,
        )
    if "*" in text:
        raise UserError(
            f"--hostname {value!r} is a wildcard: the certificate needs the exact name",
            hint="give the name the browser will use (repeat --hostname for several)",
        )
    name = text.rstrip(".").lower()
    if not name.isascii():
        name = _ascii_form(value, name)
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UserError(f"--hostname {value!r} is neither a DNS name nor an IP address", hint=_HINT)
    if labels[-1].isdigit():
        raise UserError(f"--hostname {value!r} looks like a broken IP address")
    return name


def _ascii_form(value: str, name: str) -> str:
    # Python's own IDNA codec (no new dependency): jüpyter.example.org ->
    # xn--jpyter-kva.example.org. A label it cannot encode (too long, a forbidden
    # character) is the same user error as any other bad name.
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        raise UserError(
            f"--hostname {value!r} is neither a DNS name nor an IP address", hint=_HINT
        ) from None
