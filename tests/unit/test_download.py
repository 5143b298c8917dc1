"""download.py against a real loopback HTTP server that drops, stalls, lies and 404s; the
progress display it feeds (progress.py); the one sha256 spelling both rely on."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
from pathlib import Path
from typing import Any, Optional

import pytest
import requests

from jupyter_bootstrap.conda_installers import is_sha256, normalise_sha256
from jupyter_bootstrap.download import (
    ProgressSink,
    SpaceNeed,
    download_verified,
    ensure_free_space,
    fetch_text,
    remote_size,
)
from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.progress import (
    PercentLines,
    TerminalBar,
    format_bytes,
    format_duration,
    progress_for,
)
from tests.support.installer_server import Behaviour, InstallerServer

MiB = 1024 * 1024
SIZE = 3 * MiB + 12345  # not a multiple of the chunk size, on purpose
DATA = os.urandom(SIZE)
SHA = hashlib.sha256(DATA).hexdigest()
FAST: dict[str, Any] = {"backoff": 0.01, "connect_timeout": 2, "read_timeout": 2}


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # download.py honours env proxies on purpose; the tests must still only talk to 127.0.0.1.
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")


@pytest.fixture
def server(installer_server: InstallerServer) -> InstallerServer:
    return installer_server


def part_of(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def gets(srv: InstallerServer, path: str = "/f.sh") -> list[Any]:
    return srv.requests(path, method="GET")


# --------------------------------------------------------------------------- happy paths


def test_fresh_download(server: InstallerServer, tmp_path: Path) -> None:
    url = server.add("/f.sh", DATA)
    dest = tmp_path / "sub" / "f.sh"  # parent created on demand
    res = download_verified(url, dest, SHA, **FAST)
    assert (res.path, res.sha256, res.size, res.bytes_transferred, res.reused) == (
        dest,
        SHA,
        SIZE,
        SIZE,
        False,
    )
    assert dest.read_bytes() == DATA
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert not part_of(dest).exists()
    [req] = gets(server)
    assert req.range is None
    assert req.headers["User-Agent"].startswith("jupyter-bootstrap/")
    assert req.headers["Accept-Encoding"] == "identity"
    assert server.bytes_sent("/f.sh") == SIZE


def test_uppercase_hash_with_whitespace_is_accepted(
    server: InstallerServer, tmp_path: Path
) -> None:
    url = server.add("/f.sh", DATA)
    res = download_verified(url, tmp_path / "f.sh", f" {SHA.upper()}\n", **FAST)
    assert res.sha256 == SHA


def test_verified_dest_is_reused_without_network(server: InstallerServer, tmp_path: Path) -> None:
    server.add("/f.sh", DATA)
    dest = tmp_path / "f.sh"
    dest.write_bytes(DATA)
    res = download_verified(server.url("/f.sh"), dest, SHA, **FAST)
    assert res.reused and res.bytes_transferred == 0 and res.size == SIZE
    assert server.requests() == []


def test_wrong_existing_dest_is_replaced(server: InstallerServer, tmp_path: Path) -> None:
    url = server.add("/f.sh", DATA)
    dest = tmp_path / "f.sh"
    dest.write_bytes(b"an older installer")
    res = download_verified(url, dest, SHA, **FAST)
    assert not res.reused and dest.read_bytes() == DATA


def test_complete_part_from_earlier_run_needs_no_network(
    server: InstallerServer, tmp_path: Path
) -> None:
    url = server.add("/f.sh", DATA)
    dest = tmp_path / "f.sh"
    part_of(dest).write_bytes(DATA)
    res = download_verified(url, dest, SHA, **FAST)
    assert dest.read_bytes() == DATA and res.bytes_transferred == 0
    assert server.requests() == []


# --------------------------------------------------------------------------- resume


def test_dropped_connection_resumes_with_range(server: InstallerServer, tmp_path: Path) -> None:
    cut = MiB + 4321
    url = server.add("/f.sh", DATA, Behaviour(drop_after=cut))
    dest = tmp_path / "f.sh"
    res = download_verified(url, dest, SHA, **FAST)
    assert dest.read_bytes() == DATA
    first, second = gets(server)
    assert first.bytes_sent == cut and first.range is None
    assert second.range == f"bytes={cut}-" and second.status == 206
    # Nothing was sent twice: the whole transfer cost exactly one file.
    assert server.bytes_sent("/f.sh") == SIZE
    assert res.bytes_transferred == SIZE


def test_part_left_by_earlier_call_is_resumed(server: InstallerServer, tmp_path: Path) -> None:
    url = server.add("/f.sh", DATA)
    dest = tmp_path / "f.sh"
    part_of(dest).write_bytes(DATA[: 2 * MiB])
    res = download_verified(url, dest, SHA, **FAST)
    assert dest.read_bytes() == DATA
    [req] = gets(server)
    assert req.range == f"bytes={2 * MiB}-"
    assert res.bytes_transferred == SIZE - 2 * MiB == server.bytes_sent("/f.sh")


def test_server_ignoring_range_restarts_from_zero(server: InstallerServer, tmp_path: Path) -> None:
    cut = MiB + 777
    url = server.add("/f.sh", DATA, Behaviour(honour_range=False, drop_after=cut))
    dest = tmp_path / "f.sh"
    res = download_verified(url, dest, SHA, **FAST)
    assert dest.read_bytes() == DATA
    _first, second = gets(server)
    assert second.range == f"bytes={cut}-" and second.status == 200
    assert res.bytes_transferred == cut + SIZE == server.bytes_sent("/f.sh")


def test_if_range_carries_the_validator(server: InstallerServer, tmp_path: Path) -> None:
    url = server.add("/f.sh", DATA, Behaviour(drop_after=MiB, etag='"v1"'))
    download_verified(url, tmp_path / "f.sh", SHA, **FAST)
    _first, second = gets(server)
    assert second.if_range == '"v1"' and second.status == 206


def test_stall_is_retried_after_read_timeout(server: InstallerServer, tmp_path: Path) -> None:
    stall_at = 2 * MiB + 500_000
    url = server.add("/f.sh", DATA, Behaviour(stall_after=stall_at, stall_seconds=1.5))
    dest = tmp_path / "f.sh"
    download_verified(url, dest, SHA, backoff=0.01, connect_timeout=2, read_timeout=0.3)
    assert dest.read_bytes() == DATA
    reqs = gets(server)
    assert len(reqs) >= 2  # more only if a loaded machine also trips the 0.3 s timeout
    second = reqs[1]
    # Whatever reached the disk before the stall is kept: the retry is a resume.
    assert second.range is not None
    resumed_at = int(second.range.split("=")[1].rstrip("-"))
    assert 0 < resumed_at <= stall_at


def test_5xx_is_retried(server: InstallerServer, tmp_path: Path) -> None:
    url = server.add("/f.sh", DATA, Behaviour(status=503, status_times=2))
    download_verified(url, tmp_path / "f.sh", SHA, **FAST)
    assert [r.status for r in gets(server)] == [503, 503, 200]


def test_oversized_part_gets_416_then_clean_restart(
    server: InstallerServer, tmp_path: Path
) -> None:
    url = server.add("/f.sh", DATA)
    dest = tmp_path / "f.sh"
    part_of(dest).write_bytes(DATA + b"trailing junk")
    download_verified(url, dest, SHA, **FAST)
    assert dest.read_bytes() == DATA
    assert [(r.status, r.range) for r in gets(server)] == [
        (416, f"bytes={SIZE + 13}-"),
        (200, None),
    ]


def test_stale_part_of_another_file_is_refetched_once(
    server: InstallerServer, tmp_path: Path
) -> None:
    url = server.add("/f.sh", DATA)
    dest = tmp_path / "f.sh"
    part_of(dest).write_bytes(os.urandom(MiB))  # e.g. an older "latest" installer
    download_verified(url, dest, SHA, **FAST)
    assert dest.read_bytes() == DATA
    assert [r.range for r in gets(server)] == [f"bytes={MiB}-", None]


def test_attempts_that_progress_do_not_use_up_retries(
    server: InstallerServer, tmp_path: Path
) -> None:
    # Every GET drops after 1.5 MiB: with retries=1 only progress keeps the download alive.
    url = server.add("/f.sh", DATA, Behaviour(drop_after=MiB + MiB // 2, drop_times=99))
    dest = tmp_path / "f.sh"
    download_verified(url, dest, SHA, retries=1, **FAST)
    assert dest.read_bytes() == DATA
    assert len(gets(server)) == 3


# --------------------------------------------------------------------------- failing closed


def test_hash_mismatch_fails_closed(server: InstallerServer, tmp_path: Path) -> None:
    url = server.add("/f.sh", DATA, Behaviour(corrupt_at=SIZE // 2))
    dest = tmp_path / "f.sh"
    with pytest.raises(StepFailed) as info:
        download_verified(url, dest, SHA, **FAST)
    bad = bytearray(DATA)
    bad[SIZE // 2] ^= 0xFF
    actual = hashlib.sha256(bad).hexdigest()
    assert SHA in info.value.message and actual in info.value.message
    assert all(len(line) < 100 for line in info.value.message.splitlines())
    assert not dest.exists() and not part_of(dest).exists()
    assert len(gets(server)) == 1  # a wrong file is not "retried" into acceptance


def test_404_fails_without_retry(server: InstallerServer, tmp_path: Path) -> None:
    url = server.url("/missing.sh")
    with pytest.raises(StepFailed) as info:
        download_verified(url, tmp_path / "m.sh", SHA, **FAST)
    assert url in info.value.message and "404" in info.value.message
    assert info.value.hint
    assert len(server.requests()) == 1


@pytest.mark.parametrize("bad", ["", "   ", "abc", "z" * 64, SHA[:-1], SHA + "0", None])
def test_invalid_expected_hash_refused_before_any_request(
    server: InstallerServer, tmp_path: Path, bad: Any
) -> None:
    url = server.add("/f.sh", DATA)
    dest = tmp_path / "f.sh"
    with pytest.raises(StepFailed, match="sha256"):
        download_verified(url, dest, bad, **FAST)
    assert server.requests() == []
    assert not dest.exists() and not part_of(dest).exists()


def test_retries_exhausted_keeps_part_for_later_resume(
    server: InstallerServer, tmp_path: Path
) -> None:
    cut = 256 * 1024  # less than the progress that would earn retries back
    url = server.add("/f.sh", DATA, Behaviour(drop_after=cut, drop_times=99))
    dest = tmp_path / "f.sh"
    with pytest.raises(StepFailed) as info:
        download_verified(url, dest, SHA, retries=2, **FAST)
    assert url in info.value.message and "3 attempts" in info.value.message
    assert str(part_of(dest)) in (info.value.hint or "")
    assert len(gets(server)) == 3
    assert part_of(dest).read_bytes() == DATA[: 3 * cut]
    assert not dest.exists()

    server.set_behaviour("/f.sh", Behaviour())
    server.reset_counters()
    download_verified(url, dest, SHA, **FAST)
    assert dest.read_bytes() == DATA
    assert [r.range for r in gets(server)] == [f"bytes={3 * cut}-"]


def test_connection_refused_is_retried_then_reported(tmp_path: Path) -> None:
    with InstallerServer() as srv:
        url = srv.url("/f.sh")  # the port is closed once the server is gone
    with pytest.raises(StepFailed) as info:
        download_verified(url, tmp_path / "f.sh", SHA, retries=1, **FAST)
    assert "2 attempts" in info.value.message


def test_session_cannot_switch_tls_verification_off(
    server: InstallerServer, tmp_path: Path
) -> None:
    seen: list[Any] = []

    class Spy(requests.adapters.HTTPAdapter):
        def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            seen.append(kwargs.get("verify"))
            return super().send(request, **kwargs)

    sess = requests.Session()
    sess.verify = False
    sess.mount("http://", Spy())
    url = server.add("/f.sh", DATA)
    download_verified(url, tmp_path / "f.sh", SHA, session=sess, **FAST)
    assert seen and all(v is not False for v in seen)


# --------------------------------------------------------------------------- progress


class Recorder:
    """A ProgressSink that remembers what the transfer told it."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def start(self, total: Optional[int], already: int) -> None:
        self.calls.append(("start", total, already))

    def advance(self, n: int) -> None:
        self.calls.append(("advance", n))

    def finish(self) -> None:
        self.calls.append(("finish",))


