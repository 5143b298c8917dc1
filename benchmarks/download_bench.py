#!/usr/bin/env python3
"""Target 3: the agent's download_verified() against `curl -s -o FILE URL` and `sha256sum
FILE`, for files of several sizes served by the loopback test server
(tests/support/installer_server.py, sendfile), all in the same run.

Per run, in turn: the agent (hash in the same pass, fsync and rename included), `curl -o`,
`sha256sum` of curl's file. The agent is timed inside its own child process around
download_verified() alone (its interpreter start and imports are shown apart); its peak RSS
is that child's ru_maxrss (the kernel's high-water mark, interpreter included). Two ratios
per run, summarised by their medians:

- agent / (curl + sha256sum): what a script that downloads and then checks would take;
- agent / max(curl, sha256sum): the true floor, the slower of pure transfer and pure hashing.

    python -m benchmarks.download_bench [--sizes 128,512] [--runs 7] [--agent-src DIR]

`--agent-src DIR` runs the agent from another source tree (DIR/agent), for before/after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file: the package and tests.support, from here
    sys.path.insert(0, str(ROOT))

from benchmarks.figures import Figure, Section, seconds, times  # noqa: E402
from benchmarks.pairing import MIN_RUNS, median  # noqa: E402

MiB = 1024 * 1024
DEFAULT_SIZES = (32, 128, 256, 512)
TARGET_SIZE = 512
RSS_LIMIT_MB = 80.0
TOOLS = ("curl", "sha256sum")


@dataclass(frozen=True)
class SizeResult:
    """The medians for one file size."""

    size_mib: int
    agent: float  # download_verified() alone
    agent_process: float  # the child's whole life
    curl: float
    sha256sum: float
    vs_curl_and_sha: float  # median of per-run agent / (curl + sha256sum)
    vs_floor: float  # median of per-run agent / max(curl, sha256sum)
    peak_rss_mb: float  # the largest child ru_maxrss of the runs


def child(url: str, dest: str, sha: str) -> None:
    """Runs in the subprocess: one agent download, figures as JSON on stdout."""
    from jupyter_bootstrap.download import download_verified

    started = time.perf_counter()
    result = download_verified(url, Path(dest), sha, retries=0)
    elapsed = time.perf_counter() - started
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": elapsed, "maxrss_kib": maxrss_kib, "sha256": result.sha256}))


def make_file(path: Path, size_mib: int) -> str:
    """Random content (incompressible) and its sha256."""
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(size_mib):
            block = os.urandom(MiB)
            f.write(block)
            digest.update(block)
    return digest.hexdigest()


def _environment(agent_src: Optional[Path]) -> dict[str, str]:
    env = dict(os.environ)
    source = agent_src or ROOT
    env["PYTHONPATH"] = os.pathsep.join([str(source / "agent"), str(ROOT)])
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env).stdout
    return time.perf_counter() - started, out


def measure_size(
    url: str, sha: str, size_mib: int, work: Path, runs: int, env: dict[str, str]
) -> SizeResult:
    agent, life, curl, summed, rss = [], [], [], [], []
    for i in range(runs + 1):  # the first is a warm-up: page cache, .pyc files
        dest = work / "agent.bin"
        argv = [sys.executable, "-m", "benchmarks.download_bench", "--child", url, str(dest), sha]
        t_life, out = _timed(argv, env)
        report = json.loads(out)
        assert report["sha256"] == sha
        dest.unlink()
        fetched = work / "curl.bin"
        t_curl, _ = _timed(["curl", "-s", "--noproxy", "*", "-o", str(fetched), url], env)
        t_sum, out = _timed(["sha256sum", str(fetched)], env)
        assert out.split()[0] == sha, "curl fetched another file"
        fetched.unlink()
        if i == 0:
            continue
        agent.append(report["seconds"])
        life.append(t_life)
        curl.append(t_curl)
        summed.append(t_sum)
        rss.append(report["maxrss_kib"] / 1024 * 1.048576)  # KiB -> MB (10^6 bytes)
    return SizeResult(
        size_mib,
        median(agent),
        median(life),
        median(curl),
        median(summed),
        median([a / (c + s) for a, c, s in zip(agent, curl, summed)]),
        median([a / max(c, s) for a, c, s in zip(agent, curl, summed)]),
        max(rss),
    )


def measure_sizes(
    sizes: tuple[int, ...] = DEFAULT_SIZES,
    runs: int = MIN_RUNS,
    agent_src: Optional[Path] = None,
    tmpdir: Optional[Path] = None,
) -> list[SizeResult]:
    from tests.support.installer_server import InstallerServer

    env = _environment(agent_src)
    results = []
    with tempfile.TemporaryDirectory(prefix="jb-bench-download-", dir=tmpdir) as tmp:
        work = Path(tmp)
        with InstallerServer() as server:
            for size in sizes:
                served = work / f"file-{size}.bin"
                sha = make_file(served, size)
                url = server.add(f"/file-{size}.bin", served)
                results.append(measure_size(url, sha, size, work, runs, env))
                served.unlink()
    return results


def figures(results: list[SizeResult], runs: int) -> list[Figure]:
    target = next((r for r in results if r.size_mib == TARGET_SIZE), results[-1])
    note = f"{runs} runs; agent process whole life {seconds(target.agent_process)}"
    curl_sha = target.curl + target.sha256sum
    floor = max(target.curl, target.sha256sum)
    floor_name = "curl -o" if target.curl >= target.sha256sum else "sha256sum"
    rss_by_size = ", ".join(f"{r.size_mib} MiB: {r.peak_rss_mb:.1f} MB" for r in results)
    peak = max(r.peak_rss_mb for r in results)
    smallest = min(r.peak_rss_mb for r in results)
    return [
        Figure(
            "3",
            f"agent download of {target.size_mib} MiB (hash, fsync, rename)",
            seconds(target.agent),
            "`curl -o FILE URL && sha256sum FILE`",
            seconds(curl_sha),
            times(target.vs_curl_and_sha),
            "<= 0.8x",
            target.vs_curl_and_sha <= 0.8,
            note,
        ),
        Figure(
            "3",
            f"agent download of {target.size_mib} MiB, against its true floor",
            seconds(target.agent),
            f"max(curl -o: {seconds(target.curl)}, sha256sum: {seconds(target.sha256sum)}) "
            f"= {floor_name}",
            seconds(floor),
            times(target.vs_floor),
            "<= 1.15x",
            target.vs_floor <= 1.15,
            note,
        ),
        Figure(
            "3",
            "agent peak RSS while downloading",
            f"{peak:.1f} MB",
            "the limit",
            f"{RSS_LIMIT_MB:.0f} MB",
            f"{peak - smallest:+.1f} MB from the smallest to the largest file",
            "<= 80 MB, flat in the size",
            peak <= RSS_LIMIT_MB and peak - smallest < 5,
            rss_by_size,
        ),
    ]


def measure(
    sizes: tuple[int, ...] = DEFAULT_SIZES, runs: int = MIN_RUNS
) -> tuple[Section, list[SizeResult]]:
    section = Section("Download (target 3)")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        section.skipped = f"{', '.join(missing)} not found (apt-get install curl coreutils)"
        return section, []
    results = measure_sizes(sizes, runs)
    section.figures = figures(results, runs)
    section.details = [
        "| size | agent | agent process | curl -o | sha256sum | agent / (curl + sha256sum) "
        "| agent / max(curl, sha256sum) | peak RSS |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r.size_mib} MiB | {seconds(r.agent)} | {seconds(r.agent_process)} "
            f"| {seconds(r.curl)} | {seconds(r.sha256sum)} | {times(r.vs_curl_and_sha)} "
            f"| {times(r.vs_floor)} | {r.peak_rss_mb:.1f} MB |"
            for r in results
        ),
    ]
    return section, results


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="MiB, a list")
    parser.add_argument("--runs", type=int, default=MIN_RUNS, help="counted runs of each")
    parser.add_argument("--agent-src", type=Path, help="a source tree to run the agent from")
    parser.add_argument("--tmpdir", type=Path, help="where the files go")
    parser.add_argument("--child", nargs=3, metavar=("URL", "DEST", "SHA"), help="(internal)")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    sizes = tuple(int(size) for size in args.sizes.split(","))
    for r in measure_sizes(sizes, args.runs, args.agent_src, args.tmpdir):
        print(
            f"{r.size_mib:5d} MiB  agent {r.agent:6.3f} s  curl {r.curl:6.3f} s  "
            f"sha256sum {r.sha256sum:6.3f} s  agent/(curl+sha256sum) {r.vs_curl_and_sha:.2f}  "
            f"agent/max {r.vs_floor:.2f}  peak RSS {r.peak_rss_mb:.1f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
