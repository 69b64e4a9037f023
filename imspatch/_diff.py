"""The smallest patch that turns one image into another (``imspatch diff``).

:func:`diff_images` returns dialect-neutral operations, one per name that
differs; serialise them with ``dump_patch(ops, media_type=...)`` using the same
media type.  Whether the rule set lets a user make each change is not modelled
here a second time: every operation is run through the engine itself against
the old image, so ``diff`` and ``patch_image`` cannot disagree.
:func:`iter_diff_errors` yields one error per name that cannot be changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ._api import apply_patch, iter_errors
from ._decode import dialect_of
from ._pointer import Pointer
from .errors import PatchError, excerpt, make_error
from .operations import Add, Operation, Remove, Replace
from .rules import IMS, Kind, Rules, json_equal

__all__ = ["diff_images", "iter_diff_errors"]

_V21 = "application/openstack-images-v2.1-json-patch"


def diff_images(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    rules: Rules = IMS,
    media_type: str = _V21,
    admin: bool = False,
) -> tuple[Operation, ...]:
    """Return the smallest patch (as operations) that turns *old* into *new*.

    One operation per name whose value differs (JSON equality: ``1`` is not
    ``true``, ``1`` is ``1.0``; ``tags`` compare as a set, as the engine stores
    them, so a mere reordering is no change): ``remove`` for a name only *old* has,
    ``replace`` for a name both have (and for a core attribute *old* lacks,
    which the engine treats as present), ``add`` for a new name.  Removals come
    first in *old*'s key order, then the rest in *new*'s key order, so the
    result keeps *new*'s order of added keys.  The ``add`` operations carry the
    semantics of *media_type*'s dialect (v2.0: ``if_absent=True``), so
    ``dump_patch(ops, media_type=media_type)`` always succeeds.

    Raises the first error of :func:`iter_diff_errors` if *new* cannot be
    reached from *old* under *rules* (and *admin*).

    >>> from imspatch import GLANCE, dump_patch
    >>> ops = diff_images({"name": "a", "x": "1"}, {"name": "b", "y": "2"}, rules=GLANCE)
    >>> dump_patch(ops, media_type="application/openstack-images-v2.1-json-patch")
    b'[{"op":"remove","path":"/x"},{"op":"replace","path":"/name","value":"b"},{"op":"add","path":"/y","value":"2"}]'
    """
    ops, errors = _diff(old, new, rules, media_type, admin, first=True)
    if errors:
        raise errors[0]
    return tuple(ops)


def iter_diff_errors(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    rules: Rules = IMS,
    media_type: str = _V21,
    admin: bool = False,
) -> Iterator[PatchError]:
    """Yield one error per name *new* changes that *rules* do not let a user change.

    Each change is checked on its own against *old*, so every such name is
    named once (403 read-only, reserved, protected, not removable, admin
    only; 400 for a value the rules refuse, ...).  Only if every change is
    allowed on its own do the whole-request checks run (property quota 413,
    ...), and finally the result is compared with *new*: a value the engine
    would store differently (duplicate tags, a name with surrounding
    whitespace that no pointer can address) is ``not_expressible``.  The
    errors carry ``pointer`` (the path of the change) and no ``index``.
    """
    _, errors = _diff(old, new, rules, media_type, admin, first=False)
    yield from errors


def _diff(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    rules: Rules,
    media_type: str,
    admin: bool,
    *,
    first: bool,
) -> tuple[list[Operation], list[PatchError]]:
    for image in (old, new):
        if not isinstance(image, Mapping):
            msg = f"An image must be a mapping, not {type(image).__name__}."
            return [], [make_error("invalid_image", msg)]
        if not all(isinstance(key, str) for key in image):
            return [], [make_error("invalid_image", "Image keys must be strings.")]
    v20 = dialect_of(media_type) == "v2.0"
    ops: list[Operation] = []
    errors: list[PatchError] = []
    for name in old:
        if name not in new:
            ops.append(Remove(_pointer(name)))
    for name, value in new.items():
        if name in old:
            if not _equal(name, old[name], value, rules):
                ops.append(Replace(_pointer(name), value))
        elif rules.info(name).kind is Kind.EXTRA:
            ops.append(Add(_pointer(name), value, if_absent=v20))
        else:
            ops.append(Replace(_pointer(name), value))
    # Each change on its own: every static error, and its apply error.
    for op in ops:
        name = op.path.parts[0]
        if name != name.strip():
            msg = f"No pointer can address the name {excerpt(name)} (surrounding whitespace)."
            errors.append(make_error("not_expressible", msg, pointer=op.path.text))
        else:
            for exc in iter_errors(
                [_raw(op, v20)], media_type=media_type, rules=rules, image=old, admin=admin
            ):
                exc.index = None
                errors.append(exc)
        if first and errors:
            return ops, errors
    if errors:
        return ops, errors
    # The whole patch: finishing checks (quota, ...), then the result itself.
    try:
        result = apply_patch(old, ops, rules=rules, admin=admin)
    except PatchError as exc:
        exc.index = None
        return ops, [exc]
    for op in ops:
        name = op.path.parts[0]
        if (name in result) != (name in new) or (
            name in new and not _equal(name, result[name], new[name], rules)
        ):
            shown = excerpt(result.get(name))
            msg = f"Attribute {excerpt(name)} would be stored as {shown}, not as given."
            errors.append(make_error("not_expressible", msg, pointer=op.path.text))
            if first:
                break
    return ops, errors


def _equal(name: str, a: Any, b: Any, rules: Rules) -> bool:
    """JSON equality; a set-valued attribute (``tags``) compares as a set."""
    if json_equal(a, b):
        return True
    if name in rules.set_valued and isinstance(a, list) and isinstance(b, list):
        try:
            return len(set(b)) == len(b) and set(a) == set(b)
        except TypeError:  # unhashable members: not tags the engine would store
            return False
    return False


def _pointer(name: str) -> Pointer:
    return Pointer.of(name)


def _raw(op: Operation, v20: bool) -> dict[str, Any]:
    """The v2.0 or v2.1 operation object for a single-operation check."""
    path = op.path.text
    raw: dict[str, Any] = {op.op: path} if v20 else {"op": op.op, "path": path}
    if not isinstance(op, Remove):
        raw["value"] = op.value
    return raw
