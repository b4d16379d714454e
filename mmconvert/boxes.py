"""Bounding-box and point formats for detection / grounding / pose chats, and the image-size maths
that ``qwen2.5-vl`` absolute coordinates need.

COCO boxes are ``[x, y, w, h]`` in original pixels (floats).  A :class:`BoxFormat` turns one into what
the assistant answers:

``qwen2.5-vl``
    absolute ``[x1, y1, x2, y2]`` integers on the image *as the model sees it* when trained with
    LLaMA-Factory 0.9.5: LF's pre-resize (:func:`lf_preresize`) then the Qwen2-VL processor's
    :func:`smart_resize`.  Each coordinate is scaled by ``new_side / original_side`` and rounded half
    up to an integer, then clamped to ``[0, new_side]``.
``qwen3-vl``
    integers 0-1000 relative to the original width/height: ``round_half_up(v / side * 1000)``.
``norm``
    floats 0-1 ``[x1, y1, x2, y2]``: ``v / side`` rounded to 4 decimals.
``coco``
    the original ``[x, y, w, h]`` pixels.
``xyxy``
    original pixels ``[x, y, x + w, y + h]``.

``coco`` and ``xyxy`` keep the source's numbers; sums are rounded to 6 decimals to drop float noise
(``473.07 + 20.2`` is written ``493.27``).  In every format a whole number is written as an integer.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

#: LF 0.9.5 ModelArguments defaults (``image_max_pixels`` = 768 * 768, ``image_min_pixels`` = 32 * 32).
LF_IMAGE_MAX_PIXELS = 768 * 768
LF_IMAGE_MIN_PIXELS = 32 * 32
#: Qwen2-VL / Qwen2.5-VL processor: patch 14 x merge 2, and the Qwen2.5-VL preprocessor_config limits.
QWEN_FACTOR = 28
QWEN_MIN_PIXELS = 56 * 56
QWEN_MAX_PIXELS = 28 * 28 * 16384


class BoxFormat(enum.StrEnum):
    """How box coordinates are written in the assistant's answer (see the module docstring)."""

    QWEN25 = "qwen2.5-vl"
    QWEN3 = "qwen3-vl"
    NORM = "norm"
    COCO = "coco"
    XYXY = "xyxy"

    @property
    def needs_size(self) -> bool:
        """Whether the image's width/height are needed to write a box."""
        return self in (BoxFormat.QWEN25, BoxFormat.QWEN3, BoxFormat.NORM)


def round_half_up(value: float) -> int:
    """``2.5 -> 3``, ``-2.5 -> -2``: the rounding every integer box format uses (not banker's)."""
    return math.floor(value + 0.5)


def lf_preresize(width: int, height: int, max_pixels: int, min_pixels: int) -> tuple[int, int]:
    """LF 0.9.5 ``Qwen2VLPlugin._preprocess_image`` applied to a size: ``(width, height)`` after it.

    Over ``max_pixels``: both sides scaled by sqrt(max / (w * h)) and truncated; under ``min_pixels``:
    scaled up likewise; then sides under 28 px raised to 28, and an aspect ratio over 200 clamped to 180.
    """
    if width * height > max_pixels:
        factor = math.sqrt(max_pixels / (width * height))
        width, height = int(width * factor), int(height * factor)
    if width * height < min_pixels:
        factor = math.sqrt(min_pixels / (width * height))
        width, height = int(width * factor), int(height * factor)
    if min(width, height) < 28:
        width, height = max(width, 28), max(height, 28)
    if width / height > 200:
        width = height * 180
    if height / width > 200:
        height = width * 180
    return width, height


