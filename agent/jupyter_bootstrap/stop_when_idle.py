"""Stop when idle: the machine powers itself off once Jupyter has had no activity (no kernel
busy, no open connection, no request) and nobody has been logged in for as long as the user
chose. On EC2 an operating-system power-off stops an EBS-backed instance (its default
shutdown behaviour), so no AWS API or credentials are involved.

The decision is made here, as data: what Jupyter and the login records say in, a verdict
out. Doubt always means "stay on": a server that does not answer (stopped by hand, crashed,
still starting) is not idle, it is unknown."""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap import durations
from jupyter_bootstrap.console import duration
from jupyter_bootstrap.errors import UserError
from jupyter_bootstrap.files import Owner, atomic_write, ensure_dir, read_bytes_or_none

# Below ten minutes a pause to read the docs or fetch a coffee would power the machine off.
MINIMUM = 600
# Lowers the minimum, for tests and demonstrations: a short idle time shows the whole cycle
# in a minute. Read wherever the value is checked, and carried into the units.
MINIMUM_ENV = "JUPYTER_BOOTSTRAP_STOP_WHEN_IDLE_MINIMUM"
# The longest the timer waits between two looks: a power-off comes at most this late.
LONGEST_CHECK_INTERVAL = 300
SHORTEST_CHECK_INTERVAL = 5
# The last moment the check saw the machine in use (a login, a busy kernel, a browser):
# the idle time counts from there, not from the last request Jupyter saw, so logging out
# after an afternoon in the shell does not power the machine off at once.
STATE_FILE = "stop-when-idle.json"
HOW_TO_TURN_OFF = "jupyter-bootstrap init --stop-when-idle off"
EC2_NOTE = (
    "On EC2 a power-off stops the instance when it is EBS-backed and its shutdown behaviour "
    "is Stop (the default): its disk stays, billing for its running time ends, and you "
    "start it again from the EC2 console. An instance store disk is erased, and an instance "
    "whose shutdown behaviour is Terminate is deleted. Turn it off: "
    f"`{HOW_TO_TURN_OFF}`."
)


def minimum() -> int:
    raw = os.environ.get(MINIMUM_ENV, "").strip()
    if not raw:
        return MINIMUM
    try:
        return max(1, durations.parse(raw))
    except durations.NotADuration:
        return MINIMUM


def problem_with(seconds: int) -> Optional[str]:
    """Why `seconds` cannot be the idle time before a power-off (0 is "off"); None if it can."""
    if seconds == 0:
        return None
    if seconds < 0:
        return "a negative time"
    least = minimum()
    if seconds < least:
        return (
            f"shorter than the minimum of {durations.describe(least)}: a pause that short would "
            "power the machine off under you"
        )
    return None


def parse_flag(text: str) -> int:
    """`--stop-when-idle VALUE` in seconds; 0 for `off`. Bad values are user errors (exit 2)
    that say what to type instead."""
    flag = f"--stop-when-idle {text}"
    example = f"e.g. --stop-when-idle 3h (at least {durations.describe(minimum())})"
    if durations.is_off(text):
        return 0
    try:
        # A bare 0 has no unit, but needs none to be wrong: it is said as what it would do.
        seconds = 0 if set(text.strip()) == {"0"} else durations.parse(text)
    except durations.NotADuration as error:
        raise UserError(f"{flag}: {error}", hint=f"{example}, or `off` to turn it off") from None
    if seconds == 0:
        raise UserError(
            f"{flag} would power the machine off the moment it is idle",
            hint=f"give how long it must be idle first, {example}; `off` turns it off",
        )
    problem = problem_with(seconds)
    if problem is not None:
        raise UserError(f"{flag} is {problem}", hint=example)
    return seconds


