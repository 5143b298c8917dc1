"""The figures that need a real systemd machine (issue 12, targets 2, 5 and 6), measured in
an instance booted for this run (tests/e2e/instance.py: Debian with systemd as PID 1, the
host's network, so its Jupyter is on 127.0.0.1). Booting one needs root and debootstrap:
without them this returns a section that says so, and nothing else.

Every time is taken inside the instance, in the login user's shell, around the command
alone (bash's EPOCHREALTIME), so entering the instance costs neither side anything.

- install (6): `curl URL/install.sh | bash` then `jupyter-bootstrap --version`, against
  `python3 -m venv` + `pip install WHEEL_URL` + `--version` by hand. Both install from one
  loopback server and one wheelhouse (offline: PIP_NO_INDEX), so the network is no part of
  either figure and what is compared is what install.sh adds;
- first init (5): `init` with a Jupyter environment present, from a clean home to a
  healthy server, against the server's own cold start (`systemctl start` to /api answering);
- no-op init and status (2): on the converged instance, against benchmarks/noop_floor.py;
  beside them, what `import click` alone adds to that floor, and status against the floor
  with it (noop_floor.py --with-click).
"""

from __future__ import annotations

import functools
import shlex
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

from tests.e2e.instance import SystemdInstance, base_tarball, missing_prerequisites
from tests.support.install_agent import build_wheel, install_env, serve_installer
from tests.support.net import free_port

from benchmarks.figures import Figure, Section, seconds, times
from benchmarks.pairing import MIN_RUNS, Paired, paired

USER = "ubuntu"
HOME = f"/home/{USER}"
JUPYTER_ENV = f"{HOME}/jupyter-env"
# Filled once with the agent's dependencies; both install figures install from it offline.
WHEELHOUSE = "/var/cache/jb-bench-wheels"
PASSWORD = "benchmark correct horse"
FLOOR_SCRIPT = Path(__file__).with_name("noop_floor.py")
AGENT_PYTHON = f"{HOME}/.local/share/jupyter-bootstrap/venv/bin/python"
# What makes a home look as before the first `init` (the Jupyter environment stays: the
# figure is "first init with conda present").
FIRST_INIT_RESET = (
    "jupyter-bootstrap uninstall --yes --purge >/dev/null 2>&1; "
    "rm -rf ~/.config/jupyter-bootstrap ~/.local/state/jupyter-bootstrap ~/certs ~/.jupyter "
    "~/Notebooks"
)


class Timer:
    """Runs a command in the instance and returns how long it took inside."""

    def __init__(self, instance: SystemdInstance, env: Optional[Mapping[str, str]] = None):
        self.instance = instance
        self.env = dict(env or {})

    def __call__(self, command: str, user: str = USER, before: str = "") -> float:
        """Seconds `command` took, in a login shell of `user` (root: a plain bash). `before`
        runs first, untimed. A failing command stops the benchmark with its output."""
        script = (
            f"{before}\n"
            "out=$(mktemp)\n"
            f'start=$EPOCHREALTIME\n({command}) >"$out" 2>&1 || {{ cat "$out"; exit 99; }}\n'
            'end=$EPOCHREALTIME\nrm -f "$out"\necho "ELAPSED $start $end"\n'
        )
        result = self.instance.run(
            script if user == "root" else ["bash", "-c", script],
            user=user,
            env=self.env,
            check=False,
            timeout=900,
        )
        line = next((x for x in result.stdout.splitlines() if x.startswith("ELAPSED ")), None)
        if result.returncode != 0 or line is None:
            raise RuntimeError(f"{command!r} failed in the instance:\n{result.stdout}")
        _, start, end = line.split()
        return float(end) - float(start)


def measure(runs: int = MIN_RUNS) -> Section:
    section = Section("On a real systemd instance (targets 2, 5, 6)")
    reasons = missing_prerequisites()
    if reasons:
        section.skipped = "; ".join(reasons) + " (run benchmarks/run_all as root for these)"
        return section
    with tempfile.TemporaryDirectory(prefix="jb-bench-wheel-") as tmp:
        wheel = build_wheel(Path(tmp))
        tarball = base_tarball()
        with SystemdInstance(tarball=tarball) as instance:
            _prepare(instance, wheel)
            port = free_port()
            section.figures.append(_install(instance, wheel, runs))
            section.figures.append(_first_init(instance, port, runs))
            section.figures.extend(_noop(instance, runs))
            section.details = _click_share(instance, runs) + _timings_sample(instance)
            section.details.insert(0, "systemd in the instance: " + _systemd_version(instance))
    return section


def _prepare(instance: SystemdInstance, wheel: Path) -> None:
    """No metadata lookups, a Jupyter environment, and a wheelhouse holding the agent's
    dependencies for the instance's Python."""
    instance.run("echo JUPYTER_BOOTSTRAP_METADATA_URL=off >> /etc/environment")
    instance.ensure_venv_support()
    instance.make_venv(JUPYTER_ENV, ["notebook"])
    instance.run(f"mkdir -p {WHEELHOUSE} && chown {USER}: {WHEELHOUSE}")
    instance.copy_in(wheel, f"{HOME}/{wheel.name}", owner=USER)
    download = [f"{JUPYTER_ENV}/bin/python", "-m", "pip", "download", "-q", "-d", WHEELHOUSE]
    instance.run(
        shlex.join([*download, f"{HOME}/{wheel.name}"]), user=USER, env=install_env(), timeout=900
    )
    instance.copy_in(FLOOR_SCRIPT, f"{HOME}/noop_floor.py", owner=USER)


