"""``--html FILE``: one self-contained page to look at a dataset before training.

The page shows the findings grouped by code (count, what it means for training, the fix, the first
examples), each example rendered as a chat with its images as thumbnails and the placeholder tags
highlighted where they sit; for detection and grounding answers the ``bbox_2d`` boxes are drawn over the
thumbnail in the coordinate space the ``--bbox-format`` means, so a wrong format shows at a glance; and
the statistics of :mod:`mmconvert.stats` as plots (histograms, a size scatter, a token CDF with the
``cutoff_len`` line).  Everything is embedded (thumbnails as JPEG data, plots as SVG data made with
matplotlib; no script, no font or style sheet from elsewhere), so the file works offline; its size is
bounded by :data:`THUMBNAIL_BUDGET` and the examples kept per group.  The page is rendered from the
Jinja2 template ``templates/report.html.j2``.  Jinja2 and matplotlib are imported only here.
"""

from __future__ import annotations

import base64
import datetime
import io
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mmconvert import __version__
from mmconvert.errors import UsageError
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.io import atomic_output
from mmconvert.model import MediaKind, Sample
from mmconvert.stats import MAX_SIZE_POINTS, Distribution, GroupStats, StatsCollector, media_path, parse_boxes
from mmconvert.stats_lf import LF_IMAGE_MAX_PIXELS, LF_IMAGE_MIN_PIXELS, qwen_input_size

#: Longest side of an embedded thumbnail, in pixels.
THUMBNAIL_SIDE = 320
#: Bytes of thumbnail data the page may embed; later thumbnails are left out (and say so).
THUMBNAIL_BUDGET = 12 * 1024 * 1024
#: Findings listed in text per code (those that name no sample, or beyond the rendered examples).
LISTED_FINDINGS = 5
#: Box formats (``mmconvert.boxes.BoxFormat`` values) and the coordinate space each one's numbers are in.
BOX_FORMATS = ("qwen2.5-vl", "qwen3-vl", "norm", "coco", "xyxy")
_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45")

#: What a finding code means for training, by code or by code prefix (longest prefix wins).
MEANINGS = {
    "placeholder-count": "LLaMA-Factory counts the <image>/<video>/<audio> tags against the attached media "
    "of every sample; a mismatch raises ValueError and stops training.",
    "placeholder-": "The placeholder tags do not fit the attached media the way LLaMA-Factory counts them.",
    "media-missing": "LLaMA-Factory opens every media file while tokenizing; a missing file aborts the run.",
    "media-": "A media file LLaMA-Factory opens while tokenizing is not what it needs.",
    "role-": "LLaMA-Factory drops samples whose roles do not alternate as it expects, without an error.",
    "turn-count": "LLaMA-Factory drops samples with the wrong number of messages, without an error.",
    "tokens-over-cutoff": "LLaMA-Factory's truncation would cut into image tokens: training fails with "
    "'Image features and image tokens do not match'.",
    "image-tokens-over-cutoff": "The image tokens alone exceed cutoff_len: training fails with 'Image "
    "features and image tokens do not match'.",
    "entry-": "The dataset_info.json entry is not what LLaMA-Factory reads the way you expect.",
    "data-file-": "LLaMA-Factory cannot load the data file of the entry.",
    "coco-": "The COCO annotations have a problem the conversion had to decide about.",
    "vqa-": "The VQA questions and answers do not join up.",
    "preference-": "Preference data (chosen/rejected) is not laid out as LLaMA-Factory needs it.",
    "kto-": "KTO data is not laid out as LLaMA-Factory needs it.",
    "tool-": "A tool call or tool schema LLaMA-Factory's template cannot format.",
    "content-": "A message's content is not text LLaMA-Factory can use.",
    "no-samples": "No sample is left: LLaMA-Factory stops with 'Cannot find valid samples'.",
    "no-valid-samples": "No sample is left: LLaMA-Factory stops with 'Cannot find valid samples'.",
    "lf-load-crash": "LLaMA-Factory's converter raises on this row, so the dataset cannot be loaded.",
    "stage-mismatch": "The data does not fit the training stage; LLaMA-Factory drops or refuses it.",
}
_BY_SEVERITY = {
    Severity.ERROR: "LLaMA-Factory rejects, drops or aborts on these samples (or the data is wrong).",
    Severity.WARNING: "Accepted by LLaMA-Factory, but likely not what you want.",
    Severity.INFO: "A decision or note, for the record.",
}


