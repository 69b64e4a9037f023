"""SPEC 6.1: the GLANCE rule set, including the applicable rows of Glance's own
unit-test table (reference/glance-behaviour.md section 15)."""

from __future__ import annotations

import json
from typing import Any

import pytest

import imspatch
from imspatch import (
    GLANCE,
    Field,
    ForbiddenChange,
    LimitExceeded,
    MalformedPatch,
    PatchConflict,
    Rules,
)

from .conftest import V20, V21, a, r, rm, where
from .conftest import err as _err
from .conftest import ok as _ok

BASE: dict[str, Any] = {
    "id": "0b7f7e8a-1111-4aaa-8bbb-cccccccccccc",
    "name": "cirros",
    "status": "active",
    "visibility": "private",
    "protected": False,
    "os_hidden": False,
    "min_ram": 0,
    "min_disk": 0,
    "owner": "tenant1",
    "disk_format": "raw",
    "container_format": "bare",
    "tags": ["ping"],
    "checksum": None,
    "size": 1,
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
    "foo": "bar",
    "snitch": "golden",
    "self": "/v2/images/x",
    "file": "/v2/images/x/file",
    "schema": "/v2/schemas/image",
}


def img(**changes: Any) -> dict[str, Any]:
    result = dict(BASE)
    for key, value in changes.items():
        if value is ...:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def ok(ops: Any, image: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    kw.setdefault("rules", GLANCE)
    return _ok(ops, BASE if image is None else image, **kw)


def err(ops: Any, image: dict[str, Any] | None = None, **kw: Any) -> imspatch.PatchError:
    kw.setdefault("rules", GLANCE)
    return _err(ops, BASE if image is None else image, **kw)


def test_all_base_attributes_pass_the_schema_on_a_queued_image() -> None:
    queued = img(status="queued")
    result = ok(
        [r("/name", "n"), r("/visibility", "public"), r("/tags", ["a", "b"]),
         r("/protected", True), r("/container_format", "ova"), r("/disk_format", "qcow2"),
         r("/min_ram", 128), r("/min_disk", 1), r("/os_hidden", True)],
        queued,
    )  # fmt: skip
    assert result == {
        **queued, "name": "n", "visibility": "public", "tags": ["a", "b"], "protected": True,
        "container_format": "ova", "disk_format": "qcow2", "min_ram": 128, "min_disk": 1,
        "os_hidden": True,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/visibility", "bogus"),
        ("/visibility", None),
        ("/protected", "true"),
        ("/protected", 1),
        ("/os_hidden", "true"),
        ("/min_ram", "1"),
        ("/min_ram", None),
        ("/min_ram", 1.5),
        ("/min_ram", True),
        ("/min_disk", [1]),
        ("/name", "x" * 256),
        ("/name", 5),
        ("/owner", "o" * 256),
        ("/disk_format", "zvhd2"),
        ("/container_format", "bogus"),
        ("/tags", "a"),
        ("/tags", [1]),
        ("/tags", ["t" * 256]),
        ("/foo", 123),
        ("/foo", ["bar", "baz"]),
        ("/foo", None),
        ("/foo", {"a": "b"}),
        ("/foo", True),
        ("/locations", None),
        ("/locations", "x"),
        ("/locations", [{"url": "x"}]),
    ],
)
def test_schema_mismatch_is_400_before_anything_else(path: str, value: Any) -> None:
    e = err([rm("/missing"), r(path, value)])  # the 409 comes later, in apply
    assert where(e) == (MalformedPatch, 400, "invalid_value", 1, path)
    assert e.message.startswith("Provided object does not match schema 'image': ")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/min_ram", 1.0),
        ("/min_ram", 1e2),
        ("/name", None),
        ("/name", "x" * 255),
        ("/owner", None),
        ("/owner", ""),
        ("/disk_format", None),
        ("/foo", ""),
        ("/tags", []),
    ],
)
def test_schema_accepts(path: str, value: Any) -> None:
    queued = img(status="queued")
    assert ok([r(path, value)], queued, admin=True)[path[1:]] == value


def test_locations_item_schema_for_add() -> None:
    bad = {"url": "x", "metadata": {}, "validation_data": {"checksum": "0" * 32}}
    e = err([a("/locations/-", bad)])
    assert (e.code, e.status) == ("invalid_value", 400)
    good = {"url": "x", "metadata": {},
            "validation_data": {"os_hash_algo": "sha512", "os_hash_value": "0"}}  # fmt: skip
    assert err([a("/locations/-", good)]).code == "locations_hidden"


