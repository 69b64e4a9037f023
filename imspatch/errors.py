"""The one exception family of imspatch.

Every rejected request raises exactly one :class:`PatchError`.  The class says
the HTTP status, ``code`` says why in a stable machine-readable word, and
``index`` / ``pointer`` say where: the 0-based position of the operation in the
request array and the raw path text it carried (both ``None`` for errors about
the body as a whole).

The table :data:`ERROR_CODES` is the single place that maps a code to its
status; :func:`make_error` picks the subclass from it.
"""

from __future__ import annotations

import json
from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Literal, NamedTuple

__all__ = [
    "ACCEPT_PATCH",
    "ERROR_CODES",
    "MEDIA_TYPES",
    "ForbiddenChange",
    "HTTPResponse",
    "LimitExceeded",
    "MalformedPatch",
    "PatchConflict",
    "PatchError",
    "UnsupportedMediaType",
    "excerpt",
    "make_error",
    "shown_name",
    "shown_value",
]

#: The two media types of ``PATCH /v2/images/{image_id}`` and their dialects.
MEDIA_TYPES: dict[str, Literal["v2.0", "v2.1"]] = {
    "application/openstack-images-v2.0-json-patch": "v2.0",
    "application/openstack-images-v2.1-json-patch": "v2.1",
}
#: The ``Accept-Patch`` header value of a 415 answer: both types, sorted.
ACCEPT_PATCH = ", ".join(sorted(MEDIA_TYPES))

#: Every error code imspatch raises, with its HTTP status.
ERROR_CODES: dict[str, int] = {
    # 415 - media type (SPEC 2)
    "unsupported_media_type": 415,
    # 400 - decoding the body (SPEC 3)
    "empty_body": 400,
    "invalid_utf8": 400,
    "invalid_json": 400,
    "duplicate_member": 400,
    "invalid_number": 400,
    "lone_surrogate": 400,
    "too_deep": 400,
    "not_json": 400,
    "unexpected_body_type": 400,
    "not_an_array": 400,
    "operation_not_object": 400,
    # 413 - limits (SPEC 3, 6)
    "body_too_large": 413,
    "too_many_operations": 413,
    "too_many_tags": 413,
    "too_many_properties": 413,
    "string_too_long": 413,
    "pointer_too_long": 413,
    "too_many_members": 413,
    # 400 - operation objects (SPEC 4)
    "missing_op": 400,
    "invalid_op": 400,
    "several_ops": 400,
    "missing_path": 400,
    "path_not_string": 400,
    "missing_value": 400,
    "invalid_operation": 400,
    # 400 - pointers (SPEC 5)
    "pointer_no_slash": 400,
    "pointer_adjacent_slash": 400,
    "pointer_trailing_slash": 400,
    "pointer_no_token": 400,
    "pointer_bad_escape": 400,
    "invalid_path": 400,
    # 400 - values (SPEC 6)
    "invalid_value": 400,
    "property_name_too_long": 400,
    "IMG.0002": 400,
    "IMG.0003": 400,
    "IMG.0004": 400,
    "IMG.0054": 400,
    "negative_value": 400,
    "out_of_range": 400,
    "four_byte_unicode": 400,
    # 403 - names that may not change
    "read_only": 403,
    "reserved": 403,
    "not_removable": 403,
    "owner_admin_only": 403,
    "format_not_queued": 403,
    "locations_hidden": 403,
    "locations_empty": 403,
    "protected": 403,
    "phantom_attribute": 403,
    # 409 - existence
    "no_such_property": 409,
    "already_present": 409,
    # 400 - a caller handed the engine something that is not an image or an
    # operation, or asked for a spelling a dialect does not have
    "invalid_image": 400,
    "not_expressible": 400,
}

_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
}

_EXCERPT = 64


def excerpt(value: object, limit: int = _EXCERPT) -> str:
    """Return a short, escaped rendering of *value* for a message.

    Strings are shown in double quotes with JSON escapes (so in ASCII).  At
    most *limit* characters of the escaped text are kept, cut between two
    characters and marked with an ellipsis: an excerpt is never longer than
    *limit* + 5 characters, however its input escapes, and no message ever
    carries a large piece of the request.
    """
    if isinstance(value, str):
        return _quoted(value, limit)
    text = _sketch(value, limit + 1, 0)
    return text[:limit] + "..." if len(text) > limit else text


