"""Every COCO task's output against real LLaMA-Factory 0.9.5 (one oracle run over all of them): every
written sample must be accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mmconvert.api import convert, convert_split
from mmconvert.options import CocoOptions, OnError, OutputOptions, PassOptions
from mmconvert.splits import parse_split

from .conftest import THIRDPARTY, run_oracle
from .standins import vqa_tree

GOLDEN_INPUT = Path(__file__).parent / "golden" / "coco_tasks" / "det_qwen25" / "input"


@pytest.mark.lf_oracle
@pytest.mark.slow
def test_lf_accepts_every_task(tmp_path: Path) -> None:
    ann = THIRDPARTY / "coco_mini_val2017" / "annotations"
    vqa = vqa_tree(tmp_path / "vision")  # the bundled VQA JSON, a generated stand-in for its photo
    dm = THIRDPARTY / "datumaro_coco"
    chess = THIRDPARTY / "roboflow_chess_pieces" / "test" / "_annotations.coco.json"
    runs: list[tuple[str, list[Path], dict[str, Any]]] = [
        ("det", [ann / "instances_val2017.json"], {}),
        ("ground", [ann / "instances_val2017.json"], {"task": "grounding", "bbox_format": "qwen3-vl"}),
        (
            "ground_ann",
            [ann / "instances_val2017.json"],
            {"task": "grounding", "grounding": "annotation", "bbox_format": "norm", "crowd": "include"},
        ),
        ("pose", [ann / "person_keypoints_val2017.json"], {"empty": "keep"}),
        ("mix", [ann / "captions_val2017.json", ann / "instances_val2017.json"], {"bbox_format": "xyxy"}),
        ("vqa", [vqa / "questions.json"], {"answers": str(vqa / "annotations.json")}),
        ("chess", [chess], {"bbox_format": "coco"}),
        ("dm_pose", [dm / "coco_dataset/coco/annotations/person_keypoints_train.json"], {}),
        ("dm_det", [dm / "coco_dataset/coco/annotations/instances_val.json"], {"crowd": "include"}),
        ("wide_det", [GOLDEN_INPUT / "instances.json"], {"task": "detection", "empty": "keep"}),
        ("wide_pose", [GOLDEN_INPUT / "instances.json"], {}),
    ]
    out = tmp_path / "data"
    names: list[str] = []
    written = 0
    for name, inputs, options in runs:
        result = convert(
            "coco",
            [str(p) for p in inputs],
            CocoOptions(**options),
            PassOptions(on_error=OnError.SKIP),
            OutputOptions(output_dir=str(out), name=name),
        )
        assert result.samples_written > 0, name
        names.append(name)
        written += result.samples_written
    split = convert_split(
        "coco",
        [str(ann / "captions_val2017.json")],
        CocoOptions(),
        PassOptions(on_error=OnError.SKIP),
        OutputOptions(output_dir=str(out), name="cap"),
        parse_split("val=0.5", seed=0),  # 3 shipped images: 2 train, 1 val
    )
    for part in split.extra["splits"]:
        names.append(part.name)
    written += split.samples_written
    report = run_oracle(out, ",".join(names))
    assert report["load_errors"] == []
    assert report["rejected"] == []
    assert report["total"] == report["accepted"] == written
    assert report["full_get_dataset"]["ok"]