def test_replace_locations_empty_list_is_403() -> None:
    e = err([r("/locations", [])])
    assert where(e) == (ForbiddenChange, 403, "locations_empty", 0, "/locations")


def test_min_negative_is_400_at_apply_and_zero_passes() -> None:
    for name in ("min_ram", "min_disk"):
        e = err([r(f"/{name}", -42)])
        assert where(e) == (MalformedPatch, 400, "negative_value", 0, f"/{name}")
        assert e.message == (
            f"Invalid value '-42' for parameter '{name}': Cannot be a negative value"
        )
        assert err([r(f"/{name}", -1.0)]).code == "negative_value"
        assert ok([r(f"/{name}", 0)])[name] == 0
    # an apply error: a parse error elsewhere still wins
    assert err([r("/min_ram", -1), r("/id", "x")]).code == "read_only"


def test_min_out_of_range_is_checked_on_the_final_value() -> None:
    e = err([r("/min_ram", 2**31)])
    assert where(e) == (MalformedPatch, 400, "out_of_range", 0, "/min_ram")
    assert e.message == "'min_ram' value out of range, must not exceed 2147483647."
    assert ok([r("/min_ram", 2**31), r("/min_ram", 5)])["min_ram"] == 5
    # min_disk is checked first, whatever the operation order
    e = err([r("/min_ram", 2**31), r("/min_disk", 2**31)])
    assert (e.code, e.index, e.message[:10]) == ("out_of_range", 1, "'min_disk'")
    assert ok([r("/min_ram", 2**31 - 1)])["min_ram"] == 2**31 - 1


@pytest.mark.parametrize("status", ["active", "saving", "killed", "deactivated", "uploading"])
@pytest.mark.parametrize("name", ["disk_format", "container_format"])
def test_formats_only_on_queued_or_importing(status: str, name: str) -> None:
    value = "raw" if name == "disk_format" else "bare"  # even the same value
    e = err([r(f"/{name}", value)], img(status=status), admin=True)
    assert where(e) == (ForbiddenChange, 403, "format_not_queued", 0, f"/{name}")
    assert e.message == f"Attribute {name} can be only replaced for a queued image."
    for ok_status in ("queued", "importing"):
        assert ok([r(f"/{name}", None)], img(status=ok_status))[name] is None


def test_v20_add_of_existing_is_409_before_the_format_rule() -> None:
    e = err([{"add": "/disk_format", "value": "raw"}], media_type=V20)
    assert where(e) == (PatchConflict, 409, "already_present", 0, "/disk_format")


def test_owner() -> None:
    e = err([r("/owner", "other")])
    assert where(e) == (ForbiddenChange, 403, "owner_admin_only", 0, "/owner")
    assert e.message == "Owner can't be updated by non admin."
    assert err([r("/owner", "tenant1")]).code == "owner_admin_only"  # even unchanged
    # imspatch closes upstream's hole: add /owner needs admin too
    assert err([a("/owner", "other")]).code == "owner_admin_only"
    assert err([{"add": "/owner", "value": "x"}], media_type=V20).code == "owner_admin_only"
    result = ok([r("/name", "n"), r("/owner", "other")], admin=True)
    assert (result["name"], result["owner"]) == ("n", "other")
    assert ok([a("/owner", "x")], admin=True)["owner"] == "x"
    assert err([{"add": "/owner", "value": "x"}], media_type=V20, admin=True).code == (
        "already_present"
    )


def test_tags() -> None:
    assert ok([r("/tags", ["king", "kong"])])["tags"] == ["king", "kong"]
    assert ok([r("/tags", ["ping", "ping", "b", "ping"])])["tags"] == ["ping", "b"]
    assert ok([r("/tags", [])])["tags"] == []


def test_tag_quota_counts_duplicates() -> None:
    two = GLANCE.replace(tag_quota=2)
    e = err([r("/tags", ["x", "x", "x"])], rules=two)
    assert where(e) == (LimitExceeded, 413, "too_many_tags", 0, "/tags")
    assert e.message == (
        "The limit has been exceeded on the number of allowed image tags. Attempted: 3, Maximum: 2"
    )
    assert ok([r("/tags", [])], rules=GLANCE.replace(tag_quota=0))["tags"] == []
    assert len(ok([r("/tags", [str(i) for i in range(129)])],
                  rules=GLANCE.replace(tag_quota=-1))["tags"]) == 129  # fmt: skip
    assert err([r("/tags", [str(i) for i in range(129)])]).code == "too_many_tags"


