"""Phase 1 (SPEC 2-3): the media type, then body bytes to strict JSON.

Decoding is deliberately stricter than Glance's ``json.loads``: duplicate
member names, ``NaN``/``Infinity``, numbers out of double range, lone
surrogates and deep nesting are all refused, because two readers of the same
request must not disagree about what it says.

:func:`decode_body` checks the media type, the size, the JSON text and the
operation count, and returns a :class:`Body`.  Two body-level checks are
finished by the parse phase, which looks at every operation anyway and so
costs no pass of its own: the limits inside each element
(:func:`check_element`) and duplicate member names (:func:`check_duplicates`,
cheap once every element is known to be an object).  Being about the body,
either beats any operation's own error, wherever it sits: :func:`body_error`
says which.
"""

from __future__ import annotations

import json
import math
import re
from collections import namedtuple
from collections.abc import Callable
from itertools import chain
from json.scanner import make_scanner

from ._frozen import Frozen, set_field
from .errors import MEDIA_TYPES, PatchError, excerpt, make_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Literal, NamedTuple

__all__ = [
    "DEFAULT_LIMITS",
    "Body",
    "Limits",
    "body_error",
    "check_duplicates",
    "check_element",
    "check_json",
    "decode_body",
    "dialect_of",
]


class Limits(Frozen):
    """Resource limits of one request; a server may tighten them.

    ``max_depth`` (arrays and objects nested in one another, the top-level
    array counting as 1) answers 400; every other limit answers 413.  All of
    them hold everywhere in the body, ignored members and the ``value`` of a
    ``remove`` included.  Size is checked before decoding, the rest right
    after it, before any operation is looked at.

    Each limit is an ``int``: anything else raises ``TypeError``, a negative
    value (or a ``max_depth`` below 1, the top-level array itself) raises
    ``ValueError``, when the limits are built.
    """

    __slots__ = __match_args__ = (
        "max_body_bytes",
        "max_operations",
        "max_depth",
        "max_string_length",
        "max_pointer_length",
        "max_members",
    )
    #: Bytes of the body (UTF-8 bytes of a ``str`` body).
    max_body_bytes: int
    #: Elements of the top-level array.
    max_operations: int
    #: Arrays and objects nested in one another.
    max_depth: int
    #: Characters of any one string, member names included.
    max_string_length: int
    #: Characters of an operation's path.
    max_pointer_length: int
    #: Members of any one object.
    max_members: int

    def __init__(
        self,
        max_body_bytes: int = 16 * 1024 * 1024,
        max_operations: int = 100_000,
        max_depth: int = 32,
        max_string_length: int = 1024 * 1024,
        max_pointer_length: int = 4096,
        max_members: int = 1000,
    ) -> None:
        values = locals()
        for name in self.__match_args__:
            set_field(self, name, _limit(name, values[name], 1 if name == "max_depth" else 0))

    def replace(self, /, **changes: int) -> Limits:
        """These limits with *changes*, e.g. ``DEFAULT_LIMITS.replace(max_depth=8)``."""
        return self.__replace__(**changes)


def _limit(name: str, value: object, least: int) -> int:
    """*value* as the limit *name*: a programmer's mistake raises, as Python does."""
    if not isinstance(value, int) or isinstance(value, bool):
        msg = f"Limits.{name} must be an int, not {type(value).__name__}"
        raise TypeError(msg)
    if value < least:
        msg = f"Limits.{name} must be at least {least}, not {value}"
        raise ValueError(msg)
    return int(value)


DEFAULT_LIMITS = Limits()


def dialect_of(media_type: object) -> Literal["v2.0", "v2.1"]:
    """Return the dialect of a Content-Type value, or raise 415.

    Parameters after ``;`` are ignored; type and subtype compare
    case-insensitively, surrounding whitespace ignored (RFC 9110).
    """
    dialect = MEDIA_TYPES.get(media_type) if media_type.__class__ is str else None
    if dialect is not None:
        return dialect
    if isinstance(media_type, str):
        dialect = MEDIA_TYPES.get(media_type.partition(";")[0].strip().lower())
        if dialect is not None:
            return dialect
    msg = "Image PATCH expects Content-Type one of: " + ", ".join(sorted(MEDIA_TYPES))
    raise make_error("unsupported_media_type", msg)


