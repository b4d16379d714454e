"""LLaMA-Factory 0.9.5's acceptance rules, applied to an existing dataset folder without running LF.

Each requested ``dataset_info.json`` entry is linted (:func:`mmconvert.dataset_info.lint_entry`), opened
through :mod:`mmconvert.converters.lfdata` (LF's loader and converters), and every aligned row is judged
by :class:`SampleJudge`, a chain of per-sample checks in LF's order: the stage's keep rule (silent drops),
the template's modalities, the placeholder count (:func:`mmconvert.placeholders.check_placeholder_counts`),
media files (LF's path rule, ``--check`` tier), then what the template's formatters raise on (non-string
content, system, tools, function calls).  Each problem is a finding; a sample with an error finding is one
LF rejects, drops or aborts on.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import msgspec

from mmconvert.converters.lfdata import (
    ASSISTANT,
    FUNCTION,
    MEDIA_COLUMNS,
    OBSERVATION,
    USER,
    Aligned,
    LoadProblem,
    OpenedDataset,
    crash_message,
    open_entry,
    read_registry,
)
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.io import paused_gc
from mmconvert.lf_templates import TEMPLATES, LfTemplate
from mmconvert.media import DirectoryIndex, FileState
from mmconvert.model import Role, Sample, SourceRef, Turn
from mmconvert.options import PlaceholderTokens
from mmconvert.placeholders import check_placeholder_counts

STAGES = ("sft", "rm", "kto", "pt", "ppo")
STAGE_ALIASES = {"dpo": "rm", "orpo": "rm", "simpo": "rm"}
_TURN_ROLES = {
    USER: Role.USER,
    ASSISTANT: Role.ASSISTANT,
    FUNCTION: Role.FUNCTION,
    OBSERVATION: Role.OBSERVATION,
}
_PLAIN_ROLES = frozenset({USER, ASSISTANT, OBSERVATION})
_KIND_OF = {"images": "image", "videos": "video", "audios": "audio"}
_MEDIA_KINDS = tuple((column, _KIND_OF[column]) for column, _ in MEDIA_COLUMNS)
_MAX_SHOWN = 300
_CONTENT = itemgetter("content")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 5] + " ...]"


@dataclass(frozen=True)
class ValidateOptions:
    """What LF's run would use: stage, template, placeholder texts, media_dir, and the media check tier."""

    stage: str = "sft"
    template: str | None = None
    tokens: PlaceholderTokens = field(default_factory=PlaceholderTokens)
    check: str = "header"
    media_dir: str | None = None
    cutoff_len: int | None = None
    jobs: int | None = None
    count_placeholders: bool = True  # off when importing: the convert pipeline's own pass handles tags

    @property
    def lf_template(self) -> LfTemplate | None:
        return TEMPLATES.get(self.template) if self.template else None


_MISSING = "FileNotFoundError: [Errno 2] No such file or directory: {path!r}"


