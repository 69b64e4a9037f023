"""Rule sets as data: which names may change, what values they take, quotas.

A :class:`Rules` object is frozen data; the parser and the apply loop read it
and never name an attribute themselves.  Two ship: :data:`GLANCE` (upstream
Glance 33 in its default deployment) and :data:`IMS` (Huawei IMS: only the
name, the description and user-defined properties may change).  Derive your
own with :meth:`Rules.replace`, e.g. ``IMS.replace(property_quota=-1)``.
"""

from __future__ import annotations

import re
import sys
from collections import namedtuple
from collections.abc import Callable, Mapping, Sized
from enum import Enum

from ._frozen import Frozen, set_field, set_fields
from ._pointer import CACHE_SIZE, CACHED_KEY_MAX
from .errors import shown_value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NamedTuple

__all__ = [
    "GLANCE",
    "IMS",
    "INT32_MAX",
    "STATUS_ATTRIBUTE",
    "Field",
    "Kind",
    "NameInfo",
    "Rules",
    "has_four_byte",
    "json_equal",
    "same_set",
]

#: The image attribute whose value the status gates read (``Rules.status_gated``).
STATUS_ATTRIBUTE = "status"
#: The largest value the finishing check lets a ``Rules.int32`` attribute have.
INT32_MAX = 2**31 - 1

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "null": (type(None),),
    "boolean": (bool,),
    "integer": (int, float),
    "array": (list,),
    "object": (dict,),
}


def _is(json_type: str, value: Any) -> bool:
    cls = value.__class__
    if json_type == "integer":
        return cls is int or (cls is float and value.is_integer())
    return cls in _JSON_TYPES[json_type]


