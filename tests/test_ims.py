"""SPEC 6.2: the IMS rule set (the default)."""

from __future__ import annotations

from typing import Any

import pytest

import imspatch
from imspatch import IMS, ForbiddenChange, MalformedPatch, PatchConflict

from .conftest import SAMPLE, V20, V21, a, err, image, ok, r, rm, where


def test_ims_is_the_default() -> None:
    assert imspatch.patch_image.__kwdefaults__["rules"] is IMS
    assert err([r("/visibility", "public")], rules=IMS).code == "protected"


def test_the_documented_rename_in_both_dialects() -> None:
    root = SAMPLE
    for media_type, raw in (
        (V21, b'[{"op": "replace", "path": "/name", "value": "test01"}]'),
        (V20, b'[{"replace": "/name", "value": "test01"}]'),
    ):
        result = imspatch.patch_image(root, raw, media_type=media_type)
        assert result == {**SAMPLE, "name": "test01"}


# --- protection (a policy check in apply) ------------------------------------------------

PROTECTED_CORE = ["visibility", "protected", "os_hidden", "min_ram", "min_disk",
                  "disk_format", "container_format", "tags"]  # fmt: skip
IMS_NAMES = ["virtual_env_type", "hw_firmware_type", "enterprise_project_id", "max_ram",
             "hw_vif_multiqueue_enabled", "active_at"]  # fmt: skip
VENDOR = ["__os_bit", "__imagetype", "__platform", "__isregistered", "__data_origin",
          "__backup_id", "__anything_new"]  # fmt: skip

VALID: dict[str, Any] = {
    "visibility": "public", "protected": True, "os_hidden": True, "min_ram": 1024,
    "min_disk": 80, "disk_format": "qcow2", "container_format": "ova", "tags": ["x"],
}  # fmt: skip


@pytest.mark.parametrize("name", PROTECTED_CORE)
def test_core_attributes_are_protected(name: str) -> None:
    for op in (r(f"/{name}", VALID[name]), a(f"/{name}", VALID[name])):
        e = err([op])
        assert where(e) == (ForbiddenChange, 403, "protected", 0, f"/{name}")
    # remove: 403 too (protection comes before Glance's "may not be removed")
    assert where(err([rm(f"/{name}")])) == (ForbiddenChange, 403, "protected", 0, f"/{name}")


def test_owner_needs_admin_first_then_is_protected() -> None:
    assert err([r("/owner", "x")]).code == "owner_admin_only"
    assert err([r("/owner", "x")], admin=True).code == "protected"
    assert ok([r("/owner", SAMPLE["owner"])], admin=True) == SAMPLE


@pytest.mark.parametrize("name", IMS_NAMES + VENDOR)
def test_ims_attributes_are_protected_present_or_not(name: str) -> None:
    for op in (r(f"/{name}", "v"), a(f"/{name}", "v"), rm(f"/{name}")):
        e = err([op])
        assert where(e) == (ForbiddenChange, 403, "protected", 0, f"/{name}")


def test_protection_comes_before_existence() -> None:
    # replace of an absent protected name: 403 not 409; remove likewise
    assert err([r("/max_ram", "1")]).code == "protected"
    assert err([rm("/__nothing")]).code == "protected"


def test_same_value_is_exempt_from_protection() -> None:
    same = [r("/visibility", "private"), a("/min_ram", 0), r("/__os_bit", "64"),
            a("/hw_firmware_type", "bios"), r("/tags", []), r("/protected", False),
            r("/__productcode", "")]  # fmt: skip
    assert ok(same) == SAMPLE
    # v2.0 add: exempt from protection, then 409 because the name exists
    e = err([{"add": "/__os_bit", "value": "64"}], media_type=V20)
    assert where(e) == (PatchConflict, 409, "already_present", 0, "/__os_bit")
    assert err([{"add": "/visibility", "value": "private"}], media_type=V20).code == (
        "already_present"
    )
    assert err([{"add": "/visibility", "value": "public"}], media_type=V20).code == "protected"


def test_equality_is_json_equality() -> None:
    assert ok([r("/min_ram", 0.0)]) == SAMPLE  # numbers compare numerically
    assert err([r("/protected", 0)]).code == "invalid_value"  # a number is not a boolean
    flags = image(__flag=True)
    assert err([r("/__flag", 1)], flags).code == "invalid_value"  # custom values are strings
    assert err([r("/__os_bit", "064")]).code == "protected"


def test_null_protected_property_equals_only_null_but_values_must_be_strings() -> None:
    # __data_origin is null in the IMS sample; a string never equals it
    assert err([r("/__data_origin", "x")]).code == "protected"
    assert err([r("/__data_origin", None)]).code == "invalid_value"


def test_glanceclient_tags_replace_works_on_a_tagged_image() -> None:
    tagged = image(tags=["a", "b"])
    # python-glanceclient appends the current tags to every update, in any order
    ops = [r("/name", "renamed"), {"path": "/tags", "value": ["b", "a", "a"], "op": "replace"}]
    result = ok(ops, tagged)
    assert result["name"] == "renamed"
    assert result["tags"] == ["a", "b"]
    assert err([r("/tags", ["a"])], tagged).code == "protected"
    assert err([r("/tags", ["a", "b", "c"])], tagged).code == "protected"


