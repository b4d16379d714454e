"""The format registry: importer and exporter names to the functions that implement them.

An importer is ``read(paths, options, findings, name) -> Dataset``; an exporter is
``write(dataset, output_options) -> WrittenFile``.  Adding a format is one module and one line here.
"""

from __future__ import annotations

import importlib
from typing import Any


class Entry:
    """A registry entry, ``converters.<module>.<function>``, imported on first use: a command loads
    only the formats it uses (importing all of them costs ~0.1 s at every start)."""

    def __init__(self, module: str, function: str) -> None:
        self.module, self.function = module, function
        self._target: Any = None

    @property
    def target(self) -> Any:
        if self._target is None:
            module = importlib.import_module(f"mmconvert.converters.{self.module}")
            self._target = getattr(module, self.function)
        return self._target

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.target(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{self.module}.{self.function}>"


IMPORTERS: dict[str, Any] = {
    "coco": Entry("coco", "read"),
    "sharegpt": Entry("sharegpt", "read"),
    "llava": Entry("llava", "read"),
    "openai": Entry("openai", "read"),
    "swift": Entry("swift", "read"),
    "alpaca": Entry("alpaca", "read"),
    "llamafactory": Entry("lfdata", "read"),
}

EXPORTERS: dict[str, Any] = {
    "llamafactory": Entry("llamafactory", "write"),
    "llamafactory-alpaca": Entry("llamafactory", "write_alpaca"),
}

#: Exporters that can join part files written for slices of a dataset (see mmconvert.parallel).
JOINERS: dict[str, Any] = {
    "llamafactory": Entry("llamafactory", "join_parts"),
    "llamafactory-alpaca": Entry("llamafactory", "join_parts_alpaca"),
}
