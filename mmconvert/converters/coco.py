"""COCO importer: caption annotation files (``captions_*.json``) into the common model.

One sample per caption: the user turn holds the prompt, the assistant turn the stripped caption, and
the image is attached as :class:`~mmconvert.model.Media` (the placeholder pass adds the ``<image>``
tag).  Parsing is typed (msgspec) and streamed: the ``annotations`` array is split into raw items and
decoded in chunks, so memory grows with the number of images, not of captions.
"""

from __future__ import annotations

import gc
import os
import re
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from mmconvert.errors import InputError, UsageError
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.io import MappedJson, describe_decode_error, leading_byte, leading_items
from mmconvert.jsonerrors import type_mismatch
from mmconvert.model import Dataset, Media, MediaKind, Part, Role, Sample, SourceRef, Turn
from mmconvert.options import CocoOptions

_CHUNK = 20_000
#: Annotations read between two releases of the file pages read so far (see MappedJson.release).
_RELEASE_EVERY = 10 * _CHUNK
_CAPTION_TURN_PATHS: tuple[str | None, ...] = (None, ".caption")

Id = int | str


class _Top(msgspec.Struct):
    images: msgspec.Raw = msgspec.Raw()
    annotations: msgspec.Raw = msgspec.Raw()
    categories: msgspec.Raw = msgspec.Raw()
    questions: msgspec.Raw = msgspec.Raw()  # a VQA questions file (see converters/vqa.py)
    data_subtype: str | None = None  # VQA: "train2014", names COCO_<subtype>_<id>.jpg files


class _Image(msgspec.Struct, gc=False):
    id: Id
    file_name: str
    width: int | float | None = None
    height: int | float | None = None


class _Caption(msgspec.Struct, gc=False):
    id: Id
    image_id: Id
    caption: str


class ObjectAnnotation(msgspec.Struct, gc=False):
    """An instances or keypoints annotation (see ``coco_objects``)."""

    id: Id
    image_id: Id
    category_id: Id | None = None
    bbox: list[float] | None = None
    iscrowd: int | bool = 0
    segmentation: msgspec.Raw = msgspec.Raw()
    keypoints: list[float] | None = None
    area: float | None = None
    ignore: int | bool = 0  # mmdetection's "ignored region" flag, treated like iscrowd
    score: float | None = None  # a prediction's field; suspicious in ground truth


class _ObjectsTop(msgspec.Struct):
    """A whole instances or keypoints file, typed: what :func:`load` tries first for such files."""

    images: list[_Image]
    annotations: list[ObjectAnnotation]
    categories: msgspec.Raw = msgspec.Raw()


class CocoFile:
    """A parsed COCO file: its images (decoded) and its raw annotation items (decoded on demand).

    ``annotations`` is the list of raw items, split out of ``annotations_raw`` (the whole array) on
    first use: a reader that decodes the whole array at once (see ``coco_objects.iter_annotations``)
    never pays for the split.
    """

    def __init__(
        self,
        path: str,
        images: list[_Image],
        annotations: list[msgspec.Raw] | None = None,
        categories: msgspec.Raw = msgspec.Raw(),  # noqa: B008 - an immutable empty value
        questions: msgspec.Raw = msgspec.Raw(),  # noqa: B008
        data_subtype: str | None = None,
        qa_list: bool = False,  # a COCO-QA-like list of {question, answer(s), image_id | image}
        mapped: MappedJson | None = None,  # the file the raw items point into
        annotations_raw: msgspec.Raw | None = None,
        typed_annotations: list[ObjectAnnotation] | None = None,
        first_raw: list[bytes] | None = None,
    ) -> None:
        self.typed_annotations = typed_annotations
        self.first_raw = first_raw or []  # the first raw items, when found without splitting
        self.count_typed = -1 if typed_annotations is None else len(typed_annotations)
        self.path = path
        self.images = images
        self._annotations = annotations
        self.annotations_raw = annotations_raw
        self.categories = categories
        self.questions = questions
        self.data_subtype = data_subtype
        self.qa_list = qa_list
        self.mapped = mapped

    @property
    def annotations(self) -> list[msgspec.Raw]:
        if self._annotations is None:
            if self.annotations_raw is None and self.mapped is not None:  # read typed: parse again
                self.annotations_raw = msgspec.json.decode(self.mapped.data, type=_Top).annotations
            raw = self.annotations_raw
            self._annotations = msgspec.json.decode(raw, type=list[msgspec.Raw]) if raw else []
            self.release()  # the split read the whole array: drop its pages until items are decoded
        return self._annotations

    def first_annotations(self, count: int) -> list[bytes] | list[msgspec.Raw]:
        """The first ``count`` raw annotation items, without splitting the whole array."""
        first = self.first_raw
        if self._annotations is None and first and (len(first) >= count or len(first) == self.count_typed):
            return first[:count]
        if self._annotations is not None or not self.annotations_raw:
            return self.annotations[:count]
        return leading_items(self.annotations_raw, count)

    def release(self) -> None:
        """Drop the file pages read so far from memory (the raw items stay valid: see MappedJson)."""
        if self.mapped is not None:
            self.mapped.release()