def test_a_resumed_download_starts_progress_at_the_fetched_size(
    server: InstallerServer, tmp_path: Path
) -> None:
    url = server.add("/f.sh", DATA)
    dest = tmp_path / "f.sh"
    part_of(dest).write_bytes(DATA[: 2 * MiB])
    recorder = Recorder()
    sink: ProgressSink = recorder  # the transfer needs nothing more than the Protocol
    download_verified(url, dest, SHA, progress=sink, **FAST)
    assert recorder.calls[0] == ("start", SIZE, 2 * MiB)
    assert recorder.calls[-1] == ("finish",)
    advanced = [call[1] for call in recorder.calls if call[0] == "advance"]
    assert sum(advanced) == SIZE - 2 * MiB
    assert [call[0] for call in recorder.calls].count("finish") == 1


def test_progress_is_finished_when_the_download_fails(
    server: InstallerServer, tmp_path: Path
) -> None:
    url = server.add("/f.sh", DATA, Behaviour(corrupt_at=10))
    recorder = Recorder()
    with pytest.raises(StepFailed):
        download_verified(url, tmp_path / "f.sh", SHA, progress=recorder, **FAST)
    assert recorder.calls[0] == ("start", SIZE, 0) and recorder.calls[-1] == ("finish",)


def test_percent_lines_every_ten_percent(server: InstallerServer, tmp_path: Path) -> None:
    data = os.urandom(20 * MiB)
    url = server.add("/big.sh", data)
    lines: list[str] = []
    download_verified(
        url,
        tmp_path / "big.sh",
        hashlib.sha256(data).hexdigest(),
        progress=PercentLines(lines.append),
        **FAST,
    )
    pct_lines = [ln for ln in lines if "%" in ln and "(" in ln]
    bands = [int(ln.split(":")[1].split("%")[0]) // 10 for ln in pct_lines]
    assert bands == list(range(1, 11))
    assert lines[0] == "download: 20.0 MiB to fetch"
    assert lines[-1].startswith("download: done, 20.0 MiB in ")
    assert all(len(ln) < 100 and ln.isascii() for ln in lines)


def test_percent_lines_on_resume_start_where_they_left_off() -> None:
    lines: list[str] = []
    p = PercentLines(lines.append, label="Anaconda3")
    p.start(100 * MiB, 35 * MiB)
    for _ in range(65):
        p.advance(MiB)
    p.finish()
    assert lines[0] == "Anaconda3: resuming at 35% (35.0 MiB of 100.0 MiB)"
    assert [ln.split()[1] for ln in lines[1:-1]] == [f"{p}%" for p in range(40, 101, 10)]


def test_percent_lines_unknown_size_and_failure() -> None:
    lines: list[str] = []
    p = PercentLines(lines.append)
    p.start(None, 0)
    for _ in range(250):
        p.advance(MiB)
    p.finish()
    assert lines[0] == "download: size unknown"
    assert sum("so far" in ln for ln in lines) == 2
    lines.clear()
    p.start(10 * MiB, 0)
    p.advance(3 * MiB)
    p.finish()
    assert lines[-1] == "download: stopped at 3.0 MiB of 10.0 MiB"


def test_percent_lines_unknown_size_resumed() -> None:
    lines: list[str] = []
    p = PercentLines(lines.append, label="Miniforge3.sh")
    p.start(None, 30 * MiB)
    for _ in range(100):
        p.advance(MiB)
    p.finish()
    assert lines[0] == "Miniforge3.sh: size unknown, resuming at 30.0 MiB"
    # The first "so far" line comes 100 MiB after the resumed size, not after byte 0.
    assert [ln.split()[1:3] for ln in lines if "so far" in ln] == [["130.0", "MiB"]]
    assert lines[-1].startswith("Miniforge3.sh: done, 130.0 MiB in ")


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def frames_of(text: str) -> list[str]:
    """Each redraw of the bar as it ends up on screen (the trailing newline dropped)."""
    return [f.rstrip("\n") for f in text.split("\r") if f]


def test_terminal_bar_renders_short_ascii_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = FakeTTY()
    bar = progress_for(out, label="Anaconda3-2024.10-1-Linux-x86_64.sh")
    assert isinstance(bar, TerminalBar)
    bar.start(1000 * MiB, 100 * MiB)
    for _ in range(900):
        bar.advance(MiB)
    bar.finish()
    text = out.getvalue()
    assert text.isascii() and "100%" in text
    assert "\x1b" not in text  # no escape sequences (cursor hiding) that could outlive us
    frames = frames_of(text)
    assert frames and all(len(f) < 80 for f in frames)
    assert text.endswith("\n") and text.count("\n") == 1


@pytest.mark.parametrize("columns", [300, 101, 100])
def test_terminal_bar_never_wider_than_100_columns(
    monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    out = FakeTTY()
    bar = TerminalBar(out, label="Anaconda3-" + "x" * 150 + ".sh", min_interval=0)
    bar.start(5000 * MiB, 0)
    for _ in range(50):
        bar.advance(100 * MiB)
    bar.finish()
    frames = frames_of(out.getvalue())
    assert len(frames) == 52  # start, every advance (no throttle here), finish
    # The long name is cut so that the line uses the 99 columns, and not one more.
    assert max(len(f) for f in frames) == 99
    assert all(f.isascii() for f in frames)
    assert frames[-1].rstrip().endswith("ETA     0:00") and " 100%  " in frames[-1]
    assert "Anaconda3-xxx" in frames[-1] and "[" + "#" * 10 + "]" in frames[-1]


def test_terminal_bar_fits_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    out = FakeTTY()
    bar = TerminalBar(out, label="Miniforge3-Linux-x86_64.sh")
    bar.start(100 * MiB, 0)
    bar.advance(50 * MiB)
    bar.finish()
    frames = frames_of(out.getvalue())
    assert frames and all(len(f) < 40 for f in frames)


def test_terminal_bar_on_resume_starts_at_the_fetched_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    out = FakeTTY()
    bar = TerminalBar(out, label="Anaconda3.sh")
    bar.start(100 * MiB, 35 * MiB)
    [first] = frames_of(out.getvalue())
    assert "Anaconda3.sh  [" in first and "  35%  " in first and " 35.0 MiB " in first
    inside = first.split("[", 1)[1].split("]", 1)[0]
    assert inside.count("#") == len(inside) * 35 // 100 and set(inside) == {"#", "-"}
    # The rate counts bytes moved since the start, not the resumed ones.
    assert " 0 B/s" in first


def test_terminal_bar_unknown_total_counts_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = FakeTTY()
    bar = TerminalBar(out, label="Miniconda3.sh", min_interval=0)
    bar.start(None, 0)
    for _ in range(3):
        bar.advance(MiB)
    bar.finish()
    text = out.getvalue()
    frames = frames_of(text)
    assert [f.split()[:3] for f in frames] == [
        ["Miniconda3.sh", "0", "B"],
        ["Miniconda3.sh", "1.0", "MiB"],
        ["Miniconda3.sh", "2.0", "MiB"],
        ["Miniconda3.sh", "3.0", "MiB"],
        ["Miniconda3.sh", "3.0", "MiB"],
    ]
    assert "%" not in text and "[" not in text and "ETA" not in text
    assert all(len(f) < 80 and f.isascii() for f in frames) and text.endswith("\n")


def test_terminal_bar_throttles_redraws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = FakeTTY()
    bar = TerminalBar(out, label="a.sh", min_interval=3600)
    bar.start(1000 * MiB, 0)
    for _ in range(1000):
        bar.advance(MiB)
    bar.finish()
    frames = frames_of(out.getvalue())
    assert len(frames) == 2 and "  0%  " in frames[0] and " 100%  " in frames[1]


def test_terminal_bar_restart_begins_a_new_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = FakeTTY()
    bar = TerminalBar(out, label="a.sh")
    bar.start(10 * MiB, 4 * MiB)
    bar.start(10 * MiB, 0)  # the server ignored Range: from zero again
    bar.advance(10 * MiB)
    bar.finish()
    first, second, after = out.getvalue().split("\n")
    assert "  40%  " in first and " 100%  " in second.split("\r")[-1] and after == ""


def test_progress_for_non_tty_prints_lines() -> None:
    out = io.StringIO()
    sink = progress_for(out)
    assert isinstance(sink, PercentLines)
    sink.start(10, 0)
    sink.advance(10)
    sink.finish()
    assert out.getvalue().splitlines()[1].startswith("download: 100% ")
    assert "\r" not in out.getvalue()


def test_progress_restarts_when_server_ignores_range(
    server: InstallerServer, tmp_path: Path
) -> None:
    url = server.add("/f.sh", DATA, Behaviour(honour_range=False, drop_after=2 * MiB))
    lines: list[str] = []
    download_verified(url, tmp_path / "f.sh", SHA, progress=PercentLines(lines.append), **FAST)
    assert sum("to fetch" in ln for ln in lines) == 2  # started, then started over
    assert lines[-1].startswith("download: done")


# --------------------------------------------------------------------------- sha256


@pytest.mark.parametrize(
    "given", [SHA, SHA.upper(), f" {SHA.upper()}\n", f"\t{SHA[:32]}{SHA[32:].upper()}  "]
)
def test_normalise_sha256_strips_and_lower_cases(given: str) -> None:
    assert normalise_sha256(given) == SHA
    assert is_sha256(given)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "abc",
        "z" * 64,
        SHA[:-1],
        SHA + "0",
        f"{SHA[:32]} {SHA[32:]}",
        f"sha256:{SHA}",
        "\uff41" * 64,  # fullwidth "a": hex to a Unicode-aware eye, not to sha256sum
        "\u0661" * 64,  # Arabic-Indic digit one
    ],
)
def test_normalise_sha256_refuses_what_is_not_64_hex_digits(bad: str) -> None:
    with pytest.raises(ValueError, match=r"is not a sha256 \(64 hex digits\)"):
        normalise_sha256(bad)
    assert not is_sha256(bad)


