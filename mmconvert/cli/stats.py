"""``mmconvert stats``: what an LLaMA-Factory dataset folder holds, per dataset, before a long run.

Thin layer over :func:`mmconvert.stats.collect_folder`: reads the entries through the ``llamafactory``
importer (so the numbers are those of the samples LF keeps), prints a compact table on stdout, and writes
the statistics as JSON (``--json``, ``schemas/stats.schema.json``) and as a page (``--html``).
"""

from __future__ import annotations

import os
from typing import Any

import click
import msgspec

from mmconvert.cli.pages import bbox_format_option, check_target, html_option, write_page
from mmconvert.cli.validate import _names, read_config
from mmconvert.errors import UsageError
from mmconvert.findings import Findings
from mmconvert.options import PlaceholderTokens
from mmconvert.stats import StatsCollector, collect_folder, token_budget
from mmconvert.stats_lf import LF_TEMPLATES, VISION_TEMPLATES


@click.command("stats")
@click.argument("dataset_dir", required=False, type=click.Path(file_okay=False))
@click.option(
    "--dataset",
    "-d",
    "datasets",
    default=None,
    help="Comma-separated entry names (default: every entry with local files).",
)
@click.option(
    "--config",
    "-c",
    type=click.Path(dir_okay=False),
    default=None,
    help="LF training YAML: dataset_dir (default 'data'), dataset, eval_dataset, template, media_dir, stage "
    "and cutoff_len are taken from it.",
)
@click.option(
    "--template",
    "-t",
    default=None,
    help="LF template: visual tokens per image are LF's exact numbers for it (qwen2_vl, qwen2_5_vl, "
    "qwen3_vl, ...).  Without one, tokens are the text estimate alone.",
)
@click.option(
    "--cutoff-len",
    type=click.IntRange(min=1),
    default=None,
    help="LF's cutoff_len the token totals are compared with [default: 2048, LF's default].",
)
@click.option(
    "--media-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="LF media_dir [default: dataset_dir]; paths resolve as LF resolves them.",
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write the statistics as JSON."
)
@html_option
@bbox_format_option
@click.option(
    "--examples",
    type=click.IntRange(min=0, max=100),
    default=8,
    show_default=True,
    help="Samples shown per dataset and per finding code in --html.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print the table only.")
def stats_command(dataset_dir: str | None, **kw: Any) -> None:
    """Show what an LLaMA-Factory dataset folder holds, as LLaMA-Factory 0.9.5 will read it.

    Per dataset: samples; messages per sample; images, videos and audios per sample; image sizes; visual
    tokens per image and per sample (with --template); tokens per sample against cutoff_len (p50, p95,
    p99, max, and how many exceed it); prompt and answer lengths; class balance and boxes per image for
    detection and grounding answers; duplicate samples; media files shared by several samples; missing
    files by folder.  Text tokens are estimates (no tokenizer).

    \b
    Examples:
      mmconvert stats data/
      mmconvert stats data/ --dataset mllm_demo --template qwen2_vl --cutoff-len 4096
      mmconvert stats --config examples/train_lora/qwen2_5vl_lora_sft.yaml --html report.html
      mmconvert stats data/ --json stats.json
    """
    config: dict[str, Any] = read_config(kw["config"]) if kw["config"] else {}
    if dataset_dir is None:
        if not kw["config"]:
            raise UsageError("give the dataset folder (DATASET_DIR) or --config train.yaml")
        dataset_dir = str(config.get("dataset_dir", "data"))
    names = _names(kw["datasets"]) if kw["datasets"] else _names(config.get("dataset"))
    if not kw["datasets"]:
        names += [n for n in _names(config.get("eval_dataset")) if n not in names]
    template = kw["template"] or config.get("template")
    if template is not None and template not in LF_TEMPLATES:
        raise UsageError(
            f"unknown template {template!r}", hint="LLaMA-Factory 0.9.5 templates, e.g. qwen2_vl"
        )
    cutoff = kw["cutoff_len"] or config.get("cutoff_len")
    cutoff_len = int(cutoff) if isinstance(cutoff, int) else None
    media_dir = kw["media_dir"] or config.get("media_dir")
    stage = config.get("stage")
    if kw["json_path"]:
        check_target(kw["json_path"], "--json")
    if kw["html"]:
        check_target(kw["html"], "--html")
    collector = StatsCollector(
        token_budget(template, cutoff_len), cutoff_len, PlaceholderTokens.from_env(), examples=kw["examples"]
    )
    findings = Findings()
    collect_folder(
        dataset_dir,
        names or None,
        collector,
        findings,
        str(media_dir) if media_dir is not None else None,
        str(stage) if stage is not None else None,
    )
    doc = collector.to_dict(findings)
    notes = []
    if template is not None and template not in VISION_TEMPLATES:
        notes.append(
            f"visual tokens are not counted: their numbers are known for {', '.join(VISION_TEMPLATES)}, "
            f"not {template}"
        )
    if not kw["quiet"]:
        for note in notes:
            click.echo(note, err=True)
        for line in _finding_lines(findings, doc):
            click.echo(line, err=True)
    for line in stats_table(doc):
        click.echo(line)
    if kw["json_path"]:
        _write_json(kw["json_path"], doc)
    if kw["html"]:
        title = f"mmconvert stats: {os.path.abspath(dataset_dir)}"
        write_page(kw["html"], "stats", kw, findings, collector, notes=notes, title=title)


