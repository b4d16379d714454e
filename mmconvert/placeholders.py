"""Placeholder tags (``<image>``, ``<video>``, ``<audio>``): LF 0.9.5's counting rule, insertion,
trimming and literal-tag handling, as pure functions of a :class:`~mmconvert.model.Sample`.

LF counts each tag with ``str.count`` (exact, case-sensitive) over the content of every message handed
to the multimodal plugin: all prompt messages plus the response being encoded, never the system prompt
or tools.  Preference samples are checked twice, prompt+chosen and prompt+rejected, against the same
media list.  A mismatch is ``ValueError("The number of images does not match the number of <image>
tokens in [...]")`` and aborts the whole training run.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import msgspec

from mmconvert.findings import Finding, Severity
from mmconvert.model import MEDIA_KINDS, MediaKind, Role, Sample, Turn
from mmconvert.options import LiteralPolicy, PassOptions, PlaceholderPolicy, PlaceholderTokens

PROMPT_ROLES = frozenset({Role.USER})
ANSWER_ROLES = frozenset({Role.ASSISTANT, Role.FUNCTION, Role.OBSERVATION})
_PLURAL = {MediaKind.IMAGE: "images", MediaKind.VIDEO: "videos", MediaKind.AUDIO: "audios"}
_MAX_MESSAGES_SHOWN = 300


def count_in_turns(turns: Sequence[Turn], token: str) -> int:
    """How many times LF sees ``token`` in these messages."""
    return sum(turn.content.count(token) for turn in turns)


def lf_message_sets(sample: Sample) -> list[tuple[Turn, ...]]:
    """The message lists LF's plugin validates for this sample: one, or two for preference data."""
    if sample.chosen is not None or sample.rejected is not None:
        sets = []
        for answer in (sample.chosen, sample.rejected):
            if answer is not None:
                sets.append((*sample.turns, answer))
        return sets
    return [sample.turns]


def _lf_messages_repr(turns: Sequence[Turn]) -> str:
    text = repr([{"role": str(t.role), "content": t.content} for t in turns])
    if len(text) > _MAX_MESSAGES_SHOWN:
        text = text[: _MAX_MESSAGES_SHOWN - 5] + " ...]"
    return text


def check_placeholder_counts(
    sample: Sample, tokens: PlaceholderTokens, dataset: str | None = None
) -> list[Finding]:
    """LF 0.9.5's exact per-sample count check: one ``placeholder-count`` error per failing kind."""
    findings: list[Finding] = []
    for kind in MEDIA_KINDS:
        n_media = len(sample.media(kind))
        token = tokens.for_kind(kind)
        for messages in lf_message_sets(sample):
            n_tags = count_in_turns(messages, token)
            if n_tags != n_media:
                plural = _PLURAL[kind]
                findings.append(
                    Finding.at(
                        sample.source,
                        "placeholder-count",
                        Severity.ERROR,
                        f"The number of {plural} does not match the number of {token} tokens in "
                        f"{_lf_messages_repr(messages)}. ({n_media} {plural}, {n_tags} {token} tags)",
                        hint=f"put exactly one {token} in the user turns per attached item "
                        f"(--placeholders insert adds missing ones, trim removes extra ones)",
                        dataset=dataset,
                    )
                )
                break
    return findings


def _answers(sample: Sample) -> list[tuple[str, Turn]]:
    """(JSON sub-path, turn) of every turn whose tags LF counts but where a tag is a literal."""
    out = [(f".turns[{i}]", t) for i, t in enumerate(sample.turns) if t.role in ANSWER_ROLES]
    if sample.chosen is not None:
        out.append((".chosen", sample.chosen))
    if sample.rejected is not None:
        out.append((".rejected", sample.rejected))
    return out


def _source_subpath(sample: Sample, subpath: str) -> str:
    """Map the model sub-path ``.turns[i]`` to the turn's path in the source record, when known."""
    if subpath.startswith(".turns["):
        return sample.source.turn_path(int(subpath[7:-1]))
    return subpath


