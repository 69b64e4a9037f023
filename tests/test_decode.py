"""SPEC 2 (media types, 415) and SPEC 3 (strict decoding, 400/413)."""

from __future__ import annotations

import json

import pytest

import imspatch
from imspatch import LimitExceeded, Limits, MalformedPatch, UnsupportedMediaType

from .conftest import SAMPLE, V20, V21, err, ok, where

RENAME = b'[{"op": "replace", "path": "/name", "value": "test01"}]'


# --- SPEC 2: media types ------------------------------------------------------


@pytest.mark.parametrize(
    "media_type",
    [
        V21,
        V21 + "; charset=utf-8",
        V21 + " ; charset=UTF-8",  # Glance rejects the space; RFC 9110 allows it
        "  " + V21.upper() + "  ",
        "Application/OpenStack-Images-V2.1-JSON-Patch",
    ],
)
def test_v21_media_type_variants_are_accepted(media_type: str) -> None:
    assert ok(RENAME, media_type=media_type)["name"] == "test01"


@pytest.mark.parametrize(
    "media_type",
    [
        None,
        "",
        "application/json",
        "application/json-patch+json",
        f"{V20}, {V21}",  # openstack4j #1168 sent both, comma-joined
        "application/openstack-images-v2.1-json-json-patch",  # a Huawei Go eSDK typo
        "application/openstack-images-v2.2-json-patch",
        "text/plain",
    ],
)
def test_other_media_types_are_415_with_accept_patch(media_type: str | None) -> None:
    e = err(b"garbage that is never read", media_type=media_type)
    assert where(e) == (UnsupportedMediaType, 415, "unsupported_media_type", None, None)
    assert e.message == (
        "Image PATCH expects Content-Type one of: "
        "application/openstack-images-v2.0-json-patch, "
        "application/openstack-images-v2.1-json-patch"
    )
    status, headers, _ = e.to_response()
    assert status == 415
    assert ("Accept-Patch", imspatch.ACCEPT_PATCH) in headers
    assert ", ".join(sorted(imspatch.MEDIA_TYPES)) == imspatch.ACCEPT_PATCH


def test_non_string_media_type_is_415() -> None:
    with pytest.raises(UnsupportedMediaType):
        imspatch.patch_image(SAMPLE, RENAME, media_type=42)  # type: ignore[arg-type]


# --- SPEC 3: decoding -----------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty_body"),
        (b"   \n\t ", "empty_body"),
        (b"\xff[]", "invalid_utf8"),
        (b'["\xc3"]', "invalid_utf8"),
        (b"\xef\xbb\xbf[]", "invalid_json"),  # a UTF-8 BOM
        (b"[", "invalid_json"),
        (b"[] []", "invalid_json"),
        (b"[]x", "invalid_json"),
        (b"[]\x0c", "invalid_json"),  # whitespace to Python, not to JSON
        (b"[] \xc2\xa0", "invalid_json"),
        (b"\x0c[]", "invalid_json"),
        (b"{'a': 1}", "invalid_json"),
        (b'[{"op": "add", "op": "remove", "path": "/x"}]', "duplicate_member"),
        (b'[{"add": "/a", "add": "/b", "value": "x"}]', "duplicate_member"),
        (b'[{"op": "remove", "path": "/x", "value": {"a": 1, "a": 2}}]', "duplicate_member"),
        (b'[{"op": "remove", "path": "/x", "value": NaN}]', "invalid_number"),
        (b'[{"op": "remove", "path": "/x", "value": Infinity}]', "invalid_number"),
        (b'[{"op": "remove", "path": "/x", "value": -Infinity}]', "invalid_number"),
        (b'[{"op": "remove", "path": "/x", "value": 1e400}]', "invalid_number"),
        (b'[{"op": "remove", "path": "/x", "value": "\\ud800"}]', "lone_surrogate"),
        (b'[{"op": "remove", "path": "/x", "value": "\\udc00x"}]', "lone_surrogate"),
        (b'[{"op": "remove", "path": "/x\\ud800", "value": 1}]', "lone_surrogate"),
        (b'[{"\\udfff": 1}]', "lone_surrogate"),
        (b"[" + b"9" * 5000 + b"]", "invalid_number"),  # more than 4,300 digits
        (b"1", "unexpected_body_type"),
        (b'"[]"', "unexpected_body_type"),  # a double-encoded body (libcloud #1190)
        (b"true", "unexpected_body_type"),
        (b"null", "unexpected_body_type"),
        (b'{"op": "replace"}', "not_an_array"),
    ],
)
def test_malformed_bodies_are_400(raw: bytes, code: str) -> None:
    e = err(raw)
    assert where(e) == (MalformedPatch, 400, code, None, None)


