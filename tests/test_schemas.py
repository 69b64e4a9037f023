"""schemas/ and the engine agree (issue 2, item 4); jsonschema is a test-only oracle."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import imspatch
from imspatch import GLANCE, IMS, PatchError
from imspatch import strategies as ims_st

from .conftest import ROOT, V20, V21

jsonschema = pytest.importorskip("jsonschema")

import scripts.generate_schemas as generator  # noqa: E402

SHAPE_CODES = {
    "not_an_array", "operation_not_object", "missing_op", "invalid_op", "several_ops",
    "missing_path", "path_not_string", "missing_value", "pointer_no_slash",
    "pointer_adjacent_slash", "pointer_trailing_slash", "pointer_no_token", "pointer_bad_escape",
}  # fmt: skip


def load(name: str) -> Any:
    return json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))


def validator(name: str) -> Any:
    schema = load(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


BODY = {V20: validator("v2.0-json-patch.json"), V21: validator("v2.1-json-patch.json")}
VALUES = {"ims": validator("ims-values.json"), "glance": validator("glance-values.json")}


def test_schema_files_are_generated_from_the_rules() -> None:
    for name, doc in generator.documents().items():
        assert (ROOT / "schemas" / name).read_text(encoding="utf-8") == generator.render(doc), (
            f"schemas/{name} is stale: run python scripts/generate_schemas.py"
        )


def shape_agrees(doc: Any, media_type: str, rules: imspatch.Rules) -> None:
    valid = BODY[media_type].is_valid(doc)
    try:
        imspatch.parse_patch(doc, media_type=media_type, rules=rules)
    except PatchError as e:
        if e.code in SHAPE_CODES:
            assert not valid, f"engine says {e.code}, schema accepts {doc!r}"
        return
    assert valid, f"engine accepts, schema rejects {doc!r}"


POINTERS = ["/name", "/", "/ ", "//x", "///x", "/a//b", "/a/ /b", "/a/", "/x~", "/x~2", "/x~01",
            "/ /x", "/      /      ", "noslash", "", "/\u3000/\u3000", "/a~1b", "/\t", "/a\n"]  # fmt: skip


@pytest.mark.parametrize("path", POINTERS)
@pytest.mark.parametrize("media_type", [V20, V21])
def test_pointer_syntax_agrees(path: str, media_type: str) -> None:
    op = (
        {"replace": path, "value": "v"}
        if media_type == V20
        else {"op": "replace", "path": path, "value": "v"}
    )
    shape_agrees([op], media_type, GLANCE)


OP_LIKE = st.fixed_dictionaries(
    {},
    optional={
        "op": st.sampled_from(("add", "remove", "replace", "test", "ADD")) | st.none(),
        "path": st.sampled_from(POINTERS) | ims_st.json_values(max_leaves=2),
        "value": ims_st.json_values(max_leaves=2),
        "add": st.sampled_from(POINTERS) | st.none() | st.integers(),
        "remove": st.sampled_from(POINTERS),
        "replace": st.sampled_from(POINTERS),
    },
)


@pytest.mark.property
@given(st.lists(OP_LIKE | ims_st.json_values(max_leaves=2), max_size=4) | st.dictionaries(
    st.text(max_size=3), st.integers(), max_size=2), ims_st.media_types(),
    st.sampled_from((IMS, GLANCE)))  # fmt: skip
def test_body_shape_agrees(doc: Any, media_type: str, rules: imspatch.Rules) -> None:
    shape_agrees(doc, media_type, rules)


@pytest.mark.property
@given(st.data(), ims_st.media_types(), st.sampled_from((IMS, GLANCE)))
def test_every_generated_valid_body_validates(
    data: st.DataObject, media_type: str, rules: imspatch.Rules
) -> None:
    body = data.draw(ims_st.patch_bodies(media_type=media_type, rules=rules))
    assert BODY[media_type].is_valid(json.loads(body))


NAMES = ["name", "visibility", "protected", "os_hidden", "owner", "min_ram", "min_disk",
         "container_format", "disk_format", "tags", "stores", "__description", "custom",
         "k" * 256]  # fmt: skip
VALUES_TO_TRY = st.one_of(
    ims_st.json_values(max_leaves=3),
    st.sampled_from(
        [
            "",
            " a",
            "a ",
            "x" * 128,
            "x" * 129,
            "x" * 256,
            "x" * 1025,
            "a<b",
            "a\n",
            "public",
            "bogus",
            "qcow2",
            "\u4e2d",
            "caf\u00e9",
            1.0,
            -1,
            2**40,
        ]
    ),
    st.lists(st.sampled_from(["a", "t" * 256, 1]), max_size=3),
)


@pytest.mark.property
@given(st.sampled_from(NAMES), VALUES_TO_TRY, st.sampled_from((IMS, GLANCE)))
def test_value_rules_agree(name: str, value: Any, rules: imspatch.Rules) -> None:
    engine_ok = True
    try:
        imspatch.parse_patch([{"op": "add", "path": f"/{name}", "value": value}],
                             media_type=V21, rules=rules)  # fmt: skip
    except PatchError as e:
        assert e.status == 400
        engine_ok = False
    assert VALUES[rules.name].is_valid({name: value}) == engine_ok


def test_location_values_agree() -> None:
    for value, valid in (
        ({"url": "u", "metadata": {}}, True),
        ({"url": "u"}, False),
        ({"url": "u", "metadata": {}, "validation_data": {"checksum": "0" * 32}}, False),
        ({"url": "u", "metadata": {},
          "validation_data": {"os_hash_algo": "a", "os_hash_value": "b", "x": 1}}, False),
    ):  # fmt: skip
        assert VALUES["glance"].is_valid({"locations": [value]}) is valid
        try:
            imspatch.parse_patch([{"op": "add", "path": "/locations/-", "value": value}],
                                 media_type=V21, rules=GLANCE)  # fmt: skip
            assert valid
        except PatchError as e:
            assert (e.code, valid) == ("invalid_value", False)
