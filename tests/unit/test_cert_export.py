"""`cert export` and `cert fingerprint`: the certificate a browser must trust, in the form
the user asks for, written where the user says, and a clear line when that cannot be."""

from __future__ import annotations

import datetime
import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jupyter_bootstrap import trust_anchor
from tests.support.cli import flat, init_files_only, invoke


@pytest.fixture
def set_up(home: Path, jupyter_prefix: Path) -> Path:
    result = init_files_only(jupyter_prefix)
    assert result.exit_code == 0, result.output
    return home / "certs" / "mycert.pem"


def test_export_prints_the_served_certificate_as_pem(set_up: Path) -> None:
    result = invoke("cert", "export")
    assert result.exit_code == 0, result.output
    certificate = x509.load_pem_x509_certificate(result.stdout.encode())
    assert certificate == x509.load_pem_x509_certificate(set_up.read_bytes())
    # The served file holds the key too: only the certificate may leave it.
    assert result.stdout.count("-----BEGIN") == 1 and "PRIVATE KEY" not in result.stdout
    constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca  # importable as a root


def test_export_to_a_file_in_either_format(set_up: Path, tmp_path: Path) -> None:
    served = x509.load_pem_x509_certificate(set_up.read_bytes())
    pem, der = tmp_path / "jupyter.crt", tmp_path / "jupyter.cer"
    assert invoke("cert", "export", "-o", str(pem)).exit_code == 0
    result = invoke("cert", "export", "--format", "der", "-o", str(der))
    assert result.exit_code == 0, result.output
    assert x509.load_pem_x509_certificate(pem.read_bytes()) == served
    assert x509.load_der_x509_certificate(der.read_bytes()) == served
    assert stat.S_IMODE(pem.stat().st_mode) == 0o644
    fingerprint = trust_anchor.fingerprint_sha256(served)
    assert fingerprint in result.output and "`jupyter-bootstrap info`" in flat(result.output)


def test_export_into_a_folder_uses_the_name_info_uses(set_up: Path, tmp_path: Path) -> None:
    assert invoke("cert", "export", "-o", str(tmp_path)).exit_code == 0
    exported = (tmp_path / "jupyter.crt").read_bytes()
    assert b"PRIVATE KEY" not in exported
    assert x509.load_pem_x509_certificate(exported) == x509.load_pem_x509_certificate(
        set_up.read_bytes()
    )


@pytest.mark.parametrize(
    ("where", "says"),
    [("missing-folder/jupyter.crt", "does not exist"), ("a-file/jupyter.crt", "is not a folder")],
)
def test_export_where_it_cannot_be_written_is_one_line_and_exit_2(
    set_up: Path, tmp_path: Path, where: str, says: str
) -> None:
    (tmp_path / "a-file").write_text("")
    result = invoke("cert", "export", "-o", str(tmp_path / where))
    assert result.exit_code == 2
    assert says in flat(result.stderr) and "-o ~/jupyter.crt" in flat(result.stderr)
    assert "Traceback" not in result.output


def test_fingerprint_alone_and_the_same_everywhere(set_up: Path) -> None:
    result = invoke("cert", "fingerprint")
    assert result.exit_code == 0
    served = x509.load_pem_x509_certificate(set_up.read_bytes())
    assert result.stdout == trust_anchor.fingerprint_sha256(served) + "\n"
    document = json.loads(invoke("info", "--json").stdout)
    assert document["certificate"]["fingerprint_sha256"] + "\n" == result.stdout


def test_before_init_both_say_so_with_exit_2(home: Path) -> None:
    for args in (("cert", "export"), ("cert", "fingerprint")):
        result = invoke(*args)
        assert result.exit_code == 2 and "not set up" in result.stderr
        assert result.stdout == ""


def test_a_deleted_certificate_is_named_with_the_repair(set_up: Path) -> None:
    set_up.unlink()
    result = invoke("cert", "export")
    assert result.exit_code == 2
    assert f"no certificate at {set_up}" in flat(result.stderr)
    assert "jupyter-bootstrap init" in result.stderr


# -- a certificate of the user's own ----------------------------------------------------------


def _certificate(subject: str, issuer_key: ec.EllipticCurvePrivateKey, issuer: str,
                 key: ec.EllipticCurvePrivateKey, ca: bool) -> x509.Certificate:  # fmt: skip
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .sign(issuer_key, hashes.SHA256())
    )


def _own_pair(tmp_path: Path, with_root: bool) -> tuple[Path, Path, x509.Certificate]:
    """A leaf signed by a private CA; the chain file holds the CA's root or only the leaf."""
    root_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    root = _certificate("Team Root CA", root_key, "Team Root CA", root_key, ca=True)
    leaf = _certificate("localhost", root_key, "Team Root CA", leaf_key, ca=False)
    chain = [leaf, root] if with_root else [leaf]
    certfile, keyfile = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    certfile.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
    keyfile.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile, root


def test_own_chain_with_its_root_exports_the_root(
    home: Path, jupyter_prefix: Path, tmp_path: Path
) -> None:
    certfile, keyfile, root = _own_pair(tmp_path, with_root=True)
    flags = ("--certfile", str(certfile), "--keyfile", str(keyfile))
    assert init_files_only(jupyter_prefix, *flags).exit_code == 0
    exported = invoke("cert", "export").stdout.encode()
    assert x509.load_pem_x509_certificate(exported) == root
    document = json.loads(invoke("info", "--json").stdout)
    assert document["certificate"]["kind"] == "own"
    assert document["certificate"]["issuer"] == "Team Root CA"
    assert document["trust"]["needed"] is True


def test_own_chain_without_a_root_exports_the_leaf_and_says_why(
    home: Path, jupyter_prefix: Path, tmp_path: Path
) -> None:
    certfile, keyfile, _ = _own_pair(tmp_path, with_root=False)
    flags = ("--certfile", str(certfile), "--keyfile", str(keyfile))
    assert init_files_only(jupyter_prefix, *flags).exit_code == 0
    result = invoke("cert", "export", "-o", str(tmp_path / "out.crt"))
    assert result.exit_code == 0
    assert "issued by Team Root CA and holds no root" in flat(result.stderr)
    assert json.loads(invoke("info", "--json").stdout)["trust"]["needed"] is False
    assert "No more certificate warning" not in invoke("info").stdout
