"""Phases 3 and 4 (SPEC 1, 6): apply the parsed operations to a copy, then finish.

The caller's image is read once, into a shallow copy (:func:`snapshot`);
every later read is of the copy, which the operations change in order and
which is the result.  Every value written comes from the request and is
copied if it is a container, so the result shares no mutable object with the
body.  The first error ends the request and nothing is returned: all or
nothing.  A key or value of the image whose own code fails when the engine
compares or hashes it (the image is the caller's, not necessarily JSON)
makes the image unreadable: 400 ``invalid_image`` (:func:`unreadable`).
An image of plain JSON has no code of its own: a failure there is the
engine's bug, and shows as one.

:func:`apply_step` applies one operation by the general path, every check of
SPEC 6.1-6.2 in upstream's order; :func:`finish` runs the whole-request
checks.  :func:`apply_steps` is the two together over a parsed body;
``patch_image`` uses them as it parses (``_patch``, with the fast path).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from ._decode import DEFAULT_LIMITS, check_json
from ._parse import OpCode, Plan, Step
from .errors import PatchError, excerpt, make_error, shown_name
from .rules import INT32_MAX, STATUS_ATTRIBUTE, Kind, Rules, has_four_byte, json_equal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MISSING", "apply_step", "apply_steps", "finish", "own", "snapshot", "unreadable"]

#: A name's value in ``before`` when the snapshot did not have it.
MISSING: Any = object()
ADD_IF_ABSENT, REMOVE, REPLACE = OpCode.ADD_IF_ABSENT, OpCode.REMOVE, OpCode.REPLACE


def snapshot(image: object) -> dict[str, Any]:
    """The one read of the caller's image: a shallow copy, or 400 ``invalid_image``."""
    if image.__class__ is dict:
        return dict(image)
    if not isinstance(image, Mapping):
        msg = f"The image must be a mapping, not {type(image).__name__}."
        raise make_error("invalid_image", msg)
    try:
        return dict(image)
    except Exception as exc:  # its keys() and __getitem__ disagree, or raise
        raise _cannot_read(exc) from exc


def apply_steps(
    state: dict[str, Any], steps: list[Step], rules: Rules, admin: bool
) -> dict[str, Any]:
    """Apply *steps* to *state*, a :func:`snapshot`, and run the finishing checks.

    The general path for every operation (``apply_patch``, ``iter_errors``);
    ``patch_image`` applies as it parses, in ``_patch``.
    """
    before: dict[str, Any] = {}  # what finish needs to know: see there
    touched: dict[str, tuple[int, str]] = {}
    try:
        for index, (plan, value) in enumerate(steps):
            try:
                apply_step(state, before, touched, plan, value, index, rules, admin)
            except PatchError as exc:
                exc.index, exc.pointer = index, plan.text
                raise
        if before or touched:
            finish(state, before, touched, rules)
    except PatchError:
        raise
    except Exception as exc:  # a key or value of the image failed to compare or hash
        raise unreadable(exc, state, before) from exc
    return state


def unreadable(exc: Exception, state: dict[str, Any], before: dict[str, Any]) -> PatchError:
    """400 ``invalid_image``: reading the snapshot ran the image's own code, which failed.

    *exc* came from the apply loop or :func:`finish` working on *state*, with
    *before* noted.  Only a key or value that is not JSON has code of its
    own: if the snapshot's keys and values, in *state* or replaced since (in
    *before*), are all plain JSON, *exc* is the engine's own bug, raised
    again as it is.
    """
    read = [state, *(value for value in before.values() if value is not MISSING)]
    try:
        check_json(read, _ANY_SIZE)
    except PatchError:
        return _cannot_read(exc)
    raise exc


def _cannot_read(exc: Exception) -> PatchError:
    msg = f"The image cannot be read: {type(exc).__name__} from one of its keys or values."
    return make_error("invalid_image", msg)


#: No limit that ``check_json`` reads: :func:`unreadable` asks only whether the image is JSON.
_ANY_SIZE = DEFAULT_LIMITS.replace(
    max_depth=sys.maxsize, max_string_length=sys.maxsize, max_members=sys.maxsize
)


