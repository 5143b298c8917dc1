"""Kill points: a test hook that SIGKILLs the agent at a named moment, so tests can prove that
a run cut short anywhere is finished by the next `init`.

    JUPYTER_BOOTSTRAP_KILL_POINT=conda:installer-running        this process only
    JUPYTER_BOOTSTRAP_KILL_POINT=conda:installer-running:group  its whole process group

The group form is what an SSH drop does to a run in PuTTY: the agent and the installer or
conda it is running die together. Names are `<step>:apply` (right before a step carries out
its plan) and named moments inside the long applies. With the variable unset (or naming
another point) nothing here does anything. SIGKILL, not an exception: no `finally`, no
cleanup, no flush of anything but what is already written, exactly like a real kill.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Callable, NoReturn, Optional

ENV = "JUPYTER_BOOTSTRAP_KILL_POINT"
GROUP_SUFFIX = ":group"

# How often the watcher of a running subprocess looks whether it has started writing.
_POLL_SECONDS = 0.0005


def armed_for(name: str, environ: Optional[Mapping[str, str]] = None) -> Optional[bool]:
    """None when `name` is not the chosen kill point; else whether to kill the whole group."""
    value = (os.environ if environ is None else environ).get(ENV, "")
    if value == name:
        return False
    if value == name + GROUP_SUFFIX:
        return True
    return None


def kill_now(group: bool) -> NoReturn:
    # What was printed so far should be in the test's output, as it would be on a terminal.
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError):
            stream.flush()
    if group:
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)
    raise SystemExit(137)  # not reached: SIGKILL cannot be caught


def reached(name: str) -> None:
    """Die here if `name` is the chosen kill point."""
    group = armed_for(name)
    if group is not None:
        kill_now(group)


@contextmanager
def while_running(name: str, started: Callable[[], bool]) -> Iterator[None]:
    """Around a long subprocess: when `name` is the chosen kill point, die as soon as
    `started()` says the subprocess has begun changing things, or at the latest when it
    returns (a fast subprocess may finish before the watcher looks: the point is reached
    either way, and the next run must cope with both)."""
    group = armed_for(name)
    if group is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if started():
                kill_now(group)
            done.wait(_POLL_SECONDS)

    threading.Thread(target=watch, name=f"kill point {name}", daemon=True).start()
    try:
        yield
    finally:
        done.set()
        kill_now(group)
