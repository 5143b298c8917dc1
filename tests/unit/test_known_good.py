"""The last working setup: remembered only when it changed, private, and put back whole
(the failing config kept as a backup). The restart itself is proven on real systemd in
tests/e2e/test_service.py."""

from __future__ import annotations

import stat
from pathlib import Path

from jupyter_bootstrap.files import Owner
from jupyter_bootstrap.service import known_good
from tests.support.fake_systemd import UNIT, FakeSystemd


def test_remember_writes_only_changes_and_keeps_it_private(tmp_path: Path) -> None:
    state, unit, config = tmp_path / "state", tmp_path / UNIT, tmp_path / "config.py"
    unit.write_text("[Service]\n")
    config.write_text("c.ServerApp.port = 8888\n")
    owner = Owner.current()
    assert known_good.remember(state, UNIT, unit, config, 8888, owner)
    assert not known_good.remember(state, UNIT, unit, config, 8888, owner)
    assert stat.S_IMODE(known_good.path_in(state).stat().st_mode) == 0o600
    good = known_good.load(state)
    assert good is not None and (good.port, good.config_text) == (8888, config.read_text())
    config.write_text("c.ServerApp.port = 9999\n")
    assert known_good.remember(state, UNIT, unit, config, 9999, owner)


def test_nothing_to_remember_without_both_files(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = tmp_path / "config.py"
    config.write_text("x = 1\n")
    assert not known_good.remember(state, UNIT, tmp_path / "none", config, 1, Owner.current())
    assert known_good.load(state) is None


def test_a_damaged_record_is_no_record(tmp_path: Path) -> None:
    (tmp_path / known_good.FILE_NAME).write_text("{not json")
    assert known_good.load(tmp_path) is None


def test_restore_puts_both_back_and_keeps_the_failing_config(
    tmp_path: Path, fake: FakeSystemd
) -> None:
    state, unit, config = tmp_path / "state", fake.unit_dir / UNIT, tmp_path / "config.py"
    unit.write_text("# Managed by jupyter-bootstrap.\n[Service]\n")
    config.write_text("good\n")
    owner = Owner.current()
    known_good.remember(state, UNIT, unit, config, 8888, owner)
    unit.write_text("# Managed by jupyter-bootstrap.\n[Service]\n# new\n")
    config.write_text("bad\n")
    good = known_good.load(state)
    assert good is not None
    restored = known_good.restore(good, owner)
    assert config.read_text() == "good\n" and unit.read_text().endswith("[Service]\n")
    (backup,) = tmp_path.glob("config.py.bak-*")
    assert backup.read_text() == "bad\n"
    assert any(backup.name in line for line in restored)
    assert fake.changes()[-2:] == [["daemon-reload"], ["restart", UNIT]]
