"""alpaca2lf / convert --from alpaca / --to llamafactory-alpaca through click's CliRunner: exit codes,
exact messages, round trips, and LF's demo files: stand-ins of their shape (tests/standins.py), and the
real files in ../shared/data in the ``shared_data`` tests (they may not be bundled)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from .conftest import run_cli as _run
from .standins import alpaca_en_like, dpo_en_like, kto_en_like, llava_qa_like

GOLDEN = Path(__file__).parent / "golden" / "alpaca"
ROUND_TRIPS = sorted(p.name for p in GOLDEN.glob("*roundtrip"))


def _write(path: Path, records: list[Any]) -> Path:
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


@pytest.mark.parametrize("case", ROUND_TRIPS)
def test_round_trip_gives_the_input_back(case: str) -> None:
    """LF file -> model -> LF file is byte-identical (the golden run checks the command reproduces it)."""
    folder = GOLDEN / case
    (data,) = [p for p in (folder / "input").iterdir() if p.is_file()]
    written = (folder / "expected" / "out" / data.name).read_bytes()
    original = data.read_bytes()
    if case == "identity_roundtrip":  # LF's file ends with a newline; mmconvert writes none
        original = original.removesuffix(b"\n")
    assert written == original


def test_round_trips_cover_both_layouts_and_all_kinds() -> None:
    assert ROUND_TRIPS == [
        "alpaca_kto_roundtrip",
        "alpaca_preference_roundtrip",
        "alpaca_roundtrip",
        "identity_roundtrip",
        "sharegpt_kto_roundtrip",
        "sharegpt_preference_roundtrip",
    ]


def test_unsupported_sample_is_named_in_a_dry_run_and_skipped_on_request(tmp_path: Path) -> None:
    tools = GOLDEN / "unsupported" / "input" / "tools.json"
    args = [
        "convert",
        str(tools),
        "--from",
        "sharegpt",
        "-o",
        "out",
        "--name",
        "t",
        "--to",
        "llamafactory-alpaca",
    ]
    code, out, err = _run([*args, "--dry-run"], tmp_path)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "error unsupported-in-alpaca (1):",
        f"  {tools}:$[0].conversations[1].value: turn 2 is a function_call turn; LF's alpaca layout has "
        "only user and "
        "assistant turns",
        "  fix: use the sharegpt layout (--to llamafactory), which keeps tool calls",
        "Error: 1 error(s) in the data; nothing was written",
    ]
    assert not (tmp_path / "out").exists()
    code, out, _ = _run([*args, "--on-error", "skip"], tmp_path)
    assert code == 0
    assert out == (
        "Wrote 1 samples to out/t.json and entry 't' in out/dataset_info.json; "
        "skipped 1 sample(s) with errors (listed above)\n"
    )
    (row,) = json.loads((tmp_path / "out" / "t.json").read_text(encoding="utf-8"))
    assert row == {
        "instruction": "Bye",
        "input": "",
        "output": "Bye.",
        "system": "Be brief.",
        "history": [["Hi", "Hello."]],
    }
    code, _, _ = _run([*args[:-2], "--name", "t2"], tmp_path)
    assert code == 0, "the sharegpt layout keeps tool calls"


def test_files_of_different_kinds(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", [{"instruction": "q", "output": "a"}])
    _write(tmp_path / "b.json", [{"instruction": "q", "chosen": "a", "rejected": "b"}])
    code, out, err = _run(["alpaca2lf", "a.json", "b.json", "-o", "out"], tmp_path)
    assert (code, out) == (2, "")
    assert err == (
        "Error: b.json and a.json hold different kinds of data (preference, KTO or SFT); "
        "convert them separately\n"
    )


def test_missing_media_dir(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", [{"instruction": "q", "output": "a"}])
    code, _, err = _run(["alpaca2lf", "a.json", "--media-dir", "nope", "-o", "out"], tmp_path)
    assert code == 2
    assert (
        err.splitlines()[-1]
        == "Error: Invalid value for '--media-dir' / '-m': Directory 'nope' does not exist."
    )


def test_auto_detects_alpaca_and_says_so(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", [{"instruction": "q", "input": "", "output": "a"}])
    code, out, err = _run(["convert", "a.json", "-o", "out", "--name", "x"], tmp_path)
    assert code == 0
    assert err == (
        "a.json: detected alpaca (`instruction`/`input`/`output` records; "
        "keys seen: input, instruction, output)\n"
    )
    assert out == "Wrote 1 samples to out/x.json and entry 'x' in out/dataset_info.json\n"


def test_preference_with_tag_only_in_chosen_is_refused(tmp_path: Path) -> None:
    """LF checks prompt+chosen and prompt+rejected against the same images: a tag in one answer fails."""
    (tmp_path / "a.png").write_bytes((GOLDEN / "preference" / "input" / "images" / "a.png").read_bytes())
    _write(
        tmp_path / "p.json",
        [{"instruction": "q", "chosen": "see <image>", "rejected": "no", "images": ["a.png"]}],
    )
    code, _, err = _run(["alpaca2lf", "p.json", "-o", "out", "--name", "p"], tmp_path)
    assert code == 1
    assert "error placeholder-literal (1):" in err
    assert not (tmp_path / "out").exists()


# --- LF's demo files (stand-ins; the real ones in place from ../shared/data) ------------------------


def _convert(tmp_path: Path, source: Path, name: str, *extra: str) -> list[dict[str, Any]]:
    code, _, err = _run(["convert", str(source), "-o", "out", "--name", name, "-q", *extra], tmp_path)
    assert code == 0, err
    path = tmp_path / "out" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _keeps_lfs_view_of_every_record(tmp_path: Path, source: Path, total: int, canonical: int) -> None:
    records = json.loads(source.read_text(encoding="utf-8"))
    rows = _convert(tmp_path, source, "demo", "--from", "alpaca", "--to", "llamafactory-alpaca")
    assert len(rows) == len(records) == total
    for record, row in zip(records, rows, strict=True):
        assert row == {
            "instruction": "\n".join(p for p in (record["instruction"], record["input"]) if p),
            "input": "",
            "output": record["output"],
        }
    assert len([r for r in records if not r["input"]]) == canonical
    assert all(rows[i] == r for i, r in enumerate(records) if not r["input"])


def test_alpaca_en_demo_keeps_lfs_view_of_every_record(tmp_path: Path) -> None:
    source = alpaca_en_like(tmp_path / "src" / "alpaca_en_demo.json")
    _keeps_lfs_view_of_every_record(tmp_path, source, 7, 4)


@pytest.mark.shared_data
def test_real_alpaca_en_demo_keeps_lfs_view_of_every_record(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / "llamafactory" / "data" / "alpaca_en_demo.json"
    _keeps_lfs_view_of_every_record(tmp_path, source, 999, 587)


def _dpo_and_kto_agree_across_layouts(tmp_path: Path, data: Path, counts: dict[str, int]) -> None:
    """sharegpt-layout demo -> LF alpaca -> back to LF sharegpt == the sharegpt export done directly."""
    for demo, extra in (("dpo_en_demo", []), ("kto_en_demo", [])):
        direct = _convert(tmp_path, data / f"{demo}.json", f"{demo}_sg", "--from", "sharegpt", *extra)
        alpaca_rows = _convert(
            tmp_path, data / f"{demo}.json", f"{demo}_al", "--from", "sharegpt", "--to", "llamafactory-alpaca"
        )
        assert len(direct) == len(alpaca_rows) == counts[demo]
        again = _convert(tmp_path, tmp_path / "out" / f"{demo}_al.json", f"{demo}_back", "--from", "alpaca")
        assert again == direct, demo
    info = json.loads((tmp_path / "out" / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["dpo_en_demo_al"]["ranking"] is True
    assert info["dpo_en_demo_al"]["columns"] == {
        "prompt": "instruction",
        "query": "input",
        "system": "system",
        "history": "history",
        "chosen": "chosen",
        "rejected": "rejected",
    }
    assert info["kto_en_demo_al"]["columns"]["kto_tag"] == "kto_tag"
    assert "ranking" not in info["kto_en_demo_al"]


def test_dpo_and_kto_demos_agree_across_layouts(tmp_path: Path) -> None:
    data = tmp_path / "src"
    dpo_en_like(data / "dpo_en_demo.json")
    kto_en_like(data / "kto_en_demo.json")
    _dpo_and_kto_agree_across_layouts(tmp_path, data, {"dpo_en_demo": 3, "kto_en_demo": 4})


@pytest.mark.shared_data
def test_real_dpo_and_kto_demos_agree_across_layouts(tmp_path: Path, shared_data: Path) -> None:
    data = shared_data / "llamafactory" / "data"
    _dpo_and_kto_agree_across_layouts(tmp_path, data, {"dpo_en_demo": 300, "kto_en_demo": 300})


def _llava_qa_jsonl(tmp_path: Path, source: Path, total: int) -> None:
    """LLaVA's alpaca-like eval file: `image` strings without a tag; each image gets one <image>."""
    lines = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines() if line.strip()]
    images = tmp_path / "coco"
    images.mkdir()
    for name in {r["image"] for r in lines}:
        (images / name).write_bytes(b"")  # existence is what --check exists looks at
    rows = _convert(tmp_path, source, "qa", "--from", "alpaca", "--media-dir", str(images))
    assert len(rows) == len(lines) == total
    for line, row in zip(lines, rows, strict=True):
        assert row["messages"][0] == {"role": "user", "content": "<image>" + line["instruction"]}
        assert row["images"] == [f"../coco/{line['image']}"]


