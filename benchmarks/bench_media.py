"""Media-check throughput: tier ``exists`` and tier ``header`` with 1 and N processes, and memory.

    python benchmarks/bench_media.py [--files 100000] [--jobs 2] [--dir /tmp/mmconvert-media-bench]
                                     [--reps 3] [--json results.json] [--shared-session]

Writes ``--files`` small JPEGs (64x48, ~0.7 kB; made once, reused) and times
:func:`mmconvert.media.check_media_files` on them (page cache warm, best of ``--reps``, 1-process and
N-process runs alternating so both see the same machine load): ``exists`` (folder listings),
``header`` in one process and with ``--jobs`` worker processes.  Rates are given per wall second and
per CPU second of all processes.  Then it streams one-image samples through the conversion passes
(:func:`mmconvert.passes.run_passes`, tier ``header``) at two sizes and reports the peak RSS (VmHWM)
of each run, to show how memory grows with the number of files.

Every measurement runs in a child process in its own session, and pool workers start their own
sessions too (``--shared-session`` turns this off).  On Linux with autogroup scheduling (the default on
desktops and on shared build boxes) all processes of one session share one CPU share, so on a busy
machine extra worker processes of the same session get no extra CPU and no speedup is visible; on an
idle machine this makes no difference.

Targets (issue 7): exists >= 200k files/s; header >= 20k files/s per core and >= 1.3x faster with
2 processes than with 1; memory flat in the number of files.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def make_files(folder: Path, count: int) -> list[str]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 200)).save(buffer, "JPEG", quality=85)
    data = buffer.getvalue()
    paths = [str(folder / f"{i:07d}.jpg") for i in range(count)]
    existing = set(os.listdir(folder))
    for path in paths:
        if os.path.basename(path) not in existing:
            with open(path, "wb") as out:
                out.write(data)
    return paths


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # pool workers, once joined
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_rss_mb() -> float:
    """VmHWM: this process's peak resident set (reset by exec, unlike ru_maxrss)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _own_session_workers() -> None:
    """Pool workers start their own session (see the module docstring)."""
    from concurrent.futures import ProcessPoolExecutor

    from mmconvert import media

    class SessionPool(ProcessPoolExecutor):
        def __init__(self, max_workers: int | None = None) -> None:
            super().__init__(max_workers=max_workers, initializer=os.setsid)

    media.ProcessPoolExecutor = SessionPool  # type: ignore[misc]


def measure(folder: str, count: int, tier: str, jobs: int) -> dict[str, float]:
    """Child: one timed check_media_files run."""
    from mmconvert.media import check_media_files

    paths = [os.path.join(folder, f"{i:07d}.jpg") for i in range(count)]
    cpu = _cpu_seconds()
    start = time.perf_counter()
    results = check_media_files(paths, tier, jobs=jobs)
    elapsed = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    assert len(results) == count and all(r.ok for r in results.values())
    return {"files_per_s": count / elapsed, "files_per_cpu_s": count / cpu}


def stream(folder: str, count: int, jobs: int) -> dict[str, float]:
    """Child: ``count`` one-image samples through run_passes at tier header; peak RSS."""
    from mmconvert.findings import Findings
    from mmconvert.model import Dataset, Media, MediaKind, Role, Sample, SourceRef, Turn
    from mmconvert.options import CheckTier, PassOptions
    from mmconvert.passes import PassStats, run_passes

    def samples() -> Iterator[Sample]:
        for i in range(count):
            yield Sample(
                turns=(Turn(Role.USER, "<image>Describe this image."), Turn(Role.ASSISTANT, f"Image {i}.")),
                source=SourceRef("bench.json", i, f"$[{i}]"),
                images=(Media(MediaKind.IMAGE, f"{i:07d}.jpg", base=folder),),
            )

    before = _peak_rss_mb()
    stats = PassStats()
    start = time.perf_counter()
    dataset = run_passes(
        Dataset("bench", samples()), PassOptions(check=CheckTier.HEADER, jobs=jobs), Findings(), stats
    )
    for _ in dataset.samples:
        pass
    elapsed = time.perf_counter() - start
    assert stats.passed == count, stats
    return {
        "samples": count,
        "samples_per_s": count / elapsed,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_start_mb": before,
    }


def _child(args: argparse.Namespace, *extra: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--dir", args.dir, "--jobs", str(args.jobs), *extra]
    if args.shared_session:
        command.append("--shared-session")
    run = subprocess.run(
        command, capture_output=True, text=True, check=True, start_new_session=not args.shared_session
    )
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dir", default="/tmp/mmconvert-media-bench")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument("--shared-session", action="store_true")
    parser.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)  # tier count jobs
    parser.add_argument("--child-stream", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if (args.child or args.child_stream) and not args.shared_session:
        _own_session_workers()
    if args.child:
        tier, count, jobs = args.child
        print(json.dumps(measure(args.dir, int(count), tier, int(jobs))))
        return
    if args.child_stream is not None:
        print(json.dumps(stream(args.dir, args.child_stream, args.jobs)))
        return
    paths = make_files(Path(args.dir), args.files)
    count = str(len(paths))
    results: dict[str, Any] = {
        "files": len(paths),
        "cpus": os.cpu_count(),
        "load_average_1min_at_start": round(os.getloadavg()[0], 1),
        "jobs": args.jobs,
        "own_sessions": not args.shared_session,
    }
    runs: dict[str, list[dict[str, float]]] = {"exists": [], "header_1": [], f"header_{args.jobs}": []}
    for _ in range(args.reps):
        runs["exists"].append(_child(args, "--child", "exists", count, "1"))
        runs["header_1"].append(_child(args, "--child", "header", count, "1"))
        runs[f"header_{args.jobs}"].append(_child(args, "--child", "header", count, str(args.jobs)))
    for name, samples in runs.items():
        results[f"{name}_files_per_s"] = round(max(s["files_per_s"] for s in samples))
        results[f"{name}_files_per_cpu_s"] = round(max(s["files_per_cpu_s"] for s in samples))
    results["header_speedup"] = round(
        results[f"header_{args.jobs}_files_per_s"] / results["header_1_files_per_s"], 2
    )
    streams = [_child(args, "--child-stream", str(n)) for n in (len(paths) // 5, len(paths))]
    results["stream"] = streams
    small, large = streams
    grown = (large["peak_rss_mb"] - small["peak_rss_mb"]) * 1024 * 1024
    results["stream_bytes_per_extra_file"] = round(grown / (large["samples"] - small["samples"]))
    results["load_average_1min_at_end"] = round(os.getloadavg()[0], 1)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