def apply_step(
    state: dict[str, Any],
    before: dict[str, Any],
    touched: dict[str, tuple[int, str]],
    plan: Plan,
    value: Any,
    index: int,
    rules: Rules,
    admin: bool,
) -> None:
    """Apply one checked operation to *state*: the general path, in upstream's order.

    Policy first (hidden attributes, the admin-only owner, IMS protection),
    then existence, then the domain rules of a core attribute (SPEC 6.1, 6.2).
    """
    code, name, text, info, _ = plan
    kind = info.kind
    if kind is Kind.HIDDEN:
        _hidden(name, code, value)
    if code is not REMOVE and name in rules.admin_only and not admin:
        raise make_error("owner_admin_only", f"{name.capitalize()} can't be updated by non admin.")
    if info.protected:
        _protect(state, name, code, value, rules)
    if kind is Kind.EXTRA:
        if code is REMOVE:
            if name not in state:
                raise _missing(name)
            _note(before, state, name)
            del state[name]
            touched.pop(name, None)  # the result holds no value of the request's
            return
        if name in state:
            if code is ADD_IF_ABSENT:
                raise _present(name)
        elif code is REPLACE:
            raise _missing(name)
        _note(before, state, name)
        state[name] = own(value)
        touched[name] = index, text
        return
    # A core attribute (or a phantom one): always present, never removable.
    if code is REMOVE:
        raise make_error("not_removable", f"Property {shown_name(name)} may not be removed.")
    if code is ADD_IF_ABSENT:
        raise _present(name)
    if kind is Kind.PHANTOM:
        if name in rules.unsettable:
            msg = f"Attribute {shown_name(name)} is not an image attribute and cannot be set."
            raise make_error("phantom_attribute", msg)
        return  # upstream sets an in-memory attribute nobody sees
    _check_core(state, name, value, rules)
    _note(before, state, name)
    if name not in rules.set_valued:
        state[name] = own(value)
    elif not info.protected:  # a protected one got here as the set it is (SPEC 6.2)
        state[name] = list(dict.fromkeys(value))  # de-duplicated, first occurrence kept
    touched[name] = index, text


def _note(before: dict[str, Any], state: dict[str, Any], name: str) -> None:
    if name not in before:
        before[name] = state.get(name, MISSING)


def _missing(name: str) -> PatchError:
    return make_error("no_such_property", f"Property {shown_name(name)} does not exist.")


def _present(name: str) -> PatchError:
    return make_error("already_present", f"Property {shown_name(name)} already present.")


def _hidden(name: str, code: OpCode, value: Any) -> None:
    if code is REPLACE and not value:
        raise make_error("locations_empty", f"Cannot set {name} to empty list.")
    verb = "remove" if code is REMOVE else "update" if code is REPLACE else "add"
    msg = f"It's not allowed to {verb} {name} if {name} are invisible."
    raise make_error("locations_hidden", msg)


def _protect(state: dict[str, Any], name: str, code: OpCode, value: Any, rules: Rules) -> None:
    """IMS: a protected name may only be "changed" to the value it has."""
    if code is not REMOVE:
        current = state.get(name, MISSING)
        if current is not MISSING and rules.same_value(name, value, current):
            return
    raise make_error("protected", f"Attribute {shown_name(name)} cannot be changed in this API.")


def _check_core(state: dict[str, Any], name: str, value: Any, rules: Rules) -> None:
    """The checks of upstream's domain setters: status gate, negative minimums, tag quota."""
    gate = rules.status_gated.get(name)
    if gate is not None and state.get(STATUS_ATTRIBUTE) not in gate:
        msg = f"Attribute {name} can be only replaced for a queued image."
        raise make_error("format_not_queued", msg)
    if name in rules.non_negative and value and value < 0:
        msg = f"Invalid value '{excerpt(value)}' for parameter '{name}': Cannot be a negative value"
        raise make_error("negative_value", msg)
    if name in rules.set_valued:
        quota = rules.tag_quota
        if 0 <= quota < len(value):
            msg = (
                "The limit has been exceeded on the number of allowed image "
                f"{name}. Attempted: {len(value)}, Maximum: {quota}"
            )
            raise make_error("too_many_tags", msg)


