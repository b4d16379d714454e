"""``mmconvert convert`` / ``sharegpt2lf`` through CliRunner: detection, exact messages, exit codes,
unreadable input, and the role-order rules as findings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmconvert.cli import cli
from mmconvert.converters.records import split_records
from mmconvert.errors import InputError
from mmconvert.findings import Findings
from mmconvert.inline_tags import convert_inline
from mmconvert.model import Role, Sample, SourceRef, Turn
from mmconvert.options import PlaceholderTokens
from mmconvert.roles import check_conversation

from .conftest import THIRDPARTY
from .conftest import run_cli as _run
from .standins import SCIENCEQA_IMAGES, lf_data_folder, lf_media, scienceqa_like

SCIENCEQA = "llava/playground/data/eval/scienceqa/llava_test_CQM-A.first200.json"


def _write(path: Path, rows: list[object]) -> None:
    path.write_text(json.dumps(rows), encoding="utf-8")


def _pair(user: str, answer: str) -> list[dict[str, str]]:
    return [{"from": "human", "value": user}, {"from": "gpt", "value": answer}]


def test_fastchat_detected_and_converted(tmp_path: Path) -> None:
    source = THIRDPARTY / "fastchat/data/dummy_conversation.json"
    code, out, err = _run(["convert", str(source), "-o", "data", "--name", "fc"], tmp_path)
    assert code == 0, err
    assert err == f"{source}: detected sharegpt (`conversations` records; keys seen: conversations, id)\n"
    assert out == "Wrote 500 samples to data/fc.json and entry 'fc' in data/dataset_info.json\n"


def _detected_as_llava(llava: Path, cwd: Path) -> None:
    code, _, err = _run(["convert", str(llava), "--dry-run", "--check", "none"], cwd)
    assert code == 0, err
    assert err.splitlines()[0].endswith(
        "detected llava (`conversations` records with an `image` field; keys seen: conversations, id, image)"
    )


def test_auto_detects_llava_and_openai(tmp_path: Path) -> None:
    # LLaVA's ScienceQA file is CC BY-NC-SA: a stand-in of its shape (the real one: the next test).
    _detected_as_llava(scienceqa_like(tmp_path / "src" / "llava_test_CQM-A.json"), tmp_path)
    xtuner = THIRDPARTY / "xtuner_hybrid/xtuner/configs/internlm/internlm2_chat_1_8b/hybrid/multi_modal.json"
    code, out, err = _run(["convert", str(xtuner), "--dry-run", "--check", "none"], tmp_path)
    assert code == 0, err
    assert "detected openai (`messages` with content parts" in err
    assert out == "Dry run: 1 samples would be written as 'converted'\n"


@pytest.mark.shared_data
def test_auto_detects_llava_on_the_real_scienceqa_file(shared_data: Path, tmp_path: Path) -> None:
    _detected_as_llava(shared_data / SCIENCEQA, tmp_path)


def _missing_llava_images(llava: Path, cwd: Path, missing: int) -> None:
    code, out, err = _run(["convert", str(llava), "--from", "llava", "-o", "data", "--name", "sqa"], cwd)
    assert code == 1
    assert out == ""
    assert f"error media-missing ({missing}):" in err
    assert err.splitlines()[-1] == f"Error: {missing} error(s) in the data; nothing was written"
    assert not (cwd / "data").exists()


def test_missing_llava_images_named_and_nothing_written(tmp_path: Path) -> None:
    llava = scienceqa_like(tmp_path / "src" / "llava_test_CQM-A.json")
    _missing_llava_images(llava, tmp_path, SCIENCEQA_IMAGES)


@pytest.mark.shared_data
def test_missing_llava_images_on_the_real_scienceqa_file(shared_data: Path, tmp_path: Path) -> None:
    _missing_llava_images(shared_data / SCIENCEQA, tmp_path, 97)


def test_ms_swift_inline_img_urls_are_named(tmp_path: Path) -> None:
    source = THIRDPARTY / "ms_swift/tests/llm/data/multi_modal_1.jsonl"
    code, _, err = _run(["convert", str(source), "--from", "sharegpt", "-o", "data"], tmp_path)
    assert code == 1
    assert "error conversation-missing (3):" in err
    code, out, err = _run(["convert", str(source), "-o", "data", "--on-error", "skip"], tmp_path)
    assert code == 0, err
    assert "detected swift (ms-swift `query`/`response`" in err.splitlines()[0]
    assert err.splitlines()[1:3] == [
        "error media-bad-path (3):",
        f"  {source}:$[0] (line=1): URLs and data: URIs are not supported by LLaMA-Factory (it opens local "
        "files only) (inline <img> tag)",
    ]
    assert out.startswith("Wrote 1 samples to data/converted.json")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty; expected a JSON array or JSON Lines of records"),
        (b"\xff\xfe[\x00]\x00", "looks like UTF-16, mmconvert reads UTF-8 JSON"),
        (
            b'"just a string"',
            "expected a JSON array of records or JSON Lines (one object per line), "
            "but the file starts with '\"'",
        ),
        (
            b'[{"conversations": []},\n {"a" 1}]',
            "not valid JSON: unexpected '1': expected ':' after the key at line 2, column 7 (byte offset 30)",
        ),
        (
            b'[{"conversations": []}',
            "not valid JSON: the JSON ends early (truncated file?) at line 1, column 23 (byte offset 22)",
        ),
    ],
)
def test_unreadable_input(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "bad.json").write_bytes(content)
    code, out, err = _run(["sharegpt2lf", "bad.json", "-o", "data"], tmp_path)
    assert code == 2
    assert out == ""
    assert err.splitlines()[0] == f"Error: bad.json: {message}"


def test_jsonl_bom_blank_lines_and_bad_line(tmp_path: Path) -> None:
    good = json.dumps({"conversations": _pair("Hi", "Hello")})
    (tmp_path / "c.jsonl").write_bytes(b"\xef\xbb\xbf" + f"{good}\n\n{good}\n{{oops\n\n".encode())
    code, out, err = _run(["sharegpt2lf", "c.jsonl", "-o", "data", "--on-error", "skip"], tmp_path)
    assert code == 0, err
    assert err.splitlines()[:2] == [
        "error json-invalid-line (1):",
        "  c.jsonl:$[2] (line=4): not valid JSON: unexpected 'o': expected a key in double quotes "
        "at line 4, column 2 (byte offset 180)",
    ]
    assert out.startswith("Wrote 2 samples to data/sharegpt.json")


def test_role_rules_named_with_lf_wording(tmp_path: Path) -> None:
    _write(
        tmp_path / "c.json",
        [
            {"conversations": _pair("Hi", "Hello")},
            {"conversations": [{"from": "gpt", "value": "Hi"}, {"from": "human", "value": "x"}]},
            {"conversations": [*_pair("a", "b"), {"from": "human", "value": "c"}]},
        ],
    )
    code, _out, err = _run(["sharegpt2lf", "c.json", "-o", "data"], tmp_path)
    assert code == 1
    assert err.splitlines() == [
        "error role-first-not-user (1):",
        "  c.json:$[1].conversations[0].value: Invalid role tag in [{'role': 'assistant', 'content': 'Hi'}, "
        "{'role': 'user', 'content': 'x'}]. (the conversation starts with an assistant turn, not a user "
        "turn; LF drops the sample)",
        "  fix: start with the user turn (drop a leading assistant greeting or move it to the system prompt)",
        "error turn-count (1):",
        "  c.json:$[2]: Invalid message count in [{'role': 'user', 'content': 'a'}, {'role': 'assistant', "
        "'content': 'b'}, {'role': 'user', 'content': 'c'}]. (3 turns; a training sample must end on an "
        "assistant (or function_call) turn; LF drops the sample)",
        "  fix: drop the unanswered last turn, or add the answer",
        "Error: 2 error(s) in the data; nothing was written",
    ]


def test_system_message_overrides_field_with_warning(tmp_path: Path) -> None:
    _write(
        tmp_path / "c.json",
        [{"system": "A", "conversations": [{"from": "system", "value": "B"}, *_pair("Hi", "Hello")]}],
    )
    code, _out, err = _run(["sharegpt2lf", "c.json", "-o", "data"], tmp_path)
    assert code == 0, err
    assert "warning system-overridden (1):" in err
    (row,) = json.loads((tmp_path / "data/sharegpt.json").read_text(encoding="utf-8"))
    assert row["system"] == "B"


def test_image_placeholder_env_rewrites_source_tags(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    _write(tmp_path / "c.json", [{"image": "a.png", "conversations": _pair("<image>\nWhat?", "A.")}])
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = CliRunner(env={"IMAGE_PLACEHOLDER": "<img>"}).invoke(
            cli, ["convert", "c.json", "--from", "llava", "-o", "data"], catch_exceptions=False
        )
    finally:
        os.chdir(old)
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads((tmp_path / "data/converted.json").read_text(encoding="utf-8"))
    assert row["messages"][0]["content"] == "<img>\nWhat?"


def _sample(*roles: Role) -> Sample:
    return Sample(tuple(Turn(r, "x") for r in roles), SourceRef("f", 0, "$[0]"))


def test_role_pass_rules() -> None:
    u, a, o, f = Role.USER, Role.ASSISTANT, Role.OBSERVATION, Role.FUNCTION
    assert check_conversation(_sample(u, a)) == []
    codes = lambda s, **k: [x.code for x in check_conversation(s, **k)]  # noqa: E731
    assert codes(_sample()) == ["conversation-empty"]
    assert codes(_sample(a, u)) == ["role-first-not-user"]
    assert codes(_sample(u, u, a)) == ["role-order"]
    assert codes(_sample(u, a, Role.SYSTEM, a)) == ["role-system-not-first"]
    assert codes(_sample(u, a, u)) == ["turn-count"]
    assert codes(_sample(u), ranking=True) == []
    assert codes(_sample(u, a), ranking=True) == ["turn-count"]
    assert codes(_sample(u, f, o, a)) == ["function-call-json"]
    call = Sample(
        (Turn(u, "q"), Turn(f, '{"name": "n", "arguments": {}}'), Turn(o, "r"), Turn(a, "x")),
        SourceRef("f", 0, "$"),
    )
    assert check_conversation(call) == []
    assert codes(_sample(u, a, o, a)) == ["observation-without-call"]


def test_inline_tags() -> None:
    tokens = PlaceholderTokens()
    result = convert_inline(["<img>a.jpg</img><img> b.jpg </img>hi"], 0, tokens)
    assert result.texts == ("<image><image>hi",)
    assert result.inline_images == ("a.jpg", "b.jpg")
    result = convert_inline(["<image_2> vs <image_1>", "and <image 3>"], 3, tokens)
    assert result.texts == ("<image> vs <image>", "and <image>")
    assert result.image_order == (1, 0, 2)
    assert convert_inline(["<image_0> then <image_1>"], 2, tokens).image_order == (0, 1)
    assert convert_inline(["<image_1> only"], 2, tokens).image_order == (1, 0)
    assert convert_inline(["<image> and <image_1>"], 2, tokens).problems
    assert convert_inline(["<img>a</img>"], 1, tokens).problems


def test_split_records_layouts(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text('{"conversations": []}', encoding="utf-8")
    assert split_records(str(tmp_path / "one.json")).layout == "json-object"
    (tmp_path / "l.json").write_text('{"a": 1}\n{"a": 2}\n', encoding="utf-8")
    split = split_records(str(tmp_path / "l.json"), Findings())
    assert split.layout == "jsonl"
    assert [r.line for r in split.records] == [1, 2]
    (tmp_path / "bad.jsonl").write_text("{oops\n", encoding="utf-8")
    with pytest.raises(
        InputError,
        match="not valid JSON: unexpected 'o': expected a key in double quotes at line 1, column 2",
    ):
        split_records(str(tmp_path / "bad.jsonl"), Findings())


_LF_SHAREGPT_DEMOS = ("mllm_demo", "glaive_toolcall_en_demo", "dpo_en_demo", "kto_en_demo")


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_round_trip_lf_sharegpt_is_identical(tmp_path: Path, fmt: str) -> None:
    """LF file -> model -> LF file: our own canonical output reads back byte for byte.  LF's own
    ``mllm_demo.json``; stand-ins for the demos that are not bundled (the real ones: the next test)."""
    folder = lf_data_folder(tmp_path / "lf")
    _round_trip([folder / f"{name}.json" for name in _LF_SHAREGPT_DEMOS], tmp_path, fmt)


@pytest.mark.shared_data
@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_round_trip_real_lf_demos_is_identical(shared_data: Path, tmp_path: Path, fmt: str) -> None:
    folder = shared_data / "llamafactory/data"
    _round_trip([folder / f"{name}.json" for name in _LF_SHAREGPT_DEMOS], tmp_path, fmt)


def _round_trip(sources: list[Path], tmp_path: Path, fmt: str) -> None:
    for i, source in enumerate(sources):
        first = [
            "convert",
            str(source),
            "--from",
            "sharegpt",
            "-o",
            "data",
            "--name",
            f"a{i}",
            "--format",
            fmt,
        ]
        assert _run(first, tmp_path)[0] == 0
        again = ["convert", f"data/a{i}.{fmt}", "--from", "sharegpt", "-o", "data", "--name", f"b{i}"]
        code, _, err = _run([*again, "--format", fmt, "--allow-outside-paths"], tmp_path)
        assert code == 0, err
        a = (tmp_path / f"data/a{i}.{fmt}").read_bytes()
        assert a == (tmp_path / f"data/b{i}.{fmt}").read_bytes(), source.name
    info = json.loads((tmp_path / "data/dataset_info.json").read_text(encoding="utf-8"))
    for i in range(len(sources)):
        a, b = dict(info[f"a{i}"]), dict(info[f"b{i}"])
        assert a.pop("file_name") != b.pop("file_name")
        assert a == b


def test_lf_folder_detected_and_entry_read(tmp_path: Path) -> None:
    folder = tmp_path / "lf"
    folder.mkdir()
    lf = THIRDPARTY / "llamafactory/data"
    (folder / "dataset_info.json").write_bytes((lf / "dataset_info.json").read_bytes())
    (folder / "mllm_demo.json").write_bytes((lf / "mllm_demo.json").read_bytes())
    media = lf_media(tmp_path / "media" / "mllm_demo_data")  # LF's demo media are not bundled
    (folder / "mllm_demo_data").symlink_to(media)
    code, out, err = _run(
        ["convert", "lf", "--dataset", "mllm_demo", "-o", "data", "--name", "mm", "--allow-outside-paths"],
        tmp_path,
    )
    assert code == 0, err
    assert (
        err.splitlines()[0]
        == "lf: detected llamafactory (a LLaMA-Factory dataset folder with dataset_info.json)"
    )
    assert out == "Wrote 6 samples to data/mm.json and entry 'mm' in data/dataset_info.json\n"


def test_kto_and_media_field_consistency(tmp_path: Path) -> None:
    _write(
        tmp_path / "k.json",
        [
            {"conversations": _pair("Hi", "Hello"), "label": True},
            {"conversations": _pair("Hi", "Bye")},
            {"conversations": _pair("Hi", "Yo"), "label": "false"},
            {"conversations": _pair("Hi", "Hey"), "label": False, "image": "a.png", "images": ["b.png"]},
        ],
    )
    code, out, err = _run(["sharegpt2lf", "k.json", "-o", "data", "--on-error", "skip"], tmp_path)
    assert code == 0, err
    assert err.splitlines() == [
        "error kto-label-missing (1):",
        "  k.json:$[1]: KTO data (the file's first record has a true/false label) but this record has no "
        "label; LF drops it in KTO training",
        "  fix: give every record a `label` (or `kto_tag`) of true or false",
        "error kto-tag-type (1):",
        "  k.json:$[2].label: the KTO label `label` is 'false', not true/false; LF drops the sample",
        "  fix: use JSON true or false",
        "error media-ambiguous (1):",
        "  k.json:$[3].image: the record has both `image` (LLaVA) and `images`; mmconvert cannot tell which "
        "one holds the images",
        "  fix: keep one of the two fields",
    ]
    assert out.startswith("Wrote 1 samples to data/sharegpt.json")
    info = json.loads((tmp_path / "data/dataset_info.json").read_text(encoding="utf-8"))
    assert info["sharegpt"]["columns"]["kto_tag"] == "kto_tag"


def test_openai_reports_fields_it_does_not_read(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    _write(tmp_path / "o.json", [{"messages": messages, "rejected_response": "Go away"}])
    code, _, err = _run(["convert", "o.json", "--from", "openai", "-o", "data"], tmp_path)
    assert code == 1
    assert err.splitlines()[:3] == [
        "error field-unsupported (1):",
        "  o.json:$[0].rejected_response: the record has `rejected_response`, which the openai importer does "
        "not read (the sample would lose it)",
        "  fix: convert with --from swift",
    ]
    code, _, err = _run(["convert", "o.json", "-o", "data"], tmp_path)
    assert code == 0, err
    assert "detected swift" in err


def test_llava_video_image_tag_becomes_video_tag(tmp_path: Path) -> None:
    (tmp_path / "v.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    _write(
        tmp_path / "v.json",
        [
            {"video": "v.mp4", "conversations": _pair("<image>\nWhat happens?", "A dance.")},
            {"video": "v.mp4", "conversations": _pair("What happens?", "A dance.")},
        ],
    )
    code, _, err = _run(["convert", "v.json", "--from", "llava", "-o", "data"], tmp_path)
    assert code == 0, err
    rows = json.loads((tmp_path / "data/converted.json").read_text(encoding="utf-8"))
    assert [r["messages"][0]["content"] for r in rows] == ["<video>\nWhat happens?", "<video>What happens?"]
    assert [r["videos"] for r in rows] == [["../v.mp4"], ["../v.mp4"]]


@pytest.mark.parametrize("messages", [True, 3, "text", {"role": "user"}])
def test_auto_detection_survives_odd_messages_values(tmp_path: Path, messages: object) -> None:
    _write(tmp_path / "m.json", [{"messages": messages}])
    code, _, err = _run(["convert", "m.json", "-o", "data"], tmp_path)
    assert code == 1
    assert "detected sharegpt" in err.splitlines()[0]
    assert "error conversation-type (1):" in err