class MediaProbe:
    """Whether LF can open media paths (relative paths from the CWD, as LF opens them), once per path.

    Uses :func:`mmconvert.media.check_media_files` (parallel, tiered) when it is available, else a
    folder-listing existence check plus Pillow for images.
    """

    def __init__(self, tier: str, jobs: int | None = None) -> None:
        self.tier = tier
        self.jobs = jobs
        self._index = DirectoryIndex()
        self._cache: dict[str, tuple[str, str] | None] = {}
        self._sizes: dict[str, tuple[int, int]] = {}
        #: Why some files were checked less deeply than asked (PyAV missing), once per run.
        self.skipped: str | None = None

    def check_many(self, items: dict[str, str]) -> None:
        """Check ``{path: kind}`` (those not checked yet) in one batch."""
        todo = {p: k for p, k in items.items() if p not in self._cache}
        if not todo or self.tier == "none":
            return
        try:
            from mmconvert.media import check_media_files

            checks = check_media_files(list(todo), self.tier, jobs=self.jobs, kinds=todo)
        except Exception:  # the media module is not what we expect: check here
            for path, kind in todo.items():
                self._cache[path] = self._fallback(path, kind)
            return
        for path in todo:
            check = checks.get(path)
            for reason, note in getattr(check, "notes", ()):
                if reason == "check-skipped" and self.skipped is None:
                    self.skipped = f"{todo[path]} file {path!r} {note}"
            problem = getattr(check, "problem", None)
            width, height = getattr(check, "width", None), getattr(check, "height", None)
            if isinstance(width, int) and isinstance(height, int):
                self._sizes[path] = (width, height)
            if problem is None:
                self._cache[path] = None
                continue
            reason = str(getattr(problem, "value", problem))
            if reason == "missing":
                self._cache[path] = ("media-missing", _MISSING.format(path=path))
            else:
                message = getattr(check, "message", None) or reason
                self._cache[path] = (f"media-{reason}", f"{todo[path]} file {path!r} {message}")

    def size(self, path: str) -> tuple[int, int] | None:
        """(width, height) of an image whose header was read, else None."""
        return self._sizes.get(path)

    def problem(self, path: str, kind: str) -> tuple[str, str] | None:
        """(finding code, message) when LF cannot open ``path``, else None."""
        if self.tier == "none":
            return None
        if path not in self._cache:
            self.check_many({path: kind})
        return self._cache.get(path)

    def _fallback(self, path: str, kind: str) -> tuple[str, str] | None:
        if not path:
            return ("media-missing", _MISSING.format(path=path))
        state = self._index.state(os.path.normpath(os.path.abspath(path)))
        if state is FileState.MISSING:
            return ("media-missing", _MISSING.format(path=path))
        if state is not FileState.FILE:
            return ("media-not-file", f"{kind} path {path!r} is not a regular file ({state})")
        if self.tier in ("header", "decode") and kind == "image":
            try:
                from PIL import Image

                with Image.open(path) as im:
                    if self.tier == "decode":
                        im.load()
            except Exception as exc:
                return ("media-unidentified", f"{type(exc).__name__}: {exc}")
        return None


class MediaRequest(msgspec.Struct, frozen=True, gc=False):
    """One media file a kept sample makes LF open: checked in batches after all rows are aligned."""

    path: str
    kind: str
    column: str
    position: int
    frame: bool = False

    @property
    def subpath(self) -> str:
        return f".{self.column}[{self.position}]"


