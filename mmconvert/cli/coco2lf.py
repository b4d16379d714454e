"""``mmconvert coco2lf``: COCO caption annotations -> LLaMA-Factory dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mmconvert.api import convert
from mmconvert.cli.common import (
    build_output_options,
    build_pass_options,
    output_options,
    pass_options,
    run_conversion,
)
from mmconvert.errors import UsageError
from mmconvert.options import DEFAULT_CAPTION_PROMPT, CocoOptions


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
@click.argument("annotations", type=click.Path(dir_okay=True))
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
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --prompts.")
@output_options(default_name="coco_captions")
@pass_options()
def coco2lf(annotations: str, **kw: Any) -> None:
    """Convert a COCO captions file into a LLaMA-Factory sharegpt dataset.

    One sample per caption: the user asks for a description (with one <image> tag), the assistant
    answers with the caption (whitespace stripped).  Writes OUTPUT_DIR/NAME.json and merges an entry
    NAME into OUTPUT_DIR/dataset_info.json; image paths are written relative to OUTPUT_DIR.

    \b
    Examples:
      mmconvert coco2lf annotations/captions_val2017.json
      mmconvert coco2lf captions.json --images-dir val2017 -o data --name coco_val_captions
    """
    if kw["prompt"] is not None and kw["prompts_file"] is not None:
        raise UsageError("use either --prompt or --prompts, not both")
    prompts: tuple[str, ...] = (DEFAULT_CAPTION_PROMPT,)
    if kw["prompt"] is not None:
        prompts = (kw["prompt"],)
    elif kw["prompts_file"] is not None:
        prompts = _read_prompts(kw["prompts_file"])
    coco = CocoOptions(images_dir=kw["images_dir"], prompts=prompts, seed=kw["seed"])
    passes = build_pass_options(kw)
    output = build_output_options(kw)
    run_conversion("coco2lf", kw, lambda: convert("coco", [annotations], coco, passes, output))
