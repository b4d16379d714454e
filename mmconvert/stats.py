"""Dataset statistics from a stream of common-model samples: what to look at before a long training run.

:class:`StatsCollector` observes :class:`~mmconvert.model.Sample` objects as they flow (through the
conversion passes, or from an LF folder read by the ``llamafactory`` importer) without holding them:
per dataset (and split) it keeps counters and exact histograms of small integers, one hash per sample for
duplicates, one entry per media file (how many samples use it), and the first few samples as examples
for the HTML report.  Each media file is looked at once per run (its size from the source, else from
its header).  :meth:`StatsCollector.to_dict` is the JSON document ``schemas/stats.schema.json``
describes.  Text-token counts are estimates (no tokenizer): ~4 ASCII characters or 1 other character per
token, plus 5 per message; visual tokens are LLaMA-Factory's exact numbers for the ``--template``.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from mmconvert.errors import UsageError
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.model import Dataset, Role, Sample
from mmconvert.options import PlaceholderTokens
from mmconvert.stats_lf import LF_CUTOFF_LEN, TURN_OVERHEAD, WRAPPER_TOKENS, TokenBudget, estimate_text_tokens

STATS_VERSION = 1
#: Samples kept per dataset, and per finding code, as examples for the HTML report.
EXAMPLES = 8
#: Distinct (width, height) pairs kept per dataset for the size scatter plot.
MAX_SIZE_POINTS = 2000
#: Distinct box labels counted per dataset (the rest are counted as ``(other labels)``).
MAX_LABELS = 500
#: Duplicate pairs and most-shared files listed per dataset.
MAX_LISTED = 5
#: Histogram bins: one per value up to this many distinct values, else this many equal-width bins.
MAX_BINS = 40
OTHER_LABELS = "(other labels)"
TEXT_TOKENS_NOTE = "estimated: ~4 ASCII characters or 1 other character per token, +5 per message"

_PROMPT_ROLES = frozenset({Role.USER, Role.OBSERVATION, Role.SYSTEM})


class Distribution:
    """An exact histogram of non-negative integers (a Counter), with nearest-rank percentiles."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()

    def add(self, value: int, times: int = 1) -> None:
        self.counts[value] += times

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    def percentile(self, p: float) -> int | None:
        """The smallest value that at least ``p`` percent of the observations do not exceed."""
        total = self.count
        if not total:
            return None
        rank = max(1, math.ceil(p / 100 * total))
        seen = 0
        for value in sorted(self.counts):
            seen += self.counts[value]
            if seen >= rank:
                return value
        return max(self.counts)  # pragma: no cover - the loop always reaches rank

    def above(self, limit: int) -> int:
        """How many observations exceed ``limit``."""
        return sum(c for v, c in self.counts.items() if v > limit)

    def histogram(self) -> list[list[int]]:
        """``[[low, high, count], ...]`` (inclusive bounds): one bin per value when the range is small,
        else :data:`MAX_BINS` bins of equal width."""
        if not self.counts:
            return []
        low, high = min(self.counts), max(self.counts)
        width = max(1, math.ceil((high - low + 1) / MAX_BINS))
        bins = [[low + i * width, low + (i + 1) * width - 1, 0] for i in range((high - low) // width + 1)]
        for value, count in self.counts.items():
            bins[(value - low) // width][2] += count
        return bins

    def summary(self) -> dict[str, Any]:
        total = self.count
        mean = round(sum(v * c for v, c in self.counts.items()) / total, 2) if total else None
        return {
            "count": total,
            "min": min(self.counts) if total else None,
            "p50": self.percentile(50),
            "p95": self.percentile(95),
            "p99": self.percentile(99),
            "max": max(self.counts) if total else None,
            "mean": mean,
            "histogram": self.histogram(),
        }


@dataclass(frozen=True)
class MediaInfo:
    """One media file as the statistics see it: whether it is there, and an image's pixel size."""

    state: str  # ok | missing | unreadable
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> tuple[int, int] | None:
        return (self.width, self.height) if self.width and self.height else None


def media_path(media: Any) -> str:
    """The path a media item is opened from: the passes' resolved path, else LF's rule (the path joined
    with the folder it was found in, or as written, relative to the working directory)."""
    if media.resolved:
        return str(media.resolved)
    if media.base:
        return os.path.join(media.base, media.path)
    return str(media.path)


def parse_boxes(text: str) -> list[tuple[str, list[float]]] | None:
    """``[(label, [four numbers]), ...]`` from an answer holding a JSON list of ``{"bbox_2d": [...],
    "label": ...}`` objects (optionally in a code fence), as detection and grounding chats answer; ``None``
    when the text is not such a list."""
    if "bbox_2d" not in text:
        return None
    body = text.strip()
    if body.startswith("```"):
        body = body.split("\n", 1)[1] if "\n" in body else ""
        body = body.rsplit("```", 1)[0]
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return None
    boxes = []
    for item in value:
        if not isinstance(item, dict):
            return None
        box = item.get("bbox_2d")
        if (
            not isinstance(box, list)
            or len(box) != 4
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)
        ):
            return None
        boxes.append((str(item.get("label", "")), [float(v) for v in box]))
    return boxes


def sample_key(sample: Sample, paths: list[str]) -> int:
    """A hash of what makes two samples the same: their media files and every text."""
    return hash(
        (
            tuple(paths),
            tuple((t.role, t.content) for t in sample.turns),
            sample.system,
            sample.tools,
            sample.chosen.content if sample.chosen else None,
            sample.rejected.content if sample.rejected else None,
            sample.kto_label,
        )
    )


#: The :class:`Distribution` fields of :class:`GroupStats`.
_DISTRIBUTIONS = (
    "turns",
    "images",
    "videos",
    "audios",
    "visual_per_image",
    "visual_per_sample",
    "total_tokens",
    "prompt_chars",
    "answer_chars",
    "prompt_tokens",
    "answer_tokens",
)


@dataclass
class GroupStats:
    """The statistics of one dataset (or one split of it)."""

    name: str
    samples: int = 0
    turns: Distribution = field(default_factory=Distribution)
    images: Distribution = field(default_factory=Distribution)
    videos: Distribution = field(default_factory=Distribution)
    audios: Distribution = field(default_factory=Distribution)
    image_files: set[str] = field(default_factory=set)
    visual_per_image: Distribution = field(default_factory=Distribution)
    visual_per_sample: Distribution = field(default_factory=Distribution)
    total_tokens: Distribution = field(default_factory=Distribution)
    tokens_unknown: int = 0
    prompt_chars: Distribution = field(default_factory=Distribution)
    answer_chars: Distribution = field(default_factory=Distribution)
    prompt_tokens: Distribution = field(default_factory=Distribution)
    answer_tokens: Distribution = field(default_factory=Distribution)
    box_samples: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    boxes_by_image: dict[str, int] = field(default_factory=dict)
    hashes: dict[int, int] = field(default_factory=dict)
    duplicates: int = 0
    duplicate_examples: list[tuple[int, int]] = field(default_factory=list)  # (index, first index)
    media_uses: dict[str, int] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    missing_samples: int = 0
    examples: list[Sample] = field(default_factory=list)

    def sizes(self, media: dict[str, MediaInfo]) -> tuple[Counter[tuple[int, int]], int]:
        """``(files per (width, height), files of unknown size)`` of the group's distinct images."""
        sizes: Counter[tuple[int, int]] = Counter()
        unknown = 0
        for path in self.image_files:
            size = media[path].size
            if size is None:
                unknown += 1
            else:
                sizes[size] += 1
        return sizes, unknown

    def merge(self, other: GroupStats, examples: int) -> None:
        """Add the counts of ``other``, the same dataset's next slice of samples (see
        :meth:`StatsCollector.merge`): the result is what observing both slices in order gives.
        ``examples``: how many example samples to keep."""
        self.samples += other.samples
        for name in _DISTRIBUTIONS:
            getattr(self, name).counts.update(getattr(other, name).counts)
        self.image_files |= other.image_files
        self.tokens_unknown += other.tokens_unknown
        self.box_samples += other.box_samples
        for label, n in other.labels.items():
            if label not in self.labels and len(self.labels) >= MAX_LABELS:
                label = OTHER_LABELS
            self.labels[label] += n
        for image, n in other.boxes_by_image.items():
            self.boxes_by_image[image] = self.boxes_by_image.get(image, 0) + n
        # a sample of ``other`` repeating one of ``self`` is a duplicate that neither slice saw
        crossing = []
        for key, index in other.hashes.items():
            first = self.hashes.get(key)
            if first is None:
                self.hashes[key] = index
            else:
                self.duplicates += 1
                crossing.append((index, first))
        self.duplicates += other.duplicates
        # each list holds its earliest duplicates, so the earliest of all are among them
        merged = sorted([*self.duplicate_examples, *other.duplicate_examples, *crossing])
        self.duplicate_examples = merged[:MAX_LISTED]
        for path, n in other.media_uses.items():
            self.media_uses[path] = self.media_uses.get(path, 0) + n
        self.missing |= other.missing
        self.missing_samples += other.missing_samples
        self.examples.extend(other.examples[: max(0, examples - len(self.examples))])

    def to_dict(
        self, budget: TokenBudget | None, cutoff_len: int, media: dict[str, MediaInfo]
    ) -> dict[str, Any]:
        boxes_per_image = Distribution()
        for count in self.boxes_by_image.values():
            boxes_per_image.add(count)
        sizes, unknown = self.sizes(media)
        widths, heights = Distribution(), Distribution()
        for (w, h), n in sizes.items():
            widths.add(w, n)
            heights.add(h, n)
        points = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:MAX_SIZE_POINTS]
        shared = [(path, n) for path, n in self.media_uses.items() if n > 1]
        shared.sort(key=lambda item: (-item[1], item[0]))
        folders: Counter[str] = Counter(os.path.dirname(path) or "." for path in self.missing)
        return {
            "name": self.name,
            "samples": self.samples,
            "turns": self.turns.summary(),
            "media_per_sample": {
                "image": self.images.summary(),
                "video": self.videos.summary(),
                "audio": self.audios.summary(),
            },
            "image_sizes": {
                "files": widths.count,
                "unknown": unknown,
                "width": widths.summary(),
                "height": heights.summary(),
                "points": [[w, h, n] for (w, h), n in sorted(points)],
            },
            "tokens": {
                "template": budget.template if budget else None,
                "cutoff_len": cutoff_len,
                "text_estimated": True,
                "visual_per_image": self.visual_per_image.summary() if budget else None,
                "visual_per_sample": self.visual_per_sample.summary() if budget else None,
                "total_per_sample": self.total_tokens.summary(),
                "over_cutoff": self.total_tokens.above(cutoff_len),
                "unknown": self.tokens_unknown,
            },
            "text": {
                "prompt_chars": self.prompt_chars.summary(),
                "answer_chars": self.answer_chars.summary(),
                "prompt_tokens_estimated": self.prompt_tokens.summary(),
                "answer_tokens_estimated": self.answer_tokens.summary(),
            },
            "boxes": (
                {
                    "samples": self.box_samples,
                    "boxes": sum(self.labels.values()),
                    "classes": [
                        {"label": label, "boxes": n}
                        for label, n in sorted(self.labels.items(), key=lambda item: (-item[1], item[0]))
                    ],
                    "per_image": boxes_per_image.summary(),
                }
                if self.box_samples
                else None
            ),
            "duplicates": {
                "samples": self.duplicates,
                "examples": [
                    {"index": index, "first_index": first} for index, first in self.duplicate_examples
                ],
            },
            "shared_media": {
                "files": len(self.media_uses),
                "shared": len(shared),
                "max_samples": shared[0][1] if shared else (1 if self.media_uses else 0),
                "top": [{"path": path, "samples": n} for path, n in shared[:MAX_LISTED]],
            },
            "missing": {
                "files": len(self.missing),
                "samples": self.missing_samples,
                "folders": [
                    {"folder": folder, "files": n}
                    for folder, n in sorted(folders.items(), key=lambda item: (-item[1], item[0]))
                ],
            },
        }


class StatsCollector:
    """Observes samples, grouped by dataset name, and keeps what the statistics and examples need.

    ``budget`` (from ``--template``) makes visual tokens exact; without it the total tokens are the
    text estimate alone.  ``examples`` samples are kept per dataset and per finding code.
    """

    def __init__(
        self,
        budget: TokenBudget | None = None,
        cutoff_len: int | None = None,
        tokens: PlaceholderTokens | None = None,
        examples: int = EXAMPLES,
    ) -> None:
        self.budget = budget
        self.cutoff_len = budget.effective_cutoff if budget else (cutoff_len or LF_CUTOFF_LEN)
        self.tokens = tokens or PlaceholderTokens()
        self.examples = examples
        self.groups: dict[str, GroupStats] = {}
        self.media: dict[str, MediaInfo] = {}
        #: finding code -> [(finding, sample)], the first ``examples`` findings that name a sample.
        self.finding_examples: dict[str, list[tuple[Finding, Sample]]] = {}
        self._wanted: dict[tuple[str | None, str | None, int | None], list[Finding]] = {}
        #: Datasets that could not be read, with why: ``[(name, reason)]``.
        self.unread: list[tuple[str, str]] = []
        #: Registry entries left out because LF loads them from a hub, a script or the cloud.
        self.remote = 0
        self._last_prompt: str | None = None
        self._last_prompt_tokens = 0

    # -- feeding -------------------------------------------------------------------------------------
    def group(self, name: str) -> GroupStats:
        stats = self.groups.get(name)
        if stats is None:
            stats = self.groups[name] = GroupStats(name)
        return stats

    def observe(self, sample: Sample, group: str) -> None:
        """Count one sample of dataset ``group``."""
        stats = self.group(group)
        stats.samples += 1
        if len(stats.examples) < self.examples:
            stats.examples.append(sample)
        if self._wanted:
            self._match_wanted(sample, group)
        stats.turns.counts[len(sample.turns) + (1 if sample.is_preference else 0)] += 1
        stats.images.counts[len(sample.images)] += 1
        stats.videos.counts[len(sample.videos)] += 1
        stats.audios.counts[len(sample.audios)] += 1
        paths, visual = self._count_media(sample, stats)
        self._count_text_and_tokens(sample, stats, visual)
        self._count_boxes(sample, stats, paths)
        key = sample_key(sample, paths)
        first = stats.hashes.get(key)
        if first is None:
            stats.hashes[key] = sample.source.index
        else:
            stats.duplicates += 1
            if len(stats.duplicate_examples) < MAX_LISTED:
                stats.duplicate_examples.append((sample.source.index, first))

    def stream(self, samples: Iterable[Sample], group: str) -> Iterator[Sample]:
        """``samples`` unchanged, each one observed as it passes."""
        observe = self.observe
        for sample in samples:
            observe(sample, group)
            yield sample

    def note_findings(self, sample: Sample, problems: Iterable[Finding], group: str | None = None) -> None:
        """Keep ``sample`` as an example of its findings' codes (the first few of each code).  With
        ``group``, a sample held back for an error still counts in that group's missing files."""
        rejected = False
        for finding in problems:
            rejected = rejected or finding.severity is Severity.ERROR
            kept = self.finding_examples.setdefault(finding.code, [])
            if len(kept) < self.examples and not (kept and kept[-1][1] is sample):
                kept.append((finding, sample))
        if rejected and group is not None:
            stats = self.group(group)
            missing = False
            for items in (sample.images, sample.videos, sample.audios):
                for media in items:
                    if self.media_info(media).state == "missing":
                        stats.missing.add(media_path(media))
                        missing = True
            stats.missing_samples += missing

    def want_examples(self, findings: Findings) -> None:
        """Keep, as they stream by later, the samples the first few findings of each code name (for
        findings made elsewhere, e.g. by ``validate``)."""
        per_code: Counter[str] = Counter()
        for finding in findings:
            if finding.index is None or per_code[finding.code] >= self.examples:
                continue
            per_code[finding.code] += 1
            self._wanted.setdefault((finding.dataset, finding.file, finding.index), []).append(finding)

    def _match_wanted(self, sample: Sample, group: str) -> None:
        source = sample.source
        found = self._wanted.pop((group, source.file, source.index), None)
        if found:
            self.note_findings(sample, found)

    # -- media ---------------------------------------------------------------------------------------
    def media_info(self, media: Any) -> MediaInfo:
        """What is known about one media item's file (looked at once per path per run)."""
        path = media_path(media)
        info = self.media.get(path)
        if info is None:
            info = self.media[path] = _look_at(path, media)
        return info

    def _count_media(self, sample: Sample, stats: GroupStats) -> tuple[list[str], int | None]:
        """Count the sample's media; ``(paths, visual tokens)`` (``None``: an image size is unknown)."""
        paths: list[str] = []
        seen_here: set[str] = set()
        missing = False
        budget = self.budget
        known = self.media
        visual = 0
        sized = True
        for items in (sample.images, sample.videos, sample.audios):
            for media in items:
                path = media_path(media)
                paths.append(path)
                info = known.get(path)
                if info is None:
                    info = known[path] = _look_at(path, media)
                if info.state == "missing":
                    missing = True
                    stats.missing.add(path)
                if path not in seen_here:
                    seen_here.add(path)
                    uses = stats.media_uses.get(path, 0)
                    stats.media_uses[path] = uses + 1
                    if uses == 0 and items is sample.images:
                        stats.image_files.add(path)
                if items is sample.images and budget is not None:
                    size = info.size
                    if size is None:
                        sized = False
                    else:
                        n = budget.image_tokens(*size)
                        stats.visual_per_image.add(n)
                        visual += n + WRAPPER_TOKENS
        if missing:
            stats.missing_samples += 1
        return paths, (visual if sized else None)

    # -- text ----------------------------------------------------------------------------------------
    def _estimate_prompt(self, text: str) -> int:
        """:func:`estimate_text_tokens` of a prompt text, remembered for the last prompt object
        (COCO-like data has one prompt object in every sample)."""
        if text is self._last_prompt:
            return self._last_prompt_tokens
        tokens = estimate_text_tokens(text)
        self._last_prompt, self._last_prompt_tokens = text, tokens
        return tokens

    def _count_text_and_tokens(self, sample: Sample, stats: GroupStats, visual: int | None) -> None:
        """Prompt and answer lengths, and the estimated text tokens of the sample, which are
        :func:`~mmconvert.tokens.sample_text_tokens`: each text's estimate plus the per-message overhead."""
        estimate = estimate_text_tokens
        prompt_chars = answer_chars = prompt_tokens = answer_tokens = 0
        messages = len(sample.turns)
        if sample.system:
            prompt_chars, prompt_tokens, messages = len(sample.system), estimate(sample.system), messages + 1
        for turn in sample.turns:
            content = turn.content
            if turn.role in _PROMPT_ROLES:
                prompt_chars += len(content)
                prompt_tokens += self._estimate_prompt(content)
            else:
                answer_chars += len(content)
                answer_tokens += estimate(content)
        other = 0  # texts that are neither prompt nor answer here, but in the sequence
        if sample.tools:
            other += estimate(sample.tools)
            messages += 1
        if sample.chosen is not None:
            answer_chars += len(sample.chosen.content)
            answer_tokens += estimate(sample.chosen.content)
            messages += 1
        if sample.rejected is not None:
            other += estimate(sample.rejected.content)
            messages += 1
        stats.prompt_chars.counts[prompt_chars] += 1
        stats.answer_chars.counts[answer_chars] += 1
        stats.prompt_tokens.counts[prompt_tokens] += 1
        stats.answer_tokens.counts[answer_tokens] += 1
        text = prompt_tokens + answer_tokens + other + TURN_OVERHEAD * messages
        if self.budget is None:
            stats.total_tokens.counts[text] += 1
        elif visual is None:
            stats.tokens_unknown += 1
        else:
            stats.visual_per_sample.counts[visual] += 1
            stats.total_tokens.counts[text + visual] += 1

    def _count_boxes(self, sample: Sample, stats: GroupStats, paths: list[str]) -> None:
        answers = [t.content for t in sample.turns if t.role is Role.ASSISTANT and "bbox_2d" in t.content]
        if not answers:
            return
        found = False
        image = paths[0] if sample.images else None
        for text in answers:
            boxes = parse_boxes(text)
            if boxes is None:
                continue
            found = True
            for label, _ in boxes:
                if label not in stats.labels and len(stats.labels) >= MAX_LABELS:
                    label = OTHER_LABELS
                stats.labels[label] += 1
            if image is not None:
                stats.boxes_by_image[image] = stats.boxes_by_image.get(image, 0) + len(boxes)
        if found:
            stats.box_samples += 1

    def merge(self, other: StatsCollector) -> None:
        """Add what ``other`` observed after this collector (a worker's slice of the same run): the
        result is what one collector observing both streams in order holds."""
        self.media.update(other.media)
        for name, group in other.groups.items():
            if name in self.groups:
                self.groups[name].merge(group, self.examples)
            else:
                self.groups[name] = group
        for code, items in other.finding_examples.items():
            kept = self.finding_examples.setdefault(code, [])
            kept.extend(items[: max(0, self.examples - len(kept))])

    # -- results -------------------------------------------------------------------------------------
    def to_dict(self, findings: Findings | None = None) -> dict[str, Any]:
        """The JSON document (``schemas/stats.schema.json``)."""
        budget = self.budget
        doc: dict[str, Any] = {
            "stats_version": STATS_VERSION,
            "settings": {
                "template": budget.template if budget else None,
                "cutoff_len": self.cutoff_len,
                "image_max_pixels": budget.image_max_pixels if budget else None,
                "image_min_pixels": budget.image_min_pixels if budget else None,
                "text_tokens": TEXT_TOKENS_NOTE,
            },
            "datasets": [g.to_dict(budget, self.cutoff_len, self.media) for g in self.groups.values()],
            "unread": [{"name": name, "reason": reason} for name, reason in self.unread],
            "remote_entries": self.remote,
        }
        if findings is not None:
            doc["findings"] = findings.summary()
        return doc


def _look_at(path: str, media: Any) -> MediaInfo:
    """Whether ``path`` is a file and, for an image, its size (the source's claim, else its header)."""
    from mmconvert.media import Reason, check_file
    from mmconvert.options import CheckTier

    claimed = (media.width, media.height) if media.width and media.height else None
    if claimed is not None or media.kind != "image":
        if os.path.isfile(path):
            return MediaInfo("ok", *(claimed or (None, None)))
        return MediaInfo("missing" if not os.path.exists(path) else "unreadable", *(claimed or (None, None)))
    check = check_file(path, "image", CheckTier.HEADER)
    if check.problem is Reason.MISSING:
        return MediaInfo("missing")
    if check.problem is not None:
        return MediaInfo("unreadable", check.width, check.height)
    return MediaInfo("ok", check.width, check.height)


def run_observed(
    dataset: Dataset, options: Any, findings: Findings, counts: Any, collector: StatsCollector
) -> Dataset:
    """:func:`~mmconvert.passes.run_passes` watched by ``collector``: the samples with findings are
    offered as examples, the samples that pass are counted under the dataset's name."""
    from mmconvert.passes import run_passes

    group = dataset.name

    def examples(sample: Sample, problems: list[Finding]) -> None:
        collector.note_findings(sample, problems, group)

    passed = run_passes(dataset, options, findings, counts, examples)
    return replace(passed, samples=collector.stream(passed.samples, group))


def token_budget(template: str | None, cutoff_len: int | None = None) -> TokenBudget | None:
    """The visual-token budget of an LF template whose image numbers are known, else ``None`` (then
    the totals are the text estimate alone)."""
    from mmconvert.stats_lf import VISION_TEMPLATES

    if template is None or template not in VISION_TEMPLATES:
        return None
    return TokenBudget.from_template(template, cutoff_len)


#: Entry attributes that make LF load a dataset from a hub, a script or the cloud instead of a local file.
REMOTE_KEYS = ("hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name")


def collect_folder(
    dataset_dir: str,
    names: Sequence[str] | None,
    collector: StatsCollector,
    findings: Findings,
    media_dir: str | None = None,
    stage: str | None = None,
) -> list[str]:
    """Observe the samples of the entries ``names`` of an LF folder (default: every entry with local
    files), read through the ``llamafactory`` importer, so that the statistics see what LF trains on.

    Rows LF drops or rejects are findings in ``findings``; an entry with no sample to show is listed in
    ``collector.unread``.  Returns the names read; an unknown name is a :class:`UsageError`."""
    from mmconvert.stats_lf import read_lf_dataset, read_lf_registry

    _, registry = read_lf_registry(dataset_dir)
    if names:
        wanted = list(dict.fromkeys(names))
        unknown = [n for n in wanted if n not in registry]
        if unknown:
            raise UsageError(
                f"Undefined dataset {unknown[0]} in dataset_info.json.",
                hint="known: " + ", ".join(list(registry)[:30]),
            )
    else:
        wanted = [
            n for n, e in registry.items() if not (isinstance(e, dict) and any(k in e for k in REMOTE_KEYS))
        ]
        collector.remote = len(registry) - len(wanted)
    for name in wanted:
        read = Findings()
        dataset = read_lf_dataset(dataset_dir, name, read, media_dir, stage)
        for sample in dataset.samples:
            collector.observe(sample, name)
        for finding in read:
            if finding.code == "entry-not-local":  # a fact about the entry, not a problem (as in validate)
                finding = msgspec.structs.replace(finding, severity=Severity.INFO)
            findings.add(finding)
        if name not in collector.groups:
            errors = [f for f in read if f.severity is Severity.ERROR and f.code != "entry-not-local"]
            why = errors[0] if errors else next(iter(read), None)
            reason = "no sample that LLaMA-Factory keeps" if why is None else why.message
            collector.unread.append((name, reason))
    return wanted
