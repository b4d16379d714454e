"""Converting in several processes gives exactly what one process gives.

``mmconvert.parallel`` cuts a COCO captions file into slices, converts each with the ordinary pipeline
in a forked worker and joins the part files.  These tests lower the size threshold so that small files
are split, and compare every observable result with a one-process run: the bytes of the data file,
the ``dataset_info.json`` entry, every finding in order, and the counts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from mmconvert import api, parallel
from mmconvert.converters import EXPORTERS
from mmconvert.errors import UsageError, ValidationFailed
from mmconvert.options import CheckTier, CocoOptions, OnError, OutputFormat, OutputOptions, PassOptions

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parallel runs are Linux-only")


def _coco(root: Path, n_images: int = 40, bad: bool = True, duplicate_across: bool = False) -> Path:
    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    coco: dict[str, Any] = {"images": [], "annotations": []}
    for i in range(n_images):
        name = f"{i:04d}.jpg"
        if i % 13 != 5:  # some files are missing: media-missing findings
            (images / name).write_bytes(b"jpg")
        coco["images"].append({"id": i, "file_name": name, "width": 4, "height": 3})
    ann_id = 0
    for i in range(n_images):
        for j in range(5):
            caption = f"caption {j} of image {i}, ünïcödé"
            if bad and (i * 5 + j) % 17 == 3:
                caption = "  "  # empty: coco-empty-caption
            if bad and (i * 5 + j) % 19 == 4:
                caption = "a literal <image> tag"  # placeholder-literal
            image_id = i if not (bad and (i * 5 + j) % 23 == 7) else 10_000  # dangling
            coco["annotations"].append({"id": ann_id, "image_id": image_id, "caption": caption})
            ann_id += 1
    if duplicate_across:
        coco["annotations"][-1]["id"] = 0  # the first slice has id 0 too
    path = root / "captions_x.json"
    path.write_text(json.dumps(coco), encoding="utf-8")
    return path


def _run(path: Path, out: Path, jobs: int, **kw: Any) -> tuple[Any, ...]:
    fmt = kw.pop("format", OutputFormat.JSON)
    exporter = kw.pop("exporter", "llamafactory")
    passes = PassOptions(on_error=kw.pop("on_error", OnError.SKIP), jobs=jobs, **kw)
    output = OutputOptions(output_dir=str(out), name="caps", format=fmt)
    result = api.convert(
        "coco", [str(path)], CocoOptions(images_dir=str(path.parent / "images")), passes, output, exporter
    )
    data = Path(result.output_file).read_bytes() if result.output_file else b""
    info = (out / "dataset_info.json").read_text() if (out / "dataset_info.json").exists() else ""
    return (
        data,
        info,
        result.findings.to_list(),
        result.findings.skipped,
        result.samples_written,
        result.samples_seen,
        result.samples_rejected,
    )


@pytest.fixture(autouse=True)
def _split_small_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_SAMPLES", 10)


@pytest.mark.parametrize("fmt", [OutputFormat.JSON, OutputFormat.JSONL])
@pytest.mark.parametrize("exporter", ["llamafactory", "llamafactory-alpaca"])
@pytest.mark.parametrize("jobs", [2, 3])
def test_parts_equal_one_process(tmp_path: Path, fmt: OutputFormat, exporter: str, jobs: int) -> None:
    path = _coco(tmp_path / "in")
    one = _run(path, tmp_path / "one", 1, format=fmt, exporter=exporter)
    many = _run(path, tmp_path / "many", jobs, format=fmt, exporter=exporter)
    assert one[2], "the input has problems, so the findings' order is compared too"
    assert many[0].replace(b"/many/", b"/one/") == one[0]
    assert many[1:] == one[1:]
    assert not [p for p in os.listdir(tmp_path / "many") if p.endswith(".tmp")]


def test_a_run_is_actually_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above is not vacuous: the parallel path runs (and one process does not)."""
    calls: list[int] = []
    real = parallel.convert_parts

    def spy(*args: Any, **kw: Any) -> Any:
        calls.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(parallel, "convert_parts", spy)
    path = _coco(tmp_path / "in")
    _run(path, tmp_path / "a", 1)
    assert calls == []
    _run(path, tmp_path / "b", 2)
    assert calls == [2]
    with pytest.raises(ValidationFailed):  # the stub files are no images; what counts is no split
        _run(path, tmp_path / "c", 2, check=CheckTier.HEADER)  # deep checks keep their own pool
    assert calls == [2]


