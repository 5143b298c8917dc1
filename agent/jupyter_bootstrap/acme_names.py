"""Which names a public CA can validate: it connects to each from the internet, so only a
public IP address or a public DNS name can go into the order. Everything else is left out
with the reason, so the user sees why a name they gave is not in the certificate.

`JUPYTER_BOOTSTRAP_ACME_ALLOW_LOOPBACK=1` is for tests only: it lets loopback addresses
through, so a CA on this machine (Pebble) can validate against a responder on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from typing import NamedTuple

ALLOW_LOOPBACK_ENV = "JUPYTER_BOOTSTRAP_ACME_ALLOW_LOOPBACK"

# Let's Encrypt refuses names under these (its high-risk list has amazonaws.com), and the
# EC2 names resolve to the instance's address anyway, which goes in as an IP address.
REFUSED_SUFFIXES = (".amazonaws.com",)
# Names that only mean something inside a network or on one machine.
PRIVATE_SUFFIXES = (".internal", ".local", ".localdomain", ".lan", ".home.arpa", ".test")


class LeftOut(NamedTuple):
    name: str
    why: str


def _loopback_allowed() -> bool:
    return os.environ.get(ALLOW_LOOPBACK_ENV, "") == "1"


def why_not(name: str) -> str:
    """Why a public CA cannot validate `name`; empty when it can."""
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return _why_not_dns(name.lower())
    if address.is_loopback:
        return "" if _loopback_allowed() else "a loopback address (this machine only)"
    if address.is_private or address.is_link_local or address.is_reserved:
        return "a private address (reachable only inside its network)"
    if not address.is_global or address.is_multicast:
        return "not a public address"
    return ""


def _why_not_dns(name: str) -> str:
    if name == "localhost" or name.endswith(".localhost"):
        return "this machine's own name"
    if "." not in name:
        return "a name without a domain (reachable only inside its network)"
    if name.endswith(REFUSED_SUFFIXES):
        return "an EC2 name, which Let's Encrypt refuses (its public IP address goes in instead)"
    if name.endswith(PRIVATE_SUFFIXES):
        return "a private name (reachable only inside its network)"
    return ""


def public_names(candidates: Iterable[str]) -> tuple[list[str], list[LeftOut]]:
    """(names for the order, in order and without repeats; names left out, with why)."""
    kept: list[str] = []
    left_out: list[LeftOut] = []
    for name in candidates:
        if name in kept or any(item.name == name for item in left_out):
            continue
        why = why_not(name)
        if why:
            left_out.append(LeftOut(name, why))
        else:
            kept.append(name)
    return kept, left_out
