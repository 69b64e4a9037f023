"""Phases 3 and 4 (SPEC 1, 6): apply operations to a copy, then finish.

The input image is copied once, shallowly; every value written comes from
the request and is copied if it is a container, so the result shares no
mutable object with the body.  The first error ends the request and nothing
is returned: all or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._parse import ADD_IF_ABSENT, PLAIN_EXTRA, REMOVE, REPLACE, Plan, Step
from .errors import PatchError, excerpt, make_error, shown_name
from .rules import Kind, Rules, json_equal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "apply_operations",
    "apply_step",
    "copy_image",
    "finish",
    "missing",
    "own",
    "present",
]

_INT32_MAX = 2**31 - 1
_MISSING: Any = object()


def apply_operations(
    image: Mapping[str, Any], steps: Sequence[Step], rules: Rules, admin: bool
) -> dict[str, Any]:
    """Apply checked *steps* to a copy of *image* and run the finishing checks."""
    state = copy_image(image)
    created: set[str] = set()
    touched: dict[str, int] = {}
    for index, (plan, value) in enumerate(steps):
        try:
            apply_step(state, image, plan, value, rules, admin, created, touched, index)
        except PatchError as exc:
            exc.index, exc.pointer = index, plan[2]
            raise
    if created or touched:
        try:
            finish(state, image, rules, created, touched)
        except PatchError as exc:
            # A finishing error about one name points at the last op that wrote it.
            if exc.index is not None:
                exc.pointer = steps[exc.index][0][2]
            raise
    return state


def copy_image(image: object) -> dict[str, Any]:
    """The shallow copy operations are applied to; 400 if *image* is no mapping."""
    if image.__class__ is not dict and not isinstance(image, Mapping):
        msg = f"The image must be a mapping, not {type(image).__name__}."
        raise make_error("invalid_image", msg)
    return dict(image)


def missing(name: str) -> PatchError:
    return make_error("no_such_property", f"Property {shown_name(name)} does not exist.")


def present(name: str) -> PatchError:
    return make_error("already_present", f"Property {shown_name(name)} already present.")


def apply_step(
    state: dict[str, Any],
    image: Mapping[str, Any],
    plan: Plan,
    value: Any,
    rules: Rules,
    admin: bool,
    created: set[str],
    touched: dict[str, int],
    index: int,
) -> None:
    """Apply one checked operation to *state*, in upstream's order.

    *created* collects the custom properties set that *image* did not have
    (the property quota), *touched* the index of the last operation writing
    each name (the finishing checks).  ``_patch.run`` inlines the
    ``PLAIN_EXTRA`` branch, and what an add or replace of a ``PLAIN_CORE``
    name comes to here (``_set_core`` storing the value): keep them in step.
    """
    code, name, _, info, mode = plan
    if mode == PLAIN_EXTRA:
        if code == REMOVE:
            if name not in state:
                raise missing(name)
            del state[name]
            return
        if name in state:
            if code == ADD_IF_ABSENT:
                raise present(name)
        elif code == REPLACE:
            raise missing(name)
        elif name not in image:
            created.add(name)
        state[name] = own(value)
        touched[name] = index
        return
    kind = info.kind
    if kind is Kind.HIDDEN:
        _hidden(name, code, value)
    if code != REMOVE and name in rules.admin_only and not admin:
        raise make_error("owner_admin_only", f"{name.capitalize()} can't be updated by non admin.")
    if info.protected:
        _protect(state, name, code, value, rules)
    if kind is Kind.EXTRA:
        # Protected, so _protect let through only an add or replace of a name
        # present with this very value.
        if code == ADD_IF_ABSENT:
            raise present(name)
        state[name] = own(value)
        touched[name] = index
        return
    # A core attribute (or a phantom one): always present, never removable.
    if code == REMOVE:
        raise make_error("not_removable", f"Property {shown_name(name)} may not be removed.")
    if code == ADD_IF_ABSENT:
        raise present(name)
    if kind is Kind.PHANTOM:
        if name in rules.unsettable:
            msg = f"Attribute {shown_name(name)} is not an image attribute and cannot be set."
            raise make_error("phantom_attribute", msg)
        return  # upstream sets an in-memory attribute nobody sees
    _set_core(state, name, value, rules, unchanged_if_equal=info.protected)
    touched[name] = index


def _hidden(name: str, code: int, value: Any) -> None:
    if code == REPLACE and not value:
        raise make_error("locations_empty", f"Cannot set {name} to empty list.")
    verb = "remove" if code == REMOVE else "update" if code == REPLACE else "add"
    msg = f"It's not allowed to {verb} {name} if {name} are invisible."
    raise make_error("locations_hidden", msg)


def _protect(state: dict[str, Any], name: str, code: int, value: Any, rules: Rules) -> None:
    """IMS: a protected name may only be "changed" to the value it has."""
    if code != REMOVE:
        current = state.get(name, _MISSING)
        if current is not _MISSING and (
            _same_set(value, current) if name in rules.set_valued else json_equal(value, current)
        ):
            return
    raise make_error("protected", f"Attribute {shown_name(name)} cannot be changed in this API.")


def _same_set(value: Any, current: Any) -> bool:
    try:
        return isinstance(current, list) and set(value) == set(current)
    except TypeError:
        return False


def _set_core(
    state: dict[str, Any], name: str, value: Any, rules: Rules, *, unchanged_if_equal: bool
) -> None:
    """Upstream's domain setters.  A protected name got here with the value it
    has (SPEC 6.2), which for a set-valued one may come in another order: that
    changes nothing."""
    gate = rules.status_gated.get(name)
    if gate is not None and state.get("status") not in gate:
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
        if unchanged_if_equal and _same_set(value, state.get(name)):
            return
        state[name] = list(dict.fromkeys(value))  # de-duplicated, first occurrence kept
        return
    state[name] = own(value)


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
    image: Mapping[str, Any],
    rules: Rules,
    created: set[str],
    touched: dict[str, int],
) -> None:
    """Whole-request checks, in upstream's save order (reference 10)."""
    quota = rules.property_quota
    # no more properties than keys: most images cannot exceed the quota at all
    if created and 0 <= quota < len(state) and any(name in state for name in created):
        count = sum(1 for key in state if key.__class__ is str and rules.is_counted(key))
        if count > quota:
            msg = (
                "The limit has been exceeded on the number of allowed image properties. "
                f"Attempted: {count}, Maximum: {quota}"
            )
            raise make_error("too_many_properties", msg)
    if not touched:
        return
    _check_four_byte(state, image, rules, touched)
    for name in rules.int32:
        if name in touched:
            value = state[name]
            if value and value > _INT32_MAX:
                msg = f"'{name}' value out of range, must not exceed {_INT32_MAX}."
                raise make_error("out_of_range", msg, index=touched[name])
    for name in rules.set_valued:
        if name in touched:
            old = image.get(name)
            for tag in state[name]:
                if _has_four_byte(tag) and not (isinstance(old, list) and tag in old):
                    msg = "Param values can't contain 4 byte unicode."
                    raise make_error("four_byte_unicode", msg, index=touched[name])


