"""How a download's progress is shown: a bar redrawn in place on a terminal (PuTTY over
SSH), one line per 10 % anywhere else (a pipe, a log file, journald). ASCII only.

The bar is drawn with plain writes rather than click.progressbar: its width has to stay
under a hard limit whatever the label and the terminal, and click's bar hides the cursor
while it draws, which stays hidden in the user's terminal when the process is killed.
Nothing here imports click, so the transfer (download.py) can use `format_bytes` without
pulling in the user interface.
"""

from __future__ import annotations

import shutil
import time
from typing import Callable, Optional, TextIO, Union

# console.py wraps all output at this width so that PuTTY never wraps a line; the bar keeps
# to it too, even on a wider terminal.
MAX_WIDTH = 100
# A bar narrower than this says nothing; a wider one only pushes the figures around.
MIN_BAR = 10
MAX_BAR = 40
# Without a size there are no 10 % bands: a line per this many bytes instead.
UNKNOWN_SIZE_STEP = 100 * 1024 * 1024


def format_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'. Binary units, one decimal, ASCII."""
    if abs(n) < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if abs(n) < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} TiB"


def format_duration(seconds: float) -> str:
    """75 -> '1:15', 3725 -> '1:02:05'. Rounded to the second; negative counts as zero."""
    whole = max(0, int(seconds + 0.5))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


class _Meter:
    """Bytes done, rate and ETA for one (re)start of a transfer."""

    def __init__(self, total: Optional[int], already: int) -> None:
        self.total = total
        self.done = already
        self._base = already
        self._t0 = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    @property
    def rate(self) -> float:
        # Resumed bytes came from the disk, not the network: counting them would inflate it.
        elapsed = self.elapsed
        return (self.done - self._base) / elapsed if elapsed > 0 else 0.0

    def eta(self) -> str:
        rate = self.rate
        if self.total is None or rate <= 0:
            return "--:--"
        return format_duration(max(0, self.total - self.done) / rate)

    def percent(self) -> int:
        if not self.total:
            return 100
        return min(100, self.done * 100 // self.total)


class PercentLines:
    """One line per `step` % band (per 100 MiB when the size is unknown), each prefixed
    with the label: a log or journald keeps every line, so a redrawn bar would be thousands."""

    def __init__(
        self, echo: Callable[[str], None], label: str = "download", step: int = 10
    ) -> None:
        self._echo = echo
        self._label = label[:40]
        self._step = step
        self._meter = _Meter(None, 0)
        self._next = 0

    def start(self, total: Optional[int], already: int) -> None:
        self._meter = meter = _Meter(total, already)
        if total:
            self._next = meter.percent() // self._step * self._step + self._step
            if already:
                self._say(
                    f"resuming at {meter.percent()}% "
                    f"({format_bytes(already)} of {format_bytes(total)})"
                )
            else:
                self._say(f"{format_bytes(total)} to fetch")
        else:
            self._next = already + UNKNOWN_SIZE_STEP
            resuming = f", resuming at {format_bytes(already)}" if already else ""
            self._say(f"size unknown{resuming}")

    def advance(self, n: int) -> None:
        meter = self._meter
        meter.done += n
        if meter.total:
            percent = meter.percent()
            if percent >= self._next:
                # One line even when a chunk jumps over several bands.
                self._next = percent // self._step * self._step + self._step
                self._say(
                    f"{percent:3d}% ({format_bytes(meter.done)} of {format_bytes(meter.total)}, "
                    f"{format_bytes(meter.rate)}/s)"
                )
        elif meter.done >= self._next:
            self._next = meter.done + UNKNOWN_SIZE_STEP
            self._say(f"{format_bytes(meter.done)} so far ({format_bytes(meter.rate)}/s)")

    def finish(self) -> None:
        meter = self._meter
        if meter.total is None or meter.done >= meter.total:
            self._say(
                f"done, {format_bytes(meter.done)} in {format_duration(meter.elapsed)} "
                f"({format_bytes(meter.rate)}/s)"
            )
        else:
            self._say(f"stopped at {format_bytes(meter.done)} of {format_bytes(meter.total)}")

    def _say(self, text: str) -> None:
        self._echo(f"{self._label}: {text}")


class TerminalBar:
    """`label  [######----]   60%    600.0 MiB    12.3 MiB/s  ETA     0:32`, redrawn in place.

    Without a known size there is nothing to fill: the line is a byte counter and the rate.
    """

    def __init__(self, stream: TextIO, label: str = "", *, min_interval: float = 0.2) -> None:
        self._stream = stream
        self._label = label
        self._min_interval = min_interval
        self._meter = _Meter(None, 0)
        self._active = False  # a line is on screen that the next frame overwrites
        self._shown = 0  # its length: a shorter frame must blank the rest
        self._last_draw = 0.0

    def start(self, total: Optional[int], already: int) -> None:
        self._end_line()  # a restart from zero gets a fresh line; the old one stays readable
        self._meter = _Meter(total, already)
        self._active = True
        self._draw()

    def advance(self, n: int) -> None:
        self._meter.done += n
        # A redraw per 1 MiB chunk would be ~1000 lines/s down an SSH session.
        if self._active and time.monotonic() - self._last_draw >= self._min_interval:
            self._draw()

    def finish(self) -> None:
        if self._active:
            self._draw()
            self._end_line()

    def _draw(self) -> None:
        self._last_draw = time.monotonic()
        columns = _columns()
        line = self._line(columns)
        self._write("\r" + line.ljust(min(self._shown, columns)))
        self._shown = len(line)

    def _line(self, columns: int) -> str:
        meter = self._meter
        # Fixed-width figures: the bar does not jump about as the numbers grow.
        counter = f"{format_bytes(meter.done):>10}  {format_bytes(meter.rate) + '/s':>12}"
        if meter.total is None:
            line = f"{self._label}  {counter}" if self._label else counter.lstrip()
            return line[:columns]
        info = f"{meter.percent():3d}%  {counter}  ETA {meter.eta():>8}"
        around_bar = len("[]  ") + len(info)
        # A long file name gives way before the bar shrinks below its minimum.
        label = self._label[: max(0, columns - around_bar - MIN_BAR - 2)]
        prefix = f"{label}  " if label else ""
        width = max(MIN_BAR, min(MAX_BAR, columns - around_bar - len(prefix)))
        filled = width * min(meter.done, meter.total) // meter.total if meter.total else width
        line = f"{prefix}[{'#' * filled}{'-' * (width - filled)}]  {info}"
        # The hard limit, for a terminal too narrow even for the minimum layout.
        return line[:columns]

    def _end_line(self) -> None:
        if self._active:
            self._write("\n")
            self._active = False
            self._shown = 0

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def _columns() -> int:
    # One column short of the terminal: a line that fills the last column makes some
    # terminals wrap, and every redraw would then start a new line. Measured per frame so
    # a PuTTY window made narrower mid-download does not start wrapping either.
    return max(0, min(shutil.get_terminal_size((80, 24)).columns, MAX_WIDTH) - 1)


def progress_for(stream: TextIO, label: str = "") -> Union[TerminalBar, PercentLines]:
    """A bar redrawn in place when `stream` is a terminal, else one line per 10 %. Both are
    a download.ProgressSink (by shape: this module does not import the transfer)."""
    if stream.isatty():
        return TerminalBar(stream, label)

    def echo(line: str) -> None:
        stream.write(line + "\n")
        stream.flush()

    return PercentLines(echo, label or "download")
