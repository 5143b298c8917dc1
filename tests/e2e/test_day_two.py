"""Day two on a real systemd instance (tests/e2e/instance.py), as user ubuntu: a conda-style
environment made after init becomes a kernel by itself, idle kernels are culled and busy
ones are not, and the machine powers itself off once nobody has used it for a while, but
not while a kernel is busy, a browser is connected or someone is logged in, and not when
Jupyter was stopped or crashed.

The tests build on each other in one instance, in file order; the last one powers it off.

There is no sshd in the instance: an SSH login is what sshd writes into utmp (a
USER_PROCESS record for pts/N, with the pid of the session), which is what `who` lists.
The test writes such a record with `utmpdump -r`, naming a live process as the session.
(The instance has no libpam-systemd, so logind sees no sessions there.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
import requests

from jupyter_bootstrap.stop_when_idle import parse_time
from tests.e2e.instance import INSTANCE_PIP_CACHE, INSTANCE_WHEELHOUSE, SystemdInstance
from tests.support.e2e_agent import (
    HOME,
    PASSWORD,
    USER,
    login,
    prepare,
    wait_for_https,
    wait_until,
)
from tests.support.jupyter_kernels import execute, websocket_exchange
from tests.support.net import free_port
from tests.support.report import step_lines, step_states

pytestmark = pytest.mark.e2e

JUPYTER_ENV = f"{HOME}/jupyter-env"
ENVS = f"{JUPYTER_ENV}/envs"
KERNELS = f"{HOME}/.local/share/jupyter/kernels"
CONFIG = f"{HOME}/.jupyter/jupyter_server_config.py"
UNIT = "jupyter.service"
IDLE_UNIT = "jupyter-stop-when-idle.service"
IDLE_TIMER = "jupyter-stop-when-idle.timer"
# Short enough for a test, long enough for a slow look (the agent starts in about 1 s).
IDLE_AFTER = 20
CHECK_EVERY = 5  # what the timer gets for 20 s (a twelfth, at least 5 s)
# A look at the machine that should power it off has happened by then, for sure.
LONG_ENOUGH = IDLE_AFTER + 3 * CHECK_EVERY
MINIMUM_ENV = "JUPYTER_BOOTSTRAP_STOP_WHEN_IDLE_MINIMUM"
HANDMADE = {
    "argv": [f"{JUPYTER_ENV}/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
    "display_name": "Hand made",
    "language": "python",
}


@dataclass
class Box:
    instance: SystemdInstance
    port: int
    tmp: Path
    figures: dict[str, float]  # measured, printed at the end of the module
    idle_since: float = 0.0  # what status said, as a time.time()

    def agent(
        self, *args: str, input: Optional[str] = None, code: Optional[int] = 0, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """`jupyter-bootstrap ARGS` as ubuntu in a login shell, `env` exported on top."""
        result = self.instance.run(
            shlex.join(["jupyter-bootstrap", *args]),
            user=USER,
            input=input,
            check=False,
            timeout=300,
            env={"JUPYTER_BOOTSTRAP_METADATA_URL": "off", **env},
        )
        if code is not None:
            assert result.returncode == code, f"{args}: {result.stdout}\n{result.stderr}"
        return result

    def root(self, cmd: str, check: bool = True) -> str:
        return self.instance.run(cmd, check=check).stdout.strip()

    def as_user(self, cmd: str, timeout: float = 300) -> str:
        return self.instance.run(
            cmd, user=USER, timeout=timeout, env={"PIP_CACHE_DIR": INSTANCE_PIP_CACHE}
        ).stdout.strip()

    def main_pid(self) -> int:
        return int(self.root(f"systemctl show -p MainPID --value {UNIT}") or 0)

    def cafile(self) -> str:
        path = self.tmp / f"cert-{uuid.uuid4().hex}.pem"
        path.write_text(self.instance.read_file(f"{HOME}/certs/mycert.pem"))
        return str(path)

    def session(self) -> tuple[requests.Session, str, str]:
        """A logged-in browser session: (session, _xsrf, cafile)."""
        cafile = self.cafile()
        status, session, xsrf = login(self.port, PASSWORD, cafile)
        assert status == 302
        return session, xsrf, cafile

    def api(self, session: requests.Session, cafile: str, path: str) -> Any:
        answer = session.get(f"https://localhost:{self.port}{path}", verify=cafile, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def alive(self) -> bool:
        return self.root("echo up", check=False) == "up"

    def idle_log_since(self, since: float) -> str:
        return self.root(f"journalctl -u {IDLE_UNIT} -o cat --no-pager --since @{int(since)}")


@pytest.fixture(scope="module")
def box(
    systemd_instance_factory: Callable[[], SystemdInstance],
    agent_wheel: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Box]:
    instance = systemd_instance_factory()
    figures: dict[str, float] = {}
    try:
        prepare(instance, agent_wheel, JUPYTER_ENV)
        yield Box(instance, free_port(), tmp_path_factory.mktemp("day-two"), figures)
    finally:
        for what, value in figures.items():
            print(f"day two: {what}: {value:.1f} s")
        instance.shutdown()


# -- helpers: kernels as a browser drives them -------------------------------------------------


def start_kernel(box: Box, session: requests.Session, xsrf: str, cafile: str, name: str) -> str:
    started = session.post(
        f"https://localhost:{box.port}/api/kernels", json={"name": name},
        headers={"X-XSRFToken": xsrf}, verify=cafile, timeout=60,
    )  # fmt: skip
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def stop_kernel(box: Box, session: requests.Session, xsrf: str, cafile: str, kernel: str) -> None:
    session.delete(
        f"https://localhost:{box.port}/api/kernels/{kernel}", headers={"X-XSRFToken": xsrf},
        verify=cafile, timeout=60,
    )  # fmt: skip


def run_in_background(box: Box, session: requests.Session, cafile: str, kernel: str) -> None:
    """Start a cell that sleeps for ten minutes; return once the kernel says it is busy."""
    request = {
        "header": {"msg_id": uuid.uuid4().hex, "username": "e2e", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
        "content": {"code": "import time; time.sleep(600)", "silent": False,
                    "store_history": False, "user_expressions": {}, "allow_stdin": False,
                    "stop_on_error": True},
    }  # fmt: skip

    def busy(message: str) -> bool:
        data = json.loads(message)
        state = data["content"].get("execution_state") if data.get("msg_type") == "status" else None
        return state == "busy"

    url = f"wss://localhost:{box.port}/api/kernels/{kernel}/channels"
    websocket_exchange(url, session, cafile, json.dumps(request), busy)


@contextlib.contextmanager
def browser_tab(box: Box, session: requests.Session, cafile: str, kernel: str) -> Iterator[None]:
    """A websocket held open on a kernel, as an open notebook tab holds one."""
    import tornado.httpclient
    import tornado.websocket

    opened, close = threading.Event(), threading.Event()
    problems: list[BaseException] = []

    async def hold() -> None:
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        request = tornado.httpclient.HTTPRequest(
            f"wss://localhost:{box.port}/api/kernels/{kernel}/channels",
            headers={"Cookie": cookies},
            ssl_options=ssl.create_default_context(cafile=cafile),
        )
        connection = await tornado.websocket.websocket_connect(request)
        opened.set()
        while not close.is_set():
            await asyncio.sleep(0.2)  # the loop runs: the server's pings are answered
        connection.close()

    def thread() -> None:
        try:
            asyncio.run(hold())
        except BaseException as error:  # reported by the test, not lost in the thread
            problems.append(error)
            opened.set()

    holder = threading.Thread(target=thread, daemon=True)
    holder.start()
    assert opened.wait(30) and not problems, problems
    try:
        yield
    finally:
        close.set()
        holder.join(10)


@contextlib.contextmanager
def ssh_login(box: Box) -> Iterator[None]:
    """A login session as sshd records one: a utmp entry for pts/7 whose process lives."""
    pid = box.root("setsid sleep 3600 >/dev/null 2>&1 </dev/null & echo $!")
    record = (
        f"[7] [{int(pid):05d}] [ts/7] [{USER:<8}] [pts/7       ] [203.0.113.7         ] "
        "[203.0.113.7    ] [2026-12-02T09:00:00,000000+00:00]\n"
    )
    box.instance.run("utmpdump -r >> /run/utmp", input=record)
    assert "pts/7" in box.root("who"), "the login record did not take"
    try:
        yield
    finally:
        box.root(f"kill {pid}")  # `who` leaves out a record whose process is gone
        wait_until(lambda: "pts/7" not in box.root("who"), 30, "the login gone from `who`")


def stays_on_while(box: Box, reason: str) -> None:
    """Longer than the idle time and a few looks: the instance must still run, and the
    looks must say why."""
    since = time.time()
    time.sleep(LONG_ENOUGH)
    assert box.alive()
    log = box.idle_log_since(since)
    assert reason in log, log
    assert "powering the machine off" not in log, log


# -- environments as kernels ---------------------------------------------------------------------


def test_init_sets_up_kernels_and_culling(box: Box) -> None:
    result = box.agent(
        "init", "--prefix", JUPYTER_ENV, "--password-stdin", "--port", str(box.port),
        "--idle-kernel-timeout", "20s", input=PASSWORD + "\n",
    )  # fmt: skip
    states = step_states(result.stdout)
    assert (states["kernels"], states["autostop"], states["health"]) == ("changed", "ok", "ok")
    assert "jupyter-kernels.path" in step_lines(result.stdout)["kernels"]
    config = box.instance.read_file(CONFIG)
    assert "c.MappingKernelManager.cull_idle_timeout = 20\n" in config
    assert "c.MappingKernelManager.cull_busy = False\n" in config
    assert "c.IdentityProvider.token" not in config  # stopping when idle is off
    assert box.root("systemctl is-active jupyter-kernels.path") == "active"


def test_a_new_environment_is_a_kernel_within_seconds_without_a_restart(box: Box) -> None:
    pid = box.main_pid()
    session, xsrf, cafile = box.session()
    box.instance.write_file(f"{KERNELS}/handmade/kernel.json", json.dumps(HANDMADE), owner=USER)
    made = time.monotonic()
    box.as_user(f"mkdir -p {ENVS} && python3 -m venv {ENVS}/proj")
    box.as_user(
        f"{ENVS}/proj/bin/pip install -q --no-index --find-links {INSTANCE_WHEELHOUSE} ipykernel"
    )
    installed = time.monotonic()

    def listed() -> set[str]:
        return set(box.api(session, cafile, "/api/kernelspecs")["kernelspecs"])

    waited = wait_until(lambda: "env-proj" in listed(), 60, "env-proj in /api/kernelspecs")
    box.figures["environment made -> kernel listed"] = installed - made + waited
    box.figures["ipykernel installed -> kernel listed"] = waited
    spec = box.api(session, cafile, "/api/kernelspecs")["kernelspecs"]["env-proj"]["spec"]
    assert spec["display_name"] == "Python (proj)"
    kernel = start_kernel(box, session, xsrf, cafile, "env-proj")
    printed = execute(box.port, session, cafile, kernel, "import sys; print(sys.prefix)")
    assert printed == f"{ENVS}/proj"
    assert box.main_pid() == pid  # listed and running with no restart
    stop_kernel(box, session, xsrf, cafile, kernel)

    box.as_user(f"rm -rf {ENVS}/proj")
    gone = wait_until(lambda: "env-proj" not in listed(), 60, "env-proj gone")
    box.figures["environment removed -> kernel gone"] = gone
    assert "handmade" in listed()  # never ours to remove
    assert json.loads(box.instance.read_file(f"{KERNELS}/handmade/kernel.json")) == HANDMADE
    assert box.main_pid() == pid


def test_an_environment_without_ipykernel_gets_the_command_that_adds_it(box: Box) -> None:
    box.as_user(f"python3 -m venv {ENVS}/bare")
    text = " ".join(box.agent("kernels", "sync").stdout.split())
    assert f"Add it: {ENVS}/bare/bin/python -m pip install ipykernel" in text
    box.as_user(f"rm -rf {ENVS}/bare")


def test_an_idle_kernel_is_culled_and_a_busy_one_is_not(box: Box) -> None:
    session, xsrf, cafile = box.session()
    idle = start_kernel(box, session, xsrf, cafile, "python3")
    busy = start_kernel(box, session, xsrf, cafile, "python3")
    run_in_background(box, session, cafile, busy)
    busy_since = time.monotonic()

    def running() -> dict[str, str]:
        kernels = box.api(session, cafile, "/api/kernels")
        return {k["id"]: k["execution_state"] for k in kernels}

    box.figures["idle kernel culled after"] = wait_until(
        lambda: idle not in running(), 120, "the idle kernel culled"
    )
    # Well past its timeout and a few culler rounds, the busy one still runs its cell.
    time.sleep(max(0.0, 20 + 3 * 5 - (time.monotonic() - busy_since)))
    assert running().get(busy) == "busy"
    stop_kernel(box, session, xsrf, cafile, busy)


# -- stopping when idle ---------------------------------------------------------------------------


def test_bad_idle_times_are_refused_before_anything_changes(box: Box) -> None:
    config = box.instance.read_file(CONFIG)
    for value, says in (
        ("0", "would power the machine off the moment it is idle"),
        ("-5m", "'-5m' is not a duration"),
        ("abc", "'abc' is not a duration"),
        ("5m", "is shorter than the minimum of 10m"),
        ("3", "'3' has no unit: write e.g. 3m or 3h"),
    ):
        result = box.agent("init", f"--stop-when-idle={value}", code=2)
        assert says in " ".join(result.stderr.split()), result.stderr
        assert "Traceback" not in result.stderr
    assert box.instance.read_file(CONFIG) == config
    assert box.root(f"test -e /etc/systemd/system/{IDLE_TIMER} || echo none") == "none"


def test_stop_when_idle_is_set_up_with_a_warning(box: Box) -> None:
    # From here on every command of the user's sees the lowered minimum (a test's knob).
    box.root(f"echo {MINIMUM_ENV}={IDLE_AFTER}s >> /etc/environment")
    pid = box.main_pid()
    result = box.agent("init", "--stop-when-idle", f"{IDLE_AFTER}s", "--idle-kernel-timeout", "off")
    states = step_states(result.stdout)
    assert (states["config"], states["autostop"]) == ("changed", "changed"), result.stdout
    flat = " ".join((result.stdout + result.stderr).split())
    assert "On EC2 a power-off stops the instance" in flat
    assert "--stop-when-idle off" in flat
    assert box.main_pid() != pid  # once, for the API token in the config
    assert box.root(f"systemctl is-active {IDLE_TIMER}") == "active"
    assert box.root(f"systemctl show -p User --value {IDLE_UNIT}") == USER
    info = " ".join(box.agent("info").stdout.split())
    assert "this machine powers itself off" in info and "Terminate is deleted" in info


def test_it_stays_on_while_someone_is_logged_in_a_kernel_is_busy_or_a_tab_is_open(
    box: Box,
) -> None:
    """Each reason alone, one after the other; the next is in place before the last goes,
    so that the machine is never idle for long in between."""
    session, xsrf, cafile = box.session()
    with ssh_login(box):
        stays_on_while(box, "logged in: ubuntu on pts/7 (from 203.0.113.7)")
        document = json.loads(box.agent("status", "--json").stdout)["stop_when_idle"]
        assert document["state"] == "in-use" and "pts/7" in document["reason"]
        busy = start_kernel(box, session, xsrf, cafile, "python3")
        run_in_background(box, session, cafile, busy)
    stays_on_while(box, "in use: 1 kernel busy")
    tab = start_kernel(box, session, xsrf, cafile, "python3")
    with browser_tab(box, session, cafile, tab):
        stop_kernel(box, session, xsrf, cafile, busy)
        stays_on_while(box, "in use: 1 browser connection open")
        stop_kernel(box, session, xsrf, cafile, tab)


def test_it_stays_on_when_jupyter_was_stopped_or_crashed(box: Box) -> None:
    box.root(f"systemctl stop {UNIT}")
    stays_on_while(box, "Jupyter is not running (jupyter.service is inactive (dead))")
    assert "a server stopped by hand or one that crashed is not idle" in box.idle_log_since(0)
    # A crash that systemd does not repair (Restart=no for the test): the server stays down.
    box.instance.write_file(f"/etc/systemd/system/{UNIT}.d/crash.conf", "[Service]\nRestart=no\n")
    box.root(f"systemctl daemon-reload && systemctl start {UNIT}")
    wait_for_https(box.port, box.cafile(), 60)
    box.root(f"kill -9 {box.main_pid()}")
    wait_until(lambda: box.root(f"systemctl is-failed {UNIT}", check=False) == "failed", 30,
               "jupyter failed")  # fmt: skip
    stays_on_while(box, "Jupyter is not running (jupyter.service is failed (failed))")
    box.root(f"rm -r /etc/systemd/system/{UNIT}.d && systemctl daemon-reload")
    box.root(f"systemctl reset-failed {UNIT} && systemctl start {UNIT}")
    wait_for_https(box.port, box.cafile(), 60)


def test_status_shows_the_idle_time_and_when_it_fires(box: Box) -> None:
    # The timer held still meanwhile, so that the machine waits for the reading.
    box.root(f"systemctl stop {IDLE_TIMER}")
    time.sleep(2)
    document = json.loads(box.agent("status", "--json", code=3).stdout)["stop_when_idle"]
    assert (document["enabled"], document["after_seconds"], document["state"]) == (
        True, IDLE_AFTER, "idle")  # fmt: skip
    assert document["idle_seconds"] >= 2
    since, due = (parse_time(document[key]) for key in ("idle_since", "fires_at"))
    assert (due - since).total_seconds() == IDLE_AFTER
    assert "idle for" in document["reason"] and "powers off at" in document["reason"]
    box.idle_since = since.timestamp()
    text = " ".join(box.agent("status", code=3).stdout.split())
    assert "Idle stop: idle for" in text and "unless it is used before" in text
    box.root(f"systemctl start {IDLE_TIMER}")


def test_idle_long_enough_it_powers_itself_off_and_comes_back_on(box: Box) -> None:
    assert box.instance.powered_off_by_itself(IDLE_AFTER + CHECK_EVERY + 60), "still on"
    box.figures["idle since -> powered off (idle time 20 s)"] = time.time() - box.idle_since
    box.instance.power_off()  # tidy up what is left of it on the host
    box.instance.boot()
    # Its user logs in after starting it again; the idle time starts again at boot.
    with ssh_login(box):
        wait_for_https(box.port, box.cafile(), 60)
        document = json.loads(box.agent("status", "--json").stdout)["stop_when_idle"]
        assert document["state"] == "in-use"
        pid = box.main_pid()
        result = box.agent("init", "--stop-when-idle", "off")
        assert step_states(result.stdout)["autostop"] == "changed", result.stdout
        assert box.root(f"test -e /etc/systemd/system/{IDLE_TIMER} || echo none") == "none"
        assert "c.IdentityProvider.token" not in box.instance.read_file(CONFIG)
        assert box.main_pid() != pid  # the token went: Jupyter restarted once
