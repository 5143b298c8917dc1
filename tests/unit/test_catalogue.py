"""A catalogue of bad and edge inputs, one row each: the exact exit code, a fragment of the
`error:` line, no traceback, and nothing in the home changed (the log aside).

Privileged ports (443, 22) and whitespace-padded passwords are left to their own tests."""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest
from _pytest.mark import ParameterSet
from cryptography.hazmat.primitives import serialization

from jupyter_bootstrap import account as account_module
from jupyter_bootstrap import certs
from jupyter_bootstrap.account import resolve as real_resolve
from tests.support.cli import PASSWORD, flat, init_files_only, invoke
from tests.support.tree import snapshot

FEDORA = 'ID=fedora\nVERSION_ID="40"\nPRETTY_NAME="Fedora Linux 40"\n'
GOOD_SHA256 = "3ba0a298155c32fbfd80cbc238298560bf69a2df511783054adfc151b76d80d8"
VALID_HASH = (
    "argon2:$argon2id$v=19$m=10240,t=10,p=8$"
    "Qk1kbWZxbmRoa3c1bDRmbA$YmFkYmFkYmFkYmFkYmFkYmFkYmFkYmFkYmFkYmFkYmE"
)


@dataclass
class World:
    home: Path
    tmp: Path
    prefix: Path
    os_release: Path
    monkeypatch: pytest.MonkeyPatch


Setup = Callable[[World], None]


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]  # {prefix}, {tmp} and {home} are filled in
    code: int
    says: str  # a fragment of the error line, whitespace as the user reads it unwrapped
    stdin: Optional[str] = PASSWORD + "\n"
    setup: Optional[Setup] = None
    defect: str = ""  # a known defect elsewhere: the row is a strict xfail until it is fixed


def files_only(*flags: str) -> tuple[str, ...]:
    """init as init_files_only runs it: the test environment's Jupyter, no systemd."""
    return ("init", "--prefix", "{prefix}", "--no-service", "--password-stdin", *flags)


# -- set-ups ----------------------------------------------------------------------------------


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def pair(world: World) -> None:
    key, cert = certs.self_signed(["jupyter.example.org"], "ec", certs.utc_now())
    write(world.tmp / "cert.pem", cert)
    write(world.tmp / "key.pem", key)


def mismatched_pair(world: World) -> None:
    pair(world)
    other_key, _ = certs.self_signed(["jupyter.example.org"], "ec", certs.utc_now())
    write(world.tmp / "key.pem", other_key)


def expired_pair(world: World) -> None:
    long_ago = certs.utc_now() - datetime.timedelta(days=certs.VALID_DAYS + 30)
    key, cert = certs.self_signed(["jupyter.example.org"], "ec", long_ago)
    write(world.tmp / "cert.pem", cert)
    write(world.tmp / "key.pem", key)


def encrypted_key(world: World) -> None:
    pair(world)
    key = serialization.load_pem_private_key((world.tmp / "key.pem").read_bytes(), None)
    locked = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    write(world.tmp / "key.pem", locked)


def not_pem(world: World) -> None:
    write(world.tmp / "cert.pem", b"hello\n")
    write(world.tmp / "key.pem", b"hello\n")


def directory(name: str) -> Setup:
    def make(world: World) -> None:
        pair(world)
        (world.tmp / name).mkdir()

    return make


def a_file(name: str) -> Setup:
    def make(world: World) -> None:
        write(world.tmp / name, b"not a directory\n")

    return make


def foreign_dir(world: World) -> None:
    write(world.tmp / "foreign" / "README", b"someone else's\n")


def conda_env(world: World) -> None:
    write(world.tmp / "env" / "conda-meta" / "history", b"==> 2024-01-01 <==\n")
    write(world.tmp / "env" / "bin" / "python", b"")


def notebook_file(world: World) -> None:
    write(world.home / "notes", b"x")


def settings(text: str) -> Setup:
    def make(world: World) -> None:
        write(world.home / ".config" / "jupyter-bootstrap" / "settings.json", text.encode())

    return make


def user_config(text: str) -> Setup:
    def make(world: World) -> None:
        write(world.home / ".jupyter" / "jupyter_server_config.py", text.encode())

    return make


def unsupported_os(world: World) -> None:
    world.os_release.write_text(FEDORA)