def check_interval(after: int) -> int:
    """Seconds between two looks: a twelfth of the idle time, from 5 s to 5 min, so the
    power-off comes at most that much after the idle time is up."""
    return max(SHORTEST_CHECK_INTERVAL, min(LONGEST_CHECK_INTERVAL, after // 12))


def what_it_does(after: int) -> str:
    return (
        f"after {durations.describe(after)} with no Jupyter activity (no kernel busy, no "
        "browser connected, no request) and nobody logged in, this machine powers itself off"
    )


# -- what the check sees ----------------------------------------------------------------------


class Activity(NamedTuple):
    """Jupyter's own account of itself (/api/status, /api/kernels)."""

    started: datetime
    last_activity: datetime
    kernels: int
    busy_kernels: int
    connections: int


class Observation(NamedTuple):
    """Everything one look at the machine found."""

    unit: str  # jupyter.service
    running: bool  # systemd runs it (active)
    unit_state: str  # "active (running)", "inactive (dead)", ...
    activity: Optional[Activity]  # None: Jupyter could not be asked
    activity_problem: Optional[str]  # why not
    sessions: tuple[str, ...]  # login sessions, as people read them
    last_in_use: Optional[datetime]  # the state file's last moment in use


class Verdict(NamedTuple):
    state: str  # stopped | unknown | in-use | idle
    reason: str
    idle_since: Optional[datetime] = None
    due_at: Optional[datetime] = None
    power_off: bool = False

    @property
    def in_use(self) -> bool:
        return self.state == "in-use"

    def idle_seconds(self, now: datetime) -> Optional[int]:
        if self.idle_since is None:
            return None
        return max(0, int((now - self.idle_since).total_seconds()))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _clock(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%H:%M UTC")


def decide(now: datetime, after: int, seen: Observation) -> Verdict:
    """Whether to power off now, and why (or why not)."""
    if not seen.running:
        return Verdict(
            "stopped",
            f"Jupyter is not running ({seen.unit} is {seen.unit_state}): a server stopped by "
            "hand or one that crashed is not idle, so the machine stays on",
        )
    if seen.activity is None:
        return Verdict(
            "unknown",
            f"Jupyter's activity cannot be read ({seen.activity_problem}), so the machine stays on",
        )
    activity = seen.activity
    uses = []
    if activity.busy_kernels:
        uses.append(_plural(activity.busy_kernels, "kernel") + " busy")
    if activity.connections:
        uses.append(_plural(activity.connections, "browser connection") + " open")
    uses += [f"logged in: {session}" for session in seen.sessions]
    since = max(filter(None, (activity.started, activity.last_activity, seen.last_in_use)))
    since = min(since, now)  # a clock that went back must not postpone forever
    if uses:
        quiet = ""
        if not (activity.busy_kernels or activity.connections):
            jupyter_since = min(max(activity.started, activity.last_activity), now)
            idle = duration((now - jupyter_since).total_seconds())
            quiet = f" (Jupyter itself idle for {idle})"
        return Verdict(
            "in-use",
            f"in use: {'; '.join(uses)}{quiet}; it powers off once nothing is, after "
            f"{durations.describe(after)} idle",
        )
    due = since + timedelta(seconds=after)
    idle = f"idle for {duration((now - since).total_seconds())} (since {_clock(since)})"
    if now >= due:
        return Verdict(
            "idle", f"{idle}, with nobody logged in: powering the machine off", since, due, True
        )
    left = duration((due - now).total_seconds())
    return Verdict(
        "idle",
        f"{idle}; powers off at {_clock(due)} (in {left}) unless it is used before",
        since,
        due,
    )


# -- the last moment in use ---------------------------------------------------------------------


def state_path(state_dir: Path) -> Path:
    return state_dir / STATE_FILE


def last_in_use(state_dir: Path) -> Optional[datetime]:
    """The recorded moment; None when there is none or it cannot be read (then Jupyter's
    own last activity alone counts)."""
    try:
        raw = read_bytes_or_none(state_path(state_dir))
    except UserError:
        return None
    if raw is None:
        return None
    try:
        value = json.loads(raw).get("last_in_use")
        return parse_time(value) if isinstance(value, str) else None
    except (ValueError, AttributeError):
        return None


def record_in_use(state_dir: Path, moment: datetime, owner: Optional[Owner] = None) -> None:
    ensure_dir(state_dir, 0o700, owner)
    text = json.dumps({"last_in_use": iso(moment)}) + "\n"
    atomic_write(state_path(state_dir), text, 0o600, owner)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Jupyter's and our own ISO times (`...Z` or `+00:00`, with or without fractions)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment
