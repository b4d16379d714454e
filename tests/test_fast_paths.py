"""The shortcuts the hot path takes give exactly what the general code gives.

:func:`mmconvert.placeholders.reconcile_placeholders` answers most samples from a quick path; these
property tests draw samples (odd roles, custom and overlapping tag texts, preference answers) and check
that the quick path's result equals the full path's, findings included.
"""

from __future__ import annotations

import os
import tempfile

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


@settings(max_examples=100, deadline=None)
@given(
    ids=st.lists(
        st.integers(-3, 40) | st.integers(2**27 - 2, 2**27 + 2) | st.sampled_from(["5", "a"]), max_size=60
    ),
    split=st.integers(0, 60),
)
def test_seen_ids_add_all_equals_add_new(ids: list[int | str], split: int) -> None:
    """The block form of the duplicate-id memory gives the positions add_new would reject."""
    one, block = SeenIds(), SeenIds()
    expected = {pos for pos, item in enumerate(ids) if not one.add_new(item)}
    got = block.add_all(ids[:split]) | {pos + split for pos in block.add_all(ids[split:])}
    assert got == expected


_answers = st.sampled_from(["a caption", "ok", "", "  ", "<image> here", "<Image>", "x < y", "\n", "ok"])


@st.composite
def pair_streams(draw: st.DrawFn) -> list[Sample]:
    """Streams of COCO-like samples: shared prompt objects, shared image items (some missing files),
    and now and then something the shortcut must leave to the passes."""
    texts = st.sampled_from(["Describe.", "", "<image>", "<image><image>", "<a", "x <video>"]) | _text
    prompts = [Turn(Role.USER, t) for t in draw(st.lists(texts, min_size=1, max_size=2))]
    images = [Media(MediaKind.IMAGE, name, base=BASE) for name in ("a.jpg", "b.jpg", "missing.jpg")]
    out = []
    for i in range(draw(st.integers(1, 16))):
        prompt = draw(st.sampled_from(prompts))
        answer = Turn(draw(st.sampled_from([Role.ASSISTANT, Role.ASSISTANT, Role.USER])), draw(_answers))
        attached = draw(st.sampled_from([(images[0],), (images[1],), (images[2],), (), images[:2]]))
        sample = Sample(turns=(prompt, answer), source=SourceRef("x.json", i, f"$[{i}]"), images=attached)
        extra = draw(st.sampled_from(["", "", "", "system", "videos", "kto"]))
        if extra == "system":
            sample = msgspec.structs.replace(sample, system="be brief")
        elif extra == "videos":
            sample = msgspec.structs.replace(sample, videos=(Media(MediaKind.VIDEO, "a.jpg", base=BASE),))
        elif extra == "kto":
            sample = msgspec.structs.replace(sample, kto_label=True)
        out.append(sample)
    return out


BASE = os.path.join(tempfile.gettempdir(), "mmconvert-test-pair-shortcut")


@settings(max_examples=300, deadline=None)
@given(
    stream=pair_streams(),
    policy=st.sampled_from(list(PlaceholderPolicy)),
    tokens=st.sampled_from(_TOKEN_SETS),
)
def test_pair_shortcut_equals_the_passes(
    stream: list[Sample], policy: PlaceholderPolicy, tokens: PlaceholderTokens
) -> None:
    """run_passes with the prompt/answer shortcut gives the samples and findings the passes give."""
    from dataclasses import replace

    from mmconvert import passes
    from mmconvert.findings import Findings
    from mmconvert.model import Dataset

    os.makedirs(BASE, exist_ok=True)
    for name in ("a.jpg", "b.jpg"):
        with open(os.path.join(BASE, name), "wb") as fh:
            fh.write(b"x")
    options = PassOptions(tokens=tokens, placeholders=policy)
    dataset = Dataset("d", stream, media_kinds=frozenset({MediaKind.IMAGE}))

    def run(shortcut: bool) -> tuple[list[Sample], list, tuple[int, int, int]]:
        findings, stats = Findings(), passes.PassStats()
        original = passes.PairShortcut.apply
        if not shortcut:
            passes.PairShortcut.apply = lambda self, sample: None  # type: ignore[method-assign]
        try:
            out = list(
                passes.run_passes(replace(dataset, samples=list(stream)), options, findings, stats).samples
            )
        finally:
            passes.PairShortcut.apply = original  # type: ignore[method-assign]
        return out, findings.to_list(), (stats.seen, stats.passed, stats.rejected)

    assert run(True) == run(False)


