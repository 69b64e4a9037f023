"""openstacksdk: ``conn.image.update_image`` (with an Image or an id) and
``update_image_properties``.

The SDK diffs the resource it holds against the new one with ``jsonpatch`` and
sends the ops sorted by path.  Holding only an id, its "original" is ``{id}``, so
every change is an ``add``.  Values are sent as given (numbers stay numbers),
except that ``update_image_properties`` stringifies them.
"""

from __future__ import annotations

import pytest

pytestmark = [
    pytest.mark.clients,
    # 4.22.0 warns about its own internals (InfluxDB support, _compute_attributes)
    pytest.mark.filterwarnings("ignore::openstack.warnings._RemovedInSDKWarning"),
]

openstack = pytest.importorskip("openstack")
from openstack import exceptions  # noqa: E402


@pytest.fixture
def conn(ims):
    connection = openstack.connection.Connection(
        auth_type="none", image_endpoint_override=ims.url + "/v2"
    )
    yield connection
    connection.close()


@pytest.fixture
def image(conn, ims):
    """The stored image as an SDK resource (fetched with GET)."""
    fetched = conn.image.get_image(ims.image_id)
    ims.server.log.clear()
    return fetched


def error_code(error):
    """The SDK exposes status and message; the IMS code is only in the raw response."""
    return error.response.json()["error"]["code"]


def test_rename_object(conn, ims, image):
    updated = conn.image.update_image(image, name="renamed")
    assert updated.name == "renamed"
    assert ims.stored()["name"] == "renamed"
    assert ims.patches() == [[{"op": "replace", "path": "/name", "value": "renamed"}]]


def test_rename_by_id_sends_add(conn, ims):
    conn.image.update_image(ims.image_id, name="renamed")
    assert ims.stored()["name"] == "renamed"
    assert ims.patches() == [[{"op": "add", "path": "/name", "value": "renamed"}]]


def test_unchanged_value_by_id_is_still_sent(conn, ims):
    before = ims.stored()
    conn.image.update_image(ims.image_id, name="ims_test")
    assert ims.patches() == [[{"op": "add", "path": "/name", "value": "ims_test"}]]
    assert ims.stored() == before  # nothing changed, so updated_at stays


def test_set_description(conn, ims, image):
    conn.image.update_image(image, properties={**image.properties, "__description": "new"})
    assert ims.stored()["__description"] == "new"
    assert ims.patches() == [[{"op": "replace", "path": "/__description", "value": "new"}]]


def test_add_description_by_id(conn, ims):
    ims.put(__description=ims.DELETE)
    conn.image.update_image(ims.image_id, __description="first")
    assert ims.stored()["__description"] == "first"
    assert ims.patches() == [[{"op": "add", "path": "/__description", "value": "first"}]]


def test_clear_description(conn, ims, image):
    conn.image.update_image(image, properties={**image.properties, "__description": ""})
    assert ims.stored()["__description"] == ""
    assert ims.patches() == [[{"op": "replace", "path": "/__description", "value": ""}]]


def test_remove_description(conn, ims, image):
    properties = {k: v for k, v in image.properties.items() if k != "__description"}
    conn.image.update_image(image, properties=properties)
    assert "__description" not in ims.stored()
    assert ims.patches() == [[{"op": "remove", "path": "/__description"}]]


def test_add_change_remove_custom_properties(conn, ims):
    ims.put(old="o", change_me="1")
    image = conn.image.get_image(ims.image_id)
    ims.server.log.clear()
    properties = {k: v for k, v in image.properties.items() if k != "old"}
    conn.image.update_image(image, properties={**properties, "change_me": "2", "new": "n"})
    stored = ims.stored()
    assert (stored["new"], stored["change_me"]) == ("n", "2")
    assert "old" not in stored
    assert ims.patches() == [[
        {"op": "replace", "path": "/change_me", "value": "2"},
        {"op": "add", "path": "/new", "value": "n"},
        {"op": "remove", "path": "/old"},
    ]]  # fmt: skip


def test_update_image_properties(conn, ims, image):
    conn.image.update_image_properties(image, __description="d", custom_key="v")
    assert (ims.stored()["__description"], ims.stored()["custom_key"]) == ("d", "v")
    assert ims.patches() == [[
        {"op": "replace", "path": "/__description", "value": "d"},
        {"op": "add", "path": "/custom_key", "value": "v"},
    ]]  # fmt: skip


def test_update_image_properties_stringifies_values(conn, ims, image):
    conn.image.update_image_properties(image, num=1, flag=True)
    assert ims.patches() == [[
        {"op": "add", "path": "/flag", "value": "True"},
        {"op": "add", "path": "/num", "value": "1"},
    ]]  # fmt: skip
    assert (ims.stored()["num"], ims.stored()["flag"]) == ("1", "True")


def test_update_image_properties_without_change_sends_nothing(conn, ims, image):
    conn.image.update_image_properties(image, __os_bit="64")
    assert ims.patches() == []


