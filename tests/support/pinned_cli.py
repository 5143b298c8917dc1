"""`python -m tests.support.pinned_cli ARGS`: the real `jupyter-bootstrap` CLI in a process
of its own, for tests that kill it (a SIGKILL must not take pytest down with it).

It pins what the `home` fixture pins for the in-process tests, and nothing else: the account
is the current user with $HOME as its home (CI runs as root, which the agent rightly refuses
without --user, and a throw-away login user cannot run this test environment's Python), the
OS is the stock Ubuntu in $JUPYTER_BOOTSTRAP_TEST_OS_RELEASE when it is set, and system-wide
conda prefixes are not looked at (as hide_host_conda does). $JUPYTER_BOOTSTRAP_TEST_HEARTBEAT
shortens the heartbeat of long subprocesses, so a test sees one without waiting.

SIGINT and SIGHUP start at their defaults, as in a user's terminal session: a test suite
started as a background job of a script (`cmd &` in a shell without job control, or under
nohup) would otherwise hand them down ignored, and the tests of Ctrl-C and of a dropped
session would see a run that nothing can interrupt or hang up."""

from __future__ import annotations

import os
import pwd
import signal
import sys
from pathlib import Path

OS_RELEASE_ENV = "JUPYTER_BOOTSTRAP_TEST_OS_RELEASE"
HEARTBEAT_ENV = "JUPYTER_BOOTSTRAP_TEST_HEARTBEAT"
REPO = Path(__file__).resolve().parents[2]


def argv(*args: str) -> list[str]:
    """The command line that runs the CLI this way (run it with cwd=REPO)."""
    return [sys.executable, "-m", "tests.support.pinned_cli", *args]


def main() -> None:
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    from jupyter_bootstrap import account, cli, conda, paths, run

    home = Path(os.environ["HOME"])
    pinned = account.Account(pwd.getpwuid(os.getuid()).pw_name, os.getuid(), os.getgid(), home)

    def resolve(user: object) -> account.Account:
        return pinned

    account.resolve = resolve
    if os.environ.get(OS_RELEASE_ENV):
        paths.OS_RELEASE = Path(os.environ[OS_RELEASE_ENV])
    conda.SYSTEM_PREFIXES = ()
    if os.environ.get(HEARTBEAT_ENV):
        run.HEARTBEAT_SECONDS = float(os.environ[HEARTBEAT_ENV])
    sys.argv[0] = "jupyter-bootstrap"
    cli.main()


if __name__ == "__main__":
    main()
