"""The record of renderings: what a template gave is recalled only for the very same inputs,
only from a record that is this user's alone, and only while it is whole."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_bootstrap import derived, templating
from jupyter_bootstrap.service.renewal_units import TIMER_TEMPLATE

VALUES = {"marker": "# managed by jupyter-bootstrap", "description": "Renew (test)"}


def records(home: Path) -> list[Path]:
    directory = home / derived.RECORD_DIR / templating.KIND
    return sorted(p for p in directory.iterdir() if not p.name.startswith("."))


def fresh(**values: str) -> str:
    """What jinja2 itself renders, with no record involved."""
    from jupyter_bootstrap import literals, paths

    environment = literals.template_environment(paths.template_dir())
    return environment.get_template(TIMER_TEMPLATE).render(**values)


def test_the_first_rendering_is_kept_private_and_the_second_recalled(home: Path) -> None:
    text = templating.render(TIMER_TEMPLATE, **VALUES)
    assert text == fresh(**VALUES)
    (kept,) = records(home)
    assert (home / derived.RECORD_DIR / templating.KIND).stat().st_mode & 0o777 == 0o700
    assert kept.stat().st_mode & 0o777 == 0o600
    # Recalled, not rendered again: a changed record (with a matching digest) shows through.
    planted = "planted\n"
    digest = hashlib.sha256(planted.encode()).hexdigest()
    kept.write_text(f"{digest}\n{planted}")
    assert templating.render(TIMER_TEMPLATE, **VALUES) == planted


def test_other_values_are_rendered_and_kept_apart(home: Path) -> None:
    first = templating.render(TIMER_TEMPLATE, **VALUES)
    other = {**VALUES, "description": "Renew (another)"}
    second = templating.render(TIMER_TEMPLATE, **other)
    assert second == fresh(**other) != first
    assert len(records(home)) == 2
    # A value of a type with no known text form: rendered, never recalled or kept.
    third = templating.render(TIMER_TEMPLATE, marker=VALUES["marker"], description=Odd())
    assert "Renew (odd)" in third and len(records(home)) == 2


class Odd:
    def __str__(self) -> str:
        return "Renew (odd)"


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda p: p.write_bytes(p.read_bytes()[:-5]), id="cut-short"),
        pytest.param(lambda p: p.write_bytes(b""), id="empty"),
        pytest.param(lambda p: p.chmod(0o620), id="group-writable"),
        pytest.param(lambda p: p.parent.chmod(0o777), id="directory-writable-by-all"),
    ],
)
def test_a_record_that_is_damaged_or_not_ours_alone_is_rendered_again(
    home: Path, damage: object
) -> None:
    expected = templating.render(TIMER_TEMPLATE, **VALUES)
    (kept,) = records(home)
    kept.write_text(kept.read_text().replace("Renew (test)", "Renew (tampered)"))
    _, _, text = kept.read_bytes().partition(b"\n")
    kept.write_bytes(hashlib.sha256(text).hexdigest().encode() + b"\n" + text)
    assert callable(damage)
    damage(kept)
    assert templating.render(TIMER_TEMPLATE, **VALUES) == expected


def test_a_record_someone_else_owns_is_not_believed(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root running with the login user's HOME must not take a unit's text from there."""
    expected = templating.render(TIMER_TEMPLATE, **VALUES)
    monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 1)
    (kept,) = records(home)
    kept.unlink()
    assert templating.render(TIMER_TEMPLATE, **VALUES) == expected
    assert records(home) == []  # nothing written to a directory that is not ours


def test_old_renderings_are_dropped_beyond_the_limit(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(derived, "KEEP", 3)
    for number in range(5):
        templating.render(TIMER_TEMPLATE, marker="#", description=f"Renew {number}")
    assert len(records(home)) == 3


def test_a_record_that_cannot_be_kept_costs_a_rendering_nothing_else(home: Path) -> None:
    """A home where the record's directory cannot be (a file is in its place, the disk is
    full, the home is read-only): the text is rendered every time, and no error shows."""
    blocked = home / derived.RECORD_DIR / templating.KIND
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a directory")
    for _ in range(2):
        assert templating.render(TIMER_TEMPLATE, **VALUES) == fresh(**VALUES)
    assert blocked.read_text() == "not a directory"


RECALL = """
import json, sys
from jupyter_bootstrap import derived, templating
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


def test_a_command_that_changes_nothing_only_recalls(home: Path) -> None:
    with derived.recall_only():
        assert templating.render(TIMER_TEMPLATE, **VALUES) == fresh(**VALUES)
    assert not (home / derived.RECORD_DIR / templating.KIND).exists()
    templating.render(TIMER_TEMPLATE, **VALUES)
    (kept,) = records(home)
    kept.write_bytes(hashlib.sha256(b"recalled").hexdigest().encode() + b"\nrecalled")
    with derived.recall_only():
        assert templating.render(TIMER_TEMPLATE, **VALUES) == "recalled"


def test_what_a_refused_run_would_keep_is_dropped(home: Path) -> None:
    with pytest.raises(RuntimeError), derived.held_until_done():
        templating.render(TIMER_TEMPLATE, **VALUES)
        raise RuntimeError("refused")
    assert not (home / derived.RECORD_DIR / templating.KIND).exists()
    with derived.held_until_done():
        templating.render(TIMER_TEMPLATE, **VALUES)
        assert not (home / derived.RECORD_DIR / templating.KIND).exists()
    assert len(records(home)) == 1


def test_another_jinja2_renders_again(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """jinja2 upgraded under the same agent: its package file differs, so does the key."""
    templating.render(TIMER_TEMPLATE, **VALUES)
    import importlib.machinery
    import importlib.util

    other = tmp_path / "jinja2" / "__init__.py"
    other.parent.mkdir()
    other.write_text('__version__ = "99.0"\n')
    spec = importlib.machinery.ModuleSpec("jinja2", None, origin=str(other))
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    templating.render(TIMER_TEMPLATE, **VALUES)
    assert len(records(home)) == 2
