"""`--help` and `--version` must cost little more than importing click: scripts and people
run them often, and the heavy libraries are needed only once a command does its work. What
is checked is the import side (which modules got loaded), never a time: timings belong to
benchmarks/run_all, where each is paired with its baseline."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Each costs tens of milliseconds to import, and none is needed to print help or a version.
HEAVY = ("cryptography", "requests", "urllib3", "jinja2", "argon2", "acme", "html.parser")

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


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(
        name for name in modules if any(name == h or name.startswith(h + ".") for h in HEAVY)
    )


@pytest.mark.parametrize(
    "args", [("--version",), ("--help",), ("init", "--help"), ("status", "--help")]
)
def test_help_and_version_import_none_of_the_heavy_libraries(args: tuple[str, ...]) -> None:
    modules = modules_after(*args)
    assert "jupyter_bootstrap.cli" in modules  # the probe did run the command line
    assert heavy_among(modules) == []