def meaning(code: str, severity: Severity) -> str:
    """What ``code`` means for training (see :data:`MEANINGS`), else what its severity means."""
    if code in MEANINGS:
        return MEANINGS[code]
    prefixes = [p for p in MEANINGS if p.endswith("-") and code.startswith(p)]
    if prefixes:
        return MEANINGS[max(prefixes, key=len)]
    return _BY_SEVERITY[severity]


@dataclass(frozen=True)
class BoxSpace:
    """How to read ``bbox_2d`` numbers: the format and LF's pixel limits (``qwen2.5-vl`` needs them)."""

    fmt: str = "qwen2.5-vl"
    image_max_pixels: int = LF_IMAGE_MAX_PIXELS
    image_min_pixels: int = LF_IMAGE_MIN_PIXELS

    def view_box(self, width: int, height: int) -> tuple[float, float]:
        """The coordinate space (width, height) the format's numbers live in for an image of this size."""
        if self.fmt == "qwen2.5-vl":
            tw, th = qwen_input_size(width, height, self.image_max_pixels, self.image_min_pixels)
            return float(tw), float(th)
        if self.fmt == "qwen3-vl":
            return 1000.0, 1000.0
        if self.fmt == "norm":
            return 1.0, 1.0
        return float(width), float(height)

    def rect(self, box: list[float]) -> tuple[float, float, float, float]:
        """``(x, y, width, height)`` of one box in that space."""
        if self.fmt == "coco":
            return box[0], box[1], box[2], box[3]
        return box[0], box[1], box[2] - box[0], box[3] - box[1]


class Thumbnails:
    """Embedded JPEG thumbnails, made once per file, within :data:`THUMBNAIL_BUDGET` bytes."""

    def __init__(self, budget: int | None = None) -> None:
        self.budget = THUMBNAIL_BUDGET if budget is None else budget
        self.used = 0
        self.omitted = 0
        self._made: dict[str, str | None] = {}

    def get(self, path: str) -> str | None:
        """A ``data:`` URI, or ``None`` when the file cannot be opened or the budget is spent."""
        if path in self._made:
            return self._made[path]
        uri = None
        if self.used < self.budget:
            uri = _thumbnail(path)
            if uri is not None:
                self.used += len(uri)
        else:
            self.omitted += 1
        self._made[path] = uri
        return uri


def _thumbnail(path: str) -> str | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # JPEG: decode at a reduced scale
            rgb = im.convert("RGB")
            rgb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
            buffer = io.BytesIO()
            rgb.save(buffer, format="JPEG", quality=80)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _segments(text: str, tags: dict[str, str]) -> list[tuple[str, str | None]]:
    """``text`` cut into ``(piece, kind)`` parts, ``kind`` set on the placeholder tags."""
    out: list[tuple[str, str | None]] = []
    rest = text
    while rest:
        hits = [(rest.find(tag), tag, kind) for tag, kind in tags.items() if tag and tag in rest]
        if not hits:
            out.append((rest, None))
            break
        at, tag, kind = min(hits, key=lambda h: (h[0], -len(h[1])))
        if at:
            out.append((rest[:at], None))
        out.append((tag, kind))
        rest = rest[at + len(tag) :]
    return out


