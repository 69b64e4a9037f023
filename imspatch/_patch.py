"""``patch_image``'s phases 2 to 4 in one pass, with the fast path (SPEC 1).

Each operation is parsed (``_parse``) and applied to the snapshot of the
image (``_apply``) before the next is looked at; the finishing checks run
last.  Upstream parses the whole request before it applies any of it, so
every parse error beats every apply error: when an operation cannot be
applied, the rest of the body is only parsed (``_parse.parse_body`` from the
next operation on), and the apply error is raised if that finds nothing.
One pass rather than a parse loop and then an apply loop: the second loop
over the operations cost about a fifth of the engine's time per operation.

**The fast path** is the common operation, inline; every other operation,
and every error, goes the general way (``_parse.parse_element``,
``_apply.apply_step``) within the same pass.

* Parsing: an operation whose ``(op, path)`` was parsed before
  (``_parse.Quick``), that has no member but op, path and value, and whose
  value is a scalar its rule takes at a glance (``Field.plain_types``,
  ``Field.accepts``) gets the remembered plan.  That skips the shape checks,
  which the plan proves (same op and path, no other member), and
  ``_decode.check_element``, which such an operation cannot fail (depth 2,
  three short member names, a path of at most ``CACHED_KEY_MAX``
  characters) but for its value's length, which is checked instead.
* Applying: a plan whose ``_parse.Action`` is not ``CHECKED`` is applied
  here when its existence test passes.  No other check of ``apply_step`` can
  refuse it, and its value is a scalar, stored without a copy.  The index of
  the operation writing a name is noted only if the body may hold a 4-byte
  character: only the 4-byte check asks for it.

:data:`FAST_PATH` ``= False`` (or limits tighter than the fast path assumes,
:func:`_fits`) takes the general path for the whole request: ``parse_patch``'s
phase (``_parse.parse_body``), then ``apply_patch``'s (``_apply.apply_steps``).
The tests run every case both ways and compare results and errors exactly.
"""

from __future__ import annotations

from ._apply import MISSING, apply_step, apply_steps, finish, snapshot, unreadable
from ._decode import DEFAULT_LIMITS, Body, Limits, check_duplicates
from ._parse import Action, parse_body, parse_element
from ._pointer import CACHED_KEY_MAX
from .errors import PatchError
from .rules import Rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._parse import Quick

__all__ = ["FAST_PATH", "patch"]

#: Whether the fast path runs (see the module docstring).  Only the tests
#: turn it off, to check that every result and error is the same without it.
FAST_PATH = True

SET_EXTRA, CREATE_EXTRA, REPLACE_EXTRA, REMOVE_EXTRA, SET_CORE = (
    Action.SET_EXTRA,
    Action.CREATE_EXTRA,
    Action.REPLACE_EXTRA,
    Action.REMOVE_EXTRA,
    Action.SET_CORE,
)


def patch(  # noqa: PLR0915 - one loop on purpose: a call per operation costs 10-20 %
    image: object, body: Body, rules: Rules, limits: Limits, admin: bool
) -> dict[str, Any]:
    """Parse and apply every operation of *body* to a snapshot of *image*, then finish."""
    if not (FAST_PATH and (limits is DEFAULT_LIMITS or _fits(limits))):
        # The general path: parse_patch's phase, then apply_patch's.
        return apply_steps(snapshot(image), parse_body(body, rules, limits), rules, admin)
    operations, astral, longest = body.operations, body.astral, body.max_string_length
    v20 = body.dialect == "v2.0"
    remembered = rules.plans(v20)
    max_pointer = limits.max_pointer_length
    state = snapshot(image)
    before: dict[str, Any] = {}  # what finish needs to know: see there
    touched: dict[str, tuple[int, str]] = {}
    op: Any
    path: Any
    value: Any
    known: Quick | None
    try:
        for index, raw in enumerate(operations):
            # Phase 2: the operation's plan and value (a remove's is never read), and
            # the plan's name and action.
            try:
                if v20:
                    op = "replace" if "replace" in raw else "add" if "add" in raw else "remove"
                    path = raw[op]
                else:
                    op = raw["op"]
                    path = raw["path"]
                known = remembered[op, path]
            except (KeyError, TypeError):  # unseen, absent or unhashable; or no object
                known = None
            if known is not None:  # so raw is an object: only a dict has string keys
                name, action, members, passes, accepts, plan = known
                value = raw.get("value", MISSING)
                cls = value.__class__
                if not (
                    len(raw) == members
                    and (
                        cls in passes  # and so not nested: depth is 2
                        or (cls is not dict and cls is not list and accepts(value))
                    )
                    and (longest is None or cls is not str or len(value) <= longest)
                ):
                    known = None
            if known is None:
                plan, value = parse_element(body, index, rules, max_pointer, remembered)
                name, action = plan.name, plan.action
            # Phase 3: apply it.
            if action is SET_CORE or (action is REPLACE_EXTRA and name in state):
                if astral:
                    if name not in before:
                        before[name] = state.get(name, MISSING)
                    touched[name] = index, plan.text
                state[name] = value
                continue
            if action is SET_EXTRA or (action is CREATE_EXTRA and name not in state):
                if name not in before:
                    before[name] = state.get(name, MISSING)
                state[name] = value
                if astral:
                    touched[name] = index, plan.text
                continue
            if action is REMOVE_EXTRA and name in state:
                if name not in before:
                    before[name] = state[name]
                del state[name]
                if astral:
                    touched.pop(name, None)
                continue
            try:
                apply_step(state, before, touched, plan, value, index, rules, admin)
            except PatchError as exc:
                exc.index, exc.pointer = index, plan.text
                parse_body(body, rules, limits, index + 1)  # its errors win
                raise
        check_duplicates(body)  # every element parsed, so each is an object
        if before or touched:
            finish(state, before, touched, rules)
    except PatchError:
        raise
    except Exception as exc:  # a key or value of the image failed to compare or hash
        raise unreadable(exc, state, before) from exc
    return state


def _fits(limits: Limits) -> bool:
    """Whether the fast path's operations fit *limits*, their values' lengths aside."""
    return (
        limits.max_pointer_length >= CACHED_KEY_MAX
        and limits.max_string_length >= CACHED_KEY_MAX
        and limits.max_depth >= 2
        and limits.max_members >= 3
    )
