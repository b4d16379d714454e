"""``mmconvert coco2lf``: COCO captions, instances, keypoints and VQA files -> LLaMA-Factory dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from mmconvert.api import convert, convert_split
from mmconvert.boxes import ROUNDING_HELP, BoxFormat
from mmconvert.cli.common import (
    build_output_options,
    build_pass_options,
    output_options,
    pass_options,
    run_conversion,
)
from mmconvert.errors import UsageError
from mmconvert.options import DEFAULT_CAPTION_PROMPT, CheckTier, CocoOptions
from mmconvert.splits import parse_split


def _read_prompts(path: str) -> tuple[str, ...]:
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--prompts {path}: cannot read it ({exc})") from exc
    prompts = tuple(line.strip() for line in lines if line.strip())
    if not prompts:
        raise UsageError(f"--prompts {path}: the file has no prompt lines")
    return prompts


@click.command("coco2lf")
@click.argument("annotations", nargs=-1, required=True, type=click.Path(dir_okay=True))
@click.option(
    "--task",
    type=click.Choice(["caption", "detection", "grounding", "pose", "vqa"]),
    default=None,
    help="What the chats teach.  Default: from each file's content (captions -> caption, instances -> "
    "detection, keypoints -> pose, VQA questions -> vqa), and a note says which was chosen.  With "
    "several files it applies to the instances/keypoints files.",
)
@click.option(
    "--bbox-format",
    type=click.Choice([f.value for f in BoxFormat]),
    default="qwen2.5-vl",
    show_default=True,
    help=ROUNDING_HELP,
)
@click.option(
    "--image-max-pixels",
    type=click.IntRange(min=1),
    default=768 * 768,
    show_default=True,
    help="LF's image_max_pixels of the training run (qwen2.5-vl boxes follow LF's pre-resize).",
)
@click.option(
    "--image-min-pixels",
    type=click.IntRange(min=1),
    default=32 * 32,
    show_default=True,
    help="LF's image_min_pixels of the training run.",
)
@click.option(
    "--crowd",
    type=click.Choice(["skip", "include"]),
    default="skip",
    show_default=True,
    help="iscrowd annotations (regions of many objects): skipped with a warning each, or kept as boxes.",
)
@click.option(
    "--empty",
    type=click.Choice(["skip", "keep"]),
    default="skip",
    show_default=True,
    help="Images without usable annotations: no sample (a warning each), or a sample answering [].",
)
@click.option(
    "--grounding",
    type=click.Choice(["category", "annotation"]),
    default="category",
    show_default=True,
    help="grounding: one chat per category per image (every box of it), or one per annotation.",
)
@click.option(
    "--answers",
    type=click.Path(dir_okay=False),
    default=None,
    help="VQA annotations file (v2_mscoco_*_annotations.json), joined on question_id.",
)
@click.option(
    "--vqa-answer",
    type=click.Choice(["most-common", "multiple-choice"]),
    default="most-common",
    show_default=True,
    help="most-common: the most frequent of the human answers (ties: the first given); "
    "multiple-choice: the annotation's multiple_choice_answer.",
)
@click.option(
    "--split",
    "split_spec",
    default=None,
    metavar="NAME=FRACTION[,...]",
    help="Write one file and one dataset_info entry per split (NAME_<split>), by image: all samples "
    "of an image land in one split.  Fractions under 1 leave the rest to train.  Uses --seed.",
)
@click.option(
    "--images-dir",
    "-i",
    type=click.Path(),
    default=None,
    help="Folder the images' file_name paths are relative to.  Default: found from the usual COCO "
    "layouts (annotations/captions_val2017.json -> val2017/ or images/val2017/; Roboflow's "
    "_annotations.coco.json -> its own folder).",
)
@click.option(
    "--prompt", default=None, help=f"User prompt for every sample [default: {DEFAULT_CAPTION_PROMPT!r}]."
)
@click.option(
    "--prompts",
    "prompts_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="File with one prompt per line; each sample gets one, chosen deterministically by --seed "
    "and the annotation id.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --prompts and --split.")
@output_options(default_name="coco_captions")  # coco_<task> with --task detection|grounding|pose|vqa
@pass_options()
def coco2lf(annotations: tuple[str, ...], **kw: Any) -> None:
    """Convert COCO annotation files into a LLaMA-Factory sharegpt dataset.

    caption: one sample per caption (whitespace stripped).  detection: one per image, the answer a
    JSON list of {"bbox_2d": [...], "label": ...}.  grounding: one per category per image (or per
    annotation).  pose: detection plus "keypoints" [{"point_2d", "label", "visibility"}].  vqa: one per
    question with --answers.  Several files share one image index and one output.  Writes
    OUTPUT_DIR/NAME.json and merges an entry NAME into OUTPUT_DIR/dataset_info.json; image paths are
    written relative to OUTPUT_DIR.

    \b
    Examples:
      mmconvert coco2lf annotations/captions_val2017.json
      mmconvert coco2lf captions.json --images-dir val2017 -o data --name coco_val_captions
      mmconvert coco2lf instances_val2017.json --bbox-format qwen3-vl -o data --name det
      mmconvert coco2lf captions_val2017.json instances_val2017.json -o data --name coco_mix
      mmconvert coco2lf questions.json --answers annotations.json -o data --name vqa
      mmconvert coco2lf captions.json --split val=0.05 --seed 0 -o data --name cap
    """
    if kw["prompt"] is not None and kw["prompts_file"] is not None:
        raise UsageError("use either --prompt or --prompts, not both")
    prompts: tuple[str, ...] = (DEFAULT_CAPTION_PROMPT,)
    if kw["prompt"] is not None:
        prompts = (kw["prompt"],)
    elif kw["prompts_file"] is not None:
        prompts = _read_prompts(kw["prompts_file"])
    if kw["image_min_pixels"] > kw["image_max_pixels"]:
        raise UsageError("--image-min-pixels must not exceed --image-max-pixels")
    coco = CocoOptions(
        images_dir=kw["images_dir"],
        prompts=prompts,
        seed=kw["seed"],
        task=kw["task"],
        task_prompts=prompts if kw["prompt"] is not None or kw["prompts_file"] is not None else (),
        bbox_format=kw["bbox_format"],
        image_max_pixels=kw["image_max_pixels"],
        image_min_pixels=kw["image_min_pixels"],
        crowd=kw["crowd"],
        empty=kw["empty"],
        grounding=kw["grounding"],
        answers=kw["answers"],
        vqa_answer=kw["vqa_answer"],
        check_header=kw["check"] in (CheckTier.HEADER.value, CheckTier.DECODE.value),
    )
    passes = build_pass_options(kw)
    ctx = click.get_current_context()
    if kw["task"] not in (None, "caption") and ctx.get_parameter_source("name") is ParameterSource.DEFAULT:
        kw["name"] = f"coco_{kw['task']}"  # not coco_captions for a detection dataset
    output = build_output_options(kw)
    inputs = list(annotations)
    if kw["split_spec"] is not None:
        split = parse_split(kw["split_spec"], kw["seed"])
        run_conversion(
            "coco2lf",
            kw,
            lambda stats: convert_split("coco", inputs, coco, passes, output, split, collector=stats),
        )
        return
    run_conversion(
        "coco2lf", kw, lambda stats: convert("coco", inputs, coco, passes, output, collector=stats)
    )
