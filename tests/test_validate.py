"""``mmconvert validate``: verdicts per sample agree with LLaMA-Factory 0.9.5 (recorded as data in
:mod:`tests.validate_variants`, re-checked against the real LF by the ``lf_oracle`` tests), the CLI's
exit codes and messages, ``--config``, ``--report`` and its schema, and the ``llamafactory`` importer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mmconvert.cli import cli
from mmconvert.converters import IMPORTERS
from mmconvert.converters.lfdata import LfDataOptions
from mmconvert.findings import Findings
from mmconvert.schemas import validator
from mmconvert.validate import ValidateOptions, ValidateResult, validate_folder

from .conftest import run_oracle
from .standins import lf_data_folder
from .validate_agreement import compare
from .validate_variants import SG, VARIANTS, build, names_for

STAGES = ("sft", "rm", "kto", "pt")

#: The real LF's verdicts on ../shared/data/llamafactory/data with template qwen2_vl: every local entry
#: whose file exists is accepted, except audio samples (Qwen2-VL has no audio plugin).  The same holds
#: for the folder of bundled files and stand-ins that :func:`tests.standins.lf_data_folder` builds.
SHARED_EXPECTED: dict[str, tuple[str, Any]] = {
    "identity": ("sft", []),
    "alpaca_en_demo": ("sft", []),
    "glaive_toolcall_en_demo": ("sft", []),
    "mllm_demo": ("sft", []),
    "mllm_audio_demo": ("sft", [0, 1, 2]),
    "mllm_video_demo": ("sft", []),
    "mllm_video_audio_demo": ("sft", [0, 1, 2]),
    "alpaca_zh_demo": ("sft", "load"),
    "glaive_toolcall_zh_demo": ("sft", "load"),
    "wiki_demo": ("sft", "load"),
    "c4_demo": ("sft", "load"),
    "dpo_en_demo": ("rm", []),
    "dpo_zh_demo": ("rm", "load"),
    "kto_en_demo": ("kto", []),
}


def _verdicts(result: ValidateResult) -> dict[str, Any]:
    return {d.name: ("load" if d.status == "load-error" else d.error_samples) for d in result.datasets}


@pytest.fixture(scope="module")
def variants_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("variants"))


@pytest.fixture(scope="module")
def variant_results(variants_dir: Path) -> dict[str, ValidateResult]:
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(variants_dir)
        return {
            stage: validate_folder(".", names_for(stage), ValidateOptions(stage=stage, template="qwen2_vl"))
            for stage in STAGES
        }


def test_there_are_at_least_30_broken_variants() -> None:
    broken = [name for name, v in VARIANTS.items() if v.expected != []]
    assert len(broken) >= 30


@pytest.mark.parametrize("name", list(VARIANTS))
def test_variant_verdict_matches_lf(name: str, variant_results: dict[str, ValidateResult]) -> None:
    variant = VARIANTS[name]
    result = variant_results[variant.stage]
    assert _verdicts(result)[name] == variant.expected


def test_every_error_sample_has_a_located_finding(variant_results: dict[str, ValidateResult]) -> None:
    for result in variant_results.values():
        for dataset in result.datasets:
            flagged = {
                f.index for f in result.findings if f.dataset == dataset.name and f.severity == "error"
            }
            assert set(dataset.error_samples) <= flagged, dataset.name
            for finding in result.findings:
                if finding.index is not None:
                    assert finding.file and finding.path and finding.path.startswith("$[")


@pytest.mark.parametrize(
    ("name", "code", "text"),
    [
        (
            "v_images_mixed_jsonl",
            "arrow-mixed-types",
            "Column(/images) changed from string to array in row 1",
        ),
        ("v_role_key_wrong", "lf-load-crash", "KeyError: 'from'"),
        ("v_columns_without_messages", "lf-load-crash", "KeyError: None"),
        ("v_declared_column_absent", "lf-load-crash", "KeyError: 'sys'"),
        ("v_formatting_unknown", "entry-formatting", "Dataset converter chatml not found."),
        ("v_split_test", "entry-split", "Unknown split \"test\". Should be one of ['train']."),
        ("v_folder_with_readme", "data-file-types-differ", "File types should be identical."),
        ("v_upper_extension", "data-file-type", "Allowed file types: arrow,csv,json,jsonl,parquet,txt."),
        ("v_alpaca_history_three", "lf-load-crash", "ValueError: too many values to unpack (expected 2)"),
        ("v_unknown_role", "role-order", "Invalid role tag in [{'from': 'human', 'value': '<image>q'}"),
        ("v_odd_count", "turn-count", "Invalid message count in [{'from': 'human', 'value': 'q'}]."),
        ("v_content_null", "content-not-string", "not a string"),
        (
            "v_placeholder_uppercase",
            "placeholder-count",
            "The number of images does not match the number of <image> tokens in",
        ),
        ("v_image_missing", "media-missing", "No such file or directory: 'images/nope.png'"),
        (
            "v_audio_on_qwen2_vl",
            "template-no-audio",
            "This model does not support audio input. Please check whether the correct `template` is used.",
        ),
        (
            "v_function_call_bad_json",
            "function-call-invalid",
            "Invalid JSON format in function message: ['call it'].",
        ),
        (
            "v_tools_native_list",
            "tools-invalid",
            "TypeError: the JSON object must be str, bytes or bytearray, not list",
        ),
        ("v_tools_bad_json", "tools-invalid", "Invalid JSON format in tool description: ['not json']."),
        (
            "v_alpaca_output_numeric",
            "no-response",
            "Dropped invalid example: [{'role': 'user', 'content': 'a'}]",
        ),
        (
            "r_sft_data_in_rm",
            "stage-mismatch",
            "The dataset is not applicable in the current training stage.",
        ),
    ],
)
def test_findings_use_lf_wording(
    name: str, code: str, text: str, variant_results: dict[str, ValidateResult]
) -> None:
    result = variant_results[VARIANTS[name].stage]
    messages = [f.message for f in result.findings if f.dataset == name and f.code == code]
    assert messages, [(f.code, f.message) for f in result.findings if f.dataset == name]
    assert any(text in m for m in messages), messages


def test_registry_lint_warnings(tmp_path: Path) -> None:
    (tmp_path / "d.json").write_text(json.dumps([{"instruction": "a", "input": "", "output": "b"}]))
    info = {
        "typo": {"file_name": "d.json", "colums": {"prompt": "instruction"}},
        "partial": {"file_name": "d.json", "columns": {"prompt": "instruction", "query": "input"}},
        "hub": {"hf_hub_url": "someone/data"},
        "ranking_str": {"file_name": "d.json", "ranking": "true"},
    }
    (tmp_path / "dataset_info.json").write_text(json.dumps(info))
    result = validate_folder(str(tmp_path), None, ValidateOptions())
    by = {(f.dataset, f.code): f for f in result.findings}
    assert "did you mean 'columns'?" in by[("typo", "entry-unknown-key")].message
    assert "response" in by[("partial", "entry-columns-partial")].message
    assert (
        by[("hub", "entry-not-local")].message
        == "'hub' loads from hf_hub (someone/data); not checked offline"
    )
    assert by[("ranking_str", "entry-ranking-type")].severity == "warning"
    statuses = {d.name: d.status for d in result.datasets}
    assert statuses == {
        "typo": "checked",
        "partial": "checked",
        "hub": "not-local",
        "ranking_str": "load-error",
    }


def test_media_dir_replaces_dataset_dir_as_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    data = tmp_path / "data"
    media = tmp_path / "media"
    (data / "imgs").mkdir(parents=True)
    (media / "imgs").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(data / "imgs" / "a.png")
    Image.new("RGB", (8, 8)).save(media / "imgs" / "b.png")
    rows = [
        {
            "conversations": [{"from": "human", "value": "<image>"}, {"from": "gpt", "value": "x"}],
            "images": [p],
        }
        for p in ("imgs/a.png", "imgs/b.png")
    ]
    (data / "d.json").write_text(json.dumps(rows))
    (data / "dataset_info.json").write_text(json.dumps({"d": {**SG, "file_name": "d.json"}}))
    monkeypatch.chdir(tmp_path)
    assert validate_folder("data", None, ValidateOptions()).datasets[0].error_samples == [1]
    opts = ValidateOptions(media_dir="media")
    assert validate_folder("data", None, opts).datasets[0].error_samples == [0]
    monkeypatch.chdir(data)  # not found under media_dir: LF opens it relative to the working directory
    assert validate_folder(".", None, ValidateOptions(media_dir="../media")).datasets[0].error_samples == []


def test_placeholder_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    rows = [
        {
            "conversations": [{"from": "human", "value": "<img>What?"}, {"from": "gpt", "value": "x"}],
            "images": ["a.png"],
        }
    ]
    (tmp_path / "d.json").write_text(json.dumps(rows))
    (tmp_path / "dataset_info.json").write_text(json.dumps({"d": {**SG, "file_name": "d.json"}}))
    runner = CliRunner()
    result = runner.invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "The number of images does not match the number of <image> tokens" in result.stderr
    result = runner.invoke(cli, ["validate", str(tmp_path)], env={"IMAGE_PLACEHOLDER": "<img>"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "d: 1 of 1 samples will train"


# --- the CLI ------------------------------------------------------------------------------------------


def test_cli_good_folder_exit_0(variants_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(variants_dir)
    result = CliRunner().invoke(
        cli, ["validate", ".", "--dataset", "v_images_str_everywhere,v_leading_system", "-t", "qwen2_vl"]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "v_images_str_everywhere: 2 of 2 samples will train",
        "v_leading_system: 1 of 1 samples will train",
        "OK: 0 error(s), 0 warning(s) in 2 dataset(s)",
    ]


def test_cli_errors_exit_1_grouped_by_dataset(variants_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(variants_dir)
    result = CliRunner().invoke(
        cli, ["validate", ".", "-d", "v_unknown_role,v_image_missing", "--examples", "1"]
    )
    assert result.exit_code == 1
    assert "v_unknown_role: 1 of 2 samples will train (1 rejected or dropped)" in result.stdout
    assert "== v_unknown_role: 1 error(s), 0 warning(s)" in result.stderr
    assert "error role-order (1):" in result.stderr
    assert (
        "  ./v_image_missing.json:$[1].images[0]: FileNotFoundError: [Errno 2] No such file or directory: "
        "'images/nope.png'" in result.stderr
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["validate", "nowhere"], "Error: nowhere: no such folder"),
        (["validate", "empty"], "Error: empty/dataset_info.json: not found"),
        (["validate", ".", "-d", "nope"], "Error: Undefined dataset nope in dataset_info.json."),
        (["validate"], "Error: give the dataset folder (DATASET_DIR) or --config train.yaml"),
        (["validate", ".", "-t", "qwen9"], "Error: unknown template 'qwen9'"),
    ],
)
def test_cli_usage_errors_exit_2(
    args: list[str], message: str, variants_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(variants_dir)
    (variants_dir / "empty").mkdir(exist_ok=True)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_cli_config_yaml(variants_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "train.yaml"
    config.write_text(
        f"model_name_or_path: x\nstage: sft\ndataset_dir: {variants_dir}\n"
        "dataset: v_images_str_everywhere, v_leading_system\ntemplate: qwen\ncutoff_len: 1024\n"
    )
    monkeypatch.chdir(variants_dir)
    result = CliRunner().invoke(
        cli, ["validate", "--config", str(config), "--report", str(tmp_path / "r.json")]
    )
    assert result.exit_code == 1
    assert (
        "This model does not support image input. Please check whether the correct `template` is used."
        in (result.stderr)
    )
    assert "v_images_str_everywhere: 0 of 2 samples will train (2 rejected or dropped)" in result.stdout
    assert "v_leading_system: 1 of 1 samples will train" in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert list(validator("report").iter_errors(report)) == []
    assert report["settings"]["template"] == "qwen"
    assert report["settings"]["cutoff_len"] == 1024
    assert report["samples"] == {"rows": 3, "will_train": 1, "rejected": 2}


def test_report_schema_accepts_validate_and_coco2lf_reports(
    variants_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .conftest import FIXTURES

    monkeypatch.chdir(variants_dir)
    report_path = tmp_path / "validate.json"
    result = CliRunner().invoke(cli, ["validate", ".", "-t", "qwen2_vl", "--report", str(report_path), "-q"])
    assert result.exit_code == 1
    report = json.loads(report_path.read_text())
    assert list(validator("report").iter_errors(report)) == []
    assert {d["name"] for d in report["datasets"]} == set(VARIANTS)
    assert report["summary"]["errors"] == sum(1 for f in report["findings"] if f["severity"] == "error")
    coco_report = tmp_path / "coco.json"
    result = CliRunner().invoke(
        cli,
        [
            "coco2lf",
            str(FIXTURES / "coco_captions/annotations/captions_val2017.json"),
            "-o",
            str(tmp_path / "o"),
            "--report",
            str(coco_report),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert list(validator("report").iter_errors(json.loads(coco_report.read_text()))) == []
    broken = dict(report, findings=[{"code": "Bad Code", "severity": "fatal", "message": "x"}])
    assert len(list(validator("report").iter_errors(broken))) == 2


# --- LF's demo data folder -------------------------------------------------------------------------


def _lf_data_verdicts(folder: Path, check: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    for stage in ("sft", "rm", "kto"):
        names = [n for n, (s, _) in SHARED_EXPECTED.items() if s == stage]
        options = ValidateOptions(stage=stage, template="qwen2_vl", check=check)
        result = validate_folder(".", names, options)
        assert _verdicts(result) == {n: SHARED_EXPECTED[n][1] for n in names}


def test_lf_data_verdicts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LF's registry and demos, stand-ins for the demo files and media that are not bundled (their
    video and audio files only exist, so media are checked for existence)."""
    _lf_data_verdicts(lf_data_folder(tmp_path), "exists", monkeypatch)


