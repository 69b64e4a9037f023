"""SPEC 4 (operation objects), SPEC 5 (pointers) and the parse-phase name classes."""

from __future__ import annotations

import json

import pytest

import imspatch
from imspatch import GLANCE, Add, ForbiddenChange, MalformedPatch, Pointer, Remove, Replace

from .conftest import SAMPLE, V20, V21, err, where

# --- SPEC 4: operation objects ---------------------------------------------------


@pytest.mark.parametrize(
    ("op", "code", "message"),
    [
        (
            {"path": "/name", "value": "x"},
            "missing_op",
            "Unable to find `op` in JSON Schema change. "
            "It must be one of the following: add, remove, replace.",
        ),
        (
            {"op": None, "path": "/name", "value": "x"},
            "missing_op",
            "Unable to find `op` in JSON Schema change. "
            "It must be one of the following: add, remove, replace.",
        ),
        (
            {"op": "test", "path": "/name", "value": "x"},
            "invalid_op",
            "Invalid operation: `test`. It must be one of the following: add, remove, replace.",
        ),
        ({"op": "ADD", "path": "/name", "value": "x"}, "invalid_op", None),
        ({"op": "move", "path": "/name", "from": "/x"}, "invalid_op", None),
        ({"op": "copy", "path": "/name", "from": "/x"}, "invalid_op", None),
        ({"op": ["add"], "path": "/name", "value": "x"}, "invalid_op", None),
        ({"op": 1, "path": "/name", "value": "x"}, "invalid_op", None),
        (
            {"op": "replace", "value": "x"},
            "missing_path",
            "Unable to find 'path' in JSON Schema change",
        ),
        (
            {"op": "replace", "path": "/name"},
            "missing_value",
            'Operation "replace" requires a member named "value".',
        ),
        ({"op": "add", "path": "/name"}, "missing_value", None),
    ],
)
def test_v21_operation_shape(op: dict[str, object], code: str, message: str | None) -> None:
    e = err([{"op": "replace", "path": "/name", "value": "ok"}, op])
    pointer = op.get("path") if code == "missing_value" else None
    assert where(e) == (MalformedPatch, 400, code, 1, pointer)
    if message is not None:
        assert e.message == message


@pytest.mark.parametrize(
    ("op", "code"),
    [
        ({"replace": "/foo", "add": "/bar", "value": "x"}, "several_ops"),
        ({"replace": "/foo", "remove": "/bar"}, "several_ops"),
        ({"add": None, "replace": "/name", "value": "x"}, "several_ops"),  # null is present
        ({"value": "x"}, "missing_op"),
        ({"op": "replace", "path": "/name", "value": "x"}, "missing_op"),  # v2.1 shape
        ({"replace": "/colburn"}, "missing_value"),
    ],
)
def test_v20_operation_shape(op: dict[str, object], code: str) -> None:
    e = err([op], media_type=V20)
    pointer = "/colburn" if code == "missing_value" else None
    assert where(e) == (MalformedPatch, 400, code, 0, pointer)
    if code == "several_ops":
        assert e.message == (
            'Operation objects must contain only one member named "add", "remove", or "replace".'
        )
    if code == "missing_op":
        assert e.message == (
            'Operation objects must contain exactly one member named "add", "remove", or "replace".'
        )


@pytest.mark.parametrize("path", [None, 1, 1.5, True, [], ["name"], {"a": "b"}])
@pytest.mark.parametrize("media_type", [V20, V21])
def test_non_string_path_is_400_not_500(path: object, media_type: str) -> None:
    op = (
        {"replace": path, "value": "x"}
        if media_type == V20
        else {"op": "replace", "path": path, "value": "x"}
    )
    assert where(err([op], media_type=media_type)) == (
        MalformedPatch,
        400,
        "path_not_string",
        0,
        None,
    )


def test_value_is_ignored_for_remove_and_extra_members_are_ignored() -> None:
    image = dict(SAMPLE, foo="bar")
    ops = [
        {"op": "remove", "path": "/foo", "value": {"anything": [1, 2, None]}, "from": "/x"},
        {"op": "replace", "path": "/name", "value": "n", "replace": "/id", "extra": 1},
    ]
    result = imspatch.patch_image(image, json.dumps(ops), media_type=V21)
    assert "foo" not in result
    assert result["name"] == "n"
    v20 = [{"remove": "/foo", "op": "add", "path": "/id"}]
    assert "foo" not in imspatch.patch_image(image, v20, media_type=V20)


