"""Each kind of drift is seen by `status` (exit 3) and repaired by `init`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import init_files_only, invoke
from tests.support.metadata_server import metadata_service
from tests.support.report import step_states


@pytest.fixture
def converged(home: Path, jupyter_prefix: Path) -> Path:
    result = init_files_only(jupyter_prefix)
    assert result.exit_code == 0, result.output
    assert invoke("status").exit_code == 0
    return home


def assert_drift_then_repair(expect_in_status: str, changed_step: str) -> None:
    status = invoke("status")
    assert status.exit_code == 3, status.output
    # Lines are wrapped at 100 columns (long paths too): compare without whitespace.
    assert "".join(expect_in_status.split()) in "".join(status.output.split())
    repair = invoke("init")
    assert repair.exit_code == 0, repair.output
    assert step_states(repair.output)[changed_step] == "changed", repair.output
    assert invoke("status").exit_code == 0


def test_a_certificate_without_its_key_is_regenerated(converged: Path) -> None:
    certfile = converged / "certs" / "mycert.pem"
    old = certfile.read_bytes()
    certificate_only = old[old.index(b"-----BEGIN CERTIFICATE-----") :]
    certfile.write_bytes(certificate_only)
    assert_drift_then_repair("mycert.pem holds no private key", "certificate")
    assert certfile.read_bytes() != old and b"PRIVATE KEY" in certfile.read_bytes()


def test_a_deleted_certificate_is_regenerated(converged: Path) -> None:
    (converged / "certs" / "mycert.pem").unlink()
    assert_drift_then_repair("mycert.pem is missing or unreadable", "certificate")


def test_changed_hostname_renews_the_certificate(converged: Path) -> None:
    settings = converged / ".config" / "jupyter-bootstrap" / "settings.json"
    data = json.loads(settings.read_text())
    data["hostnames"] = ["new-name.example.org"]
    settings.write_text(json.dumps(data))
    assert_drift_then_repair("does not cover new-name.example.org", "certificate")


def test_changed_public_ip_renews_the_certificate(
    converged: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with metadata_service(
        public_ipv4="203.0.113.7", public_hostname="ec2-203-0-113-7.example.com"
    ) as imds:
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", imds.url)
        assert_drift_then_repair(
            "does not cover ec2-203-0-113-7.example.com, 203.0.113.7", "certificate"
        )
        assert "PUT /latest/api/token" in imds.requests
        imds.requests.clear()
        assert invoke("init").exit_code == 0
        # One lookup per run (token + three items), shared by the preflight and the run.
        assert len(imds.requests) == 4, imds.requests
        result = invoke("init")
        assert "https://ec2-203-0-113-7.example.com:8888/" in result.output
        imds.items["public-ipv4"] = "198.51.100.9"  # stop/start gave a new address
        assert_drift_then_repair("does not cover 198.51.100.9", "certificate")


def test_edited_managed_line_is_restored_and_user_lines_kept(converged: Path) -> None:
    config = converged / ".jupyter" / "jupyter_server_config.py"
    text = config.read_text().replace("c.ServerApp.port = 8888", "c.ServerApp.port = 9999")
    config.write_text(text + "c.ServerApp.terminals_enabled = False  # mine\n")
    assert_drift_then_repair("differs from the settings", "config")
    repaired = config.read_text()
    assert "c.ServerApp.port = 8888" in repaired and "9999" not in repaired
    assert repaired.endswith("c.ServerApp.terminals_enabled = False  # mine\n")
    assert not list(config.parent.glob("*.bak-*"))  # nothing outside the block changed


def test_conflicting_json_keys_move_out(converged: Path) -> None:
    json_path = converged / ".jupyter" / "jupyter_server_config.json"
    original = {
        "IdentityProvider": {"hashed_password": "sha1:abc:" + "0" * 40},
        "ServerApp": {"port": 9999, "terminals_enabled": False},
        "LabApp": {"collaborative": True},
    }
    json_path.write_text(json.dumps(original))
    assert_drift_then_repair("overrides IdentityProvider.hashed_password", "config")
    assert json.loads(json_path.read_text()) == {
        "ServerApp": {"terminals_enabled": False},
        "LabApp": {"collaborative": True},
    }
    backups = list(json_path.parent.glob("jupyter_server_config.json.bak-*"))
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == original


def test_loose_key_mode_is_fixed_without_a_new_certificate(converged: Path) -> None:
    certfile = converged / "certs" / "mycert.pem"
    before = certfile.read_bytes()
    certfile.chmod(0o644)
    assert_drift_then_repair("mode 644, should be 600", "certificate")
    assert certfile.stat().st_mode & 0o777 == 0o600
    assert certfile.read_bytes() == before


def test_syntax_error_in_user_lines_is_refused_not_hidden(converged: Path) -> None:
    config = converged / ".jupyter" / "jupyter_server_config.py"
    before = config.read_text()
    config.write_text(before + "c.ServerApp.terminals_enabled = (\n")
    status = invoke("status")
    assert status.exit_code == 2
    assert "syntax error" in status.stderr and "terminals_enabled" in status.stderr
    assert invoke("init").exit_code == 2
    assert config.read_text() == before + "c.ServerApp.terminals_enabled = (\n"


def test_syntax_error_inside_the_block_is_repaired(converged: Path) -> None:
    config = converged / ".jupyter" / "jupyter_server_config.py"
    before = config.read_text()
    config.write_text(before.replace("c.ServerApp.port = 8888", "c.ServerApp.port = (("))
    assert_drift_then_repair("differs from the settings", "config")
    assert config.read_text() == before


def test_a_key_in_a_file_of_its_own_is_folded_in_and_the_certificate_kept(
    converged: Path,
) -> None:
    """How earlier versions kept the pair: mycert.pem and mycert.key, named in the config.
    The same certificate (one a browser may trust already) goes on, now in one file."""
    certs = converged / "certs"
    certfile, keyfile = certs / "mycert.pem", certs / "mycert.key"
    pem = certfile.read_bytes()
    split = pem.index(b"-----BEGIN CERTIFICATE-----")
    keyfile.write_bytes(pem[:split])
    keyfile.chmod(0o600)
    certfile.write_bytes(pem[split:])
    certfile.chmod(0o644)
    config = converged / ".jupyter" / "jupyter_server_config.py"
    config.write_text(
        config.read_text().replace("c.ServerApp.keyfile = ''", f"c.ServerApp.keyfile = '{keyfile}'")
    )
    assert_drift_then_repair(f"the key is in a file of its own, {keyfile}", "certificate")
    assert certfile.read_bytes() == pem and certfile.stat().st_mode & 0o777 == 0o600
    assert not keyfile.exists()
    assert "c.ServerApp.keyfile = ''" in config.read_text()
