"""``mmconvert convert``: chat datasets (ShareGPT, LLaVA, OpenAI, Alpaca, ...) -> LLaMA-Factory, with
``--from auto`` detection; ``mmconvert sharegpt2lf`` is the short form with ``--from sharegpt``."""

from __future__ import annotations

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
from mmconvert.cli.pages import bbox_format_option
from mmconvert.converters import EXPORTERS, IMPORTERS
from mmconvert.converters.detect import detect_format
from mmconvert.errors import UsageError
from mmconvert.options import ChatOptions, CocoOptions, PlaceholderTokens


def _import_options(
    source_format: str, media_dir: str | None, tokens: PlaceholderTokens, dataset: str | None = None
) -> Any:
    if source_format == "coco":
        return CocoOptions(images_dir=media_dir)
    return ChatOptions(media_dir=media_dir, tokens=tokens, dataset=dataset)


def _run(command: str, inputs: tuple[str, ...], source_format: str, kw: dict[str, Any]) -> None:
    if not inputs:
        raise UsageError("give at least one input file")
    passes = build_pass_options(kw)
    if source_format == "auto":
        results = [detect_format(path, IMPORTERS) for path in inputs]
        detected = {name for name, _ in results}
        source_format, why = results[0]
        if len(detected) > 1:
            raise UsageError(
                f"the input files look like different formats ({', '.join(sorted(detected))})",
                hint="convert them separately, or pass --from",
            )
        if not kw.get("quiet"):
            click.echo(f"{inputs[0]}: {why}", err=True)
    output = build_output_options(kw)
    options = _import_options(source_format, kw["media_dir"], passes.tokens, kw.get("dataset"))
    exporter = kw["to"]
    run_conversion(
        command,
        kw,
        lambda stats: convert(source_format, inputs, options, passes, output, exporter, collector=stats),
    )


def _common(f: Any) -> Any:
    f = bbox_format_option(f)
    f = click.option(
        "--to",
        type=click.Choice(sorted(EXPORTERS)),
        default="llamafactory",
        show_default=True,
        help="Target layout: llamafactory (LF sharegpt) or llamafactory-alpaca (LF alpaca: "
        "instruction/input/output/history; samples it cannot express are named, never dropped).",
    )(f)
    f = click.option(
        "--media-dir",
        "-m",
        type=click.Path(exists=True, file_okay=False),
        default=None,
        help="Folder relative media paths are resolved against (LLaVA's image_folder).  Default: the "
        "input file's folder.",
    )(f)
    return f


@click.command("convert")
@click.argument("inputs", nargs=-1, type=click.Path(), required=True)
@click.option(
    "--dataset",
    default=None,
    help="With --from llamafactory (an LF folder as INPUT): the dataset_info.json entry to read.",
)
@click.option(
    "--from",
    "source_format",
    type=click.Choice(["auto", *sorted(IMPORTERS)]),
    default="auto",
    show_default=True,
    help="Source format; auto detects it from the first records and says what it found.",
)
@_common
@output_options(default_name="converted")
@pass_options()
def convert_command(inputs: tuple[str, ...], source_format: str, **kw: Any) -> None:
    """Convert chat data (ShareGPT, LLaVA, OpenAI messages, ...) into a LLaMA-Factory dataset.

    Reads JSON arrays or JSON Lines (UTF-8, with or without BOM).  Media tags are normalised to LF's
    <image>/<video>/<audio> (LLaVA's <image>\\n kept, Qwen-VL <img>path</img> and numbered
    <image_N> tags converted), missing tags inserted per --placeholders, and LF's role-order rules
    checked, so no sample is dropped silently in training.

    \b
    Examples:
      mmconvert convert llava_instruct.json --from llava --media-dir images/ -o data --name llava_mix
      mmconvert convert chats.jsonl --from openai -o data --name support_vqa --format jsonl
      mmconvert convert anything.json -o data --name x
    """
    _run("convert", inputs, source_format, kw)


@click.command("sharegpt2lf")
@click.argument("inputs", nargs=-1, type=click.Path(dir_okay=False), required=True)
@_common
@output_options(default_name="sharegpt")
@pass_options()
def sharegpt2lf(inputs: tuple[str, ...], **kw: Any) -> None:
    """Convert ShareGPT conversations into a LLaMA-Factory dataset (convert --from sharegpt).

    \b
    Example:
      mmconvert sharegpt2lf chats.json --media-dir images -o data --name chats
    """
    _run("sharegpt2lf", inputs, "sharegpt", kw)


@click.command("alpaca2lf")
@click.argument("inputs", nargs=-1, type=click.Path(dir_okay=False), required=True)
@_common
@output_options(default_name="alpaca")
@pass_options()
def alpaca2lf(inputs: tuple[str, ...], **kw: Any) -> None:
    """Convert Alpaca-style records into a LLaMA-Factory dataset (convert --from alpaca).

    Reads instruction/input/output/system/history records, media columns (images, videos, audios,
    or LLaVA's image), preference data (chosen/rejected strings) and KTO data (kto_tag, or a boolean
    label).  instruction and input are joined with a newline, exactly as LLaMA-Factory does.

    \b
    Examples:
      mmconvert alpaca2lf alpaca_vision.json --media-dir images -o data --name av
      mmconvert alpaca2lf dpo_pairs.jsonl -o data --name dpo --to llamafactory-alpaca
    """
    _run("alpaca2lf", inputs, "alpaca", kw)
