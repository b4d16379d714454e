"""The passes every conversion runs over the sample stream, in order:

1. resolve media paths (LF's rule, escape checks) - :mod:`mmconvert.paths`
2. check media files at the chosen tier - :mod:`mmconvert.media`
3. reconcile placeholder tags and run LF's exact count check - :mod:`mmconvert.placeholders`

and LF's sharegpt role-order rules on every sample - :mod:`mmconvert.roles`.

Each pass is a function of one sample; :func:`run_passes` chains them lazily over a dataset and routes
findings to the collector.  A sample with an error finding is not passed on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import msgspec

from mmconvert.findings import Finding, Findings, Severity
from mmconvert.media import STATE_MESSAGES, DirectoryIndex, FileState
from mmconvert.model import MEDIA_KINDS, Dataset, Media, Sample
from mmconvert.options import CheckTier, PassOptions
from mmconvert.paths import forget_folder_cache, resolve_media_path
from mmconvert.placeholders import reconcile_placeholders
from mmconvert.roles import check_conversation

_COLUMN = {"image": "images", "video": "videos", "audio": "audios"}


@dataclass
class PassStats:
    """What the passes saw: samples in, samples passed on, samples held back for errors."""

    seen: int = 0
    passed: int = 0
    rejected: int = 0


class MediaResolver:
    """Resolves and checks media, once per distinct (folder, path), for the whole run."""

    def __init__(self, options: PassOptions) -> None:
        self._options = options
        forget_folder_cache()
        self._index = DirectoryIndex()
        self._cache: dict[tuple[str | None, str], tuple[Media, str | None, str | None]] = {}

    def resolve(self, media: Media, sample: Sample) -> tuple[Media, str | None, str | None]:
        """(resolved media, finding code or None, message) for one media item."""
        key = (media.base, media.path)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        resolved, finding = resolve_media_path(media, sample.source, self._options.allow_outside_paths)
        result: tuple[Media, str | None, str | None]
        if finding is not None:
            result = (resolved, finding.code, finding.message)
        elif self._options.check is CheckTier.NONE or resolved.resolved is None:
            result = (resolved, None, None)
        else:
            state = self._index.state(resolved.resolved)
            if state is FileState.FILE:
                result = (resolved, None, None)
            else:
                where = f" ({media.origin})" if media.origin else ""
                result = (
                    resolved,
                    "media-missing" if state is FileState.MISSING else "media-not-file",
                    f"{media.kind} file {resolved.resolved} {STATE_MESSAGES[state]}{where}",
                )
        self._cache[key] = result
        return result


def resolve_sample_media(
    sample: Sample, resolver: MediaResolver, dataset: str | None
) -> tuple[Sample, list[Finding]]:
    findings: list[Finding] = []
    changes: dict[str, tuple[Media, ...]] = {}
    for kind in MEDIA_KINDS:
        items = sample.media(kind)
        if not items:
            continue
        out = []
        for i, media in enumerate(items):
            resolved, code, message = resolver.resolve(media, sample)
            out.append(resolved)
            if code is not None:
                assert message is not None
                findings.append(
                    Finding.at(
                        sample.source,
                        code,
                        Severity.ERROR,
                        message,
                        hint=_MEDIA_HINTS.get(code),
                        subpath="" if media.origin else f".{_COLUMN[kind]}[{i}]",
                        dataset=dataset,
                    )
                )
        changes[_COLUMN[kind]] = tuple(out)
    if changes:
        sample = msgspec.structs.replace(sample, **changes)
    return sample, findings


_MEDIA_HINTS = {
    "media-missing": "check --images-dir / --media-dir, or use --on-error skip to drop such samples",
    "media-not-file": "point the path at a file",
}


def run_passes(dataset: Dataset, options: PassOptions, findings: Findings, stats: PassStats) -> Dataset:
    """The dataset with every pass applied lazily; samples with error findings are left out."""
    resolver = MediaResolver(options)
    name = dataset.name or None

    def stream() -> Iterator[Sample]:
        for sample in dataset.samples:
            stats.seen += 1
            sample, problems = resolve_sample_media(sample, resolver, name)
            problems.extend(check_conversation(sample, dataset.ranking, name))
            sample, more = reconcile_placeholders(sample, options, name)
            if more:
                problems.extend(more)
            if problems:
                findings.extend(problems)
                if any(p.severity is Severity.ERROR for p in problems):
                    stats.rejected += 1
                    continue
            stats.passed += 1
            yield sample

    return replace(dataset, samples=stream())
