"""coco2lf beyond captions: every task on the real COCO-style files in fixtures/thirdparty, every bad
annotation of the malformed samples named, VQA joins, several files with one index, leak-free splits."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from mmconvert.api import convert, convert_split
from mmconvert.cli import cli
from mmconvert.errors import InputError, UsageError, ValidationFailed
from mmconvert.findings import Finding
from mmconvert.options import CheckTier, CocoOptions, OnError, OutputOptions, PassOptions
from mmconvert.splits import parse_split

from .conftest import THIRDPARTY
from .conftest import run_cli as _run
from .standins import vqa_tree

GOLDEN_INPUT = Path(__file__).parent / "golden" / "coco_tasks" / "det_qwen25" / "input"


def _convert(
    inputs: list[Path], out: Path, name: str, check: CheckTier = CheckTier.EXISTS, **coco: Any
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Convert with --on-error skip; (written rows, findings)."""
    result = convert(
        "coco",
        [str(p) for p in inputs],
        CocoOptions(**coco),
        PassOptions(on_error=OnError.SKIP, check=check),
        OutputOptions(output_dir=str(out), name=name),
    )
    assert result.output_file is not None
    rows = json.loads(Path(result.output_file).read_text(encoding="utf-8"))
    return rows, result.findings.to_list()


def _answers(rows: list[dict[str, Any]]) -> list[Any]:
    return [json.loads(r["messages"][1]["content"]) for r in rows]


def _codes(findings: list[Finding]) -> set[tuple[str, str | None]]:
    return {(f.code, f.path) for f in findings}


# -- real data, every task --------------------------------------------------------------------------


def test_coco_mini_every_task(tmp_path: Path) -> None:
    ann = THIRDPARTY / "coco_mini_val2017" / "annotations"
    # 3 of the 79 images are shipped; the others are media-missing findings (skipped).
    det, findings = _convert([ann / "instances_val2017.json"], tmp_path, "det")
    assert len(det) == 3
    assert sum(f.code == "coco-crowd-skipped" for f in findings) == 5
    for answer in _answers(det):
        assert answer and all(set(o) == {"bbox_2d", "label"} and len(o["bbox_2d"]) == 4 for o in answer)
    ground, _ = _convert([ann / "instances_val2017.json"], tmp_path, "ground", task="grounding")
    assert len(ground) == 16
    assert all(len({o["label"] for o in a}) == 1 for a in _answers(ground))
    pose, findings = _convert([ann / "person_keypoints_val2017.json"], tmp_path, "pose")
    assert len(pose) == 2  # one of the 3 shipped images has no person
    assert any(o["keypoints"] for a in _answers(pose) for o in a)
    assert sum(f.code == "coco-image-without-annotations" for f in findings) == 40
    mix, _ = _convert([ann / "captions_val2017.json", ann / "instances_val2017.json"], tmp_path, "mix")
    assert len(mix) == 3 * 5 + 3
    assert {r["images"][0] for r in mix} == {r["images"][0] for r in det}


def test_person_397133_box_by_hand(tmp_path: Path) -> None:
    """Image 397133 is 640x427; the model sees 644x420.  Its person [388.66, 69.92, 109.41, 277.62]:
    388.66*644/640 = 391.09 -> 391, 69.92*420/427 = 68.77 -> 69, 498.07*644/640 = 501.18 -> 501,
    347.54*420/427 = 341.84 -> 342."""
    ann = THIRDPARTY / "coco_mini_val2017" / "annotations" / "instances_val2017.json"
    rows, _ = _convert([ann], tmp_path, "det", check=CheckTier.NONE)
    people = [o["bbox_2d"] for o in _answers(rows)[0] if o["label"] == "person"]
    assert [391, 69, 501, 342] in people


