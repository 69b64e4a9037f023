"""The rest of the public API: iter_errors, apply_patch, dump_patch, exports."""

from __future__ import annotations

import json
from typing import Any

import pytest

import imspatch
from imspatch import GLANCE, IMS, Add, MalformedPatch, Pointer, Remove, Replace

from .conftest import SAMPLE, V20, V21


def codes(body: Any, **kw: Any) -> list[tuple[int, str, int | None, str | None]]:
    kw.setdefault("media_type", V21)
    return [(e.status, e.code, e.index, e.pointer) for e in imspatch.iter_errors(body, **kw)]


def test_exports() -> None:
    assert len(set(imspatch.__all__)) == len(imspatch.__all__)
    assert all(hasattr(imspatch, name) for name in imspatch.__all__)
    for name in ("patch_image", "parse_patch", "apply_patch", "iter_errors", "dump_patch",
                 "IMS", "GLANCE", "MEDIA_TYPES", "ACCEPT_PATCH", "PatchError"):  # fmt: skip
        assert name in imspatch.__all__
        assert getattr(imspatch, name) is not None
    assert IMS.name == "ims"
    assert GLANCE.name == "glance"


def test_iter_errors_reports_every_static_error_in_order() -> None:
    body = [
        {"op": "replace", "path": "/id", "value": 1},
        {"op": "replace", "path": "/name", "value": "ok"},
        {"op": "bogus", "path": "/x"},
        {"op": "add", "path": "nope", "value": 1},
        {"op": "replace", "path": "/name", "value": ""},
        {"op": "add", "path": "/custom", "value": 5},
        "not an object",
    ]
    assert codes(body) == [
        (403, "read_only", 0, "/id"),
        (400, "invalid_op", 2, None),
        (400, "pointer_no_slash", 3, "nope"),
        (400, "IMG.0003", 4, "/name"),
        (400, "invalid_value", 5, "/custom"),
        (400, "operation_not_object", 6, None),
    ]


def test_iter_errors_body_level_error_is_the_only_one() -> None:
    assert codes(b"[1,") == [(400, "invalid_json", None, None)]
    assert codes(b"[]", media_type="text/plain") == [(415, "unsupported_media_type", None, None)]


def test_iter_errors_with_an_image_adds_the_first_apply_error() -> None:
    body = [{"op": "remove", "path": "/nope"}, {"op": "remove", "path": "/nope2"}]
    assert codes(body) == []
    assert codes(body, image=SAMPLE) == [(409, "no_such_property", 0, "/nope")]
    # finishing errors too
    body = [{"op": "add", "path": "/k", "value": "\U0001f600"}]
    assert codes(body, image=SAMPLE) == [(400, "four_byte_unicode", 0, "/k")]
    # no apply error is reported while static errors stand
    body = [{"op": "remove", "path": "/nope"}, {"op": "replace", "path": "/id", "value": 1}]
    assert codes(body, image=SAMPLE) == [(403, "read_only", 1, "/id")]
    assert codes([{"op": "replace", "path": "/name", "value": "fine"}], image=SAMPLE) == []


def test_iter_errors_carries_the_rule_set_style() -> None:
    (e,) = imspatch.iter_errors([{"op": "remove", "path": "/id"}], media_type=V21, rules=GLANCE)
    assert e.style == "glance"
    assert json.loads(e.to_response().body)["code"] == "403 Forbidden"


def test_apply_patch_with_built_operations() -> None:
    ops = [Replace(Pointer.of("name"), "x"), Add(Pointer.of("k"), "v"), Remove(Pointer.of("k"))]
    assert imspatch.apply_patch(SAMPLE, ops) == {**SAMPLE, "name": "x"}
    assert imspatch.apply_patch(SAMPLE, iter(ops)) == {**SAMPLE, "name": "x"}


def test_apply_patch_rechecks_operations_against_its_rules() -> None:
    # parsed under GLANCE, applied under IMS: the IMS value rule still holds
    ops = imspatch.parse_patch([{"op": "replace", "path": "/name", "value": ""}],
                               media_type=V21, rules=GLANCE)  # fmt: skip
    with pytest.raises(MalformedPatch) as info:
        imspatch.apply_patch(SAMPLE, ops, rules=IMS)
    assert (info.value.code, info.value.index, info.value.pointer) == ("IMG.0003", 0, "/name")
    with pytest.raises(imspatch.ForbiddenChange) as forbidden:
        imspatch.apply_patch(SAMPLE, [Remove(Pointer.of("status"))])
    assert forbidden.value.code == "read_only"
    with pytest.raises(MalformedPatch) as deep:
        imspatch.apply_patch(SAMPLE, [Remove(Pointer.of("a", "b"))])
    assert deep.value.code == "invalid_path"


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "replace"}],
        [None],
        ["/name"],
        [Replace("/name", "x")],  # type: ignore[arg-type]
        "ops",
        5,
        {"op": "add"},
    ],
)
def test_apply_patch_refuses_what_is_not_an_operation(ops: Any) -> None:
    with pytest.raises(MalformedPatch) as info:
        imspatch.apply_patch(SAMPLE, ops)
    assert info.value.code == "invalid_operation"


@pytest.mark.parametrize("image", [None, [], "image", 5])
def test_an_image_that_is_not_a_mapping_is_refused(image: Any) -> None:
    with pytest.raises(MalformedPatch) as info:
        imspatch.patch_image(image, b"[]", media_type=V21)
    assert info.value.code == "invalid_image"


