"""--debug goes before or after the subcommand (`jupyter-bootstrap status --debug` is what
people type): it changes no exit code, and an error then comes with its traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli import flat, init_files_only, invoke

FEDORA = 'ID=fedora\nVERSION_ID="40"\nPRETTY_NAME="Fedora Linux 40"\n'


def error_line(stderr: str) -> str:
    """The `error: ...` line (with its wrapped continuation), as the user reads it."""
    lines = stderr.splitlines()
    starts = [n for n, line in enumerate(lines) if line.startswith("error: ")]
    assert len(starts) == 1, stderr
    found = [lines[starts[0]]]
    for line in lines[starts[0] + 1 :]:
        if not line.startswith(" " * len("error: ")):
            break
        found.append(line)
    return flat(" ".join(found))


def assert_no_option_error_nor_traceback(result: Result) -> None:
    everything = result.stdout + result.stderr
    assert "No such option" not in everything, everything
    assert "Traceback" not in everything, everything


@pytest.mark.parametrize("set_up", [False, True], ids=["nothing-set-up", "set-up"])
@pytest.mark.parametrize(
    "args", [["status", "--debug"], ["--debug", "status"]], ids=["after", "before"]
)
def test_status_with_debug_exits_as_status_does(
    home: Path, jupyter_prefix: Path, set_up: bool, args: list[str]
) -> None:
    if set_up:
        assert init_files_only(jupyter_prefix).exit_code == 0
    expected = invoke("status").exit_code
    assert expected == (0 if set_up else 3)
    result = invoke(*args)
    assert result.exit_code == expected, result.output
    assert_no_option_error_nor_traceback(result)


def test_init_dry_run_takes_debug_after_the_subcommand(home: Path, jupyter_prefix: Path) -> None:
    result = invoke("init", "--prefix", str(jupyter_prefix), "--no-service", "--dry-run", "--debug")
    assert result.exit_code == 0, result.output
    assert "would" in result.output
    assert_no_option_error_nor_traceback(result)


REFUSED_WITH_DEBUG = [
    pytest.param(["--debug", "status"], id="debug-before-status"),
    pytest.param(["status", "--debug"], id="debug-after-status"),
    pytest.param(["--debug", "init", "--no-service", "--dry-run"], id="debug-before-init"),
    pytest.param(["init", "--no-service", "--dry-run", "--debug"], id="debug-after-init"),
]


@pytest.mark.parametrize("args", REFUSED_WITH_DEBUG)
def test_an_error_with_debug_shows_its_traceback_and_the_error_line(
    home: Path, os_release: Path, args: list[str]
) -> None:
    os_release.write_text(FEDORA)
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback (most recent call last):" in result.stderr, result.stderr
    assert "Fedora Linux 40 is not supported" in error_line(result.stderr)
    assert "No such option" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "args", [["status"], ["init", "--no-service", "--dry-run"]], ids=["status", "init"]
)
def test_an_error_without_debug_has_no_traceback(
    home: Path, os_release: Path, args: list[str]
) -> None:
    os_release.write_text(FEDORA)
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Fedora Linux 40 is not supported" in error_line(result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