def test_llava_gpt4_qa_jsonl(tmp_path: Path) -> None:
    """A stand-in of LLaVA's GPT-4 QA file (its text is under OpenAI's terms; the real one: next test)."""
    _llava_qa_jsonl(tmp_path, llava_qa_like(tmp_path / "src" / "coco2014_val_gpt4_qa_30x3.jsonl"), 9)


@pytest.mark.shared_data
def test_real_llava_gpt4_qa_jsonl(tmp_path: Path, shared_data: Path) -> None:
    source = shared_data / "llava" / "playground" / "data" / "coco2014_val_gpt4_qa_30x3.jsonl"
    _llava_qa_jsonl(tmp_path, source, 90)


@pytest.mark.parametrize("case", ["vision", "preference", "kto"])
@pytest.mark.parametrize("target", ["llamafactory", "llamafactory-alpaca"])
def test_lf_folder_round_trip(tmp_path: Path, case: str, target: str) -> None:
    """An LF dataset mmconvert wrote, read back through its dataset_info.json entry: the same bytes.

    The second dataset goes into the same folder (media paths are relative to it) as ``d2``.
    """
    shutil.copytree(GOLDEN / case / "input", tmp_path / "data" / "src")
    (source,) = [p for p in (tmp_path / "data" / "src").iterdir() if p.is_file()]
    first = ["alpaca2lf", str(source), "-o", "data", "--name", "d", "--to", target, "-q"]
    assert _run(first, tmp_path)[0] == 0
    again = ["convert", "data", "--from", "llamafactory", "--dataset", "d", "-o", "data", "--name", "d2"]
    code, _, err = _run([*again, "--to", target, "-q"], tmp_path)
    assert code == 0, err
    assert (tmp_path / "data" / "d2.json").read_bytes() == (tmp_path / "data" / "d.json").read_bytes()
    info = json.loads((tmp_path / "data" / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["d2"] == {**info["d"], "file_name": "d2.json"}


@pytest.mark.parametrize(("case", "stage"), [("preference", "rm"), ("kto", "kto")])
@pytest.mark.parametrize("target", ["llamafactory", "llamafactory-alpaca"])
def test_lf_folder_round_trip_with_its_stage(tmp_path: Path, case: str, stage: str, target: str) -> None:
    """Preference/KTO datasets read back through the LF reader with their own stage: the same bytes."""
    from mmconvert.api import convert
    from mmconvert.converters.lfdata import LfDataOptions
    from mmconvert.options import OutputOptions, PassOptions

    shutil.copytree(GOLDEN / case / "input", tmp_path / "data" / "src")
    (source,) = [p for p in (tmp_path / "data" / "src").iterdir() if p.is_file()]
    first = ["alpaca2lf", str(source), "-o", "data", "--name", "d", "--to", target, "-q"]
    assert _run(first, tmp_path)[0] == 0
    data = tmp_path / "data"
    result = convert(
        "llamafactory",
        [str(data)],
        LfDataOptions(dataset="d", stage=stage),
        PassOptions(),
        OutputOptions(output_dir=str(data), name="d2"),
        target,
    )
    assert result.samples_written == {"preference": 4, "kto": 3}[case]
    assert (data / "d2.json").read_bytes() == (data / "d.json").read_bytes()


def test_chat_data_given_as_alpaca_is_refused_up_front(tmp_path: Path) -> None:
    _write(
        tmp_path / "dpo.json",
        [{"conversations": [{"from": "human", "value": "q"}], "chosen": {"from": "gpt", "value": "a"}}],
    )
    code, out, err = _run(["alpaca2lf", "dpo.json", "-o", "out"], tmp_path)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "Error: dpo.json: the records hold `conversations` lists and no instruction/input/output: this is "
        "chat data, not alpaca",
        "hint: use --from sharegpt (or openai, llava, swift), or --from auto",
    ]
