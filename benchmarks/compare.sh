#!/usr/bin/env bash
# Captions -> LF at COCO train2017 scale: mmconvert against the hand-written baseline, JSON and JSONL.
#
#   bash benchmarks/compare.sh [--scale S] [--keep DIR] [--reps N] [--formats "json jsonl"]
#
# Runs the shared kit's bench.sh once per output format on the same data (generated once into DIR,
# default /tmp/mmconvert-bench, and reused), keeps each run's results as DIR/results-FORMAT.json and
# prints the ratios against the targets of issue 8: >= 6x faster wall time, <= 1/3 of the peak RSS.
# Each bench.sh run alternates baseline and mmconvert, so its ratio is measured under one machine load.
#
# Environment: BENCH_KIT (folder holding bench.sh; default ../shared/bench beside the repository),
# PYTHON (interpreter for the baseline and the floors; default: the one mmconvert runs on),
# MMCONVERT_BIN (default: mmconvert on PATH).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
KIT=${BENCH_KIT:-$(dirname "$REPO")/shared/bench}
SCALE=1.0 KEEP=/tmp/mmconvert-bench REPS=3 FORMATS="json jsonl"
while [ $# -gt 0 ]; do
  case $1 in
    --scale) SCALE=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --formats) FORMATS=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -f "$KIT/bench.sh" ] || { echo "compare.sh: no bench.sh in $KIT (set BENCH_KIT)" >&2; exit 2; }
MM_BIN=${MMCONVERT_BIN:-mmconvert}
command -v "${MM_BIN%% *}" >/dev/null || { echo "compare.sh: '$MM_BIN' not on PATH (pip install -e .)" >&2; exit 2; }
if [ -z "${PYTHON:-}" ]; then
  # the interpreter behind the mmconvert script, so that both sides run on the same Python
  PYTHON=$(head -n 1 "$(command -v "${MM_BIN%% *}")" | sed -n 's/^#!\(.*python[0-9.]*\)$/\1/p')
  PYTHON=${PYTHON:-python3}
fi
export PYTHON MMCONVERT_BIN=$MM_BIN
mkdir -p "$KEEP"
for fmt in $FORMATS; do
  echo "################ output format: $fmt   ($(uptime | sed 's/.*load/load/'))"
  if [ "$fmt" = jsonl ]; then mm="$HERE/mmconvert-jsonl"; else mm=$MM_BIN; fi
  MMCONVERT=$mm bash "$KIT/bench.sh" --scale "$SCALE" --keep "$KEEP" --reps "$REPS"
  cp "$KEEP/results.json" "$KEEP/results-$fmt.json"
done
"$PYTHON" - "$KEEP" $FORMATS <<'PY'
import json, os, sys
keep, formats = sys.argv[1], sys.argv[2:]
print("\n== issue 8 targets: wall >= 6x faster, RSS <= 1/3 of the baseline (one bench.sh run each)")
ok = True
for fmt in formats:
    r = json.load(open(os.path.join(keep, f"results-{fmt}.json")))
    s, ratios = r["summary"], r["ratios"]
    w, m = ratios["wall_naive_over_mmconvert"], ratios["rss_naive_over_mmconvert"]
    same = s.get("naive", {}).get("records") == s.get("mmconvert", {}).get("records")
    good = bool(w and m and w >= 6 and m >= 3 and same)
    ok &= good
    print(f"{fmt:6} baseline {s['naive']['median_wall_s']:.2f} s / {s['naive']['max_rss_mb']:.0f} MB, "
          f"mmconvert {s.get('mmconvert', {}).get('median_wall_s', float('nan')):.2f} s / "
          f"{s.get('mmconvert', {}).get('max_rss_mb', float('nan')):.0f} MB: wall x{w}, RSS x{m}, "
          f"records {'match' if same else 'DIFFER'}  {'OK' if good else 'MISSED'}")
sys.exit(0 if ok else 1)
PY