if TYPE_CHECKING:

    class Body(NamedTuple):
        """A decoded request body: its dialect, its operations, and what the parse
        phase finishes.

        The last three fields are the limits each element must still be
        checked against (:func:`check_element`), ``None`` where none can be
        breached: n characters hold no longer string, and no object of more
        than n // 4 members; an already-decoded list was checked whole.
        """

        #: The dialect of the media type.
        dialect: Literal["v2.0", "v2.1"]
        #: The elements of the top-level array, as decoded (not yet known to be objects).
        operations: list[Any]
        #: The JSON text, for :func:`check_duplicates`; ``None`` for an
        #: already-decoded list, which has no duplicate names to lose.
        text: str | None
        #: Whether any string may hold a character above U+FFFF (SPEC 6.1);
        #: when not, the 4-byte finishing check cannot find anything.
        astral: bool
        #: ``Limits.max_depth``: the top-level array is depth 1, its elements 2.
        max_depth: int | None
        #: ``Limits.max_string_length``.
        max_string_length: int | None
        #: ``Limits.max_members``.
        max_members: int | None

else:  # the same class, without importing typing
    Body = namedtuple(
        "Body",
        (
            "dialect",
            "operations",
            "text",
            "astral",
            "max_depth",
            "max_string_length",
            "max_members",
        ),
    )


def decode_body(media_type: object, body: object, limits: Limits) -> Body:
    """Turn a request body into a :class:`Body`: media type, size, JSON, array, count.

    *body* may be ``bytes`` (strict UTF-8 JSON), ``str`` (JSON text) or an
    already-decoded ``list``, which is checked to be JSON, limits included,
    right here.
    """
    dialect = dialect_of(media_type)
    if body.__class__ is bytes or isinstance(body, (bytes, bytearray, memoryview)):
        raw = body if body.__class__ is bytes else bytes(body)
        if len(raw) > limits.max_body_bytes:
            raise _too_large(limits)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise make_error("invalid_utf8", _MALFORMED) from None
        doc, astral = _loads(text)
        size = len(raw)
    elif isinstance(body, str):
        if len(body) > limits.max_body_bytes or (
            4 * len(body) > limits.max_body_bytes
            and len(body.encode("utf-8", "surrogatepass")) > limits.max_body_bytes
        ):
            raise _too_large(limits)
        text = body
        doc, astral = _loads(text)
        size = len(text)
    else:
        check_json(body, limits)
        doc, text, astral, size = body, None, True, 0
    if not isinstance(doc, list):
        duplicate = _duplicate(text)
        if duplicate is not None:
            raise duplicate
        if isinstance(doc, dict):
            msg = "Request body must be a JSON array of operation objects."
            raise make_error("not_an_array", msg)
        raise make_error("unexpected_body_type", "Unexpected body type. Expected list/dict.")
    if len(doc) > limits.max_operations:
        msg = (
            f"The request has {len(doc)} operations, more than max_operations "
            f"({limits.max_operations})."
        )
        raise make_error("too_many_operations", msg)
    if not size:  # an already-decoded list was checked whole
        return _new(Body, (dialect, doc, text, astral, None, None, None))
    longest = limits.max_string_length if size > limits.max_string_length else None
    widest = limits.max_members if size // 4 > limits.max_members else None
    return _new(Body, (dialect, doc, text, astral, limits.max_depth, longest, widest))


#: Builds a named tuple from a tuple of its fields without the Python frame of
#: its ``__new__``: 70 ns of a request of 2,500 (every request makes a Body).
_new = tuple.__new__


def check_element(element: Any, body: Body) -> None:
    """Raise the first limit left in *body* that one of its elements breaches."""
    max_depth, longest, widest = body.max_depth, body.max_string_length, body.max_members
    if max_depth is None:  # decoding checked them all
        return
    stack: list[tuple[Any, int]] = [(element, 2)]
    while stack:
        node, depth = stack.pop()
        cls = node.__class__
        if cls is str:
            if longest is not None and len(node) > longest:
                raise _string_too_long(longest)
            continue
        if cls is not dict and cls is not list:
            continue
        if depth > max_depth:
            raise _too_deep()
        if cls is dict:
            if widest is not None and len(node) > widest:
                raise _too_many_members(widest)
            if longest is not None:
                stack.extend((key, depth) for key in node)
            children = node.values()
        else:
            children = node
        for child in children:
            if child.__class__ is dict or child.__class__ is list or longest is not None:
                stack.append((child, depth + 1))


