"""The format registry: importer and exporter names to the functions that implement them.

An importer is ``read(paths, options, findings, name) -> Dataset``; an exporter is
``write(dataset, output_options) -> WrittenFile``.  Adding a format is one module and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmconvert.converters import alpaca, coco, lfdata, llamafactory, llava, openai, sharegpt, swift

IMPORTERS: dict[str, Callable[..., Any]] = {
    "coco": coco.read,
    "sharegpt": sharegpt.read,
    "llava": llava.read,
    "openai": openai.read,
    "swift": swift.read,
    "alpaca": alpaca.read,
    "llamafactory": lfdata.read,
}

EXPORTERS: dict[str, Callable[..., Any]] = {
    "llamafactory": llamafactory.write,
    "llamafactory-alpaca": llamafactory.write_alpaca,
}

#: Exporters that can join part files written for slices of a dataset (see mmconvert.parallel).
JOINERS: dict[str, Callable[..., Any]] = {
    "llamafactory": llamafactory.join_parts,
    "llamafactory-alpaca": llamafactory.join_parts_alpaca,
}