def test_extra_properties() -> None:
    assert ok([r("/foo", "baz")])["foo"] == "baz"
    e = err([r("/nope", "x")])
    assert where(e) == (PatchConflict, 409, "no_such_property", 0, "/nope")
    assert e.message == "Property nope does not exist."
    result = ok([a("/foo", "new"), a("/snitch2", "x")])
    assert (result["foo"], result["snitch2"]) == ("new", "x")
    assert "snitch" not in ok([rm("/snitch")])
    assert where(err([rm("/nope")])) == (PatchConflict, 409, "no_such_property", 0, "/nope")
    e = err([rm("/name")])
    assert where(e) == (ForbiddenChange, 403, "not_removable", 0, "/name")
    assert e.message == "Property name may not be removed."


@pytest.mark.parametrize("name", ["name", "visibility", "tags", "owner", "min_ram", "protected"])
def test_remove_of_any_core_attribute_is_403(name: str) -> None:
    assert err([rm(f"/{name}")]).code == "not_removable"


def test_v20_add_conflicts_v21_add_sets() -> None:
    for path in ("/name", "/foo"):
        e = err([{"add": path, "value": "x"}], media_type=V20)
        assert where(e) == (PatchConflict, 409, "already_present", 0, path)
        assert e.message == f"Property {path[1:]} already present."
        assert ok([a(path, "x")])[path[1:]] == "x"
    # evaluated against the state the earlier operations left
    assert (
        ok([{"remove": "/foo"}, {"add": "/foo", "value": "again"}], media_type=V20)["foo"]
        == "again"
    )


def test_multiple_changes() -> None:
    result = ok([r("/min_ram", 128), r("/foo", "baz"), rm("/snitch"), a("/kb", "1")])
    assert (result["min_ram"], result["foo"], result["kb"]) == (128, "baz", "1")
    assert "snitch" not in result


def test_key_order_of_the_result() -> None:
    result = ok([rm("/foo"), a("/new", "n"), a("/foo", "bar"), r("/snitch", "s")])
    keys = list(result)
    assert keys[: len(BASE) - 2] == [k for k in BASE if k != "foo"][: len(BASE) - 2]
    assert keys[-2:] == ["new", "foo"]
    assert keys.index("snitch") == list(BASE).index("snitch") - 1


def test_core_attribute_missing_from_the_dict_is_present() -> None:
    sparse = img(visibility=..., min_ram=...)
    assert ok([r("/visibility", "public")], sparse)["visibility"] == "public"
    assert list(ok([r("/visibility", "public")], sparse))[-1] == "visibility"
    assert err([{"add": "/visibility", "value": "public"}], sparse, media_type=V20).code == (
        "already_present"
    )
    assert err([rm("/min_ram")], sparse).code == "not_removable"


def test_null_custom_property_stays_null_and_untouched_values_are_identical() -> None:
    obj = {"nested": [1, 2]}
    image = img(nullprop=None, weird=obj)
    result = ok([r("/name", "x")], image)
    assert result["nullprop"] is None
    assert result["weird"] is obj
    assert ok([r("/nullprop", "now")], image)["nullprop"] == "now"
    assert "nullprop" not in ok([rm("/nullprop")], image)


def test_computed_keys_pass_through_and_updated_at_is_untouched() -> None:
    result = ok([r("/name", "x")])
    for key in ("self", "file", "schema", "updated_at", "created_at", "id", "status"):
        assert result[key] == BASE[key]


# --- property quota (reference 10.1) ---------------------------------------------------


def quota(n: int) -> imspatch.Rules:
    return GLANCE.replace(property_quota=n)


