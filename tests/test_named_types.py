"""The named types of the core are defined twice: for type checkers (a
``typing.NamedTuple`` class, which documents each field) and at run time (a
``collections.namedtuple``, since the engine does not import ``typing``).
Both must name the same fields in the same order."""

from __future__ import annotations

import ast
import importlib

import pytest

from .conftest import ROOT


def _declared() -> list[tuple[str, str, tuple[str, ...]]]:
    found = []
    for path in sorted((ROOT / "imspatch").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id == "NamedTuple" for base in node.bases
            ):
                fields = tuple(
                    item.target.id
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                )
                found.append((f"imspatch.{path.stem}", node.name, fields))
    return found


DECLARED = _declared()


def test_the_core_declares_its_named_types() -> None:
    names = {name for _, name, _ in DECLARED}
    assert {"Body", "Plan", "Step", "Checked", "Dialect", "NameInfo", "HTTPResponse"} <= names


@pytest.mark.parametrize(("module", "name", "fields"), DECLARED, ids=[d[1] for d in DECLARED])
def test_the_runtime_type_has_the_declared_fields(
    module: str, name: str, fields: tuple[str, ...]
) -> None:
    runtime = getattr(importlib.import_module(module), name)
    assert runtime._fields == fields
    assert runtime.__name__ == name
