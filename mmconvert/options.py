"""Frozen option objects, one per concern, built once by the CLI (or the API caller) and passed down.

Nothing below the CLI reads the environment: :meth:`PlaceholderTokens.from_env` is called at the edge.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mmconvert.model import MediaKind

if TYPE_CHECKING:
    from mmconvert.tokens import TokenBudget


class PlaceholderPolicy(enum.StrEnum):
    """How the placeholder pass reconciles tags with attached media (see README)."""

    STRICT = "strict"  # any mismatch is an error
    INSERT = "insert"  # add missing tags at the start of the first user turn; excess is an error
    TRIM = "trim"  # like insert, and also remove excess tags (a warning each)


class LiteralPolicy(enum.StrEnum):
    """What to do with a placeholder tag inside assistant answers or tool output."""

    ERROR = "error"
    REWRITE = "rewrite"


class CheckTier(enum.StrEnum):
    """How hard media files are checked: not at all, exist, header readable, fully decodable."""

    NONE = "none"
    EXISTS = "exists"
    HEADER = "header"
    DECODE = "decode"


class OnError(enum.StrEnum):
    """``fail``: any error finding stops the run with nothing written; ``skip``: drop the bad samples."""

    FAIL = "fail"
    SKIP = "skip"


class OutputFormat(enum.StrEnum):
    JSON = "json"
    JSONL = "jsonl"


class Layout(enum.StrEnum):
    """LLaMA-Factory's two dataset layouts."""

    SHAREGPT = "sharegpt"
    ALPACA = "alpaca"


@dataclass(frozen=True)
class PlaceholderTokens:
    """The tag text LF counts for each media kind; LF reads ``IMAGE_PLACEHOLDER`` etc. at import."""

    image: str = "<image>"
    video: str = "<video>"
    audio: str = "<audio>"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PlaceholderTokens:
        env = os.environ if environ is None else environ
        return cls(
            image=env.get("IMAGE_PLACEHOLDER", "<image>"),
            video=env.get("VIDEO_PLACEHOLDER", "<video>"),
            audio=env.get("AUDIO_PLACEHOLDER", "<audio>"),
        )

    def for_kind(self, kind: MediaKind) -> str:
        if kind is MediaKind.IMAGE:
            return self.image
        if kind is MediaKind.VIDEO:
            return self.video
        return self.audio


@dataclass(frozen=True)
class PassOptions:
    """Options of the passes every command runs over the model."""

    tokens: PlaceholderTokens = field(default_factory=PlaceholderTokens)
    placeholders: PlaceholderPolicy = PlaceholderPolicy.INSERT
    literal: LiteralPolicy = LiteralPolicy.ERROR
    literal_text: str = "[image]"
    check: CheckTier = CheckTier.EXISTS
    on_error: OnError = OnError.FAIL
    allow_outside_paths: bool = False
    jobs: int | None = None  # processes for header/decode checks; None: the CPU count
    quarantine: str | None = None  # write the bad-media list (TSV: path, reason, message) here
    budget: TokenBudget | None = None  # visual-token budget (--template, --cutoff-len); None: not checked


@dataclass(frozen=True)
class OutputOptions:
    """Where and how the LF exporter writes."""

    output_dir: str
    name: str
    format: OutputFormat = OutputFormat.JSON
    layout: Layout = Layout.SHAREGPT
    force: bool = False
    absolute_paths: bool = False
    dry_run: bool = False
    #: fsync the data file before it is renamed into place (``--fsync``): durable across a power
    #: loss, at the price of waiting for the disk.  The commit is atomic either way.
    sync: bool = False


DEFAULT_CAPTION_PROMPT = "Describe this image."


@dataclass(frozen=True)
class CocoOptions:
    """Options of the COCO importer."""

    images_dir: str | None = None
    prompts: tuple[str, ...] = (DEFAULT_CAPTION_PROMPT,)
    seed: int = 0
    per_image: bool = False
    # Beyond captions (detection, grounding, pose, VQA); see mmconvert.converters.coco_objects / vqa.
    task: str | None = None  # caption|detection|grounding|pose|vqa; None: from each file's content
    task_prompts: tuple[str, ...] = ()  # user prompts for non-caption tasks; empty: the task's default
    bbox_format: str = "qwen2.5-vl"  # a mmconvert.boxes.BoxFormat value
    image_max_pixels: int = 768 * 768  # LF ModelArguments.image_max_pixels (qwen2.5-vl boxes)
    image_min_pixels: int = 32 * 32  # LF ModelArguments.image_min_pixels
    crowd: str = "skip"  # skip|include: iscrowd annotations
    empty: str = "skip"  # skip|keep: images without annotations
    grounding: str = "category"  # category (one chat per category per image) | annotation
    answers: str | None = None  # VQA annotations file joined on question_id
    vqa_answer: str = "most-common"  # most-common|multiple-choice
    check_header: bool = False  # compare images' width/height with the file headers


@dataclass(frozen=True)
class ChatOptions:
    """Options of the chat importers (ShareGPT, LLaVA, OpenAI, ...).

    ``media_dir`` is the folder relative media paths are resolved against (default: the input file's
    folder); ``tokens`` the placeholder texts LF will count, so source tags are converted to them.
    """

    media_dir: str | None = None
    tokens: PlaceholderTokens = field(default_factory=PlaceholderTokens)
    dataset: str | None = None  # --from llamafactory: the dataset_info.json entry to read
