"""install.sh, run for real with bash on this machine.

Every run gets a throwaway HOME and a PATH that starts with a directory of stubs: a `sudo`
that always fails (as `sudo -n` does when a password is needed), so no test can reach
apt-get or /usr/local/bin, plus whatever stubs a test adds (an old `python3`, a foreign
`uname`). Tests run as root here, so the ones that get past the root check set
JUPYTER_BOOTSTRAP_ALLOW_ROOT=1. The test container runs no systemd: every run is told that
it does (JUPYTER_BOOTSTRAP_SYSTEMD_DIR), but for the one test of a machine without it.

The full-install tests need pip to reach an index for the agent's dependencies.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

import jupyter_bootstrap
from tests.support.install_script import with_repository
from tests.support.installer_server import Behaviour, InstallerServer

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "install.sh"
COMMAND = "jupyter-bootstrap"
# Where install.sh puts things, relative to HOME (the defaults of the script).
VENV = Path(".local/share/jupyter-bootstrap/venv")
USER_LINK = Path(".local/bin/jupyter-bootstrap")
COMPLETION = Path(".local/share/bash-completion/completions/jupyter-bootstrap")

HTML = Behaviour(content_type="text/html")
FEDORA = 'NAME="Fedora Linux"\nID=fedora\nVERSION_ID=39\nPRETTY_NAME="Fedora Linux 39"\n'
ALPINE = 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'


def stub(directory: Path, name: str, body: str) -> None:
    """An executable shell script `name` in `directory`."""
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def fake_python(directory: Path, version: str, ensurepip: bool = True) -> None:
    """Stubs for every interpreter name install.sh looks for, all reporting `version`."""
    body = (
        'case "$*" in\n'
        f"  *version_info*) echo {version} ;;\n"
        f"  *ensurepip*) exit {0 if ensurepip else 1} ;;\n"
        "  *) exit 1 ;;\n"
        "esac"
    )
    for minor in range(9, 21):
        stub(directory, f"python3.{minor}", body)
    stub(directory, "python3", body)


class Sandbox:
    """A HOME, a stub directory first on PATH, and a way to run install.sh in them."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.stubs = root / "stubs"
        self.home.mkdir()
        self.stubs.mkdir()
        stub(self.stubs, "sudo", "exit 1")
        # A decoy on PYTHONPATH: install.sh must look at what is in its venv, not this.
        self.decoy = root / "decoy"
        (self.decoy / "jupyter_bootstrap").mkdir(parents=True)
        (self.decoy / "jupyter_bootstrap" / "__init__.py").write_text('__version__ = "9.9.9"\n')
        # What systemd makes at boot (install.sh checks it): a stand-in, for a systemd machine.
        self.systemd = root / "run-systemd-system"
        self.systemd.mkdir()
        # Other variables for the runs: a value of None removes the variable.
        self.extra: dict[str, Optional[str]] = {}

    def env(self, **settings: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("JUPYTER_BOOTSTRAP_", "XDG_", "BASH_COMPLETION_"))
        }
        env["HOME"] = str(self.home)
        env["PATH"] = f"{self.stubs}:{os.environ['PATH']}"
        env["PYTHONPATH"] = str(self.decoy)
        env["JUPYTER_BOOTSTRAP_SYSTEMD_DIR"] = str(self.systemd)
        env.update({f"JUPYTER_BOOTSTRAP_{k}": v for k, v in settings.items()})
        for name, value in self.extra.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def run(self, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        """`bash install.sh ARGS` with JUPYTER_BOOTSTRAP_<KEY>=value for each setting."""
        return self._bash([str(SCRIPT), *args], None, settings)

    def pipe(self, script: bytes, **settings: str) -> subprocess.CompletedProcess[str]:
        """The bytes of `script` piped to bash, as `curl ... | bash` does."""
        return self._bash(["-s"], script, settings)

    def _bash(
        self, args: list[str], script: Optional[bytes], settings: dict[str, str]
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["bash", *args],
            input=script,
            capture_output=True,
            env=self.env(**settings),
            timeout=600,
            check=False,
        )
        return subprocess.CompletedProcess(
            result.args,
            result.returncode,
            result.stdout.decode(errors="replace"),
            result.stderr.decode(errors="replace"),
        )

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The installed command, through the link install.sh made in ~/.local/bin."""
        env = {k: v for k, v in self.env().items() if k != "PYTHONPATH"}
        link = self.home / USER_LINK
        return subprocess.run([link, *args], capture_output=True, text=True, env=env, check=False)

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.home)) for p in self.home.rglob("*"))


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path)


# ---------------------------------------------------------------------------- static


def test_shellcheck_clean() -> None:
    if shutil.which("shellcheck") is None:
        if os.environ.get("JUPYTER_BOOTSTRAP_REQUIRE_E2E") == "1":
            pytest.fail("shellcheck is required (JUPYTER_BOOTSTRAP_REQUIRE_E2E=1)")
        pytest.skip("shellcheck is not installed (apt-get install shellcheck)")
    result = subprocess.run(
        ["shellcheck", "--shell=bash", str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_bash_parses_it() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def test_script_version_is_the_package_version() -> None:
    match = re.search(r'^JB_VERSION="([^"]+)"$', SCRIPT.read_text(), re.MULTILINE)
    assert match, 'install.sh must set JB_VERSION="X.Y.Z" on a line of its own'
    assert match.group(1) == jupyter_bootstrap.__version__


def test_the_release_notes_name_the_repository_install_sh_names() -> None:
    """install.sh names the repository once (JB_REPOSITORY, in its not-published message);
    docs/releasing.md gives the installer's address in it: both change together."""
    match = re.search(
        r'^JB_REPOSITORY="(https://github\.com/[^/"]+/jupyter-bootstrap)"$',
        SCRIPT.read_text(),
        re.MULTILINE,
    )
    assert match, 'install.sh must set JB_REPOSITORY="https://github.com/OWNER/NAME"'
    releasing = (REPO / "docs" / "releasing.md").read_text()
    assert f"{match.group(1)}/releases/latest/download/install.sh" in releasing


def test_text_is_ascii_with_short_lines_and_ends_by_calling_main() -> None:
    text = SCRIPT.read_bytes()
    assert text.isascii()
    lines = text.decode().splitlines()
    assert [n for n, line in enumerate(lines, 1) if len(line) >= 100] == []
    assert lines[-1] == 'main "$@"'
    assert lines[0] == "#!/usr/bin/env bash"


# ---------------------------------------------------------------------------- cheap runs


def test_help_and_unknown_option(sandbox: Sandbox) -> None:
    helped = sandbox.run("--help")
    assert helped.returncode == 0
    assert "--uninstall" in helped.stdout
    wrong = sandbox.run("--frobnicate")
    assert wrong.returncode == 2
    assert wrong.stderr.strip() == "error: unknown option: --frobnicate (try --help)"
    assert sandbox.files() == []


def test_every_truncated_copy_runs_nothing(sandbox: Sandbox) -> None:
    # Settings that would let main get far (and create the venv) if it ever ran.
    settings = {"ALLOW_ROOT": "1", "FORCE_OS": "1", "SOURCE": "/nonexistent"}
    text = SCRIPT.read_bytes()
    lines = text.splitlines(keepends=True)
    cuts = [b"".join(lines[:n]) for n in range(len(lines))]  # every prefix of whole lines
    cuts.append(text[: len(text) // 2])  # and a cut in mid-line, as a dropped download
    for cut in cuts:
        result = sandbox.pipe(cut, **settings)
        assert result.stdout == "", f"a copy cut after {len(cut)} bytes printed output"
        assert sandbox.files() == [], f"a copy cut after {len(cut)} bytes made files"


def test_piped_to_sh_asks_for_bash(sandbox: Sandbox) -> None:
    if shutil.which("dash") is None:
        pytest.skip("dash is not installed (the /bin/sh of Debian and Ubuntu)")
    result = subprocess.run(
        ["dash", "-s"], input=SCRIPT.read_bytes(), capture_output=True, env=sandbox.env()
    )
    assert result.returncode == 1
    assert result.stderr.decode().startswith("error: this installer needs bash")
    assert sandbox.files() == []


def test_refuses_root_with_advice(sandbox: Sandbox) -> None:
    result = sandbox.run()
    assert result.returncode == 1
    assert result.stderr.startswith("error: refusing to run as root\n")
    assert "login user (e.g. ubuntu)" in result.stderr
    assert "JUPYTER_BOOTSTRAP_ALLOW_ROOT=1" in result.stderr
    assert sandbox.files() == []


def test_refuses_an_unsupported_distribution(sandbox: Sandbox, tmp_path: Path) -> None:
    os_release = tmp_path / "os-release"
    os_release.write_text(FEDORA)
    result = sandbox.run(ALLOW_ROOT="1", OS_RELEASE=str(os_release))
    assert result.returncode == 1
    assert result.stderr.startswith("error: unsupported system: Fedora Linux 39\n")
    assert "JUPYTER_BOOTSTRAP_FORCE_OS=1" in result.stderr
    assert sandbox.files() == []


@pytest.mark.parametrize(
    ("distribution", "version", "supported"),
    [
        ("ubuntu", "18.04", False),
        ("ubuntu", "20.04", True),
        ("ubuntu", "24.04", True),
        ("debian", "10", False),
        ("debian", "11", True),
        ("debian", "12", True),
        ("fedora", "39", False),
    ],
)
def test_distribution_versions(
    sandbox: Sandbox, tmp_path: Path, distribution: str, version: str, supported: bool
) -> None:
    os_release = tmp_path / "os-release"
    os_release.write_text(f"ID={distribution}\nVERSION_ID={version}\n")
    # An old python3 stops the run right after the OS check, whichever way that went.
    fake_python(sandbox.stubs, "3.8")
    result = sandbox.run(ALLOW_ROOT="1", OS_RELEASE=str(os_release))
    assert result.returncode == 1
    assert ("unsupported system" not in result.stderr) == supported, result.stderr


def test_missing_or_broken_os_release_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    missing = sandbox.run(ALLOW_ROOT="1", OS_RELEASE=str(tmp_path / "nothing"))
    assert missing.returncode == 1
    assert "so this Linux distribution is unknown" in missing.stderr
    broken = tmp_path / "os-release"
    broken.write_text('ID=ubuntu\nVERSION_ID="22.04\n')  # unterminated quote
    result = sandbox.run(ALLOW_ROOT="1", OS_RELEASE=str(broken))
    assert result.returncode == 1
    assert result.stderr.startswith("error: unsupported system: unknown\n"), result.stderr


def test_force_os_skips_the_distribution_check(sandbox: Sandbox, tmp_path: Path) -> None:
    os_release = tmp_path / "os-release"
    os_release.write_text(FEDORA)
    fake_python(sandbox.stubs, "3.8")
    result = sandbox.run(ALLOW_ROOT="1", OS_RELEASE=str(os_release), FORCE_OS="1")
    assert "unsupported system" not in result.stderr
    assert result.stderr.startswith("error: python3 is 3.8;")  # the next check ran


def test_refuses_python_older_than_3_9_with_options(sandbox: Sandbox) -> None:
    fake_python(sandbox.stubs, "3.8")
    result = sandbox.run(ALLOW_ROOT="1")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "error: python3 is 3.8; jupyter-bootstrap needs Python 3.9 or newer\n"
    )
    assert "Ubuntu 22.04 or newer" in result.stderr
    assert (
        "\n    sudo apt-get update && sudo apt-get install -y python3.9 python3.9-venv\n"
        in result.stderr
    )
    assert sandbox.files() == []


def fake_uname(sandbox: Sandbox, machine: str) -> None:
    """A `uname` first on PATH: `uname -m` says `machine`, `uname -s` says Linux."""
    stub(sandbox.stubs, "uname", f'[ "$1" = -m ] && echo {machine} || echo Linux')


def test_refuses_other_architectures(sandbox: Sandbox) -> None:
    fake_uname(sandbox, "ppc64le")
    result = sandbox.run(ALLOW_ROOT="1")
    assert result.returncode == 1
    assert result.stderr.startswith("error: unsupported CPU architecture: ppc64le\n")


def test_aarch64_passes_the_architecture_check(sandbox: Sandbox, tmp_path: Path) -> None:
    fake_uname(sandbox, "aarch64")
    fake_python(sandbox.stubs, "3.8")  # stops the run at the check after the architecture's
    os_release = tmp_path / "os-release"  # whatever this machine is, it is Ubuntu here
    os_release.write_text('ID=ubuntu\nVERSION_ID="24.04"\n')
    result = sandbox.run(ALLOW_ROOT="1", OS_RELEASE=str(os_release))
    assert result.returncode == 1
    assert result.stderr.startswith("error: python3 is 3.8;"), result.stderr


LAUNCH = "Launch a 64-bit Ubuntu 22.04/24.04 or Debian 12 instance and run this there."


@pytest.mark.parametrize(
    ("case", "said", "advice"),
    [
        ("i686", "error: this is a 32-bit system (i686); jupyter-bootstrap needs a 64-bit", LAUNCH),
        ("armv7l", "error: this is a 32-bit system (armv7l);", LAUNCH),
        ("fedora", "error: unsupported system: Fedora Linux 39", LAUNCH),
        ("alpine", "error: unsupported system: Alpine Linux v3.20", LAUNCH),
        ("no systemd", "error: this machine does not run systemd", LAUNCH),
        ("python 3.8", "error: python3 is 3.8; jupyter-bootstrap needs Python 3.9 or newer",
         "Ubuntu 22.04 or newer"),
    ],
)  # fmt: skip
def test_an_unsupported_system_gets_one_error_with_what_to_do(
    sandbox: Sandbox, tmp_path: Path, case: str, said: str, advice: str
) -> None:
    settings = {"ALLOW_ROOT": "1"}
    os_release = tmp_path / "os-release"
    os_release.write_text(
        {"fedora": FEDORA, "alpine": ALPINE}.get(case, "ID=debian\nVERSION_ID=12\n")
    )
    settings["OS_RELEASE"] = str(os_release)
    if case in ("i686", "armv7l"):
        fake_uname(sandbox, case)
    if case == "no systemd":
        settings["SYSTEMD_DIR"] = str(tmp_path / "no-such-dir")
    if case == "python 3.8":
        fake_python(sandbox.stubs, "3.8")
    result = sandbox.run(**settings)
    assert result.returncode == 1
    assert result.stderr.startswith(said), result.stderr
    assert advice in result.stderr
    lines = result.stderr.splitlines()
    assert [line for line in lines if "error" in line.lower()] == lines[:1]
    assert all(line.startswith("  ") for line in lines[1:]), result.stderr
    assert max(len(line) for line in lines) < 100
    assert result.stdout == ""
    assert sandbox.files() == []


def test_without_systemd_it_says_how_to_turn_it_on_or_install_anyway(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """WSL can run systemd once told to; a container cannot, and its user can still install
    for `init --no-service`. The variable that allows it gets past this check only: the
    next one (here an old Python) still applies."""
    os_release = tmp_path / "os-release"
    os_release.write_text("ID=debian\nVERSION_ID=12\n")
    settings = {"ALLOW_ROOT": "1", "OS_RELEASE": str(os_release)}
    settings["SYSTEMD_DIR"] = str(tmp_path / "no-such-dir")
    refused = sandbox.run(**settings)
    assert refused.returncode == 1
    said = " ".join(refused.stderr.split())
    assert "systemd=true to /etc/wsl.conf, run `wsl --shutdown` in Windows" in said
    assert "JUPYTER_BOOTSTRAP_NO_SYSTEMD=1 installs anyway" in said
    assert "`jupyter-bootstrap init --no-service`" in said
    fake_python(sandbox.stubs, "3.8")
    allowed = sandbox.run(**settings, NO_SYSTEMD="1")
    assert allowed.returncode == 1
    assert allowed.stderr.startswith("error: python3 is 3.8;"), allowed.stderr


def test_refuses_other_kernels(sandbox: Sandbox) -> None:
    stub(sandbox.stubs, "uname", '[ "$1" = -m ] && echo x86_64 || echo Darwin')
    result = sandbox.run(ALLOW_ROOT="1")
    assert result.returncode == 1
    assert result.stderr.startswith("error: jupyter-bootstrap runs on Linux only")


def test_without_venv_support_or_sudo_prints_the_command(sandbox: Sandbox) -> None:
    fake_python(sandbox.stubs, "3.11", ensurepip=False)
    result = sandbox.run(ALLOW_ROOT="1")
    assert result.returncode == 1
    assert "cannot create a venv: the package python3.11-venv is missing" in result.stderr
    # Root with a sudo on PATH (our failing stub): the command keeps its sudo.
    assert "\n    sudo apt-get update && sudo apt-get install -y python3.11-venv\n" in result.stderr
    assert sandbox.files() == []


def test_relative_home_setting_is_refused(sandbox: Sandbox) -> None:
    result = sandbox.run(ALLOW_ROOT="1", HOME="relative/dir")
    assert result.returncode == 1
    assert "JUPYTER_BOOTSTRAP_HOME must be an absolute path" in result.stderr


def test_uninstall_with_nothing_installed(sandbox: Sandbox) -> None:
    result = sandbox.run("--uninstall", ALLOW_ROOT="1")
    assert result.returncode == 0, result.stderr
    assert "nothing to remove" in result.stdout
    assert sandbox.files() == []


# ---------------------------------------------------------------------------- real installs


def mtimes_and_sizes(home: Path) -> dict[str, tuple[float, int]]:
    """Path -> (mtime, size) of everything under home, links not followed."""
    return {
        str(p.relative_to(home)): (p.lstat().st_mtime, p.lstat().st_size)
        for p in [home, *home.rglob("*")]
    }


def test_install_from_the_checkout_rerun_and_uninstall(sandbox: Sandbox) -> None:
    """`bash install.sh` in a checkout installs that checkout (a developer's loop)."""
    settings = {"ALLOW_ROOT": "1", "NO_MODIFY_PATH": "1"}
    first = sandbox.run(**settings)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"Installing jupyter-bootstrap from {REPO} " in first.stdout
    assert f"jupyter-bootstrap {jupyter_bootstrap.__version__} installed" in first.stdout
    assert first.stdout.rstrip().endswith("Next, run:\n    jupyter-bootstrap init")
    # No sudo: the link is in ~/.local/bin, which is not on PATH, so the exact line is shown.
    assert '    export PATH="$HOME/.local/bin:$PATH"\n' in first.stdout
    link = sandbox.home / USER_LINK
    assert os.readlink(link) == str(sandbox.home / VENV / "bin" / COMMAND)
    version = sandbox.command("--version")
    assert version.returncode == 0, version.stderr
    assert jupyter_bootstrap.__version__ in version.stdout
    assert "complete " in (sandbox.home / COMPLETION).read_text()
    assert first.stderr == ""
    assert "\x1b" not in first.stdout  # no colour when stdout is not a terminal
    assert not (sandbox.home / ".profile").exists()  # NO_MODIFY_PATH

    before = mtimes_and_sizes(sandbox.home)
    again = sandbox.run(**settings)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already up to date" in again.stdout
    assert "Installing" not in again.stdout
    assert mtimes_and_sizes(sandbox.home) == before

    # In a container without systemd (allowed by the variable), the next step says so.
    nowhere = str(sandbox.home / "no-systemd-here")
    container = sandbox.run(**settings, SYSTEMD_DIR=nowhere, NO_SYSTEMD="1")
    assert container.returncode == 0, container.stdout + container.stderr
    assert container.stdout.rstrip().endswith(
        "    jupyter-bootstrap init --no-service\nthen start Jupyter yourself (init says how)."
    )

    gone = sandbox.run("--uninstall", **settings)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not (sandbox.home / VENV).exists()
    assert not link.is_symlink()
    assert not (sandbox.home / COMPLETION).exists()
    assert not (sandbox.home / ".local/share/jupyter-bootstrap").exists()


FAKE_PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.18"]
build-backend = "hatchling.build"

[project]
name = "jupyter-bootstrap"
dynamic = ["version"]
dependencies = ["click>=8.1"]

[project.scripts]
jupyter-bootstrap = "jupyter_bootstrap.cli:main"

[tool.hatch.version]
path = "agent/jupyter_bootstrap/__init__.py"

[tool.hatch.build.targets.wheel]
packages = ["agent/jupyter_bootstrap"]
"""

FAKE_CLI = """\
import click

from jupyter_bootstrap import __version__


@click.group()
@click.version_option(__version__)
def main() -> None:
    pass


@main.command()
def init() -> None:
    pass
"""


def fake_agent(directory: Path, version: str) -> Path:
    """A checkout-shaped stand-in for the agent (click only): cheap to build and bump."""
    package = directory / "agent" / "jupyter_bootstrap"
    package.mkdir(parents=True, exist_ok=True)
    (directory / "pyproject.toml").write_text(FAKE_PYPROJECT)
    (package / "__init__.py").write_text(f'__version__ = "{version}"\n')
    (package / "cli.py").write_text(FAKE_CLI)
    return directory


def test_upgrade_rebuild_profile_and_shadowing(sandbox: Sandbox, tmp_path: Path) -> None:
    source = fake_agent(tmp_path / "fake", "0.1.0")
    settings = {"ALLOW_ROOT": "1", "SOURCE": str(source)}
    first = sandbox.run(**settings)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "jupyter-bootstrap 0.1.0 installed" in first.stdout
    # No profile mentioned ~/.local/bin, so one line was added to ~/.profile, once.
    profile = sandbox.home / ".profile"
    assert profile.read_text().count(".local/bin") == 2  # `if [ -d X ]; then PATH=X:...`

    fake_agent(source, "0.2.0")
    upgraded = sandbox.run(**settings)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "already installed, upgraded from 0.1.0 to 0.2.0" in upgraded.stdout
    assert profile.read_text().count(".local/bin") == 2

    # A venv whose interpreter is gone (e.g. after a release upgrade) is rebuilt.
    for python in (sandbox.home / VENV / "bin").glob("python*"):
        python.unlink()
    rebuilt = sandbox.run(**settings)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "Rebuilding the broken venv" in rebuilt.stdout
    version = sandbox.command("--version")
    assert "0.2.0" in version.stdout

    # Another jupyter-bootstrap first on PATH (say from pipx) would shadow this one: warn.
    stub(sandbox.stubs, COMMAND, "echo shadow")
    shadowed = sandbox.run(**settings)
    assert shadowed.returncode == 0, shadowed.stdout + shadowed.stderr
    assert "comes first on PATH and is another jupyter-bootstrap" in shadowed.stderr


def test_pip_failure_shows_pip_output(sandbox: Sandbox, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text("this is not toml [")
    result = sandbox.run(ALLOW_ROOT="1", SOURCE=str(broken))
    assert result.returncode == 1
    assert f"error: pip could not install {broken} (pip's output above)" in result.stderr
    assert len(result.stderr.splitlines()) > 3  # pip's own lines came first
    # The venv made for it is gone again, and so are the directories made for the venv.
    assert not (sandbox.home / ".local").exists()


def loopback_index(sandbox: Sandbox, tmp_path: Path, url: str) -> None:
    """pip in the runs asks only `url` (an index on 127.0.0.1), with no configuration of
    this machine's and its cache outside HOME: never the real PyPI, whoever owns the name
    there."""
    sandbox.extra = {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_INDEX_URL": url,
        "PIP_CACHE_DIR": str(tmp_path / "pip-cache"),
        "PIP_RETRIES": "1",  # pip says why a connection failed only when it retries
        "no_proxy": "127.0.0.1",
        "NO_PROXY": "127.0.0.1",
        **{name: None for name in ("PIP_FIND_LINKS", "PIP_NO_INDEX", "PIP_EXTRA_INDEX_URL")},
    }


PUBLISHED_REPOSITORY = "https://github.com/example-org/jupyter-bootstrap"


@pytest.mark.parametrize(
    ("listed", "repository"),
    [
        pytest.param("an older release", PUBLISHED_REPOSITORY, id="older release, repo known"),
        pytest.param("no release", None, id="name unknown, repo still a placeholder"),
    ],
)
def test_a_release_missing_from_the_index_is_named_and_nothing_is_left(
    sandbox: Sandbox, tmp_path: Path, listed: str, repository: Optional[str]
) -> None:
    """Piped, without a source: install.sh asks the index for its own version, which is
    not published there (yet). One message says so and what to do instead; the venv made
    for it is gone again, and no command was linked. Only a copy that knows its repository
    (a release's) gives git commands; a placeholder is never offered as an address."""
    script = SCRIPT.read_bytes() if repository is None else with_repository(repository)
    with InstallerServer() as index:
        if listed == "an older release":  # a PEP 503 project page: the name, not the version
            page = '<a href="jupyter_bootstrap-0.0.1-py3-none-any.whl">0.0.1</a>\n'
            index.add("/simple/jupyter-bootstrap/", page.encode(), HTML)
        loopback_index(sandbox, tmp_path, index.url("/simple/"))
        result = sandbox.pipe(script, ALLOW_ROOT="1")
        asked = {r.path for r in index.requests()}
    version = jupyter_bootstrap.__version__
    assert f"==> Installing jupyter-bootstrap from jupyter-bootstrap=={version} " in result.stdout
    assert asked == {"/simple/jupyter-bootstrap/"}
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: jupyter-bootstrap {version} is not on the package index (PyPI): it is not "
        "published yet\n"
    ), result.stderr
    if repository is None:
        assert "OWNER" not in result.stderr and "git+" not in result.stderr
        said = " ".join(result.stderr.split())
        assert "clone the project from where you got this installer" in said
    else:
        assert f"\n    export JUPYTER_BOOTSTRAP_SOURCE=git+{repository}\n" in result.stderr
        assert f"(git clone {repository})" in result.stderr
    assert ".whl file or its URL" in result.stderr and "`bash install.sh`" in result.stderr
    assert "ERROR" not in result.stderr  # pip's own lines are not repeated
    assert max(len(line) for line in result.stderr.splitlines()) < 100
    # No venv, no link, no directory made for them. (pip itself may have run `rustc
    # --version` for its user agent, and a rustup there writes ~/.rustup: not ours.)
    assert not (sandbox.home / ".local").exists()


def test_an_unreachable_index_is_not_taken_for_a_missing_release(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    with socket.socket() as closed:  # a port on loopback that nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    loopback_index(sandbox, tmp_path, f"http://127.0.0.1:{port}/simple/")
    result = sandbox.pipe(SCRIPT.read_bytes(), ALLOW_ROOT="1")
    assert result.returncode == 1
    assert "error: pip could not install jupyter-bootstrap==" in result.stderr
    assert "not published" not in result.stderr
    assert "Check the network" in result.stderr
    assert not (sandbox.home / ".local").exists()


# ---------------------------------------------------------------------------- root for a user


@pytest.fixture
def login_user() -> Iterator[tuple[str, Path]]:
    """A throw-away login user whose home others may traverse (like /home/ubuntu), for
    root to install for (what cloud-init's user data does)."""
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not installed")
    base = Path(tempfile.mkdtemp(prefix="jb-install-user-"))
    base.chmod(0o755)
    name = f"jb{uuid.uuid4().hex[:8]}"
    home = base / name
    subprocess.run(
        ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", name],
        check=True,
    )
    try:
        yield name, home
    finally:
        subprocess.run(["userdel", name], check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_root_refusal_names_the_way_for_cloud_init(sandbox: Sandbox) -> None:
    result = sandbox.run()
    assert "As root for a login user (cloud-init's user data): bash -s -- --user ubuntu." in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("args", "settings", "said", "code"),
    [
        (("--user", "nosuchuser-jb"), {}, "error: there is no user named nosuchuser-jb", 1),
        ((), {"USER": "nosuchuser-jb"}, "error: there is no user named nosuchuser-jb", 1),
        (("--user", "root"), {}, "error: --user root is refused", 1),
        (("--user",), {}, "error: --user needs the login user, e.g. --user ubuntu", 2),
    ],
)
def test_bad_users_are_refused(
    sandbox: Sandbox, args: tuple[str, ...], settings: dict[str, str], said: str, code: int
) -> None:
    result = sandbox.run(*args, **settings)
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith(said), result.stderr
    assert sandbox.files() == []


def test_root_without_home_installs_for_the_login_user(
    sandbox: Sandbox, login_user: tuple[str, Path]
) -> None:
    """As cloud-init runs it: root, no HOME, no terminal, piped; everything the user gets
    is the user's, and root's own home gets nothing."""
    name, home = login_user
    source = fake_agent(home.parent / "fake-agent", "0.1.0")
    sandbox.extra = {"HOME": None}
    result = sandbox.pipe(SCRIPT.read_bytes(), USER=name, SOURCE=str(source))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"==> Installing for {name}, as {name}\n" in out
    assert f"Creating a venv for the agent in ~{name}/.local/share/jupyter-bootstrap/venv" in out
    assert f"Next, as {name} (e.g. in a new PuTTY session), run:" in out
    made = [home / VENV / "bin" / COMMAND, home / USER_LINK, home / COMPLETION]
    assert all(path.exists() for path in made)
    uid = pwd.getpwnam(name).pw_uid
    assert [str(p) for p in home.rglob("*") if p.lstat().st_uid != uid] == []
    assert sandbox.files() == []
    mine = subprocess.run(
        ["runuser", "-u", name, "--", str(home / USER_LINK), "--version"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "0.1.0" in mine.stdout, mine.stderr

    gone = sandbox.run("--uninstall", "--user", name)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert f"ok  removed ~{name}/.local/share/jupyter-bootstrap/venv" in gone.stdout
    assert not (home / VENV).exists()


def test_root_for_a_user_names_a_missing_release_too(
    sandbox: Sandbox, tmp_path: Path, login_user: tuple[str, Path]
) -> None:
    """cloud-init's way (root, --user, piped): the user's half says the same thing, and
    the user's home gets no venv either."""
    name, home = login_user
    with InstallerServer() as index:
        loopback_index(sandbox, tmp_path, index.url("/simple/"))
        sandbox.extra.update({"PIP_CACHE_DIR": None, "PIP_NO_CACHE_DIR": "1"})
        result = sandbox.pipe(SCRIPT.read_bytes(), USER=name)
    assert result.returncode == 1
    assert f"==> Installing for {name}, as {name}\n" in result.stdout
    version = jupyter_bootstrap.__version__
    assert f"error: jupyter-bootstrap {version} is not on the package index" in result.stderr
    assert "OWNER" not in result.stderr and "`bash install.sh`" in result.stderr
    assert not (home / ".local").exists()
    assert sandbox.files() == []
