"""Target 4: after a cut at 50 %, the resumed download transfers at most 51 % of the file,
counted by the loopback server (the body bytes it handed to the kernel for the request that
resumed). Three kinds of cut, each a fresh agent process but the first:

- the server closes the connection at 50 % and the agent retries in the same call;
- the same cut with no retry left: the agent gives up, and the next run resumes;
- the agent is killed (SIGKILL) once its .part file holds half the file, as when the
  machine loses power; the next run resumes from what reached the disk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.installer_server import Behaviour, InstallerServer

from benchmarks.download_bench import make_file
from benchmarks.figures import Figure, Section

ROOT = Path(__file__).resolve().parents[1]
SIZE_MIB = 512
SIZE = SIZE_MIB * 1024 * 1024
HALF = SIZE // 2
LIMIT = 0.51
AGENT = """
import sys
from pathlib import Path
from jupyter_bootstrap.download import download_verified
from jupyter_bootstrap.errors import StepFailed
url, dest, sha, retries = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
try:
    download_verified(url, dest, sha, retries=retries, backoff=0.0, read_timeout=120)
except StepFailed:
    sys.exit(1)
"""


def _agent(url: str, dest: Path, sha: str, retries: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "agent"), str(ROOT)])
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    argv = [sys.executable, "-c", AGENT, url, str(dest), sha, str(retries)]
    return subprocess.Popen(argv, env=env)


def _resumed_share(server: InstallerServer, path: str, size: int) -> float:
    """The share of the file sent for the last GET: the one that resumed."""
    gets = server.requests(path, "GET")
    assert gets and gets[-1].status == 206, gets  # a Range request that was answered
    return gets[-1].bytes_sent / size


def _retry_in_the_same_call(server: InstallerServer, path: str, dest: Path, sha: str) -> None:
    server.set_behaviour(path, Behaviour(drop_after=HALF))
    assert _agent(server.url(path), dest, sha, retries=1).wait() == 0


def _run_again(server: InstallerServer, path: str, dest: Path, sha: str) -> None:
    server.set_behaviour(path, Behaviour(drop_after=HALF))
    assert _agent(server.url(path), dest, sha, retries=0).wait() == 1
    assert _agent(server.url(path), dest, sha, retries=0).wait() == 0


def _killed(server: InstallerServer, path: str, dest: Path, sha: str) -> None:
    # The server pauses at half way, so the kill lands there and not a little later.
    server.set_behaviour(path, Behaviour(stall_after=HALF, stall_seconds=60))
    part = dest.with_name(dest.name + ".part")
    process = _agent(server.url(path), dest, sha, retries=0)
    deadline = time.monotonic() + 120
    while not (part.exists() and part.stat().st_size >= HALF):
        assert time.monotonic() < deadline, "the agent never got half way"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    server.set_behaviour(path, Behaviour())
    assert _agent(server.url(path), dest, sha, retries=0).wait() == 0


CUTS: dict[str, Callable[[InstallerServer, str, Path, str], None]] = {
    "the server cuts the connection at 50 %; the agent retries in the same run": (
        _retry_in_the_same_call
    ),
    "the server cuts at 50 %, the agent gives up; the next run resumes": _run_again,
    "the agent is killed (SIGKILL) at 50 %; the next run resumes": _killed,
}


def measure() -> Section:
    section = Section("Resume after a cut (target 4)")
    with tempfile.TemporaryDirectory(prefix="jb-bench-resume-") as tmp:
        work = Path(tmp)
        served = work / "served.bin"
        sha = make_file(served, SIZE_MIB)
        with InstallerServer() as server:
            path = "/installer.sh"
            server.add(path, served)
            for what, cut in CUTS.items():
                dest = work / "installer.sh"
                server.reset_counters()
                cut(server, path, dest, sha)
                share = _resumed_share(server, path, SIZE)
                dest.unlink()
                section.figures.append(
                    Figure(
                        "4",
                        f"{SIZE_MIB} MiB: {what}",
                        f"{share * 100:.2f} % of the file",
                        "the file",
                        f"{SIZE_MIB} MiB",
                        f"{share * 100:.2f} %",
                        "<= 51 %",
                        share <= LIMIT,
                        "bytes counted by the server for the resuming request",
                    )
                )
    return section
