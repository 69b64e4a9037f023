"""Hypothesis properties of the public API (SPEC 1, 3, 7; issue 2)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import imspatch
from imspatch import GLANCE, IMS, Add, PatchError
from imspatch import strategies as ims_st

pytestmark = pytest.mark.property
RULES = st.sampled_from((IMS, GLANCE))


def outcome(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn(*args, **kwargs))
    except PatchError as e:
        return ("error", e.status, e.code, e.index, e.pointer)


@given(st.data(), RULES)
def test_input_image_is_never_mutated_and_failures_repeat(data: st.DataObject, rules: Any) -> None:
    media_type, body, image = data.draw(ims_st.requests(rules=rules))
    frozen = copy.deepcopy(image)
    first = outcome(imspatch.patch_image, image, body, media_type=media_type, rules=rules)
    assert image == frozen
    assert json.dumps(image) == json.dumps(frozen)  # key order and types too
    second = outcome(imspatch.patch_image, image, body, media_type=media_type, rules=rules)
    assert first == second


@given(st.data(), RULES)
def test_labelled_requests_get_their_status(data: st.DataObject, rules: Any) -> None:
    media_type, body, image, status = data.draw(ims_st.labelled_requests(rules=rules))
    with pytest.raises(PatchError) as info:
        imspatch.patch_image(image, body, media_type=media_type, rules=rules)
    assert info.value.status == status


@given(st.data(), RULES)
def test_both_spellings_parse_to_the_same_operations(data: st.DataObject, rules: Any) -> None:
    ops = data.draw(st.lists(ims_st.operations(rules=rules), max_size=6))
    v21 = imspatch.dump_patch(ops, media_type=ims_st.V21)
    v20_ops = [Add(op.path, op.value, if_absent=True) if isinstance(op, Add) else op for op in ops]
    v20 = imspatch.dump_patch(v20_ops, media_type=ims_st.V20)
    parsed21 = imspatch.parse_patch(v21, media_type=ims_st.V21, rules=rules)
    parsed20 = imspatch.parse_patch(v20, media_type=ims_st.V20, rules=rules)
    assert list(parsed21) == ops
    assert list(parsed20) == v20_ops
    # the spellings differ only in what v2.0 add means: add-if-absent
    assert [type(op) for op in parsed20] == [type(op) for op in parsed21]
    assert [op.path for op in parsed20] == [op.path for op in parsed21]


@given(st.data(), RULES, ims_st.media_types())
def test_dump_then_parse_round_trips(data: st.DataObject, rules: Any, media_type: str) -> None:
    body = data.draw(ims_st.patch_bodies(media_type=media_type, rules=rules))
    ops = imspatch.parse_patch(body, media_type=media_type, rules=rules)
    again = imspatch.dump_patch(ops, media_type=media_type)
    assert imspatch.parse_patch(again, media_type=media_type, rules=rules) == ops
    assert json.loads(again) == json.loads(body)


@given(st.binary(max_size=300), ims_st.media_types(), RULES)
def test_arbitrary_bytes_raise_only_patch_error(raw: bytes, media_type: str, rules: Any) -> None:
    for call in (
        lambda: imspatch.patch_image({}, raw, media_type=media_type, rules=rules),
        lambda: imspatch.parse_patch(raw, media_type=media_type, rules=rules),
        lambda: list(imspatch.iter_errors(raw, media_type=media_type, rules=rules, image={})),
    ):
        try:
            call()
        except PatchError:
            pass


OP_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "op": st.sampled_from(("add", "remove", "replace", "test")) | ims_st.json_values(),
        "path": st.sampled_from(("/name", "/tags", "/x", "/", "//a", "/a/b", "/locations/0"))
        | ims_st.json_values(),
        "value": ims_st.json_values(),
        "add": st.sampled_from(("/name", "/x")) | ims_st.json_values(),
        "remove": st.sampled_from(("/x", "/id")),
        "replace": st.sampled_from(("/name", "/min_ram", "/owner", "/tags")),
    },
)


@given(
    st.lists(OP_LIKE | ims_st.json_values(), max_size=5) | ims_st.json_values(),
    st.one_of(ims_st.media_types(), st.none(), st.text(max_size=10)),
    RULES,
    st.booleans(),
    st.data(),
)
def test_arbitrary_json_bodies_raise_only_patch_error(
    doc: Any, media_type: Any, rules: Any, admin: bool, data: st.DataObject
) -> None:
    image = data.draw(ims_st.images(rules=rules))
    frozen = copy.deepcopy(image)
    raw = json.dumps(doc).encode()
    for body in (raw, raw.decode(), doc):
        try:
            imspatch.patch_image(image, body, media_type=media_type, rules=rules, admin=admin)
        except PatchError as e:
            assert e.status in (400, 403, 409, 413, 415)
            assert e.code in imspatch.ERROR_CODES
            if e.index is not None:
                assert isinstance(doc, list)
                assert 0 <= e.index < len(doc)
    assert image == frozen


@given(st.data(), RULES)
def test_bytes_and_decoded_bodies_agree(data: st.DataObject, rules: Any) -> None:
    media_type, body, image = data.draw(ims_st.requests(rules=rules))
    as_bytes = outcome(imspatch.patch_image, image, body, media_type=media_type, rules=rules)
    decoded = json.loads(body)
    as_list = outcome(imspatch.patch_image, image, decoded, media_type=media_type, rules=rules)
    assert as_bytes == as_list
    if as_list[0] == "ok":  # the result shares nothing mutable with the body
        before = copy.deepcopy(as_list[1])
        for op in decoded:
            if isinstance(op.get("value"), list):
                op["value"].append("mutated")
        assert as_list[1] == before


@given(st.data(), RULES)
def test_iter_errors_starts_with_the_error_patch_image_raises(
    data: st.DataObject, rules: Any
) -> None:
    if data.draw(st.booleans()):
        media_type, body, image, _ = data.draw(ims_st.labelled_requests(rules=rules))
    else:
        media_type, body, image = data.draw(ims_st.requests(rules=rules))
    single = outcome(imspatch.patch_image, image, body, media_type=media_type, rules=rules)
    errors = list(imspatch.iter_errors(body, media_type=media_type, rules=rules, image=image))
    if single[0] == "ok":
        assert errors == []
    else:
        first = errors[0]
        assert ("error", first.status, first.code, first.index, first.pointer) == single


@given(st.data(), RULES)
def test_apply_patch_agrees_with_patch_image(data: st.DataObject, rules: Any) -> None:
    media_type, body, image = data.draw(ims_st.requests(rules=rules))
    ops = imspatch.parse_patch(body, media_type=media_type, rules=rules)
    assert outcome(imspatch.apply_patch, image, ops, rules=rules) == outcome(
        imspatch.patch_image, image, body, media_type=media_type, rules=rules
    )


@given(st.data())
def test_successful_requests_only_change_what_they_name(data: st.DataObject) -> None:
    media_type, body, image = data.draw(ims_st.requests(rules=IMS))
    try:
        result = imspatch.patch_image(image, body, media_type=media_type)
    except PatchError:
        assume(False)
        return
    named = {op.path.name for op in imspatch.parse_patch(body, media_type=media_type)}
    for key in set(image) | set(result):
        if key not in named:
            assert result.get(key, ...) is image.get(key, ...)


# --- duplicate member names are found by counting colons (SPEC 3) -------------

_KEYS = ("op", "path", "value", "a", "a:b", ":", "")


def _render_string(text: str, escape_colons: bool) -> str:
    out = json.dumps(text)
    return out.replace(":", "\\u003a") if escape_colons else out


@st.composite
def _json_text(draw: st.DrawFn, depth: int = 0) -> str:
    """JSON text whose objects may repeat a member name, colons in strings included."""
    kind = draw(
        st.sampled_from(["string", "number", "object", "array"] if depth < 3 else ["string"])
    )
    if kind == "string":
        return _render_string(
            draw(st.sampled_from(["x", "a:b", "::", "/name", ""])), draw(st.booleans())
        )
    if kind == "number":
        return "1"
    if kind == "array":
        return "[" + ",".join(draw(st.lists(_json_text(depth + 1), max_size=3))) + "]"
    keys = draw(st.lists(st.sampled_from(_KEYS), max_size=4))
    members = [
        _render_string(key, draw(st.booleans())) + ":" + draw(_json_text(depth + 1)) for key in keys
    ]
    return "{" + ",".join(members) + "}"


def _has_duplicate(text: str) -> bool:
    found = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({key for key, _ in pairs}) != len(pairs):
            found.append(True)
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)
    return bool(found)


@given(st.lists(_json_text(), max_size=4))
def test_duplicate_members_are_found_exactly(elements: list[str]) -> None:
    text = "[" + ",".join(elements) + "]"
    duplicate = _has_duplicate(text)
    codes = [e.code for e in imspatch.iter_errors(text, media_type=ims_st.V21)]
    assert ("duplicate_member" in codes) == duplicate
    if duplicate:
        assert codes == ["duplicate_member"]  # a body-level error is the only one
    try:
        imspatch.patch_image({}, text.encode(), media_type=ims_st.V21)
    except PatchError as exc:
        assert (exc.code == "duplicate_member") == duplicate
        if duplicate:  # a body-level error: no operation, no pointer
            assert (exc.status, exc.index, exc.pointer) == (400, None, None)
    else:
        assert not duplicate


@st.composite
def _valid_op_text(draw: st.DrawFn) -> str:
    """A v2.1 operation that parses, colons in its strings, perhaps a repeated member."""
    name = draw(st.sampled_from(["k", "a:b", "::", "name"]))
    members = [
        ("op", draw(st.sampled_from(["add", "replace"]))),
        ("path", "/" + name),
        ("value", draw(st.sampled_from(["v", "x:y", "http://h:1/", ""]))),
    ]
    if draw(st.booleans()):  # a duplicate: same name, another value, anywhere
        key, _ = draw(st.sampled_from(members))
        again = {"op": "add", "path": "/k", "value": "w:w"}[key]
        members.insert(draw(st.integers(0, len(members))), (key, again))
    return (
        "{"
        + ",".join(
            _render_string(k, draw(st.booleans())) + ":" + _render_string(v, draw(st.booleans()))
            for k, v in members
        )
        + "}"
    )


@given(st.lists(_valid_op_text(), min_size=1, max_size=5))
def test_duplicate_members_are_found_exactly_in_bodies_that_parse(ops: list[str]) -> None:
    text = "[" + ",".join(ops) + "]"
    duplicate = _has_duplicate(text)
    image = {"k": "old", "a:b": "old", "::": "old", "name": "old"}
    try:
        imspatch.patch_image(image, text.encode(), media_type=ims_st.V21, rules=GLANCE)
    except PatchError as exc:
        assert (exc.status, exc.code, exc.index, exc.pointer) == (
            400,
            "duplicate_member",
            None,
            None,
        )
        assert duplicate
    else:
        assert not duplicate
