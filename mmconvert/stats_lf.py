"""The one place the statistics and the HTML report reach into mmconvert's LLaMA-Factory internals.

:mod:`mmconvert.stats`, :mod:`mmconvert.html_report` and ``mmconvert stats`` import LF's token math,
its template table and the ``llamafactory`` importer from here only, so that moving those modules
changes these few lines and nothing else.
"""

from __future__ import annotations

from typing import Any

from mmconvert.boxes import LF_IMAGE_MAX_PIXELS, LF_IMAGE_MIN_PIXELS, qwen_input_size
from mmconvert.findings import Findings
from mmconvert.lf_templates import TEMPLATES as LF_TEMPLATES
from mmconvert.model import Dataset
from mmconvert.tokens import (
    LF_CUTOFF_LEN,
    TURN_OVERHEAD,
    WRAPPER_TOKENS,
    TokenBudget,
    estimate_text_tokens,
    sample_text_tokens,
)
from mmconvert.tokens import TEMPLATES as VISION_TEMPLATES

__all__ = [
    "LF_CUTOFF_LEN",
    "LF_IMAGE_MAX_PIXELS",
    "LF_IMAGE_MIN_PIXELS",
    "LF_TEMPLATES",
    "TURN_OVERHEAD",
    "VISION_TEMPLATES",
    "WRAPPER_TOKENS",
    "TokenBudget",
    "estimate_text_tokens",
    "qwen_input_size",
    "read_lf_dataset",
    "read_lf_registry",
    "sample_text_tokens",
]


def read_lf_registry(dataset_dir: str) -> tuple[str, dict[str, Any]]:
    """``(path, entries)`` of ``dataset_dir/dataset_info.json``; an unusable registry raises
    :class:`~mmconvert.errors.InputError` (a missing folder or file:
    :class:`~mmconvert.errors.UsageError`)."""
    from mmconvert.converters.lfdata import read_registry_or_fail

    return read_registry_or_fail(dataset_dir)


def read_lf_dataset(
    dataset_dir: str, name: str, findings: Findings, media_dir: str | None = None, stage: str | None = None
) -> Dataset:
    """The entry ``name`` of an LF folder as common-model samples, through the ``llamafactory`` importer:
    the samples LF keeps, exactly as LF reads them (rows LF drops or rejects become findings)."""
    from mmconvert.converters import IMPORTERS
    from mmconvert.converters.lfdata import LfDataOptions

    options = LfDataOptions(dataset=name, stage=stage, media_dir=media_dir)
    dataset: Dataset = IMPORTERS["llamafactory"]([dataset_dir], options, findings, name)
    return dataset
