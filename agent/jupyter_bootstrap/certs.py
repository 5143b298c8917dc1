"""Self-signed TLS certificates with cryptography (never a shell-out to openssl)."""

from __future__ import annotations

import datetime
import ipaddress
from typing import Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from jupyter_bootstrap.certificate_facts import BadCertificate as BadCertificate
from jupyter_bootstrap.certificate_facts import CertificateInfo, is_ip
from jupyter_bootstrap.certificate_facts import utc_now as utc_now
from jupyter_bootstrap.trust_anchor import describe

VALID_DAYS = 365

PrivateKey = Union[ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def _general_name(name: str) -> x509.GeneralName:
    if is_ip(name):
        return x509.IPAddress(ipaddress.ip_address(name))
    return x509.DNSName(name)


def new_private_key(key_type: str) -> PrivateKey:
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def private_key_pem(key_type: str) -> bytes:
    """A new key in PKCS8 PEM, unencrypted (the service reads it at every connection)."""
    return new_private_key(key_type).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def self_signed(names: list[str], key_type: str, now: datetime.datetime) -> tuple[bytes, bytes]:
    """(PKCS8 key PEM, certificate PEM) for `names`. CA:TRUE with keyCertSign so that
    Windows accepts it in "Trusted Root Certification Authorities"."""
    key = new_private_key(key_type)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "jupyter-bootstrap"),
        ]
    )
    public_key = key.public_key()
    key_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=key_type == "rsa",  # RSA key exchange in older TLS clients
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        # A few minutes back: a browser whose clock is slightly behind still accepts it.
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, certificate.public_bytes(serialization.Encoding.PEM)


def inspect(cert_pem: bytes, key_pem: bytes) -> CertificateInfo:
    """Read with cryptography every time; certificate_facts.inspect keeps what it read."""
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise BadCertificate("not a PEM certificate") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise BadCertificate("the private key is encrypted with a passphrase") from None
    except ValueError:
        raise BadCertificate("not an unencrypted PEM private key") from None
    try:
        alt_names = certificate.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
        dns = frozenset(n.lower() for n in alt_names.get_values_for_type(x509.DNSName))
        ips = frozenset(str(ip) for ip in alt_names.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns, ips = frozenset(), frozenset()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    cert_public = certificate.public_key().public_bytes(serialization.Encoding.DER, spki)
    key_public = key.public_key().public_bytes(serialization.Encoding.DER, spki)
    details = describe(certificate)
    return CertificateInfo(
        not_after=details.not_after,
        dns_names=dns,
        ip_addresses=ips,
        fingerprint_sha256=details.fingerprint_sha256,
        key_matches=cert_public == key_public,
        self_issued=details.self_signed,
        not_before=details.not_before,
        issuer=details.issuer,
        names=details.names,
    )
