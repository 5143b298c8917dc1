"""The ports the CA's checks come to, with the names of the two kinds of check. Apart from
the responders (acme_challenges.py) so that a check of a certificate that is fine can say
where an order would listen without importing the ACME client."""

from __future__ import annotations

from typing import NamedTuple

TLS_ALPN_01 = "tls-alpn-01"
HTTP_01 = "http-01"


class ChallengePorts(NamedTuple):
    """Where the responders listen. The CA always connects to 443 and 80; other values are for
    tests against Pebble, or for a port redirected to the standard one."""

    tls_alpn: int = 443
    http: int = 80

    def for_challenge(self, challenge: str) -> int:
        return self.tls_alpn if challenge == TLS_ALPN_01 else self.http
