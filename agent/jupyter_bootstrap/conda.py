"""What a conda prefix is (ready, broken, absent, someone else's) and where to find one.

Shared by the conda, shell and jupyter steps; nothing here changes the machine.
"""

from __future__ import annotations

import enum
import fnmatch
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Optional

from jupyter_bootstrap.errors import StepFailed
from jupyter_bootstrap.run import run

if TYPE_CHECKING:
    from jupyter_bootstrap.account import Account
    from jupyter_bootstrap.paths import Paths
    from jupyter_bootstrap.settings import Settings

# Where conda lives on machines set up by hand or by images, after the home defaults.
SYSTEM_PREFIXES: tuple[Path, ...] = (Path("/opt/conda"),)

# Python variables of the agent's own environment must not leak into conda's Python: an
# empty value counts as unset for CPython.
CLEAN_PYTHON_ENV = {"PYTHONPATH": "", "PYTHONHOME": ""}

DISPLAY_NAMES = {"anaconda": "Anaconda", "miniconda": "Miniconda", "miniforge": "Miniforge"}

_CONDA_VERSION = re.compile(r"conda\s+(\d[\w.+-]*)")


class PrefixState(enum.Enum):
    READY = "a working conda install"
    BROKEN = "a broken conda install"
    ABSENT = "does not exist"
    EMPTY = "an empty directory"
    OTHER_JUPYTER = "a Python environment with Jupyter (not a conda base install)"
    CONDA_ENV = "a conda environment without Jupyter (not a base install)"
    FOREIGN = "not a conda install"

    @property
    def installable(self) -> bool:
        """The installer may write here: nothing there yet, or a conda of ours to repair."""
        return self in (PrefixState.ABSENT, PrefixState.EMPTY, PrefixState.BROKEN)


class CondaInstall(NamedTuple):
    """A conda prefix as found (or as planned, when it is still to be installed)."""

    prefix: Path
    state: PrefixState
    found_by: str  # how the prefix was chosen: "--prefix", "$CONDA_EXE", "default"...
    distribution: str  # anaconda, miniconda or miniforge: detected, or the one to install
    conda_version: Optional[str] = None
    distribution_version: Optional[str] = None
    problem: str = ""  # why it is broken or refused

    @property
    def conda_bin(self) -> Path:
        return self.prefix / "bin" / "conda"

    @property
    def conda_forge(self) -> bool:
        """Miniforge's packages come from conda-forge; the others use Anaconda's channels."""
        return self.distribution == "miniforge"

    @property
    def label(self) -> str:
        name = DISPLAY_NAMES.get(self.distribution, self.distribution)
        if self.distribution_version:
            name += " " + self.distribution_version
        return name

    def describe(self) -> str:
        """For `status`: distribution, version and prefix in one line."""
        version = f" (conda {self.conda_version})" if self.conda_version else ""
        return f"{self.label}{version} in {self.prefix}"


def _has_entries(directory: Path) -> bool:
    with os.scandir(directory) as entries:
        return any(True for _ in entries)


def _run_quietly(argv: Sequence[str]) -> tuple[bool, str]:
    """Run a probe; (succeeded, its last output line). A missing or unrunnable file is a
    failure, not an exception: a broken prefix is something we report, not crash on."""
    try:
        result = run(argv, check=False, timeout=120, env=CLEAN_PYTHON_ENV)
    except (StepFailed, OSError) as error:  # not found, timed out, no exec bit
        return False, str(error)
    lines = (result.stdout + result.stderr).strip().splitlines()
    return result.returncode == 0, lines[-1] if lines else f"exit {result.returncode}"


def is_base_install(prefix: Path) -> bool:
    """conda's own package record (or its command) marks a base install; an environment
    made with `conda create` has conda-meta/history but neither."""
    meta = prefix / "conda-meta"
    if not (meta / "history").is_file():
        return False
    return (prefix / "bin" / "conda").exists() or any(meta.glob("conda-[0-9]*.json"))


