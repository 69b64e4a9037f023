"""``diff_images``: the smallest patch from one image to another, checked by the engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from imspatch import GLANCE, IMS, Add, PatchError, Pointer, Remove, Replace, Rules, dump_patch
from imspatch import patch_image as engine_patch_image
from imspatch._diff import diff_images, iter_diff_errors

ROOT = Path(__file__).resolve().parent.parent
SAMPLE: dict[str, Any] = json.loads((ROOT / "examples" / "ims-sample-image.json").read_text())
V20 = "application/openstack-images-v2.0-json-patch"
V21 = "application/openstack-images-v2.1-json-patch"


def codes(old: Any, new: Any, **kwargs: Any) -> list[tuple[str | None, str]]:
    return [(e.pointer, e.code) for e in iter_diff_errors(old, new, **kwargs)]


# --- examples -----------------------------------------------------------------------


def test_one_operation_per_changed_name_in_a_fixed_order() -> None:
    old = {"name": "a", "x": "1", "y": "2", "z": "3"}
    new = {"w": "0", "name": "b", "y": "2", "z": "4"}
    assert diff_images(old, new) == (
        Remove(Pointer.of("x")),
        Add(Pointer.of("w"), "0"),
        Replace(Pointer.of("name"), "b"),
        Replace(Pointer.of("z"), "4"),
    )


def test_v20_adds_are_add_if_absent() -> None:
    ops = diff_images({"name": "a"}, {"name": "a", "k": "v"}, media_type=V20)
    assert ops == (Add(Pointer.of("k"), "v", if_absent=True),)
    assert dump_patch(ops, media_type=V20) == b'[{"add":"/k","value":"v"}]'


def test_identical_images_give_the_empty_patch() -> None:
    assert diff_images(SAMPLE, dict(SAMPLE)) == ()


def test_json_equality_not_python_equality() -> None:
    ops = diff_images({"protected": 1}, {"protected": True}, rules=GLANCE)
    assert ops == (Replace(Pointer.of("protected"), True),)
    assert diff_images({"min_ram": 1}, {"min_ram": 1.0}, rules=GLANCE) == ()


def test_missing_core_attribute_is_replaced() -> None:
    # the engine treats a core attribute missing from the dict as present
    for media_type in (V20, V21):
        ops = diff_images({}, {"min_ram": 5}, rules=GLANCE, media_type=media_type)
        assert ops == (Replace(Pointer.of("min_ram"), 5),)


def test_tags_compare_as_a_set() -> None:
    assert diff_images({"tags": ["a", "b"]}, {"tags": ["b", "a"]}, rules=GLANCE) == ()
    # IMS does not let tags change, but a reordering is no change
    assert diff_images({"tags": ["a", "b"]}, {"tags": ["b", "a"]}) == ()
    assert codes({"tags": ["a"]}, {"tags": ["a", "a"]}, rules=GLANCE) == [
        ("/tags", "not_expressible")
    ]


def test_names_needing_escapes() -> None:
    old = {"name": "a"}
    new = {"name": "a", "a/b": "1", "c~d": "2", "": "3"}
    ops = diff_images(old, new, rules=GLANCE)
    body = dump_patch(ops, media_type=V21)
    assert body == (
        b'[{"op":"add","path":"/a~1b","value":"1"},{"op":"add","path":"/c~0d","value":"2"},'
        b'{"op":"add","path":"/","value":"3"}]'
    )
    assert engine_patch_image(old, body, media_type=V21, rules=GLANCE) == new


def test_names_no_pointer_can_address() -> None:
    assert codes({}, {" x": "1"}, rules=GLANCE) == [("/ x", "not_expressible")]


def test_every_forbidden_name_is_reported() -> None:
    new = {
        **SAMPLE,
        "status": "queued",
        "min_ram": 1,
        "name": "",
        "__os_type": "Windows",
        "virtual_env_type": "Ironic",
    }
    del new["__backup_id"]
    del new["tags"]
    assert codes(SAMPLE, new) == [
        ("/tags", "protected"),
        ("/__backup_id", "protected"),
        ("/status", "read_only"),
        ("/name", "IMG.0003"),
        ("/min_ram", "protected"),
        ("/__os_type", "protected"),
        ("/virtual_env_type", "protected"),
    ]
    with pytest.raises(PatchError) as info:
        diff_images(SAMPLE, new)
    assert (info.value.status, info.value.code, info.value.index) == (403, "protected", None)


def test_glance_rules_and_admin() -> None:
    new = {**SAMPLE, "min_ram": 1, "owner": "o2", "visibility": "public"}
    assert codes(SAMPLE, new, rules=GLANCE) == [("/owner", "owner_admin_only")]
    ops = diff_images(SAMPLE, new, rules=GLANCE, admin=True)
    assert [op.path.name for op in ops] == ["owner", "visibility", "min_ram"]


def test_whole_request_checks_run_last() -> None:
    new = {**SAMPLE, **{f"p{i}": "v" for i in range(120)}}
    assert codes(SAMPLE, new) == [(None, "too_many_properties")]


def test_not_images() -> None:
    assert codes([], {}) == [(None, "invalid_image")]
    assert codes({}, {1: "x"}) == [(None, "invalid_image")]
    with pytest.raises(PatchError, match="mapping"):
        diff_images({}, "x")  # type: ignore[arg-type]


def test_unsupported_media_type() -> None:
    with pytest.raises(PatchError) as info:
        diff_images({}, {}, media_type="application/json")
    assert info.value.status == 415


# --- property: applying the diff to OLD gives NEW ---------------------------------------

_BMP_TEXT = st.characters(min_codepoint=0x20, max_codepoint=0xFFFF, exclude_categories=["Cs"])
_STRINGS = st.text(_BMP_TEXT, max_size=12)
_IMS_NAMES = st.from_regex(
    r"[A-Za-z0-9\u4e00-\u9fff._-]([A-Za-z0-9\u4e00-\u9fff._ -]{0,20}[A-Za-z0-9\u4e00-\u9fff._-])?",
    fullmatch=True,
)
_DESCRIPTIONS = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFFFF, exclude_categories=["Cs"],
                  exclude_characters="<>\r\n"),
    max_size=40,
)  # fmt: skip
# user-defined property names: not core, read-only, reserved, phantom, IMS or "__"
_KEYS = st.from_regex(r"[a-z][a-z0-9_:.-]{0,10}", fullmatch=True).filter(
    lambda k: (
        GLANCE.info(k).kind.value == "extra"
        and not IMS.info(k).protected
        and not k.startswith("os_glance")
    )
)


def _writable(rules: Rules, admin: bool) -> dict[str, st.SearchStrategy[Any]]:
    if rules is IMS:
        return {"name": _IMS_NAMES, "__description": _DESCRIPTIONS}
    ints = st.integers(min_value=0, max_value=2**31 - 1)
    fields: dict[str, st.SearchStrategy[Any]] = {
        "name": st.none() | st.text(_BMP_TEXT, max_size=20),
        "visibility": st.sampled_from(["community", "public", "private", "shared"]),
        "protected": st.booleans(),
        "os_hidden": st.booleans(),
        "min_ram": ints,
        "min_disk": ints,
        "tags": st.lists(st.text(_BMP_TEXT, max_size=8), max_size=5, unique=True),
        "__description": _STRINGS,
    }
    if admin:
        fields["owner"] = st.none() | _STRINGS
    return fields


@st.composite
def image_pairs(
    draw: st.DrawFn, rules: Rules, admin: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(old, new): the sample image with extra properties, and a writable change of it."""
    old = dict(SAMPLE)
    old.update(draw(st.dictionaries(_KEYS, _STRINGS, max_size=6)))
    new = dict(old)
    for name, values in _writable(rules, admin).items():
        if draw(st.booleans()):
            new[name] = draw(values)
    extras = [k for k in old if k not in SAMPLE]
    for name in draw(st.lists(st.sampled_from(extras), unique=True)) if extras else []:
        if draw(st.booleans()):
            del new[name]
        else:
            new[name] = draw(_STRINGS)
    new.update(draw(st.dictionaries(_KEYS, _STRINGS, max_size=6)))
    if draw(st.booleans()):  # key order is not part of the comparison
        new = dict(reversed(list(new.items())))
    return old, new


