"""What the running Jupyter says about its own activity: when it started, when anything
last happened (a request, kernel output, terminal input), how many kernels are busy and
how many browser connections are open. Asked over verified HTTPS on loopback with the API
token of the config's managed block, without counting as activity itself."""

from __future__ import annotations

import http.client
from typing import Any

from jupyter_bootstrap import https_probe
from jupyter_bootstrap.https_probe import ProbeTarget
from jupyter_bootstrap.stop_when_idle import Activity, parse_time


class ActivityUnavailable(Exception):
    """Jupyter could not be asked; the message says why, in a few words."""


def read(target: ProbeTarget, token: str) -> Activity:
    headers = {"Authorization": f"token {token}"}
    try:
        connection = https_probe.connect(target)
    except https_probe.NoConnection as failed:
        raise ActivityUnavailable(f"no answer: {failed.result.summary}") from None
    try:
        # /api/status never counts as activity; no_track_activity keeps the kernel list
        # from counting either, or every look would reset the idle time.
        status = connection.get("/api/status", headers)
        kernels = connection.get("/api/kernels?no_track_activity=1", headers)
    except (http.client.HTTPException, OSError) as error:
        raise ActivityUnavailable(f"no answer on port {target.port}: {_short(error)}") from None
    finally:
        connection.close()
    for path, answer in (("/api/status", status), ("/api/kernels", kernels)):
        if answer.status in (401, 403):
            raise ActivityUnavailable(
                "Jupyter refuses our API token: it has not been restarted since the token "
                "was added (`jupyter-bootstrap init` does that)"
            )
        if answer.status != 200:
            raise ActivityUnavailable(f"{path} answered {answer.status}")
    try:
        return _activity(status.json(), kernels.json())
    except (ValueError, KeyError, TypeError) as error:
        raise ActivityUnavailable(f"Jupyter's answer is not what was expected ({error})") from None


def _activity(status: Any, kernels: Any) -> Activity:
    states = [kernel.get("execution_state") for kernel in kernels]
    return Activity(
        started=parse_time(status["started"]),
        last_activity=parse_time(status["last_activity"]),
        kernels=int(status["kernels"]),
        # A kernel starting up is about to run something too.
        busy_kernels=sum(1 for state in states if state in ("busy", "starting")),
        connections=int(status["connections"]),
    )


def _short(error: Exception) -> str:
    text = str(error)
    if "refused" in text.lower():
        return "connection refused"
    return text if len(text) < 120 else text[:117] + "..."