def _is_qa_list(data: bytes | memoryview) -> bool:
    """A top-level list whose first item has a ``question`` (a QA list, not a results file)."""
    try:
        items = msgspec.json.decode(data, type=list[msgspec.Raw])
        first = msgspec.json.decode(items[0], type=dict[str, msgspec.Raw]) if items else {}
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False
    return "question" in first


def load(path: str, findings: Findings) -> CocoFile:
    """Parse the top level of a COCO file and its ``images``; type errors per image are findings."""
    mapped = MappedJson(path)
    data = mapped.data
    first = mapped.first_byte()
    if first == b"[" and _is_qa_list(data):
        return CocoFile(path, [], [], questions=msgspec.Raw(bytes(data)), qa_list=True)
    if first == b"[":
        raise InputError(
            f"{path}: the top level is a list: this looks like a COCO *results* file (model predictions "
            "keyed by image_id, as written for evaluation), not an annotation file",
            hint="convert the ground-truth annotation file (with `images` and `annotations`) instead",
        )
    if first != b"{":
        what = "empty" if not first else "not a JSON object"
        raise InputError(
            f"{path}: the file is {what}; a COCO annotation file is a JSON object with "
            "`images` and `annotations`"
        )
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        task, peeked = _peek(data)
        if task in ("detection", "pose"):
            objects = _load_objects(path, data, mapped, peeked)
            if objects is not None:
                return objects
        else:
            split = _load_split(path, data, mapped)
            if split is not None:
                return split
        try:
            top = msgspec.json.decode(data, type=_Top)
        except msgspec.ValidationError as exc:
            mismatch = type_mismatch(data, _Top)
            if mismatch is None:
                raise InputError(describe_decode_error(path, exc, data)) from exc
            raise InputError(f"{path}: {mismatch}") from exc
        except msgspec.DecodeError as exc:
            raise InputError(describe_decode_error(path, exc, data)) from exc
        if top.questions and not top.images:
            return CocoFile(
                path, [], [], questions=top.questions, data_subtype=top.data_subtype, mapped=mapped
            )
        if not top.images or not top.annotations:
            missing = " and ".join(
                k for k, v in (("images", top.images), ("annotations", top.annotations)) if not v
            )
            raise InputError(
                f"{path}: no `{missing}` key: not a COCO annotation file",
                hint="an image-info-only file (test-dev style) has no captions to convert",
            )
        images = _decode_items(path, "images", top.images, _Image, findings)
        if leading_byte(top.annotations) != b"[":
            try:
                msgspec.json.decode(top.annotations, type=list[msgspec.Raw])
            except msgspec.ValidationError as exc:
                raise InputError(f"{path}: `annotations` must be a list ({_got(top.annotations)})") from exc
        coco = CocoFile(
            path,
            [img for _, img in images if isinstance(img, _Image)],
            categories=top.categories,
            mapped=mapped,
            annotations_raw=top.annotations,
        )
        coco.release()  # parsed once: the annotations are read again chunk by chunk
        return coco
    finally:
        if was_enabled:
            gc.enable()


_ANNOTATIONS_KEY = re.compile(rb'"annotations"\s*:\s*\[')


_PEEK = 50  # items detect_task looks at