def _handle_literals(
    sample: Sample, options: PassOptions, dataset: str | None, findings: list[Finding]
) -> Sample:
    tokens = [options.tokens.for_kind(k) for k in MEDIA_KINDS]
    if sample.system and any(tok in sample.system for tok in tokens):
        findings.append(
            Finding.at(
                sample.source,
                "placeholder-in-system",
                Severity.WARNING,
                "the system prompt contains a placeholder tag; LF does not count it there, "
                "and it stays in the text as-is",
                hint="move the tag into the first user turn",
                subpath=".system",
                dataset=dataset,
            )
        )
    replaced: dict[str, Turn] = {}
    for subpath, turn in _answers(sample):
        hits = [tok for tok in tokens if tok in turn.content]
        if not hits:
            continue
        role = "answer" if turn.role is Role.ASSISTANT else f"{turn.role} turn"
        if options.literal is LiteralPolicy.ERROR:
            findings.append(
                Finding.at(
                    sample.source,
                    "placeholder-literal",
                    Severity.ERROR,
                    f"the {role} text contains the literal tag {hits[0]}, which LF counts as a "
                    f"media slot (the count check fails or an image lands in the labels)",
                    hint="fix the text, or use --literal-tags rewrite to replace such tags with "
                    f"{options.literal_text!r}",
                    subpath=_source_subpath(sample, subpath),
                    dataset=dataset,
                )
            )
            continue
        content = turn.content
        for tok in hits:
            content = content.replace(tok, options.literal_text)
        replaced[subpath] = Turn(turn.role, content)
        findings.append(
            Finding.at(
                sample.source,
                "placeholder-literal-rewritten",
                Severity.WARNING,
                f"the literal tag {hits[0]} in the {role} text was replaced by {options.literal_text!r}",
                subpath=_source_subpath(sample, subpath),
                dataset=dataset,
            )
        )
    if not replaced:
        return sample
    turns = tuple(replaced.get(f".turns[{i}]", t) for i, t in enumerate(sample.turns))
    return msgspec.structs.replace(
        sample,
        turns=turns,
        chosen=replaced.get(".chosen", sample.chosen),
        rejected=replaced.get(".rejected", sample.rejected),
    )


def _trim_last(content: str, token: str, excess: int) -> str:
    for _ in range(excess):
        pos = content.rfind(token)
        if pos < 0:
            break
        content = content[:pos] + content[pos + len(token) :]
    return content


def reconcile_placeholders(
    sample: Sample, options: PassOptions, dataset: str | None = None
) -> tuple[Sample, list[Finding]]:
    """Apply the placeholder policy, then LF's exact count check.

    Missing tags are inserted at the start of the first user turn, in media order (images, videos,
    audios); with ``trim`` excess tags are removed from the last ones backwards.  Literal tags in
    answers are an error or rewritten.  The returned findings include LF's own count check on the
    result, so a sample without error findings is one LF accepts.
    """
    case_findings = wrong_case_tags(sample, options.tokens, dataset)
    quick = _reconcile_quick(sample, options)
    if quick is not None:
        return quick, case_findings
    sample, findings = _reconcile_full(sample, options, dataset)
    return sample, case_findings + findings if case_findings else findings


@functools.lru_cache(maxsize=8)
def _case_insensitive_tags(tokens: PlaceholderTokens) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(t) for t in (tokens.image, tokens.video, tokens.audio)), re.I)


def wrong_case_tags(sample: Sample, tokens: PlaceholderTokens, dataset: str | None = None) -> list[Finding]:
    """A warning per text holding a tag in the wrong case (``<Image>``): LF counts only the exact tag,
    so such text is no media slot and is not converted; it stays plain text.  Costs one ``"<" in``
    scan per turn unless a ``<`` is there."""
    image, video, audio = tokens.image, tokens.video, tokens.audio
    for turn in sample.turns:
        content = turn.content
        if "<" in content and content.count("<") != (
            content.count(image) + content.count(video) + content.count(audio)
        ):
            break
    else:
        if sample.chosen is None and sample.rejected is None and not sample.system:
            return []
    findings: list[Finding] = []
    for i, turn in enumerate(sample.turns):
        if "<" in turn.content:
            _find_wrong_case(sample, turn.content, tokens, sample.source.turn_path(i), dataset, findings)
    for subpath, answer in ((".chosen", sample.chosen), (".rejected", sample.rejected)):
        if answer is not None and "<" in answer.content:
            _find_wrong_case(sample, answer.content, tokens, subpath, dataset, findings)
    if sample.system and "<" in sample.system:
        _find_wrong_case(sample, sample.system, tokens, ".system", dataset, findings)
    return findings