@pytest.mark.parametrize("bad", [None, 0, SHA.encode(), [SHA]])
def test_normalise_sha256_refuses_non_strings(bad: object) -> None:
    with pytest.raises(ValueError, match="not a sha256"):
        normalise_sha256(bad)


def test_normalise_sha256_error_names_the_value_briefly() -> None:
    with pytest.raises(ValueError) as info:
        normalise_sha256("abc")
    assert str(info.value) == "'abc' is not a sha256 (64 hex digits)"
    with pytest.raises(ValueError) as info:
        normalise_sha256("x" * 10_000)
    assert len(str(info.value)) < 120 and "..." in str(info.value)


# --------------------------------------------------------------------------- helpers


def test_remote_size_and_fetch_text(server: InstallerServer) -> None:
    server.add("/f.sh", DATA)
    page = "<table><tr><td>Anaconda3 \u2013 x86_64</td><td>" + SHA + "</td></tr></table>"
    server.add("/archive/", page.encode(), Behaviour(content_type="text/html"))
    assert remote_size(server.url("/f.sh")) == SIZE
    assert remote_size(server.url("/nope")) is None
    assert fetch_text(server.url("/archive/")) == page  # UTF-8 despite no charset
    with pytest.raises(StepFailed, match="404"):
        fetch_text(server.url("/nope"))