class SampleJudge:
    """Judges aligned rows of one dataset: every reason LF would reject, drop or abort on one."""

    def __init__(self, options: ValidateOptions, dataset: str | None):
        self.options = options
        self.stage = STAGE_ALIASES.get(options.stage, options.stage)
        self.template = options.lf_template
        self.dataset = dataset
        tokens = options.tokens
        self._tokens = (tokens.image, tokens.video, tokens.audio)
        self._tools_seen: dict[str, str | None] = {}
        template = self.template
        self._unsupported = (
            [i for i, (column, _) in enumerate(MEDIA_COLUMNS) if not template.accepts(_KIND_OF[column])]
            if template is not None
            else []
        )

    def _f(
        self,
        source: SourceRef,
        code: str,
        message: str,
        hint: str | None = None,
        subpath: str = "",
        severity: Severity = Severity.ERROR,
    ) -> Finding:
        return Finding.at(source, code, severity, message, hint=hint, subpath=subpath, dataset=self.dataset)

    # -- the keep rule ---------------------------------------------------------------------------------
    def _kept(self, al: Aligned) -> bool:
        n_prompt, n_response = len(al.prompt), len(al.response)
        if self.stage == "sft":
            return n_prompt % 2 == 1 and n_response == 1
        if self.stage in ("rm", "kto"):
            return n_prompt % 2 == 1 and n_response >= 2
        if self.stage == "ppo":
            return n_prompt % 2 == 1
        return True

    def _dropped(self, al: Aligned, source: SourceRef) -> list[Finding]:
        shown = _short(al.prompt + al.response)
        lf_text = f"Dropped invalid example: {shown}"
        for code, text in al.warnings:
            if code == "role-order":
                return [
                    self._f(
                        source,
                        "role-order",
                        f"{_short(text)} Skipping this abnormal example. (LF drops the sample)",
                        hint="turns must alternate user/observation then assistant/function, after an "
                        "optional leading system turn, with the role names declared in tags",
                    )
                ]
            if code == "turn-count":
                want = "odd (ending on a user turn)" if self.options.stage in ("rm", "dpo") else "even"
                return [
                    self._f(
                        source,
                        "turn-count",
                        f"{_short(text)} Skipping this abnormal example. (LF drops the sample)",
                        hint=f"the number of messages must be {want}",
                    )
                ]
        if not al.prompt and not al.response:
            reason = "the conversation is empty"
            code = "empty-conversation"
        elif self.stage == "sft" and not al.response:
            reason = "the sample has no answer (the response column is missing, null or not a string)"
            code = "no-response"
        elif self.stage == "sft" and len(al.response) > 1:
            reason = (
                "the sample has two answers (KTO/preference data: kto_tag is declared, or use stage rm/kto)"
            )
            code = "stage-mismatch"
        elif self.stage in ("rm", "kto") and len(al.response) < 2:
            reason = (
                "the sample has no chosen/rejected pair (they must be declared, and be message objects for "
                "sharegpt or strings for alpaca)"
                if self.stage == "rm"
                else "kto_tag is not a JSON boolean (or not declared)"
            )
            code = "preference-layout" if self.stage == "rm" else "kto-layout"
        else:
            reason = "the prompt has an even number of turns"
            code = "turn-count"
        return [self._f(source, code, f"{lf_text} ({reason}; LF drops the sample)")]

    # -- what the processor hands to the plugin and the template ------------------------------------
    def _message_sets(self, al: Aligned) -> list[list[dict[str, Any]]]:
        prompt, response = al.prompt, al.response
        if self.stage == "sft":
            return [prompt + response]
        if self.stage == "rm":
            return [[*prompt, response[0]], [*prompt, response[1]]]
        if self.stage == "kto":
            judged = response[0] if response[0].get("content") else response[1]
            return [[*prompt, judged]]
        if len(response) == 1:
            return [prompt + response]
        return [[*prompt, {"role": ASSISTANT, "content": ""}]]

    def judge(self, al: Aligned, source: SourceRef, media: list[MediaRequest] | None = None) -> list[Finding]:
        """Every finding for one aligned row (empty: LF trains it).  Media files the row makes LF open
        are appended to ``media`` (to be checked in a batch) when it is given, else not checked."""
        if self.stage == "pt":
            return self._judge_pretrain(al, source)
        if not self._kept(al):
            return self._dropped(al, source)
        found: list[Finding] = []
        for code, text in al.warnings:
            if code == "preference-role":
                found.append(
                    self._f(
                        source,
                        "preference-role",
                        f"{_short(text)} (LF keeps the sample and trains an answer with that role)",
                        hint="chosen and rejected must carry the assistant (or function) role tag",
                        severity=Severity.WARNING,
                    )
                )
        sets = self._message_sets(al)
        found += self._plugin_checks(al, sets, source, media)
        found += self._encode_checks(al, sets, source)
        return found

    def media_findings(
        self, source: SourceRef, requests: list[MediaRequest], probe: MediaProbe
    ) -> list[Finding]:
        """Findings for the media files of one sample, after :meth:`MediaProbe.check_many`."""
        found = []
        for request in requests:
            problem = probe.problem(request.path, request.kind)
            if problem is None:
                continue
            code, message = problem
            if request.frame:
                message = f"Invalid image found in video frames. ({message})"
            found.append(
                self._f(
                    source,
                    code,
                    f"{message} (LF opens the media while tokenizing: the run aborts)",
                    hint="fix the path: LF joins it with media_dir (default dataset_dir) if that file "
                    "exists, otherwise opens it relative to the working directory",
                    subpath=request.subpath,
                )
            )
        return found

    def _judge_pretrain(self, al: Aligned, source: SourceRef) -> list[Finding]:
        if not al.prompt:
            return [
                self._f(
                    source,
                    "empty-conversation",
                    "the sample has no prompt; LF's pretraining processor fails on it "
                    "(IndexError: list index out of range)",
                )
            ]
        content = al.prompt[0].get("content")
        if not isinstance(content, str):
            return [
                self._f(
                    source,
                    "content-not-string",
                    f"the text is {_short(content)!s}, not a string (LF: TypeError while pretraining)",
                )
            ]
        return []

    def _plugin_checks(
        self,
        al: Aligned,
        sets: list[list[dict[str, Any]]],
        source: SourceRef,
        requests: list[MediaRequest] | None,
    ) -> list[Finding]:
        found: list[Finding] = []
        template = self.template
        media = (al.images or (), al.videos or (), al.audios or ())
        if self._unsupported and (media[0] or media[1] or media[2]):
            assert template is not None
            for position in self._unsupported:
                column = MEDIA_COLUMNS[position][0]
                kind = _KIND_OF[column]
                if media[position]:
                    found.append(
                        self._f(
                            source,
                            "template-no-" + kind,
                            f"This model does not support {kind} input. Please check whether the correct "
                            f"`template` is used. (template {template.name})",
                            hint=f"use a template with a {kind} plugin (e.g. qwen2_vl for images and videos, "
                            "qwen2_omni for audio) or remove the media",
                            subpath="." + column,
                        )
                    )
        if found or (template is not None and not template.multimodal):
            return found
        texts = []
        for messages in sets:
            try:
                texts.append("\x00".join(map(_CONTENT, messages)))
            except (TypeError, KeyError):
                content = next(m.get("content") for m in messages if not isinstance(m.get("content"), str))
                found.append(
                    self._f(
                        source,
                        "content-not-string",
                        f"a message content is {_short(content)}, not a string (LF: AttributeError: "
                        f"'{type(content).__name__}' object has no attribute 'count')",
                        hint="every message needs a string content",
                    )
                )
                return found
        if self.options.count_placeholders:
            image, video, audio = self._tokens
            n_images, n_videos, n_audios = len(media[0]), len(media[1]), len(media[2])
            for text in texts:
                if (
                    text.count(image) != n_images
                    or text.count(video) != n_videos
                    or text.count(audio) != n_audios
                ):
                    found.extend(self._placeholder_findings(self._as_sample(al, source)))
                    if found:
                        return found
                    break
        if not (media[0] or media[1] or media[2]):
            return found
        for position, items in enumerate(media):
            if not items:
                continue
            column, kind = _MEDIA_KINDS[position]
            for j, item in enumerate(items):
                if type(item) is str:
                    if requests is not None:
                        requests.append(MediaRequest(item, kind, column, j))
                    continue
                subpath = f".{column}[{j}]"
                problem = self._media_item_requests(item, kind, column, j, requests)
                if problem is not None:
                    found.append(
                        self._f(
                            source,
                            "media-invalid",
                            problem,
                            hint="media items must be paths (strings) or {bytes, path} objects",
                            subpath=subpath,
                        )
                    )
        return found

    def _placeholder_findings(self, sample: Sample) -> list[Finding]:
        findings = check_placeholder_counts(sample, self.options.tokens, self.dataset)
        return [
            msgspec.structs.replace(
                f,
                hint="put exactly one tag per attached item in the user turns (never in system or answers), "
                "or repair the data with `mmconvert convert --from llamafactory --placeholders insert|trim`",
            )
            for f in findings
        ]

    @staticmethod
    def _media_item_requests(
        item: Any, kind: str, column: str, index: int, requests: list[MediaRequest] | None
    ) -> str | None:
        """Queue the file(s) behind one media item; a message if LF cannot use the item at all."""
        if isinstance(item, str):
            if requests is not None:
                requests.append(MediaRequest(item, kind, column, index))
            return None
        if isinstance(item, dict):
            if item.get("bytes") is not None:
                return None
            path = item.get("path")
            if isinstance(path, str):
                if requests is not None:
                    requests.append(MediaRequest(path, kind, column, index))
                return None
            return f"the {kind} object has neither bytes nor path"
        if isinstance(item, list) and kind == "video":
            for frame in item:
                if not isinstance(frame, str):
                    return "Invalid image found in video frames."
                if requests is not None:
                    requests.append(MediaRequest(frame, "image", column, index, frame=True))
            return None
        return f"Expect input is a list of {kind}s, but got {type(item)}."

    def budget_sample(self, al: Aligned, source: SourceRef) -> Sample:
        """The sample as the token budget sees it (text of the messages LF encodes, system, tools)."""
        sample = self._as_sample(al, source)
        return msgspec.structs.replace(
            sample,
            system=al.system if isinstance(al.system, str) else None,
            tools=al.tools if isinstance(al.tools, str) else None,
        )

    def _as_sample(self, al: Aligned, source: SourceRef) -> Sample:
        def turn(message: dict[str, Any]) -> Turn:
            role: Any = message.get("role")
            return Turn(_TURN_ROLES.get(role, Role.USER), str(message.get("content")))

        media_counts = {column: tuple(al.medias(column) or []) for column, _ in MEDIA_COLUMNS}
        if self.stage == "rm":
            return Sample(
                turns=tuple(turn(m) for m in al.prompt),
                source=source,
                chosen=turn(al.response[0]),
                rejected=turn(al.response[1]),
                **media_counts,  # type: ignore[arg-type]
            )
        messages = self._message_sets(al)[0]
        return Sample(turns=tuple(turn(m) for m in messages), source=source, **media_counts)  # type: ignore[arg-type]

    # -- the template's formatters ------------------------------------------------------------------
    def _encode_checks(
        self, al: Aligned, sets: list[list[dict[str, Any]]], source: SourceRef
    ) -> list[Finding]:
        found: list[Finding] = []
        system = al.system
        if system and not isinstance(system, str):
            found.append(
                self._f(
                    source,
                    "system-not-string",
                    f"the system prompt is {_short(system)}, not a string (LF: TypeError while encoding)",
                    hint="make system a string",
                )
            )
        tools = al.tools
        if tools:
            problem = self._tools_problem(tools)
            if problem is not None:
                found.append(
                    self._f(
                        source,
                        "tools-invalid",
                        problem,
                        hint="tools must be a JSON string of a list of "
                        'function schemas, e.g. "[{\\"name\\": ...}]"',
                    )
                )
        for messages in sets:
            for m in messages:
                if m["role"] not in _PLAIN_ROLES or type(m["content"]) is not str:
                    return self._message_checks(sets, source, found)
        return found

    def _message_checks(
        self, sets: list[list[dict[str, Any]]], source: SourceRef, found: list[Finding]
    ) -> list[Finding]:
        """What the formatters raise on a message (unexpected role, content not a string, a function
        call that is not JSON), appended to ``found``."""
        seen: set[int] = set()
        for messages in sets:
            for message in messages:
                if id(message) in seen:
                    continue
                seen.add(id(message))
                role, content = message.get("role"), message.get("content")
                if role not in (USER, ASSISTANT, OBSERVATION, FUNCTION):
                    found.append(
                        self._f(
                            source,
                            "role-unexpected",
                            f"Unexpected role: {role} (LF raises NotImplementedError while encoding)",
                            hint="declare every role name in tags",
                        )
                    )
                    return found
                if not isinstance(content, str):
                    if not any(f.code == "content-not-string" for f in found):
                        found.append(
                            self._f(
                                source,
                                "content-not-string",
                                f"RuntimeError: Expected a string, got {_short(content)}",
                                hint="every message needs a string content (not null, not a list)",
                            )
                        )
                    continue
                if role == FUNCTION:
                    problem = self._function_problem(content)
                    if problem is not None:
                        found.append(
                            self._f(
                                source,
                                "function-call-invalid",
                                problem,
                                hint='function_call content must be JSON: {"name": ..., "arguments": {...}} '
                                "or a list of those",
                            )
                        )
        return found

    def _tools_problem(self, tools: Any) -> str | None:
        if isinstance(tools, str):
            if tools in self._tools_seen:
                return self._tools_seen[tools]
            problem = self._tools_problem_uncached(tools)
            if len(self._tools_seen) < 10_000:
                self._tools_seen[tools] = problem
            return problem
        return self._tools_problem_uncached(tools)

    def _tools_problem_uncached(self, tools: Any) -> str | None:
        if not isinstance(tools, str):
            return f"TypeError: the JSON object must be str, bytes or bytearray, not {type(tools).__name__}"
        try:
            parsed = json.loads(tools)
        except json.JSONDecodeError:
            return f"Invalid JSON format in tool description: {_short([tools])}."
        try:
            if len(parsed) == 0:
                return None
        except TypeError:
            return f"the tool description is a JSON {type(parsed).__name__}, not a list (LF: TypeError)"
        tool_format = self.template.tool_format if self.template else "qwen"
        for tool in parsed:
            if not isinstance(tool, dict):
                return f"a tool description is a {type(tool).__name__}, not an object (LF: AttributeError)"
            if tool_format == "default":
                spec = tool.get("function", "") if tool.get("type") == "function" else tool
                try:
                    for _, param in spec["parameters"]["properties"].items():
                        param.get("type", "")
                    spec["name"]
                except (KeyError, TypeError, AttributeError) as exc:
                    return f"a tool description lacks name/parameters.properties ({crash_message(exc)})"
        return None

    def _function_problem(self, content: str) -> str | None:
        template = self.template
        call_words = template.tool_call_words if template else ("<tool_call>", "</tool_call>")
        thought_words = template.thought_words if template else None
        json_part = content
        match = None
        if call_words and len(call_words) == 2:
            match = re.search(
                rf"{re.escape(call_words[0])}(.*?){re.escape(call_words[1])}", content, re.DOTALL
            )
        if match is not None:
            json_part = match.group(1)
        elif thought_words and len(thought_words) == 2:
            thought = re.search(
                rf"{re.escape(thought_words[0])}(.*?){re.escape(thought_words[1])}", content, re.DOTALL
            )
            if thought:
                json_part = content.replace(thought.group(0), "")
        try:
            calls = json.loads(json_part)
        except json.JSONDecodeError:
            return f"Invalid JSON format in function message: {_short([content])}."
        if not isinstance(calls, list):
            calls = [calls]
        try:
            for call in calls:
                call["name"]
                json.dumps(call["arguments"])
        except (KeyError, TypeError, IndexError) as exc:
            return f"the function call lacks name/arguments (LF: {crash_message(exc)})"
        return None


