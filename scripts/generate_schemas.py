"""Write schemas/*.json: the two body documents and the value rules of each rule set.

The value documents are rendered from imspatch.rules, so the engine and the schemas
share one source; tests/test_schemas.py fails when the files are stale.

    python scripts/generate_schemas.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imspatch import GLANCE, IMS, MEDIA_TYPES  # noqa: E402

END = r"(?![\s\S])"
# Glance's pointer syntax checks (SPEC 5), as one ECMA-262 / Python pattern:
# "/" alone, or "/" then: no "/"-whitespace-"/", no trailing "/", not only
# slashes and whitespace, "~" only as "~0" or "~1".
POINTER = (
    rf"^/(?:{END}|(?![\s\S]*/\s*/)(?![\s\S]*/{END})(?!\s*/\s*{END})"
    rf"(?![\s\S]*~(?:[^01]|{END})))"
)
POINTER_SCHEMA = {"type": "string", "pattern": POINTER}
OPS = ["add", "remove", "replace"]


def body_schema(dialect: str) -> dict[str, Any]:
    media_type = next(k for k, v in MEDIA_TYPES.items() if v == dialect)
    if dialect == "v2.1":
        item: dict[str, Any] = {
            "type": "object",
            "required": ["op", "path"],
            "properties": {"op": {"enum": OPS}, "path": {"$ref": "#/$defs/pointer"}},
            "if": {"properties": {"op": {"enum": ["add", "replace"]}}},
            "then": {"required": ["value"]},
        }
    else:
        item = {
            "type": "object",
            "oneOf": [{"required": [op]} for op in OPS],
            "properties": {op: {"$ref": "#/$defs/pointer"} for op in OPS},
            "dependentRequired": {"add": ["value"], "replace": ["value"]},
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://imspatch.invalid/schemas/{dialect}-json-patch.json",
        "title": f"A {media_type} request body",
        "description": (
            "The shape of a PATCH /v2/images/{image_id} body: operation objects, op names, "
            "Glance's pointer syntax and the value member. Depth, name classes and values "
            "are checked by the engine and the *-values.json documents."
        ),
        "type": "array",
        "items": item,
        "$defs": {"pointer": POINTER_SCHEMA},
    }


def documents() -> dict[str, dict[str, Any]]:
    return {
        "v2.0-json-patch.json": body_schema("v2.0"),
        "v2.1-json-patch.json": body_schema("v2.1"),
        "glance-values.json": GLANCE.value_schema(),
        "ims-values.json": IMS.value_schema(),
    }


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    out = ROOT / "schemas"
    out.mkdir(exist_ok=True)
    for name, doc in documents().items():
        (out / name).write_text(render(doc), encoding="utf-8")
        print(f"wrote schemas/{name}")


if __name__ == "__main__":
    main()
