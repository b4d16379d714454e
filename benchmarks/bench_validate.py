"""Benchmark: ``mmconvert validate`` on a large LLaMA-Factory file vs. just parsing it with msgspec.

    python benchmarks/bench_validate.py [--samples 600000] [--check exists] [--keep DIR]

Writes a sharegpt JSON file of N samples (two or four turns, one ``<image>`` each, 50 distinct small
PNGs) plus its ``dataset_info.json`` into a temp folder, then times (a) ``msgspec.json.decode`` of the
file's bytes and (b) :func:`mmconvert.validate.validate_folder` on it (read, Arrow typing, alignment,
every per-sample check, media checks at ``--check``).  Prints both times and their ratio (target <= 2).
Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def build(folder: Path, samples: int) -> Path:
    from PIL import Image

    (folder / "images").mkdir(parents=True, exist_ok=True)
    for i in range(50):
        Image.new("RGB", (32 + i, 32), (i * 5 % 255, 0, 0)).save(folder / "images" / f"{i}.png")
    rows = []
    for i in range(samples):
        turns = [
            {"from": "human", "value": f"<image>What is shown in picture {i}?"},
            {"from": "gpt", "value": f"A red rectangle, number {i}, on a plain background."},
        ]
        if i % 3 == 0:
            turns += [{"from": "human", "value": "And its colour?"}, {"from": "gpt", "value": "Red."}]
        rows.append({"conversations": turns, "images": [f"images/{i % 50}.png"]})
    path = folder / "big.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    entry = {
        "file_name": "big.json",
        "formatting": "sharegpt",
        "columns": {"messages": "conversations", "images": "images"},
    }
    (folder / "dataset_info.json").write_text(json.dumps({"big": entry}), encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    import msgspec

    from mmconvert.validate import ValidateOptions, validate_folder

    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=600_000)
    parser.add_argument("--check", default="exists")
    parser.add_argument("--keep", default=None, help="build/reuse the data in this folder")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="mmconvert_bench_"))
    path = folder / "big.json"
    if not path.exists():
        build(folder, args.samples)
    data = path.read_bytes()
    print(f"{path}: {len(data) / 1e6:.1f} MB")
    parse = min(_timed(lambda: msgspec.json.decode(data)) for _ in range(args.repeat))
    gc.disable()
    parse_nogc = min(_timed(lambda: msgspec.json.decode(data)) for _ in range(args.repeat))
    gc.enable()
    os.chdir(folder)
    result = None

    def run() -> None:
        nonlocal result
        result = validate_folder(".", ["big"], ValidateOptions(template="qwen2_vl", check=args.check))

    validate = min(_timed(run) for _ in range(args.repeat))
    assert result is not None
    d = result.datasets[0]
    print(f"msgspec parse: {parse:.2f} s (gc enabled), {parse_nogc:.2f} s (gc disabled)")
    print(
        f"validate (--check {args.check}): {validate:.2f} s for {d.rows:,} samples, "
        f"{d.will_train:,} will train"
    )
    print(
        f"ratio: {validate / parse:.2f}x the gc-enabled parse, "
        f"{validate / parse_nogc:.2f}x the gc-disabled one"
    )
    return 0


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
