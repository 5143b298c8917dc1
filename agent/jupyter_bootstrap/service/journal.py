"""The service's journal: its last lines under an error, or the whole log for `logs`.
Members of the adm and systemd-journal groups read it without sudo; others need sudo."""

from __future__ import annotations

import grp
import os
from typing import Optional

from jupyter_bootstrap.errors import StepFailed
from jupyter_bootstrap.run import run, sudo_argv

JOURNAL_GROUPS = ("adm", "systemd-journal")


def journal_needs_sudo() -> bool:
    if os.geteuid() == 0:
        return False
    allowed = set()
    for name in JOURNAL_GROUPS:
        try:
            allowed.add(grp.getgrnam(name).gr_gid)
        except KeyError:
            continue
    return not allowed & set(os.getgroups())


def journal_argv(
    unit: str, lines: int, follow: bool = False, output: Optional[str] = None
) -> list[str]:
    argv = ["journalctl", "--unit", unit, "--lines", str(lines), "--no-pager"]
    if follow:
        argv.append("--follow")
    if output:
        argv.append(f"--output={output}")
    return sudo_argv(argv) if journal_needs_sudo() else argv


def journal_tail(unit: str, lines: int) -> str:
    """The unit's last journal lines, or a note on why there are none (never raises: it is
    only ever used to explain another failure)."""
    try:
        # Messages only: under an error they must fit in 100 columns with their prefix.
        result = run(journal_argv(unit, lines, output="cat"), check=False, timeout=60)
    except StepFailed as error:  # journalctl missing or hanging
        return f"(no journal lines for {unit}: {error.message})"
    text = result.stdout.strip()
    if result.returncode != 0 or not text:
        return f"(no journal lines for {unit}: {result.stderr.strip() or 'empty'})"
    return text
