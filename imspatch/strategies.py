"""Hypothesis strategies for testing servers, proxies and imspatch itself.

Needs the optional dependency ``hypothesis`` (``pip install 'imspatch[hypothesis]'``);
``import imspatch`` never imports this module.

- :func:`images` draws image dicts in the shape of the API's image JSON;
- :func:`operations` draws operations a rule set lets through at parse time;
- :func:`patch_bodies` draws request bodies (bytes) in one dialect;
- :func:`requests` draws whole valid-or-not requests ``(media_type, body, image)``;
- :func:`labelled_requests` draws invalid requests whose status is known by
  construction, as ``(media_type, body, image, status)``.

Test a server (anything that takes a request and answers with a status)::

    from hypothesis import given
    from imspatch import strategies as ims_st

    @given(ims_st.labelled_requests())
    def test_server_rejects_what_ims_rejects(request):
        media_type, body, image, status = request
        assert my_server_status(media_type, body, image) == status
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from .errors import MEDIA_TYPES
from .operations import Add, Operation, Pointer, Remove, Replace
from .rules import GLANCE_READ_ONLY, GLANCE_RESERVED, IMS, Kind, Rules

__all__ = [
    "images",
    "json_values",
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


@st.composite
def images(draw: st.DrawFn, *, rules: Rules = IMS) -> dict[str, Any]:
    """An image dict: core attributes, some IMS attributes, custom properties."""
    image: dict[str, Any] = {
        "id": "33ad552d-1149-471c-8190-ff6776174a00",
        "name": draw(st.text(_NAME_CHARS, min_size=1, max_size=20).map(str.strip).filter(bool)),
        "status": draw(st.sampled_from(_STATUSES)),
        "visibility": draw(st.sampled_from(("private", "public", "shared", "community"))),
        "protected": draw(st.booleans()),
        "os_hidden": draw(st.booleans()),
        "min_ram": draw(st.integers(0, 4096)),
        "min_disk": draw(st.integers(0, 100)),
        "owner": draw(st.sampled_from(("0b1e494e2660441a957313163095fe5c", None))),
        "disk_format": draw(st.sampled_from(("raw", "qcow2", "vhd", None))),
        "container_format": draw(st.sampled_from(("bare", "ova", None))),
        "tags": draw(st.lists(st.sampled_from(("a", "b", "c", "prod")), max_size=3, unique=True)),
        "checksum": None,
        "size": 2,
        "created_at": "2015-12-04T09:45:33Z",
        "updated_at": "2015-12-08T02:30:49Z",
        "self": "/v2/images/33ad552d-1149-471c-8190-ff6776174a00",
        "file": "/v2/images/33ad552d-1149-471c-8190-ff6776174a00/file",
        "schema": "/v2/schemas/image",
    }
    if rules.vendor_prefixes:
        image.update(
            draw(
                st.dictionaries(
                    st.sampled_from(("__os_bit", "__platform", "__imagetype", "__description")),
                    st.text(_NAME_CHARS, max_size=10),
                    max_size=3,
                )
            )
        )
        if draw(st.booleans()):
            image["__data_origin"] = None
    custom = draw(st.dictionaries(_CUSTOM, st.text(_NAME_CHARS, max_size=10) | st.none(),
                                  max_size=5))  # fmt: skip
    for key, value in custom.items():
        if rules.info(key).kind is Kind.EXTRA:
            image.setdefault(key, value)
    return image


def names(*, rules: Rules = IMS, image: dict[str, Any] | None = None) -> st.SearchStrategy[str]:
    """Names worth patching: writable ones, protected ones, custom ones, existing ones."""
    pool = [*rules.core, *rules.fields, "__description", "max_ram", "__os_bit", "stores"]
    strategies = [st.sampled_from(sorted(set(pool))), _CUSTOM]
    if image:
        strategies.append(st.sampled_from(sorted(image)))
    return st.one_of(strategies)


def _value_for(rules: Rules, name: str) -> st.SearchStrategy[Any]:
    """Values that pass *name*'s value rule (drawn, then filtered by the rule itself)."""
    info = rules.info(name)
    rule = info.field
    candidates: st.SearchStrategy[Any]
    if rule.enum is not None:
        candidates = st.sampled_from(rule.enum)
    elif "boolean" in rule.types:
        candidates = st.booleans()
    elif "integer" in rule.types:
        candidates = st.integers(0, 2**31 - 1)
    elif "array" in rule.types:
        candidates = st.lists(st.sampled_from(("a", "b", "c", "prod")), max_size=4)
    else:
        candidates = st.text(_NAME_CHARS, min_size=1, max_size=30).map(str.strip) | st.just("")
    return candidates.filter(lambda v: rule.check(v) is None)


