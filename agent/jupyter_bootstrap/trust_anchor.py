"""What a browser must trust to open the server without a warning, and how the certificate
the server presents is described to the person comparing it (issuer, fingerprint, expiry).

A self-signed certificate (ours is CA:TRUE, so it can be imported as a root) is its own
anchor. A file the user brought may hold a chain: its last self-issued certificate is the
anchor; without one the chain ends at a CA the browser already knows (or not), and the leaf
is all we can offer."""

from __future__ import annotations

import datetime
from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

FORMATS = ("pem", "der")


class NotACertificate(ValueError):
    """The file holds no PEM certificate."""


class CertificateDetails(NamedTuple):
    subject: str  # the common name, else the whole subject as RFC 4514 text
    issuer: str
    self_signed: bool
    not_before: datetime.datetime
    not_after: datetime.datetime
    fingerprint_sha256: str  # AA:BB:..., as browsers show it
    names: tuple[str, ...]  # DNS names, then IP addresses, as the certificate lists them


def read_chain(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM file, leaf first (a key in the same file is skipped)."""
    try:
        chain = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise NotACertificate("no PEM certificate in it") from None
    return chain


def fingerprint_sha256(certificate: x509.Certificate) -> str:
    digest = certificate.fingerprint(hashes.SHA256()).hex().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _name(name: x509.Name) -> str:
    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    organisation = name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    if common and organisation:
        return f"{common[0].value!s} ({organisation[0].value!s})"
    if common:
        return str(common[0].value)
    return name.rfc4514_string() or "(empty name)"


def is_self_issued(certificate: x509.Certificate) -> bool:
    return certificate.subject == certificate.issuer


def subject_alt_names(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    dns = extension.value.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in extension.value.get_values_for_type(x509.IPAddress)]
    return (*dns, *ips)


def describe(certificate: x509.Certificate) -> CertificateDetails:
    return CertificateDetails(
        subject=_name(certificate.subject),
        issuer=_name(certificate.issuer),
        self_signed=is_self_issued(certificate),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        fingerprint_sha256=fingerprint_sha256(certificate),
        names=subject_alt_names(certificate),
    )


def anchor(chain: list[x509.Certificate]) -> tuple[x509.Certificate, bool]:
    """(the certificate to import as a trusted root, whether the chain holds a root at all).
    False means the chain ends below a CA that is not in the file: importing the leaf would
    not help a browser that does not already trust that CA."""
    for certificate in reversed(chain):
        if is_self_issued(certificate):
            return certificate, True
    return chain[0], False


def encode(certificate: x509.Certificate, form: str) -> bytes:
    """PEM (text, what certutil, macOS and Firefox all read) or DER (binary, what Windows'
    import wizard opens on a double-click as .cer/.crt)."""
    if form not in FORMATS:
        raise ValueError(f"unknown format {form!r}")
    encoding = serialization.Encoding.PEM if form == "pem" else serialization.Encoding.DER
    return certificate.public_bytes(encoding)