@pytest.mark.parametrize(
    ("rel", "task", "samples"),
    [
        ("datumaro_coco/coco_dataset/coco/annotations/instances_train.json", None, 1),
        ("datumaro_coco/coco_dataset/coco/annotations/instances_val.json", "grounding", 1),
        ("datumaro_coco/coco_dataset/coco/annotations/person_keypoints_train.json", None, 1),
        ("datumaro_coco/coco_dataset/coco_instances/annotations/instances_val.json", None, 1),
        ("datumaro_coco/coco_dataset/mmdet_coco/annotations/instances_val.json", None, 1),
        ("datumaro_coco/coco_dataset/coco_roboflow/train/_annotations.coco.json", None, 1),
        ("datumaro_coco/roboflow_dataset/coco/train/_annotations.coco.json", None, 2),
        ("datumaro_coco/kaggle_dataset/relaxed_coco/annotations.json", "grounding", 2),
        ("roboflow_chess_pieces/test/_annotations.coco.json", None, 1),
    ],
)
def test_other_real_files(tmp_path: Path, rel: str, task: str | None, samples: int) -> None:
    rows, _ = _convert([THIRDPARTY / rel], tmp_path, "x", task=task)
    assert len(rows) == samples


def test_datumaro_keypoints_without_names_are_numbered(tmp_path: Path) -> None:
    path = THIRDPARTY / "datumaro_coco/coco_dataset/coco/annotations/person_keypoints_train.json"
    rows, findings = _convert([path], tmp_path, "pose")
    assert ("coco-unnamed-keypoints", "$.categories") in _codes(findings)
    (obj,) = _answers(rows)[0]
    assert [k["label"] for k in obj["keypoints"]] == ["keypoint_2", "keypoint_3"]
    assert [k["visibility"] for k in obj["keypoints"]] == ["occluded", "visible"]


def test_crowd_include_and_mask_bbox_from_pycocotools(tmp_path: Path) -> None:
    path = THIRDPARTY / "datumaro_coco/coco_dataset/coco/annotations/instances_val.json"
    rows, findings = _convert([path], tmp_path, "x", crowd="include", bbox_format="coco")
    assert [o["label"] for o in _answers(rows)[0]] == ["a", "b"]
    assert "coco-crowd-skipped" not in {f.code for f in findings}
    # Without a bbox the box comes from the RLE: {"counts": [0, 20, 30], "size": [10, 5]} -> 5x10 mask,
    # the first 20 pixels (column-major) set: columns 0-1, all 10 rows -> [0, 0, 2, 10].
    data = json.loads(path.read_text())
    for ann in data["annotations"]:
        if ann["iscrowd"]:
            del ann["bbox"]
    data["images"][0]["width"], data["images"][0]["height"] = 5, 10
    local = tmp_path / "annotations" / "instances_val.json"
    local.parent.mkdir()
    local.write_text(json.dumps(data))
    images = tmp_path / "images" / "val"
    images.mkdir(parents=True)
    shutil.copy(path.parents[1] / "images" / "val" / "b.jpg", images / "b.jpg")
    rows, _ = _convert(
        [local], tmp_path / "o", "x", crowd="include", bbox_format="coco", check=CheckTier.NONE
    )
    assert _answers(rows)[0][1] == {"bbox_2d": [0, 0, 2, 10], "label": "b"}


def test_vqav2_join_and_answer_choice(tmp_path: Path) -> None:
    vqa = vqa_tree(tmp_path / "vision")
    rows, _ = _convert([vqa / "questions.json"], tmp_path, "vqa", answers=str(vqa / "annotations.json"))
    assert [r["messages"][1]["content"] for r in rows] == ["net", "pitcher", "orange"]
    assert rows[0]["messages"][0]["content"] == (
        "<image>What is this photo taken looking through?\nAnswer the question using a single word or phrase."
    )
    assert all(r["images"] == ["../images/COCO_train2014_000000458752.jpg"] for r in rows) or all(
        r["images"][0].endswith("images/vqav2/COCO_train2014_000000458752.jpg") for r in rows
    )


def test_vqa_findings(tmp_path: Path) -> None:
    vqa = vqa_tree(tmp_path / "vision")
    answers = json.loads((vqa / "annotations.json").read_text())
    answers["annotations"][1]["question_id"] = 1  # question 458752001 loses its answer; 1 is an orphan
    answers["annotations"][2]["answers"] = [{"answer": " "}]
    bad = tmp_path / "answers.json"
    bad.write_text(json.dumps(answers))
    images = vqa.parent / "images" / "vqav2"
    rows, findings = _convert(
        [vqa / "questions.json"], tmp_path, "vqa", answers=str(bad), images_dir=str(images), prompts=("x",)
    )
    assert len(rows) == 1
    assert _codes(findings) >= {
        ("vqa-missing-answer", "$.questions[1].question_id"),
        ("vqa-no-answer", "$.annotations[2].answers"),
        ("vqa-orphan-answer", "$.annotations[1].question_id"),
    }
    with pytest.raises(UsageError, match="needs its answers"):
        _convert([vqa / "questions.json"], tmp_path, "vqa2")


