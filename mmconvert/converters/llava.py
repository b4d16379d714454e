"""LLaVA importer: ShareGPT ``conversations`` with the image in an ``image`` field (a path or a list
of paths) and ``<image>\\n`` before, or ``\\n<image>`` after, the text of a human turn.

LLaVA's tag is LF's tag, so the text is kept as written (the newline stays, and no tag is added twice:
the placeholder pass only inserts tags that are missing).  When LF is configured with another
placeholder text (``IMAGE_PLACEHOLDER``), the tags are rewritten to it.  Records without ``image`` are
text-only samples.  Paths are relative to ``--media-dir`` (LLaVA's ``image_folder``).
"""

from __future__ import annotations

from collections.abc import Sequence

from mmconvert.converters.sharegpt import read_conversations
from mmconvert.findings import Findings
from mmconvert.model import Dataset
from mmconvert.options import ChatOptions


def read(paths: Sequence[str], options: ChatOptions, findings: Findings, name: str) -> Dataset:
    return read_conversations(paths, options, findings, name, "LLaVA")
