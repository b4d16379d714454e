"""Dataset statistics (``mmconvert stats``, ``--report`` of coco2lf/convert/validate): the numbers equal
counts made by hand (or straight from the raw JSON, not through mmconvert's readers) on the bundled COCO
files and LLaMA-Factory's demo data; the JSON matches ``stats.schema.json``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mmconvert.cli import cli
from mmconvert.findings import Findings
from mmconvert.model import Media, MediaKind, Role, Sample, SourceRef, Turn
from mmconvert.schemas import validator
from mmconvert.stats import Distribution, StatsCollector, collect_folder, parse_boxes, token_budget
from mmconvert.tokens import image_tokens, sample_text_tokens

from .conftest import FIXTURES, THIRDPARTY
from .standins import LF_DATA, LF_IMAGES, jpeg, lf_data_folder

CAPTIONS = FIXTURES / "coco_captions" / "annotations" / "captions_val2017.json"
COCO_MINI = THIRDPARTY / "coco_mini_val2017"
INSTANCES = COCO_MINI / "annotations" / "instances_val2017.json"
#: The 3 COCO val2017 images bundled with both COCO fixtures: file name -> (width, height).
COCO_SIZES = {"000000165518.jpg": (612, 612), "000000229358.jpg": (640, 423), "000000255165.jpg": (640, 480)}


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    assert list(validator("stats").iter_errors(doc)) == []
    return {d["name"]: d for d in doc["datasets"]}


def _histogram(dist: dict[str, Any]) -> dict[int, int]:
    return {lo: n for lo, hi, n in dist["histogram"] if n}


# -- the pieces ------------------------------------------------------------------------------------------


def test_distribution_percentiles_are_nearest_rank() -> None:
    dist = Distribution()
    for value in [*range(1, 101)]:  # 1..100: the p-th percentile is p
        dist.add(value)
    summary = dist.summary()
    assert (summary["min"], summary["p50"], summary["p95"], summary["p99"], summary["max"]) == (
        1,
        50,
        95,
        99,
        100,
    )
    assert summary["mean"] == 50.5
    assert dist.above(95) == 5
    assert len(summary["histogram"]) == 34  # 100 values, bins of width 3
    assert sum(n for _, _, n in summary["histogram"]) == 100
    small = Distribution()
    for value in (2, 2, 4):
        small.add(value)
    assert small.histogram() == [[2, 2, 2], [3, 3, 0], [4, 4, 1]]
    assert small.percentile(50) == 2 and small.percentile(67) == 4
    assert Distribution().summary()["p50"] is None


def test_parse_boxes_reads_detection_answers() -> None:
    text = '[{"bbox_2d": [1, 2, 3, 4], "label": "cat"}, {"bbox_2d": [5, 6.5, 7, 8], "label": "dog"}]'
    assert parse_boxes(text) == [("cat", [1, 2, 3, 4]), ("dog", [5, 6.5, 7, 8])]
    assert parse_boxes(f"```json\n{text}\n```") == parse_boxes(text)
    assert parse_boxes('{"bbox_2d": [1, 2, 3, 4], "label": "x"}') == [("x", [1, 2, 3, 4])]
    assert parse_boxes("a caption mentioning bbox_2d") is None
    assert parse_boxes('[{"bbox_2d": [1, 2, 3], "label": "x"}]') is None
    assert parse_boxes('[{"bbox_2d": [true, 2, 3, 4]}]') is None


def _sample(index: int, text: str, images: tuple[str, ...], base: str) -> Sample:
    return Sample(
        turns=(Turn(Role.USER, "<image>" * len(images) + "What is this?"), Turn(Role.ASSISTANT, text)),
        source=SourceRef("chats.json", index, f"$[{index}]"),
        images=tuple(Media(MediaKind.IMAGE, p, base=base) for p in images),
    )


def test_text_tokens_are_the_budget_estimate() -> None:
    """The total of a sample without images is :func:`mmconvert.tokens.sample_text_tokens`, whatever its
    shape (system prompt, tools, preference answers, KTO label, non-ASCII text)."""
    source = SourceRef("x.json", 0, "$[0]")
    turns = (Turn(Role.USER, "Why is the sky blue? 为什么"), Turn(Role.ASSISTANT, "Rayleigh scattering." * 7))
    shapes = [
        Sample(turns=turns, source=source),
        Sample(turns=turns, source=source, system="You are terse.", tools='[{"name": "f"}]'),
        Sample(
            turns=turns[:1],
            source=source,
            chosen=Turn(Role.ASSISTANT, "good"),
            rejected=Turn(Role.ASSISTANT, "bad!"),
        ),
        Sample(turns=turns, source=source, kto_label=False),
        Sample(
            turns=(*turns, Turn(Role.FUNCTION, '{"name": "f"}'), Turn(Role.OBSERVATION, "42")), source=source
        ),
    ]
    for sample in shapes:
        collector = StatsCollector()
        collector.observe(sample, "x")
        d = _by_name(collector.to_dict())["x"]
        assert d["tokens"]["total_per_sample"]["max"] == sample_text_tokens(sample)
        prompt = [sample.system or ""] + [
            t.content for t in sample.turns if t.role in (Role.USER, Role.OBSERVATION)
        ]
        assert d["text"]["prompt_chars"]["max"] == sum(len(t) for t in prompt)


def test_duplicates_shared_and_missing_media(tmp_path: Path) -> None:
    jpeg(tmp_path / "a" / "1.jpg", (100, 50))
    jpeg(tmp_path / "a" / "2.jpg", (28, 28))
    base = str(tmp_path)
    samples = [
        _sample(0, "one", ("a/1.jpg",), base),
        _sample(1, "one", ("a/1.jpg",), base),  # same image, same text: a duplicate of 0
        _sample(2, "two", ("a/1.jpg",), base),  # same image, other text
        _sample(3, "one", ("a/2.jpg",), base),  # other image
        _sample(4, "x", ("b/9.jpg", "c/8.jpg"), base),  # two files missing, in two folders
        _sample(5, "y", ("b/9.jpg", "b/7.jpg"), base),  # one more missing in b/
        _sample(6, "one", ("a/1.jpg",), base),  # a second duplicate of 0
    ]
    collector = StatsCollector(token_budget("qwen2_vl", 64))
    for sample in samples:
        collector.observe(sample, "chats")
    d = _by_name(collector.to_dict())["chats"]
    assert d["samples"] == 7
    assert d["duplicates"] == {
        "samples": 2,
        "examples": [{"index": 1, "first_index": 0}, {"index": 6, "first_index": 0}],
    }
    assert d["shared_media"]["files"] == 5
    assert d["shared_media"]["shared"] == 2  # a/1.jpg (4 samples) and b/9.jpg (2)
    assert d["shared_media"]["top"][0] == {"path": str(tmp_path / "a" / "1.jpg"), "samples": 4}
    assert d["missing"]["files"] == 3 and d["missing"]["samples"] == 2
    assert d["missing"]["folders"] == [
        {"folder": str(tmp_path / "b"), "files": 2},
        {"folder": str(tmp_path / "c"), "files": 1},
    ]
    assert _histogram(d["media_per_sample"]["image"]) == {1: 5, 2: 2}
    sizes = d["image_sizes"]
    assert (sizes["files"], sizes["unknown"]) == (2, 3)
    assert sizes["points"] == [[28, 28, 1], [100, 50, 1]]
    # by hand: 100x50 is within LF's pixel limits; smart_resize rounds to 112x56 -> 4 x 2 = 8 tokens.  28x28
    # is under the processor's 56*56 minimum: 56x56 -> 2 x 2 = 4 tokens
    assert image_tokens(100, 50) == 8 and image_tokens(28, 28) == 4
    assert _histogram(d["tokens"]["visual_per_image"]) == {4: 1, 8: 4}
    assert d["tokens"]["unknown"] == 2  # the samples with missing images have no visual count
    assert d["tokens"]["total_per_sample"]["count"] == 5


# -- LLaMA-Factory's demo folder -------------------------------------------------------------------------


def test_stats_on_lf_demo_data_match_hand_counts(tmp_path: Path) -> None:
    out = tmp_path / "stats.json"
    result = _run("stats", str(LF_DATA), "--json", str(out), "-q")
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    d = _by_name(doc)
    assert list(d) == ["identity", "mllm_demo", "mllm_audio_demo", "mllm_video_demo", "mllm_video_audio_demo"]
    # identity.json: 91 alpaca rows (instruction, empty input, output) -> one user and one assistant turn
    rows = json.loads((LF_DATA / "identity.json").read_text(encoding="utf-8"))
    identity = d["identity"]
    assert identity["samples"] == len(rows) == 91
    assert _histogram(identity["turns"]) == {2: 91}
    assert identity["text"]["prompt_chars"]["max"] == max(len(r["instruction"]) for r in rows) == 44
    assert identity["text"]["answer_chars"]["max"] == max(len(r["output"]) for r in rows)
    assert identity["shared_media"]["files"] == 0 and identity["missing"]["files"] == 0
    # mllm_demo.json: 6 chats of 4 messages; images [2, 1, 1, 2, 1, 1] of 3 files, each used by 2 chats
    demo = d["mllm_demo"]
    assert demo["samples"] == 6
    assert _histogram(demo["turns"]) == {4: 6}
    assert _histogram(demo["media_per_sample"]["image"]) == {1: 4, 2: 2}
    assert demo["shared_media"] == {
        "files": 3,
        "shared": 3,
        "max_samples": 2,
        "top": [{"path": f"mllm_demo_data/{n}.jpg", "samples": 2} for n in (1, 2, 3)],
    }
    # mllm_demo_data/ is not bundled: every file is missing, the samples using them too
    assert demo["missing"] == {
        "files": 3,
        "samples": 6,
        "folders": [{"folder": "mllm_demo_data", "files": 3}],
    }
    both = d["mllm_video_audio_demo"]  # 3 chats on the same 4.mp4 and 4.mp3
    assert _histogram(both["media_per_sample"]["video"]) == {1: 3}
    assert _histogram(both["media_per_sample"]["audio"]) == {1: 3}
    assert both["shared_media"]["shared"] == 2 and both["shared_media"]["max_samples"] == 3
    # 90 hub entries are not read; 9 local entries name files that are not there
    assert doc["remote_entries"] == 90
    assert sorted(u["name"] for u in doc["unread"]) == sorted(
        [
            "alpaca_en_demo",
            "alpaca_zh_demo",
            "glaive_toolcall_en_demo",
            "glaive_toolcall_zh_demo",
            "dpo_en_demo",
            "dpo_zh_demo",
            "kto_en_demo",
            "wiki_demo",
            "c4_demo",
        ]
    )
    assert doc["findings"]["by_code"] == {"data-file-missing": 9}


def test_stats_table_and_exit_code(tmp_path: Path) -> None:
    folder = lf_data_folder(tmp_path)
    result = _run("stats", str(folder), "--dataset", "mllm_demo,identity", "--template", "qwen2_vl")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "dataset", "samples", "msgs", "p50/max", "img/sample", "max", "img", "px", "w", "x", "h", "p50",
        "vis", "tok/img", "p50/max", "tokens", "p50/p95/p99/max", ">2,048", "dups", "shared", "missing",
    ]  # fmt: skip
    demo = lines[2].split()
    assert demo[:5] == ["mllm_demo", "6", "4/4", "2i", "300x168"]
    # the stand-ins have the real sizes: 300x168, 300x199, 300x166 -> Qwen2-VL tokens
    tokens = sorted(image_tokens(*size) for size in LF_IMAGES.values())
    assert demo[5] == f"{tokens[1]}/{tokens[2]}"
    assert lines[3].split()[:2] == ["identity", "91"]
    assert lines[4] == (
        "tokens: visual (qwen2_vl) + text estimated (~4 ASCII characters or 1 other character per token); "
        "cutoff_len 2,048"
    )


def test_stats_usage_errors(tmp_path: Path) -> None:
    result = _run("stats", str(LF_DATA), "--dataset", "nope")
    assert result.exit_code == 2
    assert "Error: Undefined dataset nope in dataset_info.json." in result.stderr
    result = _run("stats", str(LF_DATA), "--template", "no_such_template")
    assert result.exit_code == 2
    assert "Error: unknown template 'no_such_template'" in result.stderr
    result = _run("stats")
    assert result.exit_code == 2
    assert "Error: give the dataset folder (DATASET_DIR) or --config train.yaml" in result.stderr
    result = _run("stats", str(LF_DATA), "--json", str(tmp_path / "missing" / "x.json"))
    assert result.exit_code == 2
    assert (
        f"Error: --json {tmp_path / 'missing' / 'x.json'}: the folder {tmp_path / 'missing'} does not exist"
        in (result.stderr)
    )


def test_stats_reads_the_training_yaml(tmp_path: Path) -> None:
    folder = lf_data_folder(tmp_path)
    config = tmp_path / "train.yaml"
    config.write_text(
        f"dataset_dir: {folder}\ndataset: mllm_demo\ntemplate: qwen2_vl\ncutoff_len: 100\n", encoding="utf-8"
    )
    out = tmp_path / "stats.json"
    result = _run("stats", "--config", str(config), "--json", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    demo = _by_name(doc)["mllm_demo"]
    assert doc["settings"]["cutoff_len"] == 100 and doc["settings"]["template"] == "qwen2_vl"
    # every mllm_demo image is at least 60 tokens; samples with two images exceed 100 with their text
    per_sample = demo["tokens"]["visual_per_sample"]
    assert per_sample["count"] == 6
    totals = demo["tokens"]["total_per_sample"]
    assert demo["tokens"]["over_cutoff"] == sum(n for lo, hi, n in totals["histogram"] if lo > 100)
    assert demo["tokens"]["over_cutoff"] >= 2


# -- conversions -----------------------------------------------------------------------------------------


def test_coco_captions_report_statistics(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = _run(
        "coco2lf",
        str(CAPTIONS),
        "-o",
        str(tmp_path / "out"),
        "--report",
        str(report),
        "--template",
        "qwen2_vl",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text(encoding="utf-8"))
    stats = doc["statistics"]
    (d,) = _by_name(stats).values()
    raw = json.loads(CAPTIONS.read_text(encoding="utf-8"))
    assert d["name"] == "coco_captions" and d["samples"] == len(raw["annotations"]) == 15
    assert _histogram(d["turns"]) == {2: 15}
    assert _histogram(d["media_per_sample"]["image"]) == {1: 15}
    assert sorted(tuple(p[:2]) for p in d["image_sizes"]["points"]) == sorted(COCO_SIZES.values())
    assert (d["image_sizes"]["width"]["min"], d["image_sizes"]["width"]["max"]) == (612, 640)
    assert d["image_sizes"]["height"]["p50"] == 480
    per_image = Counter(raw_image["id"] for raw_image in raw["images"])
    assert len(per_image) == 3
    assert d["shared_media"]["shared"] == 3 and d["shared_media"]["max_samples"] == 5
    expected = Counter()
    sizes = {i["id"]: (i["width"], i["height"]) for i in raw["images"]}
    for ann in raw["annotations"]:
        expected[image_tokens(*sizes[ann["image_id"]])] += 1
    visual = d["tokens"]["visual_per_image"]
    assert expected == {345: 5, 391: 5, 484: 5}  # 612x612, 640x423, 640x480: 5 captions each
    assert (visual["count"], visual["min"], visual["p50"], visual["max"]) == (15, 345, 391, 484)
    assert d["tokens"]["over_cutoff"] == 0 and d["tokens"]["unknown"] == 0
    assert d["text"]["answer_chars"]["max"] == max(len(a["caption"].strip()) for a in raw["annotations"])
    assert d["duplicates"]["samples"] == 0 and d["boxes"] is None


def test_coco_detection_class_balance_and_boxes(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = _run(
        "coco2lf",
        str(INSTANCES),
        "-o",
        str(tmp_path / "out"),
        "--on-error",
        "skip",
        "--report",
        str(report),
        "-q",
    )
    assert result.exit_code == 0, result.output
    (d,) = _by_name(json.loads(report.read_text(encoding="utf-8"))["statistics"]).values()
    # by hand from the raw file: the non-crowd annotations of the 3 bundled images, per category name
    raw = json.loads(INSTANCES.read_text(encoding="utf-8"))
    present = {i["id"] for i in raw["images"] if i["file_name"] in COCO_SIZES}
    names = {c["id"]: c["name"] for c in raw["categories"]}
    kept = [a for a in raw["annotations"] if a["image_id"] in present and not a["iscrowd"]]
    assert d["samples"] == 3
    assert d["boxes"]["samples"] == 3 and d["boxes"]["boxes"] == len(kept) == 34
    classes = {c["label"]: c["boxes"] for c in d["boxes"]["classes"]}
    assert classes == dict(Counter(names[a["category_id"]] for a in kept))
    per_image = Counter(a["image_id"] for a in kept)
    assert _histogram(d["boxes"]["per_image"]) == dict(Counter(per_image.values()))
    # the 76 images that are not bundled: their samples are held back, their files counted as missing
    assert d["missing"]["files"] == 76 and d["missing"]["samples"] == 76
    assert d["missing"]["folders"] == [{"folder": str(COCO_MINI / "val2017"), "files": 76}]


def test_split_statistics_are_per_split(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = _run(
        "coco2lf",
        str(CAPTIONS),
        "-o",
        str(tmp_path / "out"),
        "--split",
        "val=0.34",
        "--report",
        str(report),
        "-q",
    )
    assert result.exit_code == 0, result.output
    d = _by_name(json.loads(report.read_text(encoding="utf-8"))["statistics"])
    assert set(d) == {"coco_captions_train", "coco_captions_val"}
    assert d["coco_captions_train"]["samples"] + d["coco_captions_val"]["samples"] == 15
    # split by image: each image's 5 captions land in one split
    assert {d[n]["samples"] % 5 for n in d} == {0}


def test_report_on_failure_keeps_statistics(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = _run("coco2lf", str(INSTANCES), "-o", str(tmp_path / "out"), "--report", str(report), "-q")
    assert result.exit_code == 1
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["ok"] is False
    (d,) = _by_name(doc["statistics"]).values()
    assert d["missing"]["files"] == 76


def test_validate_report_has_statistics(tmp_path: Path) -> None:
    folder = lf_data_folder(tmp_path)
    report = tmp_path / "report.json"
    result = _run("validate", str(folder), "--dataset", "mllm_demo", "--report", str(report), "-q")
    assert result.exit_code == 0, result.output
    doc = json.loads(report.read_text(encoding="utf-8"))
    demo = _by_name(doc["statistics"])["mllm_demo"]
    assert demo["samples"] == 6 and demo["missing"]["files"] == 0
    assert sorted(tuple(p[:2]) for p in demo["image_sizes"]["points"]) == sorted(LF_IMAGES.values())


def test_collect_folder_counts_what_lf_keeps(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    rows = [
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
        {
            "messages": [{"role": "assistant", "content": "first"}, {"role": "user", "content": "x"}]
        },  # LF drops
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]},
    ]
    (folder / "chats.json").write_text(json.dumps(rows), encoding="utf-8")
    entry = {
        "file_name": "chats.json",
        "formatting": "sharegpt",
        "columns": {"messages": "messages"},
        "tags": {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
        },
    }
    (folder / "dataset_info.json").write_text(json.dumps({"chats": entry}), encoding="utf-8")
    collector = StatsCollector()
    findings = Findings()
    collect_folder(str(folder), None, collector, findings)
    d = _by_name(collector.to_dict())["chats"]
    assert d["samples"] == 2
    assert d["duplicates"]["samples"] == 1
    assert [f.code for f in findings] == ["role-order"]


@pytest.mark.parametrize("template", [None, "qwen2_vl", "qwen3_vl"])
def test_stats_json_matches_schema(tmp_path: Path, template: str | None) -> None:
    folder = lf_data_folder(tmp_path)
    out = tmp_path / "s.json"
    args = ["stats", str(folder), "--json", str(out), "-q"]
    if template:
        args += ["--template", template]
    assert _run(*args).exit_code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert list(validator("stats").iter_errors(doc)) == []
    assert doc["settings"]["template"] == template
    broken = {**doc, "datasets": [{**doc["datasets"][0], "samples": "six"}]}
    assert list(validator("stats").iter_errors(broken))
