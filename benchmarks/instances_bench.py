"""Time mmconvert's COCO instances parse against a typed msgspec decode of the same file.

    python benchmarks/instances_bench.py [--scale 1.0] [--dir /tmp/mmconvert-instances-bench] [--reps 3]

Generates ``instances_train2017.json`` with the shared kit's ``gen_coco.py`` (BENCH_KIT, default
../shared/bench beside the repository; reused when DIR already holds that scale), then times in fresh
processes, alternating: the ``json.load`` floor, a typed ``msgspec`` decode of the whole file (images,
annotations, categories as Structs: the floor a typed reader can reach), mmconvert's detection parse
(``coco.load`` + the chunked typed decode of every annotation, the code ``coco2lf --task detection``
runs), and the whole ``coco2lf --task detection --check none --dry-run``.  Prints wall time, peak RSS,
and the parse as a multiple of the typed decode (issue 8's target: at most 1.5x, peak RSS at most 1 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TYPED = """
import gc, sys, msgspec
gc.disable()
class Image(msgspec.Struct, gc=False):
    id: int
    file_name: str
    width: int
    height: int
class Ann(msgspec.Struct, gc=False):
    id: int
    image_id: int
    category_id: int
    bbox: list[float]
    area: float
    iscrowd: int = 0
    segmentation: msgspec.Raw = msgspec.Raw()
class Cat(msgspec.Struct, gc=False):
    id: int
    name: str
    supercategory: str = ""
class Coco(msgspec.Struct):
    images: list[Image]
    annotations: list[Ann]
    categories: list[Cat]
msgspec.json.decode(open(sys.argv[1], "rb").read(), type=Coco)
"""

PARSE = """
import sys
from mmconvert.converters import coco, coco_objects
from mmconvert.findings import Findings
findings = Findings()
loaded = coco.load(sys.argv[1], findings)
n = sum(1 for _ in coco_objects.iter_annotations(loaded, coco_objects._Annotation, findings))
assert n, "no annotations"
"""


def measure(argv: list[str]) -> tuple[float, float, int]:
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        timer = os.path.exists("/usr/bin/time")
        cmd = ["/usr/bin/time", "-v", "-o", out.name, *argv] if timer else argv
        start = time.perf_counter()
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - start
        rss = 0.0
        for line in out.read().splitlines() if timer else ():
            if "Maximum resident set size" in line:
                rss = int(line.split(":")[1]) / 1024
    return wall, rss, rc


def main() -> None:
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--dir", default="/tmp/mmconvert-instances-bench")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument(
        "--kit", default=os.environ.get("BENCH_KIT", os.path.join(os.path.dirname(repo), "shared", "bench"))
    )
    beside = os.path.join(os.path.dirname(sys.executable), "mmconvert")
    parser.add_argument(
        "--mmconvert", default=beside if os.path.exists(beside) else shutil.which("mmconvert")
    )
    args = parser.parse_args()
    path = os.path.join(args.dir, "instances_train2017.json")
    meta_path = os.path.join(args.dir, "gen_meta.json")
    fresh = True
    if os.path.exists(meta_path) and os.path.exists(path):
        with open(meta_path) as f:
            meta = json.load(f)
        fresh = not (meta.get("scale") == args.scale and "instances" in meta.get("kinds", []))
    if fresh:
        gen = [sys.executable, os.path.join(args.kit, "gen_coco.py"), args.dir, "--scale", str(args.scale)]
        subprocess.run([*gen, "--kinds", "instances", "--images", "none"], check=True)
    py = sys.executable
    out = tempfile.mkdtemp(prefix="mmconvert-instances-out.")
    commands = {
        "parse floor: json.load": [
            py,
            "-c",
            "import json, sys; json.load(open(sys.argv[1], encoding='utf-8'))",
            path,
        ],
        "typed msgspec decode": [py, "-c", TYPED, path],
        "mmconvert detection parse": [py, "-c", PARSE, path],
        "coco2lf detection dry run": [
            args.mmconvert,
            "coco2lf",
            path,
            "--task",
            "detection",
            "--images-dir",
            args.dir,
            "--check",
            "none",
            "--dry-run",
            "-o",
            out,
            "--on-error",
            "skip",
        ],
    }
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for rep in range(args.reps):
        for name in list(commands) if rep % 2 == 0 else list(reversed(commands)):
            runs[name].append(measure(commands[name]))
    shutil.rmtree(out, ignore_errors=True)
    typed = statistics.median(w for w, _, _ in runs["typed msgspec decode"])
    print(
        f"\n== instances at scale {args.scale}: {os.path.getsize(path) / 1e6:.1f} MB, {args.reps} reps, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'command':28} {'median wall s':>13} {'max RSS MB':>11}  exit codes")
    for name, rs in runs.items():
        wall = statistics.median(w for w, _, _ in rs)
        extra = (
            f"   = {wall / typed:.2f}x the typed decode" if name.startswith(("mmconvert", "coco2lf")) else ""
        )
        print(f"{name:28} {wall:13.2f} {max(r for _, r, _ in rs):11.0f}  {[c for _, _, c in rs]}{extra}")


if __name__ == "__main__":
    main()
