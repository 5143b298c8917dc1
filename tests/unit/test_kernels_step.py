"""Kernels for environments against stand-in systemd: init makes a kernelspec for each
environment with ipykernel and installs the watcher of new ones; `kernels sync` keeps them
in step; kernelspecs the user made are never touched; nothing restarts Jupyter. (Real
systemd, a real Jupyter and a new environment appearing by itself: tests/e2e.)"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from jupyter_bootstrap.service import kernel_units, systemctl
from jupyter_bootstrap.service.agent_run import AgentRun
from tests.support.cli import flat, init_on_port, invoke
from tests.support.environments import make_env
from tests.support.fake_systemd import FakeSystemd
from tests.support.report import step_lines, step_states
from tests.unit.test_unit_template import systemd_analyze_verify

PATH_UNIT, SYNC_UNIT = "jupyter-kernels.path", "jupyter-kernels.service"
YOURS = {"argv": ["/opt/other/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "My own", "language": "python"}  # fmt: skip


def spec(home: Path, name: str) -> dict[str, object]:
    path = home / ".local/share/jupyter/kernels" / name / "kernel.json"
    return dict(json.loads(path.read_text()))


def kernel_names(home: Path) -> set[str]:
    folder = home / ".local/share/jupyter/kernels"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


@pytest.fixture
def envs(tmp_path: Path) -> Path:
    folder = tmp_path / "envs"
    folder.mkdir()
    make_env(folder, "proj")
    make_env(folder, "scratch", ipykernel=False)
    make_env(folder, "tools", conda=False)
    return folder


@pytest.fixture
def set_up(fake: FakeSystemd, jupyter_prefix: Path, port: int, envs: Path) -> str:
    return init_on_port(jupyter_prefix, port, "--env-dir", str(envs))


def test_init_makes_a_kernel_for_each_environment_with_ipykernel(
    set_up: str, fake: FakeSystemd, home: Path, envs: Path, jupyter_prefix: Path
) -> None:
    assert step_states(set_up)["kernels"] == "changed", set_up
    assert "no restart" in step_lines(set_up)["kernels"]
    assert kernel_names(home) == {"env-proj", "env-tools"}
    proj = spec(home, "env-proj")
    assert proj["argv"] == [f"{envs}/proj/bin/python", "-m", "ipykernel_launcher", "-f",
                            "{connection_file}"]  # fmt: skip
    assert proj["display_name"] == "Python (proj)"
    assert proj["env"] == {"PATH": f"{envs}/proj/bin:${{PATH}}", "CONDA_PREFIX": f"{envs}/proj",
                           "CONDA_DEFAULT_ENV": "proj"}  # fmt: skip
    mark = {"environment": f"{envs}/proj"}
    assert proj["metadata"] == {"debugger": True, "jupyter_bootstrap": mark}
    assert spec(home, "env-tools")["env"] == {"PATH": f"{envs}/tools/bin:${{PATH}}"}  # a venv
    path_unit = (fake.unit_dir / PATH_UNIT).read_text()
    assert f"PathChanged={jupyter_prefix}/envs\nPathChanged={envs}\n" in path_unit
    assert f"Unit={SYNC_UNIT}" in path_unit
    sync = (fake.unit_dir / SYNC_UNIT).read_text()
    program = f'"{sys.executable}" "-m" "jupyter_bootstrap"'
    assert f'ExecStart={program} "kernels" "sync" "--wait"' in sync
    assert "User=" in sync and "[Install]" not in sync  # started by the path unit alone
    assert fake.changes(PATH_UNIT) == [["enable", "--quiet", PATH_UNIT], ["start", PATH_UNIT]]
    systemctl.forget()
    assert not systemctl.state(PATH_UNIT).need_daemon_reload
    # Jupyter was started once, by the service step, and never restarted for kernels.
    assert [c[0] for c in fake.changes()] == ["enable", "start"]


def test_a_second_init_changes_nothing(
    set_up: str, fake: FakeSystemd, jupyter_prefix: Path, port: int, home: Path
) -> None:
    before = (home / ".local/share/jupyter/kernels/env-proj/kernel.json").stat().st_mtime_ns
    fake.clear_calls()
    output = init_on_port(jupyter_prefix, port)
    assert step_states(output)["kernels"] == "ok", output
    assert "kernels for proj, tools" in flat(output)
    assert "without ipykernel: scratch" in flat(output)
    assert fake.changes(None) == []
    after = (home / ".local/share/jupyter/kernels/env-proj/kernel.json").stat().st_mtime_ns
    assert after == before


def test_sync_follows_the_environments_and_never_touches_yours(
    set_up: str, fake: FakeSystemd, home: Path, envs: Path
) -> None:
    kernels = home / ".local/share/jupyter/kernels"
    (kernels / "mine").mkdir()
    (kernels / "mine" / "kernel.json").write_text(json.dumps(YOURS))
    # A kernelspec of yours for an environment: it is the one, none of ours is added.
    served = make_env(envs, "served")
    yours_for_served = dict(YOURS, argv=[f"{served}/bin/python", "-m", "ipykernel_launcher"])
    (kernels / "served-by-me").mkdir()
    (kernels / "served-by-me" / "kernel.json").write_text(json.dumps(yours_for_served))
    shutil.rmtree(envs / "proj")
    make_env(envs, "new")
    fake.clear_calls()
    result = invoke("kernels", "sync")
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert f"new added Python (new), {envs}/new" in text
    assert "proj removed the kernel env-proj" in text
    assert "served ok your own kernelspec served-by-me runs it" in text
    scratch = envs / "scratch"
    conda_hint = f"Add it: conda install -y -p {scratch} ipykernel ; then run"
    assert conda_hint in text
    assert "without a restart" in text
    assert kernel_names(home) == {"env-new", "env-tools", "mine", "served-by-me"}
    assert json.loads((kernels / "mine" / "kernel.json").read_text()) == YOURS
    assert fake.changes(None) == []  # no unit touched, Jupyter not restarted


def test_a_venv_without_ipykernel_gets_the_pip_command(set_up: str, envs: Path, home: Path) -> None:
    make_env(envs, "plain", ipykernel=False, conda=False)
    result = invoke("kernels", "sync")
    hint = f"Add it: {envs}/plain/bin/python -m pip install ipykernel ; then run"
    assert hint in flat(result.output)


def test_a_name_taken_by_yours_gets_another(set_up: str, envs: Path, home: Path) -> None:
    kernels = home / ".local/share/jupyter/kernels"
    (kernels / "env-other").mkdir()
    (kernels / "env-other" / "kernel.json").write_text(json.dumps(YOURS))
    make_env(envs, "other")
    assert invoke("kernels", "sync").exit_code == 0
    assert spec(home, "env-other-2")["display_name"] == "Python (other)"
    assert json.loads((kernels / "env-other" / "kernel.json").read_text()) == YOURS


def test_a_new_environment_is_drift_until_synced(
    set_up: str, envs: Path, fake: FakeSystemd
) -> None:
    make_env(envs, "later")
    status = invoke("status")
    assert status.exit_code == 3
    assert "no kernel yet for later" in flat(status.output)


def test_no_env_kernels_removes_ours_and_keeps_yours(
    set_up: str, fake: FakeSystemd, jupyter_prefix: Path, port: int, home: Path
) -> None:
    kernels = home / ".local/share/jupyter/kernels"
    (kernels / "mine").mkdir()
    (kernels / "mine" / "kernel.json").write_text(json.dumps(YOURS))
    fake.clear_calls()
    output = init_on_port(jupyter_prefix, port, "--no-env-kernels")
    assert step_states(output)["kernels"] == "changed"
    assert kernel_names(home) == {"mine"}
    assert not (fake.unit_dir / PATH_UNIT).exists() and not (fake.unit_dir / SYNC_UNIT).exists()
    assert ["stop", PATH_UNIT] in fake.changes(PATH_UNIT)
    assert fake.changes() == []  # Jupyter untouched
    again = init_on_port(jupyter_prefix, port)
    assert "off (--env-kernels turns them on)" in flat(again)


def test_no_service_writes_kernels_and_says_to_sync_by_hand(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, envs: Path, home: Path
) -> None:
    output = init_on_port(jupyter_prefix, port, "--no-service", "--env-dir", str(envs))
    assert kernel_names(home) == {"env-proj", "env-tools"}
    assert "run `jupyter-bootstrap kernels sync`" in flat(output)
    assert fake.calls() == []


def test_uninstall_removes_our_kernels_and_the_watcher(
    set_up: str, fake: FakeSystemd, home: Path, envs: Path
) -> None:
    kernels = home / ".local/share/jupyter/kernels"
    (kernels / "mine").mkdir()
    (kernels / "mine" / "kernel.json").write_text(json.dumps(YOURS))
    result = invoke("uninstall", "--yes")
    assert result.exit_code == 0, result.output
    assert kernel_names(home) == {"mine"}
    assert not (fake.unit_dir / PATH_UNIT).exists() and not (fake.unit_dir / SYNC_UNIT).exists()
    assert (envs / "proj" / "bin" / "python").exists()  # the environments stay
    assert "removed 2 kernel(s) of ours; the environments stay" in flat(result.output)


def test_an_env_dir_that_is_not_a_folder_is_refused(
    fake: FakeSystemd, jupyter_prefix: Path, port: int, tmp_path: Path
) -> None:
    output = init_on_port(jupyter_prefix, port, "--env-dir", str(tmp_path / "nope"), code=2)
    assert f"--env-dir {tmp_path / 'nope'} is not a folder" in flat(output)
    assert fake.calls() == []


def test_systemd_analyze_verify_accepts_both_units(tmp_path: Path) -> None:
    run = AgentRun(
        "root", "root", tmp_path, sys.executable, ("JUPYTER_BOOTSTRAP_METADATA_URL=off",)
    )
    values = kernel_units.KernelUnitValues(
        service_name="jupyter",
        run=run,
        watched=(tmp_path / "anaconda3" / "envs", tmp_path / "my envs 100%"),
    )
    folder = tmp_path / "units"
    folder.mkdir()
    (folder / SYNC_UNIT).write_text(kernel_units.render_service(values))
    (folder / PATH_UNIT).write_text(kernel_units.render_path(values))
    for name in (SYNC_UNIT, PATH_UNIT):
        result = systemd_analyze_verify(folder / name)
        complaints = [line for line in result.stderr.splitlines() if "kernels" in line]
        assert result.returncode == 0 and not complaints, result.stderr
    assert f"PathChanged={tmp_path}/my envs 100%%" in (folder / PATH_UNIT).read_text()