def _quoted(text: str, limit: int) -> str:
    """*text* as a JSON string of at most *limit* escaped characters, and an ellipsis if cut."""
    head = text[: limit + 1]
    escaped = json.dumps(head, ensure_ascii=True)[1:-1]
    if len(head) <= limit and len(escaped) <= limit:
        return f'"{escaped}"'
    kept = size = 0
    for char in head:  # at most limit + 1 characters
        size += _escaped_size(char)
        if size > limit:
            break
        kept += 1
    return json.dumps(head[:kept], ensure_ascii=True)[:-1] + '..."'


def _escaped_size(char: str) -> int:
    """How many characters ``json.dumps(..., ensure_ascii=True)`` writes for *char*."""
    if " " <= char <= "~":
        return 2 if char in '"\\' else 1
    if char in "\b\f\n\r\t":
        return 2
    return 12 if char > "\uffff" else 6


def _sketch(value: object, budget: int, depth: int) -> str:
    """JSON-like text of *value*, about *budget* characters at most, in O(budget)."""
    if isinstance(value, str):
        return _quoted(value, budget)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int):  # no str() of a huge int: it may raise, and it is slow
        return str(value) if -(10**30) < value < 10**30 else "<a very large integer>"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict)):
        if depth >= 3 or budget <= 2:
            return "[...]" if isinstance(value, list) else "{...}"
        parts, size = [], 2
        items = value.items() if isinstance(value, dict) else value
        for item in items:
            part = (
                _sketch(item[0], 20, depth + 1) + ": " + _sketch(item[1], budget, depth + 1)
                if isinstance(value, dict)
                else _sketch(item, budget, depth + 1)
            )
            parts.append(part)
            size += len(part) + 2
            if size > budget:
                parts.append("...")
                break
        inner = ", ".join(parts)
        return f"[{inner}]" if isinstance(value, list) else f"{{{inner}}}"
    return f"<{type(value).__name__}>"


def shown_name(name: str) -> str:
    """An attribute name for a message: as is when short and printable, else escaped."""
    if len(name) <= _EXCERPT and name.isprintable():
        return name
    return excerpt(name)


def shown_value(value: object) -> str:
    """A request value for a message as upstream shows it, when that is safe.

    Upstream Glance's schema errors show a value as jsonschema does, by its
    Python ``repr`` (``'bogus'``, ``True``, ``None``, ``[1, 'x']``), which
    escapes every unprintable character.  That text is used when it is at most
    66 characters (a string of 64 and its quotes, as for an excerpt); a longer
    one gets the escaped :func:`excerpt`.  Only that much of the value is ever
    looked at.
    """
    text = _repr(value, _EXCERPT + 2)
    return excerpt(value) if text is None else text


def _repr(value: object, budget: int) -> str | None:
    """``repr(value)`` of a JSON value if at most *budget* characters, else None.

    In O(budget): a string or number is cut off by its length first, and a
    container stops at the first item that does not fit (every level costs
    at least two characters, so the recursion is at most budget / 2 deep).
    """
    text: str | None
    if isinstance(value, str):
        text = repr(value) if len(value) <= budget else None
    elif value is None or isinstance(value, (bool, float)):
        text = repr(value)
    elif isinstance(value, int):
        text = repr(value) if -_MAX_SHOWN < value < _MAX_SHOWN else None
    elif isinstance(value, (list, dict)):
        parts, size = [], 0
        for item in value.items() if isinstance(value, dict) else value:
            room = budget - 2 - size
            if isinstance(value, dict):
                key = _repr(item[0], room)
                rest = None if key is None else _repr(item[1], room - len(key) - 2)
                part = None if key is None or rest is None else f"{key}: {rest}"
            else:
                part = _repr(item, room)
            if part is None:
                return None
            parts.append(part)
            size += len(part) + 2
        inner = ", ".join(parts)
        text = f"[{inner}]" if isinstance(value, list) else f"{{{inner}}}"
    else:
        return None
    return text if text is not None and len(text) <= budget else None


_MAX_SHOWN = 10**_EXCERPT


if TYPE_CHECKING:

    class HTTPResponse(NamedTuple):
        """An error rendered for the wire: status, headers, JSON body bytes."""

        status: int
        headers: list[tuple[str, str]]
        body: bytes

