"""``fixtures/`` holds only documented, permissively licensed files: every file is in the list at the
end of ``fixtures/README.md`` (and every listed file exists), every third-party folder has a row in its
table, and nothing comes from the sources that must not be bundled (non-commercial or unclear
license), neither by path nor, under another name, by content."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from .conftest import FIXTURES, THIRDPARTY

README = FIXTURES / "README.md"

#: Path fragments of sources that are never bundled (see ../shared/data/PROVENANCE.md).
FORBIDDEN_PATHS = (
    "scienceqa",  # LLaVA's ScienceQA subset: CC BY-NC-SA 4.0
    "llava_test_CQM",
    "alpaca_lora_fork",  # Stanford Alpaca text: CC BY-NC 4.0
    "input_images",  # panopticapi's photos: Flickr CC BY-NC / CC BY-NC-SA
    "coco2014_val_gpt4_qa",  # LLaVA's GPT-4-generated QA: OpenAI terms
    "qa90_",
    "alpaca_en_demo",  # LLaMA-Factory demo samples of other datasets: license unclear
    "dpo_en_demo",
    "kto_en_demo",
    "glaive_toolcall",
    "mllm_demo_data",  # LLaMA-Factory's demo media: no stated provenance
    "COCO_train2014_000000458752",  # the allennlp VQA photo: per-image license not recorded
)

#: sha256 of the data files of those sources, as they are in ../shared/data.
FORBIDDEN_SHA256 = {
    "c09bfa76dad02f222203fccbec8a2e1d45b19dd680ca989d60dab7b495f49c29",  # llava_test_CQM-A.first200.json
    "cd914060e5c73741811ff1ce7e1d9ae1bad69c83d90d055bd1ea3f525c0e9c19",  # alpaca_lora_fork/alpaca_data.json
    "a688d105dcba71b91a54d447287b8fc48ef6c1bbbeb9641cf85122fc11b5b7ad",  # panopticapi 000000142238.jpg
    "0aac0cbbf7b80b6b568f24ff43f3a46c1728887b88be6b9a07aa5e32e44ef0e7",  # panopticapi 000000439180.jpg
    "ed554e19bc901fae4ae7627858ca5d14befa5b5a0984ed5ce537d4ac3316bf5e",  # coco2014_val_gpt4_qa_30x3.jsonl
    "5fd1a760483fb54e62a717a406add8a986f3e03a40d037b5d6515828cc90dbc5",  # qa90_gpt4_answer.jsonl
    "2a77196696b5602b544244ace9aeac21300513be85b5e53eb2414d00cddbe1c7",  # qa90_questions.jsonl
    "bcc37c64db1a739a0789a1b81f251146fcf4459f903474bc9e3c21bbb5628318",  # alpaca_en_demo.json
    "b949be2421cfa62744afcf1b479f95b299d643d1a4c1c97d1341b314a1aa5cb3",  # dpo_en_demo.json
    "9891687dea7c00e54af2e39534085c151ce3462d073574eeff2af927cc56fb74",  # kto_en_demo.json
    "8b84773e44e71881f32490080350734cad3069dc227eafd771ccfb80732f6437",  # glaive_toolcall_en_demo.json
    "95d292cbe8e7151b277f8c04f670a1bd28bbb36882ed5ac0a486b6e5f6e67a0b",  # mllm_demo_data/1.jpg
    "0e64ce34dc2bf99fb5083859c57bcee674b8bfece62e7d8425a87f986b3c074f",  # mllm_demo_data/2.jpg
    "e4b1c7c2626bfe475c20fb8163d3644186e10db9530877ff72c0230f31f90aaf",  # mllm_demo_data/3.jpg
    "3298926dcbd76709eb64cc194ec9fe0f81865149086c9b2acd935d92e8d8d57e",  # mllm_demo_data/1.mp4
    "fb4fa70ba4a62ebfe74c6aa90172e8c714122c058d285e5d5560d24042063d36",  # mllm_demo_data/2.avi
    "c8f88dd5ce9dab723864bdf508a5656378f7cbb2b35399d33bc1c8ae9d3ef73f",  # mllm_demo_data/3.mp4
    "808871aa43ae518d98873c554ea8b15079fd2b348141718dbfcb99fd262747ba",  # mllm_demo_data/4.mp4
    "4a1a83e5c7fc5c0842abf39e0be7051e3ecfeb5337a1e5371a2f631efe5ca45d",  # mllm_demo_data/1.mp3
    "dd78d5b046efa463af01d8bc6e9bb7a555ff701ab03c29b3e086eb20d8581be3",  # mllm_demo_data/2.wav
    "4e25e22555cd16e90edb0a3b49fdcf1fe652b2a1250ab643634db33895c75b41",  # mllm_demo_data/3.flac
    "bede851850816237a76ed1da8ea5eec0d5d0ada8f8c8ca6638a47c2604c1034e",  # mllm_demo_data/4.mp3
    "a9937cde53e6d295f82067a5aa41a2d0bc1b146a522c48268b2df877b38d8b89",  # COCO_train2014_000000458752.jpg
}


def _files() -> list[str]:
    return sorted(
        p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*") if p.is_file() and p != README
    )


def _listed() -> list[str]:
    """The paths in the code block under ``### Every bundled file``."""
    section = README.read_text(encoding="utf-8").split("### Every bundled file", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.DOTALL)
    assert block is not None, "no file list under '### Every bundled file'"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _table_folders() -> set[str]:
    """The folders named in the first column of README's tables (``| `name/` | ...``)."""
    return set(re.findall(r"^\| `([^`]+/)` \|", README.read_text(encoding="utf-8"), re.MULTILINE))


def test_every_fixture_file_is_listed_in_the_readme() -> None:
    listed = _listed()
    assert len(listed) == len(set(listed)), "a file is listed twice"
    files = _files()
    assert sorted(set(files) - set(listed)) == [], "not in fixtures/README.md's file list"
    assert sorted(set(listed) - set(files)) == [], "listed in fixtures/README.md but not in fixtures/"


def test_every_fixture_folder_has_a_readme_row() -> None:
    folders = _table_folders()
    tops = {p.split("/", 1)[0] + "/" for p in _files() if not p.startswith("thirdparty/")}
    sources = {"thirdparty/" + p.name + "/" for p in THIRDPARTY.iterdir()}
    assert sorted((tops | sources) - folders) == []
    assert all((FIXTURES / f).is_dir() for f in folders), "a README row names a folder that is absent"


def test_nothing_from_the_sources_that_must_not_be_bundled() -> None:
    for rel in [*_files(), *(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*") if p.is_dir())]:
        assert not [f for f in FORBIDDEN_PATHS if f.lower() in rel.lower()], rel
    for rel in _files():
        digest = hashlib.sha256((FIXTURES / rel).read_bytes()).hexdigest()
        assert digest not in FORBIDDEN_SHA256, f"{rel} has the bytes of a file that must not be bundled"


@pytest.mark.shared_data
def test_thirdparty_files_equal_their_shared_data_source(shared_data: Path) -> None:
    """Byte for byte as in ../shared/data, and each source's license file came along."""
    for path in sorted(p for p in THIRDPARTY.rglob("*") if p.is_file()):
        rel = path.relative_to(THIRDPARTY)
        assert path.read_bytes() == (shared_data / rel).read_bytes(), rel
    for source in THIRDPARTY.iterdir():
        for name in ("LICENSE", "license.txt"):
            if (shared_data / source.name / name).is_file():
                assert (source / name).is_file(), f"{source.name}/{name} not copied"
