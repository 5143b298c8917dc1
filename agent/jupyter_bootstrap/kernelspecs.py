"""Kernels for the user's environments: every Python environment with ipykernel under the
prefix's envs/ (or a folder the user names) gets a kernelspec, "Python (proj)", in the
folder where Jupyter looks for the user's kernelspecs. Jupyter reads that folder for every
request, so a new kernelspec is listed at once, with no restart.

Ours carry a mark in their metadata; a kernelspec without it is the user's and is never
changed or removed. Ours go when their environment goes (or loses ipykernel), and when an
environment already has a kernelspec of the user's, no second one is made for it.

`scan` reads the disk, `decide` compares (pure, tested as a table), `carry_out` writes."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap.files import Owner, atomic_write, ensure_dir

MARK = "jupyter_bootstrap"
NAME_PREFIX = "env-"
SPEC_FILE = "kernel.json"
# An environment without ipykernel that changed this recently may still be being made
# (`conda create -n proj ipykernel` first makes the folder, then fills it for a minute).
SETTLING_SECONDS = 120.0


class Environment(NamedTuple):
    path: Path
    python: Optional[Path]  # bin/python, when there is one
    has_ipykernel: bool
    conda: bool  # made by conda (conda-meta/), else a venv or something like it
    changed_at: float  # the newest mtime of the folder, its bin/ and conda-meta/

    @property
    def name(self) -> str:
        return self.path.name

    def settling(self, now: float) -> bool:
        """Without ipykernel, but changing: perhaps still being made."""
        return not self.has_ipykernel and now - self.changed_at < SETTLING_SECONDS

    def add_ipykernel(self, conda: Optional[Path]) -> str:
        """The one command that adds ipykernel (its kernel then follows)."""
        where = shlex.quote(str(self.path))
        if self.conda:
            program = shlex.quote(str(conda)) if conda is not None else "conda"
            return f"{program} install -y -p {where} ipykernel"
        python = shlex.quote(str(self.python or self.path / "bin" / "python"))
        return f"{python} -m pip install ipykernel"


class FoundSpec(NamedTuple):
    """A kernelspec in the user's kernelspec folder."""

    name: str
    path: Path  # its folder
    text: Optional[str]  # kernel.json; None when unreadable
    environment: Optional[Path]  # ours: the environment it is for; None: the user's
    python: Optional[str]  # argv[0]

    @property
    def ours(self) -> bool:
        return self.environment is not None


class WantedSpec(NamedTuple):
    name: str
    environment: Path
    text: str


class SyncPlan(NamedTuple):
    write: tuple[WantedSpec, ...]
    remove: tuple[FoundSpec, ...]
    current: tuple[WantedSpec, ...]  # every kernelspec of ours once carried out
    yours: tuple[tuple[Path, str], ...]  # (environment, your kernelspec's name)
    without_ipykernel: tuple[Environment, ...]
    without_python: tuple[Environment, ...]

    @property
    def changes(self) -> bool:
        return bool(self.write or self.remove)


# -- reading the disk ---------------------------------------------------------------------


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def inspect(path: Path) -> Environment:
    python = path / "bin" / "python"
    launcher = any(path.glob("lib/python3*/site-packages/ipykernel_launcher.py"))
    return Environment(
        path=path,
        python=python if python.exists() else None,
        has_ipykernel=python.exists() and launcher,
        conda=(path / "conda-meta").is_dir(),
        changed_at=max(_mtime(path), _mtime(path / "bin"), _mtime(path / "conda-meta")),
    )


def environments_in(folder: Path) -> list[Environment]:
    """The environments in `folder`: itself when it is one, else each folder in it. A
    folder that is not (yet) an environment is listed too: it may be one being made."""
    if (folder / "bin" / "python").exists() or (folder / "conda-meta").is_dir():
        return [inspect(folder)]
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [
        inspect(entry) for entry in entries if entry.is_dir() and not entry.name.startswith(".")
    ]


