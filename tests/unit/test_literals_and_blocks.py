from __future__ import annotations

import ast
from pathlib import PurePath

import pytest

from jupyter_bootstrap import managed_block
from jupyter_bootstrap.literals import python_literal, systemd_plain, systemd_quoted

HOSTILE = [
    "plain",
    "it's",
    'say "hi"',
    "back\\slash\\",
    "new\nline",
    '"""; import os; os.system("touch /tmp/pwned") #',
    "'''\nc.ServerApp.ip = 'evil'",
    "\x00nul",
    "unicode \u00e9\u2028",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_python_literal_round_trips(value: str) -> None:
    rendered = python_literal(value)
    assert ast.literal_eval(rendered) == value
    # One expression, nothing else: no statement can hide in it.
    tree = ast.parse(f"x = {rendered}")
    assert len(tree.body) == 1


def test_python_literal_other_types() -> None:
    assert python_literal(8888) == "8888"
    assert python_literal(False) == "False"
    assert python_literal(None) == "None"
    assert ast.literal_eval(python_literal(["a'b", 'c"d'])) == ["a'b", 'c"d']
    assert ast.literal_eval(python_literal(PurePath("/x y/z"))) == "/x y/z"
    with pytest.raises(TypeError):
        python_literal({"a": 1})  # type: ignore[arg-type]


def test_systemd_quoting() -> None:
    assert systemd_quoted("/home/u/my dir/bin") == '"/home/u/my dir/bin"'
    assert systemd_quoted('50%"$HOME\\') == '"50%%\\"$$HOME\\\\"'
    assert systemd_plain("/srv/100%") == "/srv/100%%"
    for bad in ("a\nExecStartPre=/bin/evil", "tab\there"):
        with pytest.raises(ValueError):
            systemd_quoted(bad)
        with pytest.raises(ValueError):
            systemd_plain(bad)
    with pytest.raises(ValueError):
        systemd_plain(" padded")


def test_block_is_appended_and_replaced_in_place() -> None:
    user = "c.ServerApp.terminals_enabled = True\n"
    first = managed_block.render(user, "c.A.x = 1")
    assert first.startswith(user)
    assert managed_block.split(first).block is not None
    assert managed_block.outside_changes(user, first)  # no markers before: backup needed

    edited = first + "# my own line below\n"
    second = managed_block.render(edited, "c.A.x = 2")
    assert "c.A.x = 2" in second and "c.A.x = 1" not in second
    assert second.startswith(user) and second.endswith("# my own line below\n")
    assert not managed_block.outside_changes(edited, second)


def test_damaged_block_is_taken_to_the_end() -> None:
    text = f"mine = 1\n{managed_block.BEGIN}\nc.A.x = 1\n"
    parts = managed_block.split(text)
    assert parts.before == "mine = 1\n"
    assert parts.block == "c.A.x = 1\n"
    fixed = managed_block.render(text, "c.A.x = 3")
    assert fixed.count(managed_block.BEGIN) == 1 and managed_block.END in fixed
