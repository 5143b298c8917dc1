"""Smaller defects, each pinned by a test that failed before its fix: who holds a port, the
old tutorial's certificate kept on replacement, an unexpected OSError, --certfile naming a
directory, a prefix with Jupyter Server but no Notebook, NO_COLOR, non-ASCII hostnames."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path
from typing import Optional

import pytest
from click.testing import CliRunner
from cryptography import x509

from jupyter_bootstrap import certs
from jupyter_bootstrap.console import WIDTH, Console
from jupyter_bootstrap.facts import JupyterInstall
from jupyter_bootstrap.service import port_owner
from jupyter_bootstrap.steps import certificate as certificate_step
from jupyter_bootstrap.steps.jupyter import missing_packages
from tests.support import fake_proc as fake_proc_tables
from tests.support.cli import PASSWORD, flat, init_files_only, invoke
from tests.support.legacy_certificate import legacy_pair
from tests.support.report import step_lines, step_states
from tests.support.tree import snapshot

# The agent's bookkeeping (the lock that keeps two runs apart) is no change of the user's.
BOOKKEEPING = {".local/state/jupyter-bootstrap/run.lock"}


def home_files(home: Path) -> dict[str, tuple[str, int, int]]:
    return {path: state for path, state in snapshot(home).items() if path not in BOOKKEEPING}


# -- 1. who holds the port: the part that says it is Jupyter is shown -----------------------


def fake_proc(tmp_path: Path, argv: list[str]) -> Path:
    """A /proc with one process, 4242, listening on 8888 with command line `argv`."""
    proc = fake_proc_tables.listening(tmp_path / "proc", 8888, [(111, 1000)])
    session = "/user.slice/user-1000.slice/session-3.scope"
    fake_proc_tables.holding(proc, 4242, 111, argv, session)
    return proc


def test_a_port_holder_is_named_by_its_program_and_the_end_of_its_arguments(
    tmp_path: Path,
) -> None:
    argv = [
        "/home/ubuntu/anaconda3/bin/python",
        "/home/ubuntu/anaconda3/bin/jupyter-notebook",
        "--no-browser",
        "--port=8888",
    ]
    (holder,) = port_owner.holders(8888, fake_proc(tmp_path, argv))
    text = holder.describe()
    assert text.startswith("process 4242 (python "), text
    assert "jupyter-notebook --no-browser --port=8888)" in text, text


def test_a_long_command_line_keeps_its_tail_and_stays_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "/opt/very/long/path/to/some/python/installation/bin/python3.11",
        *[f"--option-{n}=value-{n}" for n in range(30)],
        "/home/ubuntu/" + "deep/" * 20 + "jupyter-lab",
        "--ServerApp.port=8888",
    ]
    (holder,) = port_owner.holders(8888, fake_proc(tmp_path, argv))
    text = holder.describe()
    assert "python3.11 ... " in text, text
    assert "/jupyter-lab --ServerApp.port=8888)" in text, text
    Console().error(f"port 8888 is already in use by {text}: nothing was changed", "stop it")
    shown = capsys.readouterr().err
    assert all(len(line) <= WIDTH for line in shown.splitlines()), shown
    assert len(shown.splitlines()) <= 4, shown


def test_sockets_we_may_not_trace_are_told_apart_by_their_owner(tmp_path: Path) -> None:
    """A user's own server with capabilities and another user's program can share a port on
    two addresses: neither process can be looked into, and each keeps its owner."""
    proc = fake_proc(tmp_path, ["jupyter-lab", "--port=8888"])
    fake_proc_tables.listening(proc, 8888, [(111, 1000), (222, 0), (333, 1000), (444, 0)])
    found = port_owner.holders(8888, proc)
    assert [(h.pid, h.uid) for h in found] == [(4242, None), (None, 0), (None, 1000)]
    assert found[1].describe() == "a process of user root (`sudo ss -ltnp` names it)"
    nobody = port_owner.PortHolder(None, "", "", uid=4_000_000)
    assert nobody.describe() == "a process of uid 4000000 (`sudo ss -ltnp` names it)"


# -- 2. the old tutorial's certificate is backed up before it is replaced --------------------


def backups(home: Path, name: str) -> list[Path]:
    return sorted((home / "certs").glob(f"{name}.bak-*"))


def put_legacy(home: Path, key: Optional[bytes], cert: bytes) -> None:
    (home / "certs").mkdir(mode=0o755)
    if key is not None:
        (home / "certs" / "mycert.key").write_bytes(key)
    (home / "certs" / "mycert.pem").write_bytes(cert)


def test_a_legacy_pair_is_backed_up_before_it_is_replaced(home: Path, jupyter_prefix: Path) -> None:
    key, cert = legacy_pair()
    put_legacy(home, key, cert)
    result = init_files_only(jupyter_prefix)
    assert result.exit_code == 0, result.output
    (old_cert,) = backups(home, "mycert.pem")
    (old_key,) = backups(home, "mycert.key")
    assert old_cert.read_bytes() == cert and old_key.read_bytes() == key
    assert old_key.stat().st_mode & 0o777 == 0o600
    line = flat(step_lines(result.output)["certificate"])
    assert "not made by jupyter-bootstrap" in line, line
    assert old_cert.name in line and old_key.name in line, line
    new_cert = (home / "certs" / "mycert.pem").read_bytes()
    assert new_cert != cert and certificate_step.made_by_us(new_cert)
    # Ours from now on: renewing it (a new name) keeps no copy of it.
    again = invoke("init", "--hostname", "jupyter.example.org", input=PASSWORD + "\n")
    assert again.exit_code == 0, again.output
    assert step_states(again.output)["certificate"] == "changed", again.output
    assert len(backups(home, "mycert.pem")) == 1 and len(backups(home, "mycert.key")) == 1


def test_a_combined_key_and_certificate_pem_is_backed_up(home: Path, jupyter_prefix: Path) -> None:
    # The old Jupyter docs: `-keyout mycert.pem -out mycert.pem`, one file, no mycert.key.
    key, cert = legacy_pair()
    put_legacy(home, None, key + cert)
    result = init_files_only(jupyter_prefix)
    assert result.exit_code == 0, result.output
    (old,) = backups(home, "mycert.pem")
    assert old.read_bytes() == key + cert
    assert old.stat().st_mode & 0o777 == 0o600  # it holds a private key
    assert backups(home, "mycert.key") == []


def test_a_legacy_key_we_cannot_read_is_replaced_and_said_so(
    home: Path, jupyter_prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `sudo openssl req ...` leaves a root-owned 0600 key; the tests run as root, so the
    # refusal to read is played by the reader.
    key, cert = legacy_pair()
    put_legacy(home, key, cert)
    keyfile = home / "certs" / "mycert.key"
    real = certificate_step._contents

    def contents(path: Path) -> tuple[bool, Optional[bytes]]:
        return (True, None) if path == keyfile else real(path)

    monkeypatch.setattr(certificate_step, "_contents", contents)
    result = init_files_only(jupyter_prefix)
    assert result.exit_code == 0, result.output
    (old_cert,) = backups(home, "mycert.pem")
    assert old_cert.read_bytes() == cert
    assert backups(home, "mycert.key") == []
    line = flat(step_lines(result.output)["certificate"])
    assert "replaced without a backup" in line and f"cannot read them: {keyfile}" in line, line


def test_a_dry_run_says_the_legacy_pair_would_be_backed_up(
    home: Path, jupyter_prefix: Path
) -> None:
    key, cert = legacy_pair()
    put_legacy(home, key, cert)
    before = home_files(home)
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "back up the old certificate files" in flat(result.output), result.output
    assert home_files(home) == before


def test_our_own_certificate_is_recognised_and_a_legacy_one_is_not() -> None:
    _, ours = certs.self_signed(["localhost"], "ec", certs.utc_now())
    assert certificate_step.made_by_us(ours)
    assert not certificate_step.made_by_us(legacy_pair()[1])
    assert not certificate_step.made_by_us(b"not a certificate")


# -- 3. an unexpected OSError is an error line, not a traceback ------------------------------


def full_disk(monkeypatch: pytest.MonkeyPatch, where: Path) -> None:
    def mkstemp(*_args: object, **_kwargs: object) -> tuple[int, str]:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(where))

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def test_an_unexpected_os_error_is_one_error_line_with_a_hint(
    home: Path, jupyter_prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_disk(monkeypatch, home / "certs")
    result = init_files_only(jupyter_prefix)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output, result.output
    text = flat(result.stderr)
    assert f"error: no space left on device: {home / 'certs'}" in text, text
    assert "try: free some disk space" in text, text
    assert "log: " in text and "jupyter-bootstrap.log" in text, text
    log = home / ".local" / "state" / "jupyter-bootstrap" / "jupyter-bootstrap.log"
    assert "Traceback" in log.read_text()  # the whole story is in the log


def test_an_unexpected_os_error_shows_its_traceback_with_debug(
    home: Path, jupyter_prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_disk(monkeypatch, home / "certs")
    result = init_files_only(jupyter_prefix, "--debug")
    assert result.exit_code == 1, result.output
    assert "Traceback (most recent call last):" in result.stderr
    assert "error: no space left on device" in flat(result.stderr)


# -- 4. --certfile naming a directory ---------------------------------------------------------


@pytest.mark.parametrize("which", ["--certfile", "--keyfile"])
def test_a_certificate_flag_naming_a_directory_says_so(
    home: Path, jupyter_prefix: Path, tmp_path: Path, which: str
) -> None:
    key, cert = certs.self_signed(["example.org"], "ec", certs.utc_now())
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    (tmp_path / "live").mkdir()
    files = {"--certfile": str(tmp_path / "cert.pem"), "--keyfile": str(tmp_path / "key.pem")}
    files[which] = str(tmp_path / "live")
    before = home_files(home)
    result = init_files_only(jupyter_prefix, *[part for pair in files.items() for part in pair])
    assert result.exit_code == 2, result.output
    expected = f"error: certificate: {which} {tmp_path / 'live'} is a directory, not a file"
    assert expected in flat(result.stderr), result.stderr
    assert home_files(home) == before


# -- 5. Jupyter Server without the notebook package, --app notebook ---------------------------


def install(notebook: Optional[str], lab: Optional[str] = None) -> JupyterInstall:
    prefix = Path("/p")
    return JupyterInstall(
        prefix, prefix / "bin/jupyter", prefix / "bin/python", "2.14.1", notebook, lab
    )


@pytest.mark.parametrize(
    ("found", "app", "missing"),
    [
        (None, "notebook", ["notebook"]),
        (None, "lab", ["notebook", "jupyterlab"]),
        (install(None), "notebook", ["notebook"]),  # was []: the service then crash-looped
        (install(None), "lab", ["jupyterlab"]),
        (install(None, "4.2.5"), "lab", []),
        (install("7.2.2"), "notebook", []),
        (install("7.2.2"), "lab", ["jupyterlab"]),
        (install("6.5.4"), "notebook", []),
    ],
)
def test_missing_packages(found: Optional[JupyterInstall], app: str, missing: list[str]) -> None:
    assert missing_packages(found, app) == missing


def server_only_prefix(tmp_path: Path) -> Path:
    """A Python environment whose Jupyter is jupyter_server alone (no notebook)."""
    prefix = tmp_path / "server-only"
    (prefix / "bin").mkdir(parents=True)
    versions = '{"jupyter_server": "2.14.1", "notebook": null, "jupyterlab": null}'
    for name, body in (("python", f"echo '{versions}'"), ("jupyter", "exit 0")):
        (prefix / "bin" / name).write_text(f"#!/bin/sh\n{body}\n")
        (prefix / "bin" / name).chmod(0o755)
    return prefix


def test_a_prefix_without_the_notebook_package_is_drift(home: Path, tmp_path: Path) -> None:
    prefix = server_only_prefix(tmp_path)
    result = invoke("init", "--prefix", str(prefix), "--no-service", "--dry-run")
    lines = step_lines(result.output)
    assert "jupyter" in lines, result.output
    jupyter = flat(lines["jupyter"])
    assert "no notebook package in" in jupyter and "only jupyter_server 2.14.1" in jupyter
    assert "install notebook with conda" in flat(result.output), result.output


# -- 6. NO_COLOR -----------------------------------------------------------------------------


def coloured_run(monkeypatch: pytest.MonkeyPatch, no_color: Optional[str]) -> str:
    from jupyter_bootstrap.cli import cli

    if no_color is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", no_color)
    # color=True: click keeps the escape codes as it does on a terminal.
    result = CliRunner().invoke(cli, ["status"], color=True, catch_exceptions=False)
    return result.stdout + result.stderr


def test_no_color_turns_colour_off_even_on_a_terminal(
    home: Path, jupyter_prefix: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert init_files_only(jupyter_prefix).exit_code == 0
    assert "\x1b[" in coloured_run(monkeypatch, None)  # a terminal gets colour...
    assert "\x1b[" in coloured_run(monkeypatch, "")  # ...and an empty NO_COLOR is unset
    output = coloured_run(monkeypatch, "1")
    assert "\x1b[" not in output, output
    assert "certificate" in output


# -- 7. a non-ASCII hostname goes into the certificate in its IDNA form -----------------------


def test_a_non_ascii_hostname_is_used_in_its_idna_form(home: Path, jupyter_prefix: Path) -> None:
    result = init_files_only(jupyter_prefix, "--hostname", "jüpyter.example.org")
    assert result.exit_code == 0, result.output
    idna = "xn--jpyter-3ya.example.org"
    pem = (home / "certs" / "mycert.pem").read_bytes()
    san = x509.load_pem_x509_certificate(pem).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert idna in san.value.get_values_for_type(x509.DNSName)
    assert f"https://{idna}:8888/" in result.output, result.output
    saved = (home / ".config" / "jupyter-bootstrap" / "settings.json").read_text()
    assert idna in saved
