"""The visual-token budget: LLAMAFACTORY_FORMAT.md §9's verified numbers, Qwen3-VL's, and the warnings."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from mmconvert.errors import UsageError
from mmconvert.model import Role, Sample, SourceRef, Turn
from mmconvert.tokens import (
    TEMPLATES,
    TokenBudget,
    check_sample_budget,
    estimate_text_tokens,
    image_tokens,
    resized_image_size,
)

from .conftest import LF_VENV

# (width, height) -> N for Qwen2-VL/Qwen2.5-VL at LF's defaults; §9 [verified] plus hand-computed ones.
QWEN2_TOKENS = {
    (100, 80): 12,
    (1000, 1000): 729,  # -> 768x768 -> 756x756
    (1920, 1080): 777,  # -> 1024x576 -> 1036x588
    (14043, 42): 540,  # aspect clamp -> 7560x42 -> 7560x56
    (20, 20): 4,  # -> 32x32 -> 56x56
}
# The same sizes and a few more through LF 0.9.5's Qwen2VLPlugin._preprocess_image and transformers'
# Qwen2VLImageProcessorPil (run once in the oracle venv, see test_matches_the_real_processor).
MORE = {
    (1, 1): (4, 64),
    (3, 5000): (179, 156),
    (640, 480): (391, 300),
    (333, 777): (336, 240),
}
QWEN3_TOKENS = {(100, 80): 72, (1000, 1000): 576, (1920, 1080): 576, (14043, 42): 236, (20, 20): 64}


@pytest.mark.parametrize(("size", "expected"), QWEN2_TOKENS.items())
def test_qwen2_vl_matches_the_documented_examples(size: tuple[int, int], expected: int) -> None:
    assert image_tokens(*size) == expected
    assert TokenBudget.from_template("qwen2_5_vl").image_tokens(*size) == expected


def test_intermediate_sizes_of_the_documented_examples() -> None:
    assert resized_image_size(1000, 1000) == (756, 756)
    assert resized_image_size(1920, 1080) == (1036, 588)
    assert resized_image_size(14043, 42) == (7560, 56)
    assert resized_image_size(20, 20) == (56, 56)


@pytest.mark.parametrize(("size", "expected"), MORE.items())
def test_more_sizes_both_families(size: tuple[int, int], expected: tuple[int, int]) -> None:
    assert (image_tokens(*size), image_tokens(*size, TEMPLATES["qwen3_vl"])) == expected


@pytest.mark.parametrize(("size", "expected"), QWEN3_TOKENS.items())
def test_qwen3_vl_uses_patch_16(size: tuple[int, int], expected: int) -> None:
    assert TokenBudget.from_template("qwen3_vl").image_tokens(*size) == expected


def test_pixel_limits_change_the_count() -> None:
    small = TokenBudget.from_template("qwen2_vl", image_max_pixels=256 * 256)
    assert small.image_tokens(1000, 1000) == 81  # 256x256 -> 252x252 -> 9x9


def test_bad_budgets_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="visual-token budget is known for qwen2_vl"):
        TokenBudget.from_template("llava")
    with pytest.raises(UsageError, match="cannot be smaller than `image_min_pixels`"):
        TokenBudget.from_template("qwen2_vl", image_max_pixels=10, image_min_pixels=100)
    assert TokenBudget.from_template("qwen2_vl", 100, packing=True).effective_cutoff == 99


def test_text_estimate() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("abcd" * 10) == 10
    assert estimate_text_tokens("图片里有什么") == 6
    assert estimate_text_tokens("ab图") == 2


def _sample(text: str = "Describe this image.", answer: str = "A cat.") -> Sample:
    return Sample(
        turns=(Turn(Role.USER, "<image>" + text), Turn(Role.ASSISTANT, answer)),
        source=SourceRef("data.json", 3, "$[3]"),
    )


def test_images_alone_over_cutoff_warn() -> None:
    budget = TokenBudget.from_template("qwen2_vl", cutoff_len=700)
    (finding,) = check_sample_budget(_sample(), [(1000, 1000)], budget, "demo")
    assert finding.code == "image-tokens-over-cutoff"
    assert finding.severity == "warning"
    assert finding.path == "$[3]"
    assert finding.message.startswith(
        "the image(s) alone expand to 731 tokens (1000x1000 -> 729, +2 each), more than cutoff_len 700"
    )


def test_images_plus_text_over_cutoff_warn() -> None:
    budget = TokenBudget.from_template("qwen2_vl", cutoff_len=800)
    assert check_sample_budget(_sample(), [(1000, 1000)], budget) == []
    (finding,) = check_sample_budget(_sample(answer="word " * 100), [(1000, 1000)], budget)
    assert finding.code == "tokens-over-cutoff"
    assert "731 for images" in finding.message
    assert check_sample_budget(_sample(), [], budget) == []


@pytest.mark.lf_oracle
def test_matches_the_real_processor(tmp_path: Path) -> None:
    """LF 0.9.5's own pre-resize + transformers' Qwen2-VL image processor, on random sizes."""
    python = LF_VENV / "bin" / "python"
    if not python.exists():
        pytest.skip(f"LF oracle venv not found at {LF_VENV}")
    rng = random.Random(7)
    sizes = [*QWEN2_TOKENS, *MORE] + [(rng.randint(1, 4000), rng.randint(1, 4000)) for _ in range(40)]
    script = tmp_path / "count.py"
    script.write_text(
        """
