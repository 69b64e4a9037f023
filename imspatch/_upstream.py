"""What upstream Glance answers where imspatch deliberately differs (SPEC 8).

:func:`upstream_answer` gives, for one request, the answer of upstream Glance
33 (default deployment) computed with the engine itself, run as upstream
reads the request: JSON decoded as Python's ``json`` module does (the last
duplicate member wins, ``NaN`` and ``1e400`` are numbers, lone surrogates
pass), no request limits, 500 where upstream crashes, no admin check on
``add /owner``, and the 4-byte check on every stored value.  It names the
difference that changed the answer, or returns None where upstream and
imspatch agree.  ``imspatch conform --profile upstream`` accepts this answer
as well as the engine's.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

from . import Limits, parse_patch, patch_image
from .errors import MEDIA_TYPES, PatchError
from .operations import Add
from .rules import Rules, json_equal

__all__ = ["DIFFERENCES", "Answer", "upstream_answer"]

#: The deliberate differences (SPEC 8 and the README's list), by name.
DIFFERENCES: dict[str, str] = {
    "strict JSON": "duplicate member names, NaN/Infinity, 1e400 and lone surrogates are 400",
    "limits": "limits on body size, operations, strings, paths, members and nesting",
    "400 instead of 500": "non-string paths and nesting beyond Python's recursion limit",
    "media types": "case-insensitive media types, surrounding white space ignored",
    "add /owner": "the admin check on add /owner too",
    "phantom attributes": "names upstream crashes on (image_id 404; base, ... 500) are 403",
    "4-byte check": "no 4-byte check on values the request does not change",
}
#: Which engine error codes fall under which difference.
_BY_CODE = {
    "duplicate_member": "strict JSON",
    "invalid_number": "strict JSON",
    "lone_surrogate": "strict JSON",
    "body_too_large": "limits",
    "too_many_operations": "limits",
    "string_too_long": "limits",
    "pointer_too_long": "limits",
    "too_many_members": "limits",
    "too_deep": "limits",
    "path_not_string": "400 instead of 500",
    "owner_admin_only": "add /owner",
    "phantom_attribute": "phantom attributes",
}
_UNLIMITED = Limits(
    max_body_bytes=sys.maxsize,
    max_operations=sys.maxsize,
    max_depth=sys.maxsize,
    max_string_length=sys.maxsize,
    max_pointer_length=sys.maxsize,
    max_members=sys.maxsize,
)
_VISIBLE_AFTER_OWNER_CHANGE = ("public", "community")


class Answer(NamedTuple):
    """An answer to a request: the status, and the image afterwards."""

    status: int
    image: dict[str, Any]


class _Sentinel:
    """What a non-finite number becomes: a value every typed rule refuses."""


def _lax(body: bytes | str) -> Any:
    """The body decoded as upstream decodes it; raises ValueError or RecursionError."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return json.loads(text, parse_constant=lambda _: math.nan)


def _clean(doc: Any, replacement: str) -> Any:
    """*doc* as JSON the engine takes: non-finite numbers become ``{}`` (refused
    wherever a type is checked, as upstream's NaN is), lone surrogates *replacement*."""
    stack: list[Any] = []
    root: list[Any] = [doc]
    stack.append((root, 0))
    while stack:
        parent, key = stack.pop()
        node = parent[key]
        if node.__class__ is float and not math.isfinite(node):
            parent[key] = {}
        elif node.__class__ is str:
            parent[key] = _unsurrogate(node, replacement)
        elif node.__class__ is list:
            stack.extend((node, i) for i in range(len(node)))
        elif node.__class__ is dict:
            items = [(_unsurrogate(k, replacement), v) for k, v in node.items()]
            node.clear()
            node.update(items)
            stack.extend((node, k) for k in node)
    return root[0]


def _unsurrogate(text: str, replacement: str) -> str:
    if text.isascii():
        return text
    return "".join(replacement if "\ud800" <= c <= "\udfff" else c for c in text)


def _engine(
    image: Mapping[str, Any], doc: Any, media_type: str, rules: Rules, admin: bool
) -> tuple[Answer, PatchError | None]:
    try:
        result = patch_image(image, doc, media_type=media_type, rules=rules, admin=admin,
                             limits=_UNLIMITED)  # fmt: skip
    except PatchError as exc:
        return Answer(exc.status, dict(image)), exc
    return Answer(200, result), None


def _has_four_byte(value: Any) -> bool:
    return value.__class__ is str and any(ord(c) > 0xFFFF for c in value)


