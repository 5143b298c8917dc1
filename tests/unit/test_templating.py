"""What a template rendered is kept, one record per template, and recalled only for the
very same inputs, only from a record that is this user's alone, and only while it is
whole. Commands that promise to change nothing only recall."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_bootstrap import derived, literals, paths, templating
from jupyter_bootstrap.service.renewal_units import TIMER_TEMPLATE
from tests.support.cli import init_files_only, invoke

VALUES = {"marker": "# managed by jupyter-bootstrap", "description": "Renew (test)"}


def folder(home: Path) -> Path:
    return home / derived.RECORD_DIR / templating.KIND


def records(home: Path) -> list[Path]:
    if not folder(home).is_dir():
        return []
    return sorted(p for p in folder(home).iterdir() if not p.name.startswith("."))


def fresh(**values: object) -> str:
    """What jinja2 itself renders, with no record involved."""
    environment = literals.template_environment(paths.template_dir())
    return environment.get_template(TIMER_TEMPLATE).render(**values)


def plant(text: str, **values: object) -> None:
    """A record for `values` that says `text`: whole, and ours."""
    key = templating._key(TIMER_TEMPLATE, values)
    assert key is not None
    derived.keep(templating.KIND, TIMER_TEMPLATE, key, text.encode())


def test_the_first_rendering_is_kept_private_and_the_second_recalled(home: Path) -> None:
    text = templating.render(TIMER_TEMPLATE, **VALUES)
    assert text == fresh(**VALUES)
    (kept,) = records(home)
    assert kept.name == TIMER_TEMPLATE
    for directory in (home / ".cache", home / derived.RECORD_DIR, folder(home)):
        assert directory.stat().st_mode & 0o777 == 0o700
    assert kept.stat().st_mode & 0o777 == 0o600
    plant("planted\n", **VALUES)  # recalled, not rendered again: the planted text shows
    assert templating.render(TIMER_TEMPLATE, **VALUES) == "planted\n"


def test_other_values_are_rendered_and_replace_the_old_record(home: Path) -> None:
    """One record per template: an old password's hash does not stay behind."""
    templating.render(TIMER_TEMPLATE, **VALUES)
    other = {**VALUES, "description": "Renew (another)"}
    assert templating.render(TIMER_TEMPLATE, **other) == fresh(**other)
    (kept,) = records(home)
    assert b"Renew (another)" in kept.read_bytes() and b"Renew (test)" not in kept.read_bytes()
    # A value of a type with no known text form: rendered, never recalled or kept.
    odd = templating.render(TIMER_TEMPLATE, marker=VALUES["marker"], description=Odd())
    assert "Renew (odd)" in odd and records(home) == [kept]
    assert b"Renew (another)" in kept.read_bytes()


class Odd:
    def __str__(self) -> str:
        return "Renew (odd)"


def _move_template(home: Path, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    copy = tmp / "templates"
    shutil.copytree(paths.template_dir(), copy)
    (copy / TIMER_TEMPLATE).write_text((copy / TIMER_TEMPLATE).read_text() + "# changed\n")
    monkeypatch.setattr(templating, "template_dir", lambda: copy)
    monkeypatch.setattr(paths, "template_dir", lambda: copy)


def _new_filters(home: Path, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    changed = tmp / "literals.py"
    changed.write_bytes(Path(literals.__file__).read_bytes() + b"# changed\n")
    monkeypatch.setattr(literals, "__file__", str(changed))


def _new_agent(home: Path, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    monkeypatch.setattr(templating, "__version__", "99.0.0")


def _new_jinja2(home: Path, monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    other = tmp / "jinja2" / "__init__.py"
    other.parent.mkdir()
    other.write_text('__version__ = "99.0"\n')
    spec = importlib.machinery.ModuleSpec("jinja2", None, origin=str(other))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_move_template, id="the-template"),
        pytest.param(_new_filters, id="the-filters"),
        pytest.param(_new_agent, id="the-agent-version"),
        pytest.param(_new_jinja2, id="jinja2"),
    ],
)
def test_a_change_in_anything_the_rendering_depends_on_renders_again(
    home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Path, pytest.MonkeyPatch, Path], None],
) -> None:
    templating.render(TIMER_TEMPLATE, **VALUES)
    plant("stale\n", **VALUES)
    change(home, monkeypatch, tmp_path)
    assert templating.render(TIMER_TEMPLATE, **VALUES) != "stale\n"


def test_the_order_of_a_mapping_is_part_of_the_key() -> None:
    """A template may loop over a mapping: the same items in another order are other
    inputs."""
    first = templating._key(TIMER_TEMPLATE, {"marker": "#", "description": {"a": 1, "b": 2}})
    second = templating._key(TIMER_TEMPLATE, {"marker": "#", "description": {"b": 2, "a": 1}})
    assert first is not None and second is not None and first != second


DAMAGE = [
    pytest.param(lambda p: p.write_bytes(p.read_bytes()[:-5]), id="cut-short"),
    pytest.param(lambda p: p.write_bytes(b""), id="empty"),
    pytest.param(lambda p: p.chmod(0o620), id="group-writable"),
    pytest.param(lambda p: p.parent.chmod(0o777), id="folder-writable-by-all"),
    pytest.param(lambda p: p.parent.parent.chmod(0o770), id="parent-group-writable"),
    pytest.param(lambda p: _replace(p, Path.mkdir), id="a-folder-in-its-place"),
    pytest.param(lambda p: _replace(p, os.mkfifo), id="a-fifo-in-its-place"),
]