def test_fetch_text_retries_5xx(server: InstallerServer) -> None:
    server.add("/idx", b"ok", Behaviour(status=502, status_times=1))
    assert fetch_text(server.url("/idx"), backoff=0.01) == "ok"


def test_remote_size_unreachable_is_none() -> None:
    with InstallerServer() as srv:
        url = srv.url("/f.sh")
    assert remote_size(url, timeout=1) is None


def test_ensure_free_space(tmp_path: Path) -> None:
    ensure_free_space(SpaceNeed(tmp_path / "not" / "yet", 1, "the installer"))
    with pytest.raises(UserError) as info:
        ensure_free_space(SpaceNeed(tmp_path, 1 << 60, "the Anaconda installer"))
    msg = info.value.message
    assert "the Anaconda installer" in msg and "1048576.0 TiB" in msg and "free" in msg
    assert info.value.exit_code == 2 and "EBS" in (info.value.hint or "")
    assert msg[0].islower() and (info.value.hint or "X")[0].islower()


def test_ensure_free_space_adds_up_needs_on_one_filesystem(tmp_path: Path) -> None:
    free = shutil.disk_usage(tmp_path).free
    if free < 100 * MiB:
        pytest.skip(f"only {free} bytes free under {tmp_path}")
    share = free * 6 // 10  # each fits alone, both together do not
    cache, prefix = tmp_path / "cache", tmp_path / "not" / "yet" / "prefix"
    ensure_free_space(SpaceNeed(cache, share, "downloading a.sh"))
    ensure_free_space(SpaceNeed(prefix, share, "installing into p"))
    with pytest.raises(UserError) as info:
        ensure_free_space(
            SpaceNeed(cache, share, "downloading a.sh"),
            SpaceNeed(prefix, share, "installing into p"),
        )
    assert "not enough disk space for downloading a.sh and installing into p" in (
        info.value.message
    )
    assert format_bytes(2 * share) in info.value.message


def test_format_bytes() -> None:
    assert [format_bytes(n) for n in (0, 1023, 1536, 5 * MiB, 3 << 30)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 MiB",
        "3.0 GiB",
    ]


def test_format_duration() -> None:
    assert [format_duration(s) for s in (0, 59.4, 59.6, 75, 3725, -3)] == [
        "0:00",
        "0:59",
        "1:00",
        "1:15",
        "1:02:05",
        "0:00",
    ]