def test_ids_repeated_across_slices_fall_back_to_one_process(tmp_path: Path) -> None:
    path = _coco(tmp_path / "in", duplicate_across=True)
    one = _run(path, tmp_path / "one", 1)
    many = _run(path, tmp_path / "many", 2)
    assert any(f.code == "coco-duplicate-annotation-id" for f in many[2])
    assert many[0].replace(b"/many/", b"/one/") == one[0]
    assert many[1:] == one[1:]
    assert not [p for p in os.listdir(tmp_path / "many") if p.endswith(".tmp")]


def test_errors_fail_the_run_as_in_one_process(tmp_path: Path) -> None:
    path = _coco(tmp_path / "in")
    outcomes = []
    for jobs in (1, 2):
        out = tmp_path / f"out{jobs}"
        with pytest.raises(ValidationFailed) as info:
            _run(path, out, jobs, on_error=OnError.FAIL)
        outcomes.append((str(info.value), info.value.findings.to_list()))
        assert not out.exists() or not os.listdir(out)
    assert outcomes[0] == outcomes[1]


def test_dry_run_in_parts(tmp_path: Path) -> None:
    path = _coco(tmp_path / "in")
    passes = PassOptions(on_error=OnError.SKIP, jobs=2)
    results = []
    for jobs in (1, 2):
        passes = PassOptions(on_error=OnError.SKIP, jobs=jobs)
        out = OutputOptions(output_dir=str(tmp_path / "dry"), name="caps", dry_run=True)
        r = api.convert("coco", [str(path)], CocoOptions(images_dir=str(path.parent / "images")), passes, out)
        results.append((r.samples_written, r.samples_seen, r.findings.to_list()))
    assert results[0] == results[1]
    assert not (tmp_path / "dry").exists()


def test_a_failing_worker_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error in one worker is raised in the parent as itself; no part file stays behind."""
    real = EXPORTERS["llamafactory"]
    calls = {"n": 0}

    def flaky(dataset: Any, options: Any) -> Any:
        written = real(dataset, options)
        if written.samples and "0001.jpg" not in Path(written.temp_path).read_text(encoding="utf-8"):
            os.unlink(written.temp_path)  # as the exporter does when its own write fails
            raise OSError(28, "No space left on device")  # the second slice's worker
        calls["n"] += 1
        return written

    monkeypatch.setitem(EXPORTERS, "llamafactory", flaky)
    path = _coco(tmp_path / "in", bad=False)
    with pytest.raises(UsageError, match="No space left on device"):
        _run(path, tmp_path / "out", 2)
    assert not (tmp_path / "out").exists()


def test_join_without_copy_file_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the kernel cannot copy between files, the parts are joined by reading and writing."""
    path = _coco(tmp_path / "in")
    one = _run(path, tmp_path / "one", 1)

    def unsupported(*args: Any, **kw: Any) -> int:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(os, "copy_file_range", unsupported, raising=False)
    many = _run(path, tmp_path / "many", 2)
    assert many[0].replace(b"/many/", b"/one/") == one[0]