class _Renderer:
    """Turns samples into the plain dicts the template renders."""

    def __init__(self, collector: StatsCollector, boxes: BoxSpace) -> None:
        self.collector = collector
        self.boxes = boxes
        self.thumbnails = Thumbnails()
        tokens = collector.tokens
        self.tags = {tokens.image: "image", tokens.video: "video", tokens.audio: "audio"}

    def chat(self, sample: Sample) -> dict[str, Any]:
        roles = [str(turn.role) for turn in sample.turns]
        texts = [turn.content for turn in sample.turns]
        for label, answer in (("chosen", sample.chosen), ("rejected", sample.rejected)):
            if answer is not None:
                roles.append(label)
                texts.append(answer.content)
        if sample.kto_label is not None and roles:
            roles[-1] += " (desirable)" if sample.kto_label else " (undesirable)"
        turns = [
            {"role": role, "segments": _segments(text, self.tags)}
            for role, text in zip(roles, texts, strict=True)
        ]
        boxes = None
        for turn in sample.turns:
            if turn.role == "assistant":
                boxes = parse_boxes(turn.content) or boxes
        media = [self._media(item, boxes if i == 0 else None) for i, item in enumerate(sample.images)]
        media += [self._media(item, None) for item in (*sample.videos, *sample.audios)]
        return {
            "where": sample.source.describe(),
            "system": _segments(sample.system, self.tags) if sample.system else None,
            "tools": sample.tools,
            "turns": turns,
            "media": media,
            "detection": any(m.get("overlay") for m in media),
        }

    def _media(self, item: Any, boxes: list[tuple[str, list[float]]] | None) -> dict[str, Any]:
        info = self.collector.media_info(item)
        path = media_path(item)
        out: dict[str, Any] = {
            "kind": str(item.kind),
            "path": item.path,
            "state": info.state,
            "size": f"{info.width}x{info.height}" if info.size else None,
            "thumb": None,
            "overlay": None,
        }
        if item.kind is not MediaKind.IMAGE or info.state == "missing":
            return out
        out["thumb"] = self.thumbnails.get(path)
        if out["thumb"] is None:
            out["state"] = "omitted" if info.state == "ok" else info.state
        if boxes and info.size:
            vw, vh = self.boxes.view_box(*info.size)
            labels = list(dict.fromkeys(label for label, _ in boxes))
            out["overlay"] = {
                "view_box": f"0 0 {vw:g} {vh:g}",
                "format": self.boxes.fmt,
                "rects": [
                    dict(zip(("x", "y", "w", "h"), self.boxes.rect(box), strict=True))
                    | {"label": label, "color": _PALETTE[labels.index(label) % len(_PALETTE)]}
                    for label, box in boxes
                ],
                "legend": [(label, _PALETTE[i % len(_PALETTE)]) for i, label in enumerate(labels)],
            }
        return out


