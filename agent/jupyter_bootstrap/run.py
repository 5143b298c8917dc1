"""The one way the agent runs other programs: every command and its output go to the log
file; the user sees output only when something fails."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional

from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.files import Owner, ensure_dir

log = logging.getLogger("jupyter_bootstrap")

TAIL_LINES = 20


def setup_log(path: Path, owner: Optional[Owner] = None) -> Optional[Path]:
    """Append to the log file (0600: it may name paths and users), owned like every other
    file of the user's (root acting for them must not leave root-owned dirs in their home).
    Returns None when it cannot be opened, so a read-only home never stops the agent."""
    try:
        ensure_dir(path.parent, 0o700, owner)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            if owner is not None and os.geteuid() == 0:
                os.fchown(fd, owner.uid, owner.gid)
        finally:
            os.close(fd)
    except (OSError, UserError):
        return None
    for handler in list(log.handlers):
        if isinstance(handler, logging.FileHandler):
            log.removeHandler(handler)
            handler.close()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    return path


def log_path() -> Optional[Path]:
    for handler in log.handlers:
        if isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None


def tail(text: str, lines: int = TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    input_text: Optional[str] = None,
    timeout: Optional[float] = 600,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[Path] = None,
    what: Optional[str] = None,
    hint: Optional[str] = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` (never through a shell), log it, and raise StepFailed with the tail of
    its output when it fails and `check` is set."""
    command = shlex.join(argv)
    log.info("run: %s", command)
    full_env = None
    if env is not None:
        full_env = dict(os.environ)
        full_env.update(env)
    try:
        result = subprocess.run(
            list(argv),
            input=input_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            cwd=cwd,
            check=False,
            stdin=subprocess.DEVNULL if input_text is None else None,
        )
    except FileNotFoundError:
        raise StepFailed(f"{argv[0]} not found", hint=hint) from None
    except subprocess.TimeoutExpired:
        raise StepFailed(
            f"{what or command} did not finish in {timeout:.0f} s", hint=hint
        ) from None
    output = (result.stdout or "") + (result.stderr or "")
    log.info("exit %s: %s\n%s", result.returncode, command, output.rstrip())
    if check and result.returncode != 0:
        raise StepFailed(
            f"{what or command} failed (exit {result.returncode})",
            hint=hint,
            details=tail(output),
        )
    return result


def sudo_argv(argv: Sequence[str]) -> list[str]:
    """Prefix with `sudo -n` unless we are already root. -n: never hang on a hidden prompt."""
    if os.geteuid() == 0:
        return list(argv)
    return ["sudo", "-n", *argv]