class _Fresh:
    """The default of a field that gets a new mutable value per instance."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<factory>"


_FRESH: Any = _Fresh()


class Field(Frozen):
    """The value rule of one attribute: a small, exact subset of JSON Schema.

    ``check`` gives the first problem as ``(code, message)`` or ``None``;
    ``to_schema`` renders the same rule as JSON Schema 2020-12, so the
    documents in ``schemas/`` and the engine cannot drift apart.  A vendor
    ``code``/``message`` replaces the generic schema error; ``length_code``
    wins over every other problem of a string that is too long.
    """

    __match_args__ = (
        "types", "enum", "min_length", "max_length", "pattern", "items", "properties",
        "required", "additional", "code", "message", "length_code", "length_message",
    )  # fmt: skip
    __slots__ = (*__match_args__, "plain_types", "accepts")
    types: tuple[str, ...]
    enum: tuple[Any, ...] | None
    min_length: int
    max_length: int | None
    pattern: str | None
    items: Field | None
    properties: Mapping[str, Field]
    required: tuple[str, ...]
    additional: bool
    code: str
    message: str | None
    length_code: str | None
    length_message: str | None
    #: Scalar classes whose values pass without further thought (the rule has no
    #: enum, pattern or length rule); never dict or list.  Derived.
    plain_types: frozenset[type]
    #: Whether a value passes: :meth:`check` with a fast answer for a string
    #: within a plain string rule (lengths, pattern).  Derived.
    accepts: Callable[[Any], bool]

    def __init__(
        self,
        types: tuple[str, ...],
        enum: tuple[Any, ...] | None = None,
        min_length: int = 0,
        max_length: int | None = None,
        pattern: str | None = None,
        items: Field | None = None,
        properties: Mapping[str, Field] = _FRESH,
        required: tuple[str, ...] = (),
        additional: bool = True,
        code: str = "invalid_value",
        message: str | None = None,
        length_code: str | None = None,
        length_message: str | None = None,
    ) -> None:
        if properties is _FRESH:
            properties = {}
        set_fields(self, locals())
        simple = enum is None and items is None and not properties
        plain = {  # a container would still need a depth check and a copy
            cls for t in types for cls in _JSON_TYPES[t] if t not in ("integer", "array", "object")
        }
        unbounded = simple and pattern is None and not min_length
        set_field(self, "plain_types", frozenset(plain if unbounded and max_length is None else ()))
        accepts = _passes(self.check)
        if simple and "string" in types:
            accepts = _passes_string(min_length, max_length or sys.maxsize, pattern, self.check)
        set_field(self, "accepts", accepts)

    def replace(self, /, **changes: Any) -> Field:
        """This rule with *changes* to some of its fields (``copy.replace`` on 3.13+)."""
        return self.__replace__(**changes)

    def check(self, value: Any) -> tuple[str, str] | None:
        """Return ``(code, message)`` for the violation jsonschema reports, or ``None``."""
        if self._problem(value, deep=True) is None:  # the one pass a good value costs
            return None
        found = self._best(value)
        assert found is not None  # the pass above found one
        code, detail = found[1]
        if code == "invalid_value":
            return code, "Provided object does not match schema 'image': " + detail
        return code, detail

    def _best(self, value: Any) -> tuple[tuple[Any, ...], tuple[str, str]] | None:
        """The violation jsonschema's ``best_match`` picks, and its path below *value*.

        One violation per value, in the order upstream's schemas list their
        keywords; of the values below, the one nearest to the top wins, and
        among siblings the greatest path (jsonschema's relevance: the last
        bad tag, not the first).
        """
        own = self._problem(value)
        if own is not None:
            return (), own
        best = None
        if value.__class__ is list and self.items is not None:
            rule = self.items
            for index, item in enumerate(value):
                found = rule._best(item)
                if found is not None:
                    best = _nearer((index, *found[0]), found[1], best)
        elif value.__class__ is dict and self.properties:
            for name, item in value.items():
                inner = self.properties.get(name)
                found = None if inner is None else inner._best(item)
                if found is not None:
                    best = _nearer((name, *found[0]), found[1], best)
        return best

    def _problem(self, value: Any, *, deep: bool = False) -> tuple[str, str] | None:
        """The first violation of this value itself, or (*deep*) of any value inside it."""
        if not any(_is(t, value) for t in self.types):
            names = ", ".join(repr(t) for t in self.types)
            return self._fail(f"{shown_value(value)} is not of type {names}")
        if self.enum is not None and not any(_same(value, e) for e in self.enum):
            return self._fail(f"{shown_value(value)} is not one of {list(self.enum)!r}")
        if value.__class__ is str:
            return self._string_problem(value)
        if deep and value.__class__ is list and self.items is not None:
            for item in value:
                problem = self.items._problem(item, deep=True)
                if problem is not None:
                    return problem
        if value.__class__ is dict:
            return self._object_problem(value, deep=deep)
        return None

    def _string_problem(self, value: str) -> tuple[str, str] | None:
        if self.max_length is not None and len(value) > self.max_length:
            if self.length_code is not None:
                return self.length_code, self.length_message or ""
            too_long = "is expected to be empty" if self.max_length == 0 else "is too long"
            return self._fail(f"{shown_value(value)} {too_long}")
        if len(value) < self.min_length:
            too_short = "should be non-empty" if self.min_length == 1 else "is too short"
            return self._fail(f"{shown_value(value)} {too_short}")
        if self.pattern is not None and _regex(self.pattern).search(value) is None:
            return self._fail(f"{shown_value(value)} does not match {self.pattern!r}")
        return None

    def _object_problem(self, value: dict[str, Any], *, deep: bool) -> tuple[str, str] | None:
        if not self.additional and not value.keys() <= self.properties.keys():
            extra = sorted(value.keys() - self.properties.keys())
            verb = "was" if len(extra) == 1 else "were"
            listed = shown_value(extra if len(extra) > 1 else extra[0])
            if len(extra) > 1 and listed.endswith("]"):
                listed = listed[1:-1]
            return self._fail(f"Additional properties are not allowed ({listed} {verb} unexpected)")
        for name in self.required:
            if name not in value:
                return self._fail(f"{name!r} is a required property")
        if deep:
            for name, item in value.items():
                rule = self.properties.get(name)
                problem = None if rule is None else rule._problem(item, deep=True)
                if problem is not None:
                    return problem
        return None

    def _fail(self, detail: str) -> tuple[str, str]:
        return self.code, self.message or detail

    def to_schema(self) -> dict[str, Any]:
        """This rule as a JSON Schema 2020-12 fragment."""
        types = list(self.types)
        schema: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.min_length:
            schema["minLength"] = self.min_length
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.items is not None:
            schema["items"] = self.items.to_schema()
        if self.properties:
            schema["properties"] = {k: v.to_schema() for k, v in self.properties.items()}
        if self.required:
            schema["required"] = list(self.required)
        if not self.additional:
            schema["additionalProperties"] = False
        return schema


def _nearer(
    path: tuple[Any, ...],
    problem: tuple[str, str],
    best: tuple[tuple[Any, ...], tuple[str, str]] | None,
) -> tuple[tuple[Any, ...], tuple[str, str]]:
    """jsonschema's relevance of two sibling violations: the shorter path, else the greater."""
    if best is None or (-len(path), path) > (-len(best[0]), best[0]):
        return path, problem
    return best


