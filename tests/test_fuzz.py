"""Property-based fuzzing of every importer and pass (hypothesis).

For any input, however broken: the library raises nothing but a typed :class:`MmconvertError`; a failed
run leaves no output behind; everything written satisfies LF's placeholder count rule, points only at
media inside the media folder, and survives a round trip through the ``llamafactory`` importer
unchanged.  The passes keep the same promises on random samples, ``dataset_info.json`` merges keep
every other entry's bytes, and the streamed JSON writer equals ``json.dumps``.

Each property runs 100 examples (700 in all) in the default suite (profile ``mmconvert-fuzz``) and 10,000
in the slow run (``-m slow``, profile ``mmconvert-fuzz-slow``).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from PIL import Image

from mmconvert.api import convert
from mmconvert.dataset_info import merged_text, parse_registry
from mmconvert.errors import MmconvertError
from mmconvert.findings import Severity
from mmconvert.io import JsonArrayWriter, JsonLinesWriter
from mmconvert.model import Media, MediaKind, Role, Sample, SourceRef, Turn
from mmconvert.options import (
    ChatOptions,
    CheckTier,
    CocoOptions,
    OnError,
    OutputFormat,
    OutputOptions,
    PassOptions,
    PlaceholderPolicy,
)
from mmconvert.paths import resolve_media_path
from mmconvert.placeholders import check_placeholder_counts, reconcile_placeholders

FAST_EXAMPLES = 100
SLOW_EXAMPLES = 10_000
_COMMON = {"deadline": None, "suppress_health_check": list(HealthCheck), "database": None}
settings.register_profile("mmconvert-fuzz", max_examples=FAST_EXAMPLES, **_COMMON)
settings.register_profile("mmconvert-fuzz-slow", max_examples=SLOW_EXAMPLES, **_COMMON)
FAST = settings.get_profile("mmconvert-fuzz")
SLOW = settings.get_profile("mmconvert-fuzz-slow")


def fuzz(strategy: st.SearchStrategy[Any]) -> Callable[[Callable[[Any], None]], Any]:
    """Turn ``prop(value)`` into two tests: ``test_<name>`` (fast profile) and ``test_<name>_slow``."""

    def register(prop: Callable[[Any], None]) -> Any:
        name = prop.__name__.removeprefix("prop_")
        fast = FAST(given(strategy)(prop))
        slow = pytest.mark.slow(SLOW(given(strategy)(prop)))
        fast.__name__, slow.__name__ = f"test_{name}", f"test_{name}_slow"
        globals()[f"test_{name}"] = fast
        globals()[f"test_{name}_slow"] = slow
        return prop

    return register


# --- strategies --------------------------------------------------------------------------------------

TAG_PIECES = [
    "<image>", "<Image>", "<IMAGE>", "<video>", "<audio>", "<image><image>", "<image>\n", "\n<image>",
    "<img>a.png</img>", "<image_1>", "<", ">", "", " ", "\n", "\x00", "\u2028", "caf\u00e9 \u6f22",
    "{{name}}",
]  # fmt: skip
text = st.lists(st.sampled_from(TAG_PIECES) | st.text(max_size=12), max_size=4).map("".join)
scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
weird = st.recursive(
    scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=6
)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five: enough valid structure that conversions succeed and what they
    write gets checked, enough breakage that every error path is walked."""
    return st.integers(0, 4).flatmap(lambda pick: bad if pick == 0 else good)


MEDIA_NAMES = [
    "a.png", "b.png", "sub/c.png", "sub", "../outside.png", "/etc/hostname", "", "a\x00.png",
    "http://example.com/a.png", "link.png", "missing.png", "./a.png", "sub/../a.png", "A.PNG",
]  # fmt: skip
good_name = st.sampled_from(["a.png", "b.png", "sub/c.png", "./a.png"])
media_name = mostly(good_name, st.sampled_from(MEDIA_NAMES))
media_value = mostly(st.lists(good_name, max_size=3), media_name | st.lists(media_name, max_size=3) | weird)
plain = mostly(st.text(max_size=20), text)
some_id = mostly(st.integers(0, 4), st.sampled_from(["1", "x"]) | weird)


