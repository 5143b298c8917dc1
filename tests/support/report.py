"""The report `init` and `status` print, one line per step (`  NAME  STATE  summary`, the
summary wrapped under itself), read back into dictionaries."""

from __future__ import annotations

import re

STEP_LINE = re.compile(r"^  (\w+)\s+(ok|changed|drift|skipped|FAILED)\s")
# Where a wrapped summary goes on: under the summary, past the name and state columns.
CONTINUATION = " " * 24


def step_states(output: str) -> dict[str, str]:
    """{step: state} from the report lines."""
    found = {}
    for line in output.splitlines():
        match = STEP_LINE.match(line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def step_lines(output: str) -> dict[str, str]:
    """`  conda        changed  installed ...` -> {"conda": "changed installed ..."}, with
    wrapped continuation lines joined."""
    lines: dict[str, str] = {}
    last = None
    for line in output.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and len(line.split()) >= 2:
            last = line.split()[0]
            lines[last] = " ".join(line.split()[1:])
        elif last and line.startswith(CONTINUATION):
            lines[last] += " " + line.strip()
        else:
            last = None
    return lines
