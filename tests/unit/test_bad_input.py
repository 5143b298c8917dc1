"""Bad input: one clear line on stderr, exit 2, no traceback, no file changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_bootstrap import certs
from tests.support.cli import init_files_only, invoke
from tests.support.tree import snapshot


def run_init(prefix: Path, *flags: str) -> tuple[int, str]:
    result = init_files_only(prefix, *flags)
    return result.exit_code, result.stderr


def assert_refused(home: Path, prefix: Path, *flags: str, says: str) -> None:
    before = snapshot(home)
    code, stderr = run_init(prefix, *flags)
    assert code == 2, stderr
    assert stderr.startswith("error: "), stderr
    assert says in " ".join(stderr.split()), stderr
    assert "Traceback" not in stderr
    assert snapshot(home) == before


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (("--port", "http"), "'http' is not a valid integer"),
        (("--port", "0"), "0 is not in the range 1<=x<=65535"),
        (("--port", "70000"), "70000 is not in the range"),
        (("--hostname", "bad name!"), "is neither a DNS name nor an IP address"),
        (("--hostname", "x\nc.ServerApp.ip='evil'"), "is neither a DNS name nor an IP address"),
        (("--password-hash", "sha1:nope"), "not a valid Jupyter password hash"),
        (("--certfile", "/etc/hostname"), "--certfile and --keyfile go together"),
        (("--service-name", "a b"), "not a valid systemd unit name"),
    ],
)
def test_bad_flags(home: Path, jupyter_prefix: Path, flags: tuple[str, ...], says: str) -> None:
    assert_refused(home, jupyter_prefix, *flags, says=says)


def test_certfile_that_is_not_a_certificate(
    home: Path, jupyter_prefix: Path, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    assert_refused(
        home,
        jupyter_prefix,
        "--certfile",
        str(junk),
        "--keyfile",
        str(junk),
        says="not a PEM certificate",
    )


def test_certfile_not_matching_keyfile(home: Path, jupyter_prefix: Path, tmp_path: Path) -> None:
    _, cert = certs.self_signed(["example.org"], "ec", certs.utc_now())
    other_key, _ = certs.self_signed(["example.org"], "ec", certs.utc_now())
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(other_key)
    assert_refused(
        home,
        jupyter_prefix,
        "--certfile",
        str(tmp_path / "c.pem"),
        "--keyfile",
        str(tmp_path / "k.pem"),
        says="does not belong to",
    )


def test_notebook_dir_that_is_a_file(home: Path, jupyter_prefix: Path) -> None:
    (home / "notes").write_text("x")
    assert_refused(home, jupyter_prefix, "--notebook-dir", str(home / "notes"), says="is a file")


def test_unreadable_existing_config(home: Path, jupyter_prefix: Path) -> None:
    # A directory where the config file should be: unreadable even for root.
    (home / ".jupyter" / "jupyter_server_config.py").mkdir(parents=True)
    assert_refused(home, jupyter_prefix, says="cannot read the existing Jupyter config")


def test_broken_settings_file(home: Path, jupyter_prefix: Path) -> None:
    settings = home / ".config" / "jupyter-bootstrap" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_text('{"port": "eighty"}')
    assert_refused(home, jupyter_prefix, says="is not valid jupyter-bootstrap settings")


def test_own_certificate_is_used_and_never_touched(
    home: Path, jupyter_prefix: Path, tmp_path: Path
) -> None:
    key, cert = certs.self_signed(["jupyter.example.org"], "rsa", certs.utc_now())
    (tmp_path / "fullchain.pem").write_bytes(cert)
    (tmp_path / "privkey.pem").write_bytes(key)
    code, stderr = run_init(
        jupyter_prefix,
        "--certfile",
        str(tmp_path / "fullchain.pem"),
        "--keyfile",
        str(tmp_path / "privkey.pem"),
    )
    assert code == 0, stderr
    config = (home / ".jupyter" / "jupyter_server_config.py").read_text()
    assert f"c.ServerApp.certfile = '{tmp_path / 'fullchain.pem'}'" in config
    assert not (home / "certs").exists()
    summary = " ".join(invoke("init").output.split())
    assert "Certificate: your own" in summary and "self-signed" not in summary
    assert (tmp_path / "fullchain.pem").read_bytes() == cert