def test_vqa_multiple_choice_answer(tmp_path: Path) -> None:
    (tmp_path / "val2014").mkdir()
    Image.new("RGB", (30, 20)).save(tmp_path / "val2014" / "COCO_val2014_000000000007.jpg")
    (tmp_path / "q.json").write_text(
        json.dumps(
            {
                "data_subtype": "val2014",
                "questions": [{"question_id": 70, "image_id": 7, "question": "What color?"}],
            }
        )
    )
    answers = [{"answer": a} for a in ("red", "blue", "blue", "red")]
    (tmp_path / "a.json").write_text(
        json.dumps(
            {"annotations": [{"question_id": 70, "answers": answers, "multiple_choice_answer": "blue"}]}
        )
    )
    common = {"answers": str(tmp_path / "a.json")}
    rows, _ = _convert([tmp_path / "q.json"], tmp_path / "o1", "v", **common)
    assert rows[0]["messages"][1]["content"] == "red"  # tie: the first given wins
    rows, _ = _convert([tmp_path / "q.json"], tmp_path / "o2", "v", vqa_answer="multiple-choice", **common)
    assert rows[0]["messages"][1]["content"] == "blue"
    assert rows[0]["images"] == ["../val2014/COCO_val2014_000000000007.jpg"]


# -- malformed samples: every bad annotation named --------------------------------------------------


def test_mmdetection_coco_sample_every_problem_named(tmp_path: Path) -> None:
    path = THIRDPARTY / "mmdetection" / "tests" / "data" / "coco_sample.json"
    rows, findings = _convert([path], tmp_path, "x", check=CheckTier.NONE, images_dir=str(tmp_path))
    assert _codes(findings) == {
        ("coco-crowd-skipped", "$.annotations[1].iscrowd"),  # iscrowd 1 without segmentation
        ("coco-score-in-ground-truth", "$.annotations[0].score"),
        ("coco-ignored-skipped", "$.annotations[3].ignore"),  # mmdetection's ignore flag
        ("coco-bad-box", "$.annotations[4].bbox"),  # [0, 0, 0, 10]
        ("coco-unknown-category", "$.annotations[5].category_id"),  # category 3
        ("coco-zero-area", "$.annotations[6].area"),  # area 0 for a 10x10 box
        ("coco-box-collapsed", "$.annotations[7].bbox"),  # [0, 0, 1, 0.1] on a 20x20 image
        ("coco-image-without-annotations", "$.images[2]"),  # fake3.jpg
    }
    # image 1 has errors (zero-width box, unknown category): no sample; images 0 and 3 are written.
    assert [r["images"][0] for r in rows] == ["fake1.jpg", "fake4.jpg"]  # relative to -o (= images dir)


def test_mmdetection_wrong_format_sample(tmp_path: Path) -> None:
    path = THIRDPARTY / "mmdetection" / "tests" / "data" / "coco_wrong_format_sample.json"
    with pytest.raises(ValidationFailed) as failed:
        _convert([path], tmp_path, "x", check=CheckTier.NONE, images_dir=str(tmp_path))
    codes = _codes(failed.value.findings.to_list())
    assert ("coco-duplicate-annotation-id", "$.annotations[1].id") in codes
    assert ("no-samples", None) in codes
    assert not (tmp_path / "x.json").exists()


def test_mmdetection_video_sample_converts(tmp_path: Path) -> None:
    path = THIRDPARTY / "mmdetection" / "tests" / "data" / "vis_sample.json"
    rows, findings = _convert([path], tmp_path, "x", check=CheckTier.NONE, images_dir=str(tmp_path))
    assert [r["images"][0] for r in rows] == ["0043f083b5/00000.jpg", "0043f083b5/00001.jpg"]
    assert [f for f in findings if f.severity == "error"] == []


