"""Which names a public CA can validate, and why the others are left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_bootstrap import acme_names
from tests.support.cli import flat, init_files_only

TABLE = [
    ("3.8.1.2", ""),
    ("2600:1f18:1234::5", ""),
    ("jupyter.example.org", ""),
    ("127.0.0.1", "a loopback address"),
    ("::1", "a loopback address"),
    ("172.31.5.6", "a private address"),
    ("10.0.0.1", "a private address"),
    ("fd00::1", "a private address"),
    ("169.254.10.1", "a private address"),
    ("100.64.0.1", "not a public address"),  # carrier-grade NAT
    ("localhost", "this machine's own name"),
    ("ip-172-31-5-6", "a name without a domain"),
    ("ec2-3-8-1-2.eu-west-2.compute.amazonaws.com", "an EC2 name"),
    ("ip-172-31-5-6.eu-west-2.compute.internal", "a private name"),
    ("jb.example.test", "a private name"),
]


@pytest.mark.parametrize(("name", "why"), TABLE)
def test_why_a_name_is_left_out(name: str, why: str) -> None:
    if why:
        assert acme_names.why_not(name).startswith(why)
    else:
        assert acme_names.why_not(name) == ""


def test_loopback_only_with_the_tests_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(acme_names.ALLOW_LOOPBACK_ENV, "1")
    assert acme_names.why_not("127.0.0.1") == ""
    assert acme_names.why_not("10.0.0.1") != ""  # the switch lets nothing else through


def test_kept_in_order_without_repeats_and_the_rest_with_reasons() -> None:
    names = ["jupyter.example.org", "3.8.1.2", "localhost", "3.8.1.2", "localhost"]
    kept, left_out = acme_names.public_names(names)
    assert kept == ["jupyter.example.org", "3.8.1.2"]
    assert [item.name for item in left_out] == ["localhost"]


def test_certificate_and_certfile_exclude_each_other(home: Path, jupyter_prefix: Path) -> None:
    result = init_files_only(
        jupyter_prefix,
        "--certificate",
        "letsencrypt",
        "--certfile",
        "/c.pem",
        "--keyfile",
        "/k.pem",
    )
    assert result.exit_code == 2
    assert "exclude each other" in flat(result.stderr)


def test_the_acme_directory_must_be_https(home: Path, jupyter_prefix: Path) -> None:
    flags = ("--certificate", "letsencrypt", "--acme-directory", "http://127.0.0.1:1/dir")
    result = init_files_only(jupyter_prefix, *flags)
    assert result.exit_code == 2
    assert "is not an https URL" in flat(result.stderr)
