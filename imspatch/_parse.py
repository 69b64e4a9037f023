"""Phase 2 (SPEC 4-6): every operation of a decoded body, fully checked, in order.

:func:`parse_operation` is the check of one operation, in upstream's order:
object, op, path, pointer syntax and decoding, depth, ``value`` presence,
name class (read-only / reserved), then the rule set's value check.  What
follows from an operation's op and path alone is its :class:`Plan`, which
also says what the apply phase may do with it without the general path
(:class:`Action`).  The plan of each ``(op, path)`` that passed is
remembered per rule set and dialect (``Quick``): a server sees the same
few paths over and over, and a request that touches one key 100,000 times
validates its path once.

:func:`parse_element` adds the body-level checks that decoding left for each
element (``_decode.Body``), which beat every operation's error.
:func:`parse_body` gives a :class:`Step` (plan and value) per operation, or
raises the first error (``parse_patch``); :func:`find_errors` collects the
errors (``iter_errors``).  ``patch_image`` parses in ``_patch``, which also
has the fast path.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable
from enum import IntEnum

from ._decode import Body, Limits, body_error, check_duplicates, check_element
from ._pointer import CACHE_SIZE, CACHED_KEY_MAX, Pointer
from .errors import PatchError, excerpt, make_error, shown_name, shown_value
from .operations import Add, Operation, Remove, Replace
from .rules import Kind, NameInfo, Rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

__all__ = [
    "DIALECTS",
    "Action",
    "Checked",
    "Dialect",
    "OpCode",
    "Plan",
    "Quick",
    "Step",
    "check_operations",
    "find_errors",
    "parse_body",
    "parse_element",
    "parse_operation",
    "to_operations",
]


class OpCode(IntEnum):
    """What an operation does, its dialect resolved."""

    ADD = 0  # v2.1 add: set or overwrite
    ADD_IF_ABSENT = 1  # v2.0 add: 409 if the name exists
    REMOVE = 2
    REPLACE = 3


class Action(IntEnum):
    """What the apply phase may do with a plan without its general path.

    ``CHECKED``: nothing; ``_apply.apply_step`` does every check of SPEC 6 in
    upstream's order.  Every other action names a plan none of those checks
    can refuse but existence (a name no policy, gate, range, set or
    protection concerns, whose value rule takes scalars only): the fast path
    (``_patch``) tests existence and stores the value itself, and leaves a
    failing existence test to the general path, which raises its error.
    """

    CHECKED = 0
    SET_EXTRA = 1  # add of a custom property: set or overwrite
    CREATE_EXTRA = 2  # v2.0 add of a custom property, if absent
    REPLACE_EXTRA = 3  # replace of a custom property, if present
    REMOVE_EXTRA = 4  # remove of a custom property, if present
    SET_CORE = 5  # add or replace of a core attribute (always present)


if TYPE_CHECKING:

    class Plan(NamedTuple):
        """Everything about an operation that follows from its op and path."""

        code: OpCode
        #: The attribute: the pointer's first token.
        name: str
        #: The path text, as the request spelt it (errors point at it).
        text: str
        #: The name's class and value rule (``items`` for ``locations/N``).
        info: NameInfo
        action: Action

    class Step(NamedTuple):
        """One parsed operation: what the apply phase needs of it."""

        plan: Plan
        #: The value to write; ``None`` for a remove.
        value: Any

    class Checked(NamedTuple):
        """:func:`find_errors`' result: what parsed, and every operation's error."""

        steps: list[Step]
        errors: list[PatchError]

    class Dialect(NamedTuple):
        """What differs between the operation objects of the two media types."""

        v20: bool
        #: The op and path of an operation object, or the 400 for a bad shape.
        read: Callable[[dict[str, Any]], tuple[str, Any]]
        #: op -> code: ``add`` means something else in each dialect.
        codes: dict[str, OpCode]
        #: The members of a flat remove (the op and the path).
        members: int

else:  # the same classes, without importing typing
    Plan = namedtuple("Plan", ("code", "name", "text", "info", "action"))
    Step = namedtuple("Step", ("plan", "value"))
    Checked = namedtuple("Checked", ("steps", "errors"))
    Dialect = namedtuple("Dialect", ("v20", "read", "codes", "members"))

if TYPE_CHECKING:
    #: What is remembered per ``(op, path)``, rule set and dialect: the plan,
    #: and what ``_patch``'s fast path needs to take an operation at a glance:
    #: ``(name, action, members, passes, accepts, plan)``, with the plan's
    #: name and action; the members of a flat operation with this op (op and
    #: path, and value); the classes of value that pass as they are
    #: (``Field.plain_types``: never dict or list; for a remove ``ABSENT``,
    #: no value at all); and the value rule's quick test (``Field.accepts``).
    #: A plain tuple, not a named one: the fast path unpacks it for every
    #: operation, and CPython unpacks only an exact tuple without an iterator
    #: (17 against 40 ns for six fields on 3.11: 8 % of a whole operation).
    Quick = tuple[str, Action, int, frozenset[type], Callable[[Any], bool], Plan]

ADD, ADD_IF_ABSENT, REMOVE, REPLACE = (
    OpCode.ADD,
    OpCode.ADD_IF_ABSENT,
    OpCode.REMOVE,
    OpCode.REPLACE,
)
_OPS = ("add", "remove", "replace")
_NAMES = {ADD: "add", ADD_IF_ABSENT: "add", REMOVE: "remove", REPLACE: "replace"}
_EXPECTED = "It must be one of the following: add, remove, replace."
#: ``Quick``'s classes of value for a remove, which has none: the fast path
#: reads a missing ``value`` as a sentinel ``object()``.
ABSENT: frozenset[type] = frozenset({object})


def _read_v20(raw: dict[str, Any]) -> tuple[str, Any]:
    present = [key for key in _OPS if key in raw]
    if len(present) != 1:
        if present:
            msg = 'Operation objects must contain only one member named "add", "remove", or "replace".'  # noqa: E501
            raise make_error("several_ops", msg)
        msg = (
            'Operation objects must contain exactly one member named "add", "remove", or "replace".'
        )
        raise make_error("missing_op", msg)
    op = present[0]
    return op, raw[op]


def _read_v21(raw: dict[str, Any]) -> tuple[str, Any]:
    op = raw.get("op")
    if op is None:
        msg = f"Unable to find `op` in JSON Schema change. {_EXPECTED}"
        raise make_error("missing_op", msg)
    if op.__class__ is not str or op not in _OPS:
        shown = shown_name(op) if op.__class__ is str else shown_value(op)  # upstream: str(op)
        raise make_error("invalid_op", f"Invalid operation: `{shown}`. {_EXPECTED}")
    if "path" not in raw:
        raise make_error("missing_path", "Unable to find 'path' in JSON Schema change")
    return op, raw["path"]


#: The two dialects, by the name ``_decode.dialect_of`` gives (``Body.dialect``).
DIALECTS: dict[str, Dialect] = {
    "v2.0": Dialect(True, _read_v20, {"add": ADD_IF_ABSENT, "remove": REMOVE, "replace": REPLACE}, 1),  # noqa: E501
    "v2.1": Dialect(False, _read_v21, {"add": ADD, "remove": REMOVE, "replace": REPLACE}, 2),
}  # fmt: skip


def parse_body(body: Body, rules: Rules, limits: Limits, start: int = 0) -> list[Step]:
    """Parse the operations of *body* from index *start* on, or raise the first error.

    The first error is a body-level one if the body has any (it beats every
    operation's, see ``_decode.body_error``), else the first operation's.
    """
    remembered = rules.plans(body.dialect == "v2.0")
    max_pointer = limits.max_pointer_length
    steps = [
        parse_element(body, index, rules, max_pointer, remembered)
        for index in range(start, len(body.operations))
    ]
    check_duplicates(body)  # every element parsed, so each is an object
    return steps


def find_errors(body: Body, rules: Rules, limits: Limits) -> Checked:
    """Parse every operation of *body*, collecting their errors (``iter_errors``).

    A body-level error is raised instead: it is then the only one.  Collected
    errors drop their tracebacks, which would keep every frame that raised
    them alive (100,000 of them made the cyclic GC quadratic in practice).
    """
    spelling = DIALECTS[body.dialect]
    remembered = rules.plans(spelling.v20)
    max_pointer = limits.max_pointer_length
    steps: list[Step] = []
    errors: list[PatchError] = []
    for index, raw in enumerate(body.operations):
        try:
            check_element(raw, body)
        except PatchError as exc:  # body-level: only a duplicate name beats it
            raise body_error(body, index) or exc from None
        try:
            steps.append(parse_operation(raw, spelling, rules, max_pointer, remembered))
        except PatchError as exc:
            exc.index = index
            exc.__traceback__ = exc.__context__ = None
            errors.append(exc)
    if errors:
        problem = body_error(body, len(body.operations))
        if problem is not None:
            raise problem
        return Checked([], errors)
    check_duplicates(body)  # every element parsed, so each is an object
    return Checked(steps, errors)


def parse_element(
    body: Body,
    index: int,
    rules: Rules,
    max_pointer: int,
    remembered: dict[tuple[str, str], Quick],
) -> Step:
    """Element *index* of *body*: its limits, then :func:`parse_operation`.

    Raises the error the request gets if the element fails: a body-level
    error anywhere beats the element's own (``_decode.body_error``).
    """
    raw = body.operations[index]
    try:
        check_element(raw, body)
    except PatchError as exc:  # body-level: only a duplicate name beats it
        raise body_error(body, index) or exc from None
    try:
        return parse_operation(raw, DIALECTS[body.dialect], rules, max_pointer, remembered)
    except PatchError as exc:
        exc.index = index
        problem = body_error(body, index + 1)
        if problem is not None:
            raise problem from None
        raise


def parse_operation(
    raw: Any,
    dialect: Dialect,
    rules: Rules,
    max_pointer: int,
    remembered: dict[tuple[str, str], Quick],
) -> Step:
    """The full check of one operation, in upstream's order: its plan and value.

    The plan of an ``(op, path)`` seen before is taken from *remembered*: it
    depends on nothing else, and only a plan that passed is remembered.
    Errors carry the pointer (once the path is known to be a string), not
    the index: the caller knows it.
    """
    if raw.__class__ is not dict:
        raise make_error("operation_not_object", "Operations must be JSON objects.")
    op, path = dialect.read(raw)
    if path.__class__ is not str:
        msg = f"The path of a {op!r} operation must be a string, not {excerpt(path, 16)}."
        raise make_error("path_not_string", msg)
    if len(path) > max_pointer:
        msg = f"The path is longer than max_pointer_length ({max_pointer} characters)."
        raise make_error("pointer_too_long", msg, pointer=path)
    try:
        known = remembered.get((op, path))  # a Quick
        if known is None:
            pointer = Pointer.parse(path)
            check_depth(op, pointer, rules)
        value = None
        if op != "remove":
            if "value" not in raw:
                msg = f'Operation "{op}" requires a member named "value".'
                raise make_error("missing_value", msg)
            value = raw["value"]
        plan = make_plan(dialect.codes[op], pointer, rules) if known is None else known[-1]
        check_value(plan, value, rules)
    except PatchError as exc:
        exc.pointer = path
        raise
    if known is None:
        _remember(remembered, plan, dialect)
    return Step(plan, value)


def check_depth(op: str, pointer: Pointer, rules: Rules) -> None:
    """One token, except where ``rules.path_depth`` says otherwise (locations)."""
    parts = pointer.parts
    depths = rules.path_depth.get(parts[0])
    if len(parts) != (1 if depths is None else depths.get(op, 1)):
        msg = "Invalid JSON pointer for this resource: '/{}'".format(shown_name("/".join(parts)))
        raise make_error("invalid_path", msg)


def make_plan(code: OpCode, pointer: Pointer, rules: Rules) -> Plan:
    """The name-class check (403); on success, the operation's plan."""
    name = pointer.parts[0]
    info = rules.info(name)
    kind = info.kind
    if kind is Kind.READ_ONLY:
        raise make_error("read_only", f"Attribute {_quoted(name)} is read-only.")
    if kind is Kind.RESERVED:
        raise make_error("reserved", f"Attribute {_quoted(name)} is reserved.")
    if len(pointer.parts) > 1 and code is not REMOVE:  # an element of an array (locations/N)
        items = info.field.items
        if items is not None:
            info = info._replace(field=items)
    return Plan(code, name, pointer.text, info, _action(code, name, info, rules))


_EXTRA_ACTIONS = {
    ADD: Action.SET_EXTRA,
    ADD_IF_ABSENT: Action.CREATE_EXTRA,
    REPLACE: Action.REPLACE_EXTRA,
    REMOVE: Action.REMOVE_EXTRA,
}


def _action(code: OpCode, name: str, info: NameInfo, rules: Rules) -> Action:
    """What the apply loop may do itself with this plan (see :class:`Action`)."""
    if (
        info.protected
        or (code is not REMOVE and ("array" in info.field.types or "object" in info.field.types))
        or name in rules.admin_only
        or name in rules.status_gated
        or name in rules.non_negative
        or name in rules.int32
        or name in rules.set_valued
    ):
        return Action.CHECKED
    if info.kind is Kind.EXTRA:
        return _EXTRA_ACTIONS[code]
    if info.kind is Kind.CORE and (code is ADD or code is REPLACE):
        return Action.SET_CORE
    return Action.CHECKED


def check_value(plan: Plan, value: Any, rules: Rules) -> None:
    """The value checks of an add or replace (400)."""
    code, name, _, info, _ = plan
    if code is REMOVE:
        return
    if (
        info.kind is Kind.EXTRA
        and rules.max_name_length is not None
        and len(name) > rules.max_name_length
    ):
        msg = f"Custom property should not be greater than {rules.max_name_length} characters."
        raise make_error("property_name_too_long", msg)
    rule = info.field
    problem = None if rule.accepts(value) else rule.check(value)
    if problem is not None:
        raise make_error(*problem)


def _quoted(name: str) -> str:
    shown = shown_name(name)
    return f"'{shown}'" if shown is name else shown


def _remember(remembered: dict[tuple[str, str], Quick], plan: Plan, dialect: Dialect) -> None:
    """Keep *plan* for the fast path; bounded memory: a flood of paths only costs speed."""
    if len(plan.text) > CACHED_KEY_MAX:
        return
    if len(remembered) >= CACHE_SIZE:
        remembered.clear()
    rule = plan.info.field
    if plan.code is REMOVE:
        members, passes = dialect.members, ABSENT
    else:
        members, passes = dialect.members + 1, rule.plain_types
    remembered[_NAMES[plan.code], plan.text] = (
        plan.name,
        plan.action,
        members,
        passes,
        rule.accepts,
        plan,
    )


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
                plan = make_plan(_code_of(op), pointer, rules)
                check_value(plan, value, rules)
            except PatchError as exc:
                exc.pointer = pointer.text
                raise
        except PatchError as exc:
            exc.index = index
            raise
        steps.append(Step(plan, value))
    return steps


def _code_of(op: Operation) -> OpCode:
    if isinstance(op, Add):
        return ADD_IF_ABSENT if op.if_absent else ADD
    return REMOVE if isinstance(op, Remove) else REPLACE


def to_operations(steps: list[Step]) -> tuple[Operation, ...]:
    """The public, dialect-neutral form of a parsed body."""
    ops: list[Operation] = []
    for (code, _, text, _, _), value in steps:
        pointer = Pointer.parse(text)
        if code is REMOVE:
            ops.append(Remove(pointer))
        elif code is REPLACE:
            ops.append(Replace(pointer, value))
        else:
            ops.append(Add(pointer, value, code is ADD_IF_ABSENT))
    return tuple(ops)
