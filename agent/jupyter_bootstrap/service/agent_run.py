"""How a unit of ours runs the agent itself (`python -m jupyter_bootstrap ...`): as the login
user, in their home, with the agent's own Python and our knobs as init saw them. The units
that watch for new environments and that look whether the machine is idle share it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

from jupyter_bootstrap import templating
from jupyter_bootstrap.service.renewal_units import carried_environment
from jupyter_bootstrap.service.unit import MARKER, group_name


class AgentRun(NamedTuple):
    user: str
    group: str
    home: Path
    program: str  # the agent's Python
    environment: tuple[str, ...]  # NAME=value, for Environment=


def agent_run(user: str, gid: int, home: Path) -> AgentRun:
    return AgentRun(
        user=user,
        group=group_name(gid),
        home=home,
        program=sys.executable,
        environment=carried_environment(dict(os.environ)),
    )


def render(template: str, run: AgentRun, arguments: list[str], **values: Any) -> str:
    """A unit template with our marker, `run`'s fields and the agent's `arguments`."""
    return templating.render(
        template,
        marker=MARKER,
        user=run.user,
        group=run.group,
        home=run.home,
        program=run.program,
        environment=run.environment,
        arguments=["-m", "jupyter_bootstrap", *arguments],
        **values,
    )
