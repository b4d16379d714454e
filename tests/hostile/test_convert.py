"""Hostile inputs for ``mmconvert convert`` (ShareGPT, LLaVA, OpenAI, Alpaca chat records): each case
asserts the exit code, one exact line of the message, and that nothing was created or changed."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .harness import assert_clean_failure, image_bytes, run_cli, snapshot


def _rows(*rows: Any) -> bytes:
    return json.dumps(list(rows), ensure_ascii=False).encode()


def _chat(user: Any = "<image>What is it?", answer: Any = "A red square.", **extra: Any) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
        **extra,
    }


GOOD_ROW = _chat(images=["a.png"])
GOOD = _rows(GOOD_ROW)
DEEP = b"[" * 5000 + b"]" * 5000


@dataclass(frozen=True)
class Case:
    id: str
    data: bytes | None  # in/data.json (or in/data.jsonl with --jsonl)
    code: int
    line: str  # one exact line of stderr ({tmp} is the test folder)
    args: tuple[str, ...] = ()
    jsonl: bool = False
    setup: Callable[[Path], None] | None = None


def make_tree(root: Path, case: Case) -> str:
    (root / "in" / "sub").mkdir(parents=True)
    (root / "in" / "a.png").write_bytes(image_bytes())
    (root / "outside.png").write_bytes(image_bytes())
    (root / "secret").mkdir()
    (root / "secret" / "s.png").write_bytes(image_bytes())
    (root / "in" / "link.png").symlink_to("../secret/s.png")
    name = "in/data.jsonl" if case.jsonl else "in/data.json"
    if case.data is not None:
        (root / name).write_bytes(case.data)
    if case.setup is not None:
        case.setup(root)
    return name


def _folder_at_input(root: Path) -> None:
    (root / "in" / "data.json").mkdir()


CASES: list[Case] = [
    # --- the file is not a JSON array / JSON Lines of records (exit 2)
    Case(
        "not-json",
        b"hello world\n",
        2,
        "Error: in/data.json: expected a JSON array of records or JSON Lines (one object per line), but "
        "the file starts with 'h'",
    ),
    Case(
        "truncated",
        GOOD[:30],
        2,
        "Error: in/data.json: not valid JSON: the JSON ends early (truncated file?) "
        "at line 1, column 31 (byte offset 30)",
    ),
    Case(
        "truncated-jsonl",
        GOOD[1:30],
        2,
        "Error: in/data.jsonl: not valid JSON: the JSON ends early (truncated file?) "
        "at line 1, column 30 (byte offset 29)",
        jsonl=True,
    ),
    Case(
        "empty-file",
        b"",
        2,
        "Error: in/data.json: the file is empty; expected a JSON array or JSON Lines of records",
    ),
    Case(
        "top-null",
        b"null",
        2,
        "Error: in/data.json: expected a JSON array of records or JSON Lines (one object per line), but "
        "the file starts with 'n'",
    ),
    Case(
        "top-number",
        b"42",
        2,
        "Error: in/data.json: expected a JSON array of records or JSON Lines (one object per line), but "
        "the file starts with '4'",
    ),
    Case(
        "top-string",
        b'"hi"',
        2,
        "Error: in/data.json: expected a JSON array of records or JSON Lines (one object per line), but "
        "the file starts with '\"'",
    ),
    Case(
        "list-of-numbers",
        b"[1, 2, 3]",
        2,
        "Error: in/data.json: no JSON object records to detect the format from",
    ),
    Case(
        "unknown-keys",
        _rows({"foo": 1}),
        2,
        "Error: in/data.json: cannot tell the format from the record keys (foo)",
    ),
    Case(
        "utf16",
        GOOD.decode().encode("utf-16"),
        2,
        "Error: in/data.json: looks like UTF-16, mmconvert reads UTF-8 JSON",
    ),
    Case(
        "nan",
        GOOD.replace(b'"A red square."', b"NaN"),
        2,
        "Error: in/data.json: not valid JSON: `NaN` is not JSON (write null or a string) "
        "at line 1, column 100 (byte offset 99)",
    ),
    Case(
        "raw-control-char",
        GOOD.replace(b"What", b"Wh\x01at"),
        2,
        "Error: in/data.json: not valid JSON: a raw control character (U+0001) inside a string; "
        "escape it at line 1, column 54 (byte offset 53)",
    ),
    Case(
        "deep-nesting",
        b"[" * 100_000 + b"]" * 100_000,
        2,
        "Error: in/data.json: the JSON is nested too deeply to read (arrays/objects inside each other "
        "hundreds of levels deep)",
    ),
    Case(
        "deep-nesting-jsonl",
        b'{"messages": ' + DEEP + b"}\n",
        2,
        "Error: in/data.jsonl: not valid JSON: the JSON is nested too deeply to read "
        "(arrays/objects inside each other hundreds of levels deep) at line 1",
        jsonl=True,
    ),
    Case(
        "invalid-utf8-auto",
        GOOD.replace(b"What", b"Wh\xe9t"),
        2,
        "Error: in/data.json: not valid UTF-8: byte 0xe9 at line 1, column 54 (byte offset 53)",
    ),
    Case(
        "input-is-folder",
        None,
        2,
        "Error: in/data.json: is a folder, expected a JSON file",
        setup=_folder_at_input,
    ),
    Case("input-missing", None, 2, "Error: in/data.json: cannot read: No such file or directory"),
    # --- broken records: findings naming file, record and JSON path (exit 1)
    Case(
        "invalid-utf8-record",
        GOOD.replace(b"What", b"Wh\xe9t"),
        1,
        "  in/data.json:$[0]: the record cannot be decoded: not valid UTF-8: byte 0xe9 "
        "at line 1, column 54 (byte offset 53)",
        args=("--from", "sharegpt"),
    ),
    Case(
        "deep-nesting-in-record",
        _rows(GOOD_ROW, {"messages": "X"}).replace(b'"X"', DEEP),
        2,
        "Error: in/data.json: the JSON is nested too deeply to read (arrays/objects inside each "
        "other hundreds of levels deep)",
        args=("--from", "sharegpt"),
    ),
    Case(
        "record-not-object",
        _rows(GOOD_ROW, 5),
        1,
        "  in/data.json:$[1]: the record is a JSON int, not an object",
    ),
    Case(  # detection reads only the first lines; the bad line is a finding, as with --from given
        "jsonl-bad-line-auto",
        json.dumps(GOOD_ROW).encode() + b"\n{oops\n",
        1,
        "  in/data.jsonl:$[1] (line=2): not valid JSON: unexpected 'o': expected a key in double "
        "quotes at line 2, column 2 (byte offset 139)",
        jsonl=True,
    ),
    Case(
        "jsonl-bad-line",
        json.dumps(GOOD_ROW).encode() + b"\n{oops\n",
        1,
        "  in/data.jsonl:$[1] (line=2): not valid JSON: unexpected 'o': expected a key in double "
        "quotes at line 2, column 2 (byte offset 139)",
        jsonl=True,
        args=("--from", "sharegpt"),
    ),
    Case(
        "messages-string",
        _rows(GOOD_ROW, {"messages": "hello"}),
        1,
        "  in/data.json:$[1].messages: `messages` is a str, not a list of messages",
    ),
    Case(
        "messages-null",
        _rows(GOOD_ROW, {"messages": None}),
        1,
        "  in/data.json:$[1].messages: `messages` is a NoneType, not a list of messages",
    ),
    Case(
        "role-number",
        _rows({"messages": [{"role": 1, "content": "x"}, {"role": "assistant", "content": "y"}]}),
        1,
        "  in/data.json:$[0].messages[0].role: Invalid role tag in [{'role': 1, 'content': 'x'}, "
        "{'role': 'assistant', 'content': 'y'}]. (unknown role 1; LF drops the sample)",
    ),
    Case(
        "unknown-role",
        _rows({"messages": [{"role": "wizard", "content": "x"}, {"role": "assistant", "content": "y"}]}),
        1,
        "  in/data.json:$[0].messages[0].role: Invalid role tag in [{'role': 'wizard', "
        "'content': 'x'}, {'role': 'assistant', 'content': 'y'}]. (unknown role 'wizard'; LF "
        "drops the sample)",
    ),
    Case(
        "content-number",
        _rows(_chat(user=5)),
        1,
        "  in/data.json:$[0].messages[0].content: Expected a string, got 5 (message content must "
        "be text; LF stops the whole run on this sample)",
    ),
    Case(
        "content-null",
        _rows(_chat(user=None)),
        1,
        "  in/data.json:$[0].messages[0].content: Expected a string, got None (message content "
        "must be text; LF stops the whole run on this sample)",
    ),
    Case(
        "system-number",
        _rows(_chat(user="hi", system=5)),
        1,
        "  in/data.json:$[0].system: `system` is a int, not text",
    ),
    Case(
        "tools-number",
        _rows(_chat(user="hi", tools=5)),
        1,
        "  in/data.json:$[0].tools: `tools` is a int; expected the list of function schemas",
    ),
    Case(
        "images-number",
        _rows(_chat(images=5)),
        1,
        "  in/data.json:$[0].images: the image entry 5 is not a path string",
    ),
    Case(
        "images-list-of-number",
        _rows(_chat(images=[5])),
        1,
        "  in/data.json:$[0].images[0]: the image entry 5 is not a path string",
    ),
    Case(
        "images-dotdot",
        _rows(_chat(images=["../outside.png"])),
        1,
        "  in/data.json:$[0].images[0]: the media path '../outside.png' points outside its folder {tmp}/in",
    ),
    Case(
        "images-absolute",
        _rows(_chat(images=["/etc/hostname"])),
        1,
        "  in/data.json:$[0].images[0]: the media path '/etc/hostname' points outside its folder {tmp}/in",
    ),
    Case(
        "images-url",
        _rows(_chat(images=["https://example.com/a.png"])),
        1,
        "  in/data.json:$[0].images[0]: URLs and data: URIs are not supported by LLaMA-Factory "
        "(it opens local files only)",
    ),
    Case(
        "images-empty-name",
        _rows(_chat(images=[""])),
        1,
        "  in/data.json:$[0].images[0]: the media path is empty",
    ),
    Case(
        "images-nul",
        _rows(_chat(images=["a\x00.png"])),
        1,
        "  in/data.json:$[0].images[0]: the media path contains a NUL character",
    ),
    Case(
        "images-folder",
        _rows(_chat(images=["sub"])),
        1,
        "  in/data.json:$[0].images[0]: image file {tmp}/in/sub is a folder, not a file",
    ),
    Case(
        "images-missing",
        _rows(_chat(images=["gone.png"])),
        1,
        "  in/data.json:$[0].images[0]: image file {tmp}/in/gone.png not found",
    ),
    Case(
        "images-symlink-out",
        _rows(_chat(images=["link.png"])),
        1,
        "  in/data.json:$[0].images[0]: the media path 'link.png' is a symlink (or lies in a "
        "symlinked folder) that leads outside its folder {tmp}/in",
    ),
    Case(
        "tag-in-answer",
        _rows(_chat(answer="see <image>", images=["a.png"])),
        1,
        "  in/data.json:$[0].messages[1].content: the answer text contains the literal tag "
        "<image>, which LF counts as a media slot (the count check fails or an image lands in the labels)",
    ),
    Case(
        "too-many-tags",
        _rows(_chat(user="<image><image>hi", images=["a.png"])),
        1,
        "  in/data.json:$[0]: 2 <image> tags in the user turns but 1 images attached",
    ),
    Case(
        "openai-bad-part",
        _rows(
            {
                "messages": [
                    {"role": "user", "content": [{"type": "weird"}, 5]},
                    {"role": "assistant", "content": "a"},
                ]
            }
        ),
        1,
        '  in/data.json:$[0].messages[0].content[0]: unsupported content part {"type": "weird"}',
    ),
    Case(
        "llava-bad-from",
        _rows(
            {
                "id": 1,
                "image": "a.png",
                "conversations": [{"from": "alien", "value": "<image>\nq"}, {"from": "gpt", "value": "a"}],
            }
        ),
        1,
        "  in/data.json:$[0].conversations[0].from (id=1): Invalid role tag in [{'from': "
        "'alien', 'value': '<image>\\nq'}, {'from': 'gpt', 'value': 'a'}]. (unknown role 'alien'; "
        "LF drops the sample)",
    ),
    # --- options (exit 2)
    Case(
        "name-dotdot",
        GOOD,
        2,
        "Error: --name '../x': use letters, digits, '_', '-' and '.', starting with a letter or digit",
        args=("--name", "../x"),
    ),
    Case(
        "media-dir-missing",
        GOOD,
        2,
        "Error: Invalid value for '--media-dir' / '-m': Directory 'nowhere' does not exist.",
        args=("--media-dir", "nowhere"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_convert(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = make_tree(tmp_path, case)
    before = snapshot(tmp_path)
    run = run_cli(["convert", name, "-o", "out", "--name", "t", *case.args], tmp_path, monkeypatch)
    assert_clean_failure(run, case.code, case.line)
    assert snapshot(tmp_path) == before, "the failed run created or changed files"


@pytest.mark.parametrize(
    ("rows", "warning"),
    [
        pytest.param([_chat(user="q", answer="a")] * 1, None, id="plain"),
        pytest.param(
            [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}] * 5000}],
            None,
            id="10k-turns",
        ),
        pytest.param([_chat(images="a.png"), _chat(images=["a.png"])], None, id="mixed-string-list-media"),
        pytest.param([_chat(answer="x" * 2_000_000, images=["a.png"])], None, id="2mb-answer"),
        pytest.param(
            [_chat(user="<Image>What is it?", images=["a.png"])],
            "  in/data.json:$[0].messages[0].content: <Image> is not LF's tag: LF counts only the exact "
            "<image> (case-sensitive), so this text is no media slot and stays in the prompt as written",
            id="wrong-case-tag",
        ),
    ],
)
def test_hostile_but_valid_chats_convert(
    rows: list[Any], warning: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accepted inputs come out in LF's shape: media always lists, tags counted exactly."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(image_bytes())
    (tmp_path / "in" / "data.json").write_bytes(_rows(*rows))
    run = run_cli(["convert", "in/data.json", "-o", "out", "--name", "t"], tmp_path, monkeypatch)
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    if warning is not None:
        assert warning in run.err_lines, run.err
    written = json.loads((tmp_path / "out" / "t.json").read_text(encoding="utf-8"))
    assert len(written) == len(rows)
    for row, source in zip(written, rows, strict=True):
        images = row.get("images", [])
        assert isinstance(images, list)
        assert sum(m["content"].count("<image>") for m in row["messages"]) == len(images)
        assert len(row["messages"]) == len(source["messages"])


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)
