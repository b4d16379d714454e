"""Inline media conventions seen in the wild, turned into LF's tags plus media entries, or reported.

* Qwen-VL / ms-swift ``<img>path</img>``: the path becomes an image entry and the tag LF's ``<image>``.
* Numbered tags ``<image_1>``, ``<image 2>`` (MMMU, mPLUG, several VQA sets): each becomes ``<image>``,
  and the images list is reordered to the order the tags appear, which is how LF pairs them.
* A source whose tag is ``<image>``/``<video>``/``<audio>`` while LF is configured with another
  placeholder text (``IMAGE_PLACEHOLDER``): the source tags are rewritten to the configured ones.

Only user-side text is converted; answers are left alone (the placeholder pass judges literal tags
there).  Functions are pure: text and media in, text, media and problems out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mmconvert.model import MediaKind
from mmconvert.options import PlaceholderTokens

IMG_TAG = re.compile(r"<img>(.*?)</img>", re.DOTALL)
NUMBERED_TAG = re.compile(r"<image[ _](\d+)>")
_DEFAULT_TAGS = {MediaKind.IMAGE: "<image>", MediaKind.VIDEO: "<video>", MediaKind.AUDIO: "<audio>"}


@dataclass(frozen=True)
class InlineResult:
    """Rewritten user texts, the image paths taken from inline tags, reordered image indexes, problems."""

    texts: tuple[str, ...]
    inline_images: tuple[str, ...] = ()
    image_order: tuple[int, ...] | None = None
    problems: tuple[str, ...] = ()
    converted: tuple[str, ...] = ()


def rewrite_default_tags(text: str, tokens: PlaceholderTokens) -> str:
    """``<image>`` -> the configured image placeholder (and likewise video, audio), when they differ."""
    for kind, default in _DEFAULT_TAGS.items():
        token = tokens.for_kind(kind)
        if token != default and default in text:
            text = text.replace(default, token)
    return text


def convert_inline(texts: Sequence[str], n_images: int, tokens: PlaceholderTokens) -> InlineResult:
    """Convert ``<img>…</img>`` and ``<image_N>`` tags in the user ``texts`` of one sample.

    ``n_images`` is the length of the sample's own images list.  ``image_order`` (when numbered tags
    were found) lists indexes into that list: images no tag names first (the insert policy adds their
    tags at the start of the first user turn), then one per numbered tag in order of appearance.
    """
    joined = "".join(texts)
    has_img = "<img>" in joined and "</img>" in joined
    has_numbered = "<image" in joined and NUMBERED_TAG.search(joined) is not None
    if not has_img and not has_numbered:
        return InlineResult(tuple(texts))
    token = tokens.image
    problems: list[str] = []
    converted: list[str] = []
    inline: list[str] = []
    out = list(texts)
    if has_img:
        if n_images:
            problems.append(
                "the text has inline <img>…</img> tags and the sample also has an images list; "
                "mmconvert cannot tell their order"
            )
            return InlineResult(tuple(texts), problems=tuple(problems))
        for i, text in enumerate(out):
            found = IMG_TAG.findall(text)
            if found:
                inline.extend(p.strip() for p in found)
                out[i] = IMG_TAG.sub(token, text)
        converted.append(f"{len(inline)} inline <img>…</img> tag(s) (Qwen-VL/ms-swift) -> {token}")
    order: list[int] | None = None
    if has_numbered:
        numbers = [int(m.group(1)) for text in out for m in NUMBERED_TAG.finditer(text)]
        plain = sum(text.count(token) for text in out)
        available = n_images + len(inline)
        zero_based = min(numbers) == 0
        indexes = [n if zero_based else n - 1 for n in numbers]
        bad = sorted({n for n, k in zip(numbers, indexes, strict=True) if not 0 <= k < available})
        if plain and not inline:
            problems.append(f"the text mixes {token} and numbered <image_N> tags; mmconvert cannot pair them")
        elif inline:
            problems.append("the text mixes inline <img>…</img> and numbered <image_N> tags")
        elif bad:
            shown = ", ".join(f"<image_{n}>" for n in bad)
            problems.append(
                f"the tag(s) {shown} name an image the sample does not have ({available} attached)"
            )
        else:
            unused = [k for k in range(available) if k not in set(indexes)]
            order = unused + indexes
            out = [NUMBERED_TAG.sub(token, text) for text in out]
            converted.append(f"{len(numbers)} numbered <image_N> tag(s) -> {token}, images in tag order")
    return InlineResult(
        tuple(out),
        tuple(inline),
        tuple(order) if order is not None else None,
        tuple(problems),
        tuple(converted),
    )
