"""Durations as people type them on the command line (`2h`, `90m`, `1h30m`, `45s`, `1d`)
and as the agent writes them back, in the same form, so what `info` shows can be typed
again."""

from __future__ import annotations

import re

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
# What turns a timed feature off instead of naming a duration (`--stop-when-idle off`).
OFF_WORDS = ("off", "no", "never", "none", "false")
_PART = re.compile(r"(\d+)([dhms])")
_WHOLE = re.compile(r"(?:\d+[dhms])+")


class NotADuration(ValueError):
    """The text is not a duration; the message says what would be one."""


def parse(text: str) -> int:
    """Seconds in `text`: one or more number-unit pairs, largest unit first or not, e.g.
    `3h`, `1h30m`. A bare number is refused: 5 could be seconds, minutes or hours."""
    compact = text.strip().lower().replace(" ", "")
    if compact.isdigit():
        raise NotADuration(f"{text!r} has no unit: write e.g. {compact}m or {compact}h")
    if not _WHOLE.fullmatch(compact):
        raise NotADuration(f"{text!r} is not a duration: write e.g. 3h, 90m or 1h30m")
    return sum(int(number) * UNITS[unit] for number, unit in _PART.findall(compact))


def describe(seconds: int) -> str:
    """`1h30m`, `2h`, `45s`: the largest units, no zero parts; parse() reads it back."""
    if seconds <= 0:
        return "0s"
    parts = []
    rest = seconds
    for unit, size in UNITS.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def is_off(text: str) -> bool:
    return text.strip().lower() in OFF_WORDS
