"""Hypothesis strategies for testing servers, proxies and imspatch itself.

Needs the optional dependency ``hypothesis`` (``pip install 'imspatch[hypothesis]'``);
``import imspatch`` never imports this module.

- :func:`images` draws image dicts in the shape of the API's image JSON;
- :func:`operations` draws operations a rule set lets through at parse time,
  or (``applicable=True``) operations that apply cleanly to a given image;
- :func:`patch_bodies` draws request bodies (bytes) in one dialect;
- :func:`requests` draws whole requests ``(media_type, body, image)``: parse-valid
  ones, or (``applicable=True``) ones that succeed;
- :func:`labelled_errors` draws invalid requests with the status and error code
  they must get, known by construction, as a :class:`Labelled` tuple;
  :func:`labelled_requests` is the same as ``(media_type, body, image, status)``.

Every strategy takes keyword arguments only; ``rules`` (default ``IMS``) and
``admin`` (default ``False``) are the settings of the server under test.

Test a server (anything that takes a request and answers with a status)::

    from hypothesis import given
    from imspatch import strategies as ims_st

    @given(ims_st.labelled_requests())
    def test_server_rejects_what_ims_rejects(request):
        media_type, body, image, status = request
        assert my_server_status(media_type, body, image) == status

    @given(ims_st.requests(applicable=True))
    def test_server_accepts_what_ims_accepts(request):
        media_type, body, image = request
        assert my_server_status(media_type, body, image) == 200

:func:`imspatch.conformance.check` does all of this (and compares the resulting
images with the engine's) for any system under test.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from hypothesis import strategies as st

from . import DEFAULT_LIMITS, Limits
from ._sweep import FILLER, longest, value_cases
from .errors import MEDIA_TYPES
from .operations import Add, Operation, Pointer, Remove, Replace
from .rules import IMS, Kind, Rules, json_equal

__all__ = [
    "GROUPS",
    "Labelled",
    "images",
    "json_values",
    "labelled_errors",
    "labelled_requests",
    "media_types",
    "names",
    "operations",
    "patch_bodies",
    "requests",
]

V20, V21 = sorted(MEDIA_TYPES)
_STATUSES = ("active", "queued", "importing", "saving", "killed", "deactivated")
_NAME_CHARS = st.sampled_from("abcXYZ019-._ \u4e2d\u6587")
_CUSTOM = st.text(st.sampled_from("abcdefghxyz_0123456789:"), min_size=1, max_size=12)
_TAGS = ("a", "b", "c", "prod")
_EMOJI = "\U0001f600"  # a 4-byte UTF-8 character
#: Names an image is padded with to reach the property quota;
#: :func:`images` and :func:`operations` never draw them (no ``q``, ``u``, ``o``).
_FILLER = FILLER


class Labelled(NamedTuple):
    """An invalid request and what the engine must answer: status and error code."""

    media_type: str | None
    body: bytes
    image: dict[str, Any]
    status: int
    code: str


def media_types() -> st.SearchStrategy[str]:
    """One of the two media types."""
    return st.sampled_from((V20, V21))


def json_values(*, max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Any JSON value (finite numbers, no lone surrogates), shallow."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**40), max_value=2**40)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )


# Strategies built once: building them per draw is most of the cost of drawing.
_BOOLEANS = st.booleans()
_CORE_VALUES = st.fixed_dictionaries(
    {
        "name": st.text(_NAME_CHARS, min_size=1, max_size=20).map(str.strip).filter(bool),
        "status": st.sampled_from(_STATUSES),
        "visibility": st.sampled_from(("private", "public", "shared", "community")),
        "protected": _BOOLEANS,
        "os_hidden": _BOOLEANS,
        "min_ram": st.integers(0, 4096),
        "min_disk": st.integers(0, 100),
        "owner": st.sampled_from(("0b1e494e2660441a957313163095fe5c", None)),
        "disk_format": st.sampled_from(("raw", "qcow2", "vhd", None)),
        "container_format": st.sampled_from(("bare", "ova", None)),
        "tags": st.lists(st.sampled_from(_TAGS), max_size=3, unique=True),
    }
)
_SERVER_KEYS = {
    "checksum": None,
    "size": 2,
    "created_at": "2015-12-04T09:45:33Z",
    "updated_at": "2015-12-08T02:30:49Z",
    "self": "/v2/images/33ad552d-1149-471c-8190-ff6776174a00",
    "file": "/v2/images/33ad552d-1149-471c-8190-ff6776174a00/file",
    "schema": "/v2/schemas/image",
}
_VENDOR_VALUES = st.dictionaries(
    st.sampled_from(("__os_bit", "__platform", "__imagetype", "__description")),
    st.text(_NAME_CHARS, max_size=10),
    max_size=3,
)
_SHORT_TEXT = st.text(_NAME_CHARS, max_size=10)


@functools.lru_cache(maxsize=16)
def _custom_properties(max_size: int) -> st.SearchStrategy[dict[str, str | None]]:
    return st.dictionaries(_CUSTOM, _SHORT_TEXT | st.none(), max_size=max_size)


@st.composite
def images(draw: st.DrawFn, *, rules: Rules = IMS, max_properties: int = 5) -> dict[str, Any]:
    """An image dict: core attributes, some IMS attributes, custom properties.

    Values are ones the rules accept (and no 4-byte characters), so a
    request that only re-sends a current value passes the value checks.
    """
    image: dict[str, Any] = {"id": "33ad552d-1149-471c-8190-ff6776174a00"}
    image.update(draw(_CORE_VALUES))
    image.update(_SERVER_KEYS)
    if rules.vendor_prefixes:
        image.update(draw(_VENDOR_VALUES))
        if draw(_BOOLEANS):
            image["__data_origin"] = None
    custom = draw(_custom_properties(max_properties))
    for key, value in custom.items():
        if rules.info(key).kind is Kind.EXTRA:
            image.setdefault(key, value)
    return image


def names(*, rules: Rules = IMS, image: Mapping[str, Any] | None = None) -> st.SearchStrategy[str]:
    """Names worth patching: writable ones, protected ones, custom ones, existing ones."""
    pool = [*rules.core, *rules.fields, "__description", "max_ram", "__os_bit", "stores"]
    strategies = [st.sampled_from(sorted(set(pool))), _CUSTOM, _long_names(rules)]
    if image:
        strategies.append(st.sampled_from(sorted(image)))
    return st.one_of(strategies)


@functools.lru_cache(maxsize=16)
def _long_names(rules: Rules) -> st.SearchStrategy[str]:
    """Custom property names at the longest the rules allow (255 if they set no limit)."""
    most = 255 if rules.max_name_length is None else rules.max_name_length
    return st.sampled_from("nxz").map(lambda c: c * most)


@functools.lru_cache(maxsize=4096)
def _value_for(rules: Rules, name: str) -> st.SearchStrategy[Any]:
    """Values that pass *name*'s value rule (drawn, then filtered by the rule itself).

    The edges are drawn too: strings at the rule's maximum length, the
    integer bounds, and (for a set-valued attribute) as many items as the
    quota allows.
    """
    rule = rules.info(name).field
    candidates: st.SearchStrategy[Any]
    if rule.enum is not None:
        candidates = st.sampled_from(rule.enum)
    elif "boolean" in rule.types:
        candidates = st.booleans()
    elif "integer" in rule.types:
        candidates = st.integers(0, 2**31 - 1) | st.sampled_from((0, 2**31 - 1))
    elif "array" in rule.types:
        quota = rules.tag_quota if name in rules.set_valued else -1
        most = 4 if quota < 0 else min(4, quota)
        candidates = st.lists(st.sampled_from(_TAGS), max_size=most)
        item = longest(rule.items) if rule.items is not None else None
        if item is not None:
            candidates |= st.just([item])
        if quota > 4:
            candidates |= st.just([f"t{i}" for i in range(quota)])
    else:
        candidates = st.text(_NAME_CHARS, min_size=1, max_size=30).map(str.strip) | st.just("")
        at_max = longest(rule)
        if at_max is not None:
            candidates |= st.just(at_max)
    return candidates.filter(lambda v: rule.check(v) is None)


# --- operations that apply cleanly -------------------------------------------------------


def _addressable(name: Any) -> bool:
    """Whether a pointer can name *name* (the parser strips whitespace from tokens)."""
    return name.__class__ is str and name == name.strip() and "\x00" not in name


def _counted(rules: Rules, state: Mapping[str, Any]) -> int:
    return sum(1 for key in state if key.__class__ is str and rules.is_counted(key))


def _policy_ok(rules: Rules, name: str, state: Mapping[str, Any], admin: bool) -> bool:
    """Whether an add or replace of *name* passes the admin and status checks."""
    if name in rules.admin_only and not admin:
        return False
    gate = rules.status_gated.get(name)
    return gate is None or state.get("status") in gate


def _settable(rules: Rules, name: str) -> bool:
    """A name an add or replace may write: no 403 at parse time, no name too long."""
    info = rules.info(name)
    if info.kind not in (Kind.CORE, Kind.EXTRA):
        return False
    return not (
        info.kind is Kind.EXTRA
        and rules.max_name_length is not None
        and len(name) > rules.max_name_length
    )


def _same_value(rules: Rules, name: str, current: Any) -> st.SearchStrategy[Any]:
    """The current value again (a set-valued one in any order)."""
    if name in rules.set_valued:
        return st.permutations(current).map(list)
    return st.just(copy.deepcopy(current))


def _reusable(rules: Rules, name: str, current: Any) -> bool:
    """Whether re-sending *current* passes the value check and the set quota."""
    if rules.info(name).field.check(current) is not None:
        return False
    if name in rules.set_valued:
        if not isinstance(current, list) or not all(isinstance(t, str) for t in current):
            return False
        return rules.tag_quota < 0 or len(current) <= rules.tag_quota
    return True


def _write(draw: st.DrawFn, name: str, value: Any, dialect: str) -> Operation:
    """An add or replace that writes *value*; v2.0 ``add`` only where that would work."""
    if dialect == "v2.1" and draw(st.booleans()):
        return Add(Pointer.of(name), value)
    return Replace(Pointer.of(name), value)


def _applicable(
    draw: st.DrawFn, rules: Rules, state: Mapping[str, Any], dialect: str, admin: bool
) -> Operation | None:
    """One operation that applies cleanly to *state* (None if the rules allow none)."""
    moves: dict[str, Callable[[], Operation]] = {}
    # a writable core attribute (always "present": replace and v2.1 add work)
    core = [
        n
        for n in rules.core
        if _settable(rules, n)
        and not rules.info(n).protected
        and _policy_ok(rules, n, state, admin)
    ]
    if core:

        def set_core() -> Operation:
            name = draw(st.sampled_from(core))
            return _write(draw, name, draw(_value_for(rules, name)), dialect)

        moves["core"] = set_core
    # an unprotected custom property that exists: change or remove it
    extras = [
        n
        for n in state
        if _addressable(n) and _settable(rules, n) and rules.info(n).kind is Kind.EXTRA
        and not rules.info(n).protected
    ]  # fmt: skip
    if extras:

        def change_extra() -> Operation:
            name = draw(st.sampled_from(extras))
            if draw(st.booleans()):
                return Remove(Pointer.of(name))
            return _write(draw, name, draw(_value_for(rules, name)), dialect)

        moves["extra"] = change_extra
    # a new custom property, while the property quota has room
    if rules.property_quota < 0 or _counted(rules, state) < rules.property_quota:
        writable_extras = sorted(
            n
            for n in rules.writable or ()
            if n not in state and _settable(rules, n) and rules.info(n).kind is Kind.EXTRA
        )

        def fresh(name: str) -> bool:
            return (
                name not in state
                and _settable(rules, name)
                and rules.info(name).kind is Kind.EXTRA
                and not rules.info(name).protected
            )

        def new_extra() -> Operation:
            pool = _CUSTOM | _long_names(rules)
            if writable_extras:
                pool |= st.sampled_from(writable_extras)
            name = draw(pool.filter(fresh))
            value = draw(_value_for(rules, name))
            return Add(Pointer.of(name), value, if_absent=dialect == "v2.0")

        moves["new"] = new_extra
    # a protected name "changed" to the value it has (python-glanceclient's habit)
    same = [
        n
        for n in state
        if _addressable(n) and _settable(rules, n) and rules.info(n).protected
        and _policy_ok(rules, n, state, admin) and _reusable(rules, n, state[n])
    ]  # fmt: skip
    if same:

        def resend() -> Operation:
            name = draw(st.sampled_from(same))
            return _write(draw, name, draw(_same_value(rules, name, state[name])), dialect)

        moves["same"] = resend
    if not moves:
        return None
    return moves[draw(st.sampled_from(sorted(moves)))]()


def _step(rules: Rules, state: dict[str, Any], op: Operation) -> None:
    """Track what an applicable *op* does to *state* (as the engine would)."""
    name = op.path.parts[0]
    if isinstance(op, Remove):
        state.pop(name, None)
    elif name in rules.set_valued and rules.info(name).kind is Kind.CORE:
        current = state.get(name)
        if not (isinstance(current, list) and set(current) == set(op.value)):
            state[name] = list(dict.fromkeys(op.value))
    else:
        state[name] = copy.deepcopy(op.value)


def _applicable_ops(
    draw: st.DrawFn,
    rules: Rules,
    image: Mapping[str, Any],
    dialect: str,
    admin: bool,
    max_size: int,
    min_size: int = 0,
) -> tuple[list[Operation], dict[str, Any]]:
    """A list of operations that apply cleanly in order, and the state they leave."""
    state = dict(image)
    ops: list[Operation] = []
    for _ in range(draw(st.integers(min_size, max(min_size, max_size)))):
        op = _applicable(draw, rules, state, dialect, admin)
        if op is None:
            break
        _step(rules, state, op)
        ops.append(op)
    return ops, state


@st.composite
def operations(
    draw: st.DrawFn,
    *,
    rules: Rules = IMS,
    image: Mapping[str, Any] | None = None,
    dialect: str = "v2.1",
    applicable: bool = False,
    admin: bool = False,
) -> Operation:
    """One operation that passes parsing under *rules* (it may still fail in apply).

    With ``applicable=True`` (needs *image*), one that applies cleanly to
    *image* under *rules* and *admin*: it sets a writable attribute, changes,
    adds or removes a custom property, or re-sends a protected attribute's
    current value.
    """
    if applicable:
        if image is None:
            raise ValueError("operations(applicable=True) needs an image")
        op = _applicable(draw, rules, image, dialect, admin)
        if op is None:
            raise ValueError(f"no operation applies cleanly under the {rules.name} rules")
        return op
    name = draw(
        names(rules=rules, image=image).filter(lambda n: _settable(rules, n) and _addressable(n))
    )
    pointer = Pointer.of(name)
    kind = draw(st.sampled_from(("add", "replace", "remove")))
    if kind == "remove":
        return Remove(pointer)
    value = draw(_value_for(rules, name))
    if kind == "replace":
        return Replace(pointer, value)
    return Add(pointer, value, if_absent=dialect == "v2.0")


def _spell(op: Operation, dialect: str) -> dict[str, Any]:
    path = op.path.text
    item: dict[str, Any] = {op.op: path} if dialect == "v2.0" else {"op": op.op, "path": path}
    if not isinstance(op, Remove):
        item["value"] = op.value
    return item


def _dump(items: Iterable[Any]) -> bytes:
    return json.dumps(list(items)).encode()


#: Ways to write a path that the parser reads as the same one token (SPEC 5).
_SAME_PATH: tuple[Callable[[str], str], ...] = (
    lambda rest: "/ " + rest,
    lambda rest: "/" + rest + " ",
    lambda rest: "/\t" + rest,
    lambda rest: "/\u00a0" + rest + "\u3000",
    lambda rest: "//" + rest if rest else "/ ",
)
_EXTRA_MEMBERS: dict[str, tuple[dict[str, Any], ...]] = {
    "v2.0": ({"op": "add"}, {"path": "/x"}, {"from": "/x", "note": 1}),
    "v2.1": ({"from": "/x"}, {"add": "/x"}, {"note": [1, {"a": None}]}),
}


def _respelled(draw: st.DrawFn, op: Operation, dialect: str, spellings: bool) -> dict[str, Any]:
    """*op* as a request may spell it: with *spellings*, now and then with its path
    written another way that means the same, with members the parser ignores, or a
    ``value`` on a remove."""
    item = _spell(op, dialect)
    if not spellings:
        return item
    how = draw(st.integers(0, 7))
    if how == 1 and len(op.path.parts) == 1:
        rest = op.path.text[1:]
        item[op.op if dialect == "v2.0" else "path"] = draw(st.sampled_from(_SAME_PATH))(rest)
    elif how == 2:
        item.update(draw(st.sampled_from(_EXTRA_MEMBERS[dialect])))
    elif how == 3 and isinstance(op, Remove):
        item["value"] = draw(st.sampled_from(("x", None, 0, [1], {"k": "v"})))
    return item


def _spelled_body(
    draw: st.DrawFn, ops: Iterable[Operation], dialect: str, spellings: bool
) -> bytes:
    """A body of *ops*; with *spellings* respelled (:func:`_respelled`) and formatted in
    one of a few ways."""
    items = [_respelled(draw, op, dialect, spellings) for op in ops]
    if not spellings:
        return _dump(items)
    style = draw(st.integers(0, 3))
    if style == 1:
        return json.dumps(items, separators=(",", ":"), ensure_ascii=False).encode()
    if style == 2:
        return json.dumps(items, indent=1).encode()
    return json.dumps(items).encode()


#: Media types the parser takes for one of the two (SPEC 2): parameters, case, space.
_SAME_MEDIA_TYPE: tuple[Callable[[str], str], ...] = (
    lambda m: m + "; charset=utf-8",
    str.upper,
    lambda m: m.replace("openstack", "OpenStack"),
    lambda m: m + " ;q=1",
)


def _media_type_of(draw: st.DrawFn, media_type: str, spellings: bool) -> str:
    """*media_type*; with *spellings*, now and then spelled another way that means the same."""
    if not spellings or draw(st.integers(0, 5)):
        return media_type
    return draw(st.sampled_from(_SAME_MEDIA_TYPE))(media_type)


@st.composite
def patch_bodies(
    draw: st.DrawFn,
    *,
    media_type: str | None = None,
    rules: Rules = IMS,
    image: Mapping[str, Any] | None = None,
    min_size: int = 0,
    max_size: int = 8,
    applicable: bool = False,
    admin: bool = False,
    spellings: bool = False,
) -> bytes:
    """A body of parse-valid operations, in the dialect of *media_type*.

    With ``applicable=True`` (needs *image*), the body applies cleanly to
    *image*: each operation is drawn against the state the earlier ones leave.
    Otherwise, given *image*, operations that apply cleanly come first (up to
    half of *max_size*), then any parse-valid ones: whether the request
    succeeds, and how it fails, is decided by the first of those.  With
    ``spellings=True`` an operation is now and then written another way that
    means the same (a path as ``/ name`` or ``//name``, members the parser
    ignores, a ``value`` on a remove) and the JSON formatted differently.
    """
    dialect = MEDIA_TYPES[media_type or draw(media_types())]
    if applicable:
        if image is None:
            raise ValueError("patch_bodies(applicable=True) needs an image")
        ops, _ = _applicable_ops(draw, rules, image, dialect, admin, max_size, min_size)
    elif image is not None:
        ops, state = _applicable_ops(draw, rules, image, dialect, admin, max_size // 2)
        ops += draw(
            st.lists(
                operations(rules=rules, image=state, dialect=dialect),
                min_size=max(0, min_size - len(ops)),
                max_size=max_size - len(ops),
            )
        )
    else:
        ops = draw(
            st.lists(
                operations(rules=rules, image=image, dialect=dialect),
                min_size=min_size,
                max_size=max_size,
            )
        )
    return _spelled_body(draw, ops, dialect, spellings)


@st.composite
def requests(
    draw: st.DrawFn,
    *,
    rules: Rules = IMS,
    admin: bool = False,
    applicable: bool = False,
    min_size: int = 0,
    max_size: int = 8,
    spellings: bool = False,
) -> tuple[str, bytes, dict[str, Any]]:
    """A whole request ``(media_type, body, image)``.

    Parse-valid, and apply may refuse it; with ``applicable=True`` it succeeds
    under *rules* and *admin*.  Now and then the image is padded to one
    property below the quota, so that a new property reaches it exactly.
    With ``spellings=True``, bodies as :func:`patch_bodies` says and media
    types now and then spelled another way that means the same (parameters,
    case).
    """
    image = draw(images(rules=rules))
    if rules.property_quota > 0 and draw(st.integers(0, 7)) == 0:
        _pad(rules, image, rules.property_quota - 1)
    media_type = draw(media_types())
    body = draw(
        patch_bodies(
            media_type=media_type,
            rules=rules,
            image=image,
            min_size=min_size,
            max_size=max_size,
            applicable=applicable,
            admin=admin,
            spellings=spellings,
        )
    )
    return _media_type_of(draw, media_type, spellings), body, image


# --- invalid requests, labelled ------------------------------------------------------------

#: Bodies refused before any operation is read: (body, code).
_BAD_BODIES: tuple[tuple[bytes, str], ...] = (
    (b"", "empty_body"),
    (b" \r\n\t", "empty_body"),
    (b"[", "invalid_json"),
    (b"[{'op': 'add'}]", "invalid_json"),
    (b"\xef\xbb\xbf[]", "invalid_json"),
    (b"{}", "not_an_array"),
    (b'{"op": "add", "path": "/x", "value": "v"}', "not_an_array"),
    (b"1", "unexpected_body_type"),
    (b'"[]"', "unexpected_body_type"),
    (b'[{"op": "add", "op": "remove", "path": "/x"}]', "duplicate_member"),
    (b"[NaN]", "invalid_number"),
    (b'[{"op": "add", "path": "/x", "value": Infinity}]', "invalid_number"),
    (b'[{"op": "add", "path": "/x", "value": "\\ud800"}]', "lone_surrogate"),
    (b"[\xff]", "invalid_utf8"),
    (b"[" * 40 + b"]" * 40, "too_deep"),
)
_BAD_MEDIA_TYPES = (
    None,
    "application/json",
    "application/json-patch+json",
    "text/plain",
    "",
    "application/openstack-images-v2.2-json-patch",
    "application/openstack-images-v2.1-json-patch+json",
)
#: Pointers the parser refuses: (path, code).
_BAD_POINTERS = (
    ("noslash", "pointer_no_slash"),
    ("", "pointer_no_slash"),
    ("/a//b", "pointer_adjacent_slash"),
    ("/a/ /b", "pointer_adjacent_slash"),
    ("///x", "pointer_adjacent_slash"),
    ("/trailing/", "pointer_trailing_slash"),
    ("/x/", "pointer_trailing_slash"),
    ("/ / ", "pointer_no_token"),
    ("/\t/\t", "pointer_no_token"),
    ("/bad~2", "pointer_bad_escape"),
    ("/bad~", "pointer_bad_escape"),
    ("/a/b", "invalid_path"),
    ("/name/0", "invalid_path"),
)
#: (name, value) pairs of which the rule set refuses some at parse time (400).
_BAD_VALUES: tuple[tuple[str, Any], ...] = (
    ("visibility", "bogus"),
    ("visibility", None),
    ("protected", 1),
    ("protected", "true"),
    ("os_hidden", None),
    ("min_ram", "1"),
    ("min_ram", 1.5),
    ("min_disk", True),
    ("disk_format", "exe"),
    ("container_format", 1),
    ("tags", "a"),
    ("tags", [1]),
    ("tags", ["x" * 256]),
    ("owner", "o" * 256),
    ("owner", 1),
    ("name", "n" * 256),
    ("name", 1),
    ("name", ""),
    ("name", None),
    ("name", " leading"),
    ("name", "trailing "),
    ("name", "slash/name"),
    ("name", "n" * 129),
    ("name", "/" * 129),
    ("name", "emoji" + _EMOJI),
    ("__description", "d" * 1025),
    ("__description", "<script>"),
    ("__description", "two\nlines"),
    ("__description", "cr\r"),
    ("__description", 1),
    ("__description", None),
    ("custom", 1),
    ("custom", None),
    ("custom", ["v"]),
    ("custom", {"k": "v"}),
    ("max_ram", 1024),
)

#: The kinds of defect :func:`labelled_errors` draws from, by phase.
GROUPS = ("parse", "apply", "finish", "body", "media_type", "limits")
_PARSE_DEFECTS = (
    "not_object", "no_op", "bad_op", "no_path", "path_type", "pointer", "no_value",
    "value", "long_name", "read_only", "reserved",
)  # fmt: skip
_APPLY_DEFECTS = (
    "missing", "exists", "protected", "not_removable", "owner", "format", "locations",
    "locations_empty", "phantom", "negative", "tag_quota",
)  # fmt: skip
_FINISH_DEFECTS = ("property_quota", "out_of_range", "four_byte")


def _pad(rules: Rules, image: dict[str, Any], count: int) -> None:
    """Add filler properties to *image* until *count* of its names are counted."""
    missing, i = count - _counted(rules, image), 0
    while missing > 0:
        name = _FILLER.format(i)
        if name not in image:
            image[name] = "f"
            missing -= 1
        i += 1


def _fresh_name(rules: Rules, *avoid: Mapping[str, Any]) -> st.SearchStrategy[str]:
    """A custom property name no mapping in *avoid* has, that a user may add."""
    return _CUSTOM.filter(
        lambda n: (
            all(n not in m for m in avoid)
            and _settable(rules, n)
            and rules.info(n).kind is Kind.EXTRA
            and not rules.info(n).protected
        )
    )


def _rotated(items: tuple[str, ...], first: str) -> tuple[str, ...]:
    """*items* from *first* on, wrapping around: a choice, then its fallbacks."""
    start = items.index(first)
    return items[start:] + items[:start]


@functools.lru_cache(maxsize=64)
def _recipes(rules: Rules, groups: tuple[str, ...]) -> tuple[tuple[str, str, str], ...]:
    """``(group, defect, code)`` for every defect of *groups*, one per code where a
    defect has several (pointers, values, bodies, limits); code ``""``: any."""
    recipes: list[tuple[str, str, str]] = []
    for group in groups:
        if group == "media_type":
            recipes.append((group, group, "unsupported_media_type"))
        elif group == "body":
            recipes += [(group, group, code) for code in sorted({c for _, c in _BAD_BODIES})]
        elif group == "limits":
            recipes += [(group, group, code) for code in _LIMIT_CODES]
        elif group == "parse":
            for defect in _PARSE_DEFECTS:
                if defect == "pointer":
                    codes = sorted({c for _, c in _BAD_POINTERS})
                elif defect == "value":
                    codes = sorted(_refused_values(rules, "custom"))
                else:
                    codes = [""]
                recipes += [(group, defect, code) for code in codes]
        else:
            defects = _APPLY_DEFECTS if group == "apply" else _FINISH_DEFECTS
            recipes += [(group, defect, "") for defect in defects]
    return tuple(recipes)


def _refused_values(rules: Rules, custom: str) -> dict[str, list[tuple[str, Any]]]:
    """``{code: [(name, value), ...]}``: values the rules refuse at parse time, by code.

    From the rule of every settable attribute (wrong types, lengths one over,
    non-members, the pattern probes of :mod:`imspatch._sweep`), of the custom
    property *custom*, and a few more by hand.
    """
    found: dict[str, list[tuple[str, Any]]] = {}
    for name, value in [*_field_values(rules), *_BAD_VALUES]:
        real = custom if name == "custom" else name
        problem = rules.info(real).field.check(value)
        if _settable(rules, real) and problem is not None:
            found.setdefault(problem[0], []).append((real, value))
    return found


@functools.lru_cache(maxsize=16)
def _field_values(rules: Rules) -> tuple[tuple[str, Any], ...]:
    names = [n for n in (*rules.core, *rules.fields) if _settable(rules, n)]
    pairs = [(n, v) for n in sorted(set(names)) for _, v in value_cases(rules.info(n).field)]
    pairs += [("custom", v) for _, v in value_cases(rules.extra_field)]
    return tuple(pairs)


def _parse_defect(
    draw: st.DrawFn, defect: str, rules: Rules, dialect: str, hint: str = ""
) -> tuple[Any, str] | None:
    """One raw operation refused at parse time, and its code (None: not here)."""
    v20 = dialect == "v2.0"

    def op(verb: str, path: Any, *value: Any) -> dict[str, Any]:
        item: dict[str, Any] = {verb: path} if v20 else {"op": verb, "path": path}
        if value:
            item["value"] = value[0]
        return item

    if defect == "not_object":
        return draw(st.sampled_from(([], "add", 1, None, True, [{"op": "add"}]))), (
            "operation_not_object"
        )
    if defect == "no_op":
        if v20:
            return {"path": "/name", "value": "x"}, "missing_op"
        return draw(st.sampled_from(({"path": "/x"}, {"op": None, "path": "/x"}))), "missing_op"
    if defect == "bad_op":
        if v20:
            return {"add": "/x", "remove": "/x", "value": "v"}, "several_ops"
        verb = draw(st.sampled_from(("test", "move", "copy", "ADD", "Replace", 1, ["add"])))
        return {"op": verb, "path": "/x", "value": "v"}, "invalid_op"
    if defect == "no_path":
        if v20:
            return None
        return {"op": draw(st.sampled_from(("add", "remove", "replace"))), "value": "v"}, (
            "missing_path"
        )
    if defect == "path_type":
        path: Any = draw(st.sampled_from((1, None, ["/x"], {"x": 1}, True)))
        return op(draw(st.sampled_from(("add", "replace", "remove"))), path, "v"), (
            "path_not_string"
        )
    if defect == "pointer":
        pointers = (*_BAD_POINTERS, ("/locations", "invalid_path"))
        codes = sorted({c for _, c in pointers})
        code = hint if hint in codes else draw(st.sampled_from(codes))
        text = draw(st.sampled_from([p for p, c in pointers if c == code]))
        verbs = ("add",) if text == "/locations" else ("add", "replace")
        return op(draw(st.sampled_from(verbs)), text, "v"), code
    if defect == "no_value":
        name = draw(st.sampled_from(("name", "x", "status", "tags")))
        return op(draw(st.sampled_from(("add", "replace"))), "/" + name), "missing_value"
    if defect == "value":
        custom = draw(_fresh_name(rules))
        by_code = _refused_values(rules, custom)
        if not by_code:
            return None
        code = hint if hint in by_code else draw(st.sampled_from(sorted(by_code)))
        name, value = draw(st.sampled_from(by_code[code]))
        return op(draw(st.sampled_from(("add", "replace"))), Pointer.of(name).text, value), code
    if defect == "long_name":
        if rules.max_name_length is None:
            return None
        name = "p" * (rules.max_name_length + draw(st.integers(1, 3)))
        if rules.info(name).kind is not Kind.EXTRA:
            return None
        return op(draw(st.sampled_from(("add", "replace"))), "/" + name, "v"), (
            "property_name_too_long"
        )
    # read-only and reserved names: 403 at parse time, remove included
    if defect == "read_only":
        pool = sorted(rules.read_only)
    else:
        pool = sorted(rules.reserved | {p + "_x" for p in rules.reserved_prefixes})
    if not pool:
        return None
    name = draw(st.sampled_from(pool))
    verb = draw(st.sampled_from(("add", "replace", "remove")))
    text = Pointer.of(name).text
    item = op(verb, text) if verb == "remove" else op(verb, text, "v")
    return item, rules.info(name).kind.value


def _differs(rules: Rules, name: str, current: Any) -> Callable[[Any], bool]:
    if name in rules.set_valued:
        return lambda v: not (isinstance(current, list) and set(v) == set(current))
    return lambda v: not json_equal(v, current)


_ABSENT: Any = object()
_Outcome = tuple[Operation, int, str]


class _Defects:
    """Operations refused in the apply or finish phase, given the state a prefix left.

    Each method returns ``(operation, status, code)``, or None when the rule
    set makes that defect impossible.
    """

    def __init__(
        self,
        draw: st.DrawFn,
        rules: Rules,
        state: dict[str, Any],
        image: dict[str, Any],
        dialect: str,
        admin: bool,
    ) -> None:
        self.draw, self.rules, self.state, self.image = draw, rules, state, image
        self.v20, self.dialect, self.admin = dialect == "v2.0", dialect, admin

    def make(self, defect: str) -> _Outcome | None:
        method: Callable[[], _Outcome | None] = getattr(self, defect)
        return method()

    def _write(self, name: str, value: Any) -> Operation:
        return _write(self.draw, name, value, self.dialect)

    def _usable(self, name: str) -> bool:
        return _settable(self.rules, name) and _policy_ok(self.rules, name, self.state, self.admin)

    def _open(self, name: str) -> bool:
        """Settable, not protected, and past the admin and status checks."""
        return self._usable(name) and not self.rules.info(name).protected

    # -- apply phase: a suffix may follow

    def missing(self) -> _Outcome:
        name = self.draw(_fresh_name(self.rules, self.state))
        if self.v20 or self.draw(st.booleans()):
            return Remove(Pointer.of(name)), 409, "no_such_property"
        return Replace(Pointer.of(name), "v"), 409, "no_such_property"

    def exists(self) -> _Outcome | None:
        rules, state = self.rules, self.state
        if not self.v20:
            return None
        pool = sorted(
            {
                n
                for n in (*rules.core, *state)
                if _addressable(n)
                and _settable(rules, n)
                and not rules.info(n).protected
                and (n in state or rules.info(n).kind is Kind.CORE)
                and not (n in rules.admin_only and not self.admin)
            }
        )
        if not pool:
            return None
        name = self.draw(st.sampled_from(pool))
        value = self.draw(_value_for(rules, name))
        return Add(Pointer.of(name), value, if_absent=True), 409, "already_present"

    def protected(self) -> _Outcome | None:
        rules, state = self.rules, self.state
        candidates = {*rules.core, *rules.vendor_attributes, *state, "__os_bit", "__platform"}
        pool = sorted(
            n
            for n in candidates
            if _addressable(n) and _settable(rules, n) and rules.info(n).protected
            and not (n in rules.admin_only and not self.admin)
        )  # fmt: skip
        if not pool:
            return None
        name = self.draw(st.sampled_from(pool))
        if self.draw(st.booleans()):
            return Remove(Pointer.of(name)), 403, "protected"
        current = state.get(name, _ABSENT)
        value = self.draw(_value_for(rules, name).filter(_differs(rules, name, current)))
        if self.v20:
            return Add(Pointer.of(name), value, if_absent=True), 403, "protected"
        return self._write(name, value), 403, "protected"

    def not_removable(self) -> _Outcome | None:
        rules = self.rules
        pool = [
            n
            for n in (*rules.core, *sorted(rules.phantoms))
            if rules.info(n).kind in (Kind.CORE, Kind.PHANTOM) and not rules.info(n).protected
        ]
        if not pool:
            return None
        return Remove(Pointer.of(self.draw(st.sampled_from(pool)))), 403, "not_removable"

    def owner(self) -> _Outcome | None:
        pool = sorted(n for n in self.rules.admin_only if _settable(self.rules, n))
        if self.admin or not pool:
            return None
        name = self.draw(st.sampled_from(pool))
        value = self.draw(_value_for(self.rules, name))
        if self.v20:
            return Add(Pointer.of(name), value, if_absent=True), 403, "owner_admin_only"
        return self._write(name, value), 403, "owner_admin_only"

    def format(self) -> _Outcome | None:
        rules, state = self.rules, self.state
        pool: list[tuple[str, st.SearchStrategy[Any]]] = []
        for name, gate in sorted(rules.status_gated.items()):
            if state.get("status") in gate or not _settable(rules, name):
                continue
            if name in rules.admin_only and not self.admin:
                continue
            if not rules.info(name).protected:
                pool.append((name, _value_for(rules, name)))
            elif name in state and _reusable(rules, name, state[name]):
                pool.append((name, st.just(state[name])))  # protected: only the same value
        if not pool:
            return None
        name, values = self.draw(st.sampled_from(pool))
        return self._write(name, self.draw(values)), 403, "format_not_queued"

    def locations(self) -> _Outcome | None:
        if "locations" not in self.rules.hidden:
            return None
        form = self.draw(st.sampled_from(("add", "remove", "replace")))
        where = Pointer.of("locations", self.draw(st.sampled_from(("-", "0", "1"))))
        location = {"url": "http://example.com/image.raw", "metadata": {}}
        if form == "add":
            return Add(where, location, if_absent=self.v20), 403, "locations_hidden"
        if form == "remove":
            return Remove(where), 403, "locations_hidden"
        return Replace(Pointer.of("locations"), [location]), 403, "locations_hidden"

    def locations_empty(self) -> _Outcome | None:
        if "locations" not in self.rules.hidden:
            return None
        return Replace(Pointer.of("locations"), []), 403, "locations_empty"

    def phantom(self) -> _Outcome | None:
        rules = self.rules
        pool = sorted(n for n in rules.unsettable if rules.info(n).kind is Kind.PHANTOM)
        if not pool:
            return None
        name = self.draw(st.sampled_from(pool))
        code = "protected" if rules.info(name).protected else "phantom_attribute"
        return Replace(Pointer.of(name), "v"), 403, code

    def negative(self) -> _Outcome | None:
        rules = self.rules
        pool = sorted(
            n for n in rules.non_negative if self._open(n) and rules.info(n).field.check(-1) is None
        )
        if not pool:
            return None
        value = self.draw(st.integers(-(2**31), -1))
        return self._write(self.draw(st.sampled_from(pool)), value), 400, "negative_value"

    def tag_quota(self) -> _Outcome | None:
        rules, quota = self.rules, self.rules.tag_quota
        pool: list[tuple[str, list[str]]] = []
        for name in sorted(rules.set_valued):
            if quota < 0 or not self._usable(name):
                continue
            if not rules.info(name).protected:
                many = [f"t{i}" for i in range(quota + 1)]
                if rules.info(name).field.check(many) is None:
                    pool.append((name, many))
                continue
            current = self.state.get(name)  # protected: only the same set passes, duplicated
            if isinstance(current, list) and current and _reusable(rules, name, current):
                pool.append((name, current + [current[0]] * (quota + 1 - len(current))))
        if not pool:
            return None
        name, value = self.draw(st.sampled_from(pool))
        return self._write(name, value), 413, "too_many_tags"

    # -- finishing checks: nothing may follow the defect

    def property_quota(self) -> _Outcome | None:
        rules = self.rules
        if rules.property_quota < 0:
            return None
        name = self.draw(_fresh_name(rules, self.state, self.image))
        room = rules.property_quota - _counted(rules, self.state)
        _pad(rules, self.image, _counted(rules, self.image) + room)  # the state is then full
        return Add(Pointer.of(name), "v", if_absent=self.v20), 413, "too_many_properties"

    def out_of_range(self) -> _Outcome | None:
        rules = self.rules
        pool = sorted(
            n for n in rules.int32 if self._open(n) and rules.info(n).field.check(2**31) is None
        )
        if not pool:
            return None
        value = self.draw(st.integers(2**31, 2**53))
        return self._write(self.draw(st.sampled_from(pool)), value), 400, "out_of_range"

    def four_byte(self) -> _Outcome | None:
        rules, state = self.rules, self.state
        emoji = "v" + _EMOJI
        choices: list[tuple[str, Any, bool]] = []  # (name, value, is it new)
        for name in rules.four_byte_order:
            if self._open(name) and rules.info(name).field.check(emoji) is None:
                choices.append((name, emoji, False))
        for name in sorted(n for n in state if n.__class__ is str):
            info = rules.info(name)
            if (
                _addressable(name)
                and _settable(rules, name)
                and info.kind is Kind.EXTRA
                and not info.protected
                and info.field.check(emoji) is None
            ):
                choices.append((name, emoji, False))
        for name in sorted(rules.set_valued):
            if self._open(name) and rules.info(name).field.check([emoji]) is None:
                choices.append((name, [emoji], False))
        if rules.property_quota < 0 or _counted(rules, state) < rules.property_quota:
            fresh = self.draw(_fresh_name(rules, state, self.image))
            choices.append((fresh, emoji, True))
            if rules.info(fresh + _EMOJI).kind is Kind.EXTRA:
                choices.append((fresh + _EMOJI, "v", True))
        if not choices:
            return None
        name, value, new = self.draw(st.sampled_from(choices))
        op = Add(Pointer.of(name), value, if_absent=self.v20) if new else self._write(name, value)
        return op, 400, "four_byte_unicode"


@st.composite
def labelled_errors(
    draw: st.DrawFn,
    *,
    rules: Rules = IMS,
    admin: bool = False,
    groups: Iterable[str] = GROUPS,
    limits: Limits = DEFAULT_LIMITS,
    spellings: bool = False,
) -> Labelled:
    """An invalid request, and the status and error code it must get under *rules*.

    Known by construction, not by asking the engine: operations that are
    fine (a valid prefix, and for checks made before the defect is reached a
    suffix) surround one defect:

    - 415: a wrong or missing media type (whatever the body);
    - 400: a body that is not strict JSON, too deep, or not an array of
      objects; a malformed operation or pointer; a value the rule set refuses
      (IMS vendor codes ``IMG.0002``/``IMG.0003``/``IMG.0004``/``IMG.0054``
      included); a custom property name too long; a negative ``min_*``;
      a value beyond int32; a 4-byte character;
    - 403: a read-only or reserved name; under IMS a protected attribute;
      removing a core attribute; ``owner`` without *admin*; a disk or container
      format of an image that is not queued; locations; phantom attributes;
    - 409: a missing custom property; v2.0 ``add`` of an existing name;
    - 413: a tag list over the rule set's tag quota; a new property over the
      property quota (the image is padded to the quota first); a body over
      one of *limits* (size, operations, string length, path length,
      members of an object), by one.

    Defects a rule set makes impossible (e.g. a negative ``min_ram`` under
    IMS, where ``min_ram`` is protected) are replaced by another of the same
    phase.  *groups* restricts the defects to some of :data:`GROUPS`:
    ``"media_type"`` (415), ``"body"`` (400 before any operation is read),
    ``"parse"`` (400 and 403 at parse time), ``"apply"`` (400, 403, 409, 413
    in the apply phase), ``"finish"`` (400 and 413 from the whole-request
    checks), ``"limits"`` (413; the bodies are as small as each limit allows,
    16 MiB for the default body size).
    """
    chosen = tuple(groups)
    if not chosen or not set(chosen) <= set(GROUPS):
        raise ValueError(f"groups must be some of {GROUPS}, not {chosen!r}")
    # One choice first, among every defect and code: hypothesis draws its first
    # choice most evenly, and each code should be about as likely as the others.
    group, defect, hint = draw(st.sampled_from(_recipes(rules, chosen)))
    kinds = {"parse": _PARSE_DEFECTS, "apply": _APPLY_DEFECTS, "finish": _FINISH_DEFECTS}
    order = _rotated(kinds.get(group, (defect,)), defect)
    image = draw(images(rules=rules))
    # v2.0 names the path in the operation's key: a missing path is a v2.1 defect
    media_type = V21 if defect == "no_path" else draw(media_types())
    dialect = MEDIA_TYPES[media_type]
    if group == "media_type":
        bad = draw(st.sampled_from(_BAD_MEDIA_TYPES))
        body = draw(st.sampled_from((b"[]", b"", b"[", *(b for b, _ in _BAD_BODIES[:3]))))
        if draw(st.booleans()):
            body = draw(patch_bodies(media_type=media_type, rules=rules, image=image, max_size=2))
        return Labelled(bad, body, image, 415, "unsupported_media_type")
    if group == "body":
        body = draw(st.sampled_from([bad for bad, code in _BAD_BODIES if code == hint]))
        return Labelled(media_type, body, image, 400, hint)

    def parse_valid(size: int) -> list[Operation]:
        return draw(st.lists(operations(rules=rules, image=image, dialect=dialect), max_size=size))

    if group == "limits":
        return _over_a_limit(limits, media_type, image, hint)
    if group == "parse":
        found = None
        for defect in order:  # the first one possible here
            found = _parse_defect(draw, defect, rules, dialect, hint)
            if found is not None:
                break
        assert found is not None  # an operation that is not an object always is
        before, after = parse_valid(3), parse_valid(2)
        item, code = found
        status = 403 if code in ("read_only", "reserved") else 400
        items = [*(_respelled(draw, op, dialect, spellings) for op in before), item]
        items += [_respelled(draw, op, dialect, spellings) for op in after]
        body = _dump(items)
        return Labelled(_media_type_of(draw, media_type, spellings), body, image, status, code)
    ops, state = _applicable_ops(draw, rules, image, dialect, admin, 3)
    defects = _Defects(draw, rules, state, image, dialect, admin)
    outcome = None
    for defect in order:
        outcome = defects.make(defect)  # the first one the rules make possible
        if outcome is not None:
            break
    suffix: list[Operation] = []
    if outcome is None:
        outcome = defects.missing()
    elif group == "apply":
        suffix = parse_valid(2)
    last, status, code = outcome
    body = _spelled_body(draw, [*ops, last, *suffix], dialect, spellings)
    return Labelled(_media_type_of(draw, media_type, spellings), body, image, status, code)


def _over_a_limit(limits: Limits, media_type: str, image: dict[str, Any], code: str) -> Labelled:
    """A body one over one of *limits*, as small as that allows, in *media_type*'s dialect."""
    v20 = MEDIA_TYPES[media_type] == "v2.0"

    def op(verb: str, path: str, **members: Any) -> dict[str, Any]:
        return {verb: path, **members} if v20 else {"op": verb, "path": path, **members}

    if code == "body_too_large":
        body = b"[" + b" " * (limits.max_body_bytes - 1) + b"]"
    elif code == "too_many_operations":
        body = b"[" + b",".join([b"0"] * (limits.max_operations + 1)) + b"]"
    elif code == "string_too_long":
        text = "s" * (limits.max_string_length + 1)
        item = {text: 0, **op("remove", "/x")}  # the name of an ignored member
        body = _dump([item])
    elif code == "pointer_too_long":
        body = _dump([op("add", "/" + "p" * limits.max_pointer_length, value="v")])
    else:  # too_many_members
        item = op("remove", "/x")
        item.update((f"m{i}", 0) for i in range(limits.max_members + 1 - len(item)))
        body = _dump([item])
    if len(body) > limits.max_body_bytes:  # tight limits: the size is checked first
        code = "body_too_large"
    return Labelled(media_type, body, image, 413, code)


_LIMIT_CODES = (
    "body_too_large", "too_many_operations", "string_too_long", "pointer_too_long",
    "too_many_members",
)  # fmt: skip


@st.composite
def labelled_requests(
    draw: st.DrawFn, *, rules: Rules = IMS, admin: bool = False
) -> tuple[str | None, bytes, dict[str, Any], int]:
    """An invalid request and the status it must get, known by construction.

    ``(media_type, body, image, status)``; see :func:`labelled_errors`, which
    also gives the error code.
    """
    media_type, body, image, status, _ = draw(labelled_errors(rules=rules, admin=admin))
    return media_type, body, image, status
