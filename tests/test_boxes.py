"""Box formats and the Qwen2-VL resize maths, against hand-computed values and LF's verified examples."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmconvert.boxes import (
    BoxFormat,
    BoxWriter,
    lf_preresize,
    qwen_input_size,
    round_half_up,
    smart_resize,
)


@pytest.mark.parametrize(
    ("size", "preresized", "model"),
    [
        # LLAMAFACTORY_FORMAT.md section 9, verified against LF 0.9.5 + the Qwen2-VL processor
        ((1000, 1000), (768, 768), (756, 756)),
        ((1920, 1080), (1024, 576), (1036, 588)),
        ((14043, 42), (7560, 42), (7560, 56)),
        ((20, 20), (32, 32), (56, 56)),
        ((100, 80), (100, 80), (112, 84)),
    ],
)
def test_lf_examples(size: tuple[int, int], preresized: tuple[int, int], model: tuple[int, int]) -> None:
    assert lf_preresize(*size, 768 * 768, 32 * 32) == preresized
    assert qwen_input_size(*size) == model


def test_image_pixel_limits_follow_the_training_config() -> None:
    # image_max_pixels 512*512: 1920x1080 -> sqrt(262144/2073600)=0.35556 -> 682x384 -> 672x392
    assert lf_preresize(1920, 1080, 512 * 512, 32 * 32) == (682, 384)
    assert qwen_input_size(1920, 1080, 512 * 512, 32 * 32) == (672, 392)


def test_round_half_up_is_not_bankers() -> None:
    assert [round_half_up(v) for v in (0.5, 1.5, 2.5, 2.4999, -0.5)] == [1, 2, 3, 2, 0]


# A non-square 1920x1080 image; the model sees 1036x588 (aspect 1.778 -> 1.762).
BOX = (100.0, 50.0, 300.5, 200.0)  # COCO [x, y, w, h]
EXPECTED = {
    # x: 100*1036/1920=53.96->54, 400.5*1036/1920=216.10->216
    # y: 50*588/1080=27.22->27, 250*588/1080=136.11->136
    BoxFormat.QWEN25: [54, 27, 216, 136],
    # 100/1920*1000=52.08->52, 50/1080*1000=46.30->46, 400.5/1920*1000=208.59->209, 250/1080*1000=231.48->231
    BoxFormat.QWEN3: [52, 46, 209, 231],
    BoxFormat.NORM: [0.0521, 0.0463, 0.2086, 0.2315],
    BoxFormat.COCO: [100, 50, 300.5, 200],
    BoxFormat.XYXY: [100, 50, 400.5, 250],
}


@pytest.mark.parametrize("fmt", list(BoxFormat))
def test_hand_computed_boxes(fmt: BoxFormat) -> None:
    assert BoxWriter(fmt, 1920, 1080).box(*BOX) == EXPECTED[fmt]


def test_float_noise_is_removed() -> None:
    assert BoxWriter(BoxFormat.XYXY, 640, 480).box(473.07, 0.1, 20.2, 0.2) == [473.07, 0.1, 493.27, 0.3]


def test_points() -> None:
    assert BoxWriter(BoxFormat.QWEN25, 1920, 1080).point(960, 540) == [518, 294]
    assert BoxWriter(BoxFormat.QWEN3, 1920, 1080).point(960, 540) == [500, 500]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 6000), st.integers(1, 6000))
def test_model_size_is_a_multiple_of_28_within_limits(width: int, height: int) -> None:
    w, h = lf_preresize(width, height, 768 * 768, 32 * 32)
    if max(w, h) / min(w, h) > 200:
        return
    h2, w2 = smart_resize(h, w)
    assert h2 % 28 == 0 and w2 % 28 == 0
    assert 56 * 56 <= h2 * w2 <= 28 * 28 * 16384


@settings(max_examples=150, deadline=None)
@given(
    st.integers(2, 5000),
    st.integers(2, 5000),
    st.floats(0, 1),
    st.floats(0, 1),
    st.floats(0.001, 1),
    st.floats(0.001, 1),
)
def test_boxes_stay_inside_the_model_image(
    width: int, height: int, fx: float, fy: float, fw: float, fh: float
) -> None:
    if max(width, height) / min(width, height) > 150:
        return
    x, y = fx * width, fy * height
    w, h = fw * (width - x) or 0.001, fh * (height - y) or 0.001
    tw, th = qwen_input_size(width, height)
    x1, y1, x2, y2 = BoxWriter(BoxFormat.QWEN25, width, height).box(x, y, w, h)
    assert 0 <= x1 <= x2 <= tw and 0 <= y1 <= y2 <= th
    q = BoxWriter(BoxFormat.QWEN3, width, height).box(x, y, w, h)
    assert all(0 <= v <= 1000 for v in q)
