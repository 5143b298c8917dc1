"""The download plot of docs/performance.md: time and peak RSS against the file size, the
agent beside curl and sha256sum. matplotlib is a benchmark-only extra (`pip install
-e .[bench]`), never a dependency of the agent."""

from __future__ import annotations

from pathlib import Path

from benchmarks.download_bench import RSS_LIMIT_MB, SizeResult


def draw_download_plot(results: list[SizeResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display: a file only
    import matplotlib.pyplot as plt

    sizes = [r.size_mib for r in results]
    figure, (times, memory) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    times.plot(sizes, [r.agent for r in results], "o-", label="agent (hash, fsync, rename)")
    times.plot(sizes, [r.curl for r in results], "s--", label="curl -o")
    times.plot(sizes, [r.sha256sum for r in results], "^--", label="sha256sum")
    times.plot(sizes, [r.curl + r.sha256sum for r in results], "v:", label="curl -o && sha256sum")
    times.set_xlabel("file size (MiB)")
    times.set_ylabel("seconds (median)")
    times.set_title("Download time")
    times.grid(True, alpha=0.3)
    times.legend(fontsize="small")
    memory.plot(sizes, [r.peak_rss_mb for r in results], "o-", label="agent peak RSS")
    memory.axhline(RSS_LIMIT_MB, color="red", linestyle="--", label="limit (80 MB)")
    memory.set_ylim(0, RSS_LIMIT_MB * 1.2)
    memory.set_xlabel("file size (MiB)")
    memory.set_ylabel("MB")
    memory.set_title("Agent peak RSS")
    memory.grid(True, alpha=0.3)
    memory.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