# The top level of a prefix that a constructor-built installer (Anaconda, Miniconda,
# Miniforge) makes, first while unpacking its payload and then while installing its packages.
# A half-made prefix holds nothing else; anything else there is someone's data.
INSTALLER_ENTRIES = frozenset(
    {
        ".condarc", ".nonadmin", ".messages.txt", "_conda", "_conda.exe", "conda.exe",
        "preconda.tar.bz2", "install.log", "LICENSE.txt", "bin", "condabin", "compiler_compat",
        "conda-meta", "doc", "docs", "envs", "etc", "include", "info", "lib", "lib64",
        "libexec", "licenses", "man", "mkspecs", "phrasebooks", "pkgs", "plugins", "qml",
        "resources", "sbin", "share", "shell", "ssl", "translations", "var",
    }
)  # fmt: skip
_INSTALLER_PATTERNS = ("*-conda_cos*-linux-gnu", "*-conda-linux-gnu", "Uninstall-*")


def strangers(prefix: Path) -> Optional[tuple[str, ...]]:
    """The entries at the top of `prefix` that no conda installer makes (sorted): () when
    it holds only what an installer, finished or not, leaves; None when it is not a
    directory that can be read."""
    if not prefix.is_dir() or prefix.is_symlink():
        return None
    try:
        names = sorted(os.listdir(prefix))
    except OSError:
        return None
    return tuple(
        name
        for name in names
        if name not in INSTALLER_ENTRIES
        and not any(fnmatch.fnmatchcase(name, pattern) for pattern in _INSTALLER_PATTERNS)
    )


def inspect_prefix(prefix: Path, found_by: str, distribution: str) -> CondaInstall:
    """Look at `prefix`; `distribution` is what we would install there if it is empty."""

    def plan(state: PrefixState, problem: str = "") -> CondaInstall:
        return CondaInstall(prefix, state, found_by, distribution, problem=problem)

    if not prefix.exists() and not prefix.is_symlink():
        return plan(PrefixState.ABSENT)
    if not prefix.is_dir():
        return plan(PrefixState.FOREIGN, "it is a file, not a directory")
    try:
        if not _has_entries(prefix):
            return plan(PrefixState.EMPTY)
    except OSError as error:
        return plan(PrefixState.FOREIGN, f"it cannot be read ({error.strerror})")
    if is_base_install(prefix):
        return _inspect_base(prefix, found_by)
    if (prefix / "bin" / "python").exists() and (prefix / "bin" / "jupyter").exists():
        return plan(PrefixState.OTHER_JUPYTER)
    if (prefix / "conda-meta" / "history").is_file():
        return plan(PrefixState.CONDA_ENV)
    return plan(PrefixState.FOREIGN, "no conda-meta/history")


def _inspect_base(prefix: Path, found_by: str) -> CondaInstall:
    distribution, distribution_version = detect_distribution(prefix)

    def found(
        state: PrefixState, conda_version: Optional[str] = None, problem: str = ""
    ) -> CondaInstall:
        return CondaInstall(
            prefix, state, found_by, distribution, conda_version, distribution_version, problem
        )

    conda = prefix / "bin" / "conda"
    if not conda.exists():
        return found(PrefixState.BROKEN, problem="bin/conda is missing")
    python = prefix / "bin" / "python"
    if not python.exists() and not python.is_symlink():
        return found(PrefixState.BROKEN, problem="bin/python is missing")
    works, last = _run_quietly([str(python), "-c", "import sys"])
    if not works:
        return found(PrefixState.BROKEN, problem=f"bin/python does not run ({last})")
    works, last = _run_quietly([str(conda), "--version"])
    match = _CONDA_VERSION.search(last) if works else None
    if match is None:
        return found(PrefixState.BROKEN, problem=f"`conda --version` fails ({last})")
    return found(PrefixState.READY, match.group(1))


