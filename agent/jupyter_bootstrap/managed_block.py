"""The block between marker comments that the agent owns inside a file the user may edit."""

from __future__ import annotations

from typing import NamedTuple, Optional

BEGIN = "# >>> jupyter-bootstrap managed block >>>"
END = "# <<< jupyter-bootstrap managed block <<<"
NOTICE = (
    "# Written by jupyter-bootstrap: edits between these markers are replaced on the next\n"
    "# `jupyter-bootstrap init`. Put your own settings below the closing marker.\n"
)


class SplitFile(NamedTuple):
    before: str
    block: Optional[str]  # the body between the markers; None when there are no markers
    after: str


def split(text: str) -> SplitFile:
    """Find our block. A begin marker without an end marker means a damaged block: since we
    always append the block last, everything after that marker is taken as the block."""
    lines = text.splitlines(keepends=True)
    begin = _index(lines, BEGIN)
    if begin is None:
        return SplitFile(text, None, "")
    end = _index(lines, END, start=begin + 1)
    if end is None:
        return SplitFile("".join(lines[:begin]), "".join(lines[begin + 1 :]), "")
    return SplitFile(
        "".join(lines[:begin]),
        "".join(lines[begin + 1 : end]),
        "".join(lines[end + 1 :]),
    )


def _index(lines: list[str], marker: str, start: int = 0) -> Optional[int]:
    for number in range(start, len(lines)):
        if lines[number].strip() == marker:
            return number
    return None


def render(existing: str, body: str) -> str:
    """`existing` with our block replaced by `body` (appended when it had none)."""
    parts = split(existing)
    block = f"{BEGIN}\n{NOTICE}{body.rstrip()}\n{END}\n"
    if parts.block is None:
        before = parts.before
        if before and not before.endswith("\n"):
            before += "\n"
        if before.strip():
            before += "\n"
        return before + block
    return parts.before + block + parts.after


def remove(text: str) -> str:
    """`text` without our block; what the user wrote around it stays as it was."""
    parts = split(text)
    before = parts.before.rstrip("\n")
    before = before + "\n" if before else ""
    if before and parts.after.strip():
        return before + "\n" + parts.after.lstrip("\n")
    return before + parts.after.lstrip("\n")


def outside_changes(existing: str, updated: str) -> bool:
    """True when going from `existing` to `updated` changes anything outside our block, i.e.
    when a backup must be kept."""
    if not existing.strip():
        return False
    old, new = split(existing), split(updated)
    if old.block is None:
        return True
    return (old.before, old.after) != (new.before, new.after)
