"""JSON Schemas (2020-12) shipped as package data: COCO captions input, LF sharegpt output, a
``dataset_info.json`` entry, mmconvert's ``--report`` and its statistics (``stats --json``).  Load them
with :func:`load_schema`; a schema may refer to another one by its file name."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

SCHEMAS = ("coco_captions", "lf_sharegpt", "dataset_info_entry", "report", "stats")


@cache
def load_schema(name: str) -> dict[str, Any]:
    """The schema ``name`` (one of :data:`SCHEMAS`) as a dict."""
    text = files(__package__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validator(name: str) -> Any:
    """A ``jsonschema`` validator for schema ``name`` (jsonschema is imported only when asked)."""
    import jsonschema
    from referencing import Registry, Resource

    schema = load_schema(name)
    registry: Any = Registry().with_resources(
        (load_schema(other)["$id"], Resource.from_contents(load_schema(other)))
        for other in SCHEMAS
        if "$id" in load_schema(other)
    )
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry)