def test_dangling_image_missing_box_and_outside_box(tmp_path: Path) -> None:
    data = json.loads((GOLDEN_INPUT / "instances.json").read_text())
    data["annotations"] += [
        {"id": 6, "image_id": 99, "category_id": 2, "bbox": [1, 1, 2, 2]},
        {"id": 7, "image_id": 2, "category_id": 2},
        {"id": 8, "image_id": 2, "category_id": 2, "bbox": [700, 10, 5, 5]},
        {"id": 9, "image_id": 3, "category_id": 2, "bbox": [5, 5, 5]},
    ]
    shutil.copytree(GOLDEN_INPUT / "images", tmp_path / "images")
    (tmp_path / "instances.json").write_text(json.dumps(data))
    with pytest.raises(ValidationFailed) as failed:
        convert(
            "coco",
            [str(tmp_path / "instances.json")],
            CocoOptions(task="detection"),
            PassOptions(),
            OutputOptions(output_dir=str(tmp_path / "out"), name="x"),
        )
    codes = _codes(failed.value.findings.to_list())
    assert codes >= {
        ("coco-dangling-image-id", "$.annotations[5].image_id"),
        ("coco-missing-box", "$.annotations[6].bbox"),
        ("coco-box-outside", "$.annotations[7].bbox"),
        ("coco-bad-box", "$.annotations[8].bbox"),
        ("coco-box-clipped", "$.annotations[1].bbox"),
    }
    assert not (tmp_path / "out").exists()


def test_header_check_names_size_mismatch(tmp_path: Path) -> None:
    data = json.loads((GOLDEN_INPUT / "instances.json").read_text())
    data["images"][1]["width"], data["images"][1]["height"] = 480, 640  # photo.png is 640x480
    shutil.copytree(GOLDEN_INPUT / "images", tmp_path / "images")
    (tmp_path / "instances.json").write_text(json.dumps(data))
    rows, findings = _convert(
        [tmp_path / "instances.json"], tmp_path / "o", "x", task="detection", check_header=True
    )
    assert ("coco-size-mismatch", "$.images[1]") in _codes(findings)
    assert [r["images"][0].rsplit("/", 1)[1] for r in rows] == ["wide.png"]
    rows, findings = _convert([tmp_path / "instances.json"], tmp_path / "o2", "x", task="detection")
    assert "coco-size-mismatch" not in {f.code for f in findings}  # only with --check header


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_says_which_task_it_chose(tmp_path: Path) -> None:
    code, out, err = _run(["coco2lf", str(GOLDEN_INPUT / "instances.json"), "-o", "o", "-n", "p"], tmp_path)
    assert code == 0, err
    assert (
        f"{GOLDEN_INPUT / 'instances.json'}: task pose (it holds keypoints); use --task to choose another"
        in err
    )
    assert out == "Wrote 1 samples to o/p.json and entry 'p' in o/dataset_info.json\n"


def test_cli_rejects_a_task_that_does_not_fit(tmp_path: Path) -> None:
    cap = THIRDPARTY / "coco_mini_val2017" / "annotations" / "captions_val2017.json"
    code, _out, err = _run(["coco2lf", str(cap), "--task", "detection", "-o", "o"], tmp_path)
    assert code == 2
    assert err.splitlines()[-1] == (
        f"Error: --task detection does not fit {cap}: it holds captions (possible: caption)"
    )
    code, _out, err = _run(
        ["coco2lf", str(GOLDEN_INPUT / "instances.json"), "--task", "grounding", "--prompt", "find {cat}"],
        tmp_path,
    )
    assert code == 2
    assert "Error: --prompt 'find {cat}': only {category} (grounding, pose) and {question} (vqa)" in err
    assert not (tmp_path / "o").exists()


def test_cli_custom_grounding_prompt(tmp_path: Path) -> None:
    args = [
        "coco2lf",
        str(GOLDEN_INPUT / "instances.json"),
        "--task",
        "grounding",
        "-o",
        "o",
        "-n",
        "g",
        "--prompt",
        "Where is the {category}?",
        "--bbox-format",
        "coco",
    ]
    code, _out, err = _run(args, tmp_path)
    assert code == 0, err
    rows = json.loads((tmp_path / "o" / "g.json").read_text())
    assert rows[1]["messages"] == [
        {"role": "user", "content": "<image>Where is the dog?"},
        {"role": "assistant", "content": '[{"bbox_2d": [1800, 1000, 120, 80], "label": "dog"}]'},
    ]


