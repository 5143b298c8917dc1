"""The instance's public name and address from the EC2 instance metadata service (IMDSv2).

This is not an AWS API call: no credentials, link-local only, and a short timeout so other
clouds and laptops lose well under a second. `JUPYTER_BOOTSTRAP_METADATA_URL` points it
elsewhere (the tests use a loopback server) or turns it `off`."""

from __future__ import annotations

import logging
import os
from typing import NamedTuple, Optional

DEFAULT_METADATA_URL = "http://169.254.169.254"
TOKEN_TTL_SECONDS = "60"
TIMEOUT = (0.5, 1.0)  # (connect, read): an absent service must not slow every run
MAX_ANSWER = 64 * 1024

log = logging.getLogger("jupyter_bootstrap")


class PublicAddress(NamedTuple):
    hostname: Optional[str] = None
    ipv4: Optional[str] = None
    # An instance's IPv6 address is public as it is (no NAT): metadata lists it per
    # interface, this is the first one's.
    ipv6: Optional[str] = None
    # Whether the service answered at all (with a token): an instance without a public
    # address has no names either, but it is not a service that failed to answer.
    answered: bool = False

    @property
    def names(self) -> list[str]:
        return [n for n in (self.hostname, self.ipv4, self.ipv6) if n]


def metadata_url() -> Optional[str]:
    value = os.environ.get("JUPYTER_BOOTSTRAP_METADATA_URL", DEFAULT_METADATA_URL).strip()
    if value.lower() in ("", "off", "none", "0"):
        return None
    return value.rstrip("/")


def lookup() -> PublicAddress:
    """The public names, or an empty answer when there is no metadata service. Plain HTTP
    over one connection with the standard library's client: `status` asks on every run, and
    importing requests would cost more than the four requests themselves."""
    base = metadata_url()
    if base is None:
        return PublicAddress()
    import http.client
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(base)
        host, port = parts.hostname or "", parts.port or 80
    except ValueError as error:  # a port that is no number
        log.info("no usable instance metadata URL %s: %s", base, error)
        return PublicAddress()
    prefix = parts.path.rstrip("/")
    # Never through a proxy (the service is only reachable directly): http.client uses none.
    connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT[0])

    def ask(method: str, name: str, headers: dict[str, str]) -> Optional[str]:
        connection.request(method, f"{prefix}/latest/{name}", headers=headers)
        answer = connection.getresponse()
        # A bounded read: an answer is a name or an address, never more than a few KiB.
        text = answer.read(MAX_ANSWER).decode("utf-8", errors="replace").strip()
        return text if answer.status == 200 and text else None

    try:
        connection.connect()
        if connection.sock is not None:  # connected: the answers may take a little longer
            connection.sock.settimeout(TIMEOUT[1])
        token = ask("PUT", "api/token", {"X-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL_SECONDS})
        if token is None:
            return PublicAddress()
        headers = {"X-aws-ec2-metadata-token": token}
        return PublicAddress(
            hostname=ask("GET", "meta-data/public-hostname", headers),
            ipv4=ask("GET", "meta-data/public-ipv4", headers),
            ipv6=ask("GET", "meta-data/ipv6", headers),
            answered=True,
        )
    # ValueError: an answer that cannot go into a header (a token with a line break).
    except (OSError, http.client.HTTPException, ValueError) as error:
        log.info("no instance metadata at %s: %s", base, error)
        return PublicAddress()
    finally:
        connection.close()