import json, sys
from PIL import Image
from llamafactory.data.mm_plugin import Qwen2VLPlugin
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
sizes = json.loads(sys.argv[1])
specs = {"qwen2_vl": dict(patch_size=14, merge_size=2, min_pixels=3136, max_pixels=12845056),
         "qwen3_vl": dict(patch_size=16, merge_size=2,
                          size={"shortest_edge": 65536, "longest_edge": 16777216})}
plugin = Qwen2VLPlugin(image_token="<|image_pad|>", video_token=None, audio_token=None)
out = {}
for name, kw in specs.items():
    proc = Qwen2VLImageProcessorPil(**kw)
    counts = []
    for w, h in sizes:
        image = plugin._preprocess_image(Image.new("RGB", (w, h)), image_max_pixels=768 * 768,
                                         image_min_pixels=32 * 32)
        t, gh, gw = proc([image], return_tensors="np")["image_grid_thw"][0].tolist()
        counts.append(t * gh * gw // 4)
    out[name] = counts
print(json.dumps(out))
""",
        encoding="utf-8",
    )
    run = subprocess.run(
        [str(python), str(script), json.dumps(sizes)], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-2000:]
    real = json.loads(run.stdout.strip().splitlines()[-1])
    for template in ("qwen2_vl", "qwen3_vl"):
        ours = [image_tokens(w, h, TEMPLATES[template]) for w, h in sizes]
        assert ours == real[template], template


def test_a_long_answer_is_cut_not_the_image() -> None:
    """LF's infer_seqlen cuts the answer when the prompt (image first) fits in half the budget."""
    budget = TokenBudget.from_template("qwen2_vl", cutoff_len=2048)
    assert check_sample_budget(_sample(answer="word " * 1200), [(1000, 1000)], budget) == []


def test_an_image_in_a_later_turn_is_dropped() -> None:
    budget = TokenBudget.from_template("qwen2_vl", cutoff_len=2048)
    sample = Sample(
        turns=(
            Turn(Role.USER, "<image>What is this?"),
            Turn(Role.ASSISTANT, "word " * 1100),
            Turn(Role.USER, "<image>And this?"),
            Turn(Role.ASSISTANT, "A dog."),
        ),
        source=SourceRef("data.json", 0, "$[0]"),
    )
    (finding,) = check_sample_budget(sample, [(640, 480), (640, 480)], budget)
    assert finding.code == "tokens-over-cutoff"
    assert "would cut image tokens in turn pair 2" in finding.message


def test_missing_tags_count_as_leading_ones() -> None:
    budget = TokenBudget.from_template("qwen2_vl", cutoff_len=800)
    sample = _sample(answer="word " * 100)
    untagged = Sample(turns=(Turn(Role.USER, "Describe this image."), sample.turns[1]), source=sample.source)
    assert [f.code for f in check_sample_budget(untagged, [(1000, 1000)], budget)] == ["tokens-over-cutoff"]