def test_null_value_counts_as_present() -> None:
    assert where(err([{"op": "replace", "path": "/__description", "value": None}])) == (
        MalformedPatch,
        400,
        "IMG.0054",
        0,
        "/__description",
    )
    result = imspatch.patch_image(
        SAMPLE, [{"op": "replace", "path": "/name", "value": None}], media_type=V21, rules=GLANCE
    )
    assert result["name"] is None


# --- SPEC 5: pointers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "code", "message"),
    [
        ("noslash", "pointer_no_slash", 'Pointer `noslash` does not start with "/".'),
        ("", "pointer_no_slash", 'Pointer `` does not start with "/".'),
        ("///twoslash", "pointer_adjacent_slash", 'Pointer `///twoslash` contains adjacent "/".'),
        ("/a//b", "pointer_adjacent_slash", None),
        ("/two/   /slash", "pointer_adjacent_slash", None),
        ("/trailingslash/", "pointer_trailing_slash", 'Pointer `/trailingslash/` end with "/".'),
        ("/      /      ", "pointer_no_token", 'Pointer `/      /      ` does not contains valid token.'),
        ("/lone~tilde", "pointer_bad_escape",
         'Pointer `/lone~tilde` contains "~" not part of a recognized escape sequence.'),
        ("/trailingtilde~", "pointer_bad_escape", None),
        ("/~2", "pointer_bad_escape", None),
        ("/locations/1/2", "invalid_path", "Invalid JSON pointer for this resource: '/locations/1/2'"),
        ("/name/x", "invalid_path", "Invalid JSON pointer for this resource: '/name/x'"),
        ("/status/x", "invalid_path", None),  # depth beats read-only
        ("/tags/-", "invalid_path", None),
        ("/tags/0", "invalid_path", None),
        ("/ /x", "invalid_path", "Invalid JSON pointer for this resource: '//x'"),
        ("/a/ ", "invalid_path", "Invalid JSON pointer for this resource: '/a/'"),
        ("/locations", "invalid_path", None),  # add needs a position
    ],
)  # fmt: skip
def test_pointer_errors(path: str, code: str, message: str | None) -> None:
    e = err([{"op": "add", "path": path, "value": "x"}], rules=GLANCE)
    assert where(e) == (MalformedPatch, 400, code, 0, path)
    if message is not None:
        assert e.message == message


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/keywith~1slash", "keywith/slash"),
        ("/keywith~0tilde", "keywith~tilde"),
        ("/tricky~01", "tricky~1"),
        ("/tricky~10", "tricky/0"),
        ("/ name ", "name"),
        ("/\tname", "name"),
        ("/\u00a0name\u3000", "name"),
        ("/name\u200b", "name\u200b"),  # zero-width space is not whitespace
        ("//x", "x"),
        ("/", ""),
        ("/ ", ""),
        ("/~1 ", "/"),
    ],
)
def test_pointer_decoding_keeps_glance_quirks(path: str, name: str) -> None:
    (op,) = imspatch.parse_patch(
        [{"op": "add", "path": path, "value": "v"}], media_type=V21, rules=GLANCE
    )
    assert op == Add(Pointer.of(name), "v")
    assert op.path.text == path
    assert str(op.path) == path


def test_whitespace_in_pointer_reaches_name_classes() -> None:
    assert where(err([{"op": "replace", "path": "/ status", "value": "x"}])) == (
        ForbiddenChange,
        403,
        "read_only",
        0,
        "/ status",
    )
    assert err([{"op": "replace", "path": "/ os_glance_x", "value": "x"}]).code == "reserved"


def test_add_to_slash_creates_the_empty_name_in_glance() -> None:
    result = imspatch.patch_image(
        SAMPLE, [{"op": "add", "path": "/", "value": "e"}], media_type=V21, rules=GLANCE
    )
    assert result[""] == "e"


def test_locations_depth_rules() -> None:
    loc = {"url": "http://x/y", "metadata": {}}
    # well-formed: reach apply, where locations are hidden (403)
    for op in (
        {"op": "add", "path": "/locations/-", "value": loc},
        {"op": "remove", "path": "/locations/0"},
        {"op": "replace", "path": "/locations", "value": [loc]},
    ):
        assert err([op], rules=GLANCE).code == "locations_hidden"
    for op in (
        {"op": "remove", "path": "/locations"},
        {"op": "replace", "path": "/locations/0", "value": loc},
    ):
        assert err([op], rules=GLANCE).code == "invalid_path"