def test_update_image_properties_with_an_id_crashes(conn, ims):
    with pytest.raises(AttributeError):
        conn.image.update_image_properties(ims.image_id, custom_key="v")
    assert ims.patches() == []


def test_several_changes_at_once_by_id(conn, ims):
    conn.image.update_image(ims.image_id, name="multi", __description="d", custom_key="v")
    stored = ims.stored()
    assert (stored["name"], stored["__description"], stored["custom_key"]) == ("multi", "d", "v")
    # every op is "add", sorted by path
    assert ims.patches() == [[
        {"op": "add", "path": "/__description", "value": "d"},
        {"op": "add", "path": "/custom_key", "value": "v"},
        {"op": "add", "path": "/name", "value": "multi"},
    ]]  # fmt: skip


def test_non_ascii_name_and_description(conn, ims):
    conn.image.update_image(ims.image_id, name="镜像 测试", __description="äöü – 中文")
    assert (ims.stored()["name"], ims.stored()["__description"]) == ("镜像 测试", "äöü – 中文")
    (raw,) = ims.raw_patches()
    assert b'"\\u955c\\u50cf \\u6d4b\\u8bd5"' in raw
    assert raw.isascii()


def test_non_cjk_non_ascii_name_is_rejected(conn, ims):
    with pytest.raises(exceptions.BadRequestException) as info:
        conn.image.update_image(ims.image_id, name="café")
    assert info.value.status_code == 400
    assert info.value.details == "The image name format is invalid."
    assert error_code(info.value) == "IMG.0003"
    assert ims.stored()["name"] == "ims_test"


@pytest.mark.parametrize("description", ["<script>", "a > b", "line1\nline2"])
def test_forbidden_description_characters(conn, ims, description):
    with pytest.raises(exceptions.BadRequestException) as info:
        conn.image.update_image(ims.image_id, __description=description)
    assert info.value.details == "The image description format is invalid."
    assert error_code(info.value) == "IMG.0054"
    assert ims.stored()["__description"] == "ims test"


@pytest.mark.parametrize("value", [1, True, 1.5])
def test_non_string_value_is_sent_and_rejected(conn, ims, value):
    with pytest.raises(exceptions.BadRequestException) as info:
        conn.image.update_image(ims.image_id, custom_num=value)
    assert ims.patches() == [[{"op": "add", "path": "/custom_num", "value": value}]]
    assert error_code(info.value) == "invalid_value"
    assert "custom_num" not in ims.stored()


def test_remove_missing_property_sends_nothing(conn, ims, image):
    properties = {k: v for k, v in image.properties.items() if k != "no_such_key"}
    conn.image.update_image(image, properties=properties)
    assert ims.patches() == []


def test_unknown_kwargs_on_an_object_replace_all_properties(conn, ims, image):
    # The destructive case: kwargs the Image resource does not know replace
    # image.properties, so every other extra property gets a "remove" - IMS's own
    # __* attributes included.  IMS rules refuse it whole.
    extra = set(image.properties)  # update_image() rewrites image.properties in place
    with pytest.raises(exceptions.ForbiddenException) as info:
        conn.image.update_image(image, custom_key="v")
    assert error_code(info.value) == "protected"
    (ops,) = ims.patches()
    assert {"op": "remove", "path": "/__os_bit"} in ops
    assert {"op": "add", "path": "/custom_key", "value": "v"} in ops
    assert {op["path"][1:] for op in ops if op["op"] == "remove"} == extra
    assert ims.stored()["__os_bit"] == "64"
    assert "custom_key" not in ims.stored()


def test_tagged_image(conn, ims):
    ims.put(tags=["alpha", "beta"])
    image = conn.image.get_image(ims.image_id)
    ims.server.log.clear()
    conn.image.update_image(image, name="tagged")
    assert ims.patches() == [[{"op": "replace", "path": "/name", "value": "tagged"}]]
    assert ims.stored()["tags"] == ["alpha", "beta"]


def test_null_property(conn, ims):
    ims.put(__data_origin=None)
    image = conn.image.get_image(ims.image_id)
    assert image.properties["__data_origin"] is None
    ims.server.log.clear()
    conn.image.update_image(image, name="renamed")
    assert ims.patches() == [[{"op": "replace", "path": "/name", "value": "renamed"}]]
    assert ims.stored()["name"] == "renamed"
    assert ims.stored()["__data_origin"] is None  # kept as null


def test_ims_sample_image(conn, ims):
    ims.put(ims.sample)
    image = conn.image.get_image(ims.image_id)
    ims.server.log.clear()
    conn.image.update_image(image, name="renamed")
    assert ims.patches() == [[{"op": "replace", "path": "/name", "value": "renamed"}]]
    assert ims.stored() | {"name": "ims_test", "updated_at": None} == {
        **ims.sample,
        "updated_at": None,
    }


def test_request_headers(conn, ims, image):
    conn.image.update_image(image, name="renamed")
    (exchange,) = ims.server.patches()
    assert exchange.headers["Content-Type"] == "application/openstack-images-v2.1-json-patch"
    assert exchange.headers["Accept"] == ""
