"""The instance's public name and address from the EC2 instance metadata service (IMDSv2).

This is not an AWS API call: no credentials, link-local only, and a short timeout so other
clouds and laptops lose well under a second. `JUPYTER_BOOTSTRAP_METADATA_URL` points it
elsewhere (the tests use a loopback server) or turns it `off`."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Optional

DEFAULT_METADATA_URL = "http://169.254.169.254"
TOKEN_TTL_SECONDS = "60"
TIMEOUT = (0.5, 1.0)  # (connect, read): an absent service must not slow every run

log = logging.getLogger("jupyter_bootstrap")


@dataclass(frozen=True)
class PublicAddress:
    hostname: Optional[str] = None
    ipv4: Optional[str] = None
    # An instance's IPv6 address is public as it is (no NAT): metadata lists it per
    # interface, this is the first one's.
    ipv6: Optional[str] = None

    @property
    def names(self) -> list[str]:
        return [n for n in (self.hostname, self.ipv4, self.ipv6) if n]


def metadata_url() -> Optional[str]:
    value = os.environ.get("JUPYTER_BOOTSTRAP_METADATA_URL", DEFAULT_METADATA_URL).strip()
    if value.lower() in ("", "off", "none", "0"):
        return None
    return value.rstrip("/")


def lookup() -> PublicAddress:
    base = metadata_url()
    if base is None:
        return PublicAddress()
    import requests

    session = requests.Session()
    # Never through a proxy: the metadata service is only reachable directly.
    session.trust_env = False
    try:
        token = session.put(
            f"{base}/latest/api/token",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL_SECONDS},
            timeout=TIMEOUT,
        )
        if token.status_code != 200:
            return PublicAddress()
        headers = {"X-aws-ec2-metadata-token": token.text}

        def item(name: str) -> Optional[str]:
            answer = session.get(
                f"{base}/latest/meta-data/{name}", headers=headers, timeout=TIMEOUT
            )
            text = answer.text.strip()
            return text if answer.status_code == 200 and text else None

        return PublicAddress(
            hostname=item("public-hostname"), ipv4=item("public-ipv4"), ipv6=item("ipv6")
        )
    except requests.RequestException as error:
        log.info("no instance metadata at %s: %s", base, error)
        return PublicAddress()
    finally:
        session.close()
