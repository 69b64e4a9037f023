"""Phase 2 (SPEC 4-6): each raw operation object to a checked step.

Per operation, in upstream's order: object check, op, path, pointer syntax
and decoding, depth, ``value`` presence, name class (read-only / reserved),
then the rule set's value check.  Each operation is fully validated before
the next is looked at.

A *step* is what the apply phase consumes: ``(plan, value)``.  A *plan* is
everything about an operation that follows from its op and path alone —
``(code, name, pointer text, NameInfo)`` — so it is computed once per
distinct ``(op, path)`` and rule set, and a request that touches one key
100,000 times validates its path once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ._decode import Limits, Pending, check_element
from ._pointer import CACHE_SIZE, CACHED_KEY_MAX, Pointer
from .errors import PatchError, excerpt, make_error, shown_name
from .operations import Add, Operation, Remove, Replace
from .rules import Kind, NameInfo, Rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ADD",
    "ADD_IF_ABSENT",
    "REMOVE",
    "REPLACE",
    "Plan",
    "Step",
    "check_operations",
    "parse_operations",
    "to_operations",
]

ADD, ADD_IF_ABSENT, REMOVE, REPLACE = range(4)
# (code, name, pointer text, info, plain): plain is true for an unprotected
# custom property, the apply loop's hot path
Plan = tuple[int, str, str, NameInfo, bool]
Step = tuple[Plan, "Any"]  # (plan, value); value is None for a remove
if TYPE_CHECKING:
    _Cached = tuple[Plan, frozenset[type], Callable[[Any], bool]]  # plan, plain classes, accepts

_CODES = {
    ("add", False): ADD,
    ("add", True): ADD_IF_ABSENT,
    ("remove", False): REMOVE,
    ("remove", True): REMOVE,
    ("replace", False): REPLACE,
    ("replace", True): REPLACE,
}
_OPS = ("add", "remove", "replace")
_EXPECTED = "It must be one of the following: add, remove, replace."
_MISSING: Any = object()


def parse_operations(
    doc: list[Any],
    pending: Pending | None,
    v20: bool,
    rules: Rules,
    limits: Limits,
    errors: list[PatchError] | None = None,
) -> list[Step]:
    """Parse every raw operation; raise the first error, or collect them all.

    *pending* are the decode-phase limits :func:`decode_body` left to this
    loop; a breach anywhere is a body-level error that beats every parse
    error.  With *errors* given, each failing operation's error is appended
    and the loop goes on (``iter_errors``); otherwise the first is raised.
    """
    steps: list[Step] = []
    append = steps.append
    plans = rules.plans(v20)
    max_pointer = limits.max_pointer_length
    longest = widest = None
    if pending is not None:
        longest, widest = pending.max_string_length, pending.max_members
    # A flat operation has at most 3 members: only a string limit can bind it.
    unlimited = longest is None and (widest is None or widest >= 3)
    keys = 1 if v20 else 2  # members besides "value" of a flat operation
    op: Any
    path: Any
    for index, raw in enumerate(doc):
        # The common case: a flat object whose op and path were seen before.
        if raw.__class__ is dict:
            if v20:
                op = "replace" if "replace" in raw else "add" if "add" in raw else "remove"
                path = raw.get(op)
            else:
                op = raw.get("op")
                path = raw.get("path")
            try:
                cached = plans.get((op, path))
            except TypeError:  # an unhashable op or path: the full check says why
                cached = None
            if cached is not None:
                plan, plain, accepts = cached
                value = raw.get("value", _MISSING)
                if (
                    len(raw) == keys + (value is not _MISSING)  # no other member
                    and len(path) <= max_pointer
                    and value.__class__ is not dict  # nothing nested: depth is 2
                    and value.__class__ is not list
                    and (unlimited or _within(raw, path, value, longest, widest))
                ):
                    if plan[0] == REMOVE:
                        append((plan, None))
                        continue
                    if value.__class__ in plain or (value is not _MISSING and accepts(value)):
                        append((plan, value))
                        continue
        if pending is not None:
            try:
                check_element(raw, pending)
            except PatchError as exc:
                if errors is None:
                    raise
                errors[:] = [exc]
                return steps
        try:
            append(_parse_one(raw, v20, rules, max_pointer, plans))
        except PatchError as exc:
            exc.index = index
            if errors is None:
                if pending is not None:  # a body-level error further on still wins
                    for element in doc[index + 1 :]:
                        check_element(element, pending)
                raise
            errors.append(exc)
    return steps


def _within(
    raw: dict[str, Any], path: str, value: Any, longest: int | None, widest: int | None
) -> bool:
    """A flat operation's share of the decode-phase limits (members, strings)."""
    if widest is not None and len(raw) > widest:
        return False
    if longest is None:
        return True
    return len(path) <= longest and (value.__class__ is not str or len(value) <= longest)


