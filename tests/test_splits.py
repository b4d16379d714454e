"""Split assignment: a pure function of seed and image, close to the fractions, streams in any order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mmconvert.model import Media, MediaKind, Role, Sample, SourceRef, Turn
from mmconvert.splits import SplitAssigner, SplitRouter, parse_split


def _sample(image: str, k: int) -> Sample:
    return Sample(
        turns=(Turn(Role.USER, "q"), Turn(Role.ASSISTANT, str(k))),
        source=SourceRef("f.json", k, f"$[{k}]"),
        images=(Media(MediaKind.IMAGE, image),),
    )


def test_fractions_are_close_and_stable() -> None:
    spec = parse_split("val=0.1,test=0.2", seed=7)
    assign = SplitAssigner(spec)
    names = [assign(f"{i:012d}.jpg") for i in range(5000)]
    share = {n: names.count(n) / len(names) for n in spec.names}
    assert (
        abs(share["train"] - 0.7) < 0.02
        and abs(share["val"] - 0.1) < 0.015
        and abs(share["test"] - 0.2) < 0.015
    )
    assert [SplitAssigner(spec)(f"{i:012d}.jpg") for i in range(5000)] == names
    other = SplitAssigner(parse_split("val=0.1,test=0.2", seed=8))
    assert [other(f"{i:012d}.jpg") for i in range(200)] != names[:200]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=80), st.integers(0, 5), st.booleans())
def test_router_partitions_by_image_in_any_order(images: list[int], seed: int, reverse: bool) -> None:
    spec = parse_split("val=0.3,test=0.2", seed=seed)
    samples = [_sample(f"{img}.jpg", k) for k, img in enumerate(images)]
    router = SplitRouter(samples, spec)
    order = list(reversed(spec.names)) if reverse else list(spec.names)
    got = {name: list(router.stream(name)) for name in order}
    assert sorted(s.source.index for part in got.values() for s in part) == list(range(len(images)))
    owner: dict[str, str] = {}
    for name, part in got.items():
        assert [s.source.index for s in part] == sorted(s.source.index for s in part)  # order kept
        for s in part:
            assert owner.setdefault(s.images[0].path, name) == name