# ---------------------------------------------------------------------------------------------------
# Whole datasets


@dataclass
class DatasetResult:
    """What validation found for one entry."""

    name: str
    status: str  # checked | load-error | not-local | not-checked
    rows: int = 0
    will_train: int = 0
    error_samples: list[int] = field(default_factory=list)
    file: str | None = None
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "file": self.file,
            "rows": self.rows,
            "will_train": self.will_train,
            "rejected": len(self.error_samples) if self.status == "checked" else self.rows,
            "message": self.message,
        }


@dataclass
class ValidateResult:
    dataset_dir: str
    registry: str
    datasets: list[DatasetResult]
    findings: Findings

    @property
    def ok(self) -> bool:
        return self.findings.errors == 0


def stage_problem(attr_ranking: Any, stage: str) -> str | None:
    stage = STAGE_ALIASES.get(stage, stage)
    if (stage == "rm" and attr_ranking is False) or (stage != "rm" and attr_ranking is True):
        return "The dataset is not applicable in the current training stage."
    return None


def _mismatch_findings(name: str, opened: Any, registry_path: str) -> list[Finding]:
    """Warnings when the entry's formatting/ranking/columns do not fit the file's columns."""
    attr = opened.attr
    columns = set(opened.loaded.schema.columns)
    found = []
    where = {"file": registry_path, "path": f"$.{name}", "dataset": name}
    chat_cols = {c for c in ("conversations", "messages") if c in columns}
    if attr.formatting == "alpaca" and chat_cols and attr.col("prompt") not in columns:
        found.append(
            Finding(
                code="entry-formatting-mismatch",
                severity=Severity.WARNING,
                message=f"formatting is alpaca (the default) but the file has {sorted(chat_cols)} and no "
                f"{attr.col('prompt')!r} column",
                hint='add "formatting": "sharegpt" and a columns mapping',
                **where,  # type: ignore[arg-type]
            )
        )
    if (
        attr.formatting in ("sharegpt", "openai")
        and "instruction" in columns
        and attr.col("messages") not in columns
    ):
        found.append(
            Finding(
                code="entry-formatting-mismatch",
                severity=Severity.WARNING,
                message=f"formatting is {attr.formatting} but the file has alpaca columns (instruction)",
                hint='remove "formatting" (alpaca is the default) or fix the columns',
                **where,  # type: ignore[arg-type]
            )
        )
    if attr.ranking is not True and {"chosen", "rejected"} <= columns:
        found.append(
            Finding(
                code="entry-ranking-mismatch",
                severity=Severity.WARNING,
                message="the file has chosen/rejected columns but the entry is not ranking: true",
                hint='add "ranking": true and declare chosen/rejected in columns (stage rm/dpo)',
                **where,  # type: ignore[arg-type]
            )
        )
    for column, _ in MEDIA_COLUMNS:
        if column in columns and not attr.col(column):
            found.append(
                Finding(
                    code="entry-media-not-declared",
                    severity=Severity.WARNING,
                    message=f"the file has a {column!r} column that the entry does not declare: LF ignores "
                    "those media",
                    hint=f'add "{column}": "{column}" to columns',
                    **where,  # type: ignore[arg-type]
                )
            )
    return found