def test_a_valid_surrogate_pair_is_fine() -> None:
    raw = b'[{"op": "add", "path": "/k", "value": "\\ud83d\\ude00"}]'
    # a 4-byte character: decodes fine, then the finishing check refuses it (SPEC 6.1)
    e = err(raw)
    assert where(e) == (MalformedPatch, 400, "four_byte_unicode", 0, "/k")


@pytest.mark.parametrize("element", [[], "x", 123, True, False, None, ["add"]])
def test_an_element_that_is_not_an_object_is_400(element: object) -> None:
    e = err(json.dumps([{"op": "add", "path": "/a", "value": "b"}, element]).encode())
    assert where(e) == (MalformedPatch, 400, "operation_not_object", 1, None)
    assert e.message == "Operations must be JSON objects."


def test_empty_array_changes_nothing() -> None:
    result = ok(b"[]")
    assert result == SAMPLE
    assert result is not SAMPLE


@pytest.mark.parametrize("form", ["bytes", "str", "bytearray", "memoryview", "list"])
def test_body_forms(form: str) -> None:
    data: object = {
        "bytes": RENAME,
        "str": RENAME.decode(),
        "bytearray": bytearray(RENAME),
        "memoryview": memoryview(RENAME),
        "list": json.loads(RENAME),
    }[form]
    result = imspatch.patch_image(SAMPLE, data, media_type=V21)  # type: ignore[arg-type]
    assert result["name"] == "test01"


@pytest.mark.parametrize(
    ("decoded", "code"),
    [
        ({"op": "replace"}, "not_an_array"),
        ((), "not_json"),
        (5, "unexpected_body_type"),
        (None, "unexpected_body_type"),
        ([{"op": "remove", "path": "/x", "value": {1: 2}}], "not_json"),
        ([{"op": "remove", "path": "/x", "value": {"a"}}], "not_json"),
        ([{"op": "remove", "path": "/x", "value": (1, 2)}], "not_json"),
        ([{"op": "remove", "path": "/x", "value": float("nan")}], "invalid_number"),
        ([{"op": "remove", "path": "/x", "value": float("inf")}], "invalid_number"),
        ([{"op": "remove", "path": "/x", "value": "\ud800"}], "lone_surrogate"),
    ],
)
def test_decoded_bodies_are_checked_to_be_json(decoded: object, code: str) -> None:
    with pytest.raises(MalformedPatch) as info:
        imspatch.patch_image(SAMPLE, decoded, media_type=V21)  # type: ignore[arg-type]
    assert (info.value.code, info.value.index) == (code, None)


def nested(depth: int) -> bytes:
    """A remove whose ignored value nests so that the body has *depth* levels."""
    inner = "[" * (depth - 2) + "]" * (depth - 2)
    return f'[{{"op": "remove", "path": "/__foo", "value": {inner}}}]'.encode()


