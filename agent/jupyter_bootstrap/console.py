"""What the user sees. Colour only on a TTY (click strips it elsewhere) and never when
NO_COLOR is set (the common convention), ASCII only, lines wrapped at 100 columns so PuTTY
never wraps them mid-word (a single path or URL longer than a line is left whole, so it can
still be copied)."""

from __future__ import annotations

import os
import textwrap
from typing import Any, Optional

import click

WIDTH = 100
NAME_WIDTH = 12
STATE_WIDTH = 8

STATE_COLOURS = {
    "ok": "green",
    "changed": "cyan",
    "would": "yellow",
    "drift": "yellow",
    "skipped": "bright_black",
    "FAILED": "red",
    "warning": "yellow",
}


def _style(text: str, **style: Any) -> str:
    """click.style, unless the user asked for no colour: NO_COLOR set to anything but the
    empty string. Read at every call, so a test (or a wrapper script) may set it late."""
    if os.environ.get("NO_COLOR"):
        return text
    return click.style(text, **style)


def _wrap(text: str, indent: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(
            textwrap.wrap(
                paragraph,
                width=WIDTH - indent,
                # A path or URL is never cut in two: the user copies it from PuTTY, and a
                # token longer than the line is better whole than broken.
                break_long_words=False,
                break_on_hyphens=False,
            )
            or [""]
        )
    return lines


def duration(seconds: float) -> str:
    """3d 4h, 2h 05m, 7m 12s, 42s: two units are plenty for an uptime."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


class Console:
    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def step(self, name: str, state: str, summary: str) -> None:
        """One report line: `  certificate  changed  generated ...` (wrapped, aligned)."""
        if self.quiet:
            return
        label = _style(f"{state:<{STATE_WIDTH}}", fg=STATE_COLOURS.get(state), bold=True)
        indent = 2 + NAME_WIDTH + 1 + STATE_WIDTH + 1
        lines = _wrap(summary, indent)
        click.echo(f"  {name:<{NAME_WIDTH}} {label} {lines[0]}")
        for line in lines[1:]:
            click.echo(" " * indent + line)

    def info(self, text: str = "") -> None:
        if self.quiet:
            return
        for line in _wrap(text, 0):
            click.echo(line)

    def field(self, label: str, text: str) -> None:
        """`  Label:       text` with the text wrapped under itself, not under the label."""
        if not self.quiet:
            heading = f"{label}:" if label else ""
            self._labelled(f"  {heading:<13}", text, None)

    def hanging(self, label: str, text: str) -> None:
        """`label` then `text`, wrapped under itself (numbered steps, bullets)."""
        if not self.quiet:
            self._labelled(label, text, None)

    def heading(self, text: str) -> None:
        click.echo(_style(text, bold=True))

    def warn(self, text: str) -> None:
        if self.quiet:
            return
        self._labelled("warning: ", text, "yellow", err=True)

    def error(
        self,
        message: str,
        hint: Optional[str] = None,
        details: Optional[str] = None,
        log: Optional[str] = None,
    ) -> None:
        """What went wrong, then what to do next, then where the full story is."""
        self._labelled("error: ", message, "red", err=True)
        if details:
            for line in details.splitlines():
                click.echo("  | " + line[: WIDTH - 4], err=True)
        if hint:
            self._labelled("  try: ", hint, None, err=True)
        if log:
            self._labelled("  log: ", log, None, err=True)

    @staticmethod
    def _labelled(label: str, text: str, colour: Optional[str], err: bool = False) -> None:
        lines = _wrap(text, len(label))
        click.echo(_style(label, fg=colour, bold=colour is not None) + lines[0], err=err)
        for line in lines[1:]:
            click.echo(" " * len(label) + line, err=err)
