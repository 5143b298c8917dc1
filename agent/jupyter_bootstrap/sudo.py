"""Root rights for the few things that need them (the unit file, systemctl, the journal).

Every privileged command runs as `sudo -n` (run.sudo_argv) so that it can never hang on a
prompt nobody sees. When sudo wants a password, `ensure` asks for it once, up front, on the
terminal; sudo then remembers it for the commands that follow.
"""

from __future__ import annotations

import os
from typing import Optional

from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.run import run


def have_terminal() -> bool:
    """Whether sudo could prompt: it reads the password from /dev/tty, not from stdin, so
    `echo PW | jupyter-bootstrap init --password-stdin` in PuTTY still has one."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def _passwordless() -> bool:
    try:
        return run(["sudo", "-n", "true"], check=False, timeout=30).returncode == 0
    except StepFailed:  # no sudo at all
        raise UserError(
            "sudo is not installed, and installing the service needs root",
            hint="run the command as root with --user <login user>, or pass --no-service",
        ) from None


def _no_terminal(purpose: str) -> UserError:
    return UserError(
        f"sudo needs a password to {purpose}, and there is no terminal to type it in",
        hint="run it in a terminal (e.g. PuTTY), allow this user passwordless sudo, or "
        "pass --no-service to leave systemd alone",
    )


def unavailable(purpose: str) -> Optional[UserError]:
    """The error `ensure` would end in, found without asking anything (None: it would
    not), so that a run can stop before it changes anything."""
    if os.geteuid() == 0 or _passwordless() or have_terminal():
        return None
    return _no_terminal(purpose)


def ensure(purpose: str) -> None:
    """Make sure the `sudo -n` commands that follow will run; `purpose` completes the
    sentence "to ..." in the prompt and in the error."""
    if os.geteuid() == 0 or _passwordless():
        return
    if not have_terminal():
        raise _no_terminal(purpose)
    # sudo talks to /dev/tty itself: the prompt shows although run() captures the output.
    result = run(
        ["sudo", "-v", "-p", f"[sudo] password for %p (to {purpose}): "],
        check=False,
        timeout=None,
    )
    if result.returncode != 0:
        raise UserError(
            f"sudo did not accept the password (needed to {purpose})",
            hint="run it again and type the password of this login user",
        )