def _parse_one(
    raw: Any, v20: bool, rules: Rules, max_pointer: int, plans: dict[tuple[str, str], _Cached]
) -> Step:
    """The full check of one operation, in upstream's order."""
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
            shown = shown_name(op) if op.__class__ is str else excerpt(op)
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
        value = None
        if op != "remove":
            if "value" not in raw:
                msg = f'Operation "{op}" requires a member named "value".'
                raise make_error("missing_value", msg)
            value = raw["value"]
        plan = make_plan(op, pointer, v20, rules)
        check_value(plan, value, rules)
    except PatchError as exc:
        exc.pointer = path
        raise
    if len(path) <= CACHED_KEY_MAX:
        if len(plans) >= CACHE_SIZE:  # bounded memory; a flood only costs speed
            plans.clear()
        rule = plan[3].field
        plans[op, path] = (plan, rule.plain_types, rule.accepts)
    return plan, value


def check_depth(op: str, pointer: Pointer, rules: Rules) -> None:
    """One token, except where ``rules.path_depth`` says otherwise (locations)."""
    parts = pointer.parts
    limits = rules.path_depth.get(parts[0])
    if len(parts) != (1 if limits is None else limits.get(op, 1)):
        msg = "Invalid JSON pointer for this resource: '/{}'".format(shown_name("/".join(parts)))
        raise make_error("invalid_path", msg)


def make_plan(op: str, pointer: Pointer, v20: bool, rules: Rules) -> Plan:
    """The name-class check (403); on success, the operation's plan."""
    name = pointer.parts[0]
    info = rules.info(name)
    kind = info.kind
    if kind is Kind.READ_ONLY:
        raise make_error("read_only", f"Attribute {_quoted(name)} is read-only.")
    if kind is Kind.RESERVED:
        raise make_error("reserved", f"Attribute {_quoted(name)} is reserved.")
    if len(pointer.parts) > 1 and op != "remove":  # an element of an array (locations/N)
        items = info.field.items
        if items is not None:
            info = info._replace(field=items)
    plain = kind is Kind.EXTRA and not info.protected
    return _CODES[op, v20], name, pointer.text, info, plain


def check_value(plan: Plan, value: Any, rules: Rules) -> None:
    """The value checks of an add or replace (400)."""
    code, name, _, info, _ = plan
    if code == REMOVE:
        return
    if (
        info.kind is Kind.EXTRA
        and rules.max_name_length is not None
        and len(name) > rules.max_name_length
    ):
        msg = f"Custom property should not be greater than {rules.max_name_length} characters."
        raise make_error("property_name_too_long", msg)
    problem = info.field.check(value)
    if problem is not None:
        raise make_error(*problem)


def _quoted(name: str) -> str:
    shown = shown_name(name)
    return f"'{shown}'" if shown is name else shown


def check_operations(ops: Iterable[object], rules: Rules) -> list[Step]:
    """Check operations built by a caller (``apply_patch``): type, depth, names, values."""
    steps: list[Step] = []
    for index, op in enumerate(ops):
        try:
            if not isinstance(op, (Add, Remove, Replace)):
                msg = f"Expected an Add, Remove or Replace operation, not {type(op).__name__}."
                raise make_error("invalid_operation", msg)
            pointer = op.path
            if pointer.__class__ is not Pointer:
                msg = f"An operation's path must be a Pointer, not {type(pointer).__name__}."
                raise make_error("invalid_operation", msg)
            value = None if isinstance(op, Remove) else op.value
            try:
                check_depth(op.op, pointer, rules)
                plan = make_plan(op.op, pointer, isinstance(op, Add) and op.if_absent, rules)
                check_value(plan, value, rules)
            except PatchError as exc:
                exc.pointer = pointer.text
                raise
        except PatchError as exc:
            exc.index = index
            raise
        steps.append((plan, value))
    return steps


def to_operations(steps: list[Step]) -> tuple[Operation, ...]:
    """The public, dialect-neutral form of parsed steps."""
    ops: list[Operation] = []
    for (code, _, text, _, _), value in steps:
        pointer = Pointer.parse(text)
        if code == REMOVE:
            ops.append(Remove(pointer))
        elif code == REPLACE:
            ops.append(Replace(pointer, value))
        else:
            ops.append(Add(pointer, value, code == ADD_IF_ABSENT))
    return tuple(ops)