def test_pointer_objects() -> None:
    p = Pointer.parse("/a~1b")
    assert p.parts == ("a/b",)
    assert p.name == "a/b"
    assert Pointer.of("a/b") == p
    assert Pointer.of("a/b").text == "/a~1b"
    assert Pointer.of("x~").text == "/x~0"
    assert hash(Pointer.parse("/ a")) == hash(Pointer.of("a"))
    with pytest.raises(MalformedPatch):
        Pointer.parse("x")


def test_very_long_pointer_is_cut_in_messages() -> None:
    path = "/" + "~x" * 500_000
    limits = imspatch.Limits(max_pointer_length=len(path))
    with pytest.raises(MalformedPatch) as info:
        imspatch.patch_image(SAMPLE, [{"op": "add", "path": path, "value": "x"}],
                             media_type=V21, limits=limits)  # fmt: skip
    e = info.value
    assert e.code == "pointer_bad_escape"
    assert e.pointer == path
    assert len(e.message) < 200
    assert len(str(e)) < 300
    assert len(e.to_dict()["pointer"]) < 300


# --- name classes (reference 6), parse phase, remove included ---------------------------

READ_ONLY = sorted(
    [
        "created_at",
        "updated_at",
        "status",
        "checksum",
        "size",
        "virtual_size",
        "direct_url",
        "self",
        "file",
        "schema",
        "id",
        "os_hash_algo",
        "os_hash_value",
    ]
)
RESERVED = ["location", "deleted", "deleted_at", "os_glance", "os_glance_", "os_glancefoo",
            "os_glance_import_task", "os_glance_anything"]  # fmt: skip


@pytest.mark.parametrize("rules", [imspatch.IMS, GLANCE], ids=["ims", "glance"])
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
@pytest.mark.parametrize("name", READ_ONLY)
def test_read_only_names_are_403(rules: imspatch.Rules, op: str, name: str) -> None:
    e = err([{"op": op, "path": f"/{name}", "value": "x"}], rules=rules)
    assert where(e) == (ForbiddenChange, 403, "read_only", 0, f"/{name}")
    assert e.message == f"Attribute '{name}' is read-only."


@pytest.mark.parametrize("rules", [imspatch.IMS, GLANCE], ids=["ims", "glance"])
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
@pytest.mark.parametrize("name", RESERVED)
def test_reserved_names_are_403(rules: imspatch.Rules, op: str, name: str) -> None:
    e = err([{"op": op, "path": f"/{name}", "value": "x"}], rules=rules)
    assert where(e) == (ForbiddenChange, 403, "reserved", 0, f"/{name}")
    assert e.message == f"Attribute '{name}' is reserved."


def test_reserved_prefix_is_case_sensitive_and_stores_is_a_property() -> None:
    result = imspatch.patch_image(
        SAMPLE,
        [{"op": "add", "path": "/OS_GLANCE_x", "value": "1"},
         {"op": "add", "path": "/stores", "value": "x"}],
        media_type=V21, rules=GLANCE,
    )  # fmt: skip
    assert (result["OS_GLANCE_x"], result["stores"]) == ("1", "x")


def test_parse_error_beats_apply_error_wherever_it_sits() -> None:
    e = err([{"op": "remove", "path": "/missing"}, {"op": "replace", "path": "/id", "value": 1}])
    assert where(e) == (ForbiddenChange, 403, "read_only", 1, "/id")


def test_first_parse_error_wins() -> None:
    e = err([{"op": "replace", "path": "/id", "value": 1}, {"op": "bogus"}])
    assert where(e) == (ForbiddenChange, 403, "read_only", 0, "/id")


def test_parse_patch_returns_neutral_operations() -> None:
    v21 = imspatch.parse_patch(
        [{"op": "replace", "path": "/name", "value": "a"},
         {"op": "remove", "path": "/foo"},
         {"op": "add", "path": "/bar", "value": "b"}],
        media_type=V21,
    )  # fmt: skip
    v20 = imspatch.parse_patch(
        [{"replace": "/name", "value": "a"}, {"remove": "/foo"}, {"add": "/bar", "value": "b"}],
        media_type=V20,
    )
    assert v21 == (Replace(Pointer.of("name"), "a"), Remove(Pointer.of("foo")),
                   Add(Pointer.of("bar"), "b"))  # fmt: skip
    assert v20[:2] == v21[:2]
    assert v20[2] == Add(Pointer.of("bar"), "b", if_absent=True)
