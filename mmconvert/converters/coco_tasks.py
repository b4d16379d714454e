"""COCO beyond one captions file: choose each file's task, share one image index across several files,
and chain their samples into one dataset.

``coco2lf captions.json instances.json`` reads both files; an image id listed by both is one image
(same file name required).  Each file's task comes from ``--task`` or from its content: captions ->
``caption``, instances -> ``detection``, keypoints -> ``pose``, VQA questions -> ``vqa`` (a note says
which was chosen).  A captions file is always captioned, a questions file always gives VQA chats;
``--task`` chooses what instances and keypoints files become.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence

from mmconvert.converters import coco as coco_format
from mmconvert.converters.coco_objects import ObjectTask
from mmconvert.converters.vqa import find_vqa_images_dir, load_answers, qa_list_samples, vqa_samples
from mmconvert.errors import UsageError
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.model import Dataset, Media, MediaKind, Sample
from mmconvert.options import CocoOptions

Id = int | str

TASKS = ("caption", "detection", "grounding", "pose", "vqa")
_ALLOWED = {
    "caption": ("caption",),
    "detection": ("detection", "grounding"),
    "pose": ("pose", "detection", "grounding"),
    "unknown": ("detection", "grounding", "pose"),
    "vqa": ("vqa",),
}
_WHY = {
    "caption": "it holds captions",
    "detection": "it holds boxes",
    "pose": "it holds keypoints",
    "unknown": "its annotations hold no captions, boxes or keypoints to tell",
    "vqa": "it holds VQA questions",
}


def choose_task(path: str, content: str, requested: str | None, several: bool) -> tuple[str, str | None]:
    """(task, note) for one file; :class:`UsageError` when ``requested`` cannot apply to it."""
    allowed = _ALLOWED[content]
    if requested is None:
        task = "detection" if content == "unknown" else content
        return task, f"{path}: task {task} ({_WHY[content]}); use --task to choose another"
    if requested in allowed:
        return requested, None
    if several and content in ("caption", "vqa"):
        return content, f"{path}: task {content} ({_WHY[content]}; --task {requested} applies to the others)"
    raise UsageError(
        f"--task {requested} does not fit {path}: {_WHY[content]} (possible: {', '.join(allowed)})",
    )


def _merge_index(
    shared: dict[Id, Media], index: dict[Id, Media], path: str, findings: Findings, origin: dict[Id, int]
) -> None:
    for image_id, media in index.items():
        known = shared.get(image_id)
        if known is None:
            shared[image_id] = media
            continue
        if known.path != media.path or known.base != media.base:
            k = origin.get(image_id, -1)
            findings.add(
                Finding(
                    code="coco-image-conflict",
                    severity=Severity.ERROR,
                    message=f"image id {image_id!r} is {os.path.join(media.base or '', media.path)!r} here "
                    f"but {os.path.join(known.base or '', known.path)!r} in {known.origin}",
                    file=path,
                    index=k if k >= 0 else None,
                    path=f"$.images[{k}]" if k >= 0 else None,
                    ids={"image_id": image_id},
                    hint="files converted together must share image ids; convert them separately",
                )
            )


_MAX_SIDE = 1_000_000  # pixels; no real image is wider (and box arithmetic overflows far beyond)


def _image_sizes(coco: coco_format.CocoFile, findings: Findings) -> dict[Id, tuple[int, int]]:
    sizes: dict[Id, tuple[int, int]] = {}
    for k, img in enumerate(coco.images):
        if img.width is None or img.height is None:
            continue
        if not (0 < img.width <= _MAX_SIDE and 0 < img.height <= _MAX_SIDE):
            findings.add(
                Finding(
                    code="coco-bad-image-size",
                    severity=Severity.ERROR,
                    message=f"image {img.file_name!r} has width {img.width} and height {img.height}",
                    file=coco.path,
                    index=k,
                    path=f"$.images[{k}]",
                    ids={"image_id": img.id},
                    hint="write the image's real width and height",
                )
            )
            continue
        sizes.setdefault(img.id, (int(img.width), int(img.height)))
    return sizes


def check_image_headers(
    coco: coco_format.CocoFile, index: dict[Id, Media], findings: Findings
) -> frozenset[Id]:
    """Image ids whose JSON width/height disagree with the image file's header (error findings)."""
    from mmconvert.media import check_file
    from mmconvert.options import CheckTier

    bad: set[Id] = set()
    for k, img in enumerate(coco.images):
        media = index.get(img.id)
        if media is None or img.width is None or img.height is None or media.base is None:
            continue
        header = check_file(os.path.join(media.base, media.path), "image", CheckTier.HEADER)
        if header.width is None or header.height is None:
            continue  # missing or unreadable files are the media pass's findings
        real = (header.width, header.height)
        if real != (int(img.width), int(img.height)):
            bad.add(img.id)
            findings.add(
                Finding(
                    code="coco-size-mismatch",
                    severity=Severity.ERROR,
                    message=f"`images` says {int(img.width)}x{int(img.height)} but the file header of "
                    f"{img.file_name!r} says {real[0]}x{real[1]}; its boxes would be wrong",
                    file=coco.path,
                    index=k,
                    path=f"$.images[{k}]",
                    ids={"image_id": img.id},
                    hint="fix width/height in the image entry (LLaMA-Factory sees the file's own size)",
                )
            )
    return frozenset(bad)


