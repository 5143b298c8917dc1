"""download.py against a real loopback HTTP server that drops, stalls, lies and 404s."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from jupyter_bootstrap import download as dl
from jupyter_bootstrap.download import (
    ClickProgress,
    PercentLines,
    download_verified,
    ensure_free_space,
    fetch_text,
    progress_for,
    remote_size,
)
from jupyter_bootstrap.errors import StepFailed, UserError
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
def server() -> Iterator[InstallerServer]:
    with InstallerServer() as srv:
        yield srv


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


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_click_progress_renders_short_ascii_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = FakeTTY()
    bar = progress_for(out, label="Anaconda3-2024.10-1-Linux-x86_64.sh")
    assert isinstance(bar, ClickProgress)
    bar.start(1000 * MiB, 100 * MiB)
    for _ in range(900):
        bar.advance(MiB)
    bar.finish()
    text = out.getvalue()
    assert text.isascii() and "100%" in text
    frames = [f for f in text.replace("\x1b[?25l", "").replace("\x1b[?25h", "").split("\r") if f]
    assert frames and all(len(f.rstrip("\n")) < 80 for f in frames)


def test_progress_for_non_tty_prints_lines() -> None:
    out = io.StringIO()
    sink = progress_for(out)
    assert isinstance(sink, PercentLines)
    sink.start(10, 0)
    sink.advance(10)
    sink.finish()
    assert out.getvalue().splitlines()[1].startswith("download: 100% ")


def test_progress_restarts_when_server_ignores_range(
    server: InstallerServer, tmp_path: Path
) -> None:
    url = server.add("/f.sh", DATA, Behaviour(honour_range=False, drop_after=2 * MiB))
    lines: list[str] = []
    download_verified(url, tmp_path / "f.sh", SHA, progress=PercentLines(lines.append), **FAST)
    assert sum("to fetch" in ln for ln in lines) == 2  # started, then started over
    assert lines[-1].startswith("download: done")


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
    ensure_free_space(tmp_path / "not" / "yet", 1, "the installer")
    with pytest.raises(UserError) as info:
        ensure_free_space(tmp_path, 1 << 60, "the Anaconda installer")
    msg = info.value.message
    assert "the Anaconda installer" in msg and "1048576.0 TiB" in msg and "free" in msg
    assert info.value.exit_code == 2 and "EBS" in (info.value.hint or "")


def test_format_bytes() -> None:
    assert [dl.format_bytes(n) for n in (0, 1023, 1536, 5 * MiB, 3 << 30)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 MiB",
        "3.0 GiB",
    ]