@st.composite
def operations(
    draw: st.DrawFn,
    *,
    rules: Rules = IMS,
    image: dict[str, Any] | None = None,
    dialect: str = "v2.1",
) -> Operation:
    """One operation that passes parsing under *rules* (it may still fail in apply)."""
    name = draw(
        names(rules=rules, image=image).filter(
            lambda n: (
                rules.info(n).kind in (Kind.CORE, Kind.EXTRA)
                and (rules.max_name_length is None or len(n) <= rules.max_name_length)
            )
        )
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


@st.composite
def patch_bodies(
    draw: st.DrawFn,
    *,
    media_type: str | None = None,
    rules: Rules = IMS,
    image: dict[str, Any] | None = None,
    max_size: int = 8,
) -> bytes:
    """A body of parse-valid operations, in the dialect of *media_type*."""
    dialect = MEDIA_TYPES[media_type or draw(media_types())]
    ops = draw(st.lists(operations(rules=rules, image=image, dialect=dialect), max_size=max_size))
    return json.dumps([_spell(op, dialect) for op in ops]).encode()


@st.composite
def requests(draw: st.DrawFn, *, rules: Rules = IMS) -> tuple[str, bytes, dict[str, Any]]:
    """A whole request ``(media_type, body, image)``: parse-valid, apply may refuse."""
    image = draw(images(rules=rules))
    media_type = draw(media_types())
    body = draw(patch_bodies(media_type=media_type, rules=rules, image=image))
    return media_type, body, image


@st.composite
def labelled_requests(
    draw: st.DrawFn, *, rules: Rules = IMS
) -> tuple[str | None, bytes, dict[str, Any], int]:
    """An invalid request and the status it must get, known by construction.

    A valid prefix of operations is followed by one defect: a wrong media
    type (415), malformed JSON or operation or pointer (400), a read-only or
    reserved name (403), a missing custom property (409).
    """
    image = draw(images(rules=rules))
    media_type = draw(media_types())
    dialect = MEDIA_TYPES[media_type]
    defect = draw(
        st.sampled_from(
            ("media_type", "json", "shape", "pointer", "read_only", "reserved", "missing")
        )
    )
    if defect == "media_type":
        bad = draw(st.sampled_from(("application/json", "application/json-patch+json", None)))
        return bad, b"[]", image, 415
    if defect == "json":
        raw = draw(st.sampled_from((b"", b"[", b"{}", b"1", b'[{"a":1,"a":2}]', b"[NaN]")))
        return media_type, raw, image, 400
    prefix = [
        _spell(op, dialect)
        for op in draw(st.lists(operations(rules=rules, image=image, dialect=dialect), max_size=3))
    ]
    status = 400
    if defect == "shape":
        last: Any = draw(st.sampled_from(([], "x", 1, None, {"value": 1})))
    elif defect == "pointer":
        path = draw(st.sampled_from(("noslash", "/a//b", "/trailing/", "/bad~2", "/a/b", "")))
        last = {"replace": path} if dialect == "v2.0" else {"op": "replace", "path": path}
        last["value"] = "v"
    elif defect in ("read_only", "reserved"):
        pool = GLANCE_READ_ONLY if defect == "read_only" else GLANCE_RESERVED | {"os_glance_x"}
        name = draw(st.sampled_from(sorted(pool)))
        op_kind = draw(st.sampled_from(("replace", "remove")))
        op: Operation = (
            Remove(Pointer.of(name)) if op_kind == "remove" else Replace(Pointer.of(name), "v")
        )
        last, status = _spell(op, dialect), 403
    else:
        missing = draw(
            _CUSTOM.filter(
                lambda n: (
                    n not in image
                    and rules.info(n).kind is Kind.EXTRA
                    and not rules.info(n).protected
                )
            )
        )
        last, status = _spell(Remove(Pointer.of(missing)), dialect), 409
        # a valid prefix could itself fail in apply; keep only parse-phase defects before it
        prefix = []
    return media_type, json.dumps([*prefix, last]).encode(), image, status
