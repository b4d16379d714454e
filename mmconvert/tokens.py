"""The visual-token budget: how many tokens each image becomes, and samples that overflow ``cutoff_len``.

LLaMA-Factory 0.9.5 expands every ``<image>`` before truncation into ``<|vision_start|>`` + N x
``<|image_pad|>`` + ``<|vision_end|>`` (LLAMAFACTORY_FORMAT.md §9).  For the Qwen-VL family N is:

1. LF's pre-resize into ``[image_min_pixels, image_max_pixels]`` (ModelArguments defaults 32*32 and
   768*768), sides under 28 px raised to 28, aspect ratios over 200 clamped to 180
   (:func:`mmconvert.boxes.lf_preresize`, shared with the qwen2.5-vl box writer);
2. the processor's ``smart_resize`` to multiples of ``patch_size * merge_size`` within its own
   ``min_pixels``/``max_pixels`` (:func:`mmconvert.boxes.smart_resize`);
3. N = (H' / factor) * (W' / factor).

LF does not check whether truncation cut into image tokens: training then fails at the model forward
with ``Image features and image tokens do not match``.  :func:`check_sample_budget` warns before that,
when the image tokens alone, or with an estimate of the text tokens, exceed ``cutoff_len``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from mmconvert.boxes import LF_IMAGE_MAX_PIXELS, LF_IMAGE_MIN_PIXELS, lf_preresize, smart_resize
from mmconvert.errors import UsageError
from mmconvert.findings import Finding, Severity
from mmconvert.model import Sample

#: ``<|vision_start|>`` and ``<|vision_end|>`` around each image's pad tokens.
WRAPPER_TOKENS = 2
#: Chat-template tokens per turn in the Qwen templates (``<|im_start|>role\n`` ... ``<|im_end|>\n``).
TURN_OVERHEAD = 5
#: LF's default ``cutoff_len`` (DataArguments).
LF_CUTOFF_LEN = 2048


@dataclass(frozen=True)
class VisionSpec:
    """The image processor's numbers for one model family (its ``preprocessor_config.json``)."""

    family: str
    patch_size: int
    merge_size: int
    min_pixels: int
    max_pixels: int

    @property
    def factor(self) -> int:
        return self.patch_size * self.merge_size


# Qwen2-VL-*-Instruct and Qwen2.5-VL-*-Instruct ship min_pixels 3136, max_pixels 12845056 (28*28*16384);
# Qwen3-VL-*-Instruct ships patch 16 and size {shortest_edge: 65536, longest_edge: 16777216}.
_QWEN2 = VisionSpec("Qwen2-VL / Qwen2.5-VL", 14, 2, 56 * 56, 28 * 28 * 16384)
_QWEN3 = VisionSpec("Qwen3-VL", 16, 2, 65536, 16777216)

#: LF template name -> vision numbers.  LF trains Qwen2.5-VL with template ``qwen2_vl``;
#: ``qwen2_5_vl`` is accepted as an alias for clarity.
TEMPLATES: dict[str, VisionSpec] = {
    "qwen2_vl": _QWEN2,
    "qwen2_5_vl": _QWEN2,
    "qwen2_omni": _QWEN2,
    "qwen3_vl": _QWEN3,
    "qwen3_vl_nothink": _QWEN3,
}


def resized_image_size(
    width: int,
    height: int,
    spec: VisionSpec = _QWEN2,
    image_max_pixels: int = LF_IMAGE_MAX_PIXELS,
    image_min_pixels: int = LF_IMAGE_MIN_PIXELS,
) -> tuple[int, int]:
    """``(width, height)`` the vision tower sees for a ``width x height`` file under LF 0.9.5."""
    w, h = lf_preresize(width, height, image_max_pixels, image_min_pixels)
    h2, w2 = smart_resize(h, w, spec.factor, spec.min_pixels, spec.max_pixels)
    return w2, h2


def image_tokens(
    width: int,
    height: int,
    spec: VisionSpec = _QWEN2,
    image_max_pixels: int = LF_IMAGE_MAX_PIXELS,
    image_min_pixels: int = LF_IMAGE_MIN_PIXELS,
) -> int:
    """N, the ``<|image_pad|>`` tokens of one image (without the two wrapper tokens)."""
    w, h = resized_image_size(width, height, spec, image_max_pixels, image_min_pixels)
    return (w // spec.factor) * (h // spec.factor)


def estimate_text_tokens(text: str) -> int:
    """A rough tokenizer-free estimate: ~4 ASCII characters per token, one token per other character."""
    if text.isascii():
        return math.ceil(len(text) / 4)
    ascii_chars = sum(1 for ch in text if ch < "\x80")
    return math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)


