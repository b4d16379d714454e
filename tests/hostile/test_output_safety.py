"""Failure safety of the output side: failing disks, a failing rename mid-commit, interrupts and
internal errors leave the output folder exactly as it was; successes keep every other entry of
``dataset_info.json`` byte-for-byte and leave no temp files behind.

Tests run as root, where ``chmod`` does not stop writes, so permission and disk problems are simulated
by making the system call fail the way the OS reports them; the real ``chmod`` tests skip under root.
"""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path

import pytest

from mmconvert import io as mm_io

from .harness import assert_clean_failure, coco_bytes, image_bytes, one_caption, run_cli, snapshot

ARGS = ["coco2lf", "in/captions.json", "-i", "images", "-o", "out", "--name", "t"]
OTHER_ENTRIES = (
    '{\n    "alpha": {\n        "file_name": "alpha.json"\n    },\n'
    '    "beta":   {"file_name": "beta.json", "columns": {"prompt": "q"}},\n'
    '    "gamma": {\n        "hf_hub_url": "x/y", "note": "caf\u00e9 \u2014 \u6f22\u5b57"\n    }\n}\n'
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "captions.json").write_bytes(coco_bytes())
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(image_bytes())
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "dataset_info.json").write_text(OTHER_ENTRIES, encoding="utf-8")
    return tmp_path


def _fail_when(monkeypatch: pytest.MonkeyPatch, module: object, name: str, match: str, err: int) -> None:
    """Make ``module.name(...)`` raise OSError(err) when its first/last path argument ends with ``match``."""
    real = getattr(module, name)

    def failing(*args: object, **kw: object) -> object:
        paths = [str(a) for a in args if isinstance(a, str | os.PathLike)] + [str(v) for v in kw.values()]
        if any(p.endswith(match) for p in paths):
            raise OSError(err, os.strerror(err), paths[-1])
        return real(*args, **kw)

    monkeypatch.setattr(module, name, failing)


