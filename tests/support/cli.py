"""The CLI run in-process (click's test runner) as the unit and integration tests run it,
the password they set, and the ways they call `init`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

PASSWORD = "correct horse battery"


def invoke(*args: str, input: str | None = None) -> Result:
    """`jupyter-bootstrap ARGS` with `input` on stdin. An exception the CLI does not turn
    into an error message fails the test with its traceback."""
    from jupyter_bootstrap.cli import cli

    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def init_files_only(prefix: Path, *flags: str, password: str = PASSWORD) -> Result:
    """`init` with the password on stdin and no systemd: the files, the whole files and
    nothing but the files."""
    return invoke(
        "init",
        "--prefix",
        str(prefix),
        "--no-service",
        "--password-stdin",
        *flags,
        input=password + "\n",
    )


def init_no_service(*flags: str, input: str = PASSWORD + "\n") -> Result:
    """`init --no-service --password-stdin FLAGS` with `input` as stdin as it is: unlike
    init_files_only no prefix is implied (the flags choose one, or the agent finds or
    installs conda), and stdin may hold answers after the password line (Anaconda's
    terms)."""
    return invoke("init", "--no-service", "--password-stdin", *flags, input=input)


def init_on_port(prefix: Path, port: int, *extra: str, code: int = 0) -> str:
    """`init --prefix PREFIX --port PORT --password-stdin EXTRA`, the service managed unless
    EXTRA says --no-service (in unit tests by the stand-in systemd of the `fake` fixture);
    asserts the exit code and returns the output."""
    result = invoke(
        "init",
        "--prefix",
        str(prefix),
        "--port",
        str(port),
        "--password-stdin",
        *extra,
        input=PASSWORD + "\n",
    )
    assert result.exit_code == code, result.output
    return result.output


def flat(text: str) -> str:
    """The text with line wrapping undone (each run of whitespace one space), for phrase
    checks."""
    return " ".join(text.split())


def without_spaces(text: str) -> str:
    """The text with all whitespace removed, for phrases that hold a long path: the output
    is wrapped at 100 columns and a path may land on a line of its own."""
    return "".join(text.split())
