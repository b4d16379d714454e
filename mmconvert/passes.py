"""The passes every conversion runs over the sample stream, in order:

1. resolve media paths (LF's rule, escape checks) - :mod:`mmconvert.paths`
2. check media files at the chosen tier - :mod:`mmconvert.media`
3. reconcile placeholder tags and run LF's exact count check - :mod:`mmconvert.placeholders`

and LF's sharegpt role-order rules on every sample - :mod:`mmconvert.roles`.

Each pass is a function of one sample; :func:`run_passes` chains them lazily over a dataset and routes
findings to the collector.  A sample with an error finding is not passed on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import msgspec

from mmconvert.findings import Finding, Findings, Severity
from mmconvert.media import (
    NOTE_SEVERITY,
    Batch,
    FileState,
    MediaCheck,
    MediaChecker,
    Reason,
    tier_at_least,
    write_quarantine,
)
from mmconvert.model import MEDIA_KINDS, Dataset, Media, MediaKind, Role, Sample, Turn
from mmconvert.options import CheckTier, PassOptions
from mmconvert.paths import forget_folder_cache, path_problem, resolve_media_path
from mmconvert.placeholders import reconcile_placeholders
from mmconvert.progress import ProgressCounter
from mmconvert.roles import check_conversation
from mmconvert.tokens import check_sample_budget

log = logging.getLogger("mmconvert.passes")

_COLUMN = {"image": "images", "video": "videos", "audio": "audios"}
_IMAGE = MediaKind.IMAGE  # an enum member lookup costs ~0.1-0.5 us on Python 3.11
_FILE = FileState.FILE
_UNKNOWN = object()


@dataclass
class PassStats:
    """What the passes saw: samples in, samples passed on, samples held back for errors."""

    seen: int = 0
    passed: int = 0
    rejected: int = 0


class MediaOutcome(msgspec.Struct, frozen=True, gc=False):
    """One media item after resolution and checks: the resolved item, its issues, its pixel size."""

    media: Media
    issues: tuple[tuple[str, Severity, str], ...] = ()  # (finding code, severity, message)
    size: tuple[int, int] | None = None  # (width, height) claimed by the source or read from the header
    notes: tuple[tuple[str, Severity, str], ...] = ()  # per-file warnings, reported on first use only


class MediaResolver:
    """Resolves and checks media, once per distinct (folder, path) and once per file, for the whole run.

    Tier ``exists`` is answered inline from folder listings.  For ``header``/``decode`` (and for image
    sizes the token budget needs) :meth:`stream` reads ahead in windows of up to :data:`WINDOW_SAMPLES`
    samples, submits each window's new files to :class:`~mmconvert.media.MediaChecker`'s process pool,
    and yields the previous window once its checks are in: the per-sample lookup in :meth:`resolve` stays
    a dict hit, workers check while the importer reads on, and memory is bounded by two windows.
    """

    def __init__(self, options: PassOptions) -> None:
        self._options = options
        forget_folder_cache()
        self._budget = options.budget
        self._checker = MediaChecker(options.check, options.jobs)
        self._is_link = self._checker.exists.index.is_link
        self._deep = tier_at_least(options.check, CheckTier.HEADER)
        self._cache: dict[tuple[str | None, str], MediaOutcome] = {}
        self._paths: dict[tuple[str | None, str], tuple[Media, Finding | None]] = {}
        self._folders: dict[str, Any] = {}  # base folder -> _folder_facts(base)
        self._inflight: set[str] = set()  # submitted to the checker, not collected yet
        self._noted: set[str] = set()
        self._bad: dict[str, tuple[str, str]] = {}
        log.info(
            "media checks: tier %s%s; token budget: %s",
            options.check.value,
            f", {self._checker.jobs} process(es)" if self._deep else "",
            options.budget.describe() if options.budget else "not checked (no --template)",
        )

    def _needs_header(self, media: Media) -> bool:
        if self._deep:
            return True
        return (
            self._budget is not None
            and media.kind is MediaKind.IMAGE
            and (media.width is None or media.height is None)
        )

    def _resolve_path(self, media: Media, sample: Sample) -> tuple[Media, Finding | None]:
        key = (media.base, media.path)
        hit = self._paths.get(key)
        if hit is None:
            hit = resolve_media_path(media, sample.source, self._options.allow_outside_paths, self._is_link)
            self._paths[key] = hit
        return hit

    def resolve(self, media: Media, sample: Sample) -> MediaOutcome:
        """The outcome for one media item (checked synchronously if :meth:`stream` did not prefetch it)."""
        key = (media.base, media.path)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        plain = self._plain_name(media)
        if plain is not None:
            self._cache[key] = plain
            return plain
        known = self._paths.pop(key, None)  # resolved ahead by _want (header checks), else now
        resolved, finding = known or resolve_media_path(
            media, sample.source, self._options.allow_outside_paths, self._is_link
        )
        claimed = (media.width, media.height) if media.width and media.height else None
        path = resolved.resolved
        outcome: MediaOutcome
        if finding is not None:
            outcome = MediaOutcome(resolved, ((finding.code, Severity.ERROR, finding.message),))
            self._bad.setdefault(path or media.path, (finding.code, finding.message))
        elif path is None or (self._options.check is CheckTier.NONE and not self._needs_header(media)):
            outcome = MediaOutcome(resolved, size=claimed)
        else:
            outcome = self._outcome(resolved, media, path, claimed)
        self._cache[key] = outcome  # (and no _paths entry: the outcome holds the resolved item)
        return outcome

    def _plain_name(self, media: Media) -> MediaOutcome | None:
        """The outcome for a bare file name (no folder part) found as a regular file, not a symlink, in
        its folder's listing: what :func:`resolve_media_path` and the ``exists`` check give for it,
        read straight from the listing (a COCO images folder holds 100k such names).  ``None`` for
        anything else, which the general code resolves and reports."""
        base, name = media.base, media.path
        if self._deep or self._budget is not None or base is None:
            return None
        facts = self._folders.get(base, _UNKNOWN)
        if facts is _UNKNOWN:
            facts = self._folders[base] = self._folder_facts(base)
        if (
            facts is None
            or "/" in name
            or name in (".", "..")
            or path_problem(name) is not None
            or name in facts[1]
        ):
            return None
        unchecked = self._options.check is CheckTier.NONE
        if not unchecked and facts[0].get(name) is not _FILE:
            return None
        claimed = (media.width, media.height) if media.width and media.height else None
        # as resolve() and _outcome(): tier none keeps the claimed size for any kind, exists for images
        size = claimed if unchecked or media.kind is _IMAGE else None
        return MediaOutcome(msgspec.structs.replace(media, resolved=base + "/" + name), size=size)

    def _folder_facts(self, base: str) -> tuple[dict[str, FileState], set[str] | frozenset[str]] | None:
        """(listing, symlinked names) of a normalised absolute folder that can be listed, else ``None``."""
        if (
            os.sep != "/"
            or os.altsep
            or base == "/"
            or not base.startswith("/")
            or base != os.path.normpath(base)
        ):
            return None
        index = self._checker.exists.index
        listing = index.listing(base)
        if listing is None:
            return None
        return listing, index.links(base)

    def _outcome(
        self, resolved: Media, media: Media, path: str, claimed: tuple[int, int] | None
    ) -> MediaOutcome:
        if self._needs_header(media):
            check = self._checker.cache.checks.pop(path, None)
            if check is None:
                tier = self._options.check if self._deep else CheckTier.HEADER
                batch = self._checker.submit({path: (media.kind.value, None)}, tier)
                check = self._checker.collect(batch)[path]
        elif self._checker.exists.index.state(path) is _FILE:
            # A plain existing file (tier exists, no header wanted): what check() would say, unbuilt.
            return MediaOutcome(resolved, size=claimed if media.kind is _IMAGE else None)
        else:
            check = self._checker.exists.check(path)
        if check.problem is None and not check.notes and check.width is None:
            # A plain existing file (tier exists): no message to build, size as the source claims.
            return MediaOutcome(resolved, size=claimed if media.kind is _IMAGE else None)
        where = f" ({media.origin})" if media.origin else ""
        subject = f"{media.kind} file {path}"
        if check.problem is not None:
            code = _problem_code(check)
            message = f"{subject} {check.message}{where}"
            self._bad.setdefault(path, (code, message))
            return MediaOutcome(resolved, ((code, Severity.ERROR, message),), claimed)
        notes = [
            (reason.code, NOTE_SEVERITY[reason], f"{subject} {text}{where}") for reason, text in check.notes
        ]
        read = (check.width, check.height) if check.width and check.height else None
        if claimed and read and claimed != read and check.format not in ("video", None):
            notes.append(
                (
                    Reason.SIZE_MISMATCH.code,
                    Severity.WARNING,
                    f"{subject} is {read[0]}x{read[1]} but the source says {claimed[0]}x{claimed[1]}{where}",
                )
            )
        size = claimed or read if media.kind is MediaKind.IMAGE else None
        return MediaOutcome(resolved, size=size, notes=tuple(notes))

    def first_notes(self, outcome: MediaOutcome) -> tuple[tuple[str, Severity, str], ...]:
        """The per-file notes of ``outcome`` the first time its file is seen (run-wide ones once)."""
        if not outcome.notes:
            return ()
        out = []
        for code, severity, message in outcome.notes:
            key = code if code == Reason.CHECK_SKIPPED.code else f"{code}\0{outcome.media.resolved}"
            if key not in self._noted:
                self._noted.add(key)
                out.append((code, severity, message))
        return tuple(out)

    def stream(self, samples: Iterable[Sample]) -> Iterator[Sample]:
        """``samples`` unchanged, with their files checked ahead in batches; finishes the run at the end."""
        progress = ProgressCounter("reading samples", unit="samples")
        try:
            if not (self._deep or self._budget is not None):
                count = 0
                for sample in samples:
                    count += 1
                    if count == _PROGRESS_EVERY:
                        progress.advance(count)
                        count = 0
                    yield sample
                progress.advance(count)
            else:
                yield from self._prefetched(samples, progress)
            self.finish()
        finally:
            progress.finish()
            self._checker.close()

    def _prefetched(self, samples: Iterable[Sample], progress: ProgressCounter) -> Iterator[Sample]:
        window: list[Sample] = []
        wanted: dict[str, tuple[str, str | None]] = {}
        pending: tuple[list[Sample], Batch] | None = None
        for sample in samples:
            progress.advance()
            window.append(sample)
            self._want(sample, wanted)
            if len(wanted) >= WINDOW_FILES or len(window) >= WINDOW_SAMPLES:
                batch = self._submit(wanted)
                if pending is not None:
                    self._collect(pending[1])
                    yield from pending[0]
                pending = (window, batch)
                window, wanted = [], {}
        last = self._submit(wanted)
        if pending is not None:
            self._collect(pending[1])
            yield from pending[0]
        self._collect(last)
        yield from window

    def _collect(self, batch: Batch) -> None:
        self._inflight.difference_update(self._checker.collect(batch))

    def _submit(self, wanted: dict[str, tuple[str, str | None]]) -> Batch:
        tier = self._options.check if self._deep else CheckTier.HEADER
        return self._checker.submit(wanted, tier)

    def _want(self, sample: Sample, wanted: dict[str, tuple[str, str | None]]) -> None:
        for kind in MEDIA_KINDS:
            for media in sample.media(kind):
                if (media.base, media.path) in self._cache or not self._needs_header(media):
                    continue
                resolved, finding = self._resolve_path(media, sample)
                path = resolved.resolved
                if (
                    finding is None
                    and path is not None
                    and path not in self._inflight
                    and path not in self._checker.cache.checks
                ):
                    self._inflight.add(path)
                    wanted[path] = (kind.value, None)

    @property
    def bad_media(self) -> dict[str, tuple[str, str]]:
        """``{path: (code, message)}`` of every file (or path) found bad so far."""
        return self._bad

    def finish(self) -> None:
        """End of the run: log the counts, write the quarantine list if asked."""
        checker = self._checker
        log.info(
            "media: %d file(s) checked at tier %s, %d bad; %d distinct path(s)",
            checker.checked,
            self._options.check.value,
            checker.bad,
            len(self._cache),
        )
        if self._options.quarantine:
            count = write_quarantine(
                self._options.quarantine,
                ((path, code, msg) for path, (code, msg) in sorted(self._bad.items())),
            )
            log.info("wrote %d bad media file(s) to %s", count, self._options.quarantine)


#: Samples counted between progress updates on the plain (no prefetch) stream.
_PROGRESS_EVERY = 256

#: Samples read ahead per window, and new files per window, in :meth:`MediaResolver.stream`.
WINDOW_SAMPLES = 8192
WINDOW_FILES = 4096


def _problem_code(check: MediaCheck) -> str:
    """The finding code of a bad file: the exists-tier codes, else ``media-<reason>``."""
    if check.problem is Reason.MISSING:
        return "media-missing"
    if check.problem is Reason.NOT_FILE:
        return "media-not-file"
    assert check.problem is not None
    return check.problem.code


def resolve_sample_media(
    sample: Sample, resolver: MediaResolver, dataset: str | None
) -> tuple[Sample, list[Finding]]:
    images = sample.images
    if len(images) == 1 and not sample.videos and not sample.audios and resolver._budget is None:
        # The common case (one image, e.g. COCO) when its file is fine: one cached lookup, no findings.
        media = images[0]
        outcome = resolver._cache.get((media.base, media.path)) or resolver.resolve(media, sample)
        if not outcome.issues and not outcome.notes:
            return msgspec.structs.replace(sample, images=(outcome.media,)), []
    findings: list[Finding] = []
    changes: dict[str, tuple[Media, ...]] = {}
    sizes: list[tuple[int, int]] = []
    sized = True
    for kind in MEDIA_KINDS:
        items = sample.media(kind)
        if not items:
            continue
        out = []
        for i, media in enumerate(items):
            outcome = resolver.resolve(media, sample)
            out.append(outcome.media)
            if kind is MediaKind.IMAGE:
                if outcome.size is None:
                    sized = False
                else:
                    sizes.append(outcome.size)
            issues = outcome.issues + resolver.first_notes(outcome)
            for code, severity, message in issues:
                findings.append(
                    Finding.at(
                        sample.source,
                        code,
                        severity,
                        message,
                        hint=_MEDIA_HINTS.get(code),
                        subpath="" if media.origin else f".{_COLUMN[kind]}[{i}]",
                        dataset=dataset,
                    )
                )
        changes[_COLUMN[kind]] = tuple(out)
    if changes:
        sample = msgspec.structs.replace(sample, **changes)
    options = resolver._options
    if options.budget is not None and sized and sizes:
        findings.extend(check_sample_budget(sample, sizes, options.budget, dataset, options.tokens.image))
    return sample, findings


_MEDIA_HINTS = {
    "media-missing": "check --images-dir / --media-dir, or use --on-error skip to drop such samples",
    "media-not-file": "point the path at a file",
    "media-unreadable": "fix the file's permissions, or use --on-error skip to drop such samples",
    "media-empty": "re-download or drop the file (--on-error skip drops the samples using it)",
    "media-unidentified": "re-download or drop the file (--on-error skip drops the samples using it)",
    "media-truncated": "re-download or drop the file (--on-error skip drops the samples using it)",
    "media-corrupt": "re-download or drop the file (--on-error skip drops the samples using it)",
    "media-decompression-bomb": "downscale the image; LLaMA-Factory cannot open it",
    "media-no-stream": "re-encode or drop the file",
    "media-size-mismatch": "fix the width/height in the annotations (boxes depend on them)",
    "media-wrong-extension": "rename the file to match its format",
    "media-high-bit-depth": "convert the image to 8 bits per channel",
}


class PairShortcut:
    """The passes' result for a plain prompt/answer sample with one image, without running them again.

    Most samples of a COCO-like dataset share one prompt :class:`~mmconvert.model.Turn` *object*, have
    one image and an assistant answer free of tags.  For such a sample every pass depends only on the
    prompt turn (roles, tag insertion, LF's count check: the answer holds no tag) and on the image's
    outcome.  So once the general passes have passed one such sample without any finding,
    :meth:`apply` gives the same result for the next sample with the same prompt object: the
    remembered new prompt turn and the image's resolved item.  An image the shortcut has not seen is
    resolved by :meth:`MediaResolver.resolve`, as the media pass does; anything unusual (an image
    with an issue or a note, a ``<`` in the answer, other fields set, a token budget, tags without a
    ``<``) returns ``None`` and the sample takes the general passes.  ``tests/test_fast_paths.py``
    checks that both give the same samples and findings.
    """

    def __init__(self, options: PassOptions, resolver: MediaResolver) -> None:
        tokens = options.tokens
        #: The check "no ``<`` in the answer" proves "no tag in the answer" only if every tag has one.
        tags = (tokens.image, tokens.video, tokens.audio)
        self.enabled = options.budget is None and all("<" in t for t in tags)
        self._resolver = resolver
        self._prompt: Turn | None = None  # the prompt turn object the memo holds
        self._new_prompt: Turn | None = None  # what the passes made of it
        self._images: dict[int, tuple[Media, tuple[Media]]] = {}  # id(item) -> (item, (resolved,))

    def apply(self, sample: Sample) -> Sample | None:
        """The passes' result for ``sample`` if the shortcut knows it, else ``None``."""
        turns = sample.turns
        if len(turns) != 2 or turns[0] is not self._prompt:
            return None
        images = sample.images
        answer = turns[1]
        content = answer.content
        if (
            len(images) != 1
            or answer.role is not _ASSISTANT
            or "<" in content
            or not content
            or content.isspace()
            or not sample.is_bare
        ):
            return None
        item = images[0]
        hit = self._images.get(id(item))
        if hit is None or hit[0] is not item:
            outcome = self._resolver.resolve(item, sample)
            if outcome.issues or outcome.notes:
                return None
            hit = (item, (outcome.media,))
            self._images[id(item)] = hit  # holds the item, so its id is not reused
        return msgspec.structs.replace(sample, turns=(self._new_prompt, answer), images=hit[1])

    def learn(self, before: Sample, after: Sample) -> None:
        """Remember the prompt of ``before``, which the general passes turned into ``after`` without
        any finding, if it is a sample :meth:`apply` could answer."""
        turns = before.turns
        if (
            len(turns) == 2
            and turns[0].role is _USER
            and turns[1].role is _ASSISTANT
            and len(before.images) == 1
            and "<" not in turns[1].content
            and before.is_bare
        ):
            self._prompt = turns[0]
            self._new_prompt = after.turns[0]


_USER = Role.USER
_ASSISTANT = Role.ASSISTANT


def run_passes(
    dataset: Dataset,
    options: PassOptions,
    findings: Findings,
    stats: PassStats,
    examples: Callable[[Sample, list[Finding]], None] | None = None,
) -> Dataset:
    """The dataset with every pass applied lazily; samples with error findings are left out.

    ``examples``, if given, is called with each sample that has findings and those findings (the HTML
    report keeps the first few of each code as examples)."""
    resolver = MediaResolver(options)
    name = dataset.name or None
    shortcut = PairShortcut(options, resolver)
    quick = shortcut.apply if shortcut.enabled and not dataset.ranking else None

    def stream() -> Iterator[Sample]:
        seen = passed = 0
        try:
            for sample in resolver.stream(dataset.samples):
                seen += 1
                if quick is not None:
                    done = quick(sample)
                    if done is not None:
                        passed += 1
                        yield done
                        continue
                before = sample
                sample, problems = resolve_sample_media(sample, resolver, name)
                problems.extend(check_conversation(sample, dataset.ranking, name))
                sample, more = reconcile_placeholders(sample, options, name)
                if more:
                    problems.extend(more)
                if problems:
                    findings.extend(problems)
                    if examples is not None:
                        examples(sample, problems)
                    if any(p.severity is Severity.ERROR for p in problems):
                        stats.rejected += 1
                        continue
                elif quick is not None:
                    shortcut.learn(before, sample)
                passed += 1
                yield sample
        finally:
            stats.seen += seen
            stats.passed += passed

    return replace(dataset, samples=stream())