def test_protection_sees_earlier_operations_of_the_same_request() -> None:
    # the first op fails anyway (protected), so look at a name IMS lets change
    result = ok([a("/__description", "one"), r("/__description", "two")])
    assert result["__description"] == "two"


def test_remove_name_is_403_and_description_is_fully_writable() -> None:
    assert where(err([rm("/name")])) == (ForbiddenChange, 403, "not_removable", 0, "/name")
    bare = image(__description=...)
    assert ok([a("/__description", "d")], bare)["__description"] == "d"
    assert "__description" not in ok([rm("/__description")])
    assert ok([r("/__description", "")])["__description"] == ""
    assert where(err([r("/__description", "x")], bare)) == (
        PatchConflict,
        409,
        "no_such_property",
        0,
        "/__description",
    )
    assert err([rm("/__description")], bare).code == "no_such_property"
    assert err([{"add": "/__description", "value": "x"}], media_type=V20).code == (
        "already_present"
    )


def test_user_defined_properties() -> None:
    result = ok([a("/custom", "1"), a("/hw_qemu_guest_agent", "yes"), a("/os_distro", "x")])
    assert (result["custom"], result["hw_qemu_guest_agent"]) == ("1", "yes")
    assert ok([a("/custom", "1"), r("/custom", "2")])["custom"] == "2"
    assert err([a("/custom", 1)]).code == "invalid_value"
    e = err([a("/" + "k" * 256, "v")])
    assert where(e) == (MalformedPatch, 400, "property_name_too_long", 0, "/" + "k" * 256)
    assert ok([a("/" + "k" * 255, "v")])["k" * 255] == "v"


# --- name -----------------------------------------------------------------------------

GOOD_NAMES = ["a", "test01", "A-b.c_d e", "x" * 128, "\u4e2d\u6587\u540d\u79f0", "a\u4e00b\u9fff",
              "1", "-", "._-"]  # fmt: skip
BAD_FORMAT: list[Any] = [None, "", " a", "a ", " ", "a/b", "a\tb", "a\nb", "caf\u00e9", "a!",
                         "\u3000", "a\u4dffb", "\U00020000", 5, True, ["a"], {"a": 1}]  # fmt: skip


@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_names(name: str) -> None:
    assert ok([r("/name", name)])["name"] == name
    assert ok([a("/name", name)])["name"] == name


@pytest.mark.parametrize("name", BAD_FORMAT)
def test_bad_names_are_img_0003(name: Any) -> None:
    e = err([r("/name", name)])
    assert where(e) == (MalformedPatch, 400, "IMG.0003", 0, "/name")
    assert e.message == "The image name format is invalid."


@pytest.mark.parametrize("name", ["x" * 129, "x" * 200 + "/", " " * 300])
def test_long_names_are_img_0002_and_length_wins(name: str) -> None:
    e = err([r("/name", name)])
    assert where(e) == (MalformedPatch, 400, "IMG.0002", 0, "/name")
    assert e.message == "The image name contains more than 128 characters."


def test_value_checks_win_over_protection_and_existence() -> None:
    assert err([r("/visibility", "bogus")]).code == "invalid_value"
    assert err([r("/name", "")]).code == "IMG.0003"
    assert err([rm("/missing"), r("/name", "")]).code == "IMG.0003"


# --- description ------------------------------------------------------------------------

GOOD_DESCRIPTIONS = ["", "ims test", "x" * 1024, "\u4e2d\u6587 & more", "tab\tok", "a'b\"c"]
BAD_DESCRIPTIONS: list[Any] = ["a <b>bold</b> & c\r\nline2", "<", ">", "a\rb", "a\nb", "end\n",
                               None, 5, ["x"]]  # fmt: skip


@pytest.mark.parametrize("text", GOOD_DESCRIPTIONS)
def test_good_descriptions(text: str) -> None:
    assert ok([r("/__description", text)])["__description"] == text


@pytest.mark.parametrize("text", BAD_DESCRIPTIONS)
def test_bad_descriptions_are_img_0054(text: Any) -> None:
    e = err([r("/__description", text)])
    assert where(e) == (MalformedPatch, 400, "IMG.0054", 0, "/__description")
    assert e.message == "The image description format is invalid."


def test_description_escaped_angle_brackets_are_checked_after_decoding() -> None:
    # Go clients send < as \u003c
    raw = b'[{"op":"replace","path":"/__description","value":"a \\u003cb\\u003e"}]'
    assert err(raw).code == "IMG.0054"


def test_long_description_is_img_0004_and_length_wins() -> None:
    for text in ("x" * 1025, "<" * 2000):
        e = err([r("/__description", text)])
        assert where(e) == (MalformedPatch, 400, "IMG.0004", 0, "/__description")
        assert e.message == "The description contains more than 1024 characters."


def test_four_byte_description_is_refused_at_finish() -> None:
    e = err([r("/__description", "smile \U0001f600")])
    assert where(e) == (MalformedPatch, 400, "four_byte_unicode", 0, "/__description")
    assert e.message == "__Description can't contain 4 byte unicode characters."


def test_ims_errors_render_in_ims_style() -> None:
    e = err([r("/name", "")])
    status, headers, payload = e.to_response()
    assert status == 400
    assert headers == [("Content-Type", "application/json")]
    import json  # noqa: PLC0415

    assert json.loads(payload) == {
        "error": {"code": "IMG.0003", "message": "The image name format is invalid."}
    }
