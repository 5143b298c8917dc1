from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from jupyter_bootstrap import certificate_facts, certs, derived, https_probe, jupyter_hash
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.hostnames import parse_hostname
from jupyter_bootstrap.jupyter_hash import HashKind


def test_hash_is_jupyters_argon2_format_and_verifies() -> None:
    hashed = jupyter_hash.hash_password("s3cret-pass")
    assert hashed.startswith("argon2:$argon2id$v=19$m=10240,t=10,p=8$")
    assert jupyter_hash.verify(hashed, "s3cret-pass")
    assert not jupyter_hash.verify(hashed, "other")
    assert jupyter_hash.kind(hashed) is HashKind.ARGON2


def test_hash_is_accepted_by_jupyter_server() -> None:
    auth = pytest.importorskip("jupyter_server.auth")
    hashed = jupyter_hash.hash_password("s3cret-pass")
    assert auth.passwd_check(hashed, "s3cret-pass")
    assert jupyter_hash.verify(auth.passwd("abc12345"), "abc12345")
    legacy = auth.passwd("abc12345", algorithm="sha1")
    assert jupyter_hash.kind(legacy) is HashKind.LEGACY
    assert jupyter_hash.verify(legacy, "abc12345")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "argon2:",
        "argon2:$argon2id$v=19$m=10240,t=10,p=8$abc",
        "argon2:not-a-hash",
        "sha1:salt",
        "sha1:salt:zz",
        "md99:salt:abcd",
        "sha1::" + "a" * 40,
        "plaintext-password",
    ],
)
def test_malformed_hashes_are_invalid_and_never_raise(bad: str) -> None:
    assert jupyter_hash.kind(bad) is HashKind.INVALID
    assert jupyter_hash.verify(bad, "anything") is False


def test_the_verdict_on_an_argon2_hash_is_kept_and_recalled(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed = jupyter_hash.hash_password("s3cret-pass")  # judged, not kept: only validated
    kept = home / derived.RECORD_DIR / jupyter_hash.KIND
    assert not kept.exists()
    assert jupyter_hash.kind(hashed, keep=True) is HashKind.ARGON2  # the step's check
    assert [p.name for p in kept.iterdir()] == [jupyter_hash.NAME]
    import argon2

    def no_judging(encoded: str) -> None:
        raise AssertionError("judged again although the hash did not change")

    monkeypatch.setattr(argon2, "extract_parameters", no_judging)
    assert jupyter_hash.kind(hashed) is HashKind.ARGON2
    # Another hash (the same password, a new salt) is judged, and so is the same one once
    # argon2-cffi's parser is another.
    with pytest.raises(AssertionError, match="judged again"):
        jupyter_hash.kind(jupyter_hash.hash_password("s3cret-pass"), keep=True)
    parser = Path(argon2.__file__).with_name("_utils.py")
    real_read = Path.read_bytes
    monkeypatch.setattr(
        Path,
        "read_bytes",
        lambda self: real_read(self) + (b"# changed\n" if self == parser else b""),
    )
    with pytest.raises(AssertionError, match="judged again"):
        jupyter_hash.kind(hashed)


def test_a_malformed_argon2_hash_is_judged_again_every_time(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = "argon2:$argon2id$v=19$m=10240,t=10,p=8$abc"
    for _ in range(2):
        assert jupyter_hash.kind(bad, keep=True) is HashKind.INVALID
    kept = home / derived.RECORD_DIR / jupyter_hash.KIND
    assert not kept.exists() or list(kept.iterdir()) == []


@pytest.mark.parametrize("key_type", ["ec", "rsa"])
def test_self_signed_certificate_profile(key_type: str) -> None:
    names = ["ec2-3-8-1-2.compute.amazonaws.com", "localhost", "127.0.0.1", "10.0.0.5"]
    now = certs.utc_now()
    key_pem, cert_pem = certs.self_signed(names, key_type, now)
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS8, unencrypted
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.version is x509.Version.v3
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha256"
    key_class = ec.EllipticCurvePublicKey if key_type == "ec" else rsa.RSAPublicKey
    assert isinstance(cert.public_key(), key_class)
    days = (cert.not_valid_after_utc - now).days
    assert 364 <= days <= 365
    ext = cert.extensions
    assert ext.get_extension_for_class(x509.BasicConstraints).value.ca is True
    usage = ext.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_cert_sign
    eku = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    ext.get_extension_for_class(x509.SubjectKeyIdentifier)
    info = certs.inspect(cert_pem, key_pem)
    assert info.key_matches
    assert info.uncovered(names) == []
    assert info.uncovered(["other.example.com", "10.0.0.6"]) == ["other.example.com", "10.0.0.6"]
    assert len(info.fingerprint_sha256.split(":")) == 32


def test_mismatched_pair_and_garbage_are_detected() -> None:
    now = certs.utc_now()
    key_a, cert_a = certs.self_signed(["localhost"], "ec", now)
    key_b, _ = certs.self_signed(["localhost"], "ec", now)
    assert not certs.inspect(cert_a, key_b).key_matches
    with pytest.raises(certs.BadCertificate):
        certs.inspect(b"not a cert", key_a)
    with pytest.raises(certs.BadCertificate):
        certs.inspect(cert_a, b"not a key")
    old = now - datetime.timedelta(days=400)
    _, expired = certs.self_signed(["localhost"], "ec", old)
    assert certs.inspect(expired, key_a).not_after < now


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.COM.", "example.com"),
        (
            "ec2-3-8-1-2.eu-west-2.compute.amazonaws.com",
            "ec2-3-8-1-2.eu-west-2.compute.amazonaws.com",
        ),
        ("3.8.1.2", "3.8.1.2"),
        ("::1", "::1"),
    ],
)
def test_hostnames_are_normalised(raw: str, expected: str) -> None:
    assert parse_hostname(raw) == expected


