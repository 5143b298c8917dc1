"""`--help` and `--version` must cost little more than importing click: scripts and people
run them often, and the heavy libraries are needed only once a command does its work. What
is checked is the import side (which modules got loaded), never a time: timings belong to
benchmarks/run_all, where each is paired with its baseline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_bootstrap.service import systemctl
from tests.support.cli import init_on_port
from tests.support.fake_systemd import FakeSystemd
from tests.support.fresh_process import among, loaded_by
from tests.support.metadata_server import metadata_service

# Each costs tens of milliseconds to import, and none is needed to print help or a version.
HEAVY = ("cryptography", "requests", "urllib3", "jinja2", "argon2", "acme", "html.parser")

APPLY_ONLY = ("jupyter_bootstrap.conda_installers", "jupyter_bootstrap.progress", "secrets")

PROBE = """
import json, sys
from jupyter_bootstrap.cli import main
sys.argv = ["jupyter-bootstrap", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
sys.stderr.write(json.dumps(sorted(sys.modules)))
"""


def modules_after(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after `jupyter-bootstrap ARGS` returned."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stderr.splitlines()[-1]))


@pytest.mark.parametrize(
    "args", [("--version",), ("--help",), ("init", "--help"), ("status", "--help")]
)
def test_help_and_version_import_none_of_the_heavy_libraries(args: tuple[str, ...]) -> None:
    modules = modules_after(*args)
    assert "jupyter_bootstrap.cli" in modules  # the probe did run the command line
    assert among(modules, HEAVY) == []
    # init's help names where installers come from, not the table of their hashes.
    assert "jupyter_bootstrap.conda_installers" not in modules


@pytest.mark.parametrize("command", ["status", "init"])
def test_checking_a_converged_machine_needs_none_of_the_heavy_libraries(
    command: str,
    fake: FakeSystemd,
    jupyter_prefix: Path,
    port: int,
    os_release: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real code path in a fresh interpreter, against the stand-in systemd."""
    # On EC2 every check asks the instance metadata for the public names: here a loopback
    # service that speaks its protocol, so that lookup is part of what is checked.
    with metadata_service(public_ipv4="203.0.113.7") as imds:
        monkeypatch.setenv("JUPYTER_BOOTSTRAP_METADATA_URL", imds.url)
        init_on_port(jupyter_prefix, port)
        imds.requests.clear()
        loaded = loaded_by([command], os_release, fake.unit_dir, systemctl.BOOTED_MARKER)
        assert "GET /latest/meta-data/public-ipv4" in imds.requests
    assert loaded.code == 0, loaded.output
    assert loaded.heavy() == [], loaded.output
    # What only a change needs waits for one: installing conda (its installer tables and the
    # download's progress bar), making a new token (secrets). (shutil too, but a no-op init
    # still writes its run record, and tempfile brings shutil in.)
    assert among(loaded.modules, APPLY_ONLY) == [], loaded.output
    if command == "status":
        assert "shutil" not in loaded.modules
    # Immutable records are NamedTuples: a frozen dataclass costs about 0.6 ms at every
    # import (its methods are compiled from source), and a check loads some sixty records.
    # Two exceptions: Status is generic (a generic NamedTuple needs Python 3.11), and the
    # certificate's plan keeps private-key bytes out of its repr. Status is always loaded:
    # seeing it shows the probe does find frozen dataclasses.
    assert "jupyter_bootstrap.engine.Status" in loaded.frozen_dataclasses
    assert set(loaded.frozen_dataclasses) <= {
        "jupyter_bootstrap.engine.Status",
        "jupyter_bootstrap.steps.certificate.CertificatePlan",
    }, loaded.frozen_dataclasses
