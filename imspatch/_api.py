"""The public functions: each is its phases, in order (SPEC 1).

``patch_image`` is decode (``_decode``), then parse, apply and finish in one
pass (``_patch``, over ``_parse`` and ``_apply``); ``parse_patch`` stops after
parsing, ``apply_patch`` starts with operations built by hand, and
``iter_errors`` parses collecting every error, then applies.  Each checks
its arguments first: a wrong type of rule set or limits is the caller's
mistake (``TypeError``, as Python reports it); everything about the request,
and the image, is a :class:`~imspatch.PatchError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping

from ._apply import apply_steps, snapshot
from ._decode import DEFAULT_LIMITS, Limits, decode_body, dialect_of
from ._parse import check_operations, find_errors, parse_body, to_operations
from ._patch import patch
from .errors import PatchError, make_error
from .operations import Add, Operation, Pointer, Remove, Replace
from .rules import IMS, Rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._parse import Step

__all__ = ["apply_patch", "dump_patch", "iter_errors", "parse_patch", "patch_image"]


def patch_image(
    image: Mapping[str, Any],
    body: bytes | str | list[Any],
    *,
    media_type: str | None,
    rules: Rules = IMS,
    admin: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> dict[str, Any]:
    """Process one ``PATCH /v2/images/{image_id}`` request; the one call a server makes.

    Returns the new image (a new dict; *image* is not touched) or raises one
    :class:`~imspatch.PatchError` saying status, code, operation and pointer.
    *rules* or *limits* of the wrong type is the caller's mistake, not the
    request's: ``TypeError``.
    """
    if rules.__class__ is not Rules or limits.__class__ is not Limits:
        _check_arguments(rules, limits)
    try:
        decoded = decode_body(media_type, body, limits)
        return patch(image, decoded, rules, limits, admin)
    except PatchError as exc:
        exc.style = rules.error_style
        raise


def parse_patch(
    body: bytes | str | list[Any],
    *,
    media_type: str | None,
    rules: Rules = IMS,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[Operation, ...]:
    """Decode and check a patch body into dialect-neutral operations.

    Runs phases 1 and 2: media type, JSON, operation shape, pointers, name
    classes and value rules of *rules*.  Nothing here needs the image.
    """
    if rules.__class__ is not Rules or limits.__class__ is not Limits:
        _check_arguments(rules, limits)
    try:
        decoded = decode_body(media_type, body, limits)
        return to_operations(parse_body(decoded, rules, limits))
    except PatchError as exc:
        exc.style = rules.error_style
        raise


def apply_patch(
    image: Mapping[str, Any],
    ops: Iterable[Operation],
    *,
    rules: Rules = IMS,
    admin: bool = False,
) -> dict[str, Any]:
    """Apply operations to a copy of *image*, all or nothing.

    The operations are checked against *rules* first (they may have been
    built by hand, or parsed under other rules), then applied in order; the
    whole-request checks run last.
    """
    if rules.__class__ is not Rules:
        _check_arguments(rules, DEFAULT_LIMITS)
    try:
        if isinstance(ops, (str, bytes, Mapping)) or not isinstance(ops, Iterable):
            msg = "Operations must be an iterable of Add, Remove and Replace."
            raise make_error("invalid_operation", msg)
        steps = check_operations(ops, rules)
        return apply_steps(snapshot(image), steps, rules, admin)
    except PatchError as exc:
        exc.style = rules.error_style
        raise


def iter_errors(
    body: bytes | str | list[Any],
    *,
    media_type: str | None,
    rules: Rules = IMS,
    image: Mapping[str, Any] | None = None,
    admin: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[PatchError]:
    """Return every error a validator can find, without stopping at the first.

    A body-level error (media type, JSON, limits) is the only one returned.
    Otherwise every operation's shape, pointer, name and value error comes
    out, in order.  Given *image*, and only if the operations are otherwise
    valid, the first apply or finish error follows: later operations would
    see a state that never existed.  Without *image*, the apply or finish
    error that every image gets follows instead, if there is one
    (:mod:`imspatch.offline`, which also says what fails on some images
    only).  The errors are found when this is called; the iterator only
    hands them out.
    """
    if rules.__class__ is not Rules or limits.__class__ is not Limits:
        _check_arguments(rules, limits)
    try:
        decoded = decode_body(media_type, body, limits)
        state = None if image is None else snapshot(image)
        steps, errors = find_errors(decoded, rules, limits)
        if not errors and state is not None:
            apply_steps(state, steps, rules, admin)
        elif not errors:
            errors = _on_every_image(steps, rules, admin)
    except PatchError as exc:
        errors = [exc]
    for error in errors:
        error.style = rules.error_style
    return iter(errors)


def _on_every_image(steps: list[Step], rules: Rules, admin: bool) -> list[PatchError]:
    """The apply or finish error that every image gets, if any (:mod:`imspatch.offline`)."""
    from .offline import analyse  # noqa: PLC0415 - only validators pay for it

    found = analyse(to_operations(steps), rules=rules, admin=admin, warnings=False)
    return [finding.error for finding in found]


def _check_arguments(rules: object, limits: object) -> None:
    """The caller's mistakes, as Python reports them: a ``TypeError``.

    The public functions call it only when *rules* or *limits* is not of
    the exact class (most calls pass ``IMS`` and ``DEFAULT_LIMITS``).
    """
    if not isinstance(rules, Rules):
        kind = type(rules).__name__
        msg = f"rules must be a Rules object (imspatch.IMS, imspatch.GLANCE), not {kind}"
        raise TypeError(msg)
    if not isinstance(limits, Limits):
        kind = type(limits).__name__
        msg = f"limits must be a Limits object (imspatch.DEFAULT_LIMITS), not {kind}"
        raise TypeError(msg)


def _reads_back(path: str) -> tuple[str, ...] | None:
    try:
        return Pointer.parse(path).parts
    except PatchError:
        return None


def dump_patch(ops: Iterable[Operation], *, media_type: str) -> bytes:
    """Serialise operations as a body of *media_type* (compact UTF-8 JSON).

    A v2.0 ``add`` (``if_absent=True``) has no v2.1 spelling and a v2.1
    ``add`` none in v2.0: both raise ``MalformedPatch`` (code
    ``not_expressible``) rather than change meaning silently.
    """
    v20 = dialect_of(media_type) == "v2.0"
    doc: list[dict[str, Any]] = []
    for index, op in enumerate(ops):
        if not isinstance(op, (Add, Remove, Replace)):
            msg = f"Expected an Add, Remove or Replace operation, not {type(op).__name__}."
            raise make_error("invalid_operation", msg, index=index)
        path = op.path.text
        if _reads_back(path) != op.path.parts:
            msg = (
                "No path text reads back as this pointer (Glance strips whitespace, collapses //)."
            )
            raise make_error("not_expressible", msg, index=index, pointer=path)
        if isinstance(op, Add) and op.if_absent != v20:
            dialect = "v2.0" if v20 else "v2.1"
            meaning = "add only if absent" if op.if_absent else "add or overwrite"
            msg = f"'{meaning}' has no {dialect} spelling; convert it with an image first."
            raise make_error("not_expressible", msg, index=index, pointer=path)
        item: dict[str, Any] = {op.op: path} if v20 else {"op": op.op, "path": path}
        if not isinstance(op, Remove):
            item["value"] = op.value
        doc.append(item)
    try:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        msg = f"An operation value is not JSON: {type(exc).__name__}."
        raise make_error("not_json", msg) from None