def validate_dataset(
    name: str,
    entry: Any,
    dataset_dir: str,
    registry_path: str,
    options: ValidateOptions,
    findings: Findings,
    probe: MediaProbe | None = None,
) -> DatasetResult:
    """Validate one entry; findings go to ``findings``.

    The cyclic garbage collector is paused throughout: the rows are millions of acyclic objects, and
    they are freed (by reference counting) before it runs again."""
    with paused_gc():
        return _validate_dataset(name, entry, dataset_dir, registry_path, options, findings, probe)


def _validate_dataset(
    name: str,
    entry: Any,
    dataset_dir: str,
    registry_path: str,
    options: ValidateOptions,
    findings: Findings,
    probe: MediaProbe | None,
) -> DatasetResult:
    from mmconvert.dataset_info import lint_entry

    findings.extend(lint_entry(name, entry, registry_path))
    try:
        if isinstance(entry, dict) and not any(
            k in entry for k in ("hf_hub_url", "ms_hub_url", "om_hub_url", "script_url", "cloud_file_name")
        ):
            problem = stage_problem(entry.get("ranking", False), options.stage)
            if problem is not None:
                raise LoadProblem(
                    "stage-mismatch",
                    problem,
                    hint="ranking: true datasets train with stage rm (DPO/ORPO/SimPO); others without it",
                    file=registry_path,
                    path=f"$.{name}.ranking",
                )
        opened = open_entry(name, entry, dataset_dir, options.media_dir, registry_path)
    except LoadProblem as exc:
        if exc.code == "entry-not-local":
            findings.add(
                Finding(
                    code="entry-not-local",
                    severity=Severity.INFO,
                    message=exc.message,
                    file=registry_path,
                    path=f"$.{name}",
                    dataset=name,
                )
            )
            return DatasetResult(name, "not-local", message=exc.message)
        if exc.file is None:
            exc.file = registry_path
        finding = exc.finding(name)
        if exc.code == "data-file-not-checked":  # we cannot tell, LF might load it
            finding = msgspec.structs.replace(finding, severity=Severity.WARNING)
        findings.add(finding)
        status = "not-checked" if exc.code == "data-file-not-checked" else "load-error"
        return DatasetResult(name, status, message=exc.message, file=exc.file)

    # A column name that is not a string makes this lint fail; LF fails on it while aligning (below).
    with contextlib.suppress(TypeError):
        findings.extend(_mismatch_findings(name, opened, registry_path))
    return _judge_rows(name, opened, options, findings, probe)


