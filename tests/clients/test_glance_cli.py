"""The ``glance image-update`` command of python-glanceclient (run from the client venv).

``--name``, ``--property k=v`` and ``--remove-property k``: the same code path as
``images.update`` in the library (so the same bodies), values always strings.
The CLI builds its options from the image schema, cached in ``~/.glanceclient``.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.clients

pytest.importorskip("glanceclient")


@pytest.fixture
def glance(ims, cli):
    def run(*args):
        return cli("glance", "--os-image-url", ims.url, "--os-auth-token", "x", *args)

    return run


def image_update(glance, ims, *args):
    return glance("image-update", *args, ims.image_id)


def test_rename(glance, ims):
    result = image_update(glance, ims, "--name", "renamed")
    assert result.returncode == 0, result.stderr
    assert "| name " in result.stdout
    assert "renamed" in result.stdout
    assert ims.stored()["name"] == "renamed"
    assert ims.patches() == [[{"op": "replace", "path": "/name", "value": "renamed"}]]


def test_set_description(glance, ims):
    assert image_update(glance, ims, "--property", "__description=new").returncode == 0
    assert ims.stored()["__description"] == "new"
    assert ims.patches() == [[{"op": "replace", "path": "/__description", "value": "new"}]]


def test_add_description(glance, ims):
    ims.put(__description=ims.DELETE)
    assert image_update(glance, ims, "--property", "__description=first").returncode == 0
    assert ims.stored()["__description"] == "first"
    assert ims.patches() == [[{"op": "add", "path": "/__description", "value": "first"}]]


def test_clear_description(glance, ims):
    assert image_update(glance, ims, "--property", "__description=").returncode == 0
    assert ims.stored()["__description"] == ""
    assert ims.patches() == [[{"op": "replace", "path": "/__description", "value": ""}]]


def test_remove_description(glance, ims):
    assert image_update(glance, ims, "--remove-property", "__description").returncode == 0
    assert "__description" not in ims.stored()
    assert ims.patches() == [[{"op": "remove", "path": "/__description"}]]


def test_custom_properties_add_change_remove(glance, ims):
    ims.put(old="o", change_me="1")
    result = image_update(
        glance, ims,
        "--property", "new=n", "--property", "change_me=2", "--remove-property", "old",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    stored = ims.stored()
    assert (stored["new"], stored["change_me"]) == ("n", "2")
    assert "old" not in stored
    assert ims.patches() == [[
        {"op": "remove", "path": "/old"},
        {"op": "add", "path": "/new", "value": "n"},
        {"op": "replace", "path": "/change_me", "value": "2"},
    ]]  # fmt: skip


def test_several_changes_at_once(glance, ims):
    result = image_update(
        glance, ims, "--name", "multi", "--property", "__description=d", "--property", "k=v"
    )
    assert result.returncode == 0, result.stderr
    stored = ims.stored()
    assert (stored["name"], stored["__description"], stored["k"]) == ("multi", "d", "v")
    assert len(ims.patches()) == 1


def test_non_ascii_name_and_description(glance, ims):
    result = image_update(
        glance, ims, "--name", "镜像 测试", "--property", "__description=äöü 中文"
    )
    assert result.returncode == 0, result.stderr
    assert (ims.stored()["name"], ims.stored()["__description"]) == ("镜像 测试", "äöü 中文")
    assert all(raw.isascii() for raw in ims.raw_patches())


def test_non_cjk_non_ascii_name_is_rejected(glance, ims):
    result = image_update(glance, ims, "--name", "café")
    assert result.returncode == 1
    assert "The image name format is invalid." in result.stderr
    assert ims.statuses() == [400]
    assert ims.stored()["name"] == "ims_test"


@pytest.mark.parametrize("description", ["a <b>bold</b>", "line1\nline2"])
def test_forbidden_description_characters(glance, ims, description):
    result = image_update(glance, ims, "--property", f"__description={description}")
    assert result.returncode == 1
    # the CLI shows the message but neither the status nor the IMS code
    assert result.stderr == "HTTP The image description format is invalid.\n"
    assert ims.statuses() == [400]
    assert ims.stored()["__description"] == "ims test"


def test_values_are_always_strings(glance, ims):
    assert image_update(glance, ims, "--property", "num=1").returncode == 0
    assert ims.patches() == [[{"op": "add", "path": "/num", "value": "1"}]]
    assert ims.stored()["num"] == "1"


def test_remove_missing_property_sends_empty_patch(glance, ims):
    before = ims.stored()
    assert image_update(glance, ims, "--remove-property", "no_such_key").returncode == 0
    assert ims.patches() == [[]]
    assert ims.stored() == before


def test_protected_ims_attribute(glance, ims):
    result = image_update(glance, ims, "--remove-property", "__os_bit")
    assert result.returncode == 1
    assert "Attribute __os_bit cannot be changed in this API." in result.stderr
    assert ims.statuses() == [403]


def test_tagged_image_gets_replace_tags(glance, ims):
    ims.put(tags=["alpha"])
    assert image_update(glance, ims, "--name", "tagged").returncode == 0
    assert ims.patches() == [[
        {"op": "replace", "path": "/name", "value": "tagged"},
        {"path": "/tags", "value": ["alpha"], "op": "replace"},
    ]]  # fmt: skip
    assert ims.stored()["tags"] == ["alpha"]


def test_null_property_makes_image_unreadable(glance, ims):
    ims.put(__data_origin=None)
    result = image_update(glance, ims, "--name", "never")
    assert result.returncode == 1
    assert "None is not of type 'string'" in result.stderr
    assert ims.patches() == []


def test_schema_without_read_only_marks_breaks_the_cli(glance, ims):
    # The IMS-documented schema marks read-only attributes only in prose.  The CLI
    # caches the schema on its first run and, from then on, turns every property
    # not marked "readOnly" into an option: `file` becomes --file, which clashes with
    # the CLI's own --file, and argparse refuses every command.
    ims.server.schema = {
        **ims.server.schema,
        "properties": {
            name: {k: v for k, v in prop.items() if k != "readOnly"}
            for name, prop in ims.server.schema["properties"].items()
        },
    }
    first = image_update(glance, ims, "--name", "first")
    assert first.returncode == 0, first.stderr  # built from the bundled schema
    second = image_update(glance, ims, "--name", "second")
    assert second.returncode == 1
    assert "argument --file: conflicting option string: --file" in second.stderr
    assert ims.stored()["name"] == "first"
