"""Facts kept in two places must agree: install.sh's supported systems and the host step's
(the installer refuses what `init` would accept, or the other way round), and the step
names `--skip` offers and the steps `init` runs."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from jupyter_bootstrap.steps import STEP_NAMES, host, init_steps

SCRIPT = Path(__file__).resolve().parents[2] / "install.sh"

# Systems neither side supports, asked about too: a table that gains one is seen.
OTHER_SYSTEMS = {"fedora": ["40"], "amzn": ["2023"], "centos": ["9"], "linuxmint": ["21.3"]}
OTHER_ARCHES = ("armv7l", "i686", "ppc64le", "s390x", "riscv64", "arm64", "amd64")


def function_body(name: str) -> str:
    """The text of the shell function `name() { ... }` in install.sh."""
    match = re.search(rf"^{name}\(\) {{\n(.*?)^}}$", SCRIPT.read_text(), re.M | re.S)
    assert match, f"install.sh has no function {name}(): update this test to its new shape"
    return match.group(1)


def install_sh_minimum_versions() -> dict[str, tuple[int, ...]]:
    """check_os's table: `ubuntu) version_ge "$os_version" 20.04 && return 0 ;;` lines."""
    rows = re.findall(
        r'^\s*([a-z]+)\) version_ge "\$os_version" ([0-9.]+) && return 0 ;;$',
        function_body("check_os"),
        re.M,
    )
    assert rows, "check_os in install.sh has no version table this test can read"
    return {os_id: tuple(int(part) for part in version.split(".")) for os_id, version in rows}


def install_sh_arches() -> set[str]:
    """check_arch's accepted patterns: `x86_64 | aarch64) ;;`."""
    rows = re.findall(r"^\s*([\w| ]+)\) ;;$", function_body("check_arch"), re.M)
    assert len(rows) == 1, "check_arch in install.sh has no single accepted-arch line"
    return {arch.strip() for arch in rows[0].split("|")}


def run_install_sh(call: str, **env: str) -> subprocess.CompletedProcess[str]:
    """install.sh's functions defined (everything but its last line, which runs main), then
    `call` run in that shell."""
    body, last = SCRIPT.read_text().rstrip("\n").rsplit("\n", 1)
    assert last == 'main "$@"'
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_BOOTSTRAP_")}
    return subprocess.run(
        ["bash", "-c", f"{body}\nsetup_output\n{call}\n", "install.sh"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def version_id(version: tuple[int, int], two_parts: bool) -> str:
    """As os-release writes it: 20.04 for Ubuntu, 11 for Debian."""
    major, minor = version
    if two_parts:
        return f"{major}.{minor:02d}"
    return f"{major}.{minor}" if minor else str(major)


def around(minimum: tuple[int, ...]) -> list[str]:
    """VERSION_IDs at and on either side of a minimum version."""
    major, minor = minimum[0], minimum[1] if len(minimum) > 1 else 0
    versions = {(major - 1, minor), (major, minor), (major, minor + 1), (major + 1, 0)}
    if minor:
        versions.add((major, minor - 1))
    return [version_id(v, len(minimum) > 1) for v in sorted(versions)]


def test_install_sh_supports_the_systems_the_host_step_supports(tmp_path: Path) -> None:
    script_table = install_sh_minimum_versions()
    assert script_table == host.MINIMUM_VERSIONS
    # And the shell code does what its table says, at every edge, as host.supported does.
    probes = {os_id: around(minimum) for os_id, minimum in script_table.items()}
    probes.update(OTHER_SYSTEMS)
    os_release = tmp_path / "os-release"
    disagree = []
    for os_id, versions in probes.items():
        for version in versions:
            os_release.write_text(f'ID={os_id}\nVERSION_ID="{version}"\n')
            result = run_install_sh("check_os", JUPYTER_BOOTSTRAP_OS_RELEASE=str(os_release))
            assert result.returncode in (0, 1), result.stderr
            if (result.returncode == 0) != host.supported(os_id, version):
                disagree.append(f"{os_id} {version}: install.sh exit {result.returncode}")
    assert disagree == []


def test_install_sh_supports_the_architectures_the_host_step_supports() -> None:
    assert install_sh_arches() == set(host.ARCHES)
    disagree = []
    for arch in (*host.ARCHES, *OTHER_ARCHES):
        fake_uname = f'uname() {{ if [ "$1" = -m ]; then echo {arch}; else echo Linux; fi; }}'
        result = run_install_sh(f"{fake_uname}\ncheck_arch")
        assert result.returncode in (0, 1), result.stderr
        if (result.returncode == 0) != (arch in host.ARCHES):
            disagree.append(f"{arch}: install.sh exit {result.returncode}")
    assert disagree == []


def test_step_names_are_the_steps_init_runs_in_order() -> None:
    assert tuple(step.name for step in init_steps()) == STEP_NAMES


def test_every_module_has_a_place_in_the_import_layers() -> None:
    """A module left out of the layers contract is not checked by it at all."""
    project = Path(__file__).resolve().parents[2]
    block = re.search(r"(?ms)^layers = \[(.*?)^\]", (project / "pyproject.toml").read_text())
    assert block is not None
    layers = re.findall(r'"([^"]+)"', block.group(1))
    placed = {name.strip() for layer in layers for name in layer.split(":")}
    package = project / "agent" / "jupyter_bootstrap"
    modules = {p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")}
    modules |= {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    assert modules - placed == set()
