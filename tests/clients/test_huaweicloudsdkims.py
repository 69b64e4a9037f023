"""huaweicloudsdkims: ``ImsClient.glance_update_image`` (deprecated in the SDK).

The caller writes the ops by hand; the SDK sends them as given (key order op,
path, value; ``value`` dropped when None; no type check), v2.1 media type only,
signed with AK/SK (the example server ignores the signature).  Errors arrive as
``ClientRequestException`` with ``status_code``, ``error_code`` and ``error_msg``
read from the IMS-style body.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.clients

pytest.importorskip("huaweicloudsdkims")
from huaweicloudsdkcore.auth.credentials import BasicCredentials  # noqa: E402
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException  # noqa: E402
from huaweicloudsdkcore.http.http_config import HttpConfig  # noqa: E402
from huaweicloudsdkims.v2 import (  # noqa: E402
    GlanceUpdateImageRequest,
    GlanceUpdateImageRequestBody,
    ImsClient,
)


@pytest.fixture
def client(ims):
    config = HttpConfig.get_default_config()
    config.timeout = 30
    return (
        ImsClient.new_builder()
        .with_http_config(config)
        .with_credentials(BasicCredentials("FAKEACCESSKEY0000000", "fake-secret-key", "0" * 32))
        .with_endpoints([ims.url])
        .build()
    )


def patch(client, ims, *ops):
    """Send ops given as (op, path[, value]) tuples; returns the SDK's response model."""
    body = [GlanceUpdateImageRequestBody(*op) for op in ops]
    request = GlanceUpdateImageRequest(image_id=ims.image_id, body=body)
    with pytest.warns(DeprecationWarning, match="glance_update_image"):
        return client.glance_update_image(request)


def rejected(client, ims, *ops):
    with pytest.raises(ClientRequestException) as info:
        patch(client, ims, *ops)
    return info.value


def test_rename(client, ims):
    response = patch(client, ims, ("replace", "/name", "renamed"))
    assert response.name == "renamed"
    assert ims.stored()["name"] == "renamed"
    assert ims.raw_patches() == [b'[{"op": "replace", "path": "/name", "value": "renamed"}]']
    (exchange,) = ims.server.patches()
    assert exchange.headers["Content-Type"] == "application/openstack-images-v2.1-json-patch"
    assert exchange.headers["Authorization"].startswith("SDK-HMAC-SHA256 ")


@pytest.mark.parametrize("op", ["replace", "add"])
def test_set_description(client, ims, op):
    patch(client, ims, (op, "/__description", "new"))
    assert ims.stored()["__description"] == "new"


def test_add_description(client, ims):
    ims.put(__description=ims.DELETE)
    patch(client, ims, ("add", "/__description", "first"))
    assert ims.stored()["__description"] == "first"


def test_replace_missing_description_is_a_conflict(client, ims):
    ims.put(__description=ims.DELETE)
    error = rejected(client, ims, ("replace", "/__description", "first"))
    assert (error.status_code, error.error_code) == (409, "no_such_property")
    assert "__description" not in ims.stored()


def test_clear_description(client, ims):
    patch(client, ims, ("replace", "/__description", ""))
    assert ims.stored()["__description"] == ""
    assert ims.patches() == [[{"op": "replace", "path": "/__description", "value": ""}]]


def test_remove_description(client, ims):
    patch(client, ims, ("remove", "/__description"))
    assert "__description" not in ims.stored()
    # value=None is left out of the JSON, not sent as null
    assert ims.raw_patches() == [b'[{"op": "remove", "path": "/__description"}]']


def test_custom_properties(client, ims):
    patch(client, ims, ("add", "/custom_key", "v1"))
    assert ims.stored()["custom_key"] == "v1"
    patch(client, ims, ("replace", "/custom_key", "v2"))
    assert ims.stored()["custom_key"] == "v2"
    patch(client, ims, ("remove", "/custom_key"))
    assert "custom_key" not in ims.stored()


