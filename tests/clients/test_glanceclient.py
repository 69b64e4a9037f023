"""python-glanceclient (library): ``Client('2', ...).images.update(id, remove_props, **kw)``.

glanceclient GETs the image and the schema, edits a warlock model and sends
``jsonpatch.make_patch`` of the two: ``replace`` for attributes it saw, ``add`` for
new ones, ``remove`` for ``remove_props``; then it GETs the image again.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.clients

glanceclient = pytest.importorskip("glanceclient")
from glanceclient import exc  # noqa: E402

V21 = "application/openstack-images-v2.1-json-patch"


@pytest.fixture
def gc(ims):
    # Client("2", endpoint=...) warns: the version belongs in the URL
    return glanceclient.Client(endpoint=ims.url + "/v2", token="x")


def update(gc, ims, remove_props=None, **changes):
    return gc.images.update(ims.image_id, remove_props=remove_props, **changes)


def test_rename(gc, ims):
    image = update(gc, ims, name="renamed")
    assert image["name"] == "renamed"
    assert ims.stored()["name"] == "renamed"
    assert ims.patches() == [[{"op": "replace", "path": "/name", "value": "renamed"}]]
    assert ims.content_types() == {V21}
    # json.dumps defaults: ", " and ": " separators
    assert ims.raw_patches() == [b'[{"op": "replace", "path": "/name", "value": "renamed"}]']


def test_set_description(gc, ims):
    update(gc, ims, __description="new description")
    assert ims.stored()["__description"] == "new description"
    assert ims.patches() == [
        [{"op": "replace", "path": "/__description", "value": "new description"}]
    ]


def test_add_description(gc, ims):
    ims.put(__description=ims.DELETE)
    update(gc, ims, __description="first description")
    assert ims.stored()["__description"] == "first description"
    assert ims.patches() == [
        [{"op": "add", "path": "/__description", "value": "first description"}]
    ]


def test_clear_description(gc, ims):
    update(gc, ims, __description="")
    assert ims.stored()["__description"] == ""
    assert ims.patches() == [[{"op": "replace", "path": "/__description", "value": ""}]]


def test_remove_description(gc, ims):
    update(gc, ims, remove_props=["__description"])
    assert "__description" not in ims.stored()
    assert ims.patches() == [[{"op": "remove", "path": "/__description"}]]


def test_add_custom_property(gc, ims):
    update(gc, ims, custom_key="v1")
    assert ims.stored()["custom_key"] == "v1"
    assert ims.patches() == [[{"op": "add", "path": "/custom_key", "value": "v1"}]]


def test_change_custom_property(gc, ims):
    ims.put(custom_key="v1")
    update(gc, ims, custom_key="v2")
    assert ims.stored()["custom_key"] == "v2"
    assert ims.patches() == [[{"op": "replace", "path": "/custom_key", "value": "v2"}]]


def test_remove_custom_property(gc, ims):
    ims.put(custom_key="v1")
    update(gc, ims, remove_props=["custom_key"])
    assert "custom_key" not in ims.stored()
    assert ims.patches() == [[{"op": "remove", "path": "/custom_key"}]]


def test_several_changes_at_once(gc, ims):
    ims.put(old_key="x", keep="k")
    update(gc, ims, remove_props=["old_key"], name="multi", __description="d", new_key="n")
    stored = ims.stored()
    assert (stored["name"], stored["__description"], stored["new_key"]) == ("multi", "d", "n")
    assert "old_key" not in stored
    assert stored["keep"] == "k"
    # removes first, then adds, then replaces; inside each group the order is
    # jsonpatch's set iteration order, which changes with PYTHONHASHSEED
    (ops,) = ims.patches()
    assert ops[:2] == [
        {"op": "remove", "path": "/old_key"},
        {"op": "add", "path": "/new_key", "value": "n"},
    ]
    assert sorted(ops[2:], key=lambda op: op["path"]) == [
        {"op": "replace", "path": "/__description", "value": "d"},
        {"op": "replace", "path": "/name", "value": "multi"},
    ]


def test_non_ascii_name_and_description(gc, ims):
    update(gc, ims, name="镜像 测试", __description="Beschreibung äöü – 中文")
    stored = ims.stored()
    assert stored["name"] == "镜像 测试"
    assert stored["__description"] == "Beschreibung äöü – 中文"
    (raw,) = ims.raw_patches()
    assert b"\\u955c\\u50cf \\u6d4b\\u8bd5" in raw  # escaped, never raw UTF-8
    assert raw.isascii()


def test_non_cjk_non_ascii_name_is_rejected(gc, ims):
    with pytest.raises(exc.HTTPBadRequest) as info:
        update(gc, ims, name="café")
    assert info.value.code == 400
    assert info.value.details == "The image name format is invalid."  # IMG.0003, code not exposed
    assert ims.stored()["name"] == "ims_test"


@pytest.mark.parametrize("description", ["a <b>bold</b> text", "a > b", "line1\nline2", "cr\r"])
def test_forbidden_description_characters(gc, ims, description):
    with pytest.raises(exc.HTTPBadRequest) as info:
        update(gc, ims, __description=description)
    assert info.value.details == "The image description format is invalid."
    assert ims.statuses() == [400]
    assert ims.stored()["__description"] == "ims test"


def test_non_string_value_is_refused_locally(gc, ims):
    # warlock validates against the schema's additionalProperties {"type": "string"}
    with pytest.raises(TypeError, match="1 is not of type 'string'"):
        update(gc, ims, custom_num=1)
    assert ims.patches() == []


def test_remove_missing_property_sends_empty_patch(gc, ims):
    before = ims.stored()
    update(gc, ims, remove_props=["no_such_key"])
    assert ims.patches() == [[]]
    assert ims.statuses() == [200]
    assert ims.stored() == before  # not even updated_at moves


def test_protected_ims_attribute(gc, ims):
    with pytest.raises(exc.HTTPForbidden) as info:
        update(gc, ims, remove_props=["__os_bit"])
    assert info.value.details == "Attribute __os_bit cannot be changed in this API."
    assert ims.stored()["__os_bit"] == "64"


def test_tagged_image_gets_replace_tags(gc, ims):
    ims.put(tags=["alpha", "beta"])
    update(gc, ims, name="tagged")
    # glanceclient appends the unchanged tags to every patch of a tagged image;
    # IMS forbids changing tags but exempts a replace with the current value
    assert ims.patches() == [[
        {"op": "replace", "path": "/name", "value": "tagged"},
        {"path": "/tags", "value": ["alpha", "beta"], "op": "replace"},
    ]]  # fmt: skip
    assert ims.statuses() == [200]
    assert ims.stored()["tags"] == ["alpha", "beta"]
    assert ims.stored()["name"] == "tagged"


def test_boolean_extra_property_makes_image_unreadable(gc, ims):
    ims.put(deleted=False)
    with pytest.raises(ValueError, match="False is not of type 'string'"):
        update(gc, ims, name="never")
    assert ims.patches() == []


def test_null_property_makes_image_unreadable(gc, ims):
    ims.put(__data_origin=None)
    with pytest.raises(ValueError, match="None is not of type 'string'"):
        update(gc, ims, name="never")
    assert ims.patches() == []


def test_ims_sample_image_is_unreadable(gc, ims):
    # the documented IMS GET answer carries "deleted": false and "deleted_at": null
    # besides "__data_origin": null; which one is reported first varies
    ims.put(ims.sample)
    with pytest.raises(ValueError, match=r"(False|None) is not of type 'string'"):
        update(gc, ims, name="never")
    assert ims.patches() == []
