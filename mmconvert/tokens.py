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


def check_sample_budget(
    sample: Sample,
    sizes: Sequence[tuple[int, int]],
    budget: TokenBudget,
    dataset: str | None = None,
) -> list[Finding]:
    """Warnings when a sample's image tokens (``sizes``: its images' original sizes) overflow the budget."""
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
    text = sample_text_tokens(sample)
    if visual + text > cutoff:
        return [
            Finding.at(
                sample.source,
                "tokens-over-cutoff",
                Severity.WARNING,
                f"about {visual + text:,} tokens ({visual:,} for images: {per_image}; ~{text:,} text, "
                f"estimated) exceed cutoff_len {cutoff:,}: if truncation reaches an image's tokens, "
                "training fails with 'Image features and image tokens do not match'",
                hint="raise cutoff_len, shorten the text, or put images before long text",
                dataset=dataset,
            )
        ]
    return []
