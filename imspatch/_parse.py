"""Phase 2 (SPEC 4-6): each raw operation object to a checked ``Operation``.

Per operation, in upstream's order: object check, op, path, pointer syntax
and decoding, depth, ``value`` presence, name class (read-only / reserved),
then the rule set's value check.  Each operation is fully validated before
the next is looked at.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._decode import Limits
from ._pointer import Pointer
from .errors import PatchError, excerpt, make_error
from .operations import Add, Operation, Remove, Replace
from .rules import Kind, Rules

__all__ = ["check_operation", "parse_operations"]

_OPS = ("add", "remove", "replace")
_EXPECTED = "It must be one of the following: add, remove, replace."


def parse_operations(
    doc: list[Any],
    v20: bool,
    rules: Rules,
    limits: Limits,
    errors: list[PatchError] | None = None,
) -> list[Operation]:
    """Parse every raw operation; raise the first error, or collect them all.

    With *errors* given, each failing operation's error is appended and the
    loop goes on (``iter_errors``); otherwise the first one is raised.
    """
    ops: list[Operation] = []
    append = ops.append
    max_pointer = limits.max_pointer_length
    for index, raw in enumerate(doc):
        try:
            append(_parse_one(raw, v20, rules, max_pointer))
        except PatchError as exc:
            exc.index = index
            if errors is None:
                raise
            errors.append(exc)
    return ops


def _parse_one(raw: Any, v20: bool, rules: Rules, max_pointer: int) -> Operation:
    if raw.__class__ is not dict:
        raise make_error("operation_not_object", "Operations must be JSON objects.")
    op: Any
    if v20:
        present = [key for key in _OPS if key in raw]
        if len(present) != 1:
            if present:
                msg = 'Operation objects must contain only one member named "add", "remove", or "replace".'  # noqa: E501
                raise make_error("several_ops", msg)
            msg = 'Operation objects must contain exactly one member named "add", "remove", or "replace".'  # noqa: E501
            raise make_error("missing_op", msg)
        op = present[0]
        path = raw[op]
    else:
        op = raw.get("op")
        if op is None:
            msg = f"Unable to find `op` in JSON Schema change. {_EXPECTED}"
            raise make_error("missing_op", msg)
        if op.__class__ is not str or op not in _OPS:
            shown = op if op.__class__ is str and len(op) <= 64 else excerpt(op)
            raise make_error("invalid_op", f"Invalid operation: `{shown}`. {_EXPECTED}")
        if "path" not in raw:
            raise make_error("missing_path", "Unable to find 'path' in JSON Schema change")
        path = raw["path"]
    if path.__class__ is not str:
        msg = f"The path of a {op!r} operation must be a string, not {excerpt(path, 16)}."
        raise make_error("path_not_string", msg)
    if len(path) > max_pointer:
        msg = f"The path is longer than max_pointer_length ({max_pointer} characters)."
        raise make_error("pointer_too_long", msg, pointer=path)
    try:
        pointer = Pointer.parse(path)
        check_depth(op, pointer, rules)
        if op == "remove":
            check_operation(op, pointer, None, rules)
            return Remove(pointer)
        if "value" not in raw:
            msg = f'Operation "{op}" requires a member named "value".'
            raise make_error("missing_value", msg)
        value = raw["value"]
        check_operation(op, pointer, value, rules)
    except PatchError as exc:
        exc.pointer = path
        raise
    if op == "replace":
        return Replace(pointer, value)
    return Add(pointer, value, v20)


def check_depth(op: str, pointer: Pointer, rules: Rules) -> None:
    """One token, except where ``rules.path_depth`` says otherwise (locations)."""
    parts = pointer.parts
    limits = rules.path_depth.get(parts[0])
    if len(parts) != (1 if limits is None else limits.get(op, 1)):
        msg = "Invalid JSON pointer for this resource: '/{}'".format("/".join(parts))
        raise make_error("invalid_path", excerpt(msg, 160) if len(msg) > 160 else msg)


def check_operation(op: str, pointer: Pointer, value: Any, rules: Rules) -> None:
    """The static checks: name class (403), then the value (400)."""
    name = pointer.parts[0]
    info = rules.info(name)
    kind = info.kind
    if kind is Kind.READ_ONLY:
        raise make_error("read_only", f"Attribute {_quoted(name)} is read-only.")
    if kind is Kind.RESERVED:
        raise make_error("reserved", f"Attribute {_quoted(name)} is reserved.")
    if op == "remove":
        return
    if (
        kind is Kind.EXTRA
        and rules.max_name_length is not None
        and len(name) > rules.max_name_length
    ):
        msg = f"Custom property should not be greater than {rules.max_name_length} characters."
        raise make_error("property_name_too_long", msg)
    rule = info.field
    if len(pointer.parts) > 1:  # an element of an array attribute (locations/N)
        if rule.items is None:  # pragma: no cover - depth rules only allow arrays
            return
        rule = rule.items
    problem = rule.check(value)
    if problem is not None:
        raise make_error(*problem)


def _quoted(name: str) -> str:
    return f"'{name}'" if len(name) <= 64 else excerpt(name)


def check_operations(ops: Iterable[object], rules: Rules) -> list[Operation]:
    """Re-check operations built by a caller (``apply_patch``): type, depth, names, values."""
    checked: list[Operation] = []
    for index, op in enumerate(ops):
        try:
            cls = op.__class__
            if cls is not Add and cls is not Remove and cls is not Replace:
                msg = f"Expected an Add, Remove or Replace operation, not {cls.__name__}."
                raise make_error("invalid_operation", msg)
            assert isinstance(op, (Add, Remove, Replace))  # for the type checker
            pointer = op.path
            if pointer.__class__ is not Pointer:
                msg = f"An operation's path must be a Pointer, not {type(pointer).__name__}."
                raise make_error("invalid_operation", msg)
            try:
                check_depth(op.op, pointer, rules)
                check_operation(op.op, pointer, getattr(op, "value", None), rules)
            except PatchError as exc:
                exc.pointer = pointer.text
                raise
        except PatchError as exc:
            exc.index = index
            raise
        checked.append(op)
    return checked
