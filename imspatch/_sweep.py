"""The deterministic part of a conformance run: every rule of a rule set, on purpose.

:func:`sweep` reads a :class:`~imspatch.rules.Rules` object (and the
:class:`~imspatch.Limits` a server applies) and yields one :class:`Case` per
thing worth asking a server, in both dialects: both sides of every limit, every
name of every name class, each attribute with values its rule accepts and
refuses, the quotas with images padded to the edge, every error code a request
can produce, and the requests that must succeed although a careless server
refuses them.  A case carries no expectation: the runner asks the engine, so a
derived rule set (``IMS.replace(property_quota=10)``) gets its own boundaries
and its own answers.

Nothing here needs hypothesis; :mod:`imspatch.strategies` uses the value
helpers (:func:`typical`, :func:`value_cases`) too.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from . import DEFAULT_LIMITS, Limits
from .errors import MEDIA_TYPES
from .rules import IMS, Field, Kind, Rules

__all__ = [
    "IMAGE_ID",
    "OWNER",
    "STATUSES",
    "Case",
    "base_image",
    "longest",
    "sweep",
    "typical",
    "value_cases",
]

V20, V21 = sorted(MEDIA_TYPES)
DIALECTS = (("v2.0", V20), ("v2.1", V21))
IMAGE_ID = "33ad552d-1149-471c-8190-ff6776174a00"
OWNER = "0b1e494e2660441a957313163095fe5c"
#: Image statuses of Glance 33 a PATCH may meet.
STATUSES = ("queued", "saving", "active", "killed", "deactivated", "importing", "uploading")
EMOJI = "\U0001f600"  # 4 bytes in UTF-8
SERVER_KEYS: dict[str, Any] = {
    "checksum": None,
    "size": None,
    "created_at": "2015-12-04T09:45:33Z",
    "updated_at": "2015-12-08T02:30:49Z",
    "self": f"/v2/images/{IMAGE_ID}",
    "file": f"/v2/images/{IMAGE_ID}/file",
    "schema": "/v2/schemas/image",
}
#: Names the quota padding uses (and nothing else does).
FILLER = "quota_fill_{:04d}"
_ABSENT: Any = object()


class Case(NamedTuple):
    """One request of the sweep, and the rule it exercises.

    ``id`` is stable (``imspatch conform --case ID`` repeats it); ``group`` is
    the rule group the summary counts; ``rule`` says in words what is asked,
    e.g. ``"IMS name length: 129 characters"``.  ``shown`` describes a body
    too large to print.
    """

    id: str
    group: str
    rule: str
    media_type: str | None
    body: bytes
    image: dict[str, Any]
    shown: str | None = None


# --- values, from a Field ------------------------------------------------------------------

#: One value of each JSON type, to find the types a rule refuses.
_TYPE_SAMPLES: tuple[tuple[str, Any], ...] = (
    ("a string", "x"),
    ("null", None),
    ("a boolean", True),
    ("an integer", 1),
    ("a fraction", 1.5),
    ("an integral float", 1.0),
    ("an array", ["x"]),
    ("an object", {"k": "v"}),
)
#: Strings worth trying on a rule with a pattern: which pass is the rule's business.
_PROBES: tuple[tuple[str, str], ...] = (
    ("a leading space", " x"),
    ("a trailing space", "x "),
    ("an inner space", "a b"),
    ("a slash", "a/b"),
    ("'<'", "a<b"),
    ("'>'", "a>b"),
    ("a line feed", "a\nb"),
    ("a carriage return", "a\rb"),
    ("a tab", "a\tb"),
    ("CJK ideographs", "\u4e2d\u6587"),
    ("a Latin-1 letter", "\u00e9"),
    ("'-', '.' and '_'", "a_b-c.d"),
    ("only '-'", "-"),
    ("a 4-byte character", "x" + EMOJI),
)
#: A character class of a pattern, and one item of it: a character or a range.
_CLASS = re.compile(r"\[(\^?)((?:\\.|[^\]\\])+)\]")
_ITEM = re.compile(r"(\\u[0-9a-fA-F]{4}|\\.|[^\\])(?:-(\\u[0-9a-fA-F]{4}|\\.|[^\\]))?")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "f": "\f", "v": "\v"}
#: Preferred members of an enum for an ordinary image.
_PREFERRED = ("private", "raw", "bare")


def _char(item: str) -> str | None:
    """The character a class item stands for (None for a set such as ``\\s``)."""
    if len(item) == 1:
        return item
    if item.startswith("\\u"):
        return chr(int(item[2:], 16))
    if item[1] in _ESCAPES:
        return _ESCAPES[item[1]]
    return None if item[1].isalnum() else item[1]


def boundary_characters(pattern: str) -> list[tuple[str, str]]:
    """``(what, character)`` at the edges of every character class of *pattern*.

    For ``[A-Za-z\\u4e00-\\u9fff._-]``: each range's first and last character
    and the ones just outside it, each single character and its neighbours.
    Which of them the rule accepts is the rule's business: a server with a
    range off by one (``\\u9fa5`` for ``\\u9fff``) disagrees on one of them.
    """
    found: dict[str, str] = {}
    for match in _CLASS.finditer(pattern):
        ranges: list[tuple[str, str]] = []
        for item in _ITEM.finditer(match.group(2)):
            low = _char(item.group(1))
            high = low if item.group(2) is None else _char(item.group(2))
            if low is not None and high is not None:
                ranges.append((low, high))
        inside = [(ord(low), ord(high)) for low, high in ranges]
        for low, high in ranges:
            edges = [(low, "in")] if low == high else [(low, "the first of"), (high, "the last of")]
            for char, where in edges:
                found.setdefault(char, f"U+{ord(char):04X} ({where} a class)")
            for code in (ord(low) - 1, ord(high) + 1):
                if 0 <= code <= 0x10FFFF and not any(a <= code <= b for a, b in inside):
                    found.setdefault(chr(code), f"U+{code:04X} (just outside a class)")
    return [(what, char) for char, what in found.items()]


def _passes(field: Field, value: Any) -> bool:
    return field.check(value) is None


def longest(field: Field, length: int | None = None) -> str | None:
    """A string of *length* (default: the rule's maximum) characters the rule accepts."""
    size = field.max_length if length is None else length
    if size is None:
        return None
    for char in "axX0\u4e2d":
        text = char * size
        if _passes(field, text):
            return text
    return None


def longest_of(field: Field, char: str) -> str | None:
    """*char* repeated to the rule's maximum length, if the rule accepts that."""
    if field.max_length is None or not _passes(field, char * field.max_length):
        return None
    return char * field.max_length


def typical(field: Field) -> Any:
    """A plain value the rule accepts (None if it finds none)."""
    candidates: list[Any] = []
    if field.enum is not None:
        candidates += [m for m in _PREFERRED if m in field.enum]
        candidates += [m for m in field.enum if m is not None]
    candidates += [False, 0, ["a", "b"], "sweep", None]
    for value in candidates:
        if (value.__class__ is not str or "string" in field.types) and _passes(field, value):
            return value
    return None


def value_cases(field: Field) -> list[tuple[str, Any]]:
    """``(what, value)`` pairs on both sides of *field*'s rule: types, enum, lengths, pattern.

    Accepted and refused values both: which is which is the rule's business,
    and the runner asks the engine.
    """
    cases: list[tuple[str, Any]] = []
    for what, sample in _TYPE_SAMPLES:
        if not _passes(field, sample) or field.enum is None:
            cases.append((what, sample))
    if field.enum is not None:
        cases += [(f"member {json.dumps(m)}", m) for m in field.enum]
        cases.append(('"bogus" (not a member)', "bogus"))
        upper = [m.upper() for m in field.enum if m.__class__ is str and m.upper() != m]
        if upper:
            cases.append((f"{json.dumps(upper[0])} (a member, upper-cased)", upper[0]))
    if "string" in field.types and field.enum is None:
        at_max = longest(field)
        if at_max is not None and field.max_length is not None:
            cases.append((f"{field.max_length} characters", at_max))
            cases.append((f"{field.max_length + 1} characters", at_max + at_max[0]))
        low = field.min_length
        if low:
            shortest = longest(field, low)
            if shortest is not None:
                cases.append((f"{low} character{'s' * (low != 1)}", shortest))
            cases.append((f"{low - 1} characters", shortest[: low - 1] if shortest else ""))
        else:
            cases.append(("the empty string", ""))
        if field.pattern is not None:
            cases += _PROBES
            cases += [(what, f"a{char}a") for what, char in boundary_characters(field.pattern)]
        wide = longest_of(field, "\u4e2d")
        if wide is not None and field.max_length is not None:  # characters, not bytes
            cases.append((f"{field.max_length} CJK characters", wide))
    if field.items is not None:
        cases.append(("an empty list", []))
        cases += [
            (f"item {what}", [value])
            for what, value in value_cases(field.items)
            if not isinstance(value, list)
        ]
        cases.append(("a list with a repeated item", ["a", "a", "b"]))
    return cases


def _counted(rules: Rules, image: Mapping[str, Any]) -> int:
    return sum(1 for key in image if rules.is_counted(key))


def base_image(rules: Rules = IMS, *, status: str = "active") -> dict[str, Any]:
    """An ordinary image under *rules*: every core attribute, the vendor attributes,
    two custom properties, and the keys a server owns."""
    image: dict[str, Any] = {"id": IMAGE_ID, "status": status}
    for name in rules.core:
        image[name] = typical(rules.info(name).field)
    if "name" in image:
        image["name"] = "sweep"
    if "owner" in rules.core and _passes(rules.info("owner").field, OWNER):
        image["owner"] = OWNER
    for name in sorted(rules.vendor_attributes):
        if rules.info(name).kind is Kind.EXTRA and _passes(rules.info(name).field, "x"):
            image[name] = "x"
    for prefix in rules.vendor_prefixes:
        image[prefix + "os_bit"] = "64"
    for name in sorted(rules.writable or ()):
        info = rules.info(name)
        if info.kind is Kind.EXTRA and name not in image:
            image[name] = typical(info.field)
    image["p"] = "v"
    image["q"] = "w"
    image.update(SERVER_KEYS)
    return image


# --- the sweep -----------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.+-]+", "-", text.lower()).strip("-")[:80] or "x"


def _label(rules: Rules) -> str:
    return rules.name.upper() if len(rules.name) <= 6 else rules.name


class _Sweep:
    """Collects cases; each method below adds one rule group."""

    def __init__(self, rules: Rules, admin: bool, limits: Limits) -> None:
        self.rules, self.admin, self.limits = rules, admin, limits
        self.base = base_image(rules)
        self.label = _label(rules)
        self.ids: Counter[str] = Counter()

    # -- building blocks

    def image(self, **changes: Any) -> dict[str, Any]:
        image = dict(self.base)
        for key, value in changes.items():
            if value is _ABSENT:
                image.pop(key, None)
            else:
                image[key] = value
        return image

    def case(
        self,
        group: str,
        rule: str,
        dialect: str,
        body: bytes,
        *,
        image: dict[str, Any] | None = None,
        media_type: Any = _ABSENT,
        shown: str | None = None,
    ) -> Case:
        ident = f"{_slug(group)}/{_slug(rule)}/{dialect}"
        self.ids[ident] += 1
        if self.ids[ident] > 1:
            ident += f"/{self.ids[ident]}"
        mt = dict(DIALECTS)[dialect] if media_type is _ABSENT else media_type
        text = f"{self.label} {rule}"
        return Case(ident, group, text, mt, body, self.base if image is None else image, shown)

    def ops(
        self, group: str, rule: str, items: list[Any], *, image: dict[str, Any] | None = None
    ) -> Iterator[Case]:
        """The request *items* (v2.1 spelling) in both dialects."""
        for dialect, _ in DIALECTS:
            body = _dump([_spell(item, dialect) for item in items])
            yield self.case(group, rule, dialect, body, image=image)

    def one(self, group: str, rule: str, dialect: str, items: list[Any]) -> Case:
        """The request *items* (v2.1 spelling) in one dialect."""
        body = _dump([_spell(item, dialect) for item in items])
        return self.case(group, rule, dialect, body)

    def raw(
        self, group: str, rule: str, body: bytes, *, shown: str | None = None
    ) -> Iterator[Case]:
        """A body sent as is, under both media types."""
        for dialect, _ in DIALECTS:
            yield self.case(group, rule, dialect, body, shown=shown)

    def info(self, name: str) -> Any:
        return self.rules.info(name)

    # -- rule groups

    def media_types(self) -> Iterator[Case]:
        group = "media types"
        change = _dump([{"op": "replace", "path": "/name", "value": "renamed"}])
        change20 = _dump([{"replace": "/name", "value": "renamed"}])
        for dialect, mt in DIALECTS:
            body = change20 if dialect == "v2.0" else change
            variants = (
                ("exact", mt),
                ("with '; charset=utf-8'", mt + "; charset=utf-8"),
                ("with ' ; charset=utf-8'", mt + " ; charset=utf-8"),
                ("upper-cased", mt.upper()),
                ("mixed case", mt.title()),
                ("between spaces", f" {mt} "),
                ("with a parameter and no space", mt + ";q=1"),
            )
            for what, value in variants:
                yield self.case(group, f"media type {what}", dialect, body, media_type=value)
            other = change if dialect == "v2.0" else change20
            yield self.case(group, "body of the other dialect", dialect, other)
        bad: tuple[tuple[str, str | None], ...] = (
            ("missing", None),
            ("empty", ""),
            ("application/json", "application/json"),
            ("application/json-patch+json", "application/json-patch+json"),
            ("text/plain", "text/plain"),
            ("v2.2", "application/openstack-images-v2.2-json-patch"),
            ("with a +json suffix", V21 + "+json"),
            ("without its subtype's suffix", "application/openstack-images-v2.1"),
        )
        for what, bad_type in bad:
            for dialect, body in (("v2.0", change20), ("v2.1", change)):
                yield self.case(group, f"media type {what}", dialect, body, media_type=bad_type)
            yield self.case(
                group,
                f"media type {what} beats a malformed body",
                "v2.1",
                b"[",
                media_type=bad_type,
            )

    def bodies(self) -> Iterator[Case]:
        group = "body decoding"
        bodies = (
            ("an empty body", b""),
            ("a body of white space", b" \r\n\t"),
            ("an unclosed array", b"["),
            ("single quotes", b"[{'op': 'add'}]"),
            ("trailing garbage", b"[] x"),
            ("a UTF-8 byte order mark", b"\xef\xbb\xbf[]"),
            ("invalid UTF-8", b"[\xff]"),
            ("an object", b'{"op": "add", "path": "/p", "value": "v"}'),
            ("an empty object", b"{}"),
            ("a number", b"1"),
            ("a string", b'"[]"'),
            ("null", b"null"),
            ("true", b"true"),
            ("NaN", b"[NaN]"),
            ("Infinity as a value", b'[{"op": "remove", "path": "/p", "value": Infinity}]'),
            ("-Infinity as a value", b'[{"op": "remove", "path": "/p", "value": -Infinity}]'),
            ("1e400 as a value", b'[{"op": "remove", "path": "/p", "value": 1e400}]'),
            (
                "an integer of 4301 digits",
                b'[{"op": "remove", "path": "/p", "value": 1' + b"0" * 4300 + b"}]",
            ),
            (
                "an integer of 4300 digits",
                b'[{"op": "remove", "path": "/p", "value": 1' + b"0" * 4299 + b"}]",
            ),
            ("a lone surrogate", b'[{"op": "remove", "path": "/p", "value": "\\ud800"}]'),
            (
                "an escaped surrogate pair",
                b'[{"op": "add", "path": "/p", "value": "\\ud83d\\ude00"}]',
            ),
            ("duplicate 'op'", b'[{"op": "add", "op": "remove", "path": "/p", "value": "v"}]'),
            ("duplicate 'path'", b'[{"op": "remove", "path": "/q", "path": "/p"}]'),
            ("duplicate v2.0 op members", b'[{"remove": "/q", "remove": "/p"}]'),
            (
                "a duplicate in a nested value",
                b'[{"op": "remove", "path": "/p", "value": {"a": 1, "a": 2}}]',
            ),
            (
                "an escaped duplicate name",
                b'[{"op": "add", "\\u006fp": "remove", "path": "/p", "value": "v"}]',
            ),
            ("an empty array", b"[]"),
            ("an empty array among white space", b" \n[ ]\t"),
        )
        for what, body in bodies:
            yield from self.raw(group, f"body: {what}", body)

    def limits_(self) -> Iterator[Case]:
        """Each request limit at its value and one over, with the smallest bodies it allows."""
        group = "request limits"
        limits = self.limits
        n = limits.max_body_bytes
        for size in (n, n + 1):
            body = b"[" + b" " * (size - 2) + b"]"
            shown = f'"[" + {size - 2} spaces + "]" ({size} bytes)'
            yield from self.raw(group, f"body of {size} bytes (limit {n})", body, shown=shown)
        n = limits.max_operations
        for count in (n, n + 1):
            body = b"[" + b",".join([b"0"] * count) + b"]"
            shown = f"[0, 0, ...] ({count} elements)"
            yield from self.raw(group, f"{count} operations (limit {n})", body, shown=shown)
        n = limits.max_string_length
        for size in (n, n + 1):
            for dialect, _ in DIALECTS:
                item = _spell({"op": "remove", "path": "/p", "value": "s" * size}, dialect)
                shown = _dump([{**item, "value": f"<{size} characters>"}]).decode()
                yield self.case(
                    group,
                    f"a string of {size} characters (limit {n})",
                    dialect,
                    _dump([item]),
                    shown=shown,
                )
        n = limits.max_pointer_length
        for size in (n, n + 1):
            path = "/" + "p" * (size - 1)
            for dialect, _ in DIALECTS:
                item = _spell({"op": "add", "path": path, "value": "v"}, dialect)
                short = {**item, ("add" if dialect == "v2.0" else "path"): f"</{size - 1} p>"}
                yield self.case(
                    group,
                    f"a path of {size} characters (limit {n})",
                    dialect,
                    _dump([item]),
                    shown=_dump([short]).decode(),
                )
        n = limits.max_members
        for count in (n, n + 1):
            for dialect, _ in DIALECTS:
                item = _spell({"op": "remove", "path": "/p"}, dialect)
                item.update((f"m{i}", 0) for i in range(count - len(item)))
                shown = f'[{{"op": "remove", "path": "/p", "m0": 0, ...}}] ({count} members)'
                yield self.case(
                    group,
                    f"an object of {count} members (limit {n})",
                    dialect,
                    _dump([item]),
                    shown=shown,
                )
        n = limits.max_depth
        for depth in (n, n + 1):  # the top-level array and the operation are 2 levels
            value: Any = 0
            for _ in range(depth - 2):
                value = [value]
            yield from self.ops(
                group,
                f"nesting of {depth} levels (limit {n})",
                [{"op": "remove", "path": "/p", "value": value}],
            )

    def operations(self) -> Iterator[Case]:
        group = "operation objects"
        for what, element in (
            ("an array", []),
            ("a string", "add"),
            ("a number", 1),
            ("null", None),
            ("true", True),
            ("an array holding an operation", [{"op": "add", "path": "/p", "value": "v"}]),
        ):
            yield from self.ops(group, f"an operation that is {what}", [element])
        v21 = (
            ("no 'op'", {"path": "/p", "value": "v"}),
            ("'op' null", {"op": None, "path": "/p", "value": "v"}),
            ("no 'path'", {"op": "add", "value": "v"}),
            ("no 'value' on add", {"op": "add", "path": "/p"}),
            ("no 'value' on replace", {"op": "replace", "path": "/p"}),
            ("no 'value' on replace of a read-only name", {"op": "replace", "path": "/status"}),
            ("'op' \"Replace\"", {"op": "Replace", "path": "/p", "value": "v"}),
            ("'op' \"ADD\"", {"op": "ADD", "path": "/p", "value": "v"}),
            ("'op' \" add\"", {"op": " add", "path": "/p", "value": "v"}),
            ("'op' \"test\"", {"op": "test", "path": "/p", "value": "v"}),
            ("'op' \"move\"", {"op": "move", "path": "/p", "from": "/q"}),
            ("'op' \"copy\"", {"op": "copy", "path": "/p", "from": "/q"}),
            ("'op' 1", {"op": 1, "path": "/p", "value": "v"}),
            ("'op' [\"add\"]", {"op": ["add"], "path": "/p", "value": "v"}),
            ("a v2.0 operation", {"add": "/p", "value": "v"}),
            ("'path' a number", {"op": "add", "path": 1, "value": "v"}),
            ("'path' null", {"op": "remove", "path": None}),
            ("'path' a list", {"op": "replace", "path": ["/p"], "value": "v"}),
            ("'path' an object", {"op": "add", "path": {"p": 1}, "value": "v"}),
            ("'path' true", {"op": "add", "path": True, "value": "v"}),
            ("extra members", {"op": "replace", "path": "/p", "value": "x", "from": "/q", "x": 1}),
            (
                "a v2.0 member besides 'op'",
                {"op": "replace", "path": "/p", "value": "x", "remove": "/q"},
            ),
            ("a value on remove", {"op": "remove", "path": "/p", "value": "anything"}),
            ("a null value on remove", {"op": "remove", "path": "/p", "value": None}),
            ("an object value on remove", {"op": "remove", "path": "/p", "value": {"a": [1]}}),
            ("a null value", {"op": "add", "path": "/p", "value": None}),
        )
        for what, item in v21:
            yield self.case(group, f"v2.1 operation with {what}", "v2.1", _dump([item]))
        v20: tuple[tuple[str, dict[str, Any]], ...] = (
            ("no operation member", {"path": "/p", "value": "v"}),
            ("two operation members", {"add": "/p", "remove": "/q", "value": "v"}),
            (
                "three operation members",
                {"add": "/p", "remove": "/q", "replace": "/q", "value": "v"},
            ),
            ("no 'value' on add", {"add": "/p"}),
            ("no 'value' on replace", {"replace": "/p"}),
            ("a v2.1 operation", {"op": "replace", "path": "/p", "value": "v"}),
            ("a number as path", {"replace": 1, "value": "v"}),
            ("null as path", {"remove": None}),
            ("extra members", {"replace": "/p", "value": "x", "op": "add", "path": "/q"}),
            ("a value on remove", {"remove": "/p", "value": "anything"}),
            ("a null value", {"replace": "/p", "value": None}),
        )
        for what, item in v20:
            yield self.case(group, f"v2.0 operation with {what}", "v2.0", _dump([item]))

    def pointers(self) -> Iterator[Case]:
        group = "pointers"
        refused = (
            ("no leading slash", "p"),
            ("the empty pointer", ""),
            ("two adjacent slashes inside", "/a//b"),
            ("'/ /' inside", "/a/ /b"),
            ("three leading slashes", "///p"),
            ("a trailing slash", "/p/"),
            ("only a trailing slash after a name with spaces", "/ p /"),
            ("slashes and white space only", "/ / "),
            ("slashes and tabs only", "/\t/\t"),
            ("'~2'", "/p~2"),
            ("a trailing '~'", "/p~"),
            ("a lone '~'", "/~x"),
            ("two tokens", "/p/x"),
            ("a token after name", "/name/0"),
            ("a token after tags", "/tags/0"),
            ("'-' after tags", "/tags/-"),
        )
        for what, path in refused:
            yield from self.ops(
                group, f"pointer with {what}", [{"op": "replace", "path": path, "value": "v"}]
            )
        new = (
            ("'~1' (an escaped slash)", "/a~1b"),
            ("'~0' (an escaped tilde)", "/a~0b"),
            ("'~01' (unescaped in order)", "/a~01"),
            ("'~10' (unescaped in order)", "/a~10"),
            ("a zero-width space (not stripped)", "/\u200bzw"),
            ("'%2F' (no percent-decoding)", "/a%2Fb"),
            ("'+' (no form decoding)", "/a+b"),
        )
        for what, path in new:
            yield from self.ops(
                group, f"pointer with {what}", [{"op": "add", "path": path, "value": "v"}]
            )
            yield from self.ops(
                group, f"remove of a pointer with {what}", [{"op": "remove", "path": path}]
            )
        same = (
            ("a leading space", "/ p"),
            ("a trailing space", "/p "),
            ("a tab", "/\tp"),
            ("a no-break space", "/\u00a0p"),
            ("an ideographic space", "/p\u3000"),
            ("two leading slashes", "//p"),
        )
        for what, path in same:
            yield from self.ops(
                group, f"pointer to p with {what}", [{"op": "replace", "path": path, "value": "x"}]
            )
        yield from self.ops(
            group, "pointer '/': the empty name", [{"op": "add", "path": "/", "value": "v"}]
        )
        yield from self.ops(
            group, "pointer '/ ': the empty name", [{"op": "add", "path": "/ ", "value": "v"}]
        )
        yield from self.ops(
            group,
            "pointer to a read-only name with a space",
            [{"op": "replace", "path": "/ status", "value": "v"}],
        )
        yield from self.ops(
            group,
            "pointer to a reserved name with a space",
            [{"op": "add", "path": "/os_glance_x ", "value": "v"}],
        )
        yield from self.ops(
            group,
            "pointer to the name with a space",
            [{"op": "replace", "path": "/ name", "value": "renamed"}],
        )

    def name_classes(self) -> Iterator[Case]:
        rules = self.rules
        for name in sorted(rules.read_only):
            yield from self._every_verb("read-only names", f"read-only {name}", name)
        reserved = set(rules.reserved)
        for prefix in rules.reserved_prefixes:
            reserved |= {prefix, prefix + "_x", prefix + "foo"}
        for name in sorted(reserved):
            yield from self._every_verb("reserved names", f"reserved {name}", name)
        for prefix in rules.reserved_prefixes:
            upper = prefix.upper() + "_x"
            if upper != prefix + "_x":
                yield from self.ops(
                    "reserved names",
                    f"{upper}: not reserved (case matters)",
                    [{"op": "add", "path": "/" + upper, "value": "v"}],
                )
        for name in sorted(rules.hidden):
            location = {"url": "http://example.com/image.raw", "metadata": {}}
            group, what = "hidden attributes", f"hidden {name}"
            yield from self.ops(
                group,
                f"{what}: add an item",
                [{"op": "add", "path": f"/{name}/-", "value": location}],
            )
            yield from self.ops(
                group, f"{what}: add at 0", [{"op": "add", "path": f"/{name}/0", "value": location}]
            )
            yield from self.ops(
                group, f"{what}: remove an item", [{"op": "remove", "path": f"/{name}/0"}]
            )
            yield from self.ops(
                group,
                f"{what}: replace",
                [{"op": "replace", "path": f"/{name}", "value": [location]}],
            )
            yield from self.ops(
                group,
                f"{what}: replace with []",
                [{"op": "replace", "path": f"/{name}", "value": []}],
            )
            yield from self.ops(
                group,
                f"{what}: add without a position",
                [{"op": "add", "path": f"/{name}", "value": [location]}],
            )
        # every phantom, each verb in one dialect (the dialects alternate from name to name)
        for i, name in enumerate(sorted(rules.phantoms)):
            group, what, path = "phantom attributes", f"phantom {name}", _ptr(name)
            first, second = (DIALECTS[i % 2][0], DIALECTS[1 - i % 2][0])
            yield self.one(group, f"{what}: remove", first, [{"op": "remove", "path": path}])
            yield self.one(
                group, f"{what}: replace", second, [{"op": "replace", "path": path, "value": "x"}]
            )
            verbs = ("add", "replace") if name in rules.unsettable else ("add",)
            for verb in verbs:
                yield self.one(
                    group, f"{what}: {verb}", first, [{"op": verb, "path": path, "value": "x"}]
                )

    def _every_verb(self, group: str, what: str, name: str) -> Iterator[Case]:
        path = _ptr(name)
        yield from self.ops(group, f"{what}: add", [{"op": "add", "path": path, "value": "x"}])
        yield from self.ops(
            group, f"{what}: replace", [{"op": "replace", "path": path, "value": "x"}]
        )
        yield from self.ops(group, f"{what}: remove", [{"op": "remove", "path": path}])

    def values(self) -> Iterator[Case]:
        """Every writable (or protected) attribute, a declared property and a custom one,
        with values on both sides of their rule."""
        rules = self.rules
        names = [n for n in rules.core if self.info(n).kind is Kind.CORE]
        names += sorted(
            n for n in rules.fields if self.info(n).kind is Kind.EXTRA and n in self.base
        )
        names.append("p")
        for name in names:
            info = self.info(name)
            what = "custom property" if name == "p" else name
            for case, value in value_cases(info.field):
                owner, detail = what, case
                if case.startswith("item "):  # of a list
                    owner, detail = f"{what} item", case[len("item ") :]
                group = "value rules"
                if detail.endswith((" characters", " character")):
                    group, rule = "length limits", f"{owner} length: {detail}"
                else:
                    rule = f"{owner} value: {detail}"
                items = [{"op": "replace", "path": _ptr(name), "value": value}]
                yield from self.ops(group, rule, items)
        # a value rule is checked on add too, and wins over existence (a new custom name)
        for detail, value in value_cases(rules.extra_field):
            yield from self.ops(
                "value rules",
                f"new custom property value: {detail}",
                [{"op": "add", "path": "/new", "value": value}],
            )
        most = rules.max_name_length
        for size in (255, 256) if most is None else (most, most + 1):
            yield from self.ops(
                "length limits",
                f"custom property name length: {size} characters",
                [{"op": "add", "path": "/" + "n" * size, "value": "v"}],
            )
        yield from self.ops(  # characters, not bytes
            "length limits",
            f"custom property name length: {most or 255} CJK characters",
            [{"op": "add", "path": "/" + "\u4e2d" * (most or 255), "value": "v"}],
        )
        if most is not None:
            long = "n" * (most + 1)
            yield from self.ops(
                "length limits",
                f"remove of a custom property name of {most + 1} characters",
                [{"op": "remove", "path": "/" + long}],
            )

    def numbers(self) -> Iterator[Case]:
        rules = self.rules
        for name in rules.int32:
            group, what = "integer ranges", f"{name}"
            for detail, value in (
                ("2147483647", 2**31 - 1),
                ("2147483648", 2**31),
                ("2147483648.0", 2.0**31),
                ("2^53", 2**53),
            ):
                yield from self.ops(
                    group,
                    f"{what} of {detail}",
                    [{"op": "replace", "path": "/" + name, "value": value}],
                )
            yield from self.ops(
                group,
                f"{what}: only the final value counts",
                [
                    {"op": "replace", "path": "/" + name, "value": 2**31},
                    {"op": "replace", "path": "/" + name, "value": 5},
                ],
            )
            at_max = self.image(**{name: 2**31 - 1})
            yield from self.ops(
                group,
                f"{what} at 2147483647 re-sent",
                [{"op": "replace", "path": "/" + name, "value": 2**31 - 1}],
                image=at_max,
            )
        for name in sorted(rules.non_negative):
            group, what = "integer ranges", f"{name}"
            for detail, value in (
                ("0", 0),
                ("-1", -1),
                ("-1.0", -1.0),
                ("-0.0", -0.0),
                ("1", 1),
                ("-2147483648", -(2**31)),
            ):
                yield from self.ops(
                    group,
                    f"{what} of {detail}",
                    [{"op": "replace", "path": "/" + name, "value": value}],
                )
                yield from self.ops(
                    group,
                    f"{what} of {detail} by v2.1 add",
                    [{"op": "add", "path": "/" + name, "value": value}],
                )

    def quotas(self) -> Iterator[Case]:
        rules = self.rules
        quota = rules.property_quota
        if quota >= 0:
            group, what = "property quota", f"property quota {quota}"

            def padded(count: int) -> dict[str, Any]:
                image = self.image()
                extra = count - _counted(rules, image)
                for i in range(max(0, extra)):
                    image[FILLER.format(i)] = "f"
                while _counted(rules, image) > count and any(k in image for k in ("p", "q")):
                    image.pop("q" if "q" in image else "p")  # the quota is below the base image
                return image

            new = [{"op": "add", "path": "/new", "value": "v"}]
            if quota >= 1:
                yield from self.ops(
                    group, f"{what}: the {quota}th property", new, image=padded(quota - 1)
                )
            at = padded(quota)
            yield from self.ops(group, f"{what}: property {quota + 1}", new, image=at)
            yield from self.ops(
                group,
                f"{what}: two new at {max(0, quota - 1)}",
                [*new, {"op": "add", "path": "/new2", "value": "v"}],
                image=padded(max(0, quota - 1)),
            )
            if "p" in at:
                yield from self.ops(
                    group,
                    f"{what}: replace at the quota",
                    [{"op": "replace", "path": "/p", "value": "x"}],
                    image=at,
                )
                yield from self.ops(
                    group,
                    f"{what}: remove one and add one at the quota",
                    [{"op": "remove", "path": "/p"}, *new],
                    image=at,
                )
                yield from self.ops(
                    group,
                    f"{what}: v2.1 add over an existing one at the quota",
                    [{"op": "add", "path": "/p", "value": "x"}],
                    image=at,
                )
            yield from self.ops(
                group,
                f"{what}: add and remove a new one at the quota",
                [*new, {"op": "remove", "path": "/new"}],
                image=at,
            )
            over = padded(quota + 2)
            if "p" in over:
                yield from self.ops(
                    group,
                    f"{what}: remove one while 2 over the quota",
                    [{"op": "remove", "path": "/p"}],
                    image=over,
                )
                yield from self.ops(
                    group,
                    f"{what}: replace while 2 over the quota",
                    [{"op": "replace", "path": "/p", "value": "x"}],
                    image=over,
                )
            # names that do not count: a reserved prefix and the core attributes
            for prefix in rules.reserved_prefixes:
                held = padded(max(0, quota - 1))
                held[prefix + "_held"] = "v"  # set by the server, not counted
                yield from self.ops(
                    group,
                    f"{what}: the {quota}th property, an {prefix}* one held too",
                    new,
                    image=held,
                )
            yield from self.ops(
                group,
                f"{what}: the name at the quota",
                [{"op": "replace", "path": "/name", "value": "x"}],
                image=at,
            )
        quota = rules.tag_quota
        for name in sorted(rules.set_valued):
            if quota < 0:
                continue
            group, what = "tag quota", f"{name} quota {quota}"
            item = longest(self.info(name).field.items or Field(("string",)), 3) or "t"
            tags = [f"{item[0]}{i}" for i in range(quota + 1)]
            replace = "replace"
            yield from self.ops(
                group,
                f"{what}: {quota} {name}",
                [{"op": replace, "path": "/" + name, "value": tags[:quota]}],
            )
            yield from self.ops(
                group,
                f"{what}: {quota + 1} {name}",
                [{"op": replace, "path": "/" + name, "value": tags}],
            )
            if quota:
                dup = tags[:quota] + tags[:1]
                yield from self.ops(
                    group,
                    f"{what}: {quota} {name} and a repeated one",
                    [{"op": replace, "path": "/" + name, "value": dup}],
                )
            full = self.image(**{name: tags[:quota]})
            yield from self.ops(
                group,
                f"{what}: the {quota} {name} re-sent",
                [{"op": replace, "path": "/" + name, "value": tags[:quota]}],
                image=full,
            )
            yield from self.ops(
                group,
                f"{what}: the {quota} {name} re-sent and one repeated",
                [{"op": replace, "path": "/" + name, "value": tags[:quota] + tags[:1]}],
                image=full,
            )
            yield from self.ops(
                group,
                f"{what}: no {name}",
                [{"op": replace, "path": "/" + name, "value": []}],
                image=full,
            )

    def protection(self) -> Iterator[Case]:
        rules = self.rules
        if rules.writable is None:
            return
        group = "protected attributes"
        names = [n for n in rules.core if self.info(n).protected]
        names += sorted(rules.vendor_attributes)
        names += [p + "os_bit" for p in rules.vendor_prefixes]
        names += [p + "new" for p in rules.vendor_prefixes]
        for name in names:
            info = self.info(name)
            path = _ptr(name)
            current = self.base.get(name, _ABSENT)
            what = f"protected {name}"
            other = _other_value(info.field, current)
            yield from self.ops(group, f"{what}: remove", [{"op": "remove", "path": path}])
            if other is not _ABSENT:
                yield from self.ops(
                    group,
                    f"{what}: replace with another value",
                    [{"op": "replace", "path": path, "value": other}],
                )
                yield from self.ops(
                    group,
                    f"{what}: add another value",
                    [{"op": "add", "path": path, "value": other}],
                )
            if current is _ABSENT:
                continue
            yield from self.ops(
                group,
                f"{what}: replace with its value",
                [{"op": "replace", "path": path, "value": current}],
            )
            yield from self.ops(
                group, f"{what}: add its value", [{"op": "add", "path": path, "value": current}]
            )
            absent = self.image(**{name: _ABSENT})
            yield from self.ops(
                group,
                f"{what}: replace when absent",
                [{"op": "replace", "path": path, "value": current}],
                image=absent,
            )
            if name in rules.set_valued and isinstance(current, list) and len(current) > 1:
                yield from self.ops(
                    group,
                    f"{what}: replace with its items in another order",
                    [{"op": "replace", "path": path, "value": current[::-1]}],
                )
                yield from self.ops(
                    group,
                    f"{what}: replace with its items and a repeat",
                    [{"op": "replace", "path": path, "value": [*current, current[0]]}],
                )
                yield from self.ops(
                    group,
                    f"{what}: replace with some of its items",
                    [{"op": "replace", "path": path, "value": current[:1]}],
                )
            if current.__class__ is int and current.__class__ is not bool:
                yield from self.ops(
                    group,
                    f"{what}: replace with its value as a float",
                    [{"op": "replace", "path": path, "value": float(current)}],
                )
            if current.__class__ is bool:
                yield from self.ops(
                    group,
                    f"{what}: replace with its value as a number",
                    [{"op": "replace", "path": path, "value": int(current)}],
                )
            yield from self.ops(
                group,
                f"{what}: changed and changed back",
                [{"op": "replace", "path": path, "value": current}] * 2,
            )
        for name in sorted(rules.writable):
            if self.info(name).kind is Kind.EXTRA and name in self.base:
                path = _ptr(name)
                yield from self.ops(
                    group, f"writable {name}: remove", [{"op": "remove", "path": path}]
                )
                yield from self.ops(
                    group,
                    f"writable {name}: add",
                    [{"op": "add", "path": path, "value": "x"}],
                    image=self.image(**{name: _ABSENT}),
                )

    def existence(self) -> Iterator[Case]:
        rules = self.rules
        group = "existence"
        yield from self.ops(
            group,
            "replace of a missing property",
            [{"op": "replace", "path": "/missing", "value": "v"}],
        )
        yield from self.ops(
            group, "remove of a missing property", [{"op": "remove", "path": "/missing"}]
        )
        yield from self.ops(
            group, "add of an existing property", [{"op": "add", "path": "/p", "value": "x"}]
        )
        yield from self.ops(
            group,
            "add of an existing property, same value",
            [{"op": "add", "path": "/p", "value": "v"}],
        )
        yield from self.ops(
            group, "add of a new property", [{"op": "add", "path": "/new", "value": "v"}]
        )
        yield from self.ops(
            group,
            "remove then add of a property",
            [{"op": "remove", "path": "/p"}, {"op": "add", "path": "/p", "value": "x"}],
        )
        yield from self.ops(
            group,
            "add then remove of a new property",
            [{"op": "add", "path": "/new", "value": "v"}, {"op": "remove", "path": "/new"}],
        )
        yield from self.ops(
            group,
            "add then replace of a new property",
            [
                {"op": "add", "path": "/new", "value": "v"},
                {"op": "replace", "path": "/new", "value": "x"},
            ],
        )
        yield from self.ops(
            group, "remove twice", [{"op": "remove", "path": "/p"}, {"op": "remove", "path": "/p"}]
        )
        yield from self.ops(
            group,
            "a property whose value is null",
            [{"op": "replace", "path": "/nul", "value": "x"}],
            image=self.image(nul=None),
        )
        for name in rules.core:
            info = self.info(name)
            if info.kind is not Kind.CORE:
                continue
            value = self.base.get(name)
            yield from self.ops(
                group, f"remove of core {name}", [{"op": "remove", "path": "/" + name}]
            )
            yield from self.ops(
                group, f"add of core {name}", [{"op": "add", "path": "/" + name, "value": value}]
            )
            missing = self.image(**{name: _ABSENT})
            yield from self.ops(
                group,
                f"replace of core {name} missing from the image",
                [{"op": "replace", "path": "/" + name, "value": value}],
                image=missing,
            )
            yield from self.ops(
                group,
                f"add of core {name} missing from the image",
                [{"op": "add", "path": "/" + name, "value": value}],
                image=missing,
            )

    def policy(self) -> Iterator[Case]:
        rules = self.rules
        group = "policy checks"
        for name in sorted(rules.admin_only):
            other = "other-project"
            if not _passes(self.info(name).field, other):
                continue
            yield from self.ops(
                group, f"{name}: replace", [{"op": "replace", "path": "/" + name, "value": other}]
            )
            yield from self.ops(
                group, f"{name}: add", [{"op": "add", "path": "/" + name, "value": other}]
            )
            yield from self.ops(
                group,
                f"{name}: replace with its value",
                [{"op": "replace", "path": "/" + name, "value": self.base.get(name)}],
            )
            yield from self.ops(group, f"{name}: remove", [{"op": "remove", "path": "/" + name}])
        for name, gate in sorted(rules.status_gated.items()):
            field = self.info(name).field
            values = [v for v in (field.enum or ()) if v != self.base.get(name)][:1] or ["x"]
            for status in STATUSES:
                image = self.image(status=status)
                allowed = "allowed" if status in gate else "gated"
                yield from self.ops(
                    group,
                    f"{name} on a {status} image ({allowed})",
                    [{"op": "replace", "path": "/" + name, "value": values[0]}],
                    image=image,
                )
            yield from self.ops(
                group,
                f"{name} re-sent on an active image",
                [{"op": "replace", "path": "/" + name, "value": self.base.get(name)}],
            )
            yield from self.ops(
                group,
                f"{name} set to null on a queued image",
                [{"op": "replace", "path": "/" + name, "value": None}],
                image=self.image(status="queued"),
            )

    def four_byte(self) -> Iterator[Case]:
        rules = self.rules
        group = "4-byte characters"
        emoji = "v" + EMOJI
        for name in rules.four_byte_order:
            yield from self.ops(
                group,
                f"a 4-byte character in {name}",
                [{"op": "replace", "path": "/" + name, "value": emoji}],
            )
        yield from self.ops(
            group,
            "a 4-byte character in a new property",
            [{"op": "add", "path": "/new", "value": emoji}],
        )
        yield from self.ops(
            group,
            "a 4-byte character in a changed property",
            [{"op": "replace", "path": "/p", "value": emoji}],
        )
        yield from self.ops(
            group,
            "a 4-byte character in a new property name",
            [{"op": "add", "path": "/n" + EMOJI, "value": "v"}],
        )
        for name in sorted(rules.set_valued):
            yield from self.ops(
                group,
                f"a 4-byte character in {name}",
                [{"op": "replace", "path": "/" + name, "value": [emoji]}],
            )
        yield from self.ops(
            group,
            "a 3-byte character in a new property",
            [{"op": "add", "path": "/new", "value": "\u4e2d\uffff"}],
        )
        yield from self.ops(
            group,
            "a 4-byte character in a removed value",
            [{"op": "remove", "path": "/p", "value": emoji}],
        )
        held = self.image(emo=emoji)
        yield from self.ops(
            group,
            "a 4-byte character the image holds, untouched",
            [{"op": "replace", "path": "/p", "value": "x"}],
            image=held,
        )
        yield from self.ops(
            group,
            "a 4-byte character the image holds, re-sent",
            [{"op": "replace", "path": "/emo", "value": emoji}],
            image=held,
        )

    def precedence(self) -> Iterator[Case]:
        group = "error precedence and atomicity"
        read_only = sorted(self.rules.read_only)[:1] or ["id"]
        rename = {"op": "replace", "path": "/name", "value": "renamed"}
        cases = (
            (
                "a parse error after an apply error",
                [
                    {"op": "remove", "path": "/missing"},
                    {"op": "replace", "path": "/" + read_only[0], "value": "x"},
                ],
            ),
            (
                "a value error after an apply error",
                [{"op": "remove", "path": "/missing"}, {"op": "add", "path": "/p", "value": 1}],
            ),
            (
                "a pointer error after a valid change",
                [rename, {"op": "add", "path": "p", "value": "v"}],
            ),
            (
                "two apply errors",
                [{"op": "remove", "path": "/missing"}, {"op": "remove", "path": "/name"}],
            ),
            (
                "an apply error after valid changes",
                [
                    rename,
                    {"op": "add", "path": "/new", "value": "v"},
                    {"op": "remove", "path": "/missing"},
                ],
            ),
            (
                "a finishing error after an apply error",
                [
                    {"op": "add", "path": "/new", "value": "v" + EMOJI},
                    {"op": "remove", "path": "/missing"},
                ],
            ),
            (
                "a finishing error after a valid change",
                [rename, {"op": "add", "path": "/new", "value": "v" + EMOJI}],
            ),
            (
                "a change then a remove of a core attribute",
                [{"op": "replace", "path": "/p", "value": "x"}, {"op": "remove", "path": "/name"}],
            ),
            (
                "a new property then a missing one",
                [
                    {"op": "add", "path": "/new", "value": "v"},
                    {"op": "replace", "path": "/missing", "value": "v"},
                ],
            ),
            (
                "a removal then a missing one",
                [{"op": "remove", "path": "/p"}, {"op": "remove", "path": "/missing"}],
            ),
            ("a valid change, then an operation that is not an object", [rename, 1]),
            (
                "a valid change and a name too long for IMS",
                [rename, {"op": "replace", "path": "/name", "value": "n" * 200 + "/"}],
            ),
            (
                "several valid changes",
                [
                    rename,
                    {"op": "add", "path": "/new", "value": "v"},
                    {"op": "remove", "path": "/q"},
                    {"op": "replace", "path": "/p", "value": "x"},
                ],
            ),
        )
        for what, items in cases:
            yield from self.ops(group, what, items)
        if self.rules.vendor_prefixes:
            yield from self.ops(
                group,
                "a protected name after a valid change",
                [
                    rename,
                    {
                        "op": "replace",
                        "path": "/" + self.rules.vendor_prefixes[0] + "os_bit",
                        "value": "32",
                    },
                ],
            )

    def results(self) -> Iterator[Case]:
        group = "results"
        null = self.image(nul=None, empty="")
        yield from self.ops(
            group,
            "a null property left alone",
            [{"op": "replace", "path": "/p", "value": "x"}],
            image=null,
        )
        yield from self.ops(group, "an empty request", [], image=null)
        yield from self.ops(
            group,
            "a value with JSON escapes",
            [{"op": "add", "path": "/new", "value": 'a"b\\c\u0001\u2028'}],
        )
        yield from self.ops(
            group, "a value with NUL", [{"op": "add", "path": "/new", "value": "a\x00b"}]
        )
        yield from self.ops(group, "an empty value", [{"op": "add", "path": "/new", "value": ""}])
        yield from self.ops(
            group, "a value with spaces around it", [{"op": "add", "path": "/new", "value": " v "}]
        )


def _other_value(field: Field, current: Any) -> Any:
    """A value the rule accepts that differs from *current* (or _ABSENT)."""
    for _, value in [("", "other"), *value_cases(field), ("", True), ("", 7)]:
        if _passes(field, value) and not _same(value, current):
            return value
    return _ABSENT


def _same(a: Any, b: Any) -> bool:
    return a.__class__ is b.__class__ and a == b


def _ptr(name: str) -> str:
    return "/" + name.replace("~", "~0").replace("/", "~1")


def _spell(item: Any, dialect: str) -> Any:
    """A v2.1 operation object in *dialect* (anything else as it is)."""
    if dialect == "v2.1" or not isinstance(item, dict) or not isinstance(item.get("op"), str):
        return item
    if item["op"] not in ("add", "remove", "replace") or "path" not in item:
        return item
    spelled = {item["op"]: item["path"]}
    spelled.update((k, v) for k, v in item.items() if k not in ("op", "path"))
    return spelled


def _dump(items: list[Any]) -> bytes:
    return json.dumps(items, ensure_ascii=False).encode()


#: The groups of a sweep, in the order they run.
_GROUPS = (
    "media_types",
    "bodies",
    "operations",
    "pointers",
    "name_classes",
    "values",
    "numbers",
    "quotas",
    "protection",
    "existence",
    "policy",
    "four_byte",
    "precedence",
    "results",
    "limits_",
)


def sweep(
    rules: Rules = IMS, *, admin: bool = False, limits: Limits = DEFAULT_LIMITS
) -> Iterator[Case]:
    """Every case of the deterministic sweep for *rules* (see the module's docstring).

    The large bodies of the request limits are built when their case comes
    and come last, so a failing sweep reports the small cases first.
    """
    state = _Sweep(rules, admin, limits)
    for group in _GROUPS:
        yield from getattr(state, group)()