def _find_wrong_case(
    sample: Sample,
    content: str,
    tokens: PlaceholderTokens,
    subpath: str,
    dataset: str | None,
    findings: list[Finding],
) -> None:
    exact = (tokens.image, tokens.video, tokens.audio)
    for match in _case_insensitive_tags(tokens).finditer(content):
        wrong = match.group()
        if wrong in exact:
            continue
        right = next(t for t in exact if t.lower() == wrong.lower())
        findings.append(
            Finding.at(
                sample.source,
                "placeholder-wrong-case",
                Severity.WARNING,
                f"{wrong} is not LF's tag: LF counts only the exact {right} (case-sensitive), so this "
                "text is no media slot and stays in the prompt as written",
                hint=f"write {right} if a media item belongs here, or reword the text",
                subpath=subpath,
                dataset=dataset,
            )
        )
        return


_NO_TAGS = (0, 0, 0)
_STRICT = PlaceholderPolicy.STRICT  # an enum member lookup costs ~0.5 us on Python 3.11: bind it once


class _Prefixed(NamedTuple):
    turn: Turn
    counts: tuple[int, int, int]  # image, video, audio tags in the new content


_PREFIXED: dict[tuple[str, str, str, str, str], _Prefixed] = {}
#: The last (prompt, answer) sample that got a tag inserted: [prompt turn, tokens, policy, images,
#: new prompt turn].  Samples sharing the prompt object (COCO captions) reuse the answer at once.
_LAST_PAIR: list[Any] = [None, None, None, -1, None]
_PREFIXED_LIMIT = 4096


def _prefixed(prefix: str, turn: Turn, tokens: PlaceholderTokens) -> _Prefixed:
    """``turn`` with ``prefix`` put in front, and its tag counts; memoised per (prefix, text, tokens):
    most samples of one dataset share their prompt text."""
    image, video, audio = tokens.image, tokens.video, tokens.audio
    key = (prefix, turn.content, image, video, audio)
    hit = _PREFIXED.get(key)
    if hit is None or hit.turn.role is not turn.role:
        new = Turn(turn.role, prefix + turn.content)
        content = new.content
        hit = _Prefixed(new, (content.count(image), content.count(video), content.count(audio)))
        if len(_PREFIXED) >= _PREFIXED_LIMIT:
            _PREFIXED.clear()
        _PREFIXED[key] = hit
    return hit


def _reconcile_quick(sample: Sample, options: PassOptions) -> Sample | None:
    """The result of :func:`_reconcile_full` when it has no findings, found without building any;
    ``None`` when that is not certain (then the full path decides).

    Certain means: no tag in the system prompt or in any turn that is not a user turn (so nothing is a
    literal and LF's count equals the user turns' count), and the user turns either match the media
    already or only lack tags that the policy inserts.  The inserted turn and its tag counts are
    memoised per (prefix, text): a COCO run has one prompt, so 592k samples cost one insertion.
    """
    tokens = options.tokens
    image, video, audio = tokens.image, tokens.video, tokens.audio
    turns = sample.turns
    last = _LAST_PAIR
    if (
        len(turns) == 2
        and turns[0] is last[0]
        and tokens is last[1]
        and options.placeholders is last[2]
        and len(sample.images) == last[3]
        and sample.system is None
        and sample.chosen is None
        and sample.rejected is None
        and not sample.videos
        and not sample.audios
    ):
        # Same prompt turn object and media count as the last (prompt, answer) sample: same result.
        reply = turns[1]
        content = reply.content
        if reply.role not in PROMPT_ROLES and not (image in content or video in content or audio in content):
            return msgspec.structs.replace(sample, turns=(last[4], reply))
    system = sample.system
    if system is not None and (image in system or video in system or audio in system):
        return None
    n_image = n_video = n_audio = 0
    first = -1
    first_counts = _NO_TAGS
    for i, turn in enumerate(sample.turns):
        content = turn.content
        if turn.role in PROMPT_ROLES:
            counts = (content.count(image), content.count(video), content.count(audio))
            if first < 0:
                first, first_counts = i, counts
            n_image += counts[0]
            n_video += counts[1]
            n_audio += counts[2]
        elif image in content or video in content or audio in content:
            return None
    for answer in (sample.chosen, sample.rejected):
        if answer is not None:
            content = answer.content
            if image in content or video in content or audio in content:
                return None
    want_image, want_video, want_audio = len(sample.images), len(sample.videos), len(sample.audios)
    if n_image == want_image and n_video == want_video and n_audio == want_audio:
        return sample
    if (
        n_image > want_image
        or n_video > want_video
        or n_audio > want_audio
        or first < 0
        or options.placeholders is _STRICT
    ):
        return None
    prefix = image * (want_image - n_image) + video * (want_video - n_video) + audio * (want_audio - n_audio)
    turn = sample.turns[first]
    hit = _prefixed(prefix, turn, tokens)
    added = hit.counts
    if (
        n_image - first_counts[0] + added[0] != want_image
        or n_video - first_counts[1] + added[1] != want_video
        or n_audio - first_counts[2] + added[2] != want_audio
    ):
        return None  # the prefix joined the text into an extra tag: let the full path report it
    if (
        first == 0
        and len(turns) == 2
        and sample.system is None
        and sample.chosen is None
        and sample.rejected is None
        and not sample.videos
        and not sample.audios
    ):
        _LAST_PAIR[:] = [turn, tokens, options.placeholders, want_image, hit.turn]
    return msgspec.structs.replace(sample, turns=(*turns[:first], hit.turn, *turns[first + 1 :]))


