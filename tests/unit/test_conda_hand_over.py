"""Root downloading conda for the login user (cloud-init, `init --user`): what it leaves in
the user's cache is the user's, the part of a failed download included, so the user's own
`init` can resume it. (Found by the first boot that failed: the user's repair could not
write the root-owned .part.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_bootstrap.files import Owner
from jupyter_bootstrap.steps.conda import _hand_over

USER = Owner(54321, 54321)


@pytest.fixture
def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a file away needs root")


@pytest.mark.usefixtures("as_root")
def test_a_part_left_by_root_becomes_the_users(tmp_path: Path) -> None:
    part = tmp_path / "Miniforge3-Linux-x86_64.sh.part"
    part.write_bytes(b"half")
    _hand_over(part, USER)
    assert (part.stat().st_uid, part.stat().st_gid) == (USER.uid, USER.gid)


@pytest.mark.usefixtures("as_root")
def test_missing_files_and_links_are_left_alone(tmp_path: Path) -> None:
    _hand_over(tmp_path / "never-made", USER)
    target = tmp_path / "elsewhere"
    target.write_text("not ours to give")
    link = tmp_path / "link.part"
    link.symlink_to(target)
    _hand_over(link, USER)
    assert target.stat().st_uid == 0 and link.lstat().st_uid == 0