@st.composite
def coco_doc(draw: st.DrawFn) -> Any:
    """A coherent COCO captions file (unique ids, captions pointing at listed images), then sometimes
    broken: one field replaced by a random JSON value, a key dropped, or the whole thing random."""
    if draw(st.integers(0, 9)) == 0:
        return draw(weird)
    n_images = draw(st.integers(1, 4))
    images: list[Any] = [{"id": i, "file_name": draw(media_name)} for i in range(n_images)]
    for image in images:
        if draw(st.booleans()):
            image["width"], image["height"] = draw(st.integers(1, 40_000)), draw(st.integers(1, 40_000))
    annotations: list[Any] = [
        {"id": k, "image_id": draw(st.integers(0, n_images - 1)), "caption": draw(plain)}
        for k in range(draw(st.integers(1, 5)))
    ]
    doc: dict[str, Any] = {"images": images, "annotations": annotations}
    for _ in range(draw(st.integers(0, 2))):
        where = draw(st.sampled_from(["image", "annotation", "top"]))
        if where == "top":
            doc[draw(st.sampled_from(["images", "annotations", "categories"]))] = draw(weird)
            continue
        items = images if where == "image" else annotations
        pos = draw(st.integers(0, len(items) - 1))
        if draw(st.integers(0, 3)) == 0:
            items[pos] = draw(weird)
        elif isinstance(items[pos], dict) and items[pos]:
            key = draw(st.sampled_from(sorted(items[pos])))
            items[pos][key] = draw(weird | some_id)
    return doc


ROLES = [
    "user",
    "assistant",
    "system",
    "human",
    "gpt",
    "function_call",
    "observation",
    "tool",
    "wizard",
    "USER",
]
role = st.sampled_from(ROLES) | weird
content_part = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image_url", "image", "video", "weird"]) | weird},
    optional={"text": text | weird, "image_url": st.fixed_dictionaries({"url": media_name}) | weird},
)
message = st.fixed_dictionaries({"role": role, "content": text | weird | st.lists(content_part, max_size=3)})


def _turns(speaker: tuple[str, str], keys: tuple[str, str]) -> st.SearchStrategy[list[dict[str, Any]]]:
    """A well-formed alternating conversation, optionally after a system turn."""
    user, assistant = speaker
    role_key, text_key = keys
    pairs = st.lists(st.tuples(plain, plain), min_size=1, max_size=3)
    return pairs.map(
        lambda ps: [
            turn
            for q, a in ps
            for turn in ({role_key: user, text_key: q}, {role_key: assistant, text_key: a})
        ]
    )


sharegpt_record = st.fixed_dictionaries(
    {
        "messages": mostly(
            _turns(("user", "assistant"), ("role", "content")), st.lists(message, max_size=5) | weird
        )
    },
    optional={"images": media_value, "videos": media_value, "system": mostly(plain, weird), "tools": weird},
)
llava_record = st.fixed_dictionaries(
    {
        "conversations": mostly(
            _turns(("human", "gpt"), ("from", "value")),
            st.lists(st.fixed_dictionaries({"from": role, "value": text | weird}), max_size=5) | weird,
        )
    },
    optional={"id": some_id, "image": media_value},
)
alpaca_record = st.fixed_dictionaries(
    {"instruction": mostly(plain, weird), "output": mostly(plain, weird)},
    optional={"input": mostly(plain, weird), "system": plain, "history": weird, "images": media_value},
)
chat_case = st.one_of(
    st.tuples(
        st.sampled_from(["sharegpt", "openai", "auto"]), st.lists(mostly(sharegpt_record, weird), max_size=4)
    ),
    st.tuples(st.sampled_from(["llava", "auto"]), st.lists(mostly(llava_record, weird), max_size=4)),
    st.tuples(st.sampled_from(["alpaca", "auto"]), st.lists(mostly(alpaca_record, weird), max_size=4)),
)


