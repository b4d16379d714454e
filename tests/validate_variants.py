"""Broken (and a few good) LLaMA-Factory dataset variants with the verdicts real LF 0.9.5 gives them.

Each :class:`Variant` is one ``dataset_info.json`` entry plus its files; ``expected`` is either
``"load"`` (LF cannot load the dataset at all) or the sorted indexes LF rejects or drops.  The verdicts
were produced by ``lf_oracle.py --per-sample --template qwen2_vl`` (with ``--stage`` as listed) and are
re-checked against the oracle by the ``lf_oracle``-marked test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SG = {"formatting": "sharegpt", "columns": {"messages": "conversations", "images": "images"}}
OPENAI_TAGS = {
    "role_tag": "role",
    "content_tag": "content",
    "user_tag": "user",
    "assistant_tag": "assistant",
    "observation_tag": "tool",
    "function_tag": "function_call",
    "system_tag": "system",
}
ALPACA_IMG = {
    "columns": {"prompt": "instruction", "query": "input", "response": "output", "images": "images"}
}
DPO_SG = {
    "formatting": "sharegpt",
    "ranking": True,
    "columns": {"messages": "conversations", "chosen": "chosen", "rejected": "rejected", "images": "images"},
}


def sg(*turns: tuple[str, Any]) -> list[dict[str, Any]]:
    return [{"from": r, "value": v} for r, v in turns]


def chat(question: str = "<image>What is it?", answer: str = "Red.", image: Any = "images/red.png") -> dict:
    row: dict[str, Any] = {"conversations": sg(("human", question), ("gpt", answer))}
    if image is not None:
        row["images"] = [image] if isinstance(image, str) else image
    return row


TEXT = chat("Hello", "Hi", image=[])
GOOD = chat()
CALL = json.dumps({"name": "get_color", "arguments": {"x": 1}})
TOOLS = json.dumps(
    [{"name": "get_color", "description": "d", "parameters": {"type": "object", "properties": {}}}]
)


@dataclass
class Variant:
    entry: dict[str, Any]
    files: dict[str, Any]  # relative path -> rows (JSON array), str (raw text) or bytes
    expected: str | list[int]
    stage: str = "sft"
    note: str = ""
    jsonl: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _v(
    name: str, entry: dict[str, Any], rows: Any, expected: str | list[int], **kw: Any
) -> tuple[str, Variant]:
    suffix = ".jsonl" if kw.get("jsonl") else ".json"
    files = rows if isinstance(rows, dict) and kw.pop("raw_files", False) else {f"{name}{suffix}": rows}
    entry = {"file_name": next(iter(files)), **entry} if "file_name" not in entry else entry
    return name, Variant(entry, files, expected, **kw)


VARIANTS: dict[str, Variant] = dict(
    [
        # --- loading: registry, files, Arrow typing -------------------------------------------------
        _v("v_images_str_everywhere", SG, [{**GOOD, "images": "images/red.png"}] * 2, []),
        _v(
            "v_images_mixed_jsonl",
            SG,
            [{**GOOD, "images": "images/red.png"}, GOOD],
            "load",
            jsonl=True,
            note="string then list in a .jsonl: ArrowInvalid changed from string to array",
        ),
        _v("v_content_mixed_types", SG, [GOOD, chat(answer=7)], "load", note="str and int content"),
        _v(
            "v_role_key_wrong",
            SG,
            [
                {
                    "conversations": [
                        {"role": "human", "content": "<image>x"},
                        {"role": "gpt", "content": "y"},
                    ],
                    "images": ["images/red.png"],
                }
            ],
            "load",
            note="default tags read 'from': KeyError",
        ),
        _v(
            "v_columns_without_messages",
            {"formatting": "sharegpt", "columns": {"images": "images"}},
            [GOOD],
            "load",
        ),
        _v(
            "v_declared_column_absent",
            {
                "formatting": "sharegpt",
                "columns": {"messages": "conversations", "images": "images", "system": "sys"},
            },
            [GOOD],
            "load",
        ),
        _v("v_formatting_unknown", {**SG, "formatting": "chatml"}, [GOOD], "load"),
        _v("v_split_test", {**SG, "split": "test"}, [GOOD], "load"),
        _v("v_single_object", SG, GOOD, [], note="one JSON object is one row"),
        _v(
            "v_folder_with_readme",
            {**SG, "file_name": "v_folder_with_readme"},
            {"v_folder_with_readme/part.json": [GOOD], "v_folder_with_readme/notes.txt": "notes\n"},
            "load",
            raw_files=True,
        ),
        _v(
            "v_upper_extension",
            {**SG, "file_name": "v_upper.JSON"},
            {"v_upper.JSON": [GOOD]},
            "load",
            raw_files=True,
        ),
        _v("v_alpaca_no_input_column", {}, [{"instruction": "a", "output": "b"}], "load"),
        _v(
            "v_alpaca_history_three",
            {
                "columns": {
                    "prompt": "instruction",
                    "query": "input",
                    "response": "output",
                    "history": "history",
                }
            },
            [{"instruction": "a", "input": "", "output": "b", "history": [["q", "a", "x"]]}],
            "load",
        ),
        _v(
            "v_openai_developer_role",
            {"formatting": "openai", "columns": {"messages": "messages"}, "tags": OPENAI_TAGS},
            [
                {
                    "messages": [
                        {"role": "developer", "content": "x"},
                        {"role": "user", "content": "q"},
                        {"role": "assistant", "content": "a"},
                    ]
                }
            ],
            "load",
        ),
        # --- silent drops -----------------------------------------------------------------------------
        _v(
            "v_unknown_role",
            SG,
            [GOOD, {**GOOD, "conversations": sg(("human", "<image>q"), ("bot", "a"))}],
            [1],
        ),
        _v(
            "v_system_in_middle",
            SG,
            [
                {**TEXT, "conversations": sg(("human", "q"), ("gpt", "a"), ("system", "s"), ("gpt", "b"))},
                TEXT,
            ],
            [0],
        ),
        _v(
            "v_leading_system",
            SG,
            [{**TEXT, "conversations": sg(("system", "Be brief."), ("human", "q"), ("gpt", "a"))}],
            [],
        ),
        _v("v_odd_count", SG, [TEXT, {**TEXT, "conversations": sg(("human", "q"))}], [1]),
        _v("v_empty_conversation", SG, [TEXT, {**TEXT, "conversations": []}], [1]),
        _v(
            "v_observation_first", SG, [{**TEXT, "conversations": sg(("observation", "o"), ("gpt", "a"))}], []
        ),
        _v(
            "v_tags_partial",
            {
                "formatting": "sharegpt",
                "columns": {"messages": "messages"},
                "tags": {"role_tag": "role", "content_tag": "content"},
            },
            [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}] * 2,
            [0, 1],
        ),
        _v("v_alpaca_output_numeric", {}, [{"instruction": "a", "input": "", "output": 5}] * 2, [0, 1]),
        _v(
            "v_alpaca_output_null",
            {},
            [
                {"instruction": "a", "input": "", "output": "b"},
                {"instruction": "a", "input": "", "output": None},
            ],
            [1],
        ),
        _v(
            "v_kto_tag_in_sft",
            {"formatting": "sharegpt", "columns": {"messages": "conversations", "kto_tag": "label"}},
            [{**TEXT, "label": True}, {**TEXT, "label": False}],
            [0, 1],
        ),
        _v(
            "v_ranking_string_sft",
            {**SG, "ranking": "true"},
            [GOOD, GOOD],
            [0, 1],
            note="ranking 'true' passes the stage check; ranking rows need an odd count",
        ),
        # --- hard errors per sample -------------------------------------------------------------------
        _v("v_content_null", SG, [GOOD, chat(answer=None)], [1]),
        _v(
            "v_content_key_missing",
            SG,
            [GOOD, {**GOOD, "conversations": [{"from": "human", "value": "<image>q"}, {"from": "gpt"}]}],
            [1],
        ),
        _v("v_placeholder_uppercase", SG, [GOOD, chat("<IMAGE>What?")], [1]),
        _v("v_tag_but_no_media", SG, [GOOD, chat(image=[])], [1]),
        _v("v_media_null_no_tag", SG, [GOOD, {**TEXT, "images": None}], []),
        _v("v_image_empty_string", SG, [GOOD, chat(image=[""])], [1]),
        _v("v_image_url", SG, [GOOD, chat(image=["https://example.com/a.png"])], [1]),
        _v("v_image_absolute", SG, [chat(image=["@ABS@/images/red.png"])], []),
        _v("v_image_corrupt", SG, [GOOD, chat(image=["images/corrupt.png"])], [1]),
        _v("v_image_missing", SG, [GOOD, chat(image=["images/nope.png"])], [1]),
        _v(
            "v_audio_on_qwen2_vl",
            {"formatting": "sharegpt", "columns": {"messages": "conversations", "audios": "audios"}},
            [
                {**TEXT, "conversations": sg(("human", "<audio>q"), ("gpt", "a")), "audios": ["media/a.wav"]},
                TEXT,
            ],
            [0],
        ),
        _v(
            "v_video_missing",
            {"formatting": "sharegpt", "columns": {"messages": "conversations", "videos": "videos"}},
            [
                {
                    **TEXT,
                    "conversations": sg(("human", "<video>q"), ("gpt", "a")),
                    "videos": ["media/nope.mp4"],
                },
                TEXT,
            ],
            [0],
        ),
        _v(
            "v_function_call_bad_json",
            {"formatting": "sharegpt", "columns": {"messages": "conversations", "tools": "tools"}},
            [
                {
                    "conversations": sg(
                        ("human", "q"), ("function_call", CALL), ("observation", "o"), ("gpt", "a")
                    ),
                    "tools": TOOLS,
                },
                {
                    "conversations": sg(
                        ("human", "q"), ("function_call", "call it"), ("observation", "o"), ("gpt", "a")
                    ),
                    "tools": TOOLS,
                },
                {"conversations": sg(("human", "q"), ("gpt", "a")), "tools": ""},
            ],
            [1],
        ),
        _v(
            "v_tools_native_list",
            {"formatting": "sharegpt", "columns": {"messages": "conversations", "tools": "tools"}},
            [{"conversations": sg(("human", "q"), ("gpt", "a")), "tools": [{"name": "f"}]}],
            [0],
        ),
        _v(
            "v_tools_bad_json",
            {"formatting": "sharegpt", "columns": {"messages": "conversations", "tools": "tools"}},
            [
                {"conversations": sg(("human", "q"), ("gpt", "a")), "tools": "not json"},
                {"conversations": sg(("human", "q"), ("gpt", "a")), "tools": TOOLS},
            ],
            [0],
        ),
        _v(
            "v_alpaca_system_list",
            {
                "columns": {
                    "prompt": "instruction",
                    "query": "input",
                    "response": "output",
                    "system": "system",
                }
            },
            [
                {"instruction": "a", "input": "", "output": "b", "system": ["x"]},
                {"instruction": "a", "input": "", "output": "b", "system": []},
            ],
            [0],
        ),
        _v(
            "v_alpaca_history_ok",
            {**ALPACA_IMG, "columns": {**ALPACA_IMG["columns"], "history": "history"}},
            [
                {
                    "instruction": "<image>a",
                    "input": "",
                    "output": "b",
                    "images": ["images/red.png"],
                    "history": [["q", "a"]],
                },
                {
                    "instruction": "a",
                    "input": "",
                    "output": "b",
                    "images": [],
                    "history": [["<image>q", "a"]],
                },
            ],
            [1],
        ),
        _v(
            "v_openai_tool_role",
            {"formatting": "openai", "columns": {"messages": "messages"}, "tags": OPENAI_TAGS},
            [
                {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
                {
                    "messages": [
                        {"role": "user", "content": "q"},
                        {"role": "tool", "content": "t"},
                        {"role": "assistant", "content": "a"},
                    ]
                },
            ],
            [1],
        ),
        _v(
            "v_csv_alpaca",
            {"file_name": "v_csv_alpaca.csv"},
            {"v_csv_alpaca.csv": "instruction,input,output\nsay hi,,hi\nadd,1+1,2\n"},
            [],
            raw_files=True,
        ),
        _v(
            "v_csv_numeric_output",
            {"file_name": "v_csv_numeric_output.csv"},
            {"v_csv_numeric_output.csv": "instruction,input,output\nadd,1+1,2\nadd,2+2,4\n"},
            [0, 1],
            raw_files=True,
        ),
        # --- preference (stage rm) --------------------------------------------------------------------
        _v(
            "r_alpaca_ok",
            {
                "ranking": True,
                "columns": {
                    "prompt": "instruction",
                    "query": "input",
                    "chosen": "chosen",
                    "rejected": "rejected",
                },
            },
            [{"instruction": "q", "input": "", "chosen": "good", "rejected": "bad"}],
            [],
            stage="rm",
        ),
        _v(
            "r_sharegpt_strings",
            DPO_SG,
            [
                {
                    "conversations": sg(("human", "<image>q")),
                    "chosen": "a",
                    "rejected": "b",
                    "images": ["images/red.png"],
                }
            ],
            [0],
            stage="rm",
        ),
        _v(
            "r_even_count",
            DPO_SG,
            [
                {
                    "conversations": sg(("human", "<image>q")),
                    "chosen": {"from": "gpt", "value": "a"},
                    "rejected": {"from": "gpt", "value": "b"},
                    "images": ["images/red.png"],
                },
                {
                    "conversations": sg(("human", "<image>q"), ("gpt", "x")),
                    "chosen": {"from": "gpt", "value": "a"},
                    "rejected": {"from": "gpt", "value": "b"},
                    "images": ["images/red.png"],
                },
            ],
            [1],
            stage="rm",
        ),
        _v(
            "r_placeholder_in_chosen",
            DPO_SG,
            [
                {
                    "conversations": sg(("human", "q")),
                    "chosen": {"from": "gpt", "value": "<image>a"},
                    "rejected": {"from": "gpt", "value": "b"},
                    "images": ["images/red.png"],
                }
            ],
            [0],
            stage="rm",
        ),
        _v(
            "r_human_role_chosen",
            DPO_SG,
            [
                {
                    "conversations": sg(("human", "<image>q")),
                    "chosen": {"from": "human", "value": "a"},
                    "rejected": {"from": "gpt", "value": "b"},
                    "images": ["images/red.png"],
                }
            ],
            [],
            stage="rm",
            note="LF warns 'Invalid role tag' but keeps the row",
        ),
        _v("r_sft_data_in_rm", SG, [GOOD], "load", stage="rm"),
        # --- KTO (stage kto) --------------------------------------------------------------------------
        _v(
            "k_string_tag",
            {"formatting": "sharegpt", "columns": {"messages": "conversations", "kto_tag": "label"}},
            [{**TEXT, "label": "true"}, {**TEXT, "label": "false"}],
            [0, 1],
            stage="kto",
        ),
        _v(
            "k_ok",
            {
                "formatting": "sharegpt",
                "columns": {"messages": "conversations", "kto_tag": "label", "images": "images"},
            },
            [{**GOOD, "label": True}, {**GOOD, "label": False}, {**TEXT, "label": None}],
            [2],
            stage="kto",
        ),
        # --- pretraining (stage pt) -------------------------------------------------------------------
        _v(
            "p_text_file",
            {"file_name": "p_text_file.txt", "columns": {"prompt": "text"}},
            {"p_text_file.txt": "first line\n\nthird line\n"},
            [],
            stage="pt",
            raw_files=True,
        ),
        _v(
            "p_sharegpt_dropped_row",
            SG,
            [GOOD, {**GOOD, "conversations": sg(("gpt", "x"), ("human", "y"))}],
            [1],
            stage="pt",
        ),
    ]
)


def build(folder: Path) -> Path:
    """Write every variant (and its images) into ``folder``; returns the folder."""
    from PIL import Image

    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "media").mkdir(exist_ok=True)
    Image.new("RGB", (32, 24), (255, 0, 0)).save(folder / "images" / "red.png")
    (folder / "images" / "corrupt.png").write_bytes(b"this is not a png at all")
    absolute = str((folder).resolve())
    info: dict[str, Any] = {}
    for name, variant in VARIANTS.items():
        for rel, content in variant.files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            elif isinstance(content, str):
                target.write_text(content, encoding="utf-8")
            else:
                text = (
                    "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in content)
                    if variant.jsonl
                    else json.dumps(content, ensure_ascii=False, indent=1)
                )
                target.write_text(text.replace("@ABS@", absolute), encoding="utf-8")
        info[name] = variant.entry
    (folder / "dataset_info.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return folder


def names_for(stage: str) -> list[str]:
    return [name for name, v in VARIANTS.items() if v.stage == stage]