def test_depth_limit_counts_every_container_even_an_ignored_value() -> None:
    assert imspatch.DEFAULT_LIMITS.max_depth == 32
    with pytest.raises(imspatch.PatchConflict):  # depth 32 decodes; /__foo then is absent
        imspatch.patch_image(SAMPLE, nested(32), media_type=V21, rules=imspatch.GLANCE)
    e = err(nested(33))
    assert where(e) == (MalformedPatch, 400, "too_deep", None, None)


@pytest.mark.parametrize("depth", [100, 2000, 100_000])
def test_very_deep_nesting_is_400_not_a_crash(depth: int) -> None:
    raw = b"[" * depth + b"]" * depth
    assert where(err(raw)) == (MalformedPatch, 400, "too_deep", None, None)
    assert where(err(raw.decode())) == (MalformedPatch, 400, "too_deep", None, None)


def test_deep_decoded_list_is_400() -> None:
    doc: list[object] = []
    for _ in range(100_000):
        doc = [doc]
    with pytest.raises(MalformedPatch) as info:
        imspatch.patch_image(SAMPLE, doc, media_type=V21)
    assert info.value.code == "too_deep"


def test_body_size_limit_is_413() -> None:
    limits = Limits(max_body_bytes=len(RENAME))
    assert imspatch.patch_image(SAMPLE, RENAME, media_type=V21, limits=limits)
    for data in (RENAME + b" ", (RENAME + b" ").decode()):
        with pytest.raises(LimitExceeded) as info:
            imspatch.patch_image(SAMPLE, data, media_type=V21, limits=limits)
        assert (info.value.status, info.value.code) == (413, "body_too_large")


def test_body_size_counts_utf8_bytes_of_text() -> None:
    text = '[{"op": "replace", "path": "/name", "value": "\u4e2d\u6587"}]'
    limits = Limits(max_body_bytes=len(text.encode()) - 1)
    with pytest.raises(LimitExceeded):
        imspatch.patch_image(SAMPLE, text, media_type=V21, limits=limits)


def test_operation_count_limit_is_413() -> None:
    limits = Limits(max_operations=2)
    three = json.dumps([{"op": "replace", "path": "/name", "value": "a"}] * 3)
    with pytest.raises(LimitExceeded) as info:
        imspatch.patch_image(SAMPLE, three, media_type=V21, limits=limits)
    assert (info.value.code, info.value.index) == ("too_many_operations", None)
    assert imspatch.DEFAULT_LIMITS.max_operations == 100_000
    assert imspatch.DEFAULT_LIMITS.max_body_bytes == 16 * 1024 * 1024


def test_limits_are_frozen() -> None:
    with pytest.raises(AttributeError):
        imspatch.DEFAULT_LIMITS.max_depth = 3  # type: ignore[misc]


def test_decode_error_beats_everything() -> None:
    # a parse-phase error later in the body does not matter: the JSON is bad first
    raw = b'[{"op": "replace", "path": "/id", "value": 1}, {"op": "x", "op": "y"}]'
    assert err(raw).code == "duplicate_member"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'[{"op": "x", "op": "y"}, {"op": "remove", "path": "/x"}', "invalid_json"),
        (
            b'[{"op": "x", "op": "y"}, {"op": "remove", "path": "/x", "value": NaN}]',
            "invalid_number",
        ),
        (b'[{"op": "x", "op": "y"}, {"op": "remove", "path": "/x\\udc00"}]', "lone_surrogate"),
        (
            b'[{"op": "x", "op": "y"}, {"op": "remove", "path": "/x", "value": "a:b"}]',
            "duplicate_member",
        ),
    ],
)
def test_text_that_is_not_json_at_all_beats_a_duplicate_member(raw: bytes, code: str) -> None:
    assert where(err(raw)) == (MalformedPatch, 400, code, None, None)


def test_default_limits_are_documented_values() -> None:
    documented = Limits(
        max_body_bytes=16 * 1024 * 1024,
        max_operations=100_000,
        max_depth=32,
        max_string_length=1024 * 1024,
        max_pointer_length=4096,
        max_members=1000,
    )
    assert documented == imspatch.DEFAULT_LIMITS