def test_help_states_the_rounding_rules() -> None:
    result = CliRunner().invoke(cli, ["coco2lf", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "rounded half up" in text and "smart_resize: factor 28, min 56*56, max 28*28*16384" in text


# -- splits ---------------------------------------------------------------------------------------


def test_parse_split() -> None:
    assert parse_split("val=0.05").parts == (("train", 0.95), ("val", 0.05))
    assert parse_split("train=0.8,val=0.1,test=0.1", 3).parts == (("train", 0.8), ("val", 0.1), ("test", 0.1))
    for bad in ("val", "val=2", "val=0.6,test=0.6", "train=0.5,val=0.2", "val=x", "a=0.1,a=0.2", "all=1"):
        with pytest.raises(UsageError):
            parse_split(bad)


def test_split_no_image_in_two_splits(tmp_path: Path) -> None:
    ann = THIRDPARTY / "coco_mini_val2017" / "annotations"
    inputs = [str(ann / "captions_val2017.json"), str(ann / "instances_val2017.json")]

    def run(out: Path) -> dict[str, list[dict[str, Any]]]:
        result = convert_split(
            "coco",
            inputs,
            CocoOptions(),
            PassOptions(check=CheckTier.NONE),
            OutputOptions(output_dir=str(out), name="mix"),
            parse_split("val=0.2,test=0.1", seed=3),
        )
        assert [r.name for r in result.extra["splits"]] == ["mix_train", "mix_val", "mix_test"]
        info = json.loads((out / "dataset_info.json").read_text())
        assert list(info) == ["mix_train", "mix_val", "mix_test"]
        return {s: json.loads((out / f"mix_{s}.json").read_text()) for s in ("train", "val", "test")}

    first = run(tmp_path / "a")
    owner: dict[str, str] = {}
    for split, rows in first.items():
        assert rows
        for row in rows:
            image = row["images"][0]
            assert owner.setdefault(image, split) == split, f"{image} in {owner[image]} and {split}"
    assert sum(len(r) for r in first.values()) == 395 + 79
    assert len(owner) == 79
    # Every caption of an image and its detection chat travel together, and runs repeat exactly.
    assert run(tmp_path / "b") == first


def test_split_is_all_or_nothing(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN_INPUT, tmp_path / "in")
    args = [
        "coco2lf",
        "in/instances.json",
        "--task",
        "detection",
        "-o",
        "o",
        "-n",
        "d",
        "--split",
        "val=0.01",
    ]
    code, out, err = _run(args, tmp_path)
    assert code == 1
    assert "error split-empty (1):" in err and "the split 'val' got no sample" in err
    assert not (tmp_path / "o").exists()
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "d_val.json").write_text("[]")
    code, out, err = _run([*args[:-1], "val=0.5", "--seed", "1"], tmp_path)
    assert code == 2 and "d_val.json exists already" in err
    assert sorted(os.listdir(tmp_path / "o")) == ["d_val.json"]
    code, out, err = _run([*args[:-1], "val=0.5", "--seed", "1", "--force"], tmp_path)
    assert code == 0, err
    assert out.splitlines() == [
        "Wrote 1 samples to o/d_train.json and entry 'd_train' in o/dataset_info.json",
        "Wrote 1 samples to o/d_val.json and entry 'd_val' in o/dataset_info.json",
    ]


def test_split_entries_follow_the_named_order(tmp_path: Path) -> None:
    cap = THIRDPARTY / "coco_mini_val2017" / "annotations" / "captions_val2017.json"
    args = ["coco2lf", str(cap), "--check", "none", "-o", "o", "-n", "c", "--split", "test=0.3,val=0.2", "-q"]
    code, out, err = _run(args, tmp_path)
    assert code == 0, err
    info = json.loads((tmp_path / "o" / "dataset_info.json").read_text())
    assert list(info) == ["c_train", "c_test", "c_val"]
    sizes = {k: len(json.loads((tmp_path / "o" / f"{k}.json").read_text())) for k in info}
    assert sum(sizes.values()) == 395 and all(n % 5 == 0 for n in sizes.values())  # 5 captions per image
    assert out.splitlines()[0].startswith("Wrote ") and len(out.splitlines()) == 3


def test_coco_qa_like_list(tmp_path: Path) -> None:
    Image.new("RGB", (30, 20)).save(tmp_path / "a.jpg")
    items = [
        {"image": "a.jpg", "question": "How many cats?", "answer": "2"},
        {"image": "a.jpg", "question": "What color?", "answers": ["red", "blue", "blue"]},
        {"image": "a.jpg", "question": "Empty?", "answer": " "},
        {"image_id": 5, "question": "Where?", "answer": "here"},
    ]
    (tmp_path / "qa.json").write_text(json.dumps(items))
    rows, findings = _convert([tmp_path / "qa.json"], tmp_path / "o", "qa", prompts=("x",))
    assert [(r["messages"][0]["content"].split("\n")[0], r["messages"][1]["content"]) for r in rows] == [
        ("<image>How many cats?", "2"),
        ("<image>What color?", "blue"),
    ]
    assert _codes(findings) >= {("vqa-no-answer", "$[2].answer"), ("vqa-unknown-image", "$[3]")}
    # A results file (a list without questions) is still refused with the results-file message.
    (tmp_path / "res.json").write_text(json.dumps([{"image_id": 1, "caption": "x"}]))
    with pytest.raises(InputError, match="COCO \\*results\\* file"):
        _convert([tmp_path / "res.json"], tmp_path / "o2", "r")


def test_prompts_file_for_detection_and_vqa_prompt_needs_question(tmp_path: Path) -> None:
    (tmp_path / "prompts.txt").write_text("Find all objects.\nList every object with its box.\n")
    args = ["coco2lf", str(GOLDEN_INPUT / "instances.json"), "--task", "detection", "-o", "o", "-n", "d"]
    code, _out, err = _run([*args, "--prompts", "prompts.txt", "--empty", "keep"], tmp_path)
    assert code == 0, err
    prompts = [r["messages"][0]["content"] for r in json.loads((tmp_path / "o" / "d.json").read_text())]
    assert set(prompts) <= {"<image>Find all objects.", "<image>List every object with its box."}
    vqa = vqa_tree(tmp_path / "vision")
    args = ["coco2lf", str(vqa / "questions.json"), "--answers", str(vqa / "annotations.json"), "-o", "v"]
    code, _out, err = _run([*args, "--prompt", "Answer briefly."], tmp_path)
    assert code == 2
    assert "Error: --prompt 'Answer briefly.': a VQA prompt must contain {question}" in err
    code, _out, err = _run([*args, "--prompt", "Q: {question}"], tmp_path)
    assert code == 0, err
    rows = json.loads((tmp_path / "v" / "coco_captions.json").read_text())
    assert rows[0]["messages"][0]["content"] == "<image>Q: What is this photo taken looking through?"


def test_type_errors_keep_their_image_out_and_bad_answers_files(tmp_path: Path) -> None:
    Image.new("RGB", (10, 10)).save(tmp_path / "a.png")
    Image.new("RGB", (10, 10)).save(tmp_path / "b.png")
    Image.new("RGB", (10, 10)).save(tmp_path / "c.png")
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "width": 10, "height": 10},
            {"id": 2, "file_name": "b.png", "width": 10, "height": 10},
            {"id": 3, "file_name": "c.png", "width": 10, "height": 10},
        ],
        "categories": [{"id": 1, "name": "p"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": ["a", 1, 2, 3]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 3]},
            {"id": 3, "image_id": 2, "category_id": 1, "bbox": [1, 1, 2, 3]},
            {"id": 4, "image_id": 2, "category_id": 1, "segmentation": {"counts": "!!", "size": [10, 10]}},
            {"id": 5, "image_id": 3, "category_id": 1, "bbox": [1, 1, 2, 3]},
        ],
    }
    (tmp_path / "inst.json").write_text(json.dumps(data))
    rows, findings = _convert([tmp_path / "inst.json"], tmp_path / "o", "d", images_dir=str(tmp_path))
    # image 1 lost an annotation to a type error, image 2 has a box-less annotation: only c.png is written
    assert [r["images"] for r in rows] == [["../c.png"]]
    assert _codes(findings) >= {
        ("coco-bad-annotation", "$.annotations[0].bbox[0]"),
        ("coco-missing-box", "$.annotations[3].bbox"),
    }
    vqa = vqa_tree(tmp_path / "vision")
    (tmp_path / "list.json").write_text("[1, 2]")
    code, _out, err = _run(["coco2lf", str(vqa / "questions.json"), "--answers", "list.json"], tmp_path)
    assert code == 2
    assert err.splitlines()[-1] == (
        "Error: --answers list.json: not a VQA annotations file (a JSON object with `annotations`): "
        "Expected `object`, got `array`"
    )