def _judge_rows(
    name: str, opened: OpenedDataset, options: ValidateOptions, findings: Findings, probe: MediaProbe | None
) -> DatasetResult:
    judge = SampleJudge(options, name)
    probe = probe or MediaProbe(options.check)
    loaded = opened.loaded
    result = DatasetResult(name, "checked", rows=len(loaded.rows), file=opened.files[0])
    convert = opened.aligner.convert
    judge_row = judge.judge
    starts = loaded.starts
    files = loaded.files
    part = 0
    file, first, next_start = files[0], starts[0], starts[1] if len(starts) > 1 else len(loaded.rows)
    sample_findings: list[Finding] = []
    bad: set[int] = set()
    pending: list[tuple[SourceRef, list[MediaRequest]]] = []
    wanted: dict[str, str] = {}
    budget = _token_budget(options)
    budgeted: dict[int, Sample] = {}
    check_media = options.check != "none"
    requests: list[MediaRequest] | None = None
    for index, row in enumerate(loaded.rows):
        if index >= next_start:  # the first row of the next file (files may be empty)
            while part + 1 < len(starts) and starts[part + 1] <= index:
                part += 1
            file, first = files[part], starts[part]
            next_start = starts[part + 1] if part + 1 < len(starts) else len(loaded.rows)
        source = SourceRef(file, index, f"$[{index - first}]")
        try:
            aligned = convert(row)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            message = (
                f"LF's {opened.attr.formatting} converter raises {crash_message(exc)} on this row, so the "
                "dataset cannot be loaded at all"
            )
            findings.add(
                Finding.at(
                    source,
                    "lf-load-crash",
                    Severity.ERROR,
                    message,
                    hint=_crash_hint(exc),
                    dataset=name,
                )
            )
            return DatasetResult(name, "load-error", rows=len(loaded.rows), file=file, message=message)
        if check_media:  # else the files are not looked at
            requests = []
        problems = judge_row(aligned, source, requests)
        if problems:
            sample_findings.extend(problems)
            if any(p.severity is Severity.ERROR for p in problems):
                bad.add(index)
                continue
        if requests:
            pending.append((source, requests))
            if budget is not None and aligned.images:
                budgeted[index] = judge.budget_sample(aligned, source)
            for request in requests:
                wanted.setdefault(request.path, request.kind)
    if pending:
        probe.check_many(wanted)
        if budget is None and all(probe.problem(path, kind) is None for path, kind in wanted.items()):
            pending = []  # every file opens: no sample has a media finding
        for source, requests in pending:
            problems = judge.media_findings(source, requests, probe)
            if problems:
                sample_findings.extend(problems)
                bad.add(source.index)
            elif budget is not None and source.index in budgeted:
                sample_findings.extend(
                    _budget_findings(budgeted[source.index], requests, probe, budget, name)
                )
    result.error_samples = sorted(bad)
    findings.extend(sample_findings)
    result.will_train = result.rows - len(result.error_samples)
    if result.will_train == 0:
        text = (
            "Cannot find sufficient samples, consider increasing dataset size."
            if options.stage == "pt"
            else "Cannot find valid samples, check `data/README.md` for the data format."
        )
        findings.add(
            Finding(
                code="no-valid-samples",
                severity=Severity.ERROR,
                message=f"{text} (no sample of {name!r} survives)",
                file=files[0],
                hint="fix the errors above",
                dataset=name,
            )
        )
    return result