def test_several_changes_at_once(client, ims):
    ims.put(old="o")
    patch(
        client, ims,
        ("replace", "/name", "multi"), ("replace", "/__description", "d"),
        ("add", "/new", "n"), ("remove", "/old"),
    )  # fmt: skip
    stored = ims.stored()
    assert (stored["name"], stored["__description"], stored["new"]) == ("multi", "d", "n")
    assert "old" not in stored


def test_all_or_nothing(client, ims):
    error = rejected(
        client, ims, ("replace", "/name", "never"), ("replace", "/__description", "<b>")
    )
    assert (error.status_code, error.error_code) == (400, "IMG.0054")
    assert ims.stored()["name"] == "ims_test"


def test_non_ascii_name_and_description(client, ims):
    patch(client, ims, ("replace", "/name", "镜像 测试"), ("replace", "/__description", "äöü 中文"))
    assert (ims.stored()["name"], ims.stored()["__description"]) == ("镜像 测试", "äöü 中文")
    assert all(raw.isascii() for raw in ims.raw_patches())


@pytest.mark.parametrize(
    ("name", "code"),
    [("café", "IMG.0003"), (" padded", "IMG.0003"), ("", "IMG.0003"), ("x" * 129, "IMG.0002")],
)
def test_bad_names(client, ims, name, code):
    error = rejected(client, ims, ("replace", "/name", name))
    assert (error.status_code, error.error_code) == (400, code)
    assert ims.stored()["name"] == "ims_test"


@pytest.mark.parametrize(
    ("description", "code"),
    [
        ("a <b>", "IMG.0054"),
        ("a > b", "IMG.0054"),
        ("l1\nl2", "IMG.0054"),
        ("x" * 1025, "IMG.0004"),
    ],
)
def test_bad_descriptions(client, ims, description, code):
    error = rejected(client, ims, ("replace", "/__description", description))
    assert (error.status_code, error.error_code) == (400, code)
    assert ims.stored()["__description"] == "ims test"


@pytest.mark.parametrize("value", [1, True, 1.5, ["a"], {"k": "v"}])
def test_non_string_value_is_sent_as_is_and_rejected(client, ims, value):
    error = rejected(client, ims, ("add", "/custom_num", value))
    assert (error.status_code, error.error_code) == (400, "invalid_value")
    assert ims.patches() == [[{"op": "add", "path": "/custom_num", "value": value}]]
    assert "custom_num" not in ims.stored()


def test_non_string_description(client, ims):
    error = rejected(client, ims, ("replace", "/__description", 5))
    assert (error.status_code, error.error_code) == (400, "IMG.0054")


def test_remove_missing_property(client, ims):
    error = rejected(client, ims, ("remove", "/no_such_key"))
    assert (error.status_code, error.error_code) == (409, "no_such_property")
    assert error.error_msg == "Property no_such_key does not exist."


def test_protected_ims_attribute(client, ims):
    error = rejected(client, ims, ("replace", "/__os_bit", "32"))
    assert (error.status_code, error.error_code) == (403, "protected")
    assert ims.stored()["__os_bit"] == "64"


def test_tagged_image(client, ims):
    ims.put(tags=["alpha", "beta"])
    # what glanceclient appends: unchanged tags pass, changed tags are refused
    patch(client, ims, ("replace", "/name", "tagged"), ("replace", "/tags", ["beta", "alpha"]))
    assert ims.stored()["name"] == "tagged"
    error = rejected(client, ims, ("replace", "/tags", ["alpha"]))
    assert (error.status_code, error.error_code) == (403, "protected")
    assert ims.stored()["tags"] == ["alpha", "beta"]


def test_null_property(client, ims):
    ims.put(__data_origin=None)
    response = patch(client, ims, ("replace", "/name", "renamed"))
    assert response.data_origin is None
    assert ims.stored()["__data_origin"] is None
    assert ims.stored()["name"] == "renamed"


def test_ims_sample_image(client, ims):
    ims.put(ims.sample)
    response = patch(client, ims, ("replace", "/name", "test01"))
    assert response.name == "test01"
    assert response.description == "ims test"
    assert ims.stored()["deleted"] is False
