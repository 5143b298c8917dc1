"""The unit template: what it says, that systemd's own verifier accepts it, and that no
value can break out of its line. (tests/e2e checks what a running systemd makes of it.)"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_bootstrap.service import unit as units
from jupyter_bootstrap.service.unit import UnitValues
from tests.support.require import skip_or_fail

JUPYTER = Path(sys.prefix) / "bin" / "jupyter"


def values(tmp_path: Path, **changes: object) -> UnitValues:
    notebooks = tmp_path / "Notebooks"
    notebooks.mkdir(exist_ok=True)
    fields: dict[str, object] = {
        "user": pwd.getpwuid(os.getuid()).pw_name,
        "group": units.group_name(os.getgid()),
        "notebook_dir": notebooks,
        "jupyter_bin": JUPYTER,
        "app": "notebook",
        "config_file": tmp_path / ".jupyter" / "jupyter_server_config.py",
    }
    fields.update(changes)
    return UnitValues(**fields)  # type: ignore[arg-type]


def directives(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            found[key] = value
    return found


def test_the_unit_runs_jupyter_hardened_as_the_user_at_boot(tmp_path: Path) -> None:
    text = units.render(values(tmp_path))
    assert text.splitlines()[0] == units.MARKER
    assert units.is_ours(text)
    unit = directives(text)
    assert unit["Description"].endswith("set up by jupyter-bootstrap")
    assert unit["After"] == unit["Wants"] == "network-online.target"
    assert unit["Type"] == "simple"
    assert unit["User"] == pwd.getpwuid(os.getuid()).pw_name
    assert unit["WorkingDirectory"] == str(tmp_path / "Notebooks")
    assert unit["Environment"] == f'"PATH={JUPYTER.parent}:/usr/local/bin:/usr/bin:/bin"'
    config = tmp_path / ".jupyter" / "jupyter_server_config.py"
    assert unit["ExecStart"] == f'"{JUPYTER}" "notebook" "--config={config}"'
    assert unit["Restart"] == "on-failure"
    assert int(unit["RestartSec"]) <= 5  # back well within 10 s after a kill -9
    for hardening in ("NoNewPrivileges", "PrivateTmp"):
        assert unit[hardening] == "yes"
    assert unit["ProtectSystem"] == "full"
    assert unit["WantedBy"] == "multi-user.target"
    assert text.isascii()
    # Our own words stay within 100 columns (paths make value lines as long as they are).
    assert all(len(line) < 100 for line in text.splitlines() if line.startswith("#"))


def test_lab_runs_jupyter_lab(tmp_path: Path) -> None:
    text = units.render(values(tmp_path, app="lab"))
    assert directives(text)["ExecStart"].startswith(f'"{JUPYTER}" "lab" ')
    assert "JupyterLab" in directives(text)["Description"]


def test_rendering_is_byte_identical(tmp_path: Path) -> None:
    assert units.render(values(tmp_path)) == units.render(values(tmp_path))


def test_a_unit_without_the_marker_is_not_ours() -> None:
    assert not units.is_ours("[Service]\nExecStart=/usr/bin/jupyter notebook\n")
    assert not units.is_ours("")


@pytest.mark.parametrize(
    "field, value",
    [
        ("notebook_dir", Path("/home/u/x\nExecStartPre=/bin/sh -c evil")),
        ("config_file", Path("/home/u/c.py\nUser=root")),
        ("jupyter_bin", Path("/opt/x\n/bin/jupyter")),
        ("user", "ubuntu\nUser=root"),
    ],
)
def test_a_newline_cannot_add_a_directive(tmp_path: Path, field: str, value: object) -> None:
    with pytest.raises(ValueError, match="control characters"):
        units.render(values(tmp_path, **{field: value}))


@pytest.mark.parametrize("bad", ['/opt/"q"/bin/jupyter', "/opt/a\\b/bin/jupyter", "/opt/$x/j"])
def test_a_program_path_systemd_cannot_run_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="systemd cannot run a program"):
        units.render(values(tmp_path, jupyter_bin=Path(bad)))


def test_specifiers_and_quotes_are_escaped(tmp_path: Path) -> None:
    text = units.render(
        values(
            tmp_path,
            notebook_dir=Path("/srv/100% notes"),
            jupyter_bin=Path("/opt/conda 50%/bin/jupyter"),
            config_file=Path('/etc/j "c" $x \\y %n.py'),
        )
    )
    unit = directives(text)
    assert unit["WorkingDirectory"] == "/srv/100%% notes"
    assert unit["Environment"] == '"PATH=/opt/conda 50%%/bin:/usr/local/bin:/usr/bin:/bin"'
    assert unit["ExecStart"] == (
        '"/opt/conda 50%%/bin/jupyter" "notebook" "--config=/etc/j \\"c\\" $$x \\\\y %%n.py"'
    )


def systemd_analyze_verify(unit: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        skip_or_fail("systemd-analyze is not installed (apt-get install systemd)")
    return subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


def assert_verified(tmp_path: Path, text: str) -> None:
    unit = tmp_path / "units" / "jupyter.service"
    unit.parent.mkdir(exist_ok=True)
    unit.write_text(text)
    result = systemd_analyze_verify(unit)
    # Unknown keys and bad values are only warnings for systemd: any line about our file
    # is a failure too.
    complaints = [line for line in result.stderr.splitlines() if "jupyter.service" in line]
    assert result.returncode == 0 and not complaints, result.stderr


def test_systemd_analyze_verify_accepts_the_rendered_unit(tmp_path: Path) -> None:
    assert_verified(tmp_path, units.render(values(tmp_path)))


def test_systemd_analyze_verify_accepts_awkward_paths(tmp_path: Path) -> None:
    """Spaces and % in the prefix, quotes, $ and backslashes in the other paths."""
    prefix = tmp_path / "my conda 100%"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "jupyter").symlink_to(JUPYTER)
    notebooks = tmp_path / 'notes "$HOME" 50% \\x'
    notebooks.mkdir()
    text = units.render(
        values(
            tmp_path,
            jupyter_bin=prefix / "bin" / "jupyter",
            notebook_dir=notebooks,
            config_file=tmp_path / 'conf "q" $x %n.py',
        )
    )
    assert_verified(tmp_path, text)
