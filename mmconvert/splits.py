"""Leak-free dataset splits: ``--split val=0.05`` assigns every *image* (not every sample) to one split.

The split of an image is a pure function of ``--seed`` and the image's file name (its path as the
source gives it, so the same image id or file gets the same split in every run and on every machine):
``blake2b(f"{seed}:{file_name}")`` as a number in [0, 1) is compared with the cumulative fractions.
All samples of one image (its five captions, its grounding chats, its questions) land in one split.
Fractions that sum to less than 1 leave the rest to ``train`` unless ``train`` is named.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mmconvert.errors import UsageError
from mmconvert.model import Sample

_NAME = re.compile(r"^[\w][\w.\-]*$")


@dataclass(frozen=True)
class SplitSpec:
    """Named fractions (summing to 1) and the seed."""

    parts: tuple[tuple[str, float], ...]
    seed: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.parts)


def parse_split(text: str, seed: int = 0) -> SplitSpec:
    """``"val=0.05"`` -> train 0.95 / val 0.05; ``"train=0.8,val=0.1,test=0.1"`` as given."""
    parts: list[tuple[str, float]] = []
    for item in text.split(","):
        name, eq, value = item.strip().partition("=")
        name = name.strip()
        if not eq or not _NAME.match(name):
            raise UsageError(f"--split {text!r}: write NAME=FRACTION[,NAME=FRACTION...], e.g. val=0.05")
        try:
            fraction = float(value)
        except ValueError:
            raise UsageError(f"--split {text!r}: {value.strip()!r} is not a number") from None
        if not (0 < fraction <= 1) or math.isnan(fraction):
            raise UsageError(f"--split {text!r}: the fraction of {name!r} must be in (0, 1]")
        if name in dict(parts):
            raise UsageError(f"--split {text!r}: {name!r} is named twice")
        parts.append((name, fraction))
    total = math.fsum(f for _, f in parts)
    if total > 1 + 1e-9:
        raise UsageError(f"--split {text!r}: the fractions add up to {total:g}, more than 1")
    if total < 1 - 1e-9:
        if "train" in dict(parts):
            raise UsageError(
                f"--split {text!r}: the fractions add up to {total:g}; make them add up to 1, "
                "or leave out train to give it the rest"
            )
        parts.insert(0, ("train", 1 - total))
    if len(parts) < 2:
        raise UsageError(f"--split {text!r}: name at least two splits (or one fraction below 1)")
    return SplitSpec(tuple(parts), seed)


def split_key(sample: Sample) -> str:
    """What decides a sample's split: its first image's file name, else its image id, else its record."""
    if sample.images:
        return sample.images[0].path
    ids = dict(sample.source.ids)
    if "image_id" in ids:
        return f"image_id:{ids['image_id']}"
    return f"{sample.source.file}:{sample.source.path}"


class SplitAssigner:
    """Maps split keys to split names (cached per key)."""

    def __init__(self, spec: SplitSpec) -> None:
        self._names = spec.names
        bounds = []
        acc = 0.0
        for _, fraction in spec.parts:
            acc += fraction
            bounds.append(acc)
        bounds[-1] = 1.0 + 1e-9
        self._bounds = bounds
        self._seed = spec.seed
        self._cache: dict[str, str] = {}

    def position(self, key: str) -> float:
        digest = hashlib.blake2b(f"{self._seed}:{key}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    def __call__(self, key: str) -> str:
        hit = self._cache.get(key)
        if hit is None:
            where = self.position(key)
            hit = next(name for name, bound in zip(self._names, self._bounds, strict=True) if where < bound)
            self._cache[key] = hit
        return hit


class SplitRouter:
    """Splits one sample stream into one stream per split.

    Streams may be consumed one after the other: samples for a split not being read yet are buffered,
    so reading the largest split first keeps the buffer to the smaller ones.
    """

    def __init__(self, samples: Iterable[Sample], spec: SplitSpec) -> None:
        self._upstream = iter(samples)
        self._assign = SplitAssigner(spec)
        self._buffers: dict[str, deque[Sample]] = {name: deque() for name in spec.names}

    def stream(self, name: str) -> Iterator[Sample]:
        buffer = self._buffers[name]
        buffers, assign = self._buffers, self._assign
        while True:
            while buffer:
                yield buffer.popleft()
            for sample in self._upstream:
                target = assign(split_key(sample))
                if target == name:
                    yield sample
                    break
                buffers[target].append(sample)
            else:
                if not buffer:
                    return