@pytest.mark.parametrize("form", ["bytes", "str", "list"])
def test_string_length_limit_holds_everywhere(form: str) -> None:
    limits = Limits(max_string_length=8)
    for op in (
        {"op": "replace", "path": "/name", "value": "123456789"},
        {"op": "remove", "path": "/x", "value": ["123456789"]},  # an ignored value
        {"op": "remove", "path": "/x", "123456789": 1},  # a member name
    ):
        doc = [op]
        data: object = {"bytes": json.dumps(doc).encode(), "str": json.dumps(doc), "list": doc}[
            form
        ]
        with pytest.raises(LimitExceeded) as info:
            imspatch.patch_image(SAMPLE, data, media_type=V21, limits=limits)  # type: ignore[arg-type]
        assert (info.value.status, info.value.code, info.value.index) == (
            413,
            "string_too_long",
            None,
        )
        assert "max_string_length (8 characters)" in info.value.message
    ok_doc = [{"op": "replace", "path": "/name", "value": "12345678"}]
    assert imspatch.patch_image(SAMPLE, ok_doc, media_type=V21, limits=limits)["name"] == "12345678"


@pytest.mark.parametrize("form", ["bytes", "list"])
def test_member_count_limit(form: str) -> None:
    limits = Limits(max_members=3)
    doc = [{"op": "remove", "path": "/x", "value": {"a": 1, "b": 2, "c": 3, "d": 4}}]
    data: object = json.dumps(doc).encode() if form == "bytes" else doc
    with pytest.raises(LimitExceeded) as info:
        imspatch.patch_image(SAMPLE, data, media_type=V21, limits=limits)  # type: ignore[arg-type]
    assert (info.value.code, info.value.index) == ("too_many_members", None)
    assert "max_members (3)" in info.value.message


def test_pointer_length_limit() -> None:
    limits = Limits(max_pointer_length=5)
    with pytest.raises(LimitExceeded) as info:
        imspatch.patch_image(SAMPLE, [{"op": "replace", "path": "/name1", "value": "x"}],
                             media_type=V21, limits=limits)  # fmt: skip
    assert (info.value.code, info.value.index, info.value.pointer) == (
        "pointer_too_long",
        0,
        "/name1",
    )
    assert "max_pointer_length (5 characters)" in info.value.message
    assert imspatch.patch_image(SAMPLE, [{"op": "replace", "path": "/name", "value": "x"}],
                                media_type=V21, limits=limits)["name"] == "x"  # fmt: skip


def test_a_body_level_limit_anywhere_beats_every_operation_error() -> None:
    deep = {
        "op": "remove",
        "path": "/x",
        "value": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
    }
    ops = [{"op": "replace", "path": "/id", "value": 1}, {"op": "bogus"}, deep]
    for data in (json.dumps(ops).encode(), json.dumps(ops), ops):
        assert where(err(data) if not isinstance(data, list) else err(json.dumps(data))) == (
            MalformedPatch,
            400,
            "too_deep",
            None,
            None,
        )
        errors = list(imspatch.iter_errors(data, media_type=V21))
        assert [(e.code, e.index) for e in errors] == [("too_deep", None)]
    long_value = {"op": "remove", "path": "/x", "value": "y" * 20}
    limits = Limits(max_string_length=10)
    raw = json.dumps([{"op": "replace", "path": "/id", "value": 1}, long_value])
    with pytest.raises(LimitExceeded) as info:
        imspatch.patch_image(SAMPLE, raw, media_type=V21, limits=limits)
    assert (info.value.code, info.value.index) == ("string_too_long", None)


@pytest.mark.parametrize("space", [" ", "\n", "\r\n", "\t", " \n\t\r "])
def test_json_whitespace_around_the_body_is_fine(space: str) -> None:
    assert ok((space + RENAME.decode() + space).encode())["name"] == "test01"