def _replace(path: Path, make: Callable[[Path], None]) -> None:
    path.unlink()
    make(path)


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_record_that_is_damaged_or_not_ours_alone_is_rendered_again(
    home: Path, damage: Callable[[Path], object]
) -> None:
    expected = templating.render(TIMER_TEMPLATE, **VALUES)
    plant("tampered\n", **VALUES)
    (kept,) = records(home)
    damage(kept)
    assert templating.render(TIMER_TEMPLATE, **VALUES) == expected


def test_a_record_kept_under_other_inputs_is_not_taken(home: Path) -> None:
    """The key is stored with the text and the checksum covers both: a record copied
    over from other inputs is not believed."""
    templating.render(TIMER_TEMPLATE, **VALUES)
    (kept,) = records(home)
    data = kept.read_bytes()
    other_key = "0" * 64
    kept.write_bytes(other_key.encode() + data[64:])
    assert templating.render(TIMER_TEMPLATE, **VALUES) == fresh(**VALUES)


def test_a_symlinked_record_folder_is_not_used(home: Path, tmp_path: Path) -> None:
    """Someone who can plant a symlink where the records go does not get them read or
    written elsewhere."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (home / derived.RECORD_DIR).mkdir(parents=True, mode=0o700)
    folder(home).symlink_to(elsewhere)
    assert templating.render(TIMER_TEMPLATE, **VALUES) == fresh(**VALUES)
    assert list(elsewhere.iterdir()) == []


def test_a_home_that_is_not_ours_gets_no_record(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root run with the login user's HOME (sudo -E) must not take a unit's text from
    there, nor write there."""
    monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 1)
    assert templating.render(TIMER_TEMPLATE, **VALUES) == fresh(**VALUES)
    assert not (home / ".cache").exists()


def test_a_record_that_cannot_be_kept_costs_a_rendering_nothing_else(home: Path) -> None:
    """A file where the record's folder should be (or a full disk, a read-only home): the
    text is rendered every time, and no error shows."""
    blocked = folder(home)
    blocked.parent.mkdir(parents=True, mode=0o700)
    blocked.write_text("not a directory")
    for _ in range(2):
        assert templating.render(TIMER_TEMPLATE, **VALUES) == fresh(**VALUES)
    assert blocked.read_text() == "not a directory"


def test_a_command_that_changes_nothing_only_recalls(home: Path) -> None:
    with derived.recall_only():
        assert templating.render(TIMER_TEMPLATE, **VALUES) == fresh(**VALUES)
    assert records(home) == []
    plant("recalled\n", **VALUES)
    with derived.recall_only():
        assert templating.render(TIMER_TEMPLATE, **VALUES) == "recalled\n"


def test_what_a_refused_run_would_keep_is_dropped(home: Path) -> None:
    with pytest.raises(RuntimeError), derived.held_until_done():
        templating.render(TIMER_TEMPLATE, **VALUES)
        raise RuntimeError("refused")
    assert records(home) == []
    with derived.held_until_done():
        templating.render(TIMER_TEMPLATE, **VALUES)
        assert records(home) == []
    assert len(records(home)) == 1


def test_init_keeps_dry_run_does_not_and_uninstall_removes_them(
    home: Path, jupyter_prefix: Path
) -> None:
    dry = invoke("init", "--prefix", str(jupyter_prefix), "--no-service", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert records(home) == []
    assert init_files_only(jupyter_prefix).exit_code == 0
    config = folder(home) / "jupyter_server_config.py.j2"
    assert config in records(home)
    assert b"argon2:" in config.read_bytes()  # the hash: it must go with the settings
    assert (home / derived.RECORD_DIR / "hashes").is_dir()  # the verdict on it, likewise
    gone = invoke("uninstall", "--yes")
    assert gone.exit_code == 0, gone.output
    assert not folder(home).exists()
    assert not (home / derived.RECORD_DIR / "certificates").exists()
    assert not (home / derived.RECORD_DIR / "hashes").exists()


RECALL = """
import json, sys
from jupyter_bootstrap import templating
text = templating.render(sys.argv[1], marker="#", description="Renew (fresh process)")
sys.stdout.write(json.dumps({"text": text, "jinja2": "jinja2" in sys.modules}))
"""


def test_a_recalled_rendering_does_not_import_jinja2(home: Path) -> None:
    def run() -> dict[str, object]:
        result = subprocess.run(
            [sys.executable, "-c", RECALL, TIMER_TEMPLATE],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        found: dict[str, object] = json.loads(result.stdout)
        return found

    first, second = run(), run()
    assert first["jinja2"] is True and second["jinja2"] is False
    assert first["text"] == second["text"]


def test_a_value_with_undecodable_bytes_is_rendered_not_kept(home: Path) -> None:
    """A path or variable read from the system may hold them (as surrogates)."""
    text = templating.render(TIMER_TEMPLATE, marker="#", description="Renew \udcff")
    assert "\udcff" in text and records(home) == []


def test_the_code_a_result_is_keyed_on_is_read_without_importing_it(tmp_path: Path) -> None:
    # A package nobody imported: found on the path, read, and still not imported.
    package = tmp_path / "not_imported_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    (package / "_reader.py").write_text("# the reader\n")
    sys.path.insert(0, str(tmp_path))
    try:
        assert derived.package_code("not_imported_pkg", "__init__.py", "_reader.py") == [
            b"raise RuntimeError('imported')\n",
            b"# the reader\n",
        ]
        assert "not_imported_pkg" not in sys.modules
        # Nothing to key on: a missing file, or no such package.
        assert derived.package_code("not_imported_pkg", "_gone.py") is None
        assert derived.package_code("no_such_package_anywhere", "__init__.py") is None
    finally:
        sys.path.remove(str(tmp_path))
        sys.path_importer_cache.pop(str(tmp_path), None)
