"""The statistics in ``--report`` and the ``--html`` page, for the converting commands and ``validate``.

Imported only when ``--report`` or ``--html`` is given, so a plain run does not load the statistics,
Jinja2 or matplotlib.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from mmconvert.errors import UsageError
from mmconvert.findings import Findings
from mmconvert.options import PlaceholderTokens

if TYPE_CHECKING:
    from mmconvert.stats import StatsCollector

BOX_FORMATS = ("qwen2.5-vl", "qwen3-vl", "norm", "coco", "xyxy")


def bbox_format_option(f: Any) -> Any:
    """``--bbox-format`` for commands that only draw boxes (coco2lf has its own, which also writes them)."""
    return click.option(
        "--bbox-format",
        type=click.Choice(BOX_FORMATS),
        default="qwen2.5-vl",
        show_default=True,
        help="What the bbox_2d numbers in the answers mean, for drawing the boxes in --html "
        "(the values of coco2lf --bbox-format).",
    )(f)


def html_option(f: Any) -> Any:
    return click.option(
        "--html",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write a self-contained page (findings, examples as chats with thumbnails and boxes, "
        "statistics as plots) to this file.",
    )(f)


def check_target(path: str, option: str) -> None:
    """Refuse an output path (``--html``, ``--json``) that cannot be written, before any work is done."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: is a folder")
    if not os.path.isdir(folder):
        raise UsageError(f"{option} {path}: the folder {folder} does not exist")


def new_collector(kw: dict[str, Any], budget: Any = None, examples: int | None = None) -> StatsCollector:
    """The collector for a run with these options (``budget``: the run's token budget, if any)."""
    from mmconvert.stats import EXAMPLES, StatsCollector, token_budget

    if budget is None:
        budget = token_budget(kw.get("template"), kw.get("cutoff_len"))
    return StatsCollector(
        budget, kw.get("cutoff_len"), PlaceholderTokens.from_env(), EXAMPLES if examples is None else examples
    )


def with_statistics(report: dict[str, Any], collector: StatsCollector) -> dict[str, Any]:
    """``report`` with the ``statistics`` member (``schemas/stats.schema.json``)."""
    report["statistics"] = collector.to_dict()
    return report


def write_page(
    path: str,
    command: str,
    kw: dict[str, Any],
    findings: Findings,
    collector: StatsCollector,
    notes: Any = (),
    lines: Any = (),
    title: str | None = None,
) -> None:
    """Render and write the ``--html`` page; boxes are drawn as ``--bbox-format`` means them."""
    from mmconvert.html_report import BoxSpace, render_html, write_html
    from mmconvert.stats_lf import LF_IMAGE_MAX_PIXELS, LF_IMAGE_MIN_PIXELS

    boxes = BoxSpace(
        kw.get("bbox_format") or "qwen2.5-vl",
        kw.get("image_max_pixels") or LF_IMAGE_MAX_PIXELS,
        kw.get("image_min_pixels") or LF_IMAGE_MIN_PIXELS,
    )
    write_html(path, render_html(command, findings, collector, boxes, notes=notes, title=title, lines=lines))