def _finding_groups(
    findings: Findings, collector: StatsCollector, renderer: _Renderer
) -> list[dict[str, Any]]:
    groups: dict[tuple[Severity, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        groups[(finding.severity, finding.code)].append(finding)
    out = []
    for (severity, code), items in sorted(
        groups.items(), key=lambda kv: (_SEVERITY_ORDER[kv[0][0]], -len(kv[1]), kv[0][1])
    ):
        examples = collector.finding_examples.get(code, [])
        shown = {(f.file, f.index, f.message) for f, _ in examples}
        listed = [f for f in items if (f.file, f.index, f.message) not in shown][:LISTED_FINDINGS]
        out.append(
            {
                "code": code,
                "severity": str(severity),
                "count": len(items),
                "meaning": meaning(code, severity),
                "fix": next((f.hint for f in items if f.hint), None),
                "examples": [
                    {"where": f.location(), "message": f.message, "chat": renderer.chat(s)}
                    for f, s in examples
                ],
                "listed": [{"where": f.location(), "message": f.message} for f in listed],
                "more": max(0, len(items) - len(examples) - len(listed)),
            }
        )
    return out


# -- plots ----------------------------------------------------------------------------------------------


def _figure(width: float = 4.2, height: float = 2.6, left: float = 0.15) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96)  # fixed margins: a layout engine doubles the drawing
    fig.subplots_adjust(left=left, right=0.97, top=0.88, bottom=0.18)
    return fig, fig.add_subplot()


def _svg(fig: Any) -> str:
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "mmconvert", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _histogram(
    dist: Distribution, title: str, xlabel: str, color: str = "#4363d8", ylabel: str = "samples"
) -> str | None:
    from matplotlib.ticker import MaxNLocator

    bins = dist.histogram()
    if not bins:
        return None
    fig, ax = _figure()
    # one bar per bin, centred on the bin's values (a bin of one value sits on that value)
    centres = [(lo + hi) / 2 for lo, hi, _ in bins]
    widths = [(hi - lo + 1) * 0.9 for lo, hi, _ in bins]
    ax.bar(centres, [n for _, _, n in bins], width=widths, color=color)
    if bins[0][0] == bins[0][1]:  # one bin per value: whole-number ticks, a margin of one value
        ax.set_xlim(bins[0][0] - 1, bins[-1][1] + 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    return _svg(fig)


def _text_lengths(stats: GroupStats) -> str | None:
    if not stats.prompt_chars.count:
        return None
    fig, ax = _figure()
    for dist, label, color in (
        (stats.prompt_chars, "prompt", "#4363d8"),
        (stats.answer_chars, "answer", "#f58231"),
    ):
        bins = dist.histogram()
        ax.stairs([b[2] for b in bins], [bins[0][0], *[b[1] + 1 for b in bins]], label=label, color=color)
    ax.set_title("prompt and answer length", fontsize=10)
    ax.set_xlabel("characters", fontsize=9)
    ax.set_ylabel("samples", fontsize=9)
    ax.legend(fontsize=8)
    return _svg(fig)


def _size_scatter(stats: GroupStats, collector: StatsCollector) -> str | None:
    sizes, _ = stats.sizes(collector.media)
    if not sizes:
        return None
    fig, ax = _figure(4.2, 3.2)
    points = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:MAX_SIZE_POINTS]
    ax.scatter(
        [w for (w, _), _ in points],
        [h for (_, h), _ in points],
        s=[min(200, 12 + 4 * n) for _, n in points],
        alpha=0.6,
        color="#3cb44b",
    )
    ax.set_title("image sizes (one dot per size, larger: more files)", fontsize=10)
    ax.set_xlabel("width (px)", fontsize=9)
    ax.set_ylabel("height (px)", fontsize=9)
    return _svg(fig)


def _token_cdf(stats: GroupStats, cutoff_len: int, template: str | None) -> str | None:
    counts = stats.total_tokens.counts
    if not counts:
        return None
    values = sorted(counts)
    total = sum(counts.values())
    seen = 0
    xs, ys = [], []
    for value in values:
        seen += counts[value]
        xs.append(value)
        ys.append(seen / total)
    fig, ax = _figure()
    ax.step(xs, ys, where="post", color="#4363d8", label="samples")
    ax.axvline(cutoff_len, color="#e6194b", linestyle="--", label=f"cutoff_len {cutoff_len:,}")
    ax.set_ylim(0, 1.02)
    ax.set_title("tokens per sample (CDF)", fontsize=10)
    what = f"visual ({template}) + estimated text" if template else "estimated text only, no --template"
    ax.set_xlabel(f"tokens: {what}", fontsize=9)
    ax.set_ylabel("share of samples", fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    return _svg(fig)


def _class_balance(stats: GroupStats) -> str | None:
    if not stats.labels:
        return None
    top = sorted(stats.labels.items(), key=lambda kv: (-kv[1], kv[0]))[:25]
    fig, ax = _figure(4.2, max(2.4, 0.22 * len(top) + 0.8), left=0.32)
    from matplotlib.ticker import MaxNLocator

    ax.barh([label for label, _ in reversed(top)], [n for _, n in reversed(top)], color="#911eb4")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("boxes per class" + (" (top 25)" if len(stats.labels) > 25 else ""), fontsize=10)
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlabel("boxes", fontsize=9)
    return _svg(fig)


def _plots(stats: GroupStats, collector: StatsCollector) -> list[dict[str, str]]:
    template = collector.budget.template if collector.budget else None
    candidates = [
        ("turns", _histogram(stats.turns, "messages per sample", "messages")),
        (
            "images",
            _histogram(stats.images, "images per sample", "images") if stats.images.above(0) else None,
        ),
        (
            "videos",
            _histogram(stats.videos, "videos per sample", "videos") if stats.videos.above(0) else None,
        ),
        (
            "audios",
            _histogram(stats.audios, "audios per sample", "audios") if stats.audios.above(0) else None,
        ),
        ("sizes", _size_scatter(stats, collector)),
        (
            "visual",
            _histogram(
                stats.visual_per_image, f"visual tokens per image ({template})", "tokens", "#42d4f4", "images"
            )
            if template
            else None,
        ),
        ("tokens", _token_cdf(stats, collector.cutoff_len, template)),
        ("lengths", _text_lengths(stats)),
        ("classes", _class_balance(stats)),
        (
            "boxes",
            _histogram(_boxes_per_image(stats), "boxes per image", "boxes", "#f032e6", "images")
            if stats.boxes_by_image
            else None,
        ),
    ]
    return [{"name": name, "uri": uri} for name, uri in candidates if uri is not None]


def _boxes_per_image(stats: GroupStats) -> Distribution:
    dist = Distribution()
    for count in stats.boxes_by_image.values():
        dist.add(count)
    return dist


# -- the page -------------------------------------------------------------------------------------------


def render_html(
    command: str,
    findings: Findings,
    collector: StatsCollector,
    boxes: BoxSpace | None = None,
    notes: Sequence[str] = (),
    title: str | None = None,
    lines: Sequence[str] = (),
) -> str:
    """The page as text.  ``lines`` are the command's result lines (e.g. ``N samples will train``)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    renderer = _Renderer(collector, boxes or BoxSpace())
    stats = collector.to_dict()
    datasets = []
    for doc in stats["datasets"]:
        group = collector.groups[doc["name"]]
        datasets.append(
            {
                "stats": doc,
                "plots": _plots(group, collector),
                "examples": [renderer.chat(s) for s in group.examples],
            }
        )
    finding_groups = _finding_groups(findings, collector, renderer)
    env = Environment(
        loader=PackageLoader("mmconvert", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = _num
    template = env.get_template("report.html.j2")
    return template.render(
        title=title or f"mmconvert {command}",
        command=command,
        version=__version__,
        generated=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        summary=findings.summary(),
        notes=list(notes),
        lines=list(lines),
        settings=stats["settings"],
        unread=stats["unread"],
        remote_entries=stats["remote_entries"],
        box_format=renderer.boxes.fmt,
        finding_groups=finding_groups,
        datasets=datasets,
        thumbnails_omitted=renderer.thumbnails.omitted,
    )


def _num(value: Any) -> str:
    """``12,345``; ``-`` for a missing number."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def check_html_target(path: str | os.PathLike[str]) -> None:
    """Refuse an ``--html`` path that cannot be written, before any work is done."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"--html {os.fspath(path)}: is a folder")
    if not os.path.isdir(folder):
        raise UsageError(f"--html {os.fspath(path)}: the folder {folder} does not exist")


def write_html(path: str | os.PathLike[str], page: str) -> None:
    """Write the page atomically."""
    try:
        with atomic_output(path) as fh:
            fh.write(page.encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"--html {os.fspath(path)}: cannot write it ({exc.strerror or exc})") from exc