def test_pair_shortcut_leaves_the_unusual_to_the_passes() -> None:
    """After a clean sample primes the shortcut, each unusual follower still gets the passes' verdict."""
    from mmconvert import passes
    from mmconvert.findings import Findings
    from mmconvert.model import Dataset

    os.makedirs(BASE, exist_ok=True)
    with open(os.path.join(BASE, "a.jpg"), "wb") as fh:
        fh.write(b"x")
    prompt = Turn(Role.USER, "Describe.")
    image = Media(MediaKind.IMAGE, "a.jpg", base=BASE)
    clean = Sample((prompt, Turn(Role.ASSISTANT, "ok")), SourceRef("x.json", 0, "$[0]"), images=(image,))
    followers = [
        msgspec.structs.replace(clean, turns=(prompt, Turn(Role.ASSISTANT, "a <image> tag"))),
        msgspec.structs.replace(clean, turns=(prompt, Turn(Role.ASSISTANT, "  "))),
        msgspec.structs.replace(clean, turns=(prompt, Turn(Role.USER, "ok"))),
        msgspec.structs.replace(clean, images=(Media(MediaKind.IMAGE, "missing.jpg", base=BASE),)),
        msgspec.structs.replace(clean, images=(image, image)),
        msgspec.structs.replace(clean, system="<image>"),
        msgspec.structs.replace(clean, tools="[]"),
        msgspec.structs.replace(clean, kto_label=True),
    ]
    for follower in followers:
        stream = [clean, follower, clean]
        results = []
        for shortcut in (True, False):
            findings, stats = Findings(), passes.PassStats()
            dataset = Dataset("d", list(stream), media_kinds=frozenset({MediaKind.IMAGE}))
            original = passes.PairShortcut.apply
            if not shortcut:
                passes.PairShortcut.apply = lambda self, sample: None  # type: ignore[method-assign]
            try:
                out = list(passes.run_passes(dataset, PassOptions(), findings, stats).samples)
            finally:
                passes.PairShortcut.apply = original  # type: ignore[method-assign]
            results.append((out, findings.to_list(), stats))
        assert results[0] == results[1], follower


@settings(max_examples=100, deadline=None)
@given(
    images=st.lists(
        st.tuples(
            st.integers(0, 30) | st.sampled_from(["a", "7"]),
            st.sampled_from(["a.jpg", "b.jpg", "c/d.png", "ü.jpg", "e.jpg"]),
            st.none() | st.integers(1, 9) | st.floats(1, 9),
        ),
        max_size=8,
    )
)
def test_image_index_shortcut_equals_the_checked_loop(images: list[tuple[object, str, object]]) -> None:
    """COCO's image index: the one-comprehension build (ids and files all distinct) gives what the
    image-by-image build gives, and inputs with repeats get the loop's findings."""
    from mmconvert.converters import coco as coco_format
    from mmconvert.findings import Findings

    decoded = [coco_format._Image(id=i, file_name=f, width=w, height=w) for i, f, w in images]  # type: ignore[arg-type]
    loaded = coco_format.CocoFile("c.json", decoded)
    fast, slow = Findings(), Findings()
    got = coco_format._image_index(loaded, "/data", fast)
    assert got == coco_format._image_index_checked(loaded, "/data", slow)
    assert fast.to_list() == slow.to_list()


_NAMES = ["a.jpg", "b.jpg", "missing.jpg", "sub", "in_link.jpg", "out_link.jpg", "broken.jpg", ".", "..", ""]
_NAMES += ["data:x", "sub/c.jpg", "sub/../a.jpg", "ü.jpg"]


def _media_tree(root: str) -> tuple[str, str]:
    """A folder of files, a subfolder and symlinks (inside, outside, broken); and a folder outside."""
    images, outside = os.path.join(root, "images"), os.path.join(root, "outside")
    for folder in (images, outside, os.path.join(images, "sub")):
        os.makedirs(folder, exist_ok=True)
    for name in ("a.jpg", "b.jpg", "ü.jpg", "sub/c.jpg"):
        with open(os.path.join(images, name), "wb") as fh:
            fh.write(b"x")
    with open(os.path.join(outside, "o.jpg"), "wb") as fh:
        fh.write(b"x")
    for name, target in (
        ("in_link.jpg", os.path.join(images, "a.jpg")),
        ("out_link.jpg", os.path.join(outside, "o.jpg")),
        ("broken.jpg", os.path.join(root, "nowhere")),
    ):
        if not os.path.lexists(os.path.join(images, name)):
            os.symlink(target, os.path.join(images, name))
    return images, outside


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(st.sampled_from(_NAMES), min_size=1, max_size=6),
    base=st.sampled_from(["images", "images/", "images/./sub/..", "relative", "/"]),
    check=st.sampled_from(["none", "exists"]),
    allow_outside=st.booleans(),
)
def test_plain_name_shortcut_equals_the_general_resolution(
    names: list[str], base: str, check: str, allow_outside: bool
) -> None:
    """A bare file name read from its folder's listing resolves exactly as the general code resolves
    it (path rules, symlink escapes, the exists check), for every kind of entry and folder."""
    from mmconvert import passes
    from mmconvert.options import CheckTier

    root = os.path.join(tempfile.gettempdir(), "mmconvert-test-plain-name")
    images, _ = _media_tree(root)
    folder = {"images": images, "images/": images + "/", "images/./sub/..": images + "/./sub/.."}.get(
        base, base
    )
    options = PassOptions(check=CheckTier(check), allow_outside_paths=allow_outside)
    items = [Media(MediaKind.IMAGE, name, base=folder, width=4, height=3) for name in names]
    sample = Sample(turns=(), source=SOURCE)

    fast = passes.MediaResolver(options)
    slow = passes.MediaResolver(options)
    slow._plain_name = lambda media: None  # type: ignore[method-assign]
    assert [fast.resolve(m, sample) for m in items] == [slow.resolve(m, sample) for m in items]