else:  # the same class, without importing typing
    HTTPResponse = namedtuple("HTTPResponse", ("status", "headers", "body"))
    HTTPResponse.__doc__ = "An error rendered for the wire: status, headers, JSON body bytes."


class PatchError(Exception):
    """A rejected ``PATCH /v2/images/{image_id}`` request.

    Abstract: instances are always one of the subclasses, which are keyed by
    HTTP status.
    """

    status: ClassVar[int] = 400

    def __init__(
        self,
        message: str,
        *,
        code: str,
        index: int | None = None,
        pointer: str | None = None,
        style: str = "ims",
    ) -> None:
        if type(self) is PatchError:
            msg = "PatchError is abstract; use make_error() or a subclass"
            raise TypeError(msg)
        super().__init__(message)
        self.message = message
        self.code = code
        self.index = index
        self.pointer = pointer
        #: ``"ims"`` or ``"glance"``: the error-body style of the rule set
        #: that raised it (see :meth:`to_response`).
        self.style = style

    def __str__(self) -> str:
        where = []
        if self.index is not None:
            where.append(f"op {self.index}")
        if self.pointer is not None:
            where.append(f"at {excerpt(self.pointer)}")
        prefix = " ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def __repr__(self) -> str:
        """The fields; a pointer that is long or not printable as :meth:`__str__` shows it."""
        pointer = self.pointer
        shown = (
            repr(pointer) if pointer is None or shown_name(pointer) is pointer else excerpt(pointer)
        )
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, "
            f"index={self.index!r}, pointer={shown})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.message, self.code, self.index, self.pointer, self.style),
        )

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data: status, code, message, index, pointer."""
        pointer = self.pointer
        if pointer is not None and len(pointer) > 4 * _EXCERPT:
            pointer = pointer[: 4 * _EXCERPT] + "..."
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "index": self.index,
            "pointer": pointer,
        }

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Headers the HTTP answer must carry."""
        return [("Content-Type", "application/json")]

    def to_response(self, style: str | None = None) -> HTTPResponse:
        """Render the error as an HTTP answer in the style of its rule set.

        ``"ims"``: ``{"error": {"code": ..., "message": ...}}`` as the IMS API
        reference shows it.  ``"glance"``: ``{"code": "<status> <reason>",
        "title": "<reason>", "message": ...}`` as Glance's webob faults do.
        """
        style = style or self.style
        reason = _REASONS[self.status]
        if style == "glance":
            doc: dict[str, Any] = {
                "code": f"{self.status} {reason}",
                "title": reason,
                "message": self.message,
            }
        else:
            doc = {"error": {"code": self.code, "message": self.message}}
        body = json.dumps(doc, ensure_ascii=False).encode()
        return HTTPResponse(self.status, self.headers, body)


def _rebuild(
    cls: type[PatchError],
    message: str,
    code: str,
    index: int | None,
    pointer: str | None,
    style: str,
) -> PatchError:
    return cls(message, code=code, index=index, pointer=pointer, style=style)


class MalformedPatch(PatchError, ValueError):
    """400: the body, an operation, a pointer or a value is not acceptable."""

    status = 400


class ForbiddenChange(PatchError):
    """403: the rule set does not let this request change that attribute."""

    status = 403


class PatchConflict(PatchError):
    """409: the operation does not fit the image as it stands."""

    status = 409


class LimitExceeded(PatchError):
    """413: the request, or the image it would produce, is too large."""

    status = 413


class UnsupportedMediaType(PatchError):
    """415: not one of the two JSON-patch media types of the image API."""

    status = 415
    #: The media types the endpoint accepts, for ``Accept-Patch``.
    accepted: ClassVar[tuple[str, ...]] = tuple(sorted(MEDIA_TYPES))

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [*super().headers, ("Accept-Patch", ACCEPT_PATCH)]


_BY_STATUS: dict[int, type[PatchError]] = {
    cls.status: cls
    for cls in (MalformedPatch, ForbiddenChange, PatchConflict, LimitExceeded, UnsupportedMediaType)
}


def make_error(
    code: str,
    message: str,
    *,
    index: int | None = None,
    pointer: str | None = None,
) -> PatchError:
    """Build the error for *code*, of the subclass its status calls for."""
    return _BY_STATUS[ERROR_CODES[code]](message, code=code, index=index, pointer=pointer)
