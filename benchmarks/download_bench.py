#!/usr/bin/env python3
"""Benchmark: the agent's download_verified() against `curl -s -o FILE URL` + `sha256sum FILE`.

Both fetch the same random file (default 256 MiB) from the loopback test server
(tests/support/installer_server.py, normal mode, sendfile) in the same run.

Memory: the agent download runs in a child Python process. Its peak RSS is the child's own
`getrusage(RUSAGE_SELF).ru_maxrss` (kernel high-water mark, includes the interpreter and
imports), cross-checked by the parent's `getrusage(RUSAGE_CHILDREN).ru_maxrss` read right
after that child is reaped and before any curl/sha256sum child exists. The child also
reports its RSS just before the download starts, so the table shows what the download adds.

Timing: the agent figure is measured inside the child around download_verified() alone
(stream + hash + fsync + rename); the child's whole life (interpreter start, imports) is shown
too. curl + sha256sum do not fsync, so a third row adds `sync FILE` for a like-for-like figure.

    python benchmarks/download_bench.py [--size-mb 256] [--repeat 1] [--tmpdir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT, ROOT / "agent"):  # the package and tests.support, installed or not
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

MiB = 1024 * 1024


def _vm_rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def child(url: str, dest: str, sha: str) -> None:
    """Runs in the subprocess: one agent download, figures as JSON on stdout."""
    from jupyter_bootstrap.download import download_verified

    rss_before = _vm_rss_kib()
    t0 = time.perf_counter()
    res = download_verified(url, Path(dest), sha, retries=0)
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rss_before_kib": rss_before,
                "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,  # KiB on Linux
                "size": res.size,
                "sha256": res.sha256,
            }
        )
    )


def make_file(path: Path, size_mb: int) -> str:
    """Random content (urandom per MiB: incompressible, quick) and its sha256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(size_mb):
            block = os.urandom(MiB)
            f.write(block)
            h.update(block)
    return h.hexdigest()


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return time.perf_counter() - t0, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=256, help="file size in MiB (default 256)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each; medians are shown")
    ap.add_argument("--tmpdir", type=Path, default=None, help="where to put the files")
    ap.add_argument("--child", nargs=3, metavar=("URL", "DEST", "SHA"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0

    for tool in ("curl", "sha256sum", "sync"):
        if shutil.which(tool) is None:
            print(f"{tool} not found", file=sys.stderr)
            return 2

    from tests.support.installer_server import InstallerServer

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "agent"), str(ROOT)])
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"

    with tempfile.TemporaryDirectory(prefix="dl-bench-", dir=args.tmpdir) as tmp:
        work = Path(tmp)
        src = work / "served" / "Anaconda3-bench.sh"
        src.parent.mkdir()
        t0 = time.perf_counter()
        sha = make_file(src, args.size_mb)
        print(
            f"made {args.size_mb} MiB test file in {time.perf_counter() - t0:.1f} s; "
            f"sha256 {sha[:16]}..."
        )

        agent_s: list[float] = []
        agent_life: list[float] = []
        curl_s: list[float] = []
        sum_s: list[float] = []
        sync_s: list[float] = []
        reports: list[dict[str, float]] = []
        children_maxrss = 0
        with InstallerServer() as srv:
            url = srv.add("/Anaconda3-bench.sh", src)
            for i in range(args.repeat):
                dest = work / "agent.sh"
                t_life, out = timed([sys.executable, __file__, "--child", url, str(dest), sha], env)
                if i == 0:
                    # Only Python children so far: this is the agent's own high-water mark.
                    children_maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
                rep = json.loads(out)
                assert rep["sha256"] == sha and rep["size"] == args.size_mb * MiB
                agent_s.append(rep["seconds"])
                agent_life.append(t_life)
                reports.append(rep)
                dest.unlink()

                out_file = work / "curl.sh"
                t_curl, _ = timed(["curl", "-s", "--noproxy", "*", "-o", str(out_file), url], env)
                t_sum, out = timed(["sha256sum", str(out_file)], env)
                t_sync, _ = timed(["sync", str(out_file)], env)
                assert out.split()[0] == sha, "curl fetched a different file"
                curl_s.append(t_curl)
                sum_s.append(t_sum)
                sync_s.append(t_sync)
                out_file.unlink()

    med = statistics.median
    agent = med(agent_s)
    curl_sha = med([c + s for c, s in zip(curl_s, sum_s)])
    curl_sha_sync = med([c + s + y for c, s, y in zip(curl_s, sum_s, sync_s)])
    size_mib = args.size_mb

    def row(name: str, seconds: float) -> str:
        return f"| {name:<44} | {seconds:8.2f} s | {size_mib / seconds:8.0f} MiB/s |"

    rss_before = med([r["rss_before_kib"] for r in reports]) / 1024
    rss_peak = max(r["maxrss_kib"] for r in reports) / 1024
    print()
    print(f"{size_mib} MiB over loopback, {args.repeat} run(s), medians")
    print(f"| {'what':<44} | {'wall':>10} | {'throughput':>14} |")
    print(f"|{'-' * 46}|{'-' * 12}|{'-' * 16}|")
    print(row("agent download_verified (hash+fsync+rename)", agent))
    print(row("agent child process, whole life", med(agent_life)))
    print(row("curl -s -o", med(curl_s)))
    print(row("sha256sum", med(sum_s)))
    print(row("curl + sha256sum", curl_sha))
    print(row("curl + sha256sum + sync FILE", curl_sha_sync))
    print()
    print(f"ratio agent / (curl + sha256sum)        : {agent / curl_sha:.2f}")
    print(f"ratio agent / (curl + sha256sum + sync) : {agent / curl_sha_sync:.2f}")
    print(
        f"agent peak RSS (child ru_maxrss)        : {rss_peak:.1f} MiB "
        f"(RSS before download {rss_before:.1f} MiB, "
        f"download adds {rss_peak - rss_before:.1f} MiB)"
    )
    print(f"cross-check RUSAGE_CHILDREN ru_maxrss   : {children_maxrss / 1024:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
