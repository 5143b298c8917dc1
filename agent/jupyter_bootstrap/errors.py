"""Error types. `cli.py` is the only place that turns them into output and exit codes."""

from __future__ import annotations

from typing import Optional

EXIT_OK = 0
EXIT_STEP_FAILED = 1
EXIT_USAGE = 2
EXIT_DRIFT = 3
EXIT_INTERRUPTED = 130


class BootstrapError(Exception):
    """Base class: carries a one-line message and an optional hint (what to do next)."""

    exit_code = EXIT_STEP_FAILED

    def __init__(self, message: str, hint: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UserError(BootstrapError):
    """Bad input or an environment we refuse to touch: exit 2, nothing changed."""

    exit_code = EXIT_USAGE


class StepFailed(BootstrapError):
    """A step could not converge: exit 1. The runner adds the step name and the log path."""

    exit_code = EXIT_STEP_FAILED

    def __init__(
        self,
        message: str,
        hint: Optional[str] = None,
        details: Optional[str] = None,
    ) -> None:
        super().__init__(message, hint)
        # Extra lines (e.g. the tail of an installer log or the journal) shown under the error.
        self.details = details
