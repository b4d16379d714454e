"""Options shared by the converting commands, and the code that runs a conversion and prints it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from mmconvert.api import ConvertResult
from mmconvert.cli import pages
from mmconvert.cli.pages import html_option
from mmconvert.cli.render import render_findings
from mmconvert.errors import UsageError, ValidationFailed
from mmconvert.findings import Findings
from mmconvert.options import (
    CheckTier,
    LiteralPolicy,
    OnError,
    OutputFormat,
    OutputOptions,
    PassOptions,
    PlaceholderPolicy,
    PlaceholderTokens,
)
from mmconvert.progress import configure_logging
from mmconvert.report import build_report, check_report_target, write_report
from mmconvert.tokens import TokenBudget

F = Callable[..., Any]


def _choice(enum_type: type) -> click.Choice:
    return click.Choice([e.value for e in enum_type])  # type: ignore[attr-defined]


def output_options(default_name: str) -> Callable[[F], F]:
    def decorate(f: F) -> F:
        opts = [
            click.option(
                "--output-dir",
                "-o",
                default=".",
                show_default=True,
                type=click.Path(file_okay=True),
                help="LLaMA-Factory dataset_dir: the data file and dataset_info.json go here.",
            ),
            click.option(
                "--name",
                "-n",
                default=default_name,
                show_default=True,
                help="Dataset name: the dataset_info.json key and the file name (NAME.json).",
            ),
            click.option(
                "--format",
                "fmt",
                type=_choice(OutputFormat),
                default="json",
                show_default=True,
                help="json: one array, indented; jsonl: one sample per line.",
            ),
            click.option("--force", is_flag=True, help="Replace an existing data file and entry."),
            click.option(
                "--absolute-paths",
                is_flag=True,
                help="Write absolute media paths (default: relative to --output-dir, so the folder "
                "stays portable).",
            ),
            click.option("--dry-run", is_flag=True, help="Check everything, write nothing."),
            click.option(
                "--fsync",
                "sync",
                is_flag=True,
                help="Flush the data file to disk before it is renamed into place, so that it survives "
                "a power loss (slower on a busy disk; the rename is atomic either way).",
            ),
        ]
        for opt in reversed(opts):
            f = opt(f)
        return f

    return decorate


def pass_options(check_default: str = "exists") -> Callable[[F], F]:
    def decorate(f: F) -> F:
        opts = [
            click.option(
                "--placeholders",
                type=_choice(PlaceholderPolicy),
                default="insert",
                show_default=True,
                help="strict: tags must already match the media; insert: add missing tags at the "
                "start of the first user turn; trim: insert, and also remove tags that have no media.",
            ),
            click.option(
                "--literal-tags",
                type=_choice(LiteralPolicy),
                default="error",
                show_default=True,
                help="A tag such as <image> inside an answer or tool output: an error, or rewritten "
                "to --literal-text.",
            ),
            click.option(
                "--literal-text",
                default="[image]",
                show_default=True,
                help="Replacement text for literal tags with --literal-tags rewrite.",
            ),
            click.option(
                "--check",
                type=_choice(CheckTier),
                default=check_default,
                show_default=True,
                help="How hard media files are checked: none, exists (a regular file), header "
                "(opens, size read), decode (fully decoded).",
            ),
            click.option(
                "--on-error",
                type=_choice(OnError),
                default="fail",
                show_default=True,
                help="fail: any error finding writes nothing (exit 1); skip: write the clean samples "
                "and list the skipped ones.",
            ),
            click.option(
                "--allow-outside-paths",
                is_flag=True,
                help="Accept media paths that point outside their folder ('..', absolute paths).",
            ),
            click.option(
                "--report",
                type=click.Path(dir_okay=False),
                default=None,
                help="Write every finding, the counts and the statistics as JSON to this file.",
            ),
            html_option,
            click.option("--quiet", "-q", is_flag=True, help="Print errors only."),
            *media_check_options(),
        ]
        for opt in reversed(opts):
            f = opt(f)
        return f

    return decorate


def media_check_options() -> list[Any]:
    """--jobs, --quarantine, the token budget (--template, --cutoff-len), -v and --log-file."""
    return [
        click.option(
            "--jobs",
            "-j",
            type=click.IntRange(min=1),
            default=None,
            help="Processes to use: large COCO caption files are converted in slices in parallel, and "
            "--check header/decode reads files in parallel [default: the number of CPUs].",
        ),
        click.option(
            "--quarantine",
            type=click.Path(dir_okay=False),
            default=None,
            help="Write the bad media files as TSV (path, reason, message) to this file.",
        ),
        click.option(
            "--template",
            default=None,
            help="LLaMA-Factory template (qwen2_vl, qwen2_5_vl, qwen3_vl, ...): warn when a sample's image "
            "tokens would not fit --cutoff-len.  Image sizes come from the source or the file headers.",
        ),
        click.option(
            "--cutoff-len",
            type=click.IntRange(min=1),
            default=None,
            help="LF's cutoff_len for the token budget [default: 2048, LF's default].",
        ),
        click.option(
            "--verbose",
            "-v",
            count=True,
            help="Log what was checked and decided on stderr (-vv: every file).",
        ),
        click.option(
            "--log-file",
            type=click.Path(dir_okay=False),
            default=None,
            help="Write a detailed log (every file checked, every decision) to this file.",
        ),
    ]


def build_token_budget(kw: dict[str, Any]) -> TokenBudget | None:
    """The visual-token budget of --template/--cutoff-len (pixel limits: --image-max/min-pixels if the
    command has them, else LF's defaults); ``None`` without --template."""
    template = kw.get("template")
    if not template:
        if kw.get("cutoff_len") is not None:
            raise UsageError("--cutoff-len needs --template (the model family decides the image tokens)")
        return None
    return TokenBudget.from_template(
        template,
        kw.get("cutoff_len"),
        image_max_pixels=kw.get("image_max_pixels"),
        image_min_pixels=kw.get("image_min_pixels"),
    )


def build_pass_options(kw: dict[str, Any]) -> PassOptions:
    return PassOptions(
        tokens=PlaceholderTokens.from_env(),
        placeholders=PlaceholderPolicy(kw["placeholders"]),
        literal=LiteralPolicy(kw["literal_tags"]),
        literal_text=kw["literal_text"],
        check=CheckTier(kw["check"]),
        on_error=OnError(kw["on_error"]),
        allow_outside_paths=kw["allow_outside_paths"],
        jobs=kw.get("jobs"),
        quarantine=kw.get("quarantine"),
        budget=build_token_budget(kw),
    )


def build_output_options(kw: dict[str, Any]) -> OutputOptions:
    return OutputOptions(
        output_dir=kw["output_dir"],
        name=kw["name"],
        format=OutputFormat(kw["fmt"]),
        force=kw["force"],
        absolute_paths=kw["absolute_paths"],
        dry_run=kw["dry_run"],
        sync=kw.get("sync", False),
    )


def run_conversion(command: str, kw: dict[str, Any], call: Callable[[Any], ConvertResult]) -> None:
    """Run ``call`` (given the statistics collector, or ``None`` without --report/--html), write the
    report and the page, print findings and the one-line result."""
    report_path = kw.get("report")
    html_path = kw.get("html")
    quiet = kw.get("quiet", False)
    if report_path:
        check_report_target(report_path)
    if html_path:
        pages.check_target(html_path, "--html")
    collector = pages.new_collector(kw, build_token_budget(kw)) if report_path or html_path else None
    try:
        with configure_logging(quiet, kw.get("verbose") or 0, kw.get("log_file")):
            result = call(collector)
    except ValidationFailed as exc:
        if collector is not None:
            if report_path:
                report = build_report(command, exc.findings, ok=False)
                write_report(report_path, pages.with_statistics(report, collector))
            if html_path:
                lines = [f"Error: {exc.message}"]
                pages.write_page(html_path, command, kw, exc.findings, collector, exc.notes, lines)
        raise
    for note in result.notes:
        if not quiet:
            click.echo(note, err=True)
    render_findings(result.findings, quiet=quiet)
    if report_path and collector is not None:
        report = build_report(
            command,
            result.findings,
            ok=True,
            samples={
                "seen": result.samples_seen,
                "written": result.samples_written,
                "skipped": result.samples_rejected,
            },
            output={
                "file": result.output_file,
                "dataset_info": result.dataset_info,
                "entry": result.name,
                "dry_run": result.dry_run,
            },
            notes=result.notes,
        )
        write_report(report_path, pages.with_statistics(report, collector))
    if html_path and collector is not None:
        lines = [success_line(result)]
        pages.write_page(html_path, command, kw, result.findings, collector, result.notes, lines)
    click.echo(success_line(result))


def success_line(result: ConvertResult) -> str:
    skipped = (
        f"; skipped {result.samples_rejected:,} sample(s) with errors (listed above)"
        if result.samples_rejected
        else ""
    )
    splits = result.extra.get("splits")
    if splits:  # one line per split (mmconvert.api.convert_split)
        lines = [success_line(part).removesuffix(".") for part in splits]
        return "\n".join(lines) + (f"\n{skipped[2:]}" if skipped else "")
    if result.dry_run:
        return f"Dry run: {result.samples_written:,} samples would be written as {result.name!r}{skipped}"
    return (
        f"Wrote {result.samples_written:,} samples to {result.output_file} "
        f"and entry {result.name!r} in {result.dataset_info}{skipped}"
    )


def count_errors(findings: Findings) -> int:
    return findings.errors