@pytest.mark.shared_data
def test_shared_lf_data_verdicts(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _lf_data_verdicts(shared_data / "llamafactory" / "data", "header", monkeypatch)


# --- the llamafactory importer ----------------------------------------------------------------------


def test_importer_reads_mllm_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """LF's own mllm_demo.json; the images are generated stand-ins (a path is joined with the folder
    only when that file exists, as LF does)."""
    folder = lf_data_folder(tmp_path)
    monkeypatch.chdir(folder)
    findings = Findings()
    dataset = IMPORTERS["llamafactory"]([str(folder)], LfDataOptions(dataset="mllm_demo"), findings, "mllm")
    samples = list(dataset.samples)
    assert len(samples) == 6 and not findings.errors
    first = samples[0]
    assert [t.role.value for t in first.turns] == ["user", "assistant", "user", "assistant"]
    assert [m.path for m in first.images] == ["mllm_demo_data/1.jpg"] * 2  # one per <image>
    assert first.images[0].base == str(folder)


def test_importer_leaves_out_rejected_rows_with_findings(
    variants_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(variants_dir)
    findings = Findings()
    dataset = IMPORTERS["llamafactory"](["."], LfDataOptions(dataset="v_unknown_role"), findings, "x")
    assert len(list(dataset.samples)) == 1
    assert [f.code for f in findings] == ["role-order"]


# --- the real LLaMA-Factory ---------------------------------------------------------------------------


@pytest.mark.lf_oracle
@pytest.mark.parametrize("stage", STAGES)
def test_variants_agree_with_real_lf(stage: str, tmp_path: Path) -> None:
    folder = build(tmp_path / "variants")
    names = names_for(stage)
    oracle = run_oracle(folder, ",".join(names), stage=stage)
    if stage == "pt":  # packing makes every short sample "dropped" when run alone; compare hard errors
        oracle["rejected"] = [r for r in oracle["rejected"] if r["kind"] == "error"]
    expected = {name: VARIANTS[name].expected for name in names}
    loaded = {e["dataset"] for e in oracle["load_errors"]}
    rejected: dict[str, list[int]] = {}
    for item in oracle["rejected"]:
        rejected.setdefault(item["dataset"], []).append(item["index"])
    assert {n: ("load" if n in loaded else sorted(rejected.get(n, []))) for n in names} == expected
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        result = validate_folder(".", names, ValidateOptions(stage=stage, template="qwen2_vl"))
    agreement = compare(oracle, result)
    assert agreement.mismatches == []


@pytest.mark.lf_oracle
def test_make_demo_folder_agrees_with_real_lf(tmp_path: Path) -> None:
    import subprocess

    from .conftest import LF_VENV, SHARED

    python = LF_VENV / "bin" / "python"
    make_demo = SHARED / "lf-oracle" / "make_demo.py"
    if not python.exists() or not make_demo.exists():
        pytest.skip(f"LF oracle venv ({LF_VENV}) or its make_demo.py ({make_demo}) not found")
    demo = tmp_path / "demo"
    subprocess.run([str(python), str(make_demo), str(demo)], check=True, capture_output=True)
    names = list(json.loads((demo / "dataset_info.json").read_text()))
    oracle = run_oracle(demo, ",".join(names))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(demo)
        result = validate_folder(".", names, ValidateOptions(template="qwen2_vl"))
    agreement = compare(oracle, result)
    assert agreement.mismatches == []
    assert agreement.datasets == len(names)


@pytest.mark.lf_oracle
@pytest.mark.shared_data  # LF decodes the demo media, which are not bundled
def test_shared_lf_data_agrees_with_real_lf(shared_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    shutil.copytree(shared_data / "llamafactory" / "data", folder)
    for stage in ("sft", "rm", "kto"):
        names = [n for n, (s, _) in SHARED_EXPECTED.items() if s == stage]
        oracle = run_oracle(folder, ",".join(names), stage=stage)
        with pytest.MonkeyPatch.context() as mp:
            mp.chdir(folder)
            result = validate_folder(".", names, ValidateOptions(stage=stage, template="qwen2_vl"))
        assert compare(oracle, result).mismatches == []


def test_invalid_registry_is_an_error_finding_not_usage(tmp_path: Path) -> None:
    (tmp_path / "dataset_info.json").write_text('{"a": {"file_name": "a.json",}}')
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "error registry-invalid (1):" in result.stderr
    assert "Cannot open " in result.stderr and "dataset_info.json due to " in result.stderr


def test_parquet_without_pyarrow_is_reported_not_checked(tmp_path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("pyarrow is installed: parquet files are read")
    (tmp_path / "d.parquet").write_bytes(b"PAR1")
    (tmp_path / "dataset_info.json").write_text(json.dumps({"d": {"file_name": "d.parquet"}}))
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    assert "d: not checked (parquet files need pyarrow, which is not installed" in result.stdout


def _cutoff_len_warns_about_image_tokens(dataset_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("mmconvert.tokens")
    config = tmp_path / "train.yaml"
    config.write_text(f"dataset_dir: {dataset_dir}\ndataset: mllm_demo\ntemplate: qwen2_vl\ncutoff_len: 60\n")
    result = CliRunner().invoke(cli, ["validate", "--config", str(config), "--examples", "1"])
    assert result.exit_code == 0, result.stderr
    assert "warning image-tokens-over-cutoff (6):" in result.stderr
    assert "(300x168 -> 66, 300x168 -> 66, +2 each), more than cutoff_len 60" in result.stderr


def test_config_cutoff_len_warns_about_image_tokens(tmp_path: Path) -> None:
    """LF's mllm_demo with generated images of the demo images' sizes."""
    _cutoff_len_warns_about_image_tokens(lf_data_folder(tmp_path), tmp_path)


@pytest.mark.shared_data
def test_config_cutoff_len_on_the_real_demo_images(shared_data: Path, tmp_path: Path) -> None:
    _cutoff_len_warns_about_image_tokens(shared_data / "llamafactory" / "data", tmp_path)


def _importer_takes_the_stage_from_the_entry(folder: Path, count: dict[str, int]) -> None:
    for name, check in (
        ("dpo_en_demo", lambda s: s.chosen is not None and s.rejected is not None),
        ("kto_en_demo", lambda s: s.kto_label is not None),
    ):
        findings = Findings()
        samples = list(
            IMPORTERS["llamafactory"]([str(folder)], LfDataOptions(dataset=name), findings, name).samples
        )
        assert len(samples) == count[name] and not findings.errors, name
        assert all(check(s) for s in samples), name


def test_importer_takes_the_stage_from_the_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = lf_data_folder(tmp_path)
    monkeypatch.chdir(folder)
    _importer_takes_the_stage_from_the_entry(folder, {"dpo_en_demo": 3, "kto_en_demo": 4})


@pytest.mark.shared_data
def test_importer_takes_the_stage_from_the_real_entries(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = shared_data / "llamafactory" / "data"
    monkeypatch.chdir(folder)
    _importer_takes_the_stage_from_the_entry(folder, {"dpo_en_demo": 300, "kto_en_demo": 300})