def own(value: Any) -> Any:
    """A copy of a request value that the result may keep.

    JSON containers are copied level by level without recursion: a value
    nested as deep as the limits allow cannot exhaust the stack.
    """
    if value.__class__ is not list and value.__class__ is not dict:
        return value
    copy: Any = [] if value.__class__ is list else {}
    stack: list[tuple[Any, Any]] = [(value, copy)]
    while stack:
        source, target = stack.pop()
        items = enumerate(source) if source.__class__ is list else source.items()
        for key, item in items:
            kept = item
            if item.__class__ is list or item.__class__ is dict:
                kept = [] if item.__class__ is list else {}
                stack.append((item, kept))
            if target.__class__ is list:
                target.append(kept)
            else:
                target[key] = kept
    return copy


def finish(
    state: dict[str, Any],
    before: dict[str, Any],
    touched: dict[str, tuple[int, str]],
    rules: Rules,
) -> None:
    """Whole-request checks, in upstream's save order (reference 10).

    What the apply loop noted: *before*, for each name an operation wrote
    or removed, its value in the snapshot (``MISSING`` if absent) when that
    happened first; *touched*, for each name whose value in *state* an
    operation wrote (and none removed since), the index and path of the last
    operation that wrote it, which an error about the name points at.
    """
    quota = rules.property_quota
    # Counted only if the result holds a custom property the snapshot did not
    # (SPEC 6.1), and no more properties than keys: most images cannot exceed it.
    if 0 <= quota < len(state) and any(
        old is MISSING and name in state and rules.is_counted(name) for name, old in before.items()
    ):
        count = sum(1 for key in state if key.__class__ is str and rules.is_counted(key))
        if count > quota:
            msg = (
                "The limit has been exceeded on the number of allowed image properties. "
                f"Attempted: {count}, Maximum: {quota}"
            )
            raise make_error("too_many_properties", msg)
    if not touched:
        return
    _check_four_byte(state, before, rules, touched)
    for name in rules.int32:
        if name in touched:
            value = state[name]
            if value and value > INT32_MAX:
                msg = f"'{name}' value out of range, must not exceed {INT32_MAX}."
                raise _error_at("out_of_range", msg, touched[name])
    for name in rules.set_valued:
        if name in touched:
            old = before[name]
            for tag in state[name]:
                if has_four_byte(tag) and not (isinstance(old, list) and tag in old):
                    msg = "Param values can't contain 4 byte unicode."
                    raise _error_at("four_byte_unicode", msg, touched[name])


def _check_four_byte(
    state: dict[str, Any],
    before: dict[str, Any],
    rules: Rules,
    touched: dict[str, tuple[int, str]],
) -> None:
    """4-byte characters in a changed value or a new name: 400, upstream's order."""
    suspects: list[str] = []
    for name in touched:
        value = state.get(name)
        if (not name.isascii() or (value.__class__ is str and not value.isascii())) and (
            name not in rules.set_valued and (has_four_byte(name) or has_four_byte(value))
        ):
            suspects.append(name)
    if not suspects:
        return
    changed = {
        name
        for name in suspects
        if before[name] is MISSING or not json_equal(state[name], before[name])
    }
    core = [name for name in rules.four_byte_order if name in changed]
    extras = [key for key in state if key in changed and rules.is_counted(key)]
    for name in core + extras:
        if name in rules.four_byte_order:
            if has_four_byte(state[name]):
                msg = f"{name.title()} can't contain 4 byte unicode characters."
                raise _error_at("four_byte_unicode", msg, touched[name])
            continue
        if before[name] is MISSING and has_four_byte(name):
            msg = "Property names can't contain 4 byte unicode."
            raise _error_at("four_byte_unicode", msg, touched[name])
        if has_four_byte(state[name]):
            msg = f"{shown_name(name.title())} can't contain 4 byte unicode characters."
            raise _error_at("four_byte_unicode", msg, touched[name])


def _error_at(code: str, message: str, where: tuple[int, str]) -> PatchError:
    index, pointer = where
    return make_error(code, message, index=index, pointer=pointer)