def _reconcile_full(
    sample: Sample, options: PassOptions, dataset: str | None
) -> tuple[Sample, list[Finding]]:
    """:func:`reconcile_placeholders` for every case, findings included."""
    findings: list[Finding] = []
    tokens = options.tokens
    has_media = sample.images or sample.videos or sample.audios
    needs_literal_check = False
    for _, turn in _answers(sample):
        if any(tokens.for_kind(k) in turn.content for k in MEDIA_KINDS):
            needs_literal_check = True
            break
    if needs_literal_check or (sample.system and "<" in sample.system):
        sample = _handle_literals(sample, options, dataset, findings)

    if has_media or any(tokens.for_kind(k) in t.content for t in sample.turns for k in MEDIA_KINDS):
        sample = _fit_prompt_tags(sample, options, dataset, findings)
    if any(f.severity is Severity.ERROR for f in findings):
        return sample, findings
    findings.extend(check_placeholder_counts(sample, tokens, dataset))
    return sample, findings


def _fit_prompt_tags(
    sample: Sample, options: PassOptions, dataset: str | None, findings: list[Finding]
) -> Sample:
    tokens = options.tokens
    prompt_idx = [i for i, t in enumerate(sample.turns) if t.role in PROMPT_ROLES]
    prefix = ""
    turns = list(sample.turns)
    for kind in MEDIA_KINDS:
        token = tokens.for_kind(kind)
        n_media = len(sample.media(kind))
        n_tags = sum(turns[i].content.count(token) for i in prompt_idx)
        if n_tags == n_media:
            continue
        plural = _PLURAL[kind]
        if n_tags < n_media:
            if options.placeholders is PlaceholderPolicy.STRICT:
                findings.append(
                    Finding.at(
                        sample.source,
                        "placeholder-missing",
                        Severity.ERROR,
                        f"{n_media} {plural} attached but {n_tags} {token} tags in the user turns",
                        hint="add the tags, or use --placeholders insert to put them at the start "
                        "of the first user turn",
                        dataset=dataset,
                    )
                )
            else:
                prefix += token * (n_media - n_tags)
            continue
        if options.placeholders is PlaceholderPolicy.TRIM:
            excess = n_tags - n_media
            for i in reversed(prompt_idx):
                if excess == 0:
                    break
                here = turns[i].content.count(token)
                if here:
                    take = min(here, excess)
                    turns[i] = Turn(turns[i].role, _trim_last(turns[i].content, token, take))
                    excess -= take
                    for _ in range(take):
                        findings.append(
                            Finding.at(
                                sample.source,
                                "placeholder-trimmed",
                                Severity.WARNING,
                                f"removed an extra {token} tag with no {kind} attached",
                                subpath=sample.source.turn_path(i),
                                dataset=dataset,
                            )
                        )
        else:
            findings.append(
                Finding.at(
                    sample.source,
                    "placeholder-excess",
                    Severity.ERROR,
                    f"{n_tags} {token} tags in the user turns but {n_media} {plural} attached",
                    hint=f"remove the extra tags or attach the missing {plural} "
                    "(--placeholders trim removes tags that have no media)",
                    dataset=dataset,
                )
            )
    if prefix:
        if not prompt_idx:
            findings.append(
                Finding.at(
                    sample.source,
                    "placeholder-no-user-turn",
                    Severity.ERROR,
                    "media are attached but the sample has no user turn to hold their tags",
                    hint="add a user turn before the first answer",
                    dataset=dataset,
                )
            )
            return sample
        first = prompt_idx[0]
        turns[first] = _prefixed(prefix, turns[first], tokens).turn
    if turns != list(sample.turns):
        return msgspec.structs.replace(sample, turns=tuple(turns))
    return sample