def no_os_release(world: World) -> None:
    world.os_release.unlink()


def real_accounts(world: World) -> None:
    """--user is resolved for real (the `home` fixture pins the account otherwise)."""
    world.monkeypatch.setattr(account_module, "resolve", real_resolve)


def not_root(world: World) -> None:
    real_accounts(world)
    world.monkeypatch.setattr(os, "geteuid", lambda: 1000)


def set_up(world: World) -> None:
    result = init_files_only(world.prefix)
    assert result.exit_code == 0, result.output


def both(*setups: Setup) -> Setup:
    def make(world: World) -> None:
        for one in setups:
            one(world)

    return make


CERT, KEY = "{tmp}/cert.pem", "{tmp}/key.pem"

INIT: dict[str, Case] = {
    # ports (the privileged ones are tested elsewhere)
    "port-0": Case(files_only("--port", "0"), 2, "0 is not in the range 1<=x<=65535"),
    "port-65536": Case(files_only("--port", "65536"), 2, "65536 is not in the range"),
    "port-negative": Case(files_only("--port=-1"), 2, "-1 is not in the range"),
    "port-word": Case(files_only("--port", "http"), 2, "'http' is not a valid integer"),
    "port-empty": Case(files_only("--port", ""), 2, "'' is not a valid integer"),
    "port-fraction": Case(files_only("--port", "8888.5"), 2, "'8888.5' is not a valid integer"),
    "port-missing-value": Case(files_only("--port"), 2, "Option '--port' requires an argument"),
    # hostnames
    "hostname-empty": Case(files_only("--hostname", ""), 2, "is neither a DNS name nor an IP"),
    "hostname-blank": Case(files_only("--hostname", "  "), 2, "is neither a DNS name nor an IP"),
    "hostname-spaces": Case(
        files_only("--hostname", "my jupyter.example.org"), 2, "is neither a DNS name nor an IP"
    ),
    "hostname-url": Case(
        files_only("--hostname", "https://jupyter.example.org/"), 2, "is a URL, not a host name"
    ),
    "hostname-with-port": Case(
        files_only("--hostname", "jupyter.example.org:8888"), 2, "is neither a DNS name nor an"
    ),
    "hostname-too-long": Case(
        files_only("--hostname", ".".join(["a" * 60] * 5)), 2, "is neither a DNS name nor an IP"
    ),
    "hostname-long-label": Case(
        files_only("--hostname", "a" * 64 + ".example.org"), 2, "is neither a DNS name nor an"
    ),
    "hostname-wildcard": Case(
        files_only("--hostname", "*.example.org"), 2, "is a wildcard: the certificate needs"
    ),
    "hostname-leading-hyphen": Case(
        files_only("--hostname", "-jupyter.example.org"), 2, "is neither a DNS name nor an IP"
    ),
    "hostname-broken-ip": Case(
        files_only("--hostname", "3.8.1.256"), 2, "looks like a broken IP address"
    ),
    "hostname-empty-label": Case(
        files_only("--hostname", "jupyter..example.org"), 2, "is neither a DNS name nor an IP"
    ),
    "hostname-idna-too-long": Case(
        files_only("--hostname", "ü" * 60 + ".example.org"), 2, "is neither a DNS name nor an"
    ),
    "hostname-injection": Case(
        files_only("--hostname", "x\nc.ServerApp.ip='evil'"), 2, "is neither a DNS name nor"
    ),
    # certfile / keyfile
    "certfile-alone": Case(
        files_only("--certfile", CERT), 2, "--certfile and --keyfile go together", setup=pair
    ),
    "keyfile-alone": Case(
        files_only("--keyfile", KEY), 2, "--certfile and --keyfile go together", setup=pair
    ),
    "certfile-missing": Case(
        files_only("--certfile", "{tmp}/nope.pem", "--keyfile", KEY),
        2,
        "nope.pem is missing or",
        setup=pair,
    ),
    "certfile-directory": Case(
        files_only("--certfile", "{tmp}/live", "--keyfile", KEY),
        2,
        "live is a directory, not a file",
        setup=directory("live"),
    ),
    "keyfile-directory": Case(
        files_only("--certfile", CERT, "--keyfile", "{tmp}/live"),
        2,
        "live is a directory, not a file",
        setup=directory("live"),
    ),
    "certs-mismatched": Case(
        files_only("--certfile", CERT, "--keyfile", KEY),
        2,
        "key.pem does not belong to",
        setup=mismatched_pair,
    ),
    "certs-swapped": Case(
        files_only("--certfile", KEY, "--keyfile", CERT), 2, "not a PEM certificate", setup=pair
    ),
    "certs-expired": Case(
        files_only("--certfile", CERT, "--keyfile", KEY),
        2,
        "your certificate cannot be used: certificate expired",
        setup=expired_pair,
    ),
    "certs-not-pem": Case(
        files_only("--certfile", CERT, "--keyfile", KEY),
        2,
        "not a PEM certificate",
        setup=not_pem,
    ),
    "key-encrypted": Case(
        files_only("--certfile", CERT, "--keyfile", KEY),
        2,
        "the private key is encrypted with a passphrase",
        setup=encrypted_key,
    ),
    # the password
    "hash-malformed": Case(
        ("init", "--prefix", "{prefix}", "--no-service", "--password-hash", "sha1:nope"),
        2,
        "--password-hash is not a valid Jupyter password hash",
    ),
    "hash-argon2-garbage": Case(
        ("init", "--prefix", "{prefix}", "--no-service", "--password-hash", "argon2:$argon2id$x"),
        2,
        "--password-hash is not a valid Jupyter password hash",
    ),
    "hash-with-password-stdin": Case(
        files_only("--password-hash", VALID_HASH),
        2,
        "--password-stdin and --password-hash exclude each other",
    ),
    "stdin-nothing": Case(files_only(), 2, "no password on standard input", stdin=""),
    "stdin-empty-line": Case(files_only(), 2, "no password on standard input", stdin="\n"),
    "stdin-too-short": Case(files_only(), 2, "at least 8 characters", "ab\n"),
    "no-terminal-for-the-password": Case(
        ("init", "--prefix", "{prefix}", "--no-service"),
        2,
        "no terminal to ask for the Jupyter password",
        stdin="",
    ),
    # the conda prefix
    "prefix-a-file": Case(
        files_only("--prefix", "{tmp}/prefix"), 2, "it is a file", setup=a_file("prefix")
    ),
    "prefix-foreign": Case(
        files_only("--prefix", "{tmp}/foreign"),
        2,
        "foreign exists and is not a conda install",
        setup=foreign_dir,
    ),
    "prefix-conda-env-without-jupyter": Case(
        files_only("--prefix", "{tmp}/env"),
        2,
        "is a conda environment without Jupyter",
        setup=conda_env,
    ),
    # the notebook folder
    "notebook-dir-a-file": Case(
        files_only("--notebook-dir", "{home}/notes"), 2, "is a file", setup=notebook_file
    ),
    # settings.json
    "settings-not-json": Case(
        files_only(), 2, "is not valid jupyter-bootstrap settings", setup=settings("{port")
    ),
    "settings-a-list": Case(
        files_only(),
        2,
        "not valid jupyter-bootstrap settings (not a JSON object)",
        setup=settings("[]"),
    ),
    "settings-newer-schema": Case(
        files_only(),
        2,
        "schema_version 99 is newer than this agent understands",
        setup=settings('{"schema_version": 99}'),
    ),
    "settings-port-a-string": Case(
        files_only(), 2, "port must be a int", setup=settings('{"port": "eighty"}')
    ),
    "settings-hostnames-a-string": Case(
        files_only(),
        2,
        "hostnames must be a list of strings",
        setup=settings('{"hostnames": "a.example.org"}'),
    ),
    "settings-unknown-app": Case(
        files_only(), 2, "app must be one of", setup=settings('{"app": "voila"}')
    ),
    # the user's Jupyter config
    "config-syntax-error": Case(
        files_only(),
        2,
        "has a Python syntax error",
        setup=user_config("c.ServerApp.ip = (\n"),
    ),
    "settings-port-0": Case(
        files_only(),
        2,
        "port",
        setup=settings('{"port": 0}'),
    ),
    "settings-bad-service-name": Case(
        files_only(),
        2,
        "service_name",
        setup=settings('{"service_name": "a b/../c"}'),
    ),
    "settings-bad-hostname": Case(
        files_only(),
        2,
        "hostname",
        setup=settings('{"hostnames": ["bad name!"]}'),
    ),
    "notebook-dir-under-a-file": Case(
        files_only("--notebook-dir", "{home}/notes/sub"),
        2,
        "notes",
        setup=notebook_file,
    ),
    "hash-empty": Case(
        ("init", "--prefix", "{prefix}", "--no-service", "--password-hash", ""),
        2,
        "--password-hash",
        stdin="",
    ),
    "certfile-and-keyfile-empty": Case(
        files_only("--certfile", "", "--keyfile", ""),
        2,
        "--certfile",
    ),
    "notebook-dir-empty": Case(
        files_only("--notebook-dir", ""),
        2,
        "--notebook-dir",
    ),
    "hostname-ipv6-zone": Case(
        files_only("--hostname", "fe80::1%eth0"), 2, "is an address with a zone"
    ),
    # where conda comes from
    "installer-url-alone": Case(
        files_only("--installer-url", "http://127.0.0.1:9/Miniforge3-Linux-x86_64.sh"),
        2,
        "--installer-url needs --installer-sha256",
    ),
    "installer-sha256-alone": Case(
        files_only("--installer-sha256", GOOD_SHA256), 2, "--installer-sha256 needs --installer-url"
    ),
    "installer-sha256-bad": Case(
        files_only(
            "--installer-url",
            "http://127.0.0.1:9/Miniforge3-Linux-x86_64.sh",
            "--installer-sha256",
            "abc123",
        ),
        2,
        "--installer-sha256 is not a SHA-256 (64 hex digits)",
    ),
    "installer-url-not-http": Case(
        files_only(
            "--installer-url", "ftp://127.0.0.1/Miniforge3.sh", "--installer-sha256", GOOD_SHA256
        ),
        2,
        "is not an http(s) URL",
    ),
    # the machine, the steps, the user, the service
    "unsupported-os": Case(
        files_only(), 2, "Fedora Linux 40 is not supported", setup=unsupported_os
    ),
    "no-os-release": Case(files_only(), 2, "unknown operating system", setup=no_os_release),
    "skip-unknown-step": Case(
        files_only("--skip", "coffee"), 2, "Invalid value for '--skip': 'coffee' is not one of"
    ),
    "user-as-non-root": Case(
        files_only("--user", "nobody"), 2, "--user nobody needs root", setup=not_root
    ),
    "user-unknown": Case(
        files_only("--user", "no-such-user-here"),
        2,
        "there is no user named 'no-such-user-here'",
        setup=real_accounts,
    ),
    "user-root": Case(
        files_only("--user", "root"), 2, "--user root is refused", setup=real_accounts
    ),
    "service-name-space": Case(
        files_only("--service-name", "my jupyter"), 2, "is not a valid systemd unit name"
    ),
    "service-name-slash": Case(
        files_only("--service-name", "../jupyter"), 2, "is not a valid systemd unit name"
    ),
    "service-name-dot": Case(
        files_only("--service-name", ".jupyter"), 2, "is not a valid systemd unit name"
    ),
    "service-name-empty": Case(
        files_only("--service-name", ""), 2, "is not a valid systemd unit name"
    ),
    # choices
    "app-unknown": Case(files_only("--app", "voila"), 2, "'voila' is not one of"),
    "access-unknown": Case(files_only("--access", "open"), 2, "'open' is not one of"),
    "distribution-unknown": Case(files_only("--distribution", "mamba"), 2, "'mamba' is not one"),
    "key-type-unknown": Case(files_only("--key-type", "dsa"), 2, "'dsa' is not one of"),
    "flag-unknown": Case(
        files_only("--pasword-stdin"), 2, "No such option '--pasword-stdin'. (Did you mean"
    ),
    # idle times
    "stop-when-idle-zero": Case(
        files_only("--stop-when-idle", "0"), 2, "would power the machine off the moment it is idle"
    ),
    "stop-when-idle-negative": Case(
        files_only("--stop-when-idle=-5m"), 2, "'-5m' is not a duration: write e.g. 3h, 90m"
    ),
    "stop-when-idle-word": Case(
        files_only("--stop-when-idle", "abc"), 2, "'abc' is not a duration"
    ),
    "stop-when-idle-too-short": Case(
        files_only("--stop-when-idle", "5m"), 2, "is shorter than the minimum of 10m"
    ),
    "stop-when-idle-no-unit": Case(
        files_only("--stop-when-idle", "3"), 2, "'3' has no unit: write e.g. 3m or 3h"
    ),
    "stop-when-idle-without-the-service": Case(
        files_only("--stop-when-idle", "3h"), 2, "--stop-when-idle needs the systemd service"
    ),
    "idle-kernel-timeout-word": Case(
        files_only("--idle-kernel-timeout", "soon"), 2, "'soon' is not a duration"
    ),
    "env-dir-missing": Case(
        files_only("--env-dir", "{tmp}/no-such-envs"), 2, "/no-such-envs is not a folder"
    ),
}