@pytest.mark.parametrize(
    "bad", ["", "a b", "-x.com", "x_y.com", "evil'\nimport os", 'a"b', "1.2.3.999", "a" * 64]
)
def test_bad_hostnames_are_refused(bad: str) -> None:
    with pytest.raises(UserError):
        parse_hostname(bad)


def test_the_facts_of_a_pair_are_read_once_and_then_recalled(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = certs.utc_now()
    key_pem, cert_pem = certs.self_signed(["localhost", "127.0.0.1"], "ec", now)
    first = certificate_facts.inspect(cert_pem, key_pem)
    assert first == certs.inspect(cert_pem, key_pem)
    assert first.issuer == "localhost (jupyter-bootstrap)" and first.names == (
        "localhost",
        "127.0.0.1",
    )

    def no_reading(cert: bytes, key: bytes) -> certificate_facts.CertificateInfo:
        raise AssertionError("read again although the pair did not change")

    monkeypatch.setattr(certs, "inspect", no_reading)
    assert certificate_facts.inspect(cert_pem, key_pem) == first
    # Another certificate (the same names, a new key) is another pair: read, not recalled.
    other_key, other_cert = certs.self_signed(["localhost", "127.0.0.1"], "ec", now)
    with pytest.raises(AssertionError, match="read again"):
        certificate_facts.inspect(other_cert, other_key)
    # A certificate with someone else's key is a pair of its own too.
    with pytest.raises(AssertionError, match="read again"):
        certificate_facts.inspect(cert_pem, other_key)


def test_a_pair_that_cannot_be_used_is_read_again_every_time(home: Path) -> None:
    key_pem, _ = certs.self_signed(["localhost"], "ec", certs.utc_now())
    for _ in range(2):
        with pytest.raises(certificate_facts.BadCertificate):
            certificate_facts.inspect(b"not a cert", key_pem)
    kept = home / derived.RECORD_DIR / certificate_facts.KIND
    assert not kept.exists() or list(kept.iterdir()) == []


def test_the_health_check_takes_the_names_from_the_facts_not_the_file(tmp_path: Path) -> None:
    """What the certificate step found this run is what the probe checks the server for:
    the file is not read (and parsed with cryptography) a second time."""
    now = certs.utc_now()
    key_pem, cert_pem = certs.self_signed(["jupyter.example.org", "127.0.0.1"], "ec", now)
    facts = certs.inspect(cert_pem, key_pem)
    missing = tmp_path / "not-there.pem"
    mine = https_probe.target_for(
        8888, missing, own=True, hostnames=["jupyter.example.org"], facts=facts
    )
    assert (mine.hostname, mine.verify) == ("jupyter.example.org", str(missing))
    from_ca = facts._replace(self_issued=False)
    ca = https_probe.target_for(
        8888, missing, own=False, hostnames=[], from_ca=True, ca_bundle="/ca.pem", facts=from_ca
    )
    assert (ca.hostname, ca.verify) == ("127.0.0.1", "/ca.pem")