def test_property_quota() -> None:
    two_props = img()  # foo, snitch
    e = err([a("/x", "1")], two_props, rules=quota(2))
    assert where(e) == (LimitExceeded, 413, "too_many_properties", None, None)
    assert e.message == (
        "The limit has been exceeded on the number of allowed image properties. "
        "Attempted: 3, Maximum: 2"
    )
    # removal while over quota is fine; replace and v2.1 add-overwrite too
    assert ok([rm("/foo"), rm("/snitch")], img(x="1"), rules=quota(1))
    assert ok([r("/foo", "z"), a("/snitch", "y")], rules=quota(1))
    # judged on the final count
    assert err([rm("/foo"), a("/fizz", "1")], rules=quota(1)).code == "too_many_properties"
    assert ok([rm("/foo"), rm("/snitch"), a("/fizz", "1")], rules=quota(1))["fizz"] == "1"
    # add then remove of the same new name triggers no check
    assert ok([a("/tmp", "1"), rm("/tmp")], rules=quota(0))
    # os_glance* are not counted; negative means unlimited
    g = img(foo=..., snitch=..., os_glance_foo="a", os_glance_bar="b")
    assert ok([a("/foo", "1")], g, rules=quota(1))
    assert err([a("/foo", "1"), a("/snitch", "1")], g, rules=quota(1)).code == (
        "too_many_properties"
    )
    assert ok([a("/foo2", "1")], rules=quota(-1))


def test_property_quota_default_128_counts_ims_attributes_not_core_or_reserved() -> None:
    base = {f"p{i}": "v" for i in range(126)}
    image = {**img(foo=..., snitch=...), **base, "deleted": False, "deleted_at": None}
    assert ok([a("/x1", "1"), a("/x2", "1")], image)
    e = err([a("/x1", "1"), a("/x2", "1"), a("/x3", "1")], image)
    assert e.message.endswith("Attempted: 129, Maximum: 128")


# --- 4-byte characters (reference 10.2.1) ----------------------------------------------

EMOJI = "\U0001f600"


def test_four_byte_characters_in_changed_values() -> None:
    e = err([r("/name", f"a{EMOJI}")])
    assert where(e) == (MalformedPatch, 400, "four_byte_unicode", 0, "/name")
    assert e.message == "Name can't contain 4 byte unicode characters."
    e = err([a("/hw_cpu", EMOJI)])
    assert e.message == "Hw_Cpu can't contain 4 byte unicode characters."
    e = err([a(f"/k{EMOJI}", "v")])
    assert e.message == "Property names can't contain 4 byte unicode."
    e = err([r("/owner", EMOJI)], admin=True)
    assert e.message == "Owner can't contain 4 byte unicode characters."
    e = err([r("/tags", ["ok", EMOJI])])
    assert where(e) == (MalformedPatch, 400, "four_byte_unicode", 0, "/tags")
    assert e.message == "Param values can't contain 4 byte unicode."


def test_four_byte_order_is_upstreams_not_the_operations() -> None:
    e = err([a("/zz", EMOJI), r("/owner", EMOJI), r("/name", EMOJI)], admin=True)
    assert (e.index, e.message) == (2, "Name can't contain 4 byte unicode characters.")
    e = err([r("/tags", [EMOJI]), a("/zz", EMOJI), r("/min_ram", 2**31)])
    assert (e.index, e.message) == (1, "Zz can't contain 4 byte unicode characters.")
    # integer range comes after the 4-byte row check, tags after the integer range
    e = err([r("/tags", [EMOJI]), r("/min_ram", 2**31)])
    assert e.code == "out_of_range"


def test_four_byte_only_on_changed_values() -> None:
    image = img(name=f"old{EMOJI}", legacy=EMOJI, tags=[EMOJI])
    result = ok([r("/foo", "x"), r("/legacy", EMOJI), r("/tags", [EMOJI, "b"])], image)
    assert result["legacy"] == EMOJI
    assert result["name"] == f"old{EMOJI}"


# a rule set whose int32 and set-valued names include custom properties
CUSTOM = GLANCE.replace(
    name="custom",
    fields={**GLANCE.fields, "count": Field(("integer",)), "labels": Field(("array",))},
    int32=("min_disk", "min_ram", "count"),
    set_valued=frozenset({"tags", "labels"}),
)


