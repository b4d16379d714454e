"""coco2lf through click's CliRunner: exit codes, exact messages, files written or not."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from mmconvert.cli import cli

from .conftest import FIXTURES
from .conftest import run_cli as _run

CAPTIONS = FIXTURES / "coco_captions" / "annotations" / "captions_val2017.json"


def test_fixture_converts_and_finds_images(tmp_path: Path) -> None:
    code, out, err = _run(["coco2lf", str(CAPTIONS), "-o", "data", "--name", "coco_demo"], tmp_path)
    assert code == 0, err
    assert out == (
        "Wrote 15 samples to data/coco_demo.json and entry 'coco_demo' in data/dataset_info.json\n"
    )
    images_dir = FIXTURES / "coco_captions" / "val2017"
    assert f"images folder: {images_dir} (3 of 3 probed images found there)" in err
    rows = json.loads((tmp_path / "data" / "coco_demo.json").read_text(encoding="utf-8"))
    assert len(rows) == 15
    for row in rows:
        assert row["messages"][0] == {"role": "user", "content": "<image>Describe this image."}
        assert row["messages"][1]["role"] == "assistant"
        assert row["messages"][1]["content"] == row["messages"][1]["content"].strip()
        (image,) = row["images"]
        assert (tmp_path / "data" / image).resolve().is_file()
    info = json.loads((tmp_path / "data" / "dataset_info.json").read_text(encoding="utf-8"))
    assert info == {
        "coco_demo": {
            "file_name": "coco_demo.json",
            "formatting": "sharegpt",
            "columns": {"messages": "messages", "images": "images"},
            "tags": {
                "role_tag": "role",
                "content_tag": "content",
                "user_tag": "user",
                "assistant_tag": "assistant",
                "observation_tag": "observation",
                "function_tag": "function_call",
                "system_tag": "system",
            },
        }
    }


def test_existing_entry_needs_force(tmp_path: Path) -> None:
    args = ["coco2lf", str(CAPTIONS), "-o", "data", "--name", "coco_demo"]
    assert _run(args, tmp_path)[0] == 0
    (tmp_path / "data" / "coco_demo.json").unlink()
    code, out, err = _run(args, tmp_path)
    assert code == 2
    assert out == ""
    assert err.splitlines()[-2:] == [
        "Error: data/dataset_info.json already has an entry 'coco_demo'",
        "hint: choose another --name, or pass --force to replace that entry",
    ]
    assert not (tmp_path / "data" / "coco_demo.json").exists()
    assert _run([*args, "--force"], tmp_path)[0] == 0


def test_missing_images_write_nothing_then_skip(tmp_path: Path) -> None:
    root = tmp_path / "coco"
    shutil.copytree(FIXTURES / "coco_captions", root)
    (root / "val2017" / "000000165518.jpg").unlink()
    ann = root / "annotations" / "captions_val2017.json"
    code, out, err = _run(["coco2lf", str(ann), "-o", "data"], tmp_path)
    assert code == 1
    assert out == ""
    assert "error media-missing (5):" in err
    assert err.splitlines()[-1] == "Error: 5 error(s) in the data; nothing was written"
    assert not (tmp_path / "data").exists()

    code, out, err = _run(["coco2lf", str(ann), "-o", "data", "--on-error", "skip"], tmp_path)
    assert code == 0
    assert out.endswith("; skipped 5 sample(s) with errors (listed above)\n")
    assert len(json.loads((tmp_path / "data" / "coco_captions.json").read_text())) == 10


def test_no_images_folder_is_a_usage_error(tmp_path: Path) -> None:
    ann = tmp_path / "captions.json"
    shutil.copy(CAPTIONS, ann)
    code, _out, err = _run(["coco2lf", str(ann), "-o", "data"], tmp_path)
    assert code == 2
    assert f"Error: cannot find the images of {ann}: none of the usual folders holds them" in err
    assert "hint: pass --images-dir FOLDER" in err
    assert not (tmp_path / "data").exists()


def test_version_and_help() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("mmconvert, version ")
    result = runner.invoke(cli, ["coco2lf", "--help"])
    assert result.exit_code == 0
    assert "--images-dir" in result.stdout