def smart_resize(
    height: int,
    width: int,
    factor: int = QWEN_FACTOR,
    min_pixels: int = QWEN_MIN_PIXELS,
    max_pixels: int = QWEN_MAX_PIXELS,
) -> tuple[int, int]:
    """The Qwen2-VL image processor's ``smart_resize``: ``(height, width)``, multiples of ``factor``.

    Same argument order and arithmetic as ``transformers``' function (Python's ``round`` included).
    """
    if max(height, width) / min(height, width) > 200:
        ratio = max(height, width) / min(height, width)
        raise ValueError(f"absolute aspect ratio must be smaller than 200, got {ratio}")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def qwen_input_size(
    width: int,
    height: int,
    image_max_pixels: int = LF_IMAGE_MAX_PIXELS,
    image_min_pixels: int = LF_IMAGE_MIN_PIXELS,
) -> tuple[int, int]:
    """``(width, height)`` of the image Qwen2.5-VL sees when LF 0.9.5 trains on a ``width x height`` file."""
    w, h = lf_preresize(width, height, image_max_pixels, image_min_pixels)
    h2, w2 = smart_resize(h, w)
    return w2, h2


def _clean(value: float, digits: int) -> int | float:
    value = round(value, digits)
    if value == int(value):
        return int(value)
    return value


@dataclass(frozen=True)
class BoxWriter:
    """Writes boxes and points in one format for one image of ``width x height`` original pixels."""

    fmt: BoxFormat
    width: float
    height: float
    image_max_pixels: int = LF_IMAGE_MAX_PIXELS
    image_min_pixels: int = LF_IMAGE_MIN_PIXELS

    def __post_init__(self) -> None:
        target = (0, 0)
        if self.fmt is BoxFormat.QWEN25:
            target = qwen_input_size(
                int(self.width), int(self.height), self.image_max_pixels, self.image_min_pixels
            )
        object.__setattr__(self, "target_size", target)

    #: ``(width, height)`` the model sees (``qwen2.5-vl`` only; ``(0, 0)`` otherwise).
    target_size: tuple[int, int] = field(init=False, default=(0, 0))

    def box(self, x: float, y: float, w: float, h: float) -> list[int | float]:
        """One COCO ``[x, y, w, h]`` box in this format."""
        fmt = self.fmt
        if fmt is BoxFormat.COCO:
            return [_clean(x, 6), _clean(y, 6), _clean(w, 6), _clean(h, 6)]
        x2, y2 = x + w, y + h
        if fmt is BoxFormat.QWEN25:  # the hot path: inlined point()
            tw, th = self.target_size
            width, height = self.width, self.height
            floor = math.floor
            return [
                min(max(floor(x * tw / width + 0.5), 0), tw),
                min(max(floor(y * th / height + 0.5), 0), th),
                min(max(floor(x2 * tw / width + 0.5), 0), tw),
                min(max(floor(y2 * th / height + 0.5), 0), th),
            ]
        if fmt is BoxFormat.XYXY:
            return [_clean(x, 6), _clean(y, 6), _clean(x2, 6), _clean(y2, 6)]
        return [*self.point(x, y), *self.point(x2, y2)]

    def point(self, x: float, y: float) -> list[int | float]:
        """One ``(x, y)`` point in this format (``coco``/``xyxy``: original pixels)."""
        fmt = self.fmt
        if fmt is BoxFormat.QWEN25:
            tw, th = self.target_size
            return [
                min(max(round_half_up(x * tw / self.width), 0), tw),
                min(max(round_half_up(y * th / self.height), 0), th),
            ]
        if fmt is BoxFormat.QWEN3:
            return [
                min(max(round_half_up(x / self.width * 1000), 0), 1000),
                min(max(round_half_up(y / self.height * 1000), 0), 1000),
            ]
        if fmt is BoxFormat.NORM:
            return [_clean(x / self.width, 4), _clean(y / self.height, 4)]
        return [_clean(x, 6), _clean(y, 6)]


ROUNDING_HELP = (
    "qwen2.5-vl: integer [x1,y1,x2,y2] on the image Qwen2.5-VL sees under LF 0.9.5 (LF pre-resize by "
    "--image-max-pixels/--image-min-pixels, then smart_resize: factor 28, min 56*56, max 28*28*16384), "
    "each coordinate scaled and rounded half up; qwen3-vl: integers 0-1000 relative to the original "
    "size, rounded half up; norm: floats 0-1 [x1,y1,x2,y2] rounded to 4 decimals; coco: original "
    "[x,y,w,h]; xyxy: original [x1,y1,x2,y2] (x+w, y+h rounded to 6 decimals).  Whole numbers are "
    "written as integers."
)