@pytest.mark.parametrize(
    ("ops", "image", "rules"),
    [
        ([a(f"/{EMOJI}", "y"), rm(f"/{EMOJI}")], img(**{EMOJI: "x"}), GLANCE),  # acc365c: KeyError
        ([a(f"/k{EMOJI}", "y"), rm(f"/k{EMOJI}")], img(), GLANCE),
        ([a("/k", EMOJI), rm("/k")], img(), GLANCE),
        ([r("/k", EMOJI), rm("/k"), a("/j", "v")], img(k="x"), GLANCE),
        ([a("/count", 2**31), rm("/count")], img(), CUSTOM),  # acc365c: KeyError
        ([a("/labels", [EMOJI]), rm("/labels")], img(), CUSTOM),  # acc365c: KeyError
    ],
    ids=["existing name", "new name", "new value", "replaced value", "int32", "set-valued"],
)
def test_finish_skips_a_name_the_request_removed_again(
    ops: list[dict[str, Any]], image: dict[str, Any], rules: Rules
) -> None:
    """A name gone from the result is neither a changed value nor a new one (reference 10)."""
    removed = {op["path"][1:] for op in ops if op["op"] == "remove"}
    expected = {k: v for k, v in image.items() if k not in removed}
    expected.update({op["path"][1:]: op["value"] for op in ops if op["path"][1:] not in removed})
    assert ok(ops, image, rules=rules) == expected


@pytest.mark.parametrize(
    "spell",
    [
        lambda ops: json.dumps(ops).encode(),  # escaped: a surrogate pair
        lambda ops: json.dumps(ops, ensure_ascii=False).encode(),  # raw UTF-8
        lambda ops: json.dumps(ops, ensure_ascii=False),  # a str body
        lambda ops: ops,  # already decoded
    ],
    ids=["escaped", "utf-8", "str", "list"],
)
@pytest.mark.parametrize(
    ("ops", "index", "message"),
    [
        ([r("/foo", f"x{EMOJI}")], 0, "Foo can't contain 4 byte unicode characters."),
        ([a(f"/k{EMOJI}", "v")], 0, "Property names can't contain 4 byte unicode."),
        ([r("/name", EMOJI)], 0, "Name can't contain 4 byte unicode characters."),
        ([r("/tags", [EMOJI])], 0, "Param values can't contain 4 byte unicode."),
        # the last write of a name decides; other non-ASCII text does not matter
        ([r("/foo", EMOJI), r("/foo", "ok")], None, ""),
        (
            [r("/foo", "ok"), r("/foo", EMOJI), a("/é", "ü")],
            1,
            "Foo can't contain 4 byte unicode characters.",
        ),
        ([a("/é", "ü"), r("/name", "中文")], None, ""),
    ],
)
def test_four_byte_characters_are_found_however_the_body_spells_them(
    spell: Any, ops: list[dict[str, Any]], index: int | None, message: str
) -> None:
    body = spell(ops)
    if index is None:
        result = imspatch.patch_image(BASE, body, media_type=V21, rules=GLANCE)
        written = {op["path"][1:]: op["value"] for op in ops}  # the last write wins
        assert {name: result[name] for name in written} == written
        return
    with pytest.raises(MalformedPatch) as info:
        imspatch.patch_image(BASE, body, media_type=V21, rules=GLANCE)
    error = info.value
    assert where(error) == (MalformedPatch, 400, "four_byte_unicode", index, ops[index]["path"])
    assert error.message == message


def test_property_quota_comes_before_four_byte() -> None:
    assert err([a(f"/k{EMOJI}", "v")], rules=quota(2)).code == "too_many_properties"


# --- phantom attributes (reference 8) ---------------------------------------------------


@pytest.mark.parametrize(
    "name", ["member", "helper", "context", "delete", "set_data", "__doc__", "__abstractmethods__"]
)
def test_inert_phantom_attributes_behave_as_upstream(name: str) -> None:
    assert ok([r(f"/{name}", "x")]) == BASE
    assert ok([a(f"/{name}", "x")]) == BASE
    assert err([rm(f"/{name}")]).code == "not_removable"
    assert err([{"add": f"/{name}", "value": "x"}], media_type=V20).code == "already_present"


@pytest.mark.parametrize(
    "name", ["image_id", "extra_properties", "base", "__class__", "__dict__", "__weakref__"]
)
def test_phantoms_upstream_crashes_on_are_403(name: str) -> None:
    e = err([r(f"/{name}", "x")])
    assert where(e) == (ForbiddenChange, 403, "phantom_attribute", 0, f"/{name}")


def test_phantom_value_is_still_checked_as_a_custom_property() -> None:
    assert err([r("/member", 1)]).code == "invalid_value"


def test_v21_media_type_default_is_v21_semantics() -> None:
    assert ok([a("/name", "x")], media_type=V21)["name"] == "x"


def test_tags_are_stored_as_sent_deduplicated_even_when_the_set_is_the_same() -> None:
    image = img(tags=["a", "b"])
    assert ok([r("/tags", ["b", "a", "b"])], image)["tags"] == ["b", "a"]