def _png(size: tuple[int, int] = (4, 4)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size).save(buf, "PNG")
    return buf.getvalue()


PNG = _png()
_TMP_ROOT = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


@contextmanager
def media_tree() -> Iterator[Path]:
    """A fresh folder per example: in/ (media folder: a.png, b.png, sub/c.png, link.png -> outside)."""
    root = Path(tempfile.mkdtemp(prefix="mmfuzz-", dir=_TMP_ROOT))
    try:
        media = root / "in"
        (media / "sub").mkdir(parents=True)
        for rel in ("a.png", "b.png", "sub/c.png"):
            (media / rel).write_bytes(PNG)
        (root / "outside.png").write_bytes(PNG)
        (media / "link.png").symlink_to("../outside.png")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _mutate(data: bytes, how: str, at: int) -> bytes:
    if not data or how == "none":
        return data
    at %= len(data)
    if how == "truncate":
        return data[:at]
    if how == "flip":
        return data[:at] + bytes([data[at] ^ 0x80]) + data[at + 1 :]
    return data[:at] + b"\xff" + data[at:]


mutation = mostly(
    st.just(("none", 0)), st.tuples(st.sampled_from(["truncate", "flip", "insert"]), st.integers(0, 10**6))
)


# --- what everything written must satisfy ------------------------------------------------------------


def _lf_message_sets(row: dict[str, Any]) -> list[list[dict[str, Any]]]:
    messages = row["messages"]
    if "chosen" in row or "rejected" in row:
        return [[*messages, row[k]] for k in ("chosen", "rejected") if k in row]
    return [messages]


def assert_written_output_is_sound(root: Path, out: Path, name: str, fmt: OutputFormat) -> list[Any]:
    """LF's count rule on every row, media inside the media folder, a parseable entry; the rows."""
    data_file = out / f"{name}.{fmt.value}"
    text_out = data_file.read_text(encoding="utf-8")
    rows = (
        [json.loads(line) for line in text_out.split("\n") if line]  # not splitlines(): U+2028
        if fmt is OutputFormat.JSONL
        else json.loads(text_out)
    )
    assert rows, "a successful run writes at least one sample"
    media_root = (root / "in").resolve()
    for row in rows:
        for kind, tag in (("images", "<image>"), ("videos", "<video>"), ("audios", "<audio>")):
            items = row.get(kind, [])
            assert isinstance(items, list)
            for messages in _lf_message_sets(row):
                assert sum(m["content"].count(tag) for m in messages) == len(items), row
            for item in items:
                path = Path(item) if os.path.isabs(item) else out / item
                assert path.resolve().is_relative_to(media_root), item
                assert path.is_file(), item
        assert all(isinstance(m["content"], str) for m in row["messages"])
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert info[name]["file_name"] == data_file.name
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temp files left behind"
    return rows


def run_convert(
    source: str, inputs: list[str], options: Any, out: Path, fmt: OutputFormat, skip: bool = False
) -> bool:
    """True when written; False when refused with a typed error (then nothing may exist at ``out``).
    ``skip``: write the clean samples (``--on-error skip``), so broken neighbours do not hide them."""
    output = OutputOptions(output_dir=str(out), name="fz", format=fmt, absolute_paths=True)
    passes = PassOptions(
        check=CheckTier.EXISTS,
        placeholders=PlaceholderPolicy.INSERT,
        on_error=OnError.SKIP if skip else OnError.FAIL,
    )
    try:
        convert(source, inputs, options, passes, output)
    except MmconvertError as exc:
        event(f"{source}: refused ({type(exc).__name__})")
        assert not out.exists(), "a failed run left output behind"
        return False
    event(f"{source}: written")
    return True


