"""python-openstackclient: ``openstack image set`` / ``openstack image unset``.

``image set`` calls openstacksdk ``update_image(<id>, **kw)``, so every op is
``add``, sorted by path; ``image unset --property`` fetches the image and diffs
its properties, so it sends ``remove``.  There is no ``--description``: IMS's
description is ``--property __description=...``.  Values are always strings.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.clients

pytest.importorskip("openstackclient")


@pytest.fixture
def openstack(ims, cli):
    def run(*args):
        return cli("openstack", "--os-auth-type", "none", "--os-endpoint", ims.url, *args)

    return run


def image_set(openstack, ims, *args):
    return openstack("image", "set", *args, ims.image_id)


def image_unset(openstack, ims, *args):
    return openstack("image", "unset", *args, ims.image_id)


def test_rename(openstack, ims):
    result = image_set(openstack, ims, "--name", "renamed")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert ims.stored()["name"] == "renamed"
    assert ims.patches() == [[{"op": "add", "path": "/name", "value": "renamed"}]]


def test_find_by_name(openstack, ims):
    # a name instead of an id: GET /v2/images/<name> answers 404, then the list
    result = openstack("image", "set", "--name", "renamed", "ims_test")
    assert result.returncode == 0, result.stderr
    assert ims.stored()["name"] == "renamed"
    assert any(e.path.startswith("/v2/images?") for e in ims.server.log)


def test_set_description(openstack, ims):
    assert image_set(openstack, ims, "--property", "__description=new").returncode == 0
    assert ims.stored()["__description"] == "new"
    assert ims.patches() == [[{"op": "add", "path": "/__description", "value": "new"}]]


def test_add_description(openstack, ims):
    ims.put(__description=ims.DELETE)
    assert image_set(openstack, ims, "--property", "__description=first").returncode == 0
    assert ims.stored()["__description"] == "first"


def test_clear_description(openstack, ims):
    assert image_set(openstack, ims, "--property", "__description=").returncode == 0
    assert ims.stored()["__description"] == ""
    assert ims.patches() == [[{"op": "add", "path": "/__description", "value": ""}]]


def test_remove_description(openstack, ims):
    assert image_unset(openstack, ims, "--property", "__description").returncode == 0
    assert "__description" not in ims.stored()
    assert ims.patches() == [[{"op": "remove", "path": "/__description"}]]


def test_custom_properties(openstack, ims):
    assert image_set(openstack, ims, "--property", "custom_key=v1").returncode == 0
    assert ims.stored()["custom_key"] == "v1"
    assert image_set(openstack, ims, "--property", "custom_key=v2").returncode == 0
    assert ims.stored()["custom_key"] == "v2"
    assert image_unset(openstack, ims, "--property", "custom_key").returncode == 0
    assert "custom_key" not in ims.stored()
    assert ims.patches() == [
        [{"op": "add", "path": "/custom_key", "value": "v1"}],
        [{"op": "add", "path": "/custom_key", "value": "v2"}],  # add, not replace
        [{"op": "remove", "path": "/custom_key"}],
    ]


def test_several_changes_at_once(openstack, ims):
    result = image_set(
        openstack, ims, "--name", "multi", "--property", "__description=d", "--property", "k=1"
    )
    assert result.returncode == 0, result.stderr
    stored = ims.stored()
    assert (stored["name"], stored["__description"], stored["k"]) == ("multi", "d", "1")
    assert ims.patches() == [[
        {"op": "add", "path": "/__description", "value": "d"},
        {"op": "add", "path": "/k", "value": "1"},  # a string: the CLI has no other type
        {"op": "add", "path": "/name", "value": "multi"},
    ]]  # fmt: skip


def test_non_ascii_name_and_description(openstack, ims):
    result = image_set(
        openstack, ims, "--name", "镜像 测试", "--property", "__description=äöü 中文"
    )
    assert result.returncode == 0, result.stderr
    assert (ims.stored()["name"], ims.stored()["__description"]) == ("镜像 测试", "äöü 中文")
    assert all(raw.isascii() for raw in ims.raw_patches())


def test_non_cjk_non_ascii_name_is_rejected(openstack, ims):
    result = image_set(openstack, ims, "--name", "café")
    assert result.returncode == 1
    assert "BadRequestException: 400" in result.stderr
    assert "The image name format is invalid." in result.stderr
    assert ims.stored()["name"] == "ims_test"


@pytest.mark.parametrize("description", ["a <b>", "line1\nline2"])
def test_forbidden_description_characters(openstack, ims, description):
    result = image_set(openstack, ims, "--property", f"__description={description}")
    assert result.returncode == 1
    # status and message, but not the IMS code
    assert "BadRequestException: 400" in result.stderr
    assert "The image description format is invalid." in result.stderr
    assert ims.statuses() == [400]
    assert ims.stored()["__description"] == "ims test"


def test_unset_missing_property_fails_locally(openstack, ims):
    result = image_unset(openstack, ims, "--property", "no_such_key")
    assert result.returncode == 1
    assert "property unset failed, 'no_such_key' is a nonexistent property" in result.stderr
    assert ims.patches() == []


def test_protected_ims_attribute(openstack, ims):
    result = image_unset(openstack, ims, "--property", "__os_bit")
    assert result.returncode == 1
    assert "ForbiddenException: 403" in result.stderr
    assert ims.stored()["__os_bit"] == "64"


def test_tagged_image(openstack, ims):
    ims.put(tags=["alpha"])
    assert image_set(openstack, ims, "--name", "tagged").returncode == 0
    assert ims.patches() == [[{"op": "add", "path": "/name", "value": "tagged"}]]
    assert ims.stored()["tags"] == ["alpha"]


def test_tag_option_is_refused_under_ims(openstack, ims):
    result = image_set(openstack, ims, "--tag", "new")
    assert result.returncode == 1
    assert "ForbiddenException: 403" in result.stderr
    assert ims.patches() == [[{"op": "add", "path": "/tags", "value": ["new"]}]]
    assert ims.stored()["tags"] == []


def test_unchanged_core_attribute_passes_changed_is_refused(openstack, ims):
    # `image set --private` on a private image sends "add /visibility private":
    # IMS exempts a write of the current value, and refuses any other
    assert image_set(openstack, ims, "--private").returncode == 0
    result = image_set(openstack, ims, "--public")
    assert result.returncode == 1
    assert "ForbiddenException: 403" in result.stderr
    assert ims.patches() == [
        [{"op": "add", "path": "/visibility", "value": "private"}],
        [{"op": "add", "path": "/visibility", "value": "public"}],
    ]
    assert ims.statuses() == [200, 403]
    assert ims.stored()["visibility"] == "private"


def test_null_property(openstack, ims):
    ims.put(__data_origin=None)
    assert image_set(openstack, ims, "--name", "renamed").returncode == 0
    assert ims.stored()["name"] == "renamed"
    assert ims.stored()["__data_origin"] is None