def check_duplicates(body: Body) -> None:
    """Raise 400 ``duplicate_member`` if decoding dropped a repeated member name.

    Call it once every element parsed as an object.  Outside strings, JSON
    text has exactly one ``:`` per object member, and the elements' members
    are counted in C: if the text has that many colons, or that many plus
    the colons in the elements' names and string values, no member was
    dropped.  A colon escaped as ``\\u003a`` would be counted in a string but
    not in the text, so then, as when the counts differ (nested objects, a
    duplicate), the text is scanned again with a hook on every object, which
    names the duplicate: that costs about what decoding did.
    """
    text, operations = body.text, body.operations
    if text is None:  # an already-decoded list lost nothing
        return
    colons, members = text.count(":"), sum(map(len, operations))
    if colons == members or (
        colons == members + _colons_in_strings(operations)
        and not ("\\" in text and _COLON_ESCAPE.search(text))
    ):
        return
    duplicate = _duplicate(text)
    if duplicate is not None:
        raise duplicate


def body_error(body: Body, start: int) -> PatchError | None:
    """The body-level error that beats an operation's error, or ``None``.

    A duplicate member name anywhere in the body comes first, then the first
    limit left in *body* that an element from *start* on breaches (the
    elements before it were checked on the way).
    """
    duplicate = _duplicate(body.text)
    if duplicate is not None:
        return duplicate
    if body.max_depth is not None:
        for element in body.operations[start:]:
            try:
                check_element(element, body)
            except PatchError as exc:
                return exc
    return None


class _DuplicateMemberError(Exception):
    pass


class _NotFiniteError(Exception):
    pass