def _write_json(path: str, doc: dict[str, Any]) -> None:
    from mmconvert.io import atomic_output

    data = msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n"
    try:
        with atomic_output(path) as fh:
            fh.write(data)
    except OSError as exc:
        raise UsageError(f"--json {path}: cannot write it ({exc.strerror or exc})") from exc


def _finding_lines(findings: Findings, doc: dict[str, Any]) -> list[str]:
    lines = [f"not read: {u['name']}: {u['reason']}" for u in doc["unread"]]
    if doc["remote_entries"]:
        lines.append(
            f"not read: {doc['remote_entries']} entries that LF loads from a hub, a script or the cloud"
        )
    if findings.errors or findings.warnings:
        codes = ", ".join(
            f"{code} ({n})" for code, n in sorted(findings.by_code.items()) if code != "entry-not-local"
        )
        lines.append(
            f"{findings.errors:,} error(s), {findings.warnings:,} warning(s) while reading: {codes} "
            "(rows LF drops or rejects are not counted below; mmconvert validate lists them)"
        )
    return lines


def _d(dist: dict[str, Any] | None, *keys: str) -> str:
    if dist is None or not dist["count"]:
        return "-"
    return "/".join(f"{dist[k]:,}" for k in keys)


def stats_table(doc: dict[str, Any]) -> list[str]:
    """The compact table: one row per dataset, then the notable details (missing files, classes)."""
    cutoff = doc["settings"]["cutoff_len"]
    header = (
        "dataset",
        "samples",
        "msgs p50/max",
        "img/sample max",
        "img px w x h p50",
        "vis tok/img p50/max",
        "tokens p50/p95/p99/max",
        f">{cutoff:,}",
        "dups",
        "shared",
        "missing",
    )
    rows = [header]
    for d in doc["datasets"]:
        sizes = d["image_sizes"]
        median = f"{sizes['width']['p50']}x{sizes['height']['p50']}" if sizes["width"]["count"] else "-"
        media = d["media_per_sample"]
        per_sample = "/".join(
            f"{media[kind]['max']}{kind[0]}" for kind in ("image", "video", "audio") if media[kind]["max"]
        )
        rows.append(
            (
                d["name"],
                f"{d['samples']:,}",
                _d(d["turns"], "p50", "max"),
                per_sample or "0",
                median,
                _d(d["tokens"]["visual_per_image"], "p50", "max"),
                _d(d["tokens"]["total_per_sample"], "p50", "p95", "p99", "max"),
                f"{d['tokens']['over_cutoff']:,}",
                f"{d['duplicates']['samples']:,}",
                f"{d['shared_media']['shared']:,}",
                f"{d['missing']['files']:,}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if not doc["datasets"]:
        lines.append("(no dataset with samples)")
    template = doc["settings"]["template"]
    lines.append(
        f"tokens: {'visual (' + template + ') + ' if template else ''}text estimated "
        f"(~4 ASCII characters or 1 other character per token); cutoff_len {cutoff:,}"
    )
    for d in doc["datasets"]:
        for folder in d["missing"]["folders"][:5]:
            lines.append(f"{d['name']}: {folder['files']:,} missing file(s) in {folder['folder']}/")
        if d["boxes"]:
            top = ", ".join(f"{c['label']} {c['boxes']:,}" for c in d["boxes"]["classes"][:8])
            more = len(d["boxes"]["classes"]) - 8
            lines.append(
                f"{d['name']}: {d['boxes']['boxes']:,} boxes, {len(d['boxes']['classes'])} classes: {top}"
                + (f", ... {more} more" if more > 0 else "")
            )
    return lines