def _as_upstream(
    media_type: str | None,
    body: bytes,
    image: Mapping[str, Any],
    rules: Rules,
    admin: bool,
) -> Answer:
    """Upstream Glance's answer, computed with the engine."""
    unchanged = Answer(0, dict(image))
    if isinstance(media_type, str):  # an HTTP field value has no white space around it
        media_type = media_type.strip(" \t").partition(";")[0]  # then webob's content_type
    if media_type not in MEDIA_TYPES:  # compared exactly
        return unchanged._replace(status=415)
    try:
        decoded = _lax(body)
    except RecursionError:
        return unchanged._replace(status=500)
    except ValueError:  # invalid UTF-8 or JSON, a BOM, an integer of 4,301 digits
        return unchanged._replace(status=400)
    if not isinstance(decoded, list):  # an object or a scalar
        return unchanged._replace(status=400)
    answer, error = _engine(image, _clean(decoded, "\ufffd"), media_type, rules, admin)
    if error is None:
        other, _ = _engine(image, _clean(_lax(body), "\ufffe"), media_type, rules, admin)
        if not _same(other, answer):  # a lone surrogate reached the database
            return unchanged._replace(status=500)
        if len(decoded) and any(
            _has_four_byte(v) and json_equal(v, answer.image.get(k)) for k, v in image.items()
        ):
            return unchanged._replace(status=400)  # the save checks every value
        return answer
    if error.code == "path_not_string":
        return unchanged._replace(status=500)
    if error.code == "phantom_attribute":
        return _phantom(image, _clean(decoded, "\ufffd"), error, media_type, rules, admin)
    if error.code == "owner_admin_only" and error.index is not None:
        op = parse_patch(_clean(decoded, "\ufffd"), media_type=media_type, rules=rules,
                         limits=_UNLIMITED)[error.index]  # fmt: skip
        if isinstance(op, Add):  # upstream checks only replace (v2.0 add is then 409)
            answer, error = _engine(image, _clean(decoded, "\ufffd"), media_type, rules, True)
            if error is None and answer.image.get("visibility") not in _VISIBLE_AFTER_OWNER_CHANGE:
                return unchanged._replace(status=403)  # the caller can no longer see it
    return answer


#: Phantom names upstream sets without complaint and fails on only when it saves
#: (measured against glance-api 33): ``(status, save-time errors that come first)``.
#: The others (``base``, ``__class__``, ...) fail as the operation is applied.
_FAILS_ON_SAVE = {
    "extra_properties": (500, ()),
    "image_id": (404, ("too_many_properties", "four_byte_unicode")),
}
#: The engine's finishing checks (upstream's save-time ones, reference 10).
_ON_SAVE = frozenset({"too_many_properties", "out_of_range", "four_byte_unicode"})


def _phantom(
    image: Mapping[str, Any],
    doc: list[Any],
    error: PatchError,
    media_type: str,
    rules: Rules,
    admin: bool,
) -> Answer:
    """Upstream's answer to *doc*, where the engine refused a phantom name with *error*.

    ``extra_properties`` and ``image_id`` are set like attributes, so the later
    operations' errors come first (and, for ``image_id``, the property quota);
    then saving fails, 500 or 404.  Every other phantom fails at once, 500.
    """
    unchanged = Answer(500, dict(image))
    late = _FAILS_ON_SAVE.get((error.pointer or "/").lstrip("/").strip())
    if late is None or error.index is None:
        return unchanged
    status, first = late
    rest = [*doc[: error.index], *doc[error.index + 1 :]]
    answer, later = _engine(image, rest, media_type, rules, admin)
    if later is None or (later.code in _ON_SAVE and later.code not in first):
        return unchanged._replace(status=status)
    if later.code == "phantom_attribute":
        other = _phantom(image, rest, later, media_type, rules, admin)
        if other.status in (404, 500):  # both fail on saving: 500 beats 404
            return other._replace(status=max(status, other.status))
        return other
    return answer


def _same(a: Answer, b: Answer) -> bool:
    return a.status == b.status and json_equal(a.image, b.image)


def upstream_answer(
    media_type: str | None,
    body: bytes,
    image: Mapping[str, Any],
    ours: Answer,
    error: PatchError | None,
    *,
    rules: Rules,
    admin: bool = False,
) -> tuple[str, Answer] | None:
    """``(difference, upstream's answer)`` where it differs from *ours*, else None.

    *ours* is the engine's answer under the run's limits, *error* the engine's
    error (None on success).  The difference is named after the engine's error
    code, or "media types" / "4-byte check" where the engine accepts what
    upstream refuses.  An answer that differs for none of :data:`DIFFERENCES`
    is not upstream's excuse: None, and the engine's answer alone counts.
    """
    theirs = _as_upstream(media_type, body, image, rules, admin)
    if _same(theirs, ours):
        return None
    if theirs.status == 500 and error is not None and error.code == "too_deep":
        return "400 instead of 500", theirs  # deeper than upstream's json module goes
    if error is not None and error.code in _BY_CODE:
        return _BY_CODE[error.code], theirs
    if theirs.status == 415:
        return "media types", theirs
    if error is None and theirs.status == 400:
        return "4-byte check", theirs
    if error is not None and error.code == "four_byte_unicode":
        return "4-byte check", theirs
    return None