def test_read_only_output_folder_simulated(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_when(monkeypatch, tempfile, "mkstemp", "out", errno.EACCES)
    before = snapshot(tree)
    run = run_cli(ARGS, tree, monkeypatch)
    assert_clean_failure(run, 2, "Error: --output-dir out: cannot write there (Permission denied)")
    assert snapshot(tree) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores chmod; see the simulated test above")
def test_read_only_output_folder_real(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tree / "out").chmod(0o555)
    try:
        before = snapshot(tree)
        run = run_cli(ARGS, tree, monkeypatch)
        assert_clean_failure(run, 2, "Error: --output-dir out: cannot write there (Permission denied)")
        assert snapshot(tree) == before
    finally:
        (tree / "out").chmod(0o755)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads chmod 000 files; see the simulated corpus case")
def test_unreadable_input_real(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tree / "in" / "captions.json").chmod(0)
    try:
        run = run_cli(ARGS, tree, monkeypatch)
        assert_clean_failure(run, 2, "Error: in/captions.json: cannot read: Permission denied")
    finally:
        (tree / "in" / "captions.json").chmod(0o644)


def test_disk_full_while_writing_data(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mmconvert import io as mmio

    def full(self: object, records: object) -> None:
        raise OSError(errno.ENOSPC, "No space")

    monkeypatch.setattr(mmio.JsonArrayWriter, "write_chunk", full)
    before = snapshot(tree)
    run = run_cli(ARGS, tree, monkeypatch)
    assert_clean_failure(run, 2, "Error: --output-dir out: cannot write there (No space)")
    assert snapshot(tree) == before


def test_disk_full_when_syncing_data(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With --fsync the data file is flushed before the commit; a failure there leaves nothing."""
    calls: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append(fd)
        raise OSError(errno.ENOSPC, "No space")

    monkeypatch.setattr(os, "fsync", fsync)
    before = snapshot(tree)
    run = run_cli([*ARGS, "--fsync"], tree, monkeypatch)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert calls, "the data file was synced"
    assert_clean_failure(run, 2, "Error: --output-dir out: cannot write there (No space)")
    assert snapshot(tree) == before


def test_disk_full_in_a_new_output_folder_removes_it(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space")))
    before = snapshot(tree)
    run = run_cli([*ARGS[:-4], "-o", "fresh", "--name", "t"], tree, monkeypatch)
    assert_clean_failure(run, 2, "Error: --output-dir fresh: cannot write there (No space)")
    assert snapshot(tree) == before


def test_dataset_info_write_fails_data_file_not_created(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_when(monkeypatch, os, "replace", "dataset_info.json", errno.EIO)
    before = snapshot(tree)
    run = run_cli(ARGS, tree, monkeypatch)
    assert_clean_failure(run, 2, "Error: --output-dir out: cannot write there (Input/output error)")
    assert snapshot(tree) == before


def test_data_rename_fails_after_entry_merged_restores_dataset_info(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fail_when(monkeypatch, os, "replace", "t.json", errno.EIO)
    before = snapshot(tree)
    run = run_cli(ARGS, tree, monkeypatch)
    assert_clean_failure(run, 2, "Error: --output-dir out: cannot write there (Input/output error)")
    after = snapshot(tree)
    # dataset_info.json was rewritten back (new inode/mtime): compare its bytes and the rest exactly.
    assert after.pop("out/dataset_info.json")[3] == before.pop("out/dataset_info.json")[3]
    assert after == before


def test_interrupt_while_writing_leaves_nothing(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupt(self: object, records: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(mm_io.JsonArrayWriter, "write_chunk", interrupt)
    before = snapshot(tree)
    run = run_cli(ARGS, tree, monkeypatch)
    assert run.code == 130
    assert run.err_lines == ["mmconvert: interrupted; nothing was written"]
    assert snapshot(tree) == before


def test_internal_error_is_one_line_exit_3_and_writes_nothing(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mmconvert.passes

    def broken(*args: object, **kw: object) -> object:
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(mmconvert.passes, "reconcile_placeholders", broken)
    before = snapshot(tree)
    run = run_cli(ARGS, tree, monkeypatch)
    assert run.code == 3
    assert run.err_lines == [
        "mmconvert: internal error (ZeroDivisionError: simulated bug). Sorry, this is a bug; rerun with "
        "--debug for the traceback and report it."
    ]
    assert snapshot(tree) == before
    run = run_cli(["--debug", *ARGS], tree, monkeypatch)
    assert run.code == 3
    assert "Traceback (most recent call last):" in run.err
    assert snapshot(tree) == before


@pytest.mark.parametrize(
    ("report", "line"),
    [
        ("nowhere/r.json", "Error: --report nowhere/r.json: the folder {tmp}/nowhere does not exist"),
        ("images", "Error: Invalid value for '--report': File 'images' is a directory."),
    ],
)
def test_bad_report_target_fails_before_writing(
    tree: Path, monkeypatch: pytest.MonkeyPatch, report: str, line: str
) -> None:
    before = snapshot(tree)
    run = run_cli([*ARGS, "--report", report], tree, monkeypatch)
    assert_clean_failure(run, 2, line)
    assert snapshot(tree) == before


def test_success_keeps_other_entries_byte_for_byte_and_no_temp_files(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = tree / "out" / "dataset_info.json"
    info.chmod(0o640)
    run = run_cli(ARGS, tree, monkeypatch)
    assert run.code == 0, run.err
    text = info.read_text(encoding="utf-8")
    old_body = OTHER_ENTRIES.rstrip()[:-1].rstrip()  # up to the last entry's closing brace
    assert text.startswith(old_body + ',\n    "t": {\n        "file_name": "t.json",')
    assert list(json.loads(text)) == ["alpha", "beta", "gamma", "t"]
    assert info.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in (tree / "out").iterdir()) == ["dataset_info.json", "t.json"]


@pytest.mark.parametrize(
    ("captions", "args"),
    [
        (b"\xef\xbb\xbf" + coco_bytes(), []),  # UTF-8 BOM: accepted, as Python's utf-8-sig
        (one_caption(caption="x" * 1_000_000), []),  # a 1 MB caption is written intact
        (one_caption(caption="bell\u0007 tab\t nul\u0000 end"), []),  # escaped control characters
        (coco_bytes(images=[{"id": 1, "file_name": "../images/a.png"}]), []),  # '..' that stays inside
        (coco_bytes(images=[{"id": 1, "file_name": "../outside.png"}]), ["--allow-outside-paths"]),
        (coco_bytes(images=[{"id": 1, "file_name": "tiny.png"}]), ["--check", "decode"]),  # 1x1 pixel
    ],
    ids=["bom", "long-caption", "escaped-control-chars", "dotdot-inside", "allow-outside-paths", "1x1-image"],
)
def test_hostile_but_valid_inputs_convert(
    tree: Path, monkeypatch: pytest.MonkeyPatch, captions: bytes, args: list[str]
) -> None:
    (tree / "in" / "captions.json").write_bytes(captions)
    (tree / "outside.png").write_bytes(image_bytes())
    (tree / "images" / "tiny.png").write_bytes(image_bytes(size=(1, 1)))
    run = run_cli([*ARGS, *args], tree, monkeypatch)
    assert run.code == 0, run.err
    assert "Traceback" not in run.err
    (row,) = json.loads((tree / "out" / "t.json").read_text(encoding="utf-8"))
    assert row["messages"][0]["content"].count("<image>") == len(row["images"]) == 1
    source = json.loads(captions.decode("utf-8-sig"))
    assert row["messages"][1]["content"] == source["annotations"][0]["caption"].strip()
    assert (tree / "out" / row["images"][0]).resolve().is_file()