def assert_round_trip_stable(root: Path, out: Path, rows: list[Any], fmt: OutputFormat) -> None:
    """LF -> model -> LF gives the same rows (absolute media paths, so folders do not matter)."""
    again = root / "again"
    data_file = out / f"fz.{fmt.value}"
    assert run_convert("llamafactory", [str(data_file)], ChatOptions(), again, fmt), "round trip refused"
    assert _lf_equivalent(assert_written_output_is_sound(root, again, "fz", fmt)) == _lf_equivalent(rows)


def _lf_equivalent(rows: list[Any]) -> list[Any]:
    """Rows as LF reads them: an empty ``system``/``tools`` is the same as none (LF fills in "")."""
    return [{k: v for k, v in row.items() if not (k in ("system", "tools") and v == "")} for row in rows]


# --- importers -----------------------------------------------------------------------------------------


@fuzz(st.tuples(coco_doc(), mutation, st.sampled_from(list(OutputFormat)), st.booleans()))
def prop_coco_importer(case: tuple[Any, tuple[str, int], OutputFormat, bool]) -> None:
    doc, (how, at), fmt, skip = case
    with media_tree() as root:
        data = _mutate(json.dumps(doc, ensure_ascii=False).encode(), how, at)
        (root / "captions.json").write_bytes(data)
        out = root / "out"
        options = CocoOptions(images_dir=str(root / "in"))
        if run_convert("coco", [str(root / "captions.json")], options, out, fmt, skip):
            rows = assert_written_output_is_sound(root, out, "fz", fmt)
            assert_round_trip_stable(root, out, rows, fmt)


@fuzz(st.tuples(chat_case, mutation, st.booleans(), st.sampled_from(list(OutputFormat)), st.booleans()))
def prop_chat_importers(case: tuple[tuple[str, Any], tuple[str, int], bool, OutputFormat, bool]) -> None:
    (fmt_in, records), (how, at), jsonl, fmt, skip = case
    with media_tree() as root:
        if jsonl:
            data = b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in records)
        else:
            data = json.dumps(records, ensure_ascii=False).encode()
        path = root / "in" / ("data.jsonl" if jsonl else "data.json")
        path.write_bytes(_mutate(data, how, at))
        if fmt_in == "auto":
            from mmconvert.converters import IMPORTERS
            from mmconvert.converters.detect import detect_format

            try:
                fmt_in = detect_format(str(path), IMPORTERS)[0]
            except MmconvertError:
                return
        out = root / "out"
        if run_convert(fmt_in, [str(path)], ChatOptions(), out, fmt, skip):
            rows = assert_written_output_is_sound(root, out, "fz", fmt)
            assert_round_trip_stable(root, out, rows, fmt)


@fuzz(st.tuples(st.binary(max_size=300), st.sampled_from(["coco", "sharegpt", "openai", "llava", "alpaca"])))
def prop_raw_bytes_never_crash(case: tuple[bytes, str]) -> None:
    data, source = case
    with media_tree() as root:
        path = root / "in" / "data.json"
        path.write_bytes(data)
        options: Any = CocoOptions(images_dir=str(root / "in")) if source == "coco" else ChatOptions()
        run_convert(source, [str(path)], options, root / "out", OutputFormat.JSON)


# --- passes --------------------------------------------------------------------------------------------

turn = st.builds(Turn, st.sampled_from(list(Role)), text)
a_media = st.builds(Media, st.just(MediaKind.IMAGE), st.sampled_from(["a.png", "b.png"]), st.just("/m"))
sample = st.builds(
    Sample,
    turns=st.lists(turn, max_size=5).map(tuple),
    source=st.just(SourceRef("f.json", 0, "$[0]")),
    images=st.lists(a_media, max_size=3).map(tuple),
    videos=st.lists(a_media.map(lambda m: Media(MediaKind.VIDEO, m.path, m.base)), max_size=2).map(tuple),
    system=st.none() | text,
    chosen=st.none() | st.builds(Turn, st.just(Role.ASSISTANT), text),
    rejected=st.none() | st.builds(Turn, st.just(Role.ASSISTANT), text),
)