def test_one_image_id_two_files_must_agree(tmp_path: Path) -> None:
    for split in ("train", "val"):
        (tmp_path / split).mkdir()
        Image.new("RGB", (10, 10)).save(tmp_path / split / "a.png")
        data = {
            "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
            "categories": [{"id": 1, "name": "p"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 3]}],
        }
        (tmp_path / f"instances_{split}.json").write_text(json.dumps(data))
    rows, findings = _convert(
        [tmp_path / "instances_train.json", tmp_path / "instances_val.json"], tmp_path / "o", "x"
    )
    (conflict,) = [f for f in findings if f.code == "coco-image-conflict"]
    assert conflict.file == str(tmp_path / "instances_val.json") and conflict.path == "$.images[0]"
    assert conflict.message.startswith(f"image id 1 is '{tmp_path / 'val' / 'a.png'}' here but ")
    # With --on-error skip each file's samples keep their own image: nothing is paired wrongly.
    assert [r["images"] for r in rows] == [["../train/a.png"], ["../val/a.png"]]


def test_default_name_follows_task(tmp_path: Path) -> None:
    code, out, err = _run(
        ["coco2lf", str(GOLDEN_INPUT / "instances.json"), "--task", "grounding", "-o", "o"], tmp_path
    )
    assert code == 0, err
    assert (
        out == "Wrote 3 samples to o/coco_grounding.json and entry 'coco_grounding' in o/dataset_info.json\n"
    )


