"""What the agent needs to know about a certificate and its key (names, expiry, issuer,
whether the key belongs to it), read with cryptography once and then kept (derived.py)
under the digest of the two PEM files, so that checking a certificate that did not change
does not import cryptography."""

from __future__ import annotations

import datetime
import ipaddress
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple, Optional

from jupyter_bootstrap import __version__, derived

KIND = "certificates"
# One pair is checked per run (ours, or the one given with --certfile/--keyfile).
NAME = "checked"
RENEW_BEFORE_DAYS = 30


class CertificateInfo(NamedTuple):
    not_after: datetime.datetime
    dns_names: frozenset[str]
    ip_addresses: frozenset[str]
    fingerprint_sha256: str  # AA:BB:..., as browsers show it
    key_matches: bool
    self_issued: bool  # issuer == subject: self-signed, not from a CA
    not_before: datetime.datetime
    issuer: str  # as a person reads it: "R11 (Let's Encrypt)"
    names: tuple[str, ...]  # DNS names, then IP addresses, as the certificate lists them

    def uncovered(self, names: Iterable[str]) -> list[str]:
        """The names among `names` this certificate does not cover (empty: it covers all)."""
        missing = []
        for name in names:
            pool = self.ip_addresses if is_ip(name) else self.dns_names
            if name not in pool:
                missing.append(name)
        return missing


class BadCertificate(ValueError):
    """The files exist but are not a usable certificate/key pair."""


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def inspect(cert_pem: bytes, key_pem: bytes) -> CertificateInfo:
    """The facts of the certificate in `cert_pem` (its first, the leaf) and the key in
    `key_pem`. BadCertificate when they are not a usable pair (never kept: it is read again
    and said again on every run, until it is fixed)."""
    readers = _readers()
    key = None if readers is None else derived.digest(KIND.encode(), *readers, cert_pem, key_pem)
    kept = derived.recall(KIND, NAME, key) if key is not None else None
    if kept is not None:
        try:
            return _from_json(kept)
        except (ValueError, KeyError, TypeError):
            pass  # not what we keep: read the certificate again
    from jupyter_bootstrap import certs

    info = certs.inspect(cert_pem, key_pem)
    if key is not None:
        derived.keep(KIND, NAME, key, _to_json(info))
    return info


def _readers() -> Optional[list[bytes]]:
    """The code that reads a pair: ours, and cryptography's version (found without importing
    it), so that a change in either reads every pair again. None: read every time."""
    cryptography = derived.package_code("cryptography", "__about__.py")
    if cryptography is None:
        return None
    here = Path(__file__).parent
    try:
        ours = [(here / name).read_bytes() for name in ("certs.py", "trust_anchor.py")]
    except OSError:
        return None
    return [__version__.encode(), *ours, *cryptography]


def _to_json(info: CertificateInfo) -> bytes:
    document: dict[str, Any] = info._asdict()
    for field in ("not_after", "not_before"):
        document[field] = document[field].isoformat()
    for field in ("dns_names", "ip_addresses"):
        document[field] = sorted(document[field])
    return json.dumps(document, sort_keys=True).encode()


def _from_json(data: bytes) -> CertificateInfo:
    document = json.loads(data)
    return CertificateInfo(
        not_after=datetime.datetime.fromisoformat(document["not_after"]),
        dns_names=frozenset(document["dns_names"]),
        ip_addresses=frozenset(document["ip_addresses"]),
        fingerprint_sha256=str(document["fingerprint_sha256"]),
        key_matches=bool(document["key_matches"]),
        self_issued=bool(document["self_issued"]),
        not_before=datetime.datetime.fromisoformat(document["not_before"]),
        issuer=str(document["issuer"]),
        names=tuple(str(name) for name in document["names"]),
    )