OTHERS: dict[str, Case] = {
    "status-skip-unknown": Case(("status", "--skip", "coffee"), 2, "'coffee' is not one of"),
    "status-settings-not-json": Case(
        ("status",), 2, "is not valid jupyter-bootstrap settings", setup=settings("{")
    ),
    "status-unsupported-os": Case(
        ("status",), 2, "Fedora Linux 40 is not supported", setup=unsupported_os
    ),
    "status-user-unknown": Case(
        ("status", "--user", "no-such-user-here"),
        2,
        "there is no user named",
        setup=real_accounts,
    ),
    "password-stdin-nothing": Case(
        ("password", "--password-stdin"), 2, "no password on standard input", "", set_up
    ),
    "password-stdin-too-short": Case(
        ("password", "--password-stdin"),
        2,
        "at least 8 characters",
        "ab\n",
        set_up,
    ),
    "password-no-terminal": Case(
        ("password",), 2, "no terminal to ask for the Jupyter password", "", set_up
    ),
    "password-user-as-non-root": Case(
        ("password", "--user", "nobody"), 2, "--user nobody needs root", setup=not_root
    ),
    "uninstall-user-unknown": Case(
        ("uninstall", "--yes", "--user", "no-such-user-here"),
        2,
        "there is no user named",
        setup=real_accounts,
    ),
    "uninstall-settings-not-json": Case(
        ("uninstall", "--yes"),
        2,
        "is not valid jupyter-bootstrap settings",
        setup=both(set_up, settings("{")),
    ),
}