@dataclass(frozen=True)
class TokenBudget:
    """``cutoff_len`` and the image numbers of one template: what :func:`check_sample_budget` needs."""

    template: str
    spec: VisionSpec
    cutoff_len: int = LF_CUTOFF_LEN
    image_max_pixels: int = LF_IMAGE_MAX_PIXELS
    image_min_pixels: int = LF_IMAGE_MIN_PIXELS
    packing: bool = False

    @classmethod
    def from_template(
        cls,
        template: str,
        cutoff_len: int | None = None,
        image_max_pixels: int | None = None,
        image_min_pixels: int | None = None,
        packing: bool = False,
    ) -> TokenBudget:
        """The budget for an LF template name; :class:`UsageError` for a template without numbers here."""
        spec = TEMPLATES.get(template)
        if spec is None:
            raise UsageError(
                f"--template {template!r}: the visual-token budget is known for {', '.join(TEMPLATES)}",
                hint="leave --template out to skip the token budget",
            )
        max_pixels = LF_IMAGE_MAX_PIXELS if image_max_pixels is None else image_max_pixels
        min_pixels = LF_IMAGE_MIN_PIXELS if image_min_pixels is None else image_min_pixels
        if max_pixels < min_pixels:  # LF's own check (ModelArguments.__post_init__)
            raise UsageError("`image_max_pixels` cannot be smaller than `image_min_pixels`.")
        cutoff = LF_CUTOFF_LEN if cutoff_len is None else cutoff_len
        if cutoff < 1:
            raise UsageError(f"--cutoff-len {cutoff}: must be a positive number of tokens")
        return cls(template, spec, cutoff, max_pixels, min_pixels, packing)

    @property
    def effective_cutoff(self) -> int:
        """LF subtracts one with packing."""
        return self.cutoff_len - 1 if self.packing else self.cutoff_len

    def image_tokens(self, width: int, height: int) -> int:
        return image_tokens(width, height, self.spec, self.image_max_pixels, self.image_min_pixels)

    def describe(self) -> str:
        return (
            f"template {self.template} ({self.spec.family}: factor {self.spec.factor}), cutoff_len "
            f"{self.effective_cutoff}, image pixels {self.image_min_pixels:,}..{self.image_max_pixels:,}"
        )


def sample_text_tokens(sample: Sample) -> int:
    """Estimated text tokens of a sample, chat-template overhead included (images not counted)."""
    total = 0
    texts = [turn.content for turn in sample.turns]
    if sample.system:
        texts.append(sample.system)
    if sample.tools:
        texts.append(sample.tools)
    for answer in (sample.chosen, sample.rejected):
        if answer is not None:
            texts.append(answer.content)
    for text in texts:
        total += estimate_text_tokens(text) + TURN_OVERHEAD
    return total


def infer_seqlen(source_len: int, target_len: int, cutoff_len: int) -> tuple[int, int]:
    """LF 0.9.5 ``processor_utils.infer_seqlen``: the (source, target) lengths kept under ``cutoff_len``."""
    if target_len * 2 < cutoff_len:
        max_target_len = cutoff_len
    elif source_len * 2 < cutoff_len:
        max_target_len = cutoff_len - source_len
    else:
        max_target_len = int(cutoff_len * (target_len / (source_len + target_len)))
    new_target_len = min(max_target_len, target_len)
    max_source_len = max(cutoff_len - new_target_len, 0)
    new_source_len = min(max_source_len, source_len)
    return new_source_len, new_target_len


class _Side:
    """Estimated length of one side (prompt or answer) of a turn pair, and where its last image ends."""

    def __init__(self) -> None:
        self.length = 0
        self.last_image_end = 0

    def add(self, text: str, tag: str, images: list[int]) -> None:
        """Add one message; ``images`` holds the token counts of the images still to place (consumed)."""
        self.length += TURN_OVERHEAD
        parts = text.split(tag)
        for k, part in enumerate(parts):
            self.length += estimate_text_tokens(part)
            if k < len(parts) - 1 and images:
                self.length += images.pop(0)
                self.last_image_end = self.length


