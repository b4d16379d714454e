"""The alpaca-style importer (model built exactly as LF's AlpacaDatasetConverter builds its rows, and a
finding for every row LF would drop or crash on) and the LF alpaca layout writer's ``unsupported``
findings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mmconvert.converters import EXPORTERS, IMPORTERS, alpaca
from mmconvert.converters.llamafactory import alpaca_entry, alpaca_record, export_problem, sharegpt_entry
from mmconvert.findings import Finding, Findings
from mmconvert.model import Dataset, Role, Sample, SourceRef, Turn
from mmconvert.options import ChatOptions, Layout
from mmconvert.paths import OutputPaths


def _read(tmp_path: Path, records: list[Any], jsonl: bool = False) -> tuple[Dataset, list[Sample], Findings]:
    path = tmp_path / ("data.jsonl" if jsonl else "data.json")
    if jsonl:
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    else:
        path.write_text(json.dumps(records), encoding="utf-8")
    findings = Findings()
    dataset = alpaca.read([str(path)], ChatOptions(), findings, "t")
    samples = list(dataset.samples)
    return dataset, samples, findings


def _only(findings: Findings) -> Finding:
    (finding,) = list(findings)
    return finding


def test_registered() -> None:
    assert IMPORTERS["alpaca"].target is alpaca.read
    assert "llamafactory-alpaca" in EXPORTERS


def test_model_matches_lf_alignment(tmp_path: Path) -> None:
    _, samples, findings = _read(
        tmp_path,
        [
            {"instruction": "Q", "input": "ctx", "output": "A", "system": "S", "history": [["q1", "a1"]]},
            {"instruction": "only", "input": "", "output": "B"},
            {"instruction": "", "input": "just input", "output": "C"},
            {"instruction": "", "input": "", "output": "D"},
            {"input": "no instruction key", "output": "E", "history": []},
        ],
    )
    assert len(findings) == 0
    first = samples[0]
    assert first.turns == (
        Turn(Role.USER, "q1"),
        Turn(Role.ASSISTANT, "a1"),
        Turn(Role.USER, "Q\nctx"),
        Turn(Role.ASSISTANT, "A"),
    )
    assert first.system == "S"
    assert first.source.turn_paths == (".history[0][0]", ".history[0][1]", ".instruction", ".output")
    assert [s.turns[-2].content for s in samples[1:]] == ["only", "just input", "", "no instruction key"]
    assert samples[2].source.turn_paths[0] == ".input"
    assert all(s.system is None and s.chosen is None and s.kto_label is None for s in samples[1:])


def test_media_columns_and_llava_image(tmp_path: Path) -> None:
    dataset, samples, findings = _read(
        tmp_path,
        [
            {"instruction": "<image>What?", "output": "x", "images": ["a.jpg", "b.jpg"], "id": "007"},
            {"instruction": "Describe", "output": "y", "image": "COCO_1.jpg", "videos": "v.mp4"},
        ],
        jsonl=True,
    )
    assert len(findings) == 0
    assert {k.value for k in dataset.media_kinds} == {"image", "video"}
    assert dataset.notes == (
        "media paths are read relative to the input file's folder; use --media-dir to choose another",
    )
    a, b = samples
    assert [m.path for m in a.images] == ["a.jpg", "b.jpg"]
    assert a.images[0].base == str(tmp_path)
    assert a.source.ids == (("line", 1), ("id", "007"))
    assert [m.path for m in b.images] == ["COCO_1.jpg"]
    assert b.images[0].origin == f"{tmp_path / 'data.jsonl'}:$[1].image"
    assert [m.path for m in b.videos] == ["v.mp4"]


def test_inline_img_tags_become_images(tmp_path: Path) -> None:
    dataset, samples, findings = _read(
        tmp_path, [{"instruction": "<img>p/1.png</img> and <img>2.png</img>?", "output": "x"}]
    )
    assert [k.value for k in dataset.media_kinds] == ["image"]  # so the images column is declared
    (sample,) = samples
    assert sample.turns[0].content == "<image> and <image>?"
    assert [m.path for m in sample.images] == ["p/1.png", "2.png"]
    assert [f.code for f in findings] == ["inline-tags-converted"]


def test_preference_rows(tmp_path: Path) -> None:
    dataset, samples, findings = _read(
        tmp_path,
        [
            {
                "instruction": "Which?",
                "input": "",
                "chosen": "good",
                "rejected": "bad",
                "history": [["h", "i"]],
            },
            {"instruction": "Old layout", "output": ["better", "worse"]},
        ],
    )
    assert len(findings) == 0
    assert dataset.ranking and not dataset.kto
    first, old = samples
    assert first.turns == (Turn(Role.USER, "h"), Turn(Role.ASSISTANT, "i"), Turn(Role.USER, "Which?"))
    assert first.chosen == Turn(Role.ASSISTANT, "good")
    assert first.rejected == Turn(Role.ASSISTANT, "bad")
    assert (old.chosen, old.rejected) == (Turn(Role.ASSISTANT, "better"), Turn(Role.ASSISTANT, "worse"))


def test_preference_problems(tmp_path: Path) -> None:
    _, samples, findings = _read(
        tmp_path,
        [
            {"instruction": "q", "chosen": "a", "rejected": "b"},
            {"instruction": "q", "chosen": "a"},
            {"instruction": "q", "chosen": {"from": "gpt", "value": "a"}, "rejected": "b"},
        ],
    )
    assert len(samples) == 1
    missing, obj = list(findings)
    assert (missing.code, missing.path) == ("alpaca-missing-rejected", "$[1].rejected")
    assert missing.message == (
        "this preference record has no `rejected` answer; LF drops it (Dropped invalid example)"
    )
    assert (obj.code, obj.path) == ("alpaca-bad-chosen", "$[2].chosen")
    assert obj.message == (
        "`chosen` is a message object, not a string: in the alpaca layout LF only pairs string answers "
        "and drops this record (Dropped invalid example)"
    )
    assert findings.skipped == 2


def test_mixed_preference_and_sft(tmp_path: Path) -> None:
    rows: list[Any] = [{"instruction": "q", "output": "a"}] * 101
    rows.append({"instruction": "q", "chosen": "a", "rejected": "b"})
    _, samples, findings = _read(tmp_path, rows)
    assert len(samples) == 101
    finding = _only(findings)
    assert (finding.code, finding.index) == ("alpaca-mixed-preference", 101)


def test_kto_labels(tmp_path: Path) -> None:
    dataset, samples, findings = _read(
        tmp_path,
        [
            {"instruction": "q", "output": "a", "kto_tag": True},
            {"instruction": "q", "output": "b", "kto_tag": False},
            {"instruction": "q", "output": "c", "kto_tag": "true"},
            {"instruction": "q", "output": "d", "kto_tag": 1},
            {"instruction": "q", "output": "e"},
        ],
    )
    assert dataset.kto and not dataset.ranking
    assert [s.kto_label for s in samples] == [True, False]
    assert samples[0].turns[-1] == Turn(Role.ASSISTANT, "a")
    messages = [(f.code, f.path, f.message) for f in findings]
    assert messages == [
        (
            "alpaca-bad-kto-tag",
            "$[2].kto_tag",
            'the KTO label `kto_tag` is "true", not a JSON boolean: LF only reads JSON true/false and drops '
            "this record in KTO training (Dropped invalid example)",
        ),
        (
            "alpaca-bad-kto-tag",
            "$[3].kto_tag",
            "the KTO label `kto_tag` is 1, not a JSON boolean: LF only reads JSON true/false and drops this "
            "record in KTO training (Dropped invalid example)",
        ),
        (
            "alpaca-bad-kto-tag",
            "$[4].kto_tag",
            "the KTO label `kto_tag` is missing: LF only reads JSON true/false and drops this record in KTO "
            "training (Dropped invalid example)",
        ),
    ]


def test_boolean_label_means_kto_other_labels_do_not(tmp_path: Path) -> None:
    dataset, samples, _ = _read(tmp_path, [{"instruction": "q", "output": "a", "label": False}])
    assert dataset.kto and samples[0].kto_label is False
    dataset, samples, findings = _read(tmp_path, [{"instruction": "q", "output": "a", "label": "sports"}])
    assert not dataset.kto and samples[0].kto_label is None and len(findings) == 0


@pytest.mark.parametrize(
    ("record", "code", "path", "message"),
    [
        (
            {"instruction": "q", "output": "a", "history": [["x", "y", "z"]]},
            "alpaca-bad-history",
            "$[0].history[0]",
            "Expected `array` of length 2: LF unpacks every history item into exactly (question, "
            "answer): other shapes stop it with a ValueError, a non-list history is ignored silently",
        ),
        (
            {"instruction": "q", "output": "a", "history": "x"},
            "alpaca-bad-history",
            "$[0].history",
            "Expected `array | null`, got `str`: LF unpacks every history item into exactly (question, "
            "answer): other shapes stop it with a ValueError, a non-list history is ignored silently",
        ),
        (
            {"instruction": "q", "output": 3.3},
            "alpaca-bad-output",
            "$[0].output",
            "Expected `str | array | null`, got `float`: LF treats a non-string output as no answer and "
            "drops the row (Dropped invalid example)",
        ),
        (
            {"instruction": "q"},
            "alpaca-missing-output",
            "$[0].output",
            "this record has no `output`: LF treats it as unsupervised and drops it in training (Dropped "
            "invalid example)",
        ),
        (
            {"instruction": "q", "output": ["a", "b"]},
            "alpaca-bad-output",
            "$[0].output",
            "`output` is a list, not a string: LF treats it as no answer and drops the record (Dropped "
            "invalid example)",
        ),
        (
            {"instruction": 5, "output": "a"},
            "alpaca-bad-instruction",
            "$[0].instruction",
            "Expected `str | null`, got `int`: LF joins the instruction with the input and stops with a "
            "TypeError on a non-string (a falsy one is silently left out)",
        ),
        (
            {"instruction": "q", "output": "a", "images": [{"bytes": None, "path": "x.png"}]},
            "alpaca-bad-images",
            "$[0].images[0]",
            "Expected `str`, got `object`: LF opens every media entry as a file path",
        ),
        (
            {"instruction": "q", "output": "a", "image": "x.png", "images": ["y.png"]},
            "alpaca-image-and-images",
            "$[0].image",
            "the record has both `image` and `images`; which media belong to it is ambiguous",
        ),
        (
            ["q", "a"],
            "alpaca-bad-record",
            "$[0]",
            "Expected `object`, got `array`: every alpaca record must be a JSON object",
        ),
    ],
)
def test_rows_lf_would_drop_or_crash_on(
    tmp_path: Path, record: Any, code: str, path: str, message: str
) -> None:
    _, samples, findings = _read(tmp_path, [record, {"instruction": "fine", "output": "ok"}])
    assert len(samples) == 1
    finding = _only(findings)
    assert (finding.code, finding.path, finding.message) == (code, path, message)
    assert finding.file == str(tmp_path / "data.json") and finding.index == 0
    assert findings.skipped == 1


def test_tools_list_becomes_json_text(tmp_path: Path) -> None:
    _, samples, _ = _read(tmp_path, [{"instruction": "q", "output": "a", "tools": [{"name": "f"}]}])
    assert samples[0].tools == '[{"name": "f"}]'


def test_files_of_different_kinds_are_refused(tmp_path: Path) -> None:
    from mmconvert.errors import UsageError

    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps([{"instruction": "q", "output": "a"}]))
    b.write_text(json.dumps([{"instruction": "q", "chosen": "a", "rejected": "b"}]))
    with pytest.raises(UsageError, match="hold different kinds of data"):
        alpaca.read([str(a), str(b)], ChatOptions(), Findings(), "t")


# --- the LF alpaca layout writer -------------------------------------------------------------------

SRC = SourceRef("in.json", 4, "$[4]")


def _sample(*turns: tuple[Role, str], **kw: Any) -> Sample:
    return Sample(turns=tuple(Turn(r, c) for r, c in turns), source=SRC, **kw)


def _dataset(ranking: bool = False, kto: bool = False) -> Dataset:
    return Dataset(name="t", samples=[], ranking=ranking, kto=kto)


U, A, F, OBS = Role.USER, Role.ASSISTANT, Role.FUNCTION, Role.OBSERVATION


def test_alpaca_record_layout(tmp_path: Path) -> None:
    paths = OutputPaths(str(tmp_path), False)
    sample = _sample((U, "q1"), (A, "a1"), (U, "q2"), (A, "a2"), system="S", kto_label=False)
    assert export_problem(sample, _dataset(kto=True), Layout.ALPACA) is None
    assert alpaca_record(sample, paths, []) == {
        "instruction": "q2",
        "input": "",
        "output": "a2",
        "system": "S",
        "history": [["q1", "a1"]],
        "kto_tag": False,
    }
    pref = _sample((U, "q"), chosen=Turn(A, "good"), rejected=Turn(A, "bad"))
    assert alpaca_record(pref, paths, []) == {
        "instruction": "q",
        "input": "",
        "chosen": "good",
        "rejected": "bad",
    }


def test_alpaca_entry_declares_every_written_column_and_no_tags() -> None:
    entry = alpaca_entry("x.json", {"instruction", "input", "chosen", "rejected", "history", "images"}, True)
    assert entry == {
        "file_name": "x.json",
        "formatting": "alpaca",
        "ranking": True,
        "columns": {
            "prompt": "instruction",
            "query": "input",
            "history": "history",
            "images": "images",
            "chosen": "chosen",
            "rejected": "rejected",
        },
    }


@pytest.mark.parametrize(
    ("sample", "dataset", "message", "path"),
    [
        (
            _sample((U, "q"), (F, '{"name": "f", "arguments": {}}'), (OBS, "r"), (A, "a")),
            _dataset(),
            "turn 2 is a function_call turn; LF's alpaca layout has only user and assistant turns",
            "$[4].turns[1]",
        ),
        (
            _sample((U, "q"), (U, "q2"), (A, "a")),
            _dataset(),
            "turn 2 is a user turn where LF's alpaca layout needs an assistant turn (history is a list "
            "of [question, answer] pairs)",
            "$[4].turns[1]",
        ),
        (
            _sample((U, "q"), (A, "a"), (U, "q2")),
            _dataset(),
            "LF's alpaca layout needs the conversation to end on the assistant's answer",
            "$[4]",
        ),
        (
            _sample((U, "q"), chosen=Turn(F, "{}"), rejected=Turn(A, "b")),
            _dataset(ranking=True),
            "the chosen answer has the role 'function_call'; LF trains it as an answer only with the role "
            "'assistant'",
            "$[4]",
        ),
    ],
)
def test_alpaca_unsupported(sample: Sample, dataset: Dataset, message: str, path: str) -> None:
    problem = export_problem(sample, dataset, Layout.ALPACA)
    assert problem is not None
    assert (problem.code, problem.message, problem.path) == ("unsupported-in-alpaca", message, path)


@pytest.mark.parametrize("layout", [Layout.SHAREGPT, Layout.ALPACA])
def test_preference_and_kto_shape_checked_for_both_layouts(layout: Layout) -> None:
    def message(sample: Sample, dataset: Dataset) -> str | None:
        problem = export_problem(sample, dataset, layout)
        return None if problem is None else problem.message

    good = _sample((U, "q"), chosen=Turn(A, "a"), rejected=Turn(A, "b"))
    assert message(good, _dataset(ranking=True)) is None
    assert message(good, _dataset()) == (
        "a preference sample (chosen/rejected) in a dataset that is not preference data: LF reads a "
        "dataset either as preference data or not"
    )
    assert message(_sample((U, "q"), (A, "a")), _dataset(ranking=True)) == (
        "a sample without chosen/rejected answers in a preference (ranking) dataset: LF reads a dataset "
        "either as preference data or not"
    )
    assert message(_sample((U, "q"), chosen=Turn(A, "a")), _dataset(ranking=True)) == (
        "the preference sample has no rejected answer; LF drops it"
    )
    even = _sample((U, "q"), (A, "a"), chosen=Turn(A, "a"), rejected=Turn(A, "b"))
    assert message(even, _dataset(ranking=True)) == (
        "a preference sample needs an odd number of turns ending on a user turn before the two answers; "
        "LF drops it (Invalid message count)"
    )
    assert message(_sample((U, "q"), (A, "a")), _dataset(kto=True)) == (
        "a sample without a KTO label in a KTO dataset: LF drops it in KTO training"
    )
    assert message(_sample((U, "q"), (A, "a"), kto_label=True), _dataset()) == (
        "a sample with a KTO label in a dataset that is not KTO data"
    )


def test_sharegpt_preference_entry() -> None:
    entry = sharegpt_entry("p.json", {"messages", "chosen", "rejected"}, True)
    assert entry["ranking"] is True
    assert entry["columns"] == {"messages": "messages", "chosen": "chosen", "rejected": "rejected"}
    assert entry["tags"]["assistant_tag"] == "assistant"
