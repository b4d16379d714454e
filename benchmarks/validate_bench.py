"""Time ``mmconvert validate`` on a large LLaMA-Factory sharegpt file against the cost of parsing it.

    python benchmarks/validate_bench.py [--samples 600000] [--dir /tmp/mmconvert-validate-bench] [--reps 3]

Writes DIR/data/llava_like.json (LF sharegpt: a user turn with ``<image>``, an answer, one image, like a
LLaVA-scale chat set; ``indent=2``), its ``dataset_info.json`` entry and one tiny image every sample
points at, then times, alternating, in fresh processes: the parse floors (``json.load``, and a typed
``msgspec`` decode) and ``mmconvert validate DIR/data`` with ``--check none`` and ``--check exists``.
Prints the median wall time, peak RSS, and validate's time as a multiple of the ``json.load`` floor
(issue 8's target: at most 2x), with the range of the per-rep ratios (a rep runs every command once,
so its ratio is measured under that rep's load: on a busy machine the range shows how much it moves).
Needs ``/usr/bin/time`` for RSS (otherwise RSS is shown as 0).
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

PROMPTS = [
    "<image>What is in this picture?",
    "<image>Describe the image in detail.",
    "<image>What is the man doing?",
]
WORDS = [
    "a",
    "man",
    "riding",
    "horse",
    "on",
    "the",
    "beach",
    "near",
    "sea",
    "at",
    "sunset",
    "with",
    "two",
    "dogs",
    "running",
    "behind",
    "him",
]


def generate(folder: str, samples: int) -> str:
    data = os.path.join(folder, "data")
    if os.path.exists(os.path.join(data, "dataset_info.json")):
        with open(os.path.join(folder, "meta.json")) as f:
            if json.load(f).get("samples") == samples:
                return data
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(os.path.join(data, "images"))
    with open(os.path.join(data, "images", "one.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0" + bytes(60))
    path = os.path.join(data, "llava_like.json")
    with open(path, "w", encoding="utf-8") as f:
        f.write("[")
        for i in range(samples):
            words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(8 + i % 9)]
            record = {
                "messages": [
                    {"role": "user", "content": PROMPTS[i % len(PROMPTS)]},
                    {"role": "assistant", "content": " ".join(words).capitalize() + "."},
                ],
                "images": ["images/one.jpg"],
            }
            text = json.dumps([record], indent=2, ensure_ascii=False)[2:-2]
            f.write(("\n" if i == 0 else ",\n") + text)
        f.write("\n]")
    entry = {
        "llava_like": {
            "file_name": "llava_like.json",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {
                "role_tag": "role",
                "content_tag": "content",
                "user_tag": "user",
                "assistant_tag": "assistant",
            },
        }
    }
    with open(os.path.join(data, "dataset_info.json"), "w") as f:
        json.dump(entry, f, indent=2)
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump({"samples": samples, "bytes": os.path.getsize(path)}, f)
    return data


def measure(argv: list[str]) -> tuple[float, float, int]:
    """(wall s, peak RSS MB, exit code) of one run."""
    timer = shutil.which("time") and os.path.exists("/usr/bin/time")
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        cmd = ["/usr/bin/time", "-v", "-o", out.name, *argv] if timer else argv
        start = time.perf_counter()
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - start
        rss = 0.0
        if timer:
            for line in out.read().splitlines():
                if "Maximum resident set size" in line:
                    rss = int(line.split(":")[1]) / 1024
    return wall, rss, rc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=600_000)
    parser.add_argument("--dir", default="/tmp/mmconvert-validate-bench")
    parser.add_argument("--reps", type=int, default=3)
    beside = os.path.join(os.path.dirname(sys.executable), "mmconvert")
    default = beside if os.path.exists(beside) else shutil.which("mmconvert") or "mmconvert"
    parser.add_argument("--mmconvert", default=default, help="the mmconvert command (default: %(default)s)")
    args = parser.parse_args()
    data = generate(args.dir, args.samples)
    path = os.path.join(data, "llava_like.json")
    py = sys.executable
    typed = (
        "import msgspec, sys\n"
        "class T(msgspec.Struct):\n    role: str\n    content: str\n"
        "class R(msgspec.Struct):\n    messages: list[T]\n    images: list[str] = []\n"
        "msgspec.json.decode(open(sys.argv[1], 'rb').read(), type=list[R])"
    )
    commands = {
        "parse floor: json.load": [
            py,
            "-c",
            "import json, sys; json.load(open(sys.argv[1], encoding='utf-8'))",
            path,
        ],
        "typed msgspec decode": [py, "-c", typed, path],
        "validate --check none": [args.mmconvert, "validate", data, "--check", "none"],
        "validate --check exists": [args.mmconvert, "validate", data, "--check", "exists"],
    }
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
    for rep in range(args.reps):
        order = list(commands) if rep % 2 == 0 else list(reversed(commands))
        for name in order:
            runs[name].append(measure(commands[name]))
    size = os.path.getsize(path) / 1e6
    print(
        f"\n== {args.samples:,} samples, {size:.1f} MB, {args.reps} reps ({os.uname().release}, "
        f"load {os.getloadavg()[0]:.1f})"
    )
    print(f"{'command':28} {'median wall s':>13} {'max RSS MB':>11}  exit codes")
    floors = [w for w, _, _ in runs["parse floor: json.load"]]
    floor = statistics.median(floors)
    for name, rs in runs.items():
        wall = statistics.median(w for w, _, _ in rs)
        ratios = [w / f for (w, _, _), f in zip(rs, floors, strict=True)]
        ratio = f"   = {wall / floor:.2f}x the json.load floor (per rep {min(ratios):.2f}-{max(ratios):.2f}x)"
        print(
            f"{name:28} {wall:13.2f} {max(r for _, r, _ in rs):11.0f}  {[c for _, _, c in rs]}"
            + (ratio if name.startswith("validate") else "")
        )


if __name__ == "__main__":
    main()