def _turn_pairs(sample: Sample) -> list[tuple[list[str], list[str]]]:
    """(prompt messages, answer messages) as LF encodes them: per turn pair for SFT, one pair (the
    whole history, the longer answer) for preference and KTO rows."""
    texts = [turn.content for turn in sample.turns]
    if sample.is_preference:
        answers = [a.content for a in (sample.chosen, sample.rejected) if a is not None]
        return [(texts, [max(answers, key=len)] if answers else [])]
    if sample.kto_label is not None:
        return [(texts[:-1], texts[-1:])]
    return [(texts[i : i + 1], texts[i + 1 : i + 2]) for i in range(0, len(texts), 2)]


def image_cut_by_truncation(
    sample: Sample, counts: Sequence[int], cutoff: int, tag: str = "<image>"
) -> tuple[int, int] | None:
    """LF's truncation replayed with estimated text lengths: ``(pair index, estimated total)`` of the
    first turn pair whose image tokens would be cut (or dropped with the pair), else ``None``."""
    images = list(counts)
    total = TURN_OVERHEAD + (estimate_text_tokens(sample.system) if sample.system else 10)
    if sample.tools:
        total += estimate_text_tokens(sample.tools)
    pairs = []
    turn_pairs = _turn_pairs(sample)
    missing = len(images) - sum(text.count(tag) for prompt, answer in turn_pairs for text in prompt + answer)
    if missing > 0 and turn_pairs and turn_pairs[0][0]:  # tags not inserted yet: LF's place for them
        first = turn_pairs[0][0]
        turn_pairs[0] = ([tag * missing + first[0], *first[1:]], turn_pairs[0][1])
    for prompt, answer in turn_pairs:
        source, target = _Side(), _Side()
        for text in prompt:
            source.add(text, tag, images)
        for text in answer:
            target.add(text, tag, images)
        pairs.append((source, target))
    estimate = total + sum(s.length + t.length for s, t in pairs)
    for index, (source, target) in enumerate(pairs):
        has_images = source.last_image_end or target.last_image_end
        if total >= cutoff:
            return (index, estimate) if has_images else None
        kept_source, kept_target = infer_seqlen(source.length, target.length, cutoff - total)
        if kept_source < source.last_image_end or kept_target < target.last_image_end:
            return index, estimate
        total += kept_source + kept_target
    return None


def check_sample_budget(
    sample: Sample,
    sizes: Sequence[tuple[int, int]],
    budget: TokenBudget,
    dataset: str | None = None,
    image_tag: str = "<image>",
) -> list[Finding]:
    """Warnings when a sample's image tokens (``sizes``: its images' original sizes, in order) overflow
    ``cutoff_len`` alone, or would be cut by LF's truncation given an estimate of the text tokens."""
    if not sizes:
        return []
    counts = [budget.image_tokens(w, h) + WRAPPER_TOKENS for w, h in sizes]
    visual = sum(counts)
    cutoff = budget.effective_cutoff
    per_image = ", ".join(f"{w}x{h} -> {n - WRAPPER_TOKENS}" for (w, h), n in zip(sizes, counts, strict=True))
    if visual > cutoff:
        return [
            Finding.at(
                sample.source,
                "image-tokens-over-cutoff",
                Severity.WARNING,
                f"the image(s) alone expand to {visual:,} tokens ({per_image}, +{WRAPPER_TOKENS} each), "
                f"more than cutoff_len {cutoff:,}: LLaMA-Factory truncates inside the image tokens and "
                "training fails with 'Image features and image tokens do not match'",
                hint="raise cutoff_len, lower image_max_pixels, or use fewer images per sample",
                dataset=dataset,
            )
        ]
    cut = image_cut_by_truncation(sample, counts, cutoff, image_tag)
    if cut is not None:
        pair, estimate = cut
        return [
            Finding.at(
                sample.source,
                "tokens-over-cutoff",
                Severity.WARNING,
                f"about {estimate:,} tokens ({visual:,} for images: {per_image}; the text estimated) "
                f"exceed cutoff_len {cutoff:,} and LLaMA-Factory's truncation would cut image tokens "
                f"in turn pair {pair + 1}: training fails with 'Image features and image tokens do not "
                "match'",
                hint="raise cutoff_len, shorten the text, or put images before long text",
                dataset=dataset,
            )
        ]
    return []