class _TooManyDigitsError(_NotFiniteError):
    """An integer upstream's ``json.loads`` refuses too (int_max_str_digits)."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateMemberError(_first_duplicate(pairs))
    return obj


def _first_duplicate(pairs: list[tuple[str, Any]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    return ""  # pragma: no cover - only called when a duplicate exists


def _constant(name: str) -> Any:
    raise _NotFiniteError(name)


_MAX_DIGITS = 4300  # CPython's default int_max_str_digits, independent of its setting
_TOO_LONG = 10**_MAX_DIGITS


def _int(text: str) -> int:
    if len(text) - text.startswith("-") > _MAX_DIGITS:
        raise _TooManyDigitsError(text[:32])
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NotFiniteError(text[:32])
    return value


def _scanner(**hooks: Any) -> Callable[[str, int], tuple[Any, int]]:
    """The C scanner itself: JSONDecoder.decode without its two Python frames."""
    decoder = json.JSONDecoder(
        parse_constant=_constant, parse_float=_float, parse_int=_int, **hooks
    )
    return make_scanner(decoder)  # type: ignore[arg-type]


# Duplicate member names are found without a Python call per object (see
# check_duplicates); the scanner with the pairs hook only names the duplicate.
_SCAN = _scanner()
_SCAN_PAIRS = _scanner(object_pairs_hook=_object)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# Raw characters that take 4 bytes in UTF-8 (the "4-byte unicode" of SPEC 6.1).
_ASTRAL = re.compile(r"[\U00010000-\U0010ffff]")
# A colon escaped in a string: a decoded colon that the raw text does not show.
_COLON_ESCAPE = re.compile(r"\\u003[aA]")
_JSON_SPACE = " \t\n\r"
#: Upstream's text for every body that is not UTF-8 JSON.  The JSON reasons
#: imspatch adds of its own (duplicate names, non-finite numbers, lone
#: surrogates) say more, since upstream accepts those bodies.
_MALFORMED = "Malformed JSON in request body."


def _duplicate(text: str | None) -> PatchError | None:
    """Scan *text* again, naming the first repeated member name, if any."""
    if text is None:
        return None
    try:
        _SCAN_PAIRS(text, _start(text))
    except _DuplicateMemberError as exc:
        msg = f"Malformed JSON in request body: duplicate member name {_short(exc)}."
        return make_error("duplicate_member", msg)
    except RecursionError:  # nesting the first scan just survived, from a deeper frame
        return _too_deep()
    return None


def _colons_in_strings(operations: list[dict[str, Any]]) -> int:
    """Colons in the member names and string values of the elements (one level)."""
    if not operations:
        return 0
    names = "".join(chain.from_iterable(operations))
    strings = "".join(
        filter(str.__instancecheck__, chain.from_iterable(map(dict.values, operations)))
    )
    return names.count(":") + strings.count(":")


def _too_large(limits: Limits) -> PatchError:
    msg = f"The request body is larger than max_body_bytes ({limits.max_body_bytes} bytes)."
    return make_error("body_too_large", msg)


def _loads(text: str) -> tuple[Any, bool]:
    """The decoded text, and whether it may hold a character above U+FFFF."""
    if not text or text.isspace():  # upstream: no body, or one that parses to nothing
        raise make_error("empty_body", _MALFORMED if text else "Body expected in request.")
    try:
        try:
            doc, end = _SCAN(text, 0 if text[0] not in _JSON_SPACE else _start(text))
        except StopIteration as exc:
            raise json.JSONDecodeError("Expecting value", text, exc.value) from None
        if end != len(text) and text[end:].strip(_JSON_SPACE):
            raise json.JSONDecodeError("Extra data", text, end)
    except _NotFiniteError as exc:
        msg = (
            _MALFORMED  # upstream refuses it too, and says so
            if isinstance(exc, _TooManyDigitsError)
            else f"Malformed JSON in request body: {_short(exc)} is not a number imspatch "
            "accepts (NaN or infinite)."
        )
        raise make_error("invalid_number", msg) from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError:  # JSONDecodeError, and ints beyond int_max_str_digits
        raise make_error("invalid_json", _MALFORMED) from None
    if "\\" in text and _SURROGATE_ESCAPE.search(text):  # memchr first: few bodies escape
        _check_surrogates(doc)
        return doc, True
    return doc, not text.isascii() and _ASTRAL.search(text) is not None


def _start(text: str) -> int:
    return len(text) - len(text.lstrip(_JSON_SPACE)) if text[0] in _JSON_SPACE else 0


def _short(exc: Exception) -> str:
    return excerpt(str(exc.args[0]) if exc.args else "", 32)


def _too_deep() -> PatchError:
    return make_error("too_deep", "The request body is nested too deeply.")


def _string_too_long(longest: int) -> PatchError:
    msg = f"A string in the request body is longer than max_string_length ({longest} characters)."
    return make_error("string_too_long", msg)


def _too_many_members(widest: int) -> PatchError:
    msg = f"An object in the request body has more than max_members ({widest})."
    return make_error("too_many_members", msg)


def _check_surrogates(doc: Any) -> None:
    stack = [doc]
    while stack:
        node = stack.pop()
        if node.__class__ is str:
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                msg = "Malformed JSON in request body: lone surrogate in a string."
                raise make_error("lone_surrogate", msg) from None
        elif node.__class__ is dict:
            stack.extend(node)
            stack.extend(node.values())
        elif node.__class__ is list:
            stack.extend(node)


def check_json(doc: object, limits: Limits) -> None:
    """Check that an already-decoded body is JSON within *limits*, as decoding would have."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        cls = node.__class__
        if cls is dict or cls is list:
            if depth > limits.max_depth:
                raise _too_deep()
            if cls is dict:
                if len(node) > limits.max_members:
                    raise _too_many_members(limits.max_members)
                for key, value in node.items():
                    if key.__class__ is not str:
                        raise make_error("not_json", "Member names must be strings.")
                    stack.append((key, depth))
                    stack.append((value, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in node)
        elif cls is str:
            if len(node) > limits.max_string_length:
                raise _string_too_long(limits.max_string_length)
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise make_error("lone_surrogate", "Lone surrogate in a string.") from None
        elif cls is float:
            if not math.isfinite(node):
                raise make_error("invalid_number", f"{node!r} is not a finite number.")
        elif cls is int:
            if not -_TOO_LONG < node < _TOO_LONG:
                msg = f"An integer has more than {_MAX_DIGITS} digits."
                raise make_error("invalid_number", msg)
        elif node is None or cls is bool:
            pass
        else:
            raise make_error("not_json", f"A value of type {cls.__name__} is not JSON.")