def test_dump_patch_both_dialects() -> None:
    ops = (Replace(Pointer.parse("/ name"), "n"), Remove(Pointer.of("a/b")))
    assert json.loads(imspatch.dump_patch(ops, media_type=V21)) == [
        {"op": "replace", "path": "/ name", "value": "n"},
        {"op": "remove", "path": "/a~1b"},
    ]
    assert json.loads(imspatch.dump_patch(ops, media_type=V20)) == [
        {"replace": "/ name", "value": "n"},
        {"remove": "/a~1b"},
    ]
    assert imspatch.dump_patch([Replace(Pointer.of("n"), "\u4e2d")], media_type=V21) == (
        '[{"op":"replace","path":"/n","value":"\u4e2d"}]'.encode()
    )


def test_dump_patch_will_not_change_what_add_means() -> None:
    with pytest.raises(MalformedPatch) as info:
        imspatch.dump_patch([Add(Pointer.of("x"), "v")], media_type=V20)
    assert (info.value.code, info.value.index, info.value.pointer) == ("not_expressible", 0, "/x")
    with pytest.raises(MalformedPatch):
        imspatch.dump_patch([Add(Pointer.of("x"), "v", if_absent=True)], media_type=V21)
    assert imspatch.dump_patch([Add(Pointer.of("x"), "v", if_absent=True)], media_type=V20) == (
        b'[{"add":"/x","value":"v"}]'
    )


def test_dump_patch_errors() -> None:
    with pytest.raises(imspatch.UnsupportedMediaType):
        imspatch.dump_patch([], media_type="application/json")
    with pytest.raises(MalformedPatch) as info:
        imspatch.dump_patch([Replace(Pointer.of("x"), {1, 2})], media_type=V21)
    assert info.value.code == "not_json"
    with pytest.raises(MalformedPatch):
        imspatch.dump_patch([Replace(Pointer.of("x"), float("nan"))], media_type=V21)
    with pytest.raises(MalformedPatch):
        imspatch.dump_patch(["x"], media_type=V21)  # type: ignore[list-item]


def test_operations_are_frozen_and_hashable() -> None:
    op = Replace(Pointer.of("tags"), ["a"])
    with pytest.raises(AttributeError):
        op.value = []  # type: ignore[misc]
    assert hash(op) == hash(Replace(Pointer.of("tags"), ["b"]))
    assert op.op == "replace"
    assert Add.op == "add"
    assert Remove.op == "remove"


def test_result_never_aliases_request_values() -> None:
    body = [{"op": "replace", "path": "/tags", "value": ["a"]}]
    result = imspatch.patch_image(SAMPLE, body, media_type=V21, rules=GLANCE)
    body[0]["value"].append("b")  # type: ignore[attr-defined]
    assert result["tags"] == ["a"]
    ops = imspatch.parse_patch(json.dumps(body), media_type=V21, rules=GLANCE)
    one = imspatch.apply_patch(SAMPLE, ops, rules=GLANCE)
    two = imspatch.apply_patch(SAMPLE, ops, rules=GLANCE)
    assert one["tags"] is not two["tags"]
    assert one["tags"] is not ops[0].value  # type: ignore[union-attr]


def test_the_custom_rule_sets_are_data() -> None:
    lenient = IMS.replace(writable=None, name="lenient")
    assert imspatch.patch_image(
        SAMPLE, [{"op": "replace", "path": "/visibility", "value": "public"}],
        media_type=V21, rules=lenient,
    )["visibility"] == "public"  # fmt: skip
    assert IMS.info("visibility").protected
    assert not lenient.info("visibility").protected


@pytest.mark.parametrize("parts", [(), (1,), ["name"], ("a", None)])
def test_a_pointer_needs_string_tokens(parts: Any) -> None:
    with pytest.raises(MalformedPatch) as info:
        Pointer(parts)
    assert info.value.code == "invalid_operation"


def test_lazy_exports_agree_with_all() -> None:
    import importlib  # noqa: PLC0415

    module = importlib.import_module("imspatch")
    assert set(module.__all__) == {*module._WHERE, "__version__"}
    for name in module.__all__:
        assert getattr(module, name) is not None
    assert "patch_image" in dir(module)
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018


@pytest.mark.parametrize("parts", [(" x",), ("x ",), ("\t",), ("", "x"), ("a", "")])
def test_dump_patch_refuses_pointers_no_text_reads_back_as(parts: tuple[str, ...]) -> None:
    with pytest.raises(MalformedPatch) as info:
        imspatch.dump_patch([Remove(Pointer(parts))], media_type=V21)
    assert (info.value.code, info.value.index) == ("not_expressible", 0)


def test_the_facts_the_validator_shares_with_the_engine() -> None:
    """imspatch.rules says once what imspatch.offline reasons about (no copies there)."""
    from imspatch import offline, rules  # noqa: PLC0415 - the module under test

    assert rules.STATUS_ATTRIBUTE == "status"
    assert rules.INT32_MAX == 2**31 - 1
    texts = ["a", "\u00e9", "\u4e2d", "\uffff", "\U00010000", "x\U0001f600", "\ud800", 1, None]
    assert [rules.has_four_byte(t) for t in texts] == [False] * 4 + [True] * 2 + [False] * 3
    assert rules.same_set(["a", "b"], ["b", "a", "a"])
    assert not rules.same_set(["a"], "a")  # the current value is no list
    assert not rules.same_set([["x"]], [["x"]])  # unhashable elements are no strings
    assert IMS.same_value("tags", ["a", "b"], ["b", "a"])
    assert not IMS.same_value("name", ["a", "b"], ["b", "a"])
    assert not IMS.same_value("__x", 1, True)  # JSON equality: a boolean is no number
    for copy in ("_STATUS", "_INT32_MAX", "_astral", "_same_set"):
        assert not hasattr(offline, copy), copy
