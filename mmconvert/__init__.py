"""mmconvert: onboard multimodal datasets into LLaMA-Factory, with LLaMA-Factory 0.9.5's own rules checked.

The library converts any supported source (COCO, ShareGPT-family chats, Alpaca-style data) into one
common model (:mod:`mmconvert.model`), runs passes over it (placeholders, paths, media) and writes
LLaMA-Factory dataset files plus a ``dataset_info.json`` entry.  See :mod:`mmconvert.api`.
"""

from __future__ import annotations

#: The release; pyproject.toml reads it from here (``[tool.setuptools.dynamic]``), so there is one copy.
#: A literal, not ``importlib.metadata.version()``: that import alone costs ~50 ms at every start.
__version__ = "0.1.0"

__all__ = ["__version__"]
