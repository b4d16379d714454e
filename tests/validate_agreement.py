"""Compare ``mmconvert validate`` verdicts with the real LLaMA-Factory oracle's (``lf_oracle.py
--per-sample``), sample by sample.

A dataset the oracle could not load (``load_errors``) agrees when validate also reports it as not
loadable; its rows count as agreeing samples.  Otherwise every index agrees when validate marks it
erroneous exactly when the oracle rejected (raised or dropped) it.

Run as a script to print the figures for one folder:
``python -m tests.validate_agreement DATASET_DIR ORACLE_REPORT.json [--stage sft] [--template qwen2_vl]``
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from mmconvert.validate import ValidateResult


@dataclass
class Agreement:
    datasets: int = 0
    datasets_agree: int = 0
    samples: int = 0
    samples_agree: int = 0
    mismatches: list[str] = field(default_factory=list)

    def add(self, other: Agreement) -> None:
        self.datasets += other.datasets
        self.datasets_agree += other.datasets_agree
        self.samples += other.samples
        self.samples_agree += other.samples_agree
        self.mismatches += other.mismatches

    def __str__(self) -> str:
        return (
            f"{self.datasets} datasets ({self.datasets_agree} agree), "
            f"{self.samples} samples ({self.samples_agree} agree)"
        )


def compare(oracle: dict[str, Any], result: ValidateResult) -> Agreement:
    """Agreement between one oracle report and validate's result for the same datasets."""
    ours = {d.name: d for d in result.datasets}
    load_errors = {e["dataset"]: e for e in oracle.get("load_errors", [])}
    rejected: dict[str, set[int]] = {}
    for item in oracle.get("rejected", []):
        rejected.setdefault(item["dataset"], set()).add(item["index"])
    agreement = Agreement()
    for name in oracle.get("datasets", []):
        mine = ours.get(name)
        agreement.datasets += 1
        if mine is None:
            agreement.mismatches.append(f"{name}: not validated")
            continue
        if name in load_errors:
            if mine.status == "load-error":
                agreement.datasets_agree += 1
            else:
                agreement.mismatches.append(
                    f"{name}: oracle cannot load it ({load_errors[name]['error'][:120]}), "
                    f"validate says {mine.status}"
                )
            continue
        if mine.status != "checked":
            agreement.mismatches.append(
                f"{name}: oracle loads it, validate says {mine.status}: {mine.message}"
            )
            continue
        theirs = rejected.get(name, set())
        bad = set(mine.error_samples)
        n = mine.rows
        agreement.samples += n
        wrong = sorted(theirs ^ bad)
        agreement.samples_agree += n - len(wrong)
        if wrong:
            agreement.mismatches.append(
                f"{name}: differ at {wrong[:20]} (oracle rejects {sorted(theirs)[:20]}, "
                f"validate {sorted(bad)[:20]})"
            )
        else:
            agreement.datasets_agree += 1
    return agreement


def main(argv: list[str]) -> int:
    import argparse
    import os

    from mmconvert.validate import ValidateOptions, validate_folder

    parser = argparse.ArgumentParser()
    parser.add_argument("dataset_dir")
    parser.add_argument("oracle_report")
    parser.add_argument("--stage", default="sft")
    parser.add_argument("--template", default="qwen2_vl")
    args = parser.parse_args(argv)
    with open(args.oracle_report, encoding="utf-8") as fh:
        oracle = json.load(fh)
    os.chdir(args.dataset_dir)
    result = validate_folder(
        ".", oracle["datasets"], ValidateOptions(stage=args.stage, template=args.template)
    )
    agreement = compare(oracle, result)
    print(agreement)
    for line in agreement.mismatches:
        print("  MISMATCH", line)
    return 0 if not agreement.mismatches else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