def read_tasks(
    paths: Sequence[str],
    options: CocoOptions,
    findings: Findings,
    name: str = "",
    loaded: list[coco_format.CocoFile] | None = None,
) -> Dataset:
    """Read one or more COCO / VQA files into one dataset over a shared image index."""
    if options.task is not None and options.task not in TASKS:
        raise UsageError(f"--task {options.task}: unknown (known: {', '.join(TASKS)})")
    several = len(paths) > 1
    for prompt in options.task_prompts:
        _check_prompt(prompt)
    if loaded is None:
        loaded = [coco_format.load(os.fspath(p), findings) for p in paths]
    contents = ["vqa" if c.questions else coco_format.detect_task(c) for c in loaded]
    if options.task == "vqa" and "vqa" not in contents:
        raise UsageError("--task vqa needs a VQA questions file (with `questions`) and --answers")
    if options.answers is not None and not any(c.questions and not c.qa_list for c in loaded):
        raise UsageError("--answers is for VQA: also pass the questions file it answers")
    notes: list[str] = []
    shared: dict[Id, Media] = {}
    # (task, file, images folder, the file's own image index: its samples never borrow another file's image)
    plans: list[tuple[str, coco_format.CocoFile, str, dict[Id, Media]]] = []
    dirs: dict[str, str] = {}
    for coco, content in zip(loaded, contents, strict=True):
        task, note = choose_task(coco.path, content, options.task, several)
        if note:
            notes.append(note)
        if task == "vqa":
            missing = [p for p in options.task_prompts if "{question}" not in p]
            if missing:
                raise UsageError(
                    f"--prompt {missing[0]!r}: a VQA prompt must contain {{question}}",
                    hint="e.g. --prompt '{question} Answer in one word.'",
                )
            vqa_dir = options.images_dir
            if vqa_dir is None and coco.qa_list:
                vqa_dir = os.path.dirname(os.path.abspath(coco.path))
                notes.append(
                    f"images folder: {vqa_dir} (beside the QA list); use --images-dir to choose another"
                )
            elif vqa_dir is None:
                vqa_dir, why = find_vqa_images_dir(coco.path, coco.data_subtype)
                notes.append(f"images folder: {vqa_dir} ({why}); use --images-dir to choose another")
            plans.append((task, coco, os.path.abspath(vqa_dir), shared))
            continue
        images_dir = options.images_dir
        if images_dir is None:
            images_dir, why = coco_format.find_images_dir(coco.path, coco)
            if images_dir not in dirs:
                notes.append(f"images folder: {images_dir} ({why}); use --images-dir to choose another")
        images_dir = os.path.abspath(images_dir)
        if not os.path.isdir(images_dir):
            raise UsageError(f"--images-dir {images_dir}: no such folder")
        dirs[images_dir] = coco.path
        index = coco_format._image_index(coco, images_dir, findings)
        origin = {img.id: k for k, img in enumerate(coco.images)}
        _merge_index(shared, index, coco.path, findings, origin)
        own = {k: shared[k] if shared[k] == media else media for k, media in index.items()}
        plans.append((task, coco, images_dir, own))
    answers = None
    if any(c.questions and not c.qa_list for c in loaded):
        if options.answers is None:
            raise UsageError(
                "a VQA questions file needs its answers: pass --answers v2_mscoco_<split>_annotations.json"
            )
        answers = load_answers(options.answers, findings)
    streams: list[Iterator[Sample]] = []
    for task, coco, images_dir, own in plans:
        if task == "caption":
            streams.append(
                coco_format._caption_samples(coco, own, options, findings, coco_format.SeenIds())  # type: ignore[arg-type]
            )
        elif task == "vqa" and coco.qa_list:
            streams.append(qa_list_samples(coco, shared, images_dir, options, findings))
        elif task == "vqa":
            assert answers is not None
            streams.append(vqa_samples(coco, shared, images_dir, answers[0], answers[1], options, findings))
        else:
            streams.append(_object_samples(coco, own, task, options, findings))
    tasks = sorted({p[0] for p in plans})
    return Dataset(
        name=name,
        samples=itertools.chain.from_iterable(streams),
        source_files=tuple(os.fspath(p) for p in paths),
        media_kinds=frozenset({MediaKind.IMAGE}),
        description=f"COCO {'+'.join(tasks)} from {', '.join(os.fspath(p) for p in paths)}",
        notes=tuple(notes),
    )


def _check_prompt(prompt: str) -> None:
    try:
        prompt.format(category="x", question="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(
            f"--prompt {prompt!r}: only {{category}} (grounding, pose) and {{question}} (vqa) may be "
            f"filled in ({type(exc).__name__}: {exc})",
            hint="write other braces doubled: {{ and }}",
        ) from exc


def _object_samples(
    coco, shared: dict[Id, Media], task: str, options: CocoOptions, findings: Findings
) -> Iterator[Sample]:  # type: ignore[no-untyped-def]
    sizes = _image_sizes(coco, findings)
    skip = check_image_headers(coco, shared, findings) if options.check_header else frozenset()
    yield from ObjectTask(coco, shared, task, options, findings, sizes, skip).samples()
