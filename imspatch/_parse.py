"""Phase 2 (SPEC 4-6): the full check of one raw operation object.

Per operation, in upstream's order: object check, op, path, pointer syntax
and decoding, depth, ``value`` presence, name class (read-only / reserved),
then the rule set's value check.

The result is a *step*, ``(plan, value)``.  A *plan* is everything about an
operation that follows from its op and path alone — ``(code, name, pointer
text, NameInfo, mode)`` — so it is computed once per distinct ``(op, path)``,
dialect and rule set, and cached with what the one-pass loop
(``_patch.run``) needs to check and apply the next such operation inline: a
request that touches one key 100,000 times validates its path once."""

from __future__ import annotations

from collections.abc import Callable, Iterable

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
    "CHECKED",
    "CREATE_EXTRA",
    "FULL",
    "PLAIN_CORE",
    "PLAIN_EXTRA",
    "REMOVE",
    "REMOVE_EXTRA",
    "REPLACE",
    "REPLACE_EXTRA",
    "SET_CORE",
    "SET_EXTRA",
    "Cached",
    "Plan",
    "Step",
    "check_operations",
    "parse_one",
    "to_operations",
    "within",
]

ADD, ADD_IF_ABSENT, REMOVE, REPLACE = range(4)
# How the apply phase treats a name (a plan's last item): a custom property
# nothing protects; a core attribute whose setter only stores the value (no
# policy, gate, range or set semantics); anything else, in full.
PLAIN_EXTRA, PLAIN_CORE, CHECKED = range(3)
# (code, name, pointer text, info, mode)
Plan = tuple[int, str, str, NameInfo, int]
Step = tuple[Plan, "Any"]  # (plan, value); value is None for a remove
# What the one-pass loop does inline with a cached plan (from code and mode);
# FULL: apply_step does it.
SET_EXTRA, REPLACE_EXTRA, CREATE_EXTRA, REMOVE_EXTRA, SET_CORE, FULL = range(6)
_ACTIONS = {
    (ADD, PLAIN_EXTRA): SET_EXTRA,
    (REPLACE, PLAIN_EXTRA): REPLACE_EXTRA,
    (ADD_IF_ABSENT, PLAIN_EXTRA): CREATE_EXTRA,
    (REMOVE, PLAIN_EXTRA): REMOVE_EXTRA,
    (ADD, PLAIN_CORE): SET_CORE,
    (REPLACE, PLAIN_CORE): SET_CORE,
}
#: What the loop keeps per (op, path) and dialect: action, name, the members a
#: flat operation has, the classes of its ``value`` that pass as they are
#: (``Field.plain_types``: never dict or list), the value check, and the plan.
#: A remove has no value, whose class is object; one with a value takes the
#: full check.
_ABSENT: frozenset[type] = frozenset({object})
if TYPE_CHECKING:
    Cached = tuple[int, str, int, frozenset[type], Callable[[Any], bool], Plan]

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


def within(
    raw: dict[str, Any],
    path: str,
    value: Any,
    longest: int | None,
    widest: int | None,
    max_pointer: int,
) -> bool:
    """Whether a flat operation is within the limits: members, strings, path."""
    if len(path) > max_pointer or (widest is not None and len(raw) > widest):
        return False
    if longest is None:
        return True
    return len(path) <= longest and (value.__class__ is not str or len(value) <= longest)


def parse_one(
    raw: Any, v20: bool, rules: Rules, max_pointer: int, plans: dict[tuple[str, str], Cached]
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
        _remember(plans, op, path, plan, v20)
    return plan, value


def _remember(
    plans: dict[tuple[str, str], Cached], op: str, path: str, plan: Plan, v20: bool
) -> None:
    if len(plans) >= CACHE_SIZE:  # bounded memory; a flood only costs speed
        plans.clear()
    code, name, _, info, mode = plan
    rule = info.field
    action = _ACTIONS.get((code, mode), FULL)
    members = (1 if v20 else 2) + (code != REMOVE)
    passes = _ABSENT if code == REMOVE else rule.plain_types
    plans[op, path] = (action, name, members, passes, rule.accepts, plan)


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
    return _CODES[op, v20], name, pointer.text, info, _mode(name, info, rules)


def _mode(name: str, info: NameInfo, rules: Rules) -> int:
    if info.protected:
        return CHECKED
    if info.kind is Kind.EXTRA:
        return PLAIN_EXTRA
    if info.kind is Kind.CORE and not any(
        name in names
        for names in (
            rules.admin_only,
            rules.status_gated,
            rules.non_negative,
            rules.int32,
            rules.set_valued,
        )
    ):
        return PLAIN_CORE
    return CHECKED


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