def recorded_packages(prefix: Path, names: set[str]) -> set[str]:
    """Which of `names` conda's package records in `prefix` list as installed."""
    meta = prefix / "conda-meta"
    return {name for name in names if any(meta.glob(f"{name}-[0-9]*.json"))}


def detect_distribution(prefix: Path) -> tuple[str, Optional[str]]:
    """Which installer made `prefix`, from what each leaves behind: Anaconda's metapackage
    (or Navigator) record, Miniforge's .condarc naming conda-forge; anything else uses
    Anaconda's channels like Miniconda does. Only the label and the channel depend on it."""
    meta = prefix / "conda-meta"
    for record in sorted(meta.glob("anaconda-[0-9]*.json")):
        version = record.name[len("anaconda-") :].split("-")[0]
        return "anaconda", version
    if any(meta.glob("_anaconda_depends-*.json")) or any(meta.glob("anaconda-navigator-*.json")):
        return "anaconda", None
    if _condarc_channels(prefix / ".condarc") == ["conda-forge"]:
        return "miniforge", None
    return "miniconda", None


def _condarc_channels(path: Path) -> list[str]:
    """The `channels:` list of a .condarc (YAML, but only this simple shape matters)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    channels: list[str] = []
    inside = False
    for line in lines:
        stripped = line.strip()
        if not inside:
            inside = stripped == "channels:"
            if stripped.startswith("channels:") and "[" in stripped:
                inline = stripped.split("[", 1)[1].rstrip("]")
                return [c.strip().strip("'\"") for c in inline.split(",") if c.strip()]
            continue
        if stripped.startswith("- "):
            channels.append(stripped[2:].strip().strip("'\""))
        elif stripped and not stripped.startswith("#"):
            break
    return channels


def candidates(
    settings: Settings, paths: Paths, environ: Mapping[str, str]
) -> Iterator[tuple[Path, str]]:
    """Where to look, in order. A chosen prefix (flag or saved) is the only candidate."""
    if settings.prefix:
        yield Path(settings.prefix), "chosen"
        return
    conda_exe = environ.get("CONDA_EXE")
    if conda_exe:
        yield Path(conda_exe).parent.parent, "$CONDA_EXE"
    import shutil  # here: with a saved prefix (every check once set up), never needed

    on_path = shutil.which("conda", path=environ.get("PATH"))
    if on_path:
        # PREFIX/bin/conda or PREFIX/condabin/conda, possibly through a symlink.
        yield Path(on_path).resolve().parent.parent, "conda on PATH"
    for distribution in ("anaconda", "miniconda", "miniforge"):
        yield paths.default_prefix(distribution), "found"
    for prefix in SYSTEM_PREFIXES:
        yield prefix, "found"


def locate(settings: Settings, paths: Paths, environ: Mapping[str, str]) -> CondaInstall:
    """The conda to use: the chosen prefix; else the first existing conda base install
    (working or broken); else where the chosen distribution would be installed."""
    distribution = settings.distribution
    seen: set[Path] = set()
    for prefix, how in candidates(settings, paths, environ):
        if how == "chosen":
            return inspect_prefix(prefix, how, distribution)
        if prefix in seen:
            continue
        seen.add(prefix)
        found = inspect_prefix(prefix, how, distribution)
        if found.state in (PrefixState.READY, PrefixState.BROKEN):
            return found
    return inspect_prefix(paths.default_prefix(distribution), "default", distribution)


def as_account(account: Account, argv: Sequence[str]) -> list[str]:
    """Run as the login user when we are root acting for them (cloud-init, --user): conda
    and everything it writes must belong to the user who runs Jupyter."""
    if os.geteuid() == 0 and account.uid != 0:
        return ["runuser", "-u", account.name, "--", *argv]
    return list(argv)


def account_env(account: Account) -> dict[str, str]:
    """HOME decides which ~/.bashrc `conda init` edits and where conda keeps its state."""
    return {"HOME": str(account.home), **CLEAN_PYTHON_ENV}