def _token_budget(options: ValidateOptions) -> Any:
    """The visual-token budget (:mod:`mmconvert.tokens`) for the template, when image sizes will be known
    (``--check header`` or ``decode``) and the template's vision numbers are; else None."""
    if options.template is None or options.check not in ("header", "decode"):
        return None
    try:
        from mmconvert.tokens import TEMPLATES as VISION_TEMPLATES
        from mmconvert.tokens import TokenBudget

        if options.template not in VISION_TEMPLATES:
            return None
        return TokenBudget.from_template(options.template, cutoff_len=options.cutoff_len)
    except Exception:  # the budget module is optional here
        return None


def _budget_findings(
    sample: Sample, requests: list[MediaRequest], probe: MediaProbe, budget: Any, dataset: str
) -> list[Finding]:
    known = [probe.size(r.path) for r in requests if r.kind == "image" and not r.frame]
    sizes = [size for size in known if size is not None]
    if not sizes or len(sizes) != len(known):
        return []
    try:
        from mmconvert.tokens import check_sample_budget

        return list(check_sample_budget(sample, sizes, budget, dataset))
    except Exception:
        return []


def _crash_hint(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return (
            "a column or key LF reads does not exist in the file: check columns/tags in dataset_info.json "
            "(once columns or tags is given, every one not listed is None)"
        )
    return "fix the row so LF's converter can read it"


def validate_folder(
    dataset_dir: str,
    names: Sequence[str] | None,
    options: ValidateOptions,
) -> ValidateResult:
    """Validate ``names`` (default: every entry) of ``dataset_dir/dataset_info.json``.

    Raises :class:`~mmconvert.errors.UsageError` for a missing folder or registry, or an unknown name.
    """
    from mmconvert.errors import UsageError

    try:
        registry_path, registry = read_registry(dataset_dir)
    except LoadProblem as exc:
        findings = Findings()
        findings.add(exc.finding(None))
        failed = [DatasetResult(n, "load-error", message=exc.message) for n in names or []]
        return ValidateResult(dataset_dir, os.path.join(dataset_dir, "dataset_info.json"), failed, findings)
    if names:
        unknown = [n for n in names if n not in registry]
        if unknown:
            raise UsageError(
                f"Undefined dataset {unknown[0]} in dataset_info.json.",
                hint="known: " + ", ".join(list(registry)[:30]),
            )
        wanted = list(dict.fromkeys(names))
    else:
        wanted = list(registry)
    findings = Findings()
    probe = MediaProbe(options.check, options.jobs)
    results = [
        validate_dataset(name, registry[name], dataset_dir, registry_path, options, findings, probe)
        for name in wanted
    ]
    if probe.skipped is not None:
        findings.add(Finding("media-check-skipped", Severity.WARNING, probe.skipped, file=registry_path))
    return ValidateResult(dataset_dir, registry_path, results, findings)
