"""Round trips as properties (hypothesis): any canonical LF alpaca file (``input`` empty) comes back byte
for byte through the model, and so does any LF sharegpt preference or KTO file mmconvert writes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmconvert.api import convert
from mmconvert.options import ChatOptions, CheckTier, OutputOptions, PassOptions

_TAGS = ("<image>", "<video>", "<audio>", "<img>", "<image_", "<image ")
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12).filter(
    lambda s: not any(t in s for t in _TAGS)
)
answer = text.filter(lambda s: s.strip() != "")  # an empty answer is a warning, still written
history = st.lists(st.tuples(text, answer).map(list), max_size=3)


@st.composite
def alpaca_rows(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    """(kind, canonical rows) in the key order mmconvert's alpaca writer uses."""
    kind = draw(st.sampled_from(["sft", "preference", "kto"]))
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        row: dict[str, Any] = {"instruction": draw(text), "input": ""}
        if kind != "preference":
            row["output"] = draw(answer)
        if draw(st.booleans()):
            row["system"] = draw(text)
        past = draw(history)
        if past:
            row["history"] = past
        if kind == "preference":
            row["chosen"] = draw(answer)
            row["rejected"] = draw(answer)
        if kind == "kto":
            row["kto_tag"] = draw(st.booleans())
        rows.append(row)
    return kind, rows


def _convert(source: Path, out: Path, name: str, source_format: str, exporter: str) -> bytes:
    result = convert(
        source_format,
        [str(source)],
        ChatOptions(),
        PassOptions(check=CheckTier.NONE),
        OutputOptions(output_dir=str(out), name=name),
        exporter,
    )
    assert result.output_file is not None
    return Path(result.output_file).read_bytes()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alpaca_rows())
def test_canonical_alpaca_round_trip(case: tuple[str, list[dict[str, Any]]]) -> None:
    _, rows = case
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.json"
        source.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
        written = _convert(source, Path(tmp) / "out", "rt", "alpaca", "llamafactory-alpaca")
        assert written == source.read_bytes()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alpaca_rows())
def test_sharegpt_round_trip_of_written_files(case: tuple[str, list[dict[str, Any]]]) -> None:
    """alpaca -> LF sharegpt (A); A -> sharegpt importer -> LF sharegpt == A; A -> LF alpaca == input."""
    _, rows = case
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.json"
        source.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
        first = _convert(source, Path(tmp) / "a", "sg", "alpaca", "llamafactory")
        sharegpt_file = Path(tmp) / "a" / "sg.json"
        assert _convert(sharegpt_file, Path(tmp) / "b", "sg", "sharegpt", "llamafactory") == first
        assert _convert(sharegpt_file, Path(tmp) / "c", "al", "sharegpt", "llamafactory-alpaca") == (
            source.read_bytes()
        )
