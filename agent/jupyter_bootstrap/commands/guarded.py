"""What every converging command (init, password, restart) runs under: the run lock, so a
second run from another PuTTY window is refused rather than racing the first, and the
hang-up guard, so a dropped SSH session does not stop a run half-way."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Optional, TypeVar

from jupyter_bootstrap.commands import hangup, run_lock
from jupyter_bootstrap.engine import Context
from jupyter_bootstrap.run import log_path

Result = TypeVar("Result")


@contextmanager
def converging(ctx: Context, command: str) -> Iterator[None]:
    lock = run_lock.held(ctx.paths.state_dir, command, ctx.paths.log_file, ctx.account.owner)
    with lock, hangup.survive():
        yield


def guarded(command: str) -> Callable[[Callable[[Context], Result]], Callable[[Context], Result]]:
    """`@guarded("password")` on a command's flow: the same as `with converging(...)`."""

    def decorate(flow: Callable[[Context], Result]) -> Callable[[Context], Result]:
        @functools.wraps(flow)
        def wrapper(ctx: Context) -> Result:
            with converging(ctx, command):
                return flow(ctx)

        return wrapper

    return decorate


def follow_command(ctx: Context) -> Optional[str]:
    """`tail -f ~/.local/state/jupyter-bootstrap/jupyter-bootstrap.log`, to follow a run from
    another SSH session; `~` when the log is in the home of whoever reads this. None
    without a log."""
    path = log_path()
    if path is None:
        return None
    home = os.environ.get("HOME")
    if home and Path(home) == ctx.account.home and ctx.account.home in path.parents:
        return f"tail -f ~/{path.relative_to(ctx.account.home)}"
    return f"tail -f {path}"
