"""The public functions: decode, parse, apply, validate, serialise."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping

from ._apply import apply_operations
from ._decode import DEFAULT_LIMITS, Limits, decode_body, dialect_of
from ._parse import check_operations, to_operations
from ._patch import run
from .errors import PatchError, make_error
from .operations import Add, Operation, Pointer, Remove, Replace
from .rules import IMS, Rules

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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
    """
    try:
        v20 = dialect_of(media_type) == "v2.0"
        return run(decode_body(body, limits), v20, rules, limits, image, admin, apply=True)[1]  # type: ignore[return-value]
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
    try:
        v20 = dialect_of(media_type) == "v2.0"
        return to_operations(run(decode_body(body, limits), v20, rules, limits)[0])
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
    try:
        if isinstance(ops, (str, bytes, Mapping)) or not isinstance(ops, Iterable):
            msg = "Operations must be an iterable of Add, Remove and Replace."
            raise make_error("invalid_operation", msg)
        return apply_operations(image, check_operations(ops, rules), rules, admin)
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
    """Yield every error a validator can find, without stopping at the first.

    A body-level error (media type, JSON, limits) is the only one yielded.
    Otherwise every operation's shape, pointer, name and value error comes
    out, in order.  Given *image*, and only if the operations are otherwise
    valid, the first apply or finish error follows: later operations would
    see a state that never existed.  Without *image*, the apply or finish
    error that every image gets follows instead, if there is one
    (:mod:`imspatch.offline`, which also says what fails on some images only).
    """
    errors: list[PatchError] = []
    try:
        v20 = dialect_of(media_type) == "v2.0"
        decoded = decode_body(body, limits)
        steps, _ = run(decoded, v20, rules, limits, image, admin, errors, apply=image is not None)
        if image is None and not errors:
            from .offline import analyse  # noqa: PLC0415 - only validators pay for it

            ops = to_operations(steps)
            errors.extend(f.error for f in analyse(ops, rules=rules, admin=admin, warnings=False))
    except PatchError as exc:
        errors.append(exc)
    for error in errors:
        error.style = rules.error_style
    yield from errors


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
