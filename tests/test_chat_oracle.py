"""The chat importers against real LLaMA-Factory 0.9.5: real samples and broken variants are converted
with ``--on-error skip``; every sample written must be accepted by LF, every sample not written must
be named in a finding, and tags must end up one per media item."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from mmconvert.api import convert
from mmconvert.options import (
    ChatOptions,
    LiteralPolicy,
    OnError,
    OutputFormat,
    OutputOptions,
    PassOptions,
    PlaceholderPolicy,
)

from .conftest import THIRDPARTY, run_oracle

GOLDEN = Path(__file__).parent / "golden"


def _png(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (40, 30), (120, 60, 200)).save(path, format="PNG")


def _convert(
    fmt: str,
    source: Path,
    out: Path,
    name: str,
    media_dir: Path | None = None,
    jsonl: bool = False,
    placeholders: PlaceholderPolicy = PlaceholderPolicy.INSERT,
    literal: LiteralPolicy = LiteralPolicy.ERROR,
) -> dict[str, Any]:
    result = convert(
        fmt,
        [str(source)],
        ChatOptions(media_dir=str(media_dir) if media_dir else None),
        PassOptions(on_error=OnError.SKIP, placeholders=placeholders, literal=literal),
        OutputOptions(
            output_dir=str(out), name=name, format=OutputFormat.JSONL if jsonl else OutputFormat.JSON
        ),
    )
    named = {(f.file, f.index) for f in result.findings if f.severity == "error" and f.index is not None}
    # Nothing silently dropped: every sample not written is named by an error finding.
    assert result.samples_seen + result.findings.skipped == result.samples_written + result.samples_rejected
    assert len(named) == result.samples_rejected
    rows = _rows(Path(result.output_file or ""))
    for row in rows:  # one tag per media item
        text = "".join(m["content"] for m in row["messages"])
        assert text.count("<image>") == len(row.get("images", []))
        assert text.count("<video>") == len(row.get("videos", []))
    return {"written": result.samples_written, "rejected": result.samples_rejected}


def _rows(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    rows: list[dict[str, Any]] = json.loads(text)
    return rows


def _accepted(report: dict[str, Any], expected_total: int) -> None:
    assert report["load_errors"] == [], report["load_errors"]
    assert report["rejected"] == [], report["rejected"][:3]
    assert report["total"] == report["accepted"] == expected_total


@pytest.mark.lf_oracle
@pytest.mark.slow
@pytest.mark.shared_data  # ScienceQA and LF's demo data and media are not bundled
def test_real_and_broken_chat_data_accepted_by_lf(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    src = tmp_path / "src"
    src.mkdir()
    # LLaVA ScienceQA subset: images are not shipped, so stand-ins are created at the named paths.
    scienceqa = shared_data / "llava/playground/data/eval/scienceqa/llava_test_CQM-A.first200.json"
    for record in json.loads(scienceqa.read_text(encoding="utf-8")):
        if "image" in record:
            _png(src / "scienceqa_images" / record["image"])
    xtuner = src / "xtuner" / "multi_modal.json"
    xtuner.parent.mkdir()
    shutil.copy(
        THIRDPARTY / "xtuner_hybrid/xtuner/configs/internlm/internlm2_chat_1_8b/hybrid/multi_modal.json",
        xtuner,
    )
    _png(xtuner.parent / "image1.jpg")
    _png(xtuner.parent / "image2.jpg")
    lf = shared_data / "llamafactory/data"
    llava_video = src / "llava_video.json"
    llava_video.write_text(
        json.dumps(
            [
                {
                    "video": "4.mp4",
                    "conversations": [
                        {"from": "human", "value": "<image>\nWhat is she drawing?"},
                        {"from": "gpt", "value": "A guitar."},
                    ],
                }
            ]
        ),
        encoding="utf-8",
    )
    runs = [
        ("sharegpt", THIRDPARTY / "fastchat/data/dummy_conversation.json", "fastchat", None, False),
        ("llava", scienceqa, "scienceqa", src / "scienceqa_images", False),
        ("openai", xtuner, "xtuner", None, False),
        ("sharegpt", lf / "mllm_demo.json", "mllm_demo", None, False),
        ("sharegpt", lf / "mllm_video_demo.json", "mllm_video", None, False),
        ("sharegpt", lf / "glaive_toolcall_en_demo.json", "glaive", None, True),
        ("sharegpt", THIRDPARTY / "ms_swift/tests/llm/data/conversations.jsonl", "swift_conv", None, False),
        ("openai", THIRDPARTY / "ms_swift/tests/llm/data/chatml.jsonl", "swift_chatml", None, False),
        ("sharegpt", GOLDEN / "sharegpt/broken/input/broken.json", "broken", None, False),
        (
            "llava",
            GOLDEN / "llava/tags/input/llava.json",
            "llava_tags",
            GOLDEN / "llava/tags/input/images",
            True,
        ),
        ("openai", GOLDEN / "openai/parts/input/chats.jsonl", "openai_parts", None, True),
        ("openai", lf / "v1_multimodal_demo.jsonl", "lf_v1", lf.parent, False),
        ("swift", GOLDEN / "swift/mixed/input/swift.jsonl", "swift_mixed", None, True),
        ("swift", THIRDPARTY / "ms_swift/tests/llm/data/sharegpt.jsonl", "swift_pairs", None, False),
        ("llava", llava_video, "llava_video", lf / "mllm_demo_data", False),
    ]
    written = 0
    for fmt, source, name, media_dir, jsonl in runs:
        written += _convert(fmt, source, out, name, media_dir, jsonl)["written"]
    trimmed = _convert(
        "llava",
        GOLDEN / "llava/tags/input/llava.json",
        out,
        "llava_trim",
        GOLDEN / "llava/tags/input/images",
        placeholders=PlaceholderPolicy.TRIM,
        literal=LiteralPolicy.REWRITE,
    )
    written += trimmed["written"]
    report = run_oracle(out, ",".join([*(r[2] for r in runs), "llava_trim"]))
    _accepted(report, written)

    dpo = _convert("sharegpt", lf / "dpo_en_demo.json", out, "dpo")
    _accepted(run_oracle(out, "dpo", stage="rm"), dpo["written"])
    kto = _convert("sharegpt", lf / "kto_en_demo.json", out, "kto")
    _accepted(run_oracle(out, "kto", stage="kto"), kto["written"])
    swift_dpo = _convert("swift", GOLDEN / "swift/dpo/input/dpo.jsonl", out, "swift_dpo")
    _accepted(run_oracle(out, "swift_dpo", stage="rm"), swift_dpo["written"])
