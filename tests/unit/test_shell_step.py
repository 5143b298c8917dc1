"""The shell step: conda's own block in ~/.bashrc (written by `conda init bash`) only when it
is missing; the user's lines, and a block for another conda, are left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_bootstrap.steps.shell import SOURCE_NOTE, activates, conda_block
from tests.support.cli import init_no_service, invoke, without_spaces
from tests.support.fake_installer import InstallerSite, conda_commands
from tests.support.report import step_states

# What `conda init bash` writes (conda 24.x), for a prefix in ubuntu's home.
REAL_BLOCK = """# >>> conda initialize >>>
# !! Contents within this block are managed by 'conda init' !!
__conda_setup="$('/home/ubuntu/anaconda3/bin/conda' 'shell.bash' 'hook' 2> /dev/null)"
if [ $? -eq 0 ]; then
    eval "$__conda_setup"
else
    if [ -f "/home/ubuntu/anaconda3/etc/profile.d/conda.sh" ]; then
        . "/home/ubuntu/anaconda3/etc/profile.d/conda.sh"
    else
        export PATH="/home/ubuntu/anaconda3/bin:$PATH"
    fi
fi
unset __conda_setup
# <<< conda initialize <<<"""

UBUNTU_BASHRC = """# ~/.bashrc: executed by bash(1) for non-login shells.
case $- in
    *i*) ;;
      *) return;;
esac
alias ll='ls -alF'
"""


@pytest.fixture
def miniforge_site(site: InstallerSite) -> InstallerSite:
    """The loopback publishers, serving Miniforge's default installer and its hash."""
    site.publish_default("miniforge")
    return site


def init_with_miniforge(site: InstallerSite) -> Path:
    """A first `init` that installs Miniforge from `site`; returns its prefix."""
    prefix = site.prefix("miniforge3")
    result = init_no_service("--distribution", "miniforge", "--prefix", str(prefix))
    assert result.exit_code == 0, result.output
    return prefix


def test_the_block_is_recognised_for_its_own_prefix_only() -> None:
    text = UBUNTU_BASHRC + "\n" + REAL_BLOCK + "\n# mine\n"
    block = conda_block(text)
    assert block == REAL_BLOCK
    assert activates(REAL_BLOCK, Path("/home/ubuntu/anaconda3"))
    assert not activates(REAL_BLOCK, Path("/home/ubuntu/anaconda"))
    assert not activates(REAL_BLOCK, Path("/home/ubuntu/miniforge3"))
    assert conda_block(UBUNTU_BASHRC) is None


def test_conda_init_adds_its_block_after_the_users_lines_once(
    miniforge_site: InstallerSite, home: Path
) -> None:
    bashrc = home / ".bashrc"
    bashrc.write_text(UBUNTU_BASHRC)
    prefix = init_with_miniforge(miniforge_site)
    text = bashrc.read_text()
    assert text.startswith(UBUNTU_BASHRC)
    block = conda_block(text)
    assert block is not None and activates(block, prefix)

    again = invoke("init")
    assert again.exit_code == 0, again.output
    assert step_states(again.output)["shell"] == "ok", again.output
    assert "source ~/.bashrc" not in again.output  # nothing changed: nothing to source
    assert bashrc.read_text() == text
    assert [c["command"] for c in conda_commands(prefix)].count("init") == 1


def test_the_summary_says_to_source_bashrc_when_it_changed(miniforge_site: InstallerSite) -> None:
    result = init_no_service(
        "--distribution", "miniforge", "--prefix", str(miniforge_site.prefix("miniforge3"))
    )
    assert result.exit_code == 0, result.output
    assert step_states(result.output)["shell"] == "changed", result.output
    assert without_spaces(SOURCE_NOTE) in without_spaces(result.output)


def test_a_removed_block_is_drift_and_is_put_back(
    miniforge_site: InstallerSite, home: Path
) -> None:
    prefix = init_with_miniforge(miniforge_site)
    bashrc = home / ".bashrc"
    bashrc.write_text(UBUNTU_BASHRC)
    status = invoke("status")
    assert status.exit_code == 3
    assert without_spaces("no conda initialize block") in without_spaces(status.output)
    repair = invoke("init")
    assert repair.exit_code == 0, repair.output
    assert step_states(repair.output)["shell"] == "changed", repair.output
    block = conda_block(bashrc.read_text())
    assert block is not None and activates(block, prefix)
    assert invoke("status").exit_code == 0


def test_a_block_for_another_conda_is_left_alone(miniforge_site: InstallerSite, home: Path) -> None:
    bashrc = home / ".bashrc"
    bashrc.write_text(UBUNTU_BASHRC + REAL_BLOCK + "\n")
    prefix = miniforge_site.prefix("miniforge3")
    result = init_no_service("--distribution", "miniforge", "--prefix", str(prefix))
    assert result.exit_code == 0, result.output
    assert step_states(result.output)["shell"] == "ok", result.output
    wanted = f"activates /home/ubuntu/anaconda3, not {prefix} (left as it is"
    assert without_spaces(wanted) in without_spaces(result.output)
    assert bashrc.read_text() == UBUNTU_BASHRC + REAL_BLOCK + "\n"
    assert "init" not in [c["command"] for c in conda_commands(prefix)]


def test_a_prefix_that_is_not_conda_leaves_bashrc_alone(home: Path, jupyter_prefix: Path) -> None:
    result = init_no_service("--prefix", str(jupyter_prefix))
    assert result.exit_code == 0, result.output
    assert step_states(result.output)["conda"] == "ok", result.output
    assert step_states(result.output)["shell"] == "ok", result.output
    assert "not a conda install" in result.output
    assert not (home / ".bashrc").exists()
