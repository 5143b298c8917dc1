"""Who is logged in: the sessions `who` lists (a PuTTY or ssh shell, a console login), as
the stop-when-idle check reads them. `who` reads the login records the system keeps
(utmp, or logind where coreutils is built for it) and leaves out records whose process is
gone, so a session cut off by a dropped connection does not count for ever."""

from __future__ import annotations

from jupyter_bootstrap.run import run


def open_sessions() -> tuple[str, ...]:
    """One line per session, `ubuntu on pts/0 (from 203.0.113.7)`; empty when nobody is
    logged in. A `who` that cannot run is a failed step: the check then stays on."""
    # The C locale: the date in the middle of each line is not needed, but its shape must
    # not depend on the user's language.
    listed = run(["who"], env={"LC_ALL": "C"}, timeout=30, what="who (login sessions)")
    return tuple(describe(line) for line in listed.stdout.splitlines() if line.strip())


def describe(line: str) -> str:
    """`ubuntu   pts/0  2026-12-02 16:00 (203.0.113.7)` -> `ubuntu on pts/0 (from
    203.0.113.7)`."""
    fields = line.split()
    user, where = fields[0], fields[1] if len(fields) > 1 else "?"
    host = line[line.rfind("(") + 1 : line.rfind(")")] if line.rstrip().endswith(")") else ""
    return f"{user} on {where}" + (f" (from {host})" if host else "")
