"""What every hostile case shares: small real media files, a snapshot of a folder tree, and running the
CLI in a folder with the temp path masked out of its messages."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from mmconvert.cli import cli

Snapshot = dict[str, tuple[Any, ...]]


def snapshot(root: Path) -> Snapshot:
    """Every entry under ``root``: kind, mode, and for files mtime and bytes (symlinks not followed)."""
    out: Snapshot = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            st = path.lstat()
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", st.st_mode)
            else:
                with open(path, "rb") as fh:  # not Path.read_bytes: some cases patch it
                    out[rel] = ("file", st.st_mode, st.st_mtime_ns, fh.read())
    return out


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def run_cli(args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Invoke ``mmconvert ARGS`` in ``cwd``; ``{tmp}`` stands for ``cwd`` in the captured text."""
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    mask = str(cwd)
    return Run(result.exit_code, result.stdout.replace(mask, "{tmp}"), result.stderr.replace(mask, "{tmp}"))


def assert_clean_failure(run: Run, code: int, line: str) -> None:
    """Exit ``code``, ``line`` among the stderr lines, nothing on stdout, no traceback."""
    assert "Traceback" not in run.err + run.out
    assert "internal error" not in run.err
    assert run.code == code, run.err
    assert run.out == ""
    assert line in run.err_lines, f"{line!r} not in:\n{run.err}"


def coco_bytes(images: Any = None, annotations: Any = None, **top: Any) -> bytes:
    """A COCO captions file; ``images``/``annotations`` default to one good image and caption."""
    doc = dict(top)
    doc["images"] = [{"id": 1, "file_name": "a.png", "width": 8, "height": 8}] if images is None else images
    doc["annotations"] = (
        [{"id": 1, "image_id": 1, "caption": "A red square."}] if annotations is None else (annotations)
    )
    return json.dumps(doc, ensure_ascii=False).encode()


def one_image(**fields: Any) -> bytes:
    """A COCO file whose only image has ``fields`` changed (``None`` values removed)."""
    image = {"id": 1, "file_name": "a.png", "width": 8, "height": 8, **fields}
    return coco_bytes(images=[image])


def one_caption(**fields: Any) -> bytes:
    ann = {"id": 1, "image_id": 1, "caption": "A red square.", **fields}
    return coco_bytes(annotations=[ann])