def _passes(check: Callable[[Any], tuple[str, str] | None]) -> Callable[[Any], bool]:
    def accepts(value: Any) -> bool:
        return check(value) is None

    return accepts


def _passes_string(
    shortest: int,
    longest: int,
    pattern: str | None,
    check: Callable[[Any], tuple[str, str] | None],
) -> Callable[[Any], bool]:
    """The value check of a plain string rule, one call for a good string."""
    search = None  # compiled on first use: a rule set costs nothing to import

    def accepts(value: Any) -> bool:
        nonlocal search
        if value.__class__ is str and shortest <= len(value) <= longest:
            if pattern is None:
                return True
            if search is None:
                search = _regex(pattern).search
            if search(value) is not None:
                return True
        return check(value) is None

    return accepts


_REGEXES: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    compiled = _REGEXES.get(pattern)
    if compiled is None:
        compiled = _REGEXES[pattern] = re.compile(pattern)
    return compiled


def _same(a: Any, b: Any) -> bool:
    return json_equal(a, b)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: same type, numbers numerically, bool is not 1.

    Containers are compared level by level without recursion, at any depth.
    """
    pairs = [(a, b)]
    while pairs:
        a, b = pairs.pop()
        ca, cb = a.__class__, b.__class__
        if ca is bool or cb is bool:
            if ca is not cb or a != b:
                return False
        elif ca in (int, float) and cb in (int, float):
            if a != b:
                return False
        elif ca is not cb:
            return False
        elif ca is list:
            if len(a) != len(b):
                return False
            pairs.extend(zip(a, b, strict=True))
        elif ca is dict:
            if a.keys() != b.keys():
                return False
            pairs.extend((v, b[k]) for k, v in a.items())
        elif not _plain_equal(a, b):
            return False
    return True


def _plain_equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # a trusted image may still hold odd objects
        return False


def same_set(value: Any, current: Any) -> bool:
    """Equality of a set-valued attribute (``tags``), which upstream stores as a set.

    *current* is a list with the same elements as *value*; an element that
    cannot be hashed is no string, and makes the two differ.
    """
    try:
        return isinstance(current, list) and set(value) == set(current)
    except TypeError:
        return False


def has_four_byte(value: Any) -> bool:
    """Whether *value* is a string with a character of 4 UTF-8 bytes (U+10000 and above).

    The finishing checks refuse such a character in a changed value or a
    new name (SPEC 6.1).  These are the characters that take two UTF-16 code
    units, which the codec counts in C.
    """
    return (
        value.__class__ is str
        and not value.isascii()
        and len(value.encode("utf-16-le", "surrogatepass")) != 2 * len(value)
    )


class Kind(Enum):
    """What a name is, as far as a patch is concerned."""

    READ_ONLY = "read_only"  # 403 at parse time, remove included
    RESERVED = "reserved"  # 403 at parse time, remove included
    HIDDEN = "hidden"  # an attribute no operation may touch (locations)
    CORE = "core"  # a writable core attribute
    PHANTOM = "phantom"  # a name upstream treats as an attribute but has none
    EXTRA = "extra"  # a custom (extra) property


if TYPE_CHECKING:

    class NameInfo(NamedTuple):
        """Everything the engine needs to know about one name, computed once."""

        kind: Kind
        protected: bool
        field: Field

else:  # the same class, without importing typing
    NameInfo = namedtuple("NameInfo", ("kind", "protected", "field"))


# --- Glance 33 facts (reference/glance-behaviour.md) ------------------------

GLANCE_READ_ONLY = frozenset(
    {
        "created_at", "updated_at", "status", "checksum", "size", "virtual_size",
        "direct_url", "self", "file", "schema", "id", "os_hash_algo", "os_hash_value",
    }
)  # fmt: skip
GLANCE_RESERVED = frozenset({"location", "deleted", "deleted_at"})
GLANCE_WRITABLE = (
    "name", "visibility", "protected", "os_hidden", "min_ram", "min_disk",
    "owner", "disk_format", "container_format", "tags",
)  # fmt: skip

_LOCATION = Field(
    ("object",),
    properties={
        "url": Field(("string",), max_length=255),
        "metadata": Field(("object",)),
        "validation_data": Field(
            ("object",),
            properties={
                "checksum": Field(("string",), min_length=32, max_length=32),
                "os_hash_algo": Field(("string",), max_length=64),
                "os_hash_value": Field(("string",), max_length=128),
            },
            required=("os_hash_algo", "os_hash_value"),
            additional=False,
        ),
    },
    required=("url", "metadata"),
)

GLANCE_FIELDS: dict[str, Field] = {
    "name": Field(("null", "string"), max_length=255),
    "visibility": Field(("string",), enum=("community", "public", "private", "shared")),
    "protected": Field(("boolean",)),
    "os_hidden": Field(("boolean",)),
    "owner": Field(("null", "string"), max_length=255),
    "min_ram": Field(("integer",)),
    "min_disk": Field(("integer",)),
    "container_format": Field(
        ("null", "string"),
        enum=(None, "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"),
    ),
    "disk_format": Field(
        ("null", "string"),
        enum=(
            None,
            "ami",
            "ari",
            "aki",
            "vhd",
            "vhdx",
            "vmdk",
            "raw",
            "qcow2",
            "vdi",
            "iso",
            "ploop",
        ),
    ),
    "tags": Field(("array",), items=Field(("string",), max_length=255)),
    "locations": Field(("array",), items=_LOCATION),
    "stores": Field(("string",)),
}

#: Names for which ``hasattr(image, name)`` holds on the object Glance's
#: controller patches although the image API shows no such attribute.
GLANCE_PHANTOMS = frozenset(
    {
        "image_id", "member", "extra_properties", "base", "helper", "context", "notifier",
        "repo", "delete", "deactivate", "reactivate", "get_data", "set_data", "get_payload",
        "get_super_class", "send_notification", "_format_image_send",
        "_format_import_properties", "_get_chunk_data_iterator", "_abc_impl",
        "__class__", "__delattr__", "__dict__", "__dir__", "__doc__", "__eq__", "__format__",
        "__ge__", "__getattribute__", "__getstate__", "__gt__", "__hash__", "__init__",
        "__init_subclass__", "__le__", "__lt__", "__module__", "__ne__", "__new__",
        "__reduce__", "__reduce_ex__", "__repr__", "__setattr__", "__sizeof__", "__str__",
        "__subclasshook__", "__weakref__", "__abstractmethods__",
    }
)  # fmt: skip
#: Phantoms upstream cannot set at all (404 or 500 there); imspatch says 403.
GLANCE_UNSETTABLE = frozenset(
    {"image_id", "extra_properties", "base", "__class__", "__dict__", "__weakref__"}
)

IMS_NAME = Field(
    ("string",),
    min_length=1,
    max_length=128,
    pattern=(
        r"^[A-Za-z0-9\u4e00-\u9fff._-](?:[A-Za-z0-9\u4e00-\u9fff._ -]*"
        r"[A-Za-z0-9\u4e00-\u9fff._-])?(?![\s\S])"
    ),
    code="IMG.0003",
    message="The image name format is invalid.",
    length_code="IMG.0002",
    length_message="The image name contains more than 128 characters.",
)
IMS_DESCRIPTION = Field(
    ("string",),
    max_length=1024,
    pattern=r"^[^\r\n<>]*(?![\s\S])",
    code="IMG.0054",
    message="The image description format is invalid.",
    length_code="IMG.0004",
    length_message="The description contains more than 1024 characters.",
)
IMS_ATTRIBUTES = frozenset(
    {
        "virtual_env_type", "hw_firmware_type", "enterprise_project_id", "max_ram",
        "hw_vif_multiqueue_enabled", "active_at",
    }
)  # fmt: skip


class Rules(Frozen):
    """One rule set: name classes, writable attributes, value rules, quotas.

    ``writable`` is ``None`` when every attribute Glance lets a user write is
    writable; otherwise only the names in it and user-defined properties are,
    and every other core attribute, every ``vendor_attributes`` name and every
    name with a ``vendor_prefixes`` prefix is *protected*: a policy check in
    the apply phase that lets an add or replace through only when it would
    not change the value (SPEC 6.2).

    Two rule sets are equal only if they are the same object (each keeps its
    own caches); derive one with :meth:`replace`.
    """

    __match_args__ = (
        "name", "read_only", "reserved", "reserved_prefixes", "core", "hidden", "phantoms",
        "unsettable", "fields", "extra_field", "max_name_length", "path_depth", "writable",
        "vendor_attributes", "vendor_prefixes", "admin_only", "status_gated", "non_negative",
        "int32", "set_valued", "four_byte_order", "property_quota", "tag_quota",
    )  # fmt: skip
    __slots__ = (*__match_args__, "_names", "_plans")
    __eq__ = object.__eq__
    __hash__ = object.__hash__
    name: str
    read_only: frozenset[str]
    reserved: frozenset[str]
    reserved_prefixes: tuple[str, ...]
    core: tuple[str, ...]
    hidden: frozenset[str]
    phantoms: frozenset[str]
    unsettable: frozenset[str]
    fields: Mapping[str, Field]
    extra_field: Field
    max_name_length: int | None
    path_depth: Mapping[str, Mapping[str, int]]
    writable: frozenset[str] | None
    vendor_attributes: frozenset[str]
    vendor_prefixes: tuple[str, ...]
    admin_only: frozenset[str]
    status_gated: Mapping[str, tuple[str, ...]]
    non_negative: frozenset[str]
    int32: tuple[str, ...]
    set_valued: frozenset[str]
    four_byte_order: tuple[str, ...]
    property_quota: int
    tag_quota: int
    _names: dict[str, NameInfo]
    _plans: tuple[dict[Any, Any], dict[Any, Any]]

    def __init__(
        self,
        name: str,
        read_only: frozenset[str] = GLANCE_READ_ONLY,
        reserved: frozenset[str] = GLANCE_RESERVED,
        reserved_prefixes: tuple[str, ...] = ("os_glance",),
        core: tuple[str, ...] = GLANCE_WRITABLE,
        hidden: frozenset[str] = frozenset({"locations"}),
        phantoms: frozenset[str] = GLANCE_PHANTOMS,
        unsettable: frozenset[str] = GLANCE_UNSETTABLE,
        fields: Mapping[str, Field] = _FRESH,
        extra_field: Field = Field(("string",)),  # noqa: B008 - frozen, shared like a dataclass default
        max_name_length: int | None = None,
        path_depth: Mapping[str, Mapping[str, int]] = _FRESH,
        writable: frozenset[str] | None = None,
        vendor_attributes: frozenset[str] = frozenset(),
        vendor_prefixes: tuple[str, ...] = (),
        admin_only: frozenset[str] = frozenset({"owner"}),
        status_gated: Mapping[str, tuple[str, ...]] = _FRESH,
        non_negative: frozenset[str] = frozenset({"min_ram", "min_disk"}),
        int32: tuple[str, ...] = ("min_disk", "min_ram"),
        set_valued: frozenset[str] = frozenset({"tags"}),
        four_byte_order: tuple[str, ...] = ("name", "owner"),
        property_quota: int = 128,
        tag_quota: int = 128,
    ) -> None:
        if fields is _FRESH:
            fields = dict(GLANCE_FIELDS)
        if path_depth is _FRESH:
            path_depth = {"locations": {"add": 2, "remove": 2, "replace": 1}}
        if status_gated is _FRESH:
            status_gated = {
                "disk_format": ("queued", "importing"),
                "container_format": ("queued", "importing"),
            }
        set_fields(self, locals())
        set_field(self, "_names", {})
        set_field(self, "_plans", ({}, {}))

    def __repr__(self) -> str:
        """The name, and each field that differs from :data:`GLANCE`'s, in brief.

        ``help()`` on every function that takes ``rules=IMS`` prints it.
        """
        shown = [f"name={self.name!r}"]
        for field in self.__match_args__[1:]:
            value, default = getattr(self, field), getattr(GLANCE, field)
            if value != default:
                shown.append(f"{field}={_brief(value, default)}")
        return f"Rules({', '.join(shown)})"

    def replace(self, /, **changes: Any) -> Rules:
        """A rule set like this one with *changes*, and caches of its own.

        E.g. ``IMS.replace(property_quota=-1)``; an unknown name raises
        ``TypeError``.  ``copy.replace`` does the same on Python 3.13+.
        """
        return self.__replace__(**changes)

    def plans(self, v20: bool) -> dict[Any, Any]:
        """The parser's cache of checked ``(op, path)`` plans for one dialect.

        ``(op, path) -> _parse.Quick``, bounded (``_parse._remember``).
        """
        return self._plans[v20]

    @property
    def error_style(self) -> str:
        """The error-body style of this rule set (``"ims"`` or ``"glance"``)."""
        return "glance" if self.name == "glance" else "ims"

    def info(self, name: str) -> NameInfo:
        """Classify *name* once; later calls are a dictionary lookup."""
        known = self._names.get(name)
        if known is None:
            known = self._classify(name)
            if len(name) <= CACHED_KEY_MAX:
                if len(self._names) >= CACHE_SIZE:
                    self._names.clear()
                self._names[name] = known
        return known

    def _classify(self, name: str) -> NameInfo:
        if name in self.read_only:
            kind = Kind.READ_ONLY
        elif name in self.reserved or name.startswith(self.reserved_prefixes):
            kind = Kind.RESERVED
        elif name in self.hidden:
            kind = Kind.HIDDEN
        elif name in self.core:
            kind = Kind.CORE
        elif name in self.phantoms:
            kind = Kind.PHANTOM
        else:
            kind = Kind.EXTRA
        protected = (
            self.writable is not None
            and name not in self.writable
            and (
                kind is not Kind.EXTRA
                or name in self.vendor_attributes
                or name.startswith(self.vendor_prefixes)
            )
        )
        rule = self.fields.get(name, self.extra_field)
        return NameInfo(kind, protected, rule)

    def same_value(self, name: str, value: Any, current: Any) -> bool:
        """Whether writing *value* to *name*, which holds *current*, changes nothing.

        IMS protection lets such a write through (SPEC 6.2): as sets
        (:func:`~imspatch.rules.same_set`) for a ``set_valued`` name, else
        :func:`~imspatch.rules.json_equal`.
        """
        return same_set(value, current) if name in self.set_valued else json_equal(value, current)

    def is_counted(self, name: str) -> bool:
        """Whether *name* counts against the property quota."""
        return self.info(name).kind is Kind.EXTRA

    def value_schema(self) -> dict[str, Any]:
        """The value rules of this rule set as one JSON Schema document."""
        props = {k: v.to_schema() for k, v in self.fields.items()}
        doc: dict[str, Any] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://imspatch.invalid/schemas/{self.name}-values.json",
            "title": f"Values an add or replace may write under the {self.name} rules",
            "description": (
                "A partial image {name: value} per operation, as Glance validates it. "
                "Generated from imspatch.rules; do not edit by hand."
            ),
            "type": "object",
            "properties": props,
            "additionalProperties": self.extra_field.to_schema(),
        }
        if self.max_name_length is not None:
            doc["propertyNames"] = {"maxLength": self.max_name_length}
        return doc


def _brief(value: Any, default: Any) -> str:
    """A field's value for ``Rules.__repr__``: its repr if short, else what it holds."""
    if isinstance(value, frozenset):
        text = f"frozenset({{{', '.join(sorted(map(repr, value)))}}})" if value else "frozenset()"
    else:
        text = repr(value)
    if len(text) <= 48:
        return text
    if isinstance(value, Mapping) and isinstance(default, Mapping):
        dropped = [repr(k) for k in default if k not in value]
        changed = [repr(k) for k in value if k not in default or value[k] != default[k]]
        parts = []
        if dropped:
            parts.append(f"without {', '.join(dropped)}")
        if changed:
            parts.append(f"with {', '.join(changed)}")
        return f"<GLANCE's {' and '.join(parts)}>"
    if isinstance(value, Sized):
        return f"<{type(value).__name__} of {len(value)}>"
    return f"<{type(value).__name__}>"  # a Field: extra_field


def _with(base: Mapping[str, Field], **extra: Field) -> dict[str, Field]:
    return {**base, **extra}


GLANCE = Rules(name="glance")

IMS = GLANCE.replace(
    name="ims",
    fields=_with(GLANCE_FIELDS, name=IMS_NAME, __description=IMS_DESCRIPTION),
    max_name_length=255,
    writable=frozenset({"name", "__description"}),
    vendor_attributes=IMS_ATTRIBUTES,
    vendor_prefixes=("__",),
)