def _peek(data: bytes | memoryview) -> tuple[str, list[bytes]]:
    """The task the file's first annotations suggest, and those items, found without parsing the
    file: a hint only (the key could sit in a string), which :func:`_load_objects` checks."""
    match = _ANNOTATIONS_KEY.search(data)  # after `images`, often tens of MB into the file
    if match is None:
        return "unknown", []
    try:
        items = leading_items(memoryview(data)[match.end() - 1 :], _PEEK)
        return _task_of(items), items
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return "unknown", []  # malformed: the full parse reports it


class _SplitTop(msgspec.Struct):
    """A COCO file with its images typed and its annotations as raw items, in one parse."""

    images: list[_Image]
    annotations: list[msgspec.Raw]
    categories: msgspec.Raw = msgspec.Raw()
    questions: msgspec.Raw = msgspec.Raw()


def _load_split(path: str, data: bytes | memoryview, mapped: MappedJson) -> CocoFile | None:
    """A captions (or other non-object) file in one pass: images typed, annotations split into raw
    items; ``None`` when anything does not fit (a bad image, no list, a VQA file), for the general
    reading, which names the problem."""
    try:
        top = msgspec.json.decode(data, type=_SplitTop)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if top.questions:
        return None
    coco = CocoFile(path, top.images, top.annotations, categories=top.categories, mapped=mapped)
    coco.release()  # parsed once: the annotations are read again chunk by chunk
    return coco


_object_decoder = msgspec.json.Decoder(ObjectAnnotation)


def _load_objects(
    path: str, data: bytes | memoryview, mapped: MappedJson, peeked: list[bytes]
) -> CocoFile | None:
    """An instances or keypoints file in one typed decode (the fastest way to read it), or ``None``
    when any item does not fit the types (the caller then reads it item by item and names the bad
    ones) or the peeked items turn out not to be the file's first annotations."""
    try:
        top = msgspec.json.decode(data, type=_ObjectsTop)
        same = [_object_decoder.decode(raw) for raw in peeked] == top.annotations[: len(peeked)]
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if not same:
        return None
    annotations = top.annotations
    complete = len(peeked) == _PEEK or len(peeked) == len(annotations)
    coco = CocoFile(
        path,
        top.images,
        categories=top.categories,
        mapped=mapped,
        typed_annotations=annotations,
        first_raw=peeked if complete else None,
    )
    coco.release()
    return coco


def _decode_items(
    path: str, key: str, raw: msgspec.Raw, item_type: type, findings: Findings
) -> list[tuple[int, msgspec.Struct]]:
    """Decode a list of items; a type error in one item is a finding naming it, not a crash."""
    try:
        items = msgspec.json.decode(raw, type=list[item_type])  # type: ignore[valid-type]
        return list(enumerate(items))
    except msgspec.ValidationError:
        pass
    try:
        raws = msgspec.json.decode(raw, type=list[msgspec.Raw])
    except msgspec.ValidationError as exc:
        raise InputError(f"{path}: `{key}` must be a list ({_got(raw)})") from exc
    decoder: msgspec.json.Decoder[msgspec.Struct] = msgspec.json.Decoder(item_type)
    good: list[tuple[int, msgspec.Struct]] = []
    for i, item in enumerate(raws):
        try:
            good.append((i, decoder.decode(item)))
        except msgspec.ValidationError:
            findings.add(_type_finding(path, key, i, item, item_type))
    return good


def _got(raw: msgspec.Raw) -> str:
    """``Expected `array`, got `object```, said of a value that should be a list."""
    mismatch = type_mismatch(raw, list[msgspec.Raw])
    return mismatch.message if mismatch is not None else "not a list"


_ENTRY_NAMES = {"categories": "category", "": "item"}  # "": the items of a top-level list (QA lists)


def _type_finding(path: str, key: str, index: int, raw: msgspec.Raw | bytes, item_type: Any) -> Finding:
    """The finding for an item that does not fit ``item_type`` (see :func:`jsonerrors.type_mismatch`)."""
    json_path = f"$.{key}[{index}]" if key else f"$[{index}]"
    mismatch = type_mismatch(raw, item_type)
    text = mismatch.message if mismatch is not None else "cannot be decoded"
    if mismatch is not None:
        json_path += mismatch.path[1:]
    entry = _ENTRY_NAMES.get(key) or (key[:-1] if key.endswith("s") else key)
    return Finding(
        code=f"coco-bad-{entry}",
        severity=Severity.ERROR,
        message=f"{text} in this {entry} entry",
        file=path,
        index=index,
        path=json_path,
        hint="fix the field's type; this entry is skipped",
    )


