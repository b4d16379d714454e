"""The shortcuts the hot path takes give exactly what the general code gives.

:func:`mmconvert.placeholders.reconcile_placeholders` answers most samples from a quick path; these
property tests draw samples (odd roles, custom and overlapping tag texts, preference answers) and check
that the quick path's result equals the full path's, findings included.
"""

from __future__ import annotations

import os

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from mmconvert.converters.coco import SeenIds
from mmconvert.model import MEDIA_KINDS, Media, MediaKind, Role, Sample, SourceRef, Turn
from mmconvert.options import LiteralPolicy, PassOptions, PlaceholderPolicy, PlaceholderTokens
from mmconvert.paths import resolve_media_path
from mmconvert.placeholders import _reconcile_full, reconcile_placeholders

SOURCE = SourceRef("x.json", 0, "$[0]")
_TOKEN_SETS = [
    PlaceholderTokens(),
    # tags that can join across the inserted prefix ("<a" + "a>"), or contain one another
    PlaceholderTokens(image="<a", video="a>", audio="<aa"),
    PlaceholderTokens(image="[IMG]", video="IMG]", audio="<audio>"),
]
_pieces = st.sampled_from(
    ["<image>", "<video>", "<audio>", "text ", "<", "image>", "<a", "a>", "[IMG]", "IMG]", "\n", ""]
)
_text = st.lists(_pieces, max_size=5).map("".join)


@st.composite
def samples(draw: st.DrawFn) -> Sample:
    roles = st.sampled_from(
        [Role.USER, Role.USER, Role.ASSISTANT, Role.FUNCTION, Role.OBSERVATION, Role.SYSTEM]
    )
    turns = tuple(Turn(draw(roles), draw(_text)) for _ in range(draw(st.integers(0, 4))))
    media = {
        kind: tuple(Media(kind, f"{kind}{i}.bin") for i in range(draw(st.integers(0, 3))))
        for kind in MEDIA_KINDS
    }
    answer = st.none() | st.builds(Turn, st.sampled_from([Role.ASSISTANT, Role.USER]), _text)
    return Sample(
        turns=turns,
        source=SOURCE,
        images=media[MediaKind.IMAGE],
        videos=media[MediaKind.VIDEO],
        audios=media[MediaKind.AUDIO],
        system=draw(st.none() | _text),
        chosen=draw(answer),
        rejected=draw(answer),
    )


@settings(max_examples=200, deadline=None)
@given(
    sample=samples(),
    policy=st.sampled_from(list(PlaceholderPolicy)),
    literal=st.sampled_from(list(LiteralPolicy)),
    tokens=st.sampled_from(_TOKEN_SETS),
)
def test_quick_path_equals_full_path(
    sample: Sample, policy: PlaceholderPolicy, literal: LiteralPolicy, tokens: PlaceholderTokens
) -> None:
    options = PassOptions(tokens=tokens, placeholders=policy, literal=literal)
    assert reconcile_placeholders(sample, options, "d") == _reconcile_full(sample, options, "d")


def test_quick_path_shares_the_inserted_prompt() -> None:
    """A COCO run inserts the tag once: every sample gets the same prompt turn object."""
    prompt = Turn(Role.USER, "Describe this image.")
    results = [
        reconcile_placeholders(
            Sample(
                turns=(prompt, Turn(Role.ASSISTANT, f"caption {i}")),
                source=SOURCE,
                images=(Media(MediaKind.IMAGE, f"{i}.jpg"),),
            ),
            PassOptions(),
        )
        for i in range(3)
    ]
    assert all(findings == [] for _, findings in results)
    assert results[0][0].turns[0].content == "<image>Describe this image."
    assert results[0][0].turns[0] is results[2][0].turns[0]


_parts = st.sampled_from(["a", "b.jpg", ".", "..", "", "ü x", "...", ".hidden", "c\\d"])


@settings(max_examples=150, deadline=None)
@given(
    path=st.lists(_parts, min_size=1, max_size=4).map("/".join),
    base=st.sampled_from(["/data/images", "/data/images/", "/data/./img/../images", "/", "rel/dir", "."]),
)
def test_media_path_shortcut_equals_normpath(path: str, base: str) -> None:
    """Plain relative paths skip ``normpath``; the result is what ``normpath(join(...))`` gives."""
    media = Media(MediaKind.IMAGE, path, base=base)
    resolved, _ = resolve_media_path(media, SOURCE, allow_outside=True)
    if not path or path.startswith("/"):
        return
    expected = os.path.normpath(os.path.join(base, path))  # what the general code computes
    assert resolved.resolved == expected
    if base.startswith("/data") and expected != os.path.normpath(base):  # no symlinks there
        folder = os.path.normpath(base)
        inside = expected == folder or expected.startswith(folder.rstrip("/") + "/")
        _, finding = resolve_media_path(media, SOURCE, allow_outside=False)
        assert (finding is None) == inside


@settings(max_examples=150, deadline=None)
@given(
    sample=samples(),
    prompt=_text,
    policy=st.sampled_from(list(PlaceholderPolicy)),
    tokens=st.sampled_from(_TOKEN_SETS),
)
def test_shared_prompt_memo_equals_full_path(
    sample: Sample, prompt: str, policy: PlaceholderPolicy, tokens: PlaceholderTokens
) -> None:
    """A sample whose prompt turn is the object of the previous (prompt, answer) sample takes the memo."""
    options = PassOptions(tokens=tokens, placeholders=policy)
    shared = Turn(Role.USER, prompt)
    primer = msgspec.structs.replace(
        sample, turns=(shared, Turn(Role.ASSISTANT, "ok")), system=None, chosen=None, rejected=None
    )
    reconcile_placeholders(primer, options)
    turns = (shared, *sample.turns[1:2]) if sample.turns else (shared,)
    follower = msgspec.structs.replace(sample, turns=turns)
    assert reconcile_placeholders(follower, options, "d") == _reconcile_full(follower, options, "d")


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(
        st.integers(-3, 40)
        | st.integers(2**27 - 2, 2**27 + 2)
        | st.integers()
        | st.sampled_from(["5", "a", ""]),
        max_size=60,
    )
)
def test_seen_ids_bitmap_equals_a_set(ids: list[int | str]) -> None:
    """The caption importer's duplicate-id memory answers exactly like a set."""
    seen, reference = SeenIds(), set()
    for item in ids:
        assert seen.add_new(item) == (item not in reference)
        reference.add(item)