def _offline_pip() -> dict[str, str]:
    return {**install_env(), "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": WHEELHOUSE}


def _install(instance: SystemdInstance, wheel: Path, runs: int) -> Figure:
    timer = Timer(instance, _offline_pip())
    with serve_installer(wheel) as served:
        by_script = served.pipe_command(then="jupyter-bootstrap --version")
        uninstall = f"curl -fsSL {shlex.quote(served.script_url)} | bash -s -- --uninstall"
        by_hand = (
            "python3 -m venv ~/by-hand && "
            f"~/by-hand/bin/python -m pip install -q {shlex.quote(served.wheel_url)} && "
            "~/by-hand/bin/jupyter-bootstrap --version"
        )
        result = paired(
            lambda: timer(by_script, before=f"{uninstall} >/dev/null 2>&1"),
            lambda: timer(by_hand, before="rm -rf ~/by-hand"),
            runs,
        )
        # Leave the agent installed the way a user has it, for the figures that follow.
        timer(by_script, before=f"{uninstall} >/dev/null 2>&1")
    return Figure(
        "6",
        "`curl .../install.sh | bash` to a working `jupyter-bootstrap --version`",
        seconds(result.a_median),
        "`python3 -m venv` + `pip install` of the same wheel + `--version`, by hand",
        seconds(result.b_median),
        times(result.ratio),
        "<= 1.3x",
        result.ratio <= 1.3,
        _note(result),
    )


def _first_init(instance: SystemdInstance, port: int, runs: int) -> Figure:
    timer = Timer(instance)
    init = (
        f"echo {shlex.quote(PASSWORD)} | jupyter-bootstrap init --prefix {JUPYTER_ENV} "
        f"--password-stdin --port {port}"
    )
    cold_start = (
        "systemctl start jupyter.service && "
        f"until curl -sk --max-time 2 -o /dev/null https://127.0.0.1:{port}/api; "
        "do sleep 0.02; done"
    )
    result = paired(
        lambda: timer(init, before=FIRST_INIT_RESET),
        lambda: timer(cold_start, user="root", before="systemctl stop jupyter.service"),
        runs,
    )
    extra = result.difference
    return Figure(
        "5",
        "first `init` with a Jupyter environment present, to a healthy server",
        seconds(result.a_median),
        "the server's own cold start (`systemctl start` to /api answering)",
        seconds(result.b_median),
        f"+{extra:.2f} s",
        "<= cold start + 1.5 s",
        extra <= 1.5,
        _note(result),
    )


def _noop(instance: SystemdInstance, runs: int) -> list[Figure]:
    timer = Timer(instance)
    floor = f"{AGENT_PYTHON} ~/noop_floor.py"
    figures = []
    for command in ("status", "init"):
        ours = functools.partial(timer, f"jupyter-bootstrap {command}")
        result = paired(ours, functools.partial(timer, floor), runs)
        figures.append(
            Figure(
                "2",
                f"no-op `jupyter-bootstrap {command}` on the converged instance",
                seconds(result.a_median),
                "floor: Python start, settings read, one `systemctl show`, one TLS handshake "
                "and one HTTP request (benchmarks/noop_floor.py)",
                seconds(result.b_median),
                times(result.ratio),
                "<= 2.0x",
                result.ratio <= 2.0,
                _note(result),
            )
        )
    return figures


def _click_share(instance: SystemdInstance, runs: int) -> list[str]:
    """What the command-line library alone adds to the floor, and the no-op `status` and
    `init` against the floor with it: the part of target 2's gap that is the agent's own
    code."""
    timer = Timer(instance)
    floor = functools.partial(timer, f"{AGENT_PYTHON} ~/noop_floor.py")
    with_click = functools.partial(timer, f"{AGENT_PYTHON} ~/noop_floor.py --with-click")
    click_alone = paired(with_click, floor, runs)
    lines = [
        "What `import click` alone adds to the floor: the floor with it "
        f"{seconds(click_alone.a_median)} against {seconds(click_alone.b_median)}, "
        f"{times(click_alone.ratio)} ({_note(click_alone)}).",
        "",
    ]
    for command in ("status", "init"):
        ours = functools.partial(timer, f"jupyter-bootstrap {command}")
        result = paired(ours, with_click, runs)
        lines += [
            f"No-op `jupyter-bootstrap {command}` against that floor with `import click` "
            f"(benchmarks/noop_floor.py --with-click): {seconds(result.a_median)} against "
            f"{seconds(result.b_median)}, {times(result.ratio)} ({_note(result)}).",
            "",
        ]
    return lines


def _timings_sample(instance: SystemdInstance) -> list[str]:
    """One `status --timings` on the converged instance: where a no-op's time goes."""
    out = instance.run("jupyter-bootstrap status --timings", user=USER, check=False).stdout
    lines = out.rstrip().splitlines()
    return ["`jupyter-bootstrap status --timings` there, once:", "", "```text", *lines, "```"]


def _systemd_version(instance: SystemdInstance) -> str:
    return instance.run("systemctl --version").stdout.splitlines()[0]


def _note(result: Paired) -> str:
    return f"{len(result.a)} pairs; min-max {result.spread}"
