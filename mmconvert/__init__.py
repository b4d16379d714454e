"""mmconvert: onboard multimodal datasets into LLaMA-Factory, with LLaMA-Factory 0.9.5's own rules checked.

The library converts any supported source (COCO, ShareGPT-family chats, Alpaca-style data) into one
common model (:mod:`mmconvert.model`), runs passes over it (placeholders, paths, media) and writes
LLaMA-Factory dataset files plus a ``dataset_info.json`` entry.  See :mod:`mmconvert.api`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mmconvert")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