def _same_image(result: dict[str, Any], new: dict[str, Any]) -> bool:
    if result.keys() != new.keys():
        return False
    return all(
        set(value) == set(new[key]) if key == "tags" else value == new[key]
        for key, value in result.items()
    )


def _roundtrip(rules: Rules, admin: bool, media_type: str, pair: Any) -> None:
    old, new = pair
    assert list(iter_diff_errors(old, new, rules=rules, media_type=media_type, admin=admin)) == []
    ops = diff_images(old, new, rules=rules, media_type=media_type, admin=admin)
    changed = {
        k for k in old.keys() | new.keys() if k not in old or k not in new or old[k] != new[k]
    }
    if "tags" in changed and set(old.get("tags", ())) == set(new["tags"]):
        changed.discard("tags")
    assert len(ops) == len(changed)  # the smallest patch: one operation per changed name
    body = dump_patch(ops, media_type=media_type)
    result = engine_patch_image(old, body, media_type=media_type, rules=rules, admin=admin)
    assert _same_image(result, new)


@pytest.mark.property
@pytest.mark.parametrize("media_type", [V20, V21])
@given(pair=image_pairs(IMS, admin=False))
def test_property_ims(media_type: str, pair: Any) -> None:
    _roundtrip(IMS, False, media_type, pair)


@pytest.mark.property
@pytest.mark.parametrize("media_type", [V20, V21])
@pytest.mark.parametrize("admin", [False, True])
@given(data=st.data())
def test_property_glance(media_type: str, admin: bool, data: st.DataObject) -> None:
    _roundtrip(GLANCE, admin, media_type, data.draw(image_pairs(GLANCE, admin)))


def test_unreachable_values_raise() -> None:
    with pytest.raises(PatchError) as info:
        diff_images({"tags": ["a"]}, {"tags": ["b", "b"]}, rules=GLANCE)
    assert (info.value.code, info.value.pointer) == ("not_expressible", "/tags")
    # unhashable "tags" are no set the engine would store: a plain change, refused
    assert codes({"tags": [["a"]]}, {"tags": [["b"]]}, rules=GLANCE) == [("/tags", "invalid_value")]
