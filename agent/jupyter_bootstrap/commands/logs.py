"""`jupyter-bootstrap logs`: hand the terminal to journalctl for the service's unit."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from typing import Callable

from jupyter_bootstrap import sudo
from jupyter_bootstrap.engine import Context
from jupyter_bootstrap.service import journal, systemctl
from jupyter_bootstrap.service.unit import unit_name

log = logging.getLogger("jupyter_bootstrap")


def _exec(argv: list[str]) -> None:
    os.execvp(argv[0], argv)


# Replaced in tests: the real one never returns.
replace_process: Callable[[list[str]], None] = _exec


def logs(ctx: Context, lines: int, follow: bool) -> None:
    """Follow mode runs until Ctrl-C."""
    if not systemctl.is_booted():
        raise systemctl.not_booted_error(
            "there is no service log",
            hint="Jupyter started by hand logs to the terminal it runs in",
        )
    unit = unit_name(ctx.settings.service_name)
    if journal.journal_needs_sudo():
        sudo.ensure("read the system journal")
    argv = journal.journal_argv(unit, lines, follow)
    log.info("exec: %s", shlex.join(argv))
    sys.stdout.flush()
    sys.stderr.flush()
    replace_process(argv)
