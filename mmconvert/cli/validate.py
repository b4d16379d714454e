"""``mmconvert validate``: lint an existing LLaMA-Factory dataset folder offline, as LF 0.9.5 would read it.

Thin layer over :func:`mmconvert.validate.validate_folder`: reads the training YAML (``--config``) for
dataset_dir, dataset/eval_dataset, template, media_dir, stage and cutoff_len, prints findings grouped by
dataset on stderr and one "will train" line per dataset on stdout, writes ``--report``, and exits 0 (no
errors), 1 (errors) or 2 (usage: no folder, no dataset_info.json, unknown dataset name).
"""

from __future__ import annotations

import os
from typing import Any

import click

from mmconvert.cli.pages import (
    bbox_format_option,
    check_target,
    html_option,
    new_collector,
    with_statistics,
    write_page,
)
from mmconvert.cli.render import EXAMPLES_PER_CODE, render_findings_by_dataset
from mmconvert.errors import UsageError
from mmconvert.findings import Findings
from mmconvert.lf_templates import TEMPLATES
from mmconvert.options import CheckTier, PlaceholderTokens
from mmconvert.report import build_report, write_report
from mmconvert.validate import STAGE_ALIASES, STAGES, ValidateOptions, ValidateResult, validate_folder

#: Keys of an LF training YAML that validate reads.
CONFIG_KEYS = ("dataset_dir", "dataset", "eval_dataset", "template", "media_dir", "cutoff_len", "stage")


def read_config(path: str) -> dict[str, Any]:
    """The LF training YAML's data settings; :class:`UsageError` if it cannot be read."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise UsageError(f"--config {path}: no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"--config {path}: cannot read it as YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise UsageError(f"--config {path}: expected a mapping of training arguments")
    return {k: data[k] for k in CONFIG_KEYS if k in data and data[k] is not None}


def _names(value: Any) -> list[str]:
    """LF's ``dataset`` argument: a comma-separated string (or a YAML list), names stripped."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(n).strip() for n in items if str(n).strip()]


@click.command("validate")
@click.argument("dataset_dir", required=False, type=click.Path(file_okay=False))
@click.option("--dataset", "-d", "datasets", default=None, help="Comma-separated entry names (default: all).")
@click.option(
    "--config",
    "-c",
    type=click.Path(dir_okay=False),
    default=None,
    help="LF training YAML: dataset_dir (default 'data', relative to the working directory), dataset, "
    "eval_dataset, template, media_dir, stage and cutoff_len are taken from it.",
)
@click.option(
    "--template",
    "-t",
    default=None,
    help="LF template (e.g. qwen2_vl). Without one, every media kind is assumed supported.",
)
@click.option(
    "--stage",
    type=click.Choice([*STAGES, *STAGE_ALIASES]),
    default=None,
    help="Training stage; LF's keep rules depend on it [default: sft, or the YAML's].",
)
@click.option(
    "--media-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="LF media_dir [default: dataset_dir]. Media paths are joined with it when that file exists, "
    "otherwise taken relative to the working directory, exactly as LF does.",
)
@click.option(
    "--check",
    type=click.Choice([e.value for e in CheckTier]),
    default="header",
    show_default=True,
    help="How hard media files are checked: none, exists, header (opens, size read), decode.",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Processes for media checks.")
@click.option("--report", type=click.Path(dir_okay=False), default=None, help="Write every finding as JSON.")
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=EXAMPLES_PER_CODE,
    show_default=True,
    help="Examples printed per finding code.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print errors only.")
