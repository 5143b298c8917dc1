"""Shell: new login shells find conda and jupyter, as they would after an interactive
conda install. conda writes its own block
into ~/.bashrc (`conda init bash`); we only ask it to when the block is missing. The agent
itself never relies on PATH: it runs PREFIX/bin/... by absolute path."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple, Optional

from jupyter_bootstrap import conda
from jupyter_bootstrap.conda import PrefixState
from jupyter_bootstrap.engine import Context, Status, drift, good
from jupyter_bootstrap.errors import StepFailed
from jupyter_bootstrap.files import read_bytes_or_none
from jupyter_bootstrap.run import run

BLOCK_START = "# >>> conda initialize >>>"
BLOCK_END = "# <<< conda initialize <<<"

SOURCE_NOTE = (
    "run `source ~/.bashrc` (or open a new PuTTY session) to get conda and jupyter on "
    "your PATH in this shell"
)


class ShellPlan(NamedTuple):
    conda_bin: Path  # whose `init bash` writes the block

    @property
    def action(self) -> str:
        return f"run {self.conda_bin} init bash"

    @property
    def restart_reason(self) -> Optional[str]:
        return None  # ~/.bashrc is for login shells, not for the server


def conda_block(text: str) -> Optional[str]:
    """The text between conda's markers, or None when ~/.bashrc has no such block."""
    start = text.find(BLOCK_START)
    if start < 0:
        return None
    end = text.find(BLOCK_END, start)
    return text[start:] if end < 0 else text[start : end + len(BLOCK_END)]


def activates(block: str, prefix: Path) -> bool:
    """Whether the block is for this prefix (its conda, conda.sh or bin on PATH)."""
    return re.search(re.escape(str(prefix)) + r"/(bin|etc|condabin)/", block) is not None


def _other_prefix(block: str) -> str:
    found = re.search(r"['\"]?(/[^'\"\s]+?)/(?:bin/conda|etc/profile\.d/conda\.sh)", block)
    return found.group(1) if found else "another conda"


class ShellStep:
    name = "shell"

    def check(self, ctx: Context) -> Status[ShellPlan]:
        found = ctx.facts.conda
        prefix = ctx.prefix
        bashrc = ctx.paths.bashrc
        not_conda = found is None and not (prefix / "bin" / "conda").exists()
        if not_conda or (found is not None and found.state is PrefixState.OTHER_JUPYTER):
            return good(f"{prefix} is not a conda install: {bashrc} left as it is")
        raw = read_bytes_or_none(bashrc)
        block = conda_block(raw.decode("utf-8", "replace")) if raw is not None else None
        if block is None:
            return drift(
                f"{bashrc} has no conda initialize block: new shells do not find conda",
                ShellPlan(prefix / "bin" / "conda"),
            )
        if not activates(block, prefix):
            # The user's own choice of conda for their shell: kept. Nothing of ours needs
            # PATH (the service runs PREFIX/bin/jupyter by absolute path).
            other = _other_prefix(block)
            return good(
                f"{bashrc} activates {other}, not {prefix} (left as it is; to switch: "
                f"{prefix}/bin/conda init bash)"
            )
        return good(f"{bashrc} activates {prefix} in new shells")

    def apply(self, ctx: Context, plan: ShellPlan) -> str:
        conda_bin = plan.conda_bin
        prefix = conda_bin.parent.parent
        if not conda_bin.exists():
            raise StepFailed(
                f"{conda_bin} does not exist, so conda cannot set up ~/.bashrc",
                hint="run init without --skip conda, or pass --prefix of a conda install",
            )
        run(
            conda.as_account(ctx.account, [str(conda_bin), "init", "bash"]),
            timeout=300,
            env=conda.account_env(ctx.account),
            what="conda init bash",
            hint="its output is in the log; or add conda to PATH yourself in ~/.bashrc",
        )
        ctx.run.note(SOURCE_NOTE)
        return f"conda init bash: new shells get {prefix}/bin on PATH (~/.bashrc)"