# -- the one-shot typed read of instances/keypoints files equals the item-by-item read -------------

_OBJECT_FILES = [
    "coco_mini_val2017/annotations/instances_val2017.json",
    "coco_mini_val2017/annotations/person_keypoints_val2017.json",
    "coco_mini_val2017/annotations/captions_val2017.json",
    "datumaro_coco/coco_dataset/coco/annotations/instances_train.json",
    "datumaro_coco/coco_dataset/coco/annotations/person_keypoints_train.json",
    "datumaro_coco/coco_dataset/mmdet_coco/annotations/instances_val.json",
    "datumaro_coco/roboflow_dataset/coco/train/_annotations.coco.json",
    "roboflow_chess_pieces/test/_annotations.coco.json",
]


@pytest.mark.parametrize("rel", _OBJECT_FILES)
@pytest.mark.parametrize("task", [None, "grounding"])
def test_typed_read_equals_item_by_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rel: str, task: str | None
) -> None:
    """Clean instances and keypoints files are read in one typed decode; the samples and findings are
    the ones the item-by-item reader (which names bad items) gives."""
    from mmconvert.converters import coco as coco_format

    path = THIRDPARTY / rel
    if task == "grounding" and "captions" in rel:
        return
    calls: list[bool] = []
    real = coco_format._load_objects

    def spy(*args: Any) -> Any:
        result = real(*args)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(coco_format, "_load_objects", spy)
    typed = _convert([path], tmp_path / "typed", "t", check=CheckTier.NONE, task=task)
    assert calls == ([] if "captions" in rel else [True])  # the typed read was used (or not tried)
    monkeypatch.setattr(coco_format, "_load_objects", lambda *args: None)
    plain = _convert([path], tmp_path / "plain", "t", check=CheckTier.NONE, task=task)
    assert typed == plain