@fuzz(st.tuples(sample, st.sampled_from(list(PlaceholderPolicy))))
def prop_placeholder_pass(case: tuple[Sample, PlaceholderPolicy]) -> None:
    smp, policy = case
    options = PassOptions(placeholders=policy)
    result, findings = reconcile_placeholders(smp, options)
    assert all(f.code and f.message and f.file == "f.json" for f in findings)
    if not any(f.severity is Severity.ERROR for f in findings):
        assert check_placeholder_counts(result, options.tokens) == []  # LF's count check passes
        assert (result.images, result.videos) == (smp.images, smp.videos)
    again, more = reconcile_placeholders(result, options)
    if not any(f.severity is Severity.ERROR for f in findings):
        assert again == result, "the pass is idempotent on what it accepts"
        assert not any(f.severity is Severity.ERROR for f in more)


@fuzz(st.tuples(st.text(max_size=30) | media_name, st.booleans()))
def prop_media_path_resolution(case: tuple[str, bool]) -> None:
    path, allow = case
    with media_tree() as root:
        base = str(root / "in")
        media = Media(MediaKind.IMAGE, path, base)
        resolved, finding = resolve_media_path(media, SourceRef("f.json", 0, "$[0]"), allow)
        if finding is None and not allow:
            assert resolved.resolved is not None
            assert os.path.realpath(resolved.resolved).startswith(os.path.realpath(base) + os.sep) or (
                os.path.realpath(resolved.resolved) == os.path.realpath(base)
            )
        if finding is not None:
            assert finding.code in ("media-bad-path", "media-outside")


# --- dataset_info.json merge and the JSON writers -------------------------------------------------------

entry_value = st.dictionaries(st.text(max_size=8), weird, max_size=3)
registry = st.dictionaries(st.text(max_size=10), entry_value, max_size=5)
indent = st.sampled_from([None, 2, 4, "\t"])


@fuzz(st.tuples(registry, indent, st.text(min_size=1, max_size=10), entry_value, st.booleans()))
def prop_dataset_info_merge_keeps_other_entries(case: tuple[Any, Any, str, Any, bool]) -> None:
    old, ind, name, entry, force = case
    text_in = json.dumps(old, indent=ind, ensure_ascii=bool(len(name) % 2))
    try:
        text_out = merged_text(text_in, name, entry, force, "dataset_info.json")
    except MmconvertError:
        assert name in old and not force
        return
    assert json.loads(text_out) == {**old, name: entry}
    assert list(json.loads(text_out)) == [*old, *([name] if name not in old else [])]
    before, after = parse_registry(text_in, "x"), parse_registry(text_out, "x")
    for key, (_, start, end) in before.spans.items():
        if key != name:
            _, start2, end2 = after.spans[key]
            assert text_out[start2:end2] == text_in[start:end], "another entry's bytes changed"


# What the exporter writes: strings, ints, bools, null, lists, objects.  (Floats are never written; msgspec
# spells 1e16 where json.dumps spells 1e+16.)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=4,
)
json_record = st.dictionaries(st.text(max_size=6), json_value, max_size=3)


@fuzz(st.lists(st.lists(json_record, max_size=3), max_size=3))
def prop_streamed_json_equals_json_dumps(chunks: list[list[Any]]) -> None:
    buf = io.BytesIO()
    writer = JsonArrayWriter(buf)
    for chunk in chunks:
        writer.write_chunk(chunk)
    writer.close()
    records = [r for chunk in chunks for r in chunk]
    assert buf.getvalue().decode() == json.dumps(records, indent=2, ensure_ascii=False)
    lines = io.BytesIO()
    jsonl = JsonLinesWriter(lines)
    for chunk in chunks:
        jsonl.write_chunk(chunk)
    assert [json.loads(line) for line in lines.getvalue().split(b"\n") if line] == records


def test_fuzz_example_counts() -> None:
    assert FAST.max_examples >= 100
    assert SLOW.max_examples >= 10_000
