"""Property tests for the placeholder pass: whatever the input, a sample that comes out of ``insert`` or
``trim`` without an error finding passes LF 0.9.5's count check, with one tag per media item."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mmconvert.findings import Severity
from mmconvert.inline_tags import convert_inline
from mmconvert.model import MEDIA_KINDS, Media, MediaKind, Role, Sample, SourceRef, Turn
from mmconvert.options import LiteralPolicy, PassOptions, PlaceholderPolicy, PlaceholderTokens
from mmconvert.placeholders import check_placeholder_counts, count_in_turns, reconcile_placeholders

TOKENS = PlaceholderTokens()
SOURCE = SourceRef("x.json", 0, "$[0]")
_pieces = st.sampled_from(["<image>", "<video>", "<audio>", "text ", "<", "image>", "\n", "<IMAGE>", ""])
_text = st.lists(_pieces, max_size=6).map("".join)


@st.composite
def samples(draw: st.DrawFn) -> Sample:
    n_pairs = draw(st.integers(min_value=0, max_value=3))
    turns: list[Turn] = []
    for _ in range(n_pairs):
        turns.append(Turn(Role.USER, draw(_text)))
        turns.append(Turn(Role.ASSISTANT, draw(_text)))
    media = {
        kind: tuple(Media(kind, f"{kind}{i}.bin") for i in range(draw(st.integers(0, 3))))
        for kind in MEDIA_KINDS
    }
    preference = n_pairs > 0 and draw(st.booleans())
    chosen = rejected = None
    if preference:
        turns.pop()
        chosen = Turn(Role.ASSISTANT, draw(_text))
        rejected = Turn(Role.ASSISTANT, draw(_text))
    return Sample(
        turns=tuple(turns),
        source=SOURCE,
        images=media[MediaKind.IMAGE],
        videos=media[MediaKind.VIDEO],
        audios=media[MediaKind.AUDIO],
        system=draw(st.none() | _text),
        chosen=chosen,
        rejected=rejected,
    )


def _errors(findings: list) -> list:  # type: ignore[type-arg]
    return [f for f in findings if f.severity is Severity.ERROR]


@settings(max_examples=150, deadline=None)
@given(
    sample=samples(),
    policy=st.sampled_from([PlaceholderPolicy.INSERT, PlaceholderPolicy.TRIM]),
    literal=st.sampled_from(list(LiteralPolicy)),
)
def test_no_error_means_lf_count_check_holds(
    sample: Sample, policy: PlaceholderPolicy, literal: LiteralPolicy
) -> None:
    options = PassOptions(placeholders=policy, literal=literal)
    result, findings = reconcile_placeholders(sample, options)
    if _errors(findings):
        return
    assert check_placeholder_counts(result, TOKENS) == []
    for kind in MEDIA_KINDS:
        token = TOKENS.for_kind(kind)
        answers = [result.chosen, result.rejected] if result.is_preference else []
        for answer in answers:
            assert answer is not None
            assert count_in_turns((*result.turns, answer), token) == len(result.media(kind))
        assert count_in_turns(result.turns, token) == len(result.media(kind))


@settings(max_examples=80, deadline=None)
@given(sample=samples())
def test_insert_only_adds_tags_at_the_start(sample: Sample) -> None:
    result, findings = reconcile_placeholders(sample, PassOptions(placeholders=PlaceholderPolicy.INSERT))
    if _errors(findings):
        return
    for before, after in zip(sample.turns, result.turns, strict=True):
        assert after.content.endswith(before.content)
        prefix = after.content[: len(after.content) - len(before.content)]
        assert prefix.replace("<image>", "").replace("<video>", "").replace("<audio>", "") == ""


@settings(max_examples=80, deadline=None)
@given(sample=samples())
def test_strict_reports_every_mismatch(sample: Sample) -> None:
    result, findings = reconcile_placeholders(sample, PassOptions(placeholders=PlaceholderPolicy.STRICT))
    mismatch = check_placeholder_counts(sample, TOKENS)
    if mismatch:
        assert _errors(findings)
    if not _errors(findings):
        assert result == sample


@settings(max_examples=80, deadline=None)
@given(sample=samples())
def test_trim_never_adds_excess(sample: Sample) -> None:
    result, findings = reconcile_placeholders(sample, PassOptions(placeholders=PlaceholderPolicy.TRIM))
    user_before = [t for t in sample.turns if t.role is Role.USER]
    user_after = [t for t in result.turns if t.role is Role.USER]
    for kind in MEDIA_KINDS:
        token = TOKENS.for_kind(kind)
        after = count_in_turns(user_after, token)
        assert (
            after == len(sample.media(kind))
            or after == count_in_turns(user_before, token)
            or _errors(findings)
        )


@settings(max_examples=80, deadline=None)
@given(
    n_images=st.integers(min_value=1, max_value=5),
    data=st.data(),
)
def test_numbered_tags_pair_each_tag_with_its_image(n_images: int, data: st.DataObject) -> None:
    """After converting <image_N> tags, the k-th <image> in the text is the image the k-th tag named."""
    named = data.draw(st.lists(st.integers(1, n_images), min_size=1, max_size=6))
    text = " ".join(f"<image_{n}> x" for n in named)
    result = convert_inline([text], n_images, TOKENS)
    assert not result.problems
    assert result.texts[0].count("<image>") == len(named)
    assert result.image_order is not None
    unnamed = len(result.image_order) - len(named)
    assert unnamed == len(set(range(n_images)) - {n - 1 for n in named})
    # Missing tags are inserted at the start, so the unnamed images come first, then tag order.
    assert list(result.image_order[unnamed:]) == [n - 1 for n in named]