# The agent's own bookkeeping of a run (the log, the lock that keeps two runs apart) is
# written whatever the input; it changes nothing of the user's.
BOOKKEEPING = {".local/state/jupyter-bootstrap/run.lock"}


def home_files(home: Path) -> dict[str, tuple[str, int, int]]:
    return {path: state for path, state in snapshot(home).items() if path not in BOOKKEEPING}


def check(
    case: Case, home: Path, tmp_path: Path, prefix: Path, os_release: Path, mp: pytest.MonkeyPatch
) -> None:
    world = World(home, tmp_path, prefix, os_release, mp)
    if case.setup is not None:
        case.setup(world)
    args = [arg.format(prefix=prefix, tmp=tmp_path, home=home) for arg in case.args]
    before = home_files(home)
    result = invoke(*args, input=case.stdin)
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything, everything
    assert result.exit_code == case.code, everything
    assert result.stderr.startswith("error: ") or "\nerror: " in result.stderr, everything
    assert case.says in flat(result.stderr), everything
    assert home_files(home) == before, everything


def rows(cases: dict[str, Case]) -> list[ParameterSet]:
    return [
        pytest.param(
            case,
            id=name,
            marks=[pytest.mark.xfail(strict=True, reason=case.defect)] if case.defect else [],
        )
        for name, case in cases.items()
    ]


@pytest.mark.parametrize("case", rows(INIT))
def test_init_refuses(
    case: Case,
    home: Path,
    tmp_path: Path,
    jupyter_prefix: Path,
    os_release: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check(case, home, tmp_path, jupyter_prefix, os_release, monkeypatch)


@pytest.mark.parametrize("case", rows(OTHERS))
def test_other_commands_refuse(
    case: Case,
    home: Path,
    tmp_path: Path,
    jupyter_prefix: Path,
    os_release: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    check(case, home, tmp_path, jupyter_prefix, os_release, monkeypatch)
