"""VQA v2 (``v2_OpenEnded_mscoco_*_questions.json`` + ``v2_mscoco_*_annotations.json``) into one chat
per question.

Answers are joined on ``question_id``.  The answer written is the most common of the human answers
(ties: the one given first), or with ``vqa_answer="multiple-choice"`` the annotation's
``multiple_choice_answer``.  The image comes from the question's ``image_id``: the shared COCO image
index when an instances or captions file in the same run lists it, else COCO's naming
``COCO_<data_subtype>_<image_id:012d>.jpg``.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import msgspec

from mmconvert.converters.coco import CocoFile, _decode_items
from mmconvert.converters.coco_objects import pick_prompt
from mmconvert.errors import InputError, UsageError
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.io import describe_decode_error, read_json_bytes
from mmconvert.jsonerrors import type_mismatch
from mmconvert.model import Media, MediaKind, Role, Sample, SourceRef, Turn
from mmconvert.options import CocoOptions

Id = int | str

DEFAULT_VQA_PROMPT = "{question}\nAnswer the question using a single word or phrase."


class _Question(msgspec.Struct, gc=False):
    question_id: Id
    image_id: Id
    question: str


class _Answer(msgspec.Struct, gc=False):
    answer: str


class _Annotation(msgspec.Struct, gc=False):
    question_id: Id
    answers: list[_Answer] = []
    multiple_choice_answer: str | None = None


class _AnswersTop(msgspec.Struct):
    annotations: msgspec.Raw = msgspec.Raw()


def choose_answer(annotation: _Annotation, mode: str) -> str | None:
    """The answer to train on, or ``None`` when the annotation has none."""
    if mode == "multiple-choice":
        chosen = (annotation.multiple_choice_answer or "").strip()
        return chosen or None
    counts = Counter(a.answer.strip() for a in annotation.answers if a.answer.strip())
    if not counts:
        return None
    return counts.most_common(1)[0][0]  # Counter keeps first-seen order among ties


def load_answers(path: str, findings: Findings) -> tuple[dict[Id, tuple[int, _Annotation]], str]:
    """``question_id -> (index, annotation)`` from a VQA annotations file."""
    data = read_json_bytes(path)
    try:
        top = msgspec.json.decode(data, type=_AnswersTop)
    except msgspec.ValidationError as exc:
        mismatch = type_mismatch(data, _AnswersTop)
        raise InputError(
            f"--answers {path}: not a VQA annotations file (a JSON object with `annotations`): "
            + (str(mismatch) if mismatch is not None else "cannot be decoded")
        ) from exc
    except msgspec.DecodeError as exc:
        raise InputError(describe_decode_error(path, exc, data)) from exc
    if not top.annotations:
        raise InputError(f"--answers {path}: no `annotations` key: not a VQA annotations file")
    out: dict[Id, tuple[int, _Annotation]] = {}
    for i, ann in _decode_items(path, "annotations", top.annotations, _Annotation, findings):
        assert isinstance(ann, _Annotation)
        if ann.question_id in out:
            findings.add(
                Finding(
                    code="vqa-duplicate-answer",
                    severity=Severity.ERROR,
                    message=f"question id {ann.question_id!r} has two annotation entries",
                    file=path,
                    index=i,
                    path=f"$.annotations[{i}].question_id",
                    hint="keep one annotation per question",
                )
            )
            continue
        out[ann.question_id] = (i, ann)
    return out, path


def find_vqa_images_dir(questions_path: str, subtype: str | None) -> tuple[str, str]:
    """The folder holding ``COCO_<subtype>_*.jpg`` files, from the usual layouts."""
    here = Path(questions_path).resolve().parent
    names = [subtype] if subtype else []
    candidates: list[Path] = []
    for root in (here, here.parent):
        candidates += [root / n for n in names] + [root / "images" / n for n in names]
    candidates += [here.parent / "images" / here.name, here, here / "images"]
    prefix = f"COCO_{subtype}_" if subtype else "COCO_"
    for cand in dict.fromkeys(candidates):
        if cand.is_dir():
            with os.scandir(cand) as entries:
                hits = sum(1 for e in entries if e.name.startswith(prefix))
            if hits:
                return str(cand), f"{hits} {prefix}* file(s) there"
    tried = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise UsageError(
        f"cannot find the images of {questions_path} (tried {tried})",
        hint="pass --images-dir FOLDER (the folder holding the COCO_<split>_<id>.jpg files)",
    )


def vqa_samples(
    coco: CocoFile,
    index: dict[Id, Media],
    images_dir: str,
    answers: dict[Id, tuple[int, _Annotation]],
    answers_path: str,
    options: CocoOptions,
    findings: Findings,
) -> Iterator[Sample]:
    """One chat per question of a loaded questions file (``coco.questions``)."""
    path = coco.path
    prompts = options.task_prompts or (DEFAULT_VQA_PROMPT,)
    subtype = coco.data_subtype
    used: set[Id] = set()
    for i, q in _decode_items(path, "questions", coco.questions, _Question, findings):
        assert isinstance(q, _Question)
        ids: tuple[tuple[str, int | str], ...] = (("question_id", q.question_id), ("image_id", q.image_id))
        source = SourceRef(path, i, f"$.questions[{i}]", ids)
        hit = answers.get(q.question_id)
        if hit is None:
            findings.add(
                Finding.at(
                    source,
                    "vqa-missing-answer",
                    Severity.ERROR,
                    f"question {q.question_id!r} has no entry in the answers file {answers_path}",
                    hint="pass the matching --answers file, or drop the question",
                    subpath=".question_id",
                )
            )
            continue
        used.add(q.question_id)
        k, ann = hit
        answer = choose_answer(ann, options.vqa_answer)
        if answer is None:
            field = "multiple_choice_answer" if options.vqa_answer == "multiple-choice" else "answers"
            findings.add(
                Finding(
                    code="vqa-no-answer",
                    severity=Severity.ERROR,
                    message=f"question {q.question_id!r} has no non-empty answer in `{field}`",
                    file=answers_path,
                    index=k,
                    path=f"$.annotations[{k}].{field}",
                    ids=dict(ids),
                    hint="use --vqa-answer most-common when `multiple_choice_answer` is absent"
                    if field == "multiple_choice_answer"
                    else "drop the question or add answers",
                )
            )
            continue
        question = q.question.strip()
        if not question:
            findings.add(
                Finding.at(
                    source,
                    "vqa-empty-question",
                    Severity.ERROR,
                    "the question is empty",
                    hint="write the question or drop it",
                    subpath=".question",
                )
            )
            continue
        media = index.get(q.image_id)
        if media is None:
            if subtype is None or not isinstance(q.image_id, int):
                findings.add(
                    Finding.at(
                        source,
                        "vqa-unknown-image",
                        Severity.ERROR,
                        f"image id {q.image_id!r} is in no `images` list of this run and the questions "
                        "file has no `data_subtype` to name its file (COCO_<subtype>_<id>.jpg)",
                        hint="also pass the COCO instances or captions file of these images",
                        subpath=".image_id",
                    )
                )
                continue
            name = f"COCO_{subtype}_{q.image_id:012d}.jpg"
            media = Media(
                kind=MediaKind.IMAGE, path=name, base=images_dir, origin=f"{path}:$.questions[{i}].image_id"
            )
            index[q.image_id] = media
        yield Sample(
            turns=(
                Turn(Role.USER, pick_prompt(prompts, options.seed, q.question_id).format(question=question)),
                Turn(Role.ASSISTANT, answer),
            ),
            source=source,
            images=(media,),
        )
    orphans = [qid for qid in answers if qid not in used]
    for qid in orphans:
        k, _ = answers[qid]
        findings.add(
            Finding(
                code="vqa-orphan-answer",
                severity=Severity.WARNING,
                message=f"the answers file has question id {qid!r}, which is not in {path}",
                file=answers_path,
                index=k,
                path=f"$.annotations[{k}].question_id",
                hint="check that the questions and answers files are of the same split",
            )
        )


class _QAItem(msgspec.Struct, gc=False):
    question: str
    answer: str | list[str] | None = None
    answers: list[str | _Answer] | None = None
    image_id: Id | None = None
    image: str | None = None
    file_name: str | None = None
    question_id: Id | None = None


def _qa_answer(item: _QAItem) -> str | None:
    given: list[str] = []
    if isinstance(item.answer, str):
        given = [item.answer]
    elif isinstance(item.answer, list):
        given = item.answer
    elif item.answers:
        given = [a if isinstance(a, str) else a.answer for a in item.answers]
    counts = Counter(a.strip() for a in given if a.strip())
    return counts.most_common(1)[0][0] if counts else None


def qa_list_samples(
    coco: CocoFile, index: dict[Id, Media], images_dir: str, options: CocoOptions, findings: Findings
) -> Iterator[Sample]:
    """One chat per item of a COCO-QA-like list: ``{"question", "answer" (or a list: the most common),
    "image" / "file_name" (relative to the images folder) or "image_id" (from the run's image index)}``."""
    path = coco.path
    prompts = options.task_prompts or (DEFAULT_VQA_PROMPT,)
    for i, item in _decode_items(path, "", coco.questions, _QAItem, findings):
        assert isinstance(item, _QAItem)
        ids: list[tuple[str, int | str]] = []
        if item.question_id is not None:
            ids.append(("question_id", item.question_id))
        if item.image_id is not None:
            ids.append(("image_id", item.image_id))
        source = SourceRef(path, i, f"$[{i}]", tuple(ids))
        answer = _qa_answer(item)
        question = item.question.strip()
        if answer is None or not question:
            what = "answer" if answer is None else "question"
            findings.add(
                Finding.at(
                    source,
                    "vqa-no-answer" if answer is None else "vqa-empty-question",
                    Severity.ERROR,
                    f"the item has no non-empty {what}",
                    hint=f"write the {what} or drop the item",
                    subpath=f".{what}",
                )
            )
            continue
        name = item.image or item.file_name
        media = index.get(item.image_id) if item.image_id is not None and not name else None
        if name:
            media = Media(kind=MediaKind.IMAGE, path=name, base=images_dir, origin=f"{path}:$[{i}]")
        if media is None:
            findings.add(
                Finding.at(
                    source,
                    "vqa-unknown-image",
                    Severity.ERROR,
                    "the item names no image (`image`/`file_name`), and its `image_id` is in no `images` "
                    "list of this run",
                    hint="add the image's file name, or also pass the COCO file listing its image id",
                )
            )
            continue
        yield Sample(
            turns=(
                Turn(Role.USER, pick_prompt(prompts, options.seed, i).format(question=question)),
                Turn(Role.ASSISTANT, answer),
            ),
            source=source,
            images=(media,),
        )