def read_specs(kernels_dir: Path) -> list[FoundSpec]:
    try:
        entries = sorted(kernels_dir.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        spec = entry / SPEC_FILE
        if not entry.is_dir() or not spec.exists():
            continue
        try:
            text: Optional[str] = spec.read_text(encoding="utf-8")
            data = json.loads(text or "")
        except (OSError, ValueError):
            text, data = None, {}
        found.append(_found(entry, text, data if isinstance(data, dict) else {}))
    return found


def _found(folder: Path, text: Optional[str], data: dict[str, object]) -> FoundSpec:
    metadata = data.get("metadata")
    mark = metadata.get(MARK) if isinstance(metadata, dict) else None
    environment = mark.get("environment") if isinstance(mark, dict) else None
    argv = data.get("argv")
    python = argv[0] if isinstance(argv, list) and argv and isinstance(argv[0], str) else None
    return FoundSpec(
        name=folder.name,
        path=folder,
        text=text,
        environment=Path(environment) if isinstance(environment, str) else None,
        python=python,
    )


# -- deciding -------------------------------------------------------------------------------


def kernel_json(environment: Environment) -> str:
    """The kernelspec of an environment: its own python, its bin/ first on PATH (so `!pip`
    and `!conda` in a cell act on it; Jupyter fills in ${PATH}), and our mark."""
    python = environment.python or environment.path / "bin" / "python"
    env = {"PATH": f"{environment.path / 'bin'}:${{PATH}}"}
    if environment.conda:
        env["CONDA_PREFIX"] = str(environment.path)
        env["CONDA_DEFAULT_ENV"] = environment.name
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({environment.name})",
        "language": "python",
        "env": env,
        "metadata": {"debugger": True, MARK: {"environment": str(environment.path)}},
    }
    return json.dumps(spec, indent=1, sort_keys=True) + "\n"


def spec_name(environment: Path) -> str:
    """`env-proj`: the folder's name, in the characters Jupyter allows in a kernel name."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", environment.name.lower()).strip("-.") or "env"
    return NAME_PREFIX + cleaned


def _serves(spec: FoundSpec, environment: Path) -> bool:
    return spec.python is not None and Path(spec.python).parent == environment / "bin"


def decide(
    environments: list[Environment], found: list[FoundSpec], enabled: bool = True
) -> SyncPlan:
    """What to write and remove so that every environment with ipykernel has one kernelspec
    of ours (or one of the user's), and none of ours is left without its environment."""
    yours = [spec for spec in found if not spec.ours]
    ours = [spec for spec in found if spec.ours]
    served: dict[Path, str] = {}
    wanted_envs: list[Environment] = []
    without_ipykernel, without_python = [], []
    for environment in environments if enabled else []:
        mine = next((s.name for s in yours if _serves(s, environment.path)), None)
        if environment.python is None:
            without_python.append(environment)
        elif not environment.has_ipykernel:
            without_ipykernel.append(environment)
        elif mine is not None:
            served[environment.path] = mine
        else:
            wanted_envs.append(environment)
    taken = {spec.name for spec in yours}
    names: dict[Path, str] = {}
    # An environment keeps the name its kernelspec already has (a notebook records it).
    for environment in wanted_envs:
        existing = next((s.name for s in ours if s.environment == environment.path), None)
        if existing is not None and existing not in taken:
            names[environment.path] = existing
            taken.add(existing)
    for environment in wanted_envs:
        if environment.path in names:
            continue
        base = candidate = spec_name(environment.path)
        number = 2
        while candidate in taken:
            candidate = f"{base}-{number}"
            number += 1
        names[environment.path] = candidate
        taken.add(candidate)
    current = tuple(WantedSpec(names[e.path], e.path, kernel_json(e)) for e in wanted_envs)
    on_disk = {spec.name: spec for spec in ours}
    write = tuple(w for w in current if w.name not in on_disk or on_disk[w.name].text != w.text)
    kept = {w.name for w in current}
    remove = tuple(spec for spec in ours if spec.name not in kept)
    return SyncPlan(
        write=write,
        remove=remove,
        current=current,
        yours=tuple(sorted(served.items())),
        without_ipykernel=tuple(without_ipykernel),
        without_python=tuple(without_python),
    )


# -- carrying it out --------------------------------------------------------------------------


def carry_out(plan: SyncPlan, kernels_dir: Path, owner: Optional[Owner]) -> None:
    """Write and remove kernelspec folders; only ever ours (decide made sure)."""
    if plan.write and not kernels_dir.is_dir():
        # Made only when missing: an existing folder is the user's, mode and all.
        ensure_dir(kernels_dir, 0o755, owner)
    for wanted in plan.write:
        folder = kernels_dir / wanted.name
        ensure_dir(folder, 0o755, owner)
        atomic_write(folder / SPEC_FILE, wanted.text, 0o644, owner)
    for spec in plan.remove:
        # Checked again right before: only a folder whose kernel.json carries our mark.
        again = read_specs(spec.path.parent)
        if any(s.path == spec.path and s.ours for s in again):
            import shutil  # only to remove one: a check needs none of shutil

            shutil.rmtree(spec.path)