@pytest.mark.parametrize("fmt", [OutputFormat.JSON, OutputFormat.JSONL])
@pytest.mark.parametrize("empty", [(0,), (1,), (0, 1), (0, 2)])
def test_slices_without_samples(tmp_path: Path, fmt: OutputFormat, empty: tuple[int, ...]) -> None:
    """Slices whose every annotation is refused write no record; the joined file is still right."""
    path = _coco(tmp_path / "in", n_images=30, bad=False)
    coco = json.loads(path.read_text(encoding="utf-8"))
    n = len(coco["annotations"])
    for k in empty:  # the k-th of 3 slices: every annotation dangles
        for ann in coco["annotations"][n * k // 3 : n * (k + 1) // 3]:
            ann["image_id"] = 99_999
    path.write_text(json.dumps(coco), encoding="utf-8")
    one = _run(path, tmp_path / "one", 1, format=fmt)
    many = _run(path, tmp_path / "many", 3, format=fmt)
    assert many[0].replace(b"/many/", b"/one/") == one[0]
    assert many[1:] == one[1:]


def test_parts_with_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--fsync: the joined file is synced before the commit, and the bytes are the same."""
    path = _coco(tmp_path / "in")
    one = _run(path, tmp_path / "one", 1)
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    passes = PassOptions(on_error=OnError.SKIP, jobs=2)
    output = OutputOptions(output_dir=str(tmp_path / "many"), name="caps", sync=True)
    coco = CocoOptions(images_dir=str(path.parent / "images"))
    result = api.convert("coco", [str(path)], coco, passes, output)
    assert synced
    data = Path(str(result.output_file)).read_bytes()
    assert data.replace(b"/many/", b"/one/") == one[0]


def test_interrupt_leaves_no_part_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the workers run: finished part files are removed, nothing is committed."""
    from concurrent import futures as cf

    real_wait = cf.wait
    calls = {"n": 0}

    def interrupted(*args: Any, **kw: Any) -> Any:
        real_wait(args[0], timeout=None)  # let the workers finish, then "press Ctrl-C"
        calls["n"] += 1
        raise KeyboardInterrupt

    monkeypatch.setattr(parallel, "wait", interrupted)
    path = _coco(tmp_path / "in", bad=False)
    with pytest.raises(KeyboardInterrupt):
        _run(path, tmp_path / "out", 2)
    assert calls["n"] == 1
    assert not (tmp_path / "out").exists() or not os.listdir(tmp_path / "out")


@pytest.mark.parametrize("jobs", [2, 3])
def test_statistics_of_parts_equal_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """--report/--html statistics are gathered in the workers and merged in slice order: the same
    numbers, examples and duplicates (also those whose first occurrence is in an earlier slice)."""
    from mmconvert.stats import StatsCollector

    calls: list[int] = []
    real = parallel.convert_parts

    def spy(*args: Any, **kw: Any) -> Any:
        calls.append(args[1])
        return real(*args, **kw)

    monkeypatch.setattr(parallel, "convert_parts", spy)
    path = _coco(tmp_path / "in", n_images=60)
    coco = json.loads(path.read_text(encoding="utf-8"))
    for ann in coco["annotations"][-10:]:  # the last slice repeats captions of the first
        ann["caption"], ann["image_id"] = coco["annotations"][ann["id"] % 10]["caption"], ann["id"] % 10 // 5
    path.write_text(json.dumps(coco), encoding="utf-8")
    docs, pages = [], []
    for run, n in (("one", 1), ("many", jobs)):
        collector = StatsCollector()
        passes = PassOptions(on_error=OnError.SKIP, jobs=n)
        output = OutputOptions(output_dir=str(tmp_path / run), name="caps")
        api.convert("coco", [str(path)], CocoOptions(images_dir=str(path.parent / "images")), passes, output,
                    collector=collector)  # fmt: skip
        docs.append(collector.to_dict())
        pages.append(
            (
                [s.source.index for s in collector.groups["caps"].examples],
                {
                    code: [(f.index, s.source.index) for f, s in items]
                    for code, items in collector.finding_examples.items()
                },
            )
        )
    assert calls == [jobs]
    one, many = docs
    assert many == one
    caps = one["datasets"][0]
    assert caps["duplicates"]["samples"] >= 5
    assert caps["missing"]["files"] == 5  # images 5, 18, 31, 44, 57
    assert pages[1] == pages[0]
