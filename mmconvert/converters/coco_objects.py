"""COCO instances and keypoints into detection, grounding and pose chats.

``detection``: one chat per image; the assistant answers a JSON list of ``{"bbox_2d": [...], "label":
...}`` in annotation order.  ``grounding``: one chat per category per image ("locate every <category>"),
or with ``grounding="annotation"`` one per annotation.  ``pose``: like detection for the categories that
have keypoints, each object with ``"keypoints": [{"point_2d": [x, y], "label": name, "visibility":
"visible"|"occluded"}]`` (keypoints with v=0 are not labelled and are left out).

Every annotation is checked before it becomes an answer, and each problem is a finding naming the
annotation: crowd regions (skipped unless ``crowd="include"``), missing or degenerate boxes, boxes
outside the image (clipped), unknown category or image ids, keypoint lists of the wrong length.  An
image (for grounding: an image and category) with an annotation in error gets no sample, because its
answer would be incomplete.  Mask geometry (a crowd RLE's box, a box from polygons) comes from
pycocotools.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec

from mmconvert.boxes import BoxFormat, BoxWriter
from mmconvert.converters.coco import CocoFile, ObjectAnnotation, _decode_items, _type_finding
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.model import Media, Role, Sample, SourceRef, Turn
from mmconvert.options import CocoOptions

Id = int | str

DEFAULT_PROMPTS = {
    "detection": "Locate every object in the image and output the bounding boxes and labels in JSON format.",
    "grounding": "Locate every {category} in the image and output the bounding box coordinates in JSON "
    "format.",
    "grounding-annotation": "Locate the {category} in the image and output the bounding box coordinates "
    "in JSON format.",
    "pose": "Locate every {category} in the image and output the bounding boxes and keypoints in JSON "
    "format.",
}

_CHUNK = 20_000
_EPS = 1e-6


class _Category(msgspec.Struct, gc=False):
    id: Id
    name: str = ""
    keypoints: list[str] | None = None


_Annotation = ObjectAnnotation


@dataclass(slots=True)
class _Object:
    """One annotation ready to be written: clipped box in original pixels, label, keypoints."""

    index: int
    ann_id: Id
    category_id: Id
    label: str
    box: tuple[float, float, float, float]  # x, y, w, h
    keypoints: list[tuple[str, float, float, int]] | None = None


@dataclass(slots=True)
class _ImageObjects:
    objects: list[_Object] = field(default_factory=list)
    tainted_categories: set[Id] = field(default_factory=set)
    tainted: bool = False


def _finding(
    path: str, i: int, code: str, severity: Severity, message: str, hint: str, sub: str, ids: dict
) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        message=message,
        file=path,
        index=i,
        path=f"$.annotations[{i}]{sub}",
        ids=ids,
        hint=hint,
    )


def _categories(coco: CocoFile, findings: Findings) -> dict[Id, _Category]:
    if not coco.categories:
        return {}
    items = _decode_items(coco.path, "categories", coco.categories, _Category, findings)
    out: dict[Id, _Category] = {}
    for _, cat in items:
        assert isinstance(cat, _Category)
        out.setdefault(cat.id, cat)
    return out


def iter_annotations(
    coco: CocoFile, item_type: type, findings: Findings
) -> Iterator[tuple[int, msgspec.Struct]]:
    """Typed decoding of ``annotations``; a bad item is a finding naming it.

    The whole array is decoded at once (one parse, as fast as a typed decode of the file can be);
    only if some item has a wrong type is it split into raw items and decoded chunk by chunk, so the
    bad items can be named and the others kept.
    """
    if coco.typed_annotations is not None and item_type is ObjectAnnotation:
        yield from enumerate(coco.typed_annotations)  # decoded with the file (see coco.load)
        return
    decoder = msgspec.json.Decoder(list[item_type])  # type: ignore[valid-type]
    item_decoder: msgspec.json.Decoder[msgspec.Struct] = msgspec.json.Decoder(item_type)
    if coco.annotations_raw is not None:
        try:
            items = decoder.decode(coco.annotations_raw)
        except msgspec.ValidationError:
            pass
        else:
            coco.release()  # the file pages are not needed any more (Raw fields re-read them)
            yield from enumerate(items)
            return
    raws = coco.annotations
    for start in range(0, len(raws), _CHUNK):
        if start and start % (10 * _CHUNK) == 0:
            coco.release()
        block = raws[start : start + _CHUNK]
        try:
            yield from enumerate(decoder.decode(b"[" + b",".join(block) + b"]"), start)
        except msgspec.ValidationError:
            for i, raw in enumerate(block, start):
                try:
                    yield i, item_decoder.decode(raw)
                except msgspec.ValidationError:
                    findings.add(_type_finding(coco.path, "annotations", i, raw, item_type))
                    ref = _image_ref(raw)  # the image it belongs to must not get an incomplete answer
                    if ref is not None:
                        yield i, ref


class BadAnnotation(msgspec.Struct, gc=False):
    """An annotation that failed to decode (already a finding): only its image id is known."""

    image_id: Id


_bad_decoder = msgspec.json.Decoder(BadAnnotation)


def _image_ref(raw: msgspec.Raw) -> BadAnnotation | None:
    try:
        return _bad_decoder.decode(raw)
    except msgspec.ValidationError:
        return None


def segmentation_bbox(segmentation: object, height: int, width: int) -> list[float] | None:
    """The box of a polygon list or RLE (compressed or not), from pycocotools; ``None`` if empty."""
    from pycocotools import mask as mask_utils

    try:
        return _segmentation_bbox(mask_utils, segmentation, height, width)
    except Exception:  # pycocotools raises assorted errors on malformed masks: no box can be derived
        return None


def _segmentation_bbox(mask_utils, segmentation: object, height: int, width: int) -> list[float] | None:  # type: ignore[no-untyped-def]
    if isinstance(segmentation, list):
        polygons = [p for p in segmentation if isinstance(p, list) and len(p) >= 6]
        if not polygons:
            return None
        rle = mask_utils.merge(mask_utils.frPyObjects(polygons, height, width))
    elif isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        rle = segmentation
        if isinstance(rle["counts"], list):
            rle = mask_utils.frPyObjects(rle, *rle["size"])
        elif isinstance(rle["counts"], str):
            rle = {"size": rle["size"], "counts": rle["counts"].encode()}
    else:
        return None
    box = [float(v) for v in mask_utils.toBbox(rle)]
    if box[2] <= 0 or box[3] <= 0:
        return None
    return box


class _Reporter:
    """Adds findings about the annotation being checked (``i``, ``ann`` are set per annotation)."""

    __slots__ = ("ann", "findings", "i", "path")

    def __init__(self, findings: Findings, path: str) -> None:
        self.findings = findings
        self.path = path
        self.i = 0
        self.ann: _Annotation | None = None

    def _add(self, severity: Severity, code: str, message: str, hint: str, sub: str) -> None:
        ann = self.ann
        assert ann is not None
        ids: dict[str, int | str] = {"annotation_id": ann.id, "image_id": ann.image_id}
        self.findings.add(_finding(self.path, self.i, code, severity, message, hint, sub, ids))

    def bad(self, code: str, message: str, hint: str, sub: str = "") -> None:
        self._add(Severity.ERROR, code, message, hint, sub)

    def warn(self, code: str, message: str, hint: str, sub: str = "") -> None:
        self._add(Severity.WARNING, code, message, hint, sub)


class ObjectTask:
    """Collects one COCO instances/keypoints file's annotations per image and writes the chats."""

    def __init__(
        self,
        coco: CocoFile,
        index: dict[Id, Media],
        task: str,
        options: CocoOptions,
        findings: Findings,
        image_sizes: dict[Id, tuple[int, int]],
        skip_images: frozenset[Id] = frozenset(),
    ) -> None:
        self.skip_images = skip_images
        self.coco = coco
        self.index = index
        self.task = task
        self.options = options
        self.findings = findings
        self.sizes = image_sizes
        self.fmt = BoxFormat(options.bbox_format)
        self.categories = _categories(coco, findings)
        self.unnamed_warned: set[Id] = set()
        self.writers: dict[tuple[int, int], BoxWriter] = {}
        self.score_warned = False

    # -- annotation checks ------------------------------------------------------------------------

    def _collect(self) -> dict[Id, _ImageObjects]:
        coco, findings, options = self.coco, self.findings, self.options
        path = coco.path
        per_image: dict[Id, _ImageObjects] = {}
        seen: set[Id] = set()
        keypoint_task = self.task == "pose"
        not_pose = 0
        report = _Reporter(findings, path)
        bad, warn = report.bad, report.warn
        for i, ann in iter_annotations(coco, _Annotation, findings):
            if isinstance(ann, BadAnnotation):
                bad_slot = per_image.get(ann.image_id)
                if bad_slot is None:
                    bad_slot = per_image[ann.image_id] = _ImageObjects()
                bad_slot.tainted = True
                continue
            assert isinstance(ann, _Annotation)
            report.i, report.ann = i, ann
            media = self.index.get(ann.image_id)
            if media is None:
                bad(
                    "coco-dangling-image-id",
                    f"annotation {ann.id!r} refers to image id {ann.image_id!r}, which is not in `images`",
                    "add the image to `images` or remove the annotation",
                    ".image_id",
                )
                continue
            slot = per_image.get(ann.image_id)
            if slot is None:
                slot = per_image[ann.image_id] = _ImageObjects()
            if ann.id in seen:
                bad(
                    "coco-duplicate-annotation-id",
                    f"annotation id {ann.id!r} is used twice",
                    "give every annotation a unique id; this image gets no sample",
                    ".id",
                )
                slot.tainted = True
                if ann.category_id is not None:
                    slot.tainted_categories.add(ann.category_id)
                continue
            seen.add(ann.id)
            category = self.categories.get(ann.category_id) if ann.category_id is not None else None
            if category is None:
                bad(
                    "coco-unknown-category",
                    f"category id {ann.category_id!r} is not in `categories`",
                    "add the category to `categories` or fix the annotation; this image gets no sample",
                    ".category_id",
                )
                slot.tainted = True
                continue
            if keypoint_task and category.keypoints is None:
                not_pose += 1  # not a keypoint category: not part of the pose answer
                continue
            if ann.score is not None and not self.score_warned:
                self.score_warned = True
                warn(
                    "coco-score-in-ground-truth",
                    "the annotation has a `score`, which model predictions carry, not ground truth",
                    "check that this is an annotation file and not predictions merged into one",
                    ".score",
                )
            if ann.ignore and not ann.iscrowd and options.crowd != "include":
                warn(
                    "coco-ignored-skipped",
                    f"annotation ({category.name!r}) has ignore=1 (an ignored region, as mmdetection "
                    "marks them); skipped like a crowd region",
                    "pass --crowd include to keep ignored and crowd regions as boxes",
                    ".ignore",
                )
                continue
            if ann.iscrowd and options.crowd != "include":
                warn(
                    "coco-crowd-skipped",
                    f"crowd annotation ({category.name!r}, iscrowd=1) is a region of many objects, "
                    "not one box; skipped",
                    "pass --crowd include to keep crowd regions as boxes",
                    ".iscrowd",
                )
                continue
            size = self.sizes.get(ann.image_id)
            box = self._box(ann, size, bad, warn)
            if box is None:
                slot.tainted = True
                slot.tainted_categories.add(category.id)
                continue
            if ann.area is not None and ann.area <= 0 and not ann.iscrowd:
                warn(
                    "coco-zero-area",
                    f"`area` is {ann.area:g} but the box is {box[2]:g}x{box[3]:g}; COCO evaluation "
                    "ignores zero-area objects",
                    "recompute the area (for a polygon: pycocotools.mask.area)",
                    ".area",
                )
            keypoints = None
            if keypoint_task:
                keypoints = self._keypoints(ann, category, size, bad, warn, i)
                if keypoints is None:
                    slot.tainted = True
                    slot.tainted_categories.add(category.id)
                    continue
            slot.objects.append(_Object(i, ann.id, category.id, category.name, box, keypoints))
        if not_pose:
            findings.add(
                Finding(
                    code="coco-not-pose",
                    severity=Severity.INFO,
                    message=f"{not_pose} annotation(s) of categories without keypoints are not part of "
                    "the pose answers",
                    file=path,
                    path="$.annotations",
                    hint="use --task detection or grounding to train on them",
                )
            )
        return per_image

    def _box(self, ann: _Annotation, size, bad, warn) -> tuple[float, float, float, float] | None:  # type: ignore[no-untyped-def]
        bbox = ann.bbox
        if bbox is not None and len(bbox) == 4 and size is not None and not ann.iscrowd:
            x, y, w, h = bbox  # the common case first: a valid box inside its image
            if w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= size[0] + _EPS and y + h <= size[1] + _EPS:
                return (x, y, w, h)
        if bbox is None or len(bbox) == 0:
            seg = msgspec.json.decode(ann.segmentation) if ann.segmentation else None
            derived = None
            if seg and size is not None:
                derived = segmentation_bbox(seg, size[1], size[0])
            if derived is None:
                bad(
                    "coco-missing-box",
                    "the annotation has no `bbox` (and no segmentation to derive one from)",
                    "add a [x, y, w, h] bbox; this image gets no sample",
                    ".bbox",
                )
                return None
            bbox = derived
        if len(bbox) != 4:
            bad(
                "coco-bad-box",
                f"`bbox` has {len(bbox)} numbers; COCO boxes are [x, y, width, height]",
                "write the box as [x, y, width, height]; this image gets no sample",
                ".bbox",
            )
            return None
        x, y, w, h = bbox
        if not (w > 0 and h > 0):
            bad(
                "coco-bad-box",
                f"the box [{x:g}, {y:g}, {w:g}, {h:g}] has zero or negative width/height",
                "fix or remove the annotation; this image gets no sample",
                ".bbox",
            )
            return None
        if ann.iscrowd and ann.segmentation and size is not None:
            self._check_mask_size(ann, size, warn)
        if size is None:
            if self.fmt.needs_size:
                bad(
                    "coco-missing-image-size",
                    f"image {ann.image_id!r} has no width/height in `images`; --bbox-format "
                    f"{self.fmt.value} needs them",
                    "add width and height to the image entry, or use --bbox-format coco or xyxy",
                    ".image_id",
                )
                return None
            return (x, y, w, h)
        width, height = size
        x1, y1 = max(x, 0.0), max(y, 0.0)
        x2, y2 = min(x + w, float(width)), min(y + h, float(height))
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            bad(
                "coco-box-outside",
                f"the box [{x:g}, {y:g}, {w:g}, {h:g}] lies outside the {width}x{height} image",
                "fix the box or the image size; this image gets no sample",
                ".bbox",
            )
            return None
        if x1 - x > _EPS or y1 - y > _EPS or x + w - x2 > _EPS or y + h - y2 > _EPS:
            warn(
                "coco-box-clipped",
                f"the box [{x:g}, {y:g}, {w:g}, {h:g}] reaches outside the {width}x{height} image; "
                f"clipped to [{x1:g}, {y1:g}, {x2 - x1:g}, {y2 - y1:g}]",
                "check the box and the image's width/height",
                ".bbox",
            )
            return (x1, y1, x2 - x1, y2 - y1)
        return (x, y, w, h)

    def _check_mask_size(self, ann: _Annotation, size: tuple[int, int], warn) -> None:  # type: ignore[no-untyped-def]
        try:
            seg = msgspec.json.decode(ann.segmentation)
        except msgspec.DecodeError:
            return
        if isinstance(seg, dict) and isinstance(seg.get("size"), list) and len(seg["size"]) == 2:
            mh, mw = seg["size"]
            if (mw, mh) != size:
                warn(
                    "coco-mask-size-mismatch",
                    f"the RLE mask is {mw}x{mh} but the image is {size[0]}x{size[1]}",
                    "the mask belongs to another image size; check the image entry",
                    ".segmentation.size",
                )

    def _keypoints(self, ann: _Annotation, category: _Category, size, bad, warn, i: int):  # type: ignore[no-untyped-def]
        names = list(category.keypoints or [])
        values = ann.keypoints or []
        if not values:
            return []
        if len(values) % 3 or (names and len(values) != 3 * len(names)):
            bad(
                "coco-bad-keypoints",
                f"`keypoints` has {len(values)} numbers; category {category.name!r} names "
                f"{len(names)} keypoints (3 numbers each: x, y, visibility)",
                "fix the keypoint list; this image gets no sample",
                ".keypoints",
            )
            return None
        if not names:
            names = [f"keypoint_{k + 1}" for k in range(len(values) // 3)]
            if category.id not in self.unnamed_warned:
                self.unnamed_warned.add(category.id)
                self.findings.add(
                    Finding(
                        code="coco-unnamed-keypoints",
                        severity=Severity.WARNING,
                        message=f"category {category.name!r} has no keypoint names; they are written "
                        "as keypoint_1, keypoint_2, ...",
                        file=self.coco.path,
                        path="$.categories",
                        hint="list the keypoint names in the category's `keypoints`",
                    )
                )
        out: list[tuple[str, float, float, int]] = []
        for k, name in enumerate(names):
            x, y, v = values[3 * k : 3 * k + 3]
            if v <= 0:
                continue
            if size is not None and not (0 <= x <= size[0] and 0 <= y <= size[1]):
                warn(
                    "coco-keypoint-outside",
                    f"keypoint {name!r} ({x:g}, {y:g}) lies outside the {size[0]}x{size[1]} image; clipped",
                    "check the keypoint and the image size",
                    f".keypoints[{3 * k}]",
                )
                x, y = min(max(x, 0.0), float(size[0])), min(max(y, 0.0), float(size[1]))
            out.append((name, x, y, int(v)))
        return out

    # -- samples ----------------------------------------------------------------------------------

    def _writer(self, image_id: Id) -> BoxWriter:
        size = self.sizes.get(image_id) or (0, 0)
        writer = self.writers.get(size)  # one per image size (COCO repeats a few sizes many times)
        if writer is None:
            o = self.options
            writer = self.writers[size] = BoxWriter(
                self.fmt, size[0], size[1], o.image_max_pixels, o.image_min_pixels
            )
        return writer

    def _record(self, obj: _Object, writer: BoxWriter, image_id: Id) -> dict:
        box = writer.box(*obj.box)
        if self.fmt is not BoxFormat.COCO and (box[2] <= box[0] or box[3] <= box[1]):
            self.findings.add(
                _finding(
                    self.coco.path,
                    obj.index,
                    "coco-box-collapsed",
                    Severity.WARNING,
                    f"the {obj.box[2]:g}x{obj.box[3]:g} box becomes {box} in {self.fmt.value} "
                    "coordinates: no area left",
                    "such a tiny box teaches little; remove it or use a finer --bbox-format",
                    ".bbox",
                    {"annotation_id": obj.ann_id, "image_id": image_id},
                )
            )
        record: dict = {"bbox_2d": box, "label": obj.label}
        if obj.keypoints is not None:
            record["keypoints"] = [
                {
                    "point_2d": writer.point(x, y),
                    "label": name,
                    "visibility": "visible" if v == 2 else "occluded",
                }
                for name, x, y, v in obj.keypoints
            ]
        return record

    def _prompt(self, key: str, choice: object = None, **fields: str) -> str:
        custom = self.options.task_prompts
        template = pick_prompt(custom, self.options.seed, choice) if custom else DEFAULT_PROMPTS[key]
        return template.format(**fields) if fields else template

    def samples(self) -> Iterator[Sample]:
        per_image = self._collect()
        path = self.coco.path
        empty_keep = self.options.empty == "keep"
        pose_names = sorted({c.name for c in self.categories.values() if c.keypoints is not None})
        done: set[Id] = set()
        for k, img in enumerate(self.coco.images):
            media = self.index.get(img.id)
            if media is None or img.id in self.skip_images or img.id in done:
                continue
            done.add(img.id)
            slot = per_image.get(img.id)
            ids = (("image_id", img.id),)
            source = SourceRef(path, k, f"$.images[{k}]", ids)
            if slot is None or (not slot.objects and not slot.tainted):
                if not empty_keep or self.task == "grounding":
                    self.findings.add(
                        Finding(
                            code="coco-image-without-annotations",
                            severity=Severity.WARNING,
                            message=f"image {img.file_name!r} has no usable annotations; no sample",
                            file=path,
                            index=k,
                            path=f"$.images[{k}]",
                            ids={"image_id": img.id},
                            hint="pass --empty keep to train on it with an empty answer `[]` "
                            "(detection and pose)",
                        )
                    )
                    continue
                slot = _ImageObjects()
            if self.task == "grounding":
                yield from self._grounding(slot, img.id, media, source)
                continue
            if slot.tainted:
                self.findings.skipped += 1  # named by the annotation's error finding
                continue
            writer = self._writer(img.id)
            answer = [self._record(o, writer, img.id) for o in slot.objects]
            if self.task == "pose":
                prompt = self._prompt("pose", img.id, category=" or ".join(pose_names) or "object")
            else:
                prompt = self._prompt("detection", img.id)
            yield Sample(
                turns=(Turn(Role.USER, prompt), Turn(Role.ASSISTANT, _dumps(answer))),
                source=source,
                images=(media,),
            )

    def _grounding(
        self, slot: _ImageObjects, image_id: Id, media: Media, source: SourceRef
    ) -> Iterator[Sample]:
        # The writer needs the image size; an image whose every box was rejected (e.g. no size) has no
        # objects and must not ask for one.
        if not slot.objects:
            for category_id in slot.tainted_categories:
                if category_id in self.categories and self.options.grounding != "annotation":
                    self.findings.skipped += 1  # every box of the category was in error
            return
        writer = self._writer(image_id)
        if self.options.grounding == "annotation":
            for obj in slot.objects:
                if obj.category_id in slot.tainted_categories:
                    continue
                ids = (("annotation_id", obj.ann_id), ("image_id", image_id))
                yield Sample(
                    turns=(
                        Turn(Role.USER, self._prompt("grounding-annotation", obj.ann_id, category=obj.label)),
                        Turn(Role.ASSISTANT, _dumps([self._record(obj, writer, image_id)])),
                    ),
                    source=SourceRef(self.coco.path, obj.index, f"$.annotations[{obj.index}]", ids),
                    images=(media,),
                )
            return
        by_category: dict[Id, list[_Object]] = {}
        for obj in slot.objects:
            by_category.setdefault(obj.category_id, []).append(obj)
        for category_id in slot.tainted_categories - by_category.keys():
            if category_id in self.categories:
                self.findings.skipped += 1  # every box of the category was in error
        for category_id, objects in by_category.items():
            if category_id in slot.tainted_categories:
                self.findings.skipped += 1
                continue
            label = objects[0].label
            cat_ids: tuple[tuple[str, int | str], ...] = (*source.ids, ("category_id", category_id))
            yield Sample(
                turns=(
                    Turn(Role.USER, self._prompt("grounding", (image_id, category_id), category=label)),
                    Turn(Role.ASSISTANT, _dumps([self._record(o, writer, image_id) for o in objects])),
                ),
                source=SourceRef(source.file, source.index, source.path, cat_ids),
                images=(media,),
            )


def pick_prompt(prompts: tuple[str, ...], seed: int, key: object) -> str:
    """One of ``prompts`` (``--prompts FILE``), chosen deterministically from ``seed`` and ``key``."""
    if len(prompts) == 1:
        return prompts[0]
    return prompts[zlib.crc32(f"{seed}:{key}".encode()) % len(prompts)]


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