@html_option
@bbox_format_option
def validate_command(dataset_dir: str | None, **kw: Any) -> None:
    """Check an LLaMA-Factory dataset folder the way LLaMA-Factory 0.9.5 will read it, without LF.

    Every local dataset in DATASET_DIR/dataset_info.json (or those named with --dataset) is read
    through its entry's columns/tags, and every sample LF would reject, drop or abort on is reported
    with LF's own message: registry mistakes, missing files, Arrow type conflicts, role order and turn
    count, <image>/<video>/<audio> counts, media paths and files, template support, tools.

    \b
    Examples:
      mmconvert validate data/
      mmconvert validate data/ --dataset mllm_demo,identity --template qwen2_vl
      mmconvert validate --config examples/train_lora/qwen2_5vl_lora_sft.yaml
      mmconvert validate data/ --report report.json --check header

    \b
    Exit codes: 0 no errors, 1 errors, 2 usage (no folder, no dataset_info.json,
    unknown --dataset name).
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
    if template is not None and template not in TEMPLATES:
        raise UsageError(
            f"unknown template {template!r}", hint="LLaMA-Factory 0.9.5 templates, e.g. qwen2_vl"
        )
    stage = kw["stage"] or str(config.get("stage", "sft"))
    if stage not in STAGES and stage not in STAGE_ALIASES:
        raise UsageError(f"stage {stage!r} is not one of {', '.join(STAGES)}")
    media_dir = kw["media_dir"] or config.get("media_dir")
    cutoff = config.get("cutoff_len")
    options = ValidateOptions(
        stage=stage,
        template=template,
        tokens=PlaceholderTokens.from_env(),
        check=kw["check"],
        media_dir=str(media_dir) if media_dir is not None else None,
        cutoff_len=int(cutoff) if isinstance(cutoff, int) else None,
        jobs=kw["jobs"],
    )
    if kw["html"]:
        check_target(kw["html"], "--html")
    result = validate_folder(dataset_dir, names or None, options)
    collector = _statistics(result, options, kw) if kw["report"] or kw["html"] else None
    render_findings_by_dataset(
        result.findings, [d.name for d in result.datasets], examples=kw["examples"], quiet=kw["quiet"]
    )
    for line in summary_lines(result):
        click.echo(line)
    if kw["report"]:
        report = validate_report(result, options, kw.get("config"))
        write_report(kw["report"], with_statistics(report, collector) if collector else report)
    if kw["html"] and collector is not None:
        title = f"mmconvert validate: {os.path.abspath(dataset_dir)}"
        write_page(
            kw["html"], "validate", kw, result.findings, collector, lines=summary_lines(result), title=title
        )
    if not result.ok:
        click.get_current_context().exit(1)


def _statistics(result: ValidateResult, options: ValidateOptions, kw: dict[str, Any]) -> Any:
    """The statistics of the checked datasets, read again through the ``llamafactory`` importer (the
    samples LF keeps), with the samples the findings name kept as examples for --html."""
    from mmconvert.stats import collect_folder, token_budget

    budget = token_budget(options.template, options.cutoff_len)
    collector = new_collector({"cutoff_len": options.cutoff_len}, budget)
    collector.want_examples(result.findings)
    names = [d.name for d in result.datasets if d.status == "checked"]
    if names:
        collect_folder(result.dataset_dir, names, collector, Findings(), options.media_dir, options.stage)
    return collector


def summary_lines(result: ValidateResult) -> list[str]:
    """One line per dataset (how many samples will train) and a total."""
    lines = []
    for d in result.datasets:
        if d.status == "checked":
            rejected = d.rows - d.will_train
            extra = f" ({rejected:,} rejected or dropped)" if rejected else ""
            lines.append(f"{d.name}: {d.will_train:,} of {d.rows:,} samples will train{extra}")
        elif d.status == "load-error":
            lines.append(f"{d.name}: LLaMA-Factory cannot load it, 0 samples will train")
        elif d.status == "not-local":
            lines.append(f"{d.name}: not checked (not a local file)")
        else:
            lines.append(f"{d.name}: not checked ({d.message})")
    errors, warnings = result.findings.errors, result.findings.warnings
    verdict = "OK" if result.ok else "FAILED"
    lines.append(
        f"{verdict}: {errors:,} error(s), {warnings:,} warning(s) in {len(result.datasets)} dataset(s)"
    )
    return lines


def validate_report(result: ValidateResult, options: ValidateOptions, config: str | None) -> dict[str, Any]:
    checked = [d for d in result.datasets if d.status in ("checked", "load-error")]
    rows = sum(d.rows for d in checked)
    will_train = sum(d.will_train for d in checked)
    return build_report(
        "validate",
        result.findings,
        ok=result.ok,
        samples={"rows": rows, "will_train": will_train, "rejected": rows - will_train},
        datasets=[d.to_dict() for d in result.datasets],
        settings={
            "dataset_dir": os.path.abspath(result.dataset_dir),
            "registry": result.registry,
            "media_dir": options.media_dir,
            "stage": options.stage,
            "template": options.template,
            "check": options.check,
            "placeholders": {
                "image": options.tokens.image,
                "video": options.tokens.video,
                "audio": options.tokens.audio,
            },
            "cutoff_len": options.cutoff_len,
            "config": config,
        },
    )
