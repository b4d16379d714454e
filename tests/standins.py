"""Stand-ins for real files that ``fixtures/`` does not bundle (see ``fixtures/README.md``).

Some real inputs the tests were written against cannot be bundled: they are non-commercial (LLaVA's
ScienceQA subset), under other terms (LLaVA's GPT-4 QA text, Alpaca-GPT4 in LLaMA-Factory's
``alpaca_en_demo.json``) or of unclear license (LLaMA-Factory's preference, KTO and tool-call demo
samples and its demo media; the allennlp VQA photo).  The default tests run on data built here with
the same shape and the same edge cases (as listed in ``../shared/data/EDGE_CASES.md``); the tests
against the real files are kept beside them, marked ``shared_data``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from PIL import Image

from .conftest import THIRDPARTY

LF_DATA = THIRDPARTY / "llamafactory" / "data"
VQA_VISION = THIRDPARTY / "allennlp_models_vqav2" / "test_fixtures" / "vision"
VQA_IMAGE = "COCO_train2014_000000458752.jpg"


def jpeg(path: Path, size: tuple[int, int], color: tuple[int, int, int] = (90, 120, 150)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, format="JPEG")
    return path


def _dump(path: Path, records: Any, ensure_ascii: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2, ensure_ascii=ensure_ascii), encoding="utf-8")
    return path


# -- the allennlp VQA v2 fixture ------------------------------------------------------------------


def vqa_tree(root: Path) -> Path:
    """The allennlp VQA v2 fixture in its upstream layout under ``root``: the bundled question and
    answer files in ``vqav2/``, and a generated JPEG of the real photo's size (640x480) at
    ``images/vqav2/COCO_train2014_000000458752.jpg``.  Returns the ``vqav2`` folder."""
    shutil.copytree(VQA_VISION / "vqav2", root / "vqav2")
    jpeg(root / "images" / "vqav2" / VQA_IMAGE, (640, 480))
    return root / "vqav2"


# -- LLaVA ------------------------------------------------------------------------------------------

#: Records with an image in :func:`scienceqa_like` (the real first-200 subset has 97 of 200).
SCIENCEQA_IMAGES = 3


def scienceqa_like(path: Path) -> Path:
    """LLaVA's ScienceQA test file in miniature: LLaVA ``conversations`` (``from: human/gpt``), ``id``
    strings, text-only records mixed in (the first record has no image), the human turn starting with
    ``<image>\\n`` when there is an image, every image named ``image.png`` in its question's folder
    (they collide if flattened), one-letter answers, ``\\u2014``-style escapes (``ensure_ascii``,
    ``indent=2``, no newline at the end, as upstream writes it)."""
    questions = [
        (
            "4",
            None,
            "Which punctuation mark ends a question?\nA sign read: \u201cOpen\u2014come in!\u201d\n"
            "A. a question mark\nB. a comma",
            "A",
        ),
        (
            "5",
            "5/image.png",
            "Context: The picture shows a bar chart.\nWhich bar is tallest?\nA. red\nB. blue",
            "B",
        ),
        (
            "11",
            "11/image.png",
            "Context: N/A\nWhich shape in the picture has three sides?\nA. circle\nB. triangle",
            "B",
        ),
        ("15", None, "Which word comes first in alphabetical order?\nA. lantern\nB. meadow", "A"),
        (
            "22",
            None,
            "Which tense does the sentence use?\nThe kite will fly.\nA. future tense\nB. past tense",
            "A",
        ),
        (
            "23",
            "23/image.png",
            "Context: The map shows three towns.\nWhich town is farthest east?\nA. Alder\nB. Birch\nC. Cedar",
            "C",
        ),
        ("26", None, "Which is a compound sentence?\nA. It snowed, and we stayed in.\nB. It snowed.", "A"),
    ]
    records: list[dict[str, Any]] = []
    for qid, image, question, answer in questions:
        record: dict[str, Any] = {"id": qid}
        if image is not None:
            record["image"] = image
        human = f"<image>\n{question}" if image else question
        record["conversations"] = [{"from": "human", "value": human}, {"from": "gpt", "value": answer}]
        records.append(record)
    assert sum("image" in r for r in records) == SCIENCEQA_IMAGES
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2), encoding="utf-8")  # ensure_ascii, no final newline
    return path


def llava_qa_like(path: Path) -> Path:
    """LLaVA's ``coco2014_val_gpt4_qa_30x3.jsonl`` in miniature: alpaca-like ``instruction``/``output``
    with an ``image`` string (``COCO_val2014_*.jpg``) and no ``<image>`` tag, each image used by 3
    records (``type`` conv/detail/complex), ``id`` a zero-padded string."""
    lines = []
    for image_id, thing in ((111, "bicycle"), (222, "teapot"), (333, "ladder")):
        for kind, instruction in (
            ("conv", f"Where is the {thing} in this picture?"),
            ("detail", "Describe everything you can see here."),
            ("complex", f"Why could someone have left the {thing} there?"),
        ):
            lines.append(
                {
                    "id": f"{image_id:012d}",
                    "image": f"COCO_val2014_{image_id:012d}.jpg",
                    "instruction": instruction,
                    "output": f"The {thing} stands near the middle.\nIt is seen from the left.",
                    "type": kind,
                }
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


# -- LLaMA-Factory's demo data files ----------------------------------------------------------------


def alpaca_en_like(path: Path) -> Path:
    """``alpaca_en_demo.json`` in miniature: ``instruction``/``input``/``output``, most with an empty
    ``input``, non-ASCII text, multi-line answers with code."""
    records = [
        {
            "instruction": "List the steps to repot a plant.",
            "input": "",
            "output": "1. Water it.\n\n2. Move it.",
        },
        {
            "instruction": "Translate the sentence into French.",
            "input": "The café is open.",
            "output": "Le café est ouvert.",
        },
        {
            "instruction": "Write a Python function that adds two numbers.",
            "input": "",
            "output": "```python\ndef add(a, b):\n    return a + b\n```",
        },
        {
            "instruction": "Classify the sentiment.",
            "input": "A naïve plot, but lovely music.",
            "output": "Mixed",
        },
        {"instruction": "Name three kinds of clouds.", "input": "", "output": "Cirrus, cumulus and stratus."},
        {"instruction": "用一句话介绍你自己。", "input": "", "output": "我是一个测试用的助手。"},
        {
            "instruction": "Summarize the text in one sentence.",
            "input": "Owls hunt at night.\nTheir hearing is very sharp.",
            "output": "Owls are night hunters with sharp hearing.",
        },
    ]
    return _dump(path, records)


def glaive_toolcall_like(path: Path) -> Path:
    """``glaive_toolcall_en_demo.json`` in miniature: ``conversations`` with the extra roles
    ``function_call`` and ``observation`` (JSON strings as values), ``tools`` a JSON-encoded string,
    empty in some records."""
    tools = json.dumps(
        [
            {
                "name": "get_weather",
                "description": "The weather forecast for a city",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                    "required": ["city"],
                },
            }
        ]
    )
    call = json.dumps({"name": "get_weather", "arguments": {"city": "Lyon", "days": 2}})
    result = json.dumps({"forecast": [{"day": 1, "sky": "sunny"}, {"day": 2, "sky": "rain"}]})
    records = [
        {
            "conversations": [
                {"from": "human", "value": "What will the weather be in Lyon for two days?"},
                {"from": "function_call", "value": call},
                {"from": "observation", "value": result},
                {"from": "gpt", "value": 'Sunny tomorrow, then "rain" the day after.'},
            ],
            "tools": tools,
        },
        {
            "conversations": [
                {"from": "human", "value": "Can you order a pizza for me?"},
                {"from": "gpt", "value": "I can't place orders."},
                {"from": "human", "value": "Then name a pizza topping."},
                {"from": "gpt", "value": "Mushrooms."},
            ],
            "tools": "",
        },
        {
            "conversations": [
                {"from": "human", "value": "Hello!"},
                {"from": "gpt", "value": "Hi, how can I help?"},
                {"from": "human", "value": "Will it rain in Lyon?"},
                {"from": "function_call", "value": call},
                {"from": "observation", "value": result},
                {"from": "gpt", "value": "Yes, on the second day."},
            ],
            "tools": tools,
        },
    ]
    return _dump(path, records)


def dpo_en_like(path: Path) -> Path:
    """``dpo_en_demo.json`` in miniature: ``conversations`` (``human``/``gpt``, sometimes a leading
    ``system`` turn, 1 to 5 turns ending with ``human``), and ``chosen``/``rejected`` as single message
    dicts, not lists."""
    records = [
        {
            "conversations": [{"from": "human", "value": "Suggest a name for a bakery."}],
            "chosen": {"from": "gpt", "value": "How about \u201cRise & Shine\u201d?"},
            "rejected": {"from": "gpt", "value": "Bakery."},
        },
        {
            "conversations": [
                {"from": "system", "value": "You are a patient tutor. Explain step by step."},
                {"from": "human", "value": "Q: What part of speech is {{ quickly }} in 'She ran quickly'?"},
            ],
            "chosen": {"from": "gpt", "value": "An adverb: it says how she ran."},
            "rejected": {"from": "gpt", "value": "A noun."},
        },
        {
            "conversations": [
                {"from": "human", "value": "What is 3 + 4?"},
                {"from": "gpt", "value": "7."},
                {"from": "human", "value": "And times 2?"},
                {"from": "gpt", "value": "14."},
                {"from": "human", "value": "Show the steps."},
            ],
            "chosen": {"from": "gpt", "value": "3 + 4 = 7, and 7 × 2 = 14."},
            "rejected": {"from": "gpt", "value": "14, trust me."},
        },
    ]
    return _dump(path, records)


def kto_en_like(path: Path) -> Path:
    """``kto_en_demo.json`` in miniature: ``messages`` with ``role``/``content`` (2 to 6 messages) and
    a boolean ``label``, true and false."""
    records = [
        {
            "messages": [
                {
                    "content": "Pick the topic:\nLocal team wins the cup\n(A) Sports (B) Science",
                    "role": "user",
                },
                {"content": "(A) Sports.", "role": "assistant"},
            ],
            "label": True,
        },
        {
            "messages": [
                {"content": "Translate 'thank you' into Spanish.", "role": "user"},
                {"content": "Gracias.", "role": "assistant"},
                {"content": "And into German?", "role": "user"},
                {"content": "Merci.", "role": "assistant"},
                {"content": "That is French.", "role": "user"},
                {"content": "Sorry: Danke.", "role": "assistant"},
            ],
            "label": False,
        },
        {
            "messages": [
                {"content": "Write a haiku about snow.", "role": "user"},
                {
                    "content": "White roofs, quiet street\nfootprints fill as night falls\nmorning again",
                    "role": "assistant",
                },
            ],
            "label": True,
        },
        {
            "messages": [
                {"content": "Is the moon made of cheese?", "role": "user"},
                {"content": "Yes.", "role": "assistant"},
            ],
            "label": False,
        },
    ]
    return _dump(path, records)


#: The demo media LLaMA-Factory's demos name, with the real images' sizes (width, height).
LF_IMAGES = {"1.jpg": (300, 168), "2.jpg": (300, 199), "3.jpg": (300, 166)}
LF_AV = ("1.mp4", "2.avi", "3.mp4", "4.mp4", "1.mp3", "2.wav", "3.flac", "4.mp3")


def lf_media(folder: Path) -> Path:
    """Stand-ins for ``mllm_demo_data/``: generated JPEGs of the real sizes, and video and audio files
    that only exist (check them with ``exists``, not ``header``)."""
    for name, size in LF_IMAGES.items():
        jpeg(folder / name, size)
    for name in LF_AV:
        (folder / name).write_bytes(b"stand-in: a file that exists, not real media\n")
    return folder


def lf_data_folder(root: Path) -> Path:
    """LLaMA-Factory's ``data/`` folder as in ``../shared/data/llamafactory/data``: the bundled registry
    and the demos LF's authors wrote, the stand-ins above for the demo data files that are not bundled
    (same entries, same shapes, fewer records) and for ``mllm_demo_data/``.  The five local entries
    whose files are absent there are absent here too.  Returns the folder (``root/data``)."""
    folder = root / "data"
    shutil.copytree(LF_DATA, folder)
    alpaca_en_like(folder / "alpaca_en_demo.json")
    glaive_toolcall_like(folder / "glaive_toolcall_en_demo.json")
    dpo_en_like(folder / "dpo_en_demo.json")
    kto_en_like(folder / "kto_en_demo.json")
    lf_media(folder / "mllm_demo_data")
    return folder