def detect_task(coco: CocoFile) -> str:
    """``caption``, ``detection``, ``pose`` or ``unknown``, from the first annotation's keys."""
    return _task_of(coco.first_annotations(_PEEK))


def _task_of(items: list[bytes] | list[msgspec.Raw]) -> str:
    for raw in items:
        try:
            keys = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
        except msgspec.ValidationError:
            continue
        if "caption" in keys:
            return "caption"
        if "keypoints" in keys:
            return "pose"
        if "bbox" in keys or "segmentation" in keys:
            return "detection"
    return "unknown"


_SPLIT_SUFFIXES = (".coco.json", ".json")
_PROBE = 2000


def find_images_dir(annotation_path: str, coco: CocoFile) -> tuple[str, str]:
    """Find the images folder the common COCO layouts use; return ``(folder, why)``.

    ``annotations/captions_val2017.json`` -> ``val2017/`` or ``images/val2017/`` (COCO);
    ``annotations/captions_val.json`` -> ``images/val/`` or ``val/`` (Datumaro, mmdetection);
    ``_annotations.coco.json`` or ``annotations.json`` beside the images (Roboflow, Kaggle).
    The candidate holding the most of the file's images wins.
    """
    ann = Path(annotation_path).resolve()
    here = ann.parent
    stem = ann.name
    for suffix in _SPLIT_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    # captions_val2017 -> val2017; person_keypoints_val2017 -> keypoints_val2017, then val2017
    splits = dict.fromkeys([stem.split("_", 1)[1], stem.rsplit("_", 1)[1]] if "_" in stem else [stem])
    roots = [here.parent, here] if here.name == "annotations" else [here]
    candidates: list[Path] = []
    for root in roots:
        for split in splits:
            candidates += [root / split, root / "images" / split]
    candidates += [here, here / "images"]
    names = [img.file_name for img in coco.images]
    probe = names[:: max(1, len(names) // _PROBE)]
    best: tuple[int, Path] | None = None
    seen: set[Path] = set()
    for cand in candidates:
        if cand in seen or not cand.is_dir():
            continue
        seen.add(cand)
        hits = sum(1 for name in probe if name and (cand / name).is_file())
        if hits and (best is None or hits > best[0]):
            best = (hits, cand)
    if best is None:
        tried = ", ".join(str(c) for c in dict.fromkeys(candidates))
        raise UsageError(
            f"cannot find the images of {annotation_path}: none of the usual folders holds them "
            f"(tried {tried})",
            hint="pass --images-dir FOLDER (the folder that `file_name` paths are relative to)",
        )
    hits, folder = best
    return str(folder), f"{hits} of {len(probe)} probed images found there"


def _image_index(coco: CocoFile, images_dir: str, findings: Findings) -> dict[Id, Media]:
    images = coco.images
    if len({img.id for img in images}) == len(images) == len({img.file_name for img in images}):
        # every id and every file once (the usual case): nothing to report, one comprehension
        prefix, image = f"{coco.path}:$.images[", MediaKind.IMAGE
        return {
            img.id: Media(
                image,
                img.file_name,
                images_dir,
                f"{prefix}{k}].file_name",
                None,
                int(img.width) if img.width is not None else None,
                int(img.height) if img.height is not None else None,
            )
            for k, img in enumerate(images)
        }
    return _image_index_checked(coco, images_dir, findings)


def _image_index_checked(coco: CocoFile, images_dir: str, findings: Findings) -> dict[Id, Media]:
    """:func:`_image_index` image by image, reporting repeated ids and shared files."""
    index: dict[Id, Media] = {}
    by_file: dict[str, Id] = {}
    for k, img in enumerate(coco.images):
        if img.id in index:
            findings.add(
                Finding(
                    code="coco-duplicate-image-id",
                    severity=Severity.ERROR,
                    message=f"image id {img.id!r} is listed twice; its annotations are ambiguous",
                    file=coco.path,
                    index=k,
                    path=f"$.images[{k}].id",
                    hint="give every image a unique id",
                )
            )
            continue
        other = by_file.get(img.file_name)
        if other is not None:
            findings.add(
                Finding(
                    code="coco-shared-file",
                    severity=Severity.WARNING,
                    message=f"image ids {other!r} and {img.id!r} share the file {img.file_name!r}",
                    file=coco.path,
                    index=k,
                    path=f"$.images[{k}].file_name",
                    hint="harmless for training, but check that the ids are meant to be one image",
                )
            )
        else:
            by_file[img.file_name] = img.id
        index[img.id] = Media(
            kind=MediaKind.IMAGE,
            path=img.file_name,
            base=images_dir,
            origin=f"{coco.path}:$.images[{k}].file_name",
            width=int(img.width) if img.width is not None else None,
            height=int(img.height) if img.height is not None else None,
        )
    return index


def _prompt_chooser(options: CocoOptions):  # type: ignore[no-untyped-def]
    prompts = options.prompts
    if len(prompts) == 1:
        only = Turn(Role.USER, prompts[0])
        return lambda _ann_id: only
    turns = [Turn(Role.USER, p) for p in prompts]
    n = len(turns)
    seed = options.seed
    return lambda ann_id: turns[zlib.crc32(f"{seed}:{ann_id}".encode()) % n]


_ASSISTANT = Role.ASSISTANT  # an enum member lookup costs ~0.5 us on Python 3.11: bind it once


class SeenIds:
    """The ids seen so far, in ~1 bit per possible id for COCO's small integer ids (a bitmap) instead
    of ~70 bytes per annotation in a set, so memory does not grow with the number of captions."""

    BITMAP_LIMIT = 1 << 27  # integer ids below this live in the bitmap (at most 16 MB); others in a set

    def __init__(self) -> None:
        self._bits = bytearray()
        self._other: set[Id] = set()

    def add_new(self, item: Id) -> bool:
        """Record ``item``; ``True`` if it was not seen before."""
        if type(item) is int and 0 <= item < self.BITMAP_LIMIT:
            byte = item >> 3
            bits = self._bits
            if byte >= len(bits):
                bits.extend(bytes(min(max(byte + 1, 2 * len(bits)), self.BITMAP_LIMIT >> 3) - len(bits)))
            mask = 1 << (item & 7)
            if bits[byte] & mask:
                return False
            bits[byte] |= mask
            return True
        if item in self._other:
            return False
        self._other.add(item)
        return True

    def overlaps(self, other: SeenIds) -> bool:
        """Whether an id was seen by both."""
        bits = int.from_bytes(self._bits, "little") & int.from_bytes(other._bits, "little")
        return bits != 0 or not self._other.isdisjoint(other._other)

    def add_all(self, items: Sequence[Id]) -> set[int]:
        """Record ``items`` in order; the positions of those seen before (in ``items`` or earlier)."""
        repeated: set[int] = set()
        bits = self._bits
        limit = self.BITMAP_LIMIT
        add_new = self.add_new
        for pos, item in enumerate(items):
            if type(item) is int and 0 <= item < limit and (item >> 3) < len(bits):
                byte = item >> 3
                mask = 1 << (item & 7)
                if bits[byte] & mask:
                    repeated.add(pos)
                else:
                    bits[byte] |= mask
            elif not add_new(item):
                repeated.add(pos)
        return repeated


def _caption_samples(
    coco: CocoFile,
    index: dict[Id, Media],
    options: CocoOptions,
    findings: Findings,
    seen_ids: SeenIds,
    lo: int = 0,
    hi: int | None = None,
) -> Iterator[Sample]:
    """The samples of annotations ``lo`` to ``hi`` (all by default), recording their ids in ``seen_ids``."""
    path = coco.path
    choose = _prompt_chooser(options)
    fixed_prompt = choose(None) if len(options.prompts) == 1 else None
    decoder = msgspec.json.Decoder(list[_Caption])
    item_decoder = msgspec.json.Decoder(_Caption)
    raws = coco.annotations
    hi = len(raws) if hi is None else hi
    for start in range(lo, hi, _CHUNK):
        if start > lo and (start - lo) % _RELEASE_EVERY == 0:
            coco.release()
        block = raws[start : min(start + _CHUNK, hi)]
        where: Sequence[int]
        try:
            anns: list[_Caption] = decoder.decode(b"[" + b",".join(block) + b"]")
            where = range(start, start + len(anns))  # the annotation index of each
        except msgspec.ValidationError:
            anns, where = [], []
            for i, raw in enumerate(block, start):
                try:
                    anns.append(item_decoder.decode(raw))
                    where.append(i)
                except msgspec.ValidationError:
                    findings.skip(_type_finding(path, "annotations", i, raw, _Caption))
        repeated = {where[pos] for pos in seen_ids.add_all([ann.id for ann in anns])}
        for i, ann in zip(where, anns):  # noqa: B905 - the same length by construction
            ann_id = ann.id
            if repeated and i in repeated:
                findings.skip(
                    Finding(
                        code="coco-duplicate-annotation-id",
                        severity=Severity.ERROR,
                        message=f"annotation id {ann_id!r} is used twice",
                        file=path,
                        index=i,
                        path=f"$.annotations[{i}].id",
                        ids={"annotation_id": ann_id, "image_id": ann.image_id},
                        hint="give every annotation a unique id; this one is skipped",
                    )
                )
                continue
            media = index.get(ann.image_id)
            if media is None:
                findings.skip(
                    Finding(
                        code="coco-dangling-image-id",
                        severity=Severity.ERROR,
                        message=f"annotation {ann_id!r} refers to image id {ann.image_id!r}, "
                        "which is not in `images`",
                        file=path,
                        index=i,
                        path=f"$.annotations[{i}].image_id",
                        ids={"annotation_id": ann_id, "image_id": ann.image_id},
                        hint="add the image to `images` or remove the annotation",
                    )
                )
                continue
            caption = ann.caption.strip()
            if not caption:
                findings.skip(
                    Finding(
                        code="coco-empty-caption",
                        severity=Severity.ERROR,
                        message="the caption is empty (or only whitespace)",
                        file=path,
                        index=i,
                        path=f"$.annotations[{i}].caption",
                        ids={"annotation_id": ann_id, "image_id": ann.image_id},
                        hint="write a caption or remove the annotation",
                    )
                )
                continue
            yield Sample(
                (fixed_prompt or choose(ann_id), Turn(_ASSISTANT, caption)),
                SourceRef(
                    path,
                    i,
                    f"$.annotations[{i}]",
                    (("annotation_id", ann_id), ("image_id", ann.image_id)),
                    _CAPTION_TURN_PATHS,
                ),
                (media,),
            )


def read(paths: Sequence[str], options: CocoOptions, findings: Findings, name: str = "") -> Dataset:
    """Read COCO files into a :class:`Dataset` (samples are produced lazily).

    One captions file is read here; several files, other tasks and VQA go to
    :func:`mmconvert.converters.coco_tasks.read_tasks`.
    """
    from mmconvert.converters.coco_tasks import read_tasks

    if len(paths) != 1 or options.task not in (None, "caption"):
        return read_tasks(paths, options, findings, name)
    path = os.fspath(paths[0])
    coco = load(path, findings)
    task = detect_task(coco)
    labels_only = task == "unknown" and bool(coco.annotations)  # e.g. Datumaro's labels_*.json
    if coco.questions or labels_only or task not in ("caption", "unknown"):
        return read_tasks(paths, options, findings, name, loaded=[coco])
    images_dir = options.images_dir
    notes: list[str] = []
    if images_dir is None:
        images_dir, why = find_images_dir(path, coco)
        notes.append(f"images folder: {images_dir} ({why}); use --images-dir to choose another")
    images_dir = os.path.abspath(images_dir)
    if not os.path.isdir(images_dir):
        raise UsageError(f"--images-dir {images_dir}: no such folder")
    index = _image_index(coco, images_dir, findings)
    count = len(coco.annotations)

    def part(k: int, n: int) -> Part:
        seen = SeenIds()
        lo, hi = count * k // n, count * (k + 1) // n
        return Part(_caption_samples(coco, index, options, findings, seen, lo, hi), seen)

    return Dataset(
        name=name,
        samples=_caption_samples(coco, index, options, findings, SeenIds()),
        source_files=(path,),
        media_kinds=frozenset({MediaKind.IMAGE}),
        description=f"COCO captions from {path}",
        notes=tuple(notes),
        parts=part,
        size=count,
    )