def test_typed_read_falls_back_on_a_bad_item(tmp_path: Path) -> None:
    """One annotation with a wrong type: the file is read item by item and that item is named."""
    from mmconvert.converters import coco as coco_format
    from mmconvert.findings import Findings

    images = [{"id": i, "file_name": f"{i}.jpg", "width": 10, "height": 10} for i in range(3)]
    anns = [{"id": i, "image_id": i % 3, "category_id": 1, "bbox": [1, 1, 2, 2]} for i in range(60)]
    anns[55]["bbox"] = "wide"
    path = tmp_path / "instances_x.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": []}))
    findings = Findings()
    loaded = coco_format.load(str(path), findings)
    assert loaded.typed_annotations is None
    assert coco_format.detect_task(loaded) == "detection"
    from mmconvert.converters import coco_objects

    items = list(coco_objects.iter_annotations(loaded, coco_objects._Annotation, findings))
    assert len(items) == 60  # the bad one as a BadAnnotation (its image gets no sample)
    assert [f.path for f in findings] == ["$.annotations[55].bbox"]


def test_typed_read_checks_its_peek(tmp_path: Path) -> None:
    """The peek finds the first `"annotations": [` in the text, which may sit inside a string; the
    typed read then sees other items and the file is read the ordinary way."""
    from mmconvert.converters import coco as coco_format
    from mmconvert.findings import Findings

    decoy = [{"id": 1, "image_id": 1, "bbox": [0, 0, 1, 1]}]
    images = [{"id": 1, "file_name": "1.jpg", "width": 10, "height": 10}]
    body: dict[str, Any] = {"info": {"annotations": decoy}, "images": images}
    body["annotations"] = [{"id": 7, "image_id": 1, "caption": "a cat", "bbox": [0, 0, 1, 1]}]
    path = tmp_path / "captions_x.json"
    path.write_text(json.dumps(body))
    data = path.read_bytes()
    assert coco_format._peek(data)[0] == "detection"  # fooled by the decoy
    loaded = coco_format.load(str(path), Findings())
    assert loaded.typed_annotations is None
    assert coco_format.detect_task(loaded) == "caption"


@pytest.mark.parametrize(
    "rel",
    [
        "coco_mini_val2017/annotations/captions_val2017.json",
        "datumaro_coco/coco_dataset/coco/annotations/captions_train.json",
        "datumaro_coco/coco_dataset/coco/annotations/labels_train.json",
    ],
)
def test_one_pass_read_equals_the_general_read(monkeypatch: pytest.MonkeyPatch, rel: str) -> None:
    """Non-object files are read in one pass (images typed, annotations split); the result is what
    the general reading gives: same images, same raw annotation items, same findings."""
    from mmconvert.converters import coco as coco_format
    from mmconvert.findings import Findings

    path = THIRDPARTY / rel
    fast_findings, slow_findings = Findings(), Findings()
    fast = coco_format.load(str(path), fast_findings)
    monkeypatch.setattr(coco_format, "_load_split", lambda *args: None)
    slow = coco_format.load(str(path), slow_findings)
    assert fast.annotations_raw is None and slow.annotations_raw is not None  # two different reads
    assert fast.images == slow.images
    assert [bytes(r) for r in fast.annotations] == [bytes(r) for r in slow.annotations]
    assert bytes(fast.categories) == bytes(slow.categories)
    assert fast_findings.to_list() == slow_findings.to_list()
    assert coco_format.detect_task(fast) == coco_format.detect_task(slow)


def test_one_pass_read_falls_back_on_a_bad_image(tmp_path: Path) -> None:
    """An `images` entry of the wrong type: the general reading names it and keeps the others."""
    from mmconvert.converters import coco as coco_format
    from mmconvert.findings import Findings

    images: list[Any] = [{"id": i, "file_name": f"{i}.jpg", "width": 4, "height": 3} for i in range(3)]
    images[1]["file_name"] = 7
    anns = [{"id": i, "image_id": i % 3, "caption": "a cat"} for i in range(6)]
    path = tmp_path / "captions_x.json"
    path.write_text(json.dumps({"images": images, "annotations": anns}))
    findings = Findings()
    loaded = coco_format.load(str(path), findings)
    assert [img.id for img in loaded.images] == [0, 2]
    assert [f.path for f in findings] == ["$.images[1].file_name"]
    assert len(loaded.annotations) == 6