def _check_four_byte(
    state: dict[str, Any], image: Mapping[str, Any], rules: Rules, touched: dict[str, int]
) -> None:
    """4-byte characters in a changed value or a new name: 400, upstream's order."""
    suspects: list[str] = []
    for name in touched:
        value = state.get(name)
        if (not name.isascii() or (value.__class__ is str and not value.isascii())) and (
            name not in rules.set_valued and (_has_four_byte(name) or _has_four_byte(value))
        ):
            suspects.append(name)
    if not suspects:
        return
    changed = {
        name for name in suspects if name not in image or not json_equal(state[name], image[name])
    }
    core = [name for name in rules.four_byte_order if name in changed]
    extras = [key for key in state if key in changed and rules.is_counted(key)]
    for name in core + extras:
        if name in rules.four_byte_order:
            if _has_four_byte(state[name]):
                msg = f"{name.title()} can't contain 4 byte unicode characters."
                raise make_error("four_byte_unicode", msg, index=touched[name])
            continue
        if name not in image and _has_four_byte(name):
            msg = "Property names can't contain 4 byte unicode."
            raise make_error("four_byte_unicode", msg, index=touched[name])
        if _has_four_byte(state[name]):
            msg = f"{shown_name(name.title())} can't contain 4 byte unicode characters."
            raise make_error("four_byte_unicode", msg, index=touched[name])


def _has_four_byte(value: Any) -> bool:
    """U+10000 and above: the characters that take two UTF-16 code units."""
    return (
        value.__class__ is str
        and not value.isascii()
        and len(value.encode("utf-16-le", "surrogatepass")) != 2 * len(value)
    )
