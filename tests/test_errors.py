"""SPEC 7: one error family, errors as data, rendering, pickling."""

from __future__ import annotations

import json
import pickle

import pytest

import imspatch
from imspatch import (
    ERROR_CODES,
    GLANCE,
    ForbiddenChange,
    LimitExceeded,
    MalformedPatch,
    PatchConflict,
    PatchError,
    UnsupportedMediaType,
)
from imspatch.errors import excerpt, make_error

from .conftest import ROOT, SAMPLE, err

CLASSES = {
    400: MalformedPatch,
    403: ForbiddenChange,
    409: PatchConflict,
    413: LimitExceeded,
    415: UnsupportedMediaType,
}


def test_classes_are_keyed_by_status() -> None:
    for status, cls in CLASSES.items():
        assert cls.status == status
        assert issubclass(cls, PatchError)
    assert issubclass(MalformedPatch, ValueError)
    assert set(ERROR_CODES.values()) == set(CLASSES)


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_make_error_picks_the_class_of_the_code(code: str) -> None:
    e = make_error(code, "msg", index=3, pointer="/p")
    assert type(e) is CLASSES[ERROR_CODES[code]]
    assert (e.status, e.code, e.message, e.index, e.pointer) == (
        ERROR_CODES[code],
        code,
        "msg",
        3,
        "/p",
    )


def test_patch_error_is_abstract() -> None:
    with pytest.raises(TypeError):
        PatchError("x", code="invalid_json")


def test_every_code_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code in ERROR_CODES:
        assert f"`{code}`" in readme, code


def test_str_repr_to_dict() -> None:
    e = err([{"op": "replace", "path": "/id", "value": "x"}])
    assert str(e) == "op 0 at \"/id\": Attribute 'id' is read-only."
    assert repr(e) == (
        "ForbiddenChange(\"Attribute 'id' is read-only.\", code='read_only', index=0, "
        "pointer='/id')"
    )
    assert e.to_dict() == {
        "status": 403,
        "code": "read_only",
        "message": "Attribute 'id' is read-only.",
        "index": 0,
        "pointer": "/id",
    }
    body_level = err(b"{}")
    assert str(body_level) == "Request body must be a JSON array of operation objects."


@pytest.mark.parametrize("code", ["read_only", "unsupported_media_type", "IMG.0003"])
def test_pickling_round_trips(code: str) -> None:
    e = make_error(code, "m", index=1, pointer="/x")
    e.style = "glance"
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is type(e)
    assert again.to_dict() == e.to_dict()
    assert again.style == "glance"


def test_glance_style_rendering() -> None:
    e = err([{"op": "remove", "path": "/nope"}], rules=GLANCE)
    status, headers, body = e.to_response()
    assert status == 409
    assert headers == [("Content-Type", "application/json")]
    assert json.loads(body) == {
        "code": "409 Conflict",
        "title": "Conflict",
        "message": "Property nope does not exist.",
    }
    # the style can be asked for explicitly
    assert json.loads(e.to_response("ims").body) == {
        "error": {"code": "no_such_property", "message": "Property nope does not exist."}
    }


def test_415_renders_accept_patch_in_both_styles() -> None:
    for rules in (imspatch.IMS, GLANCE):
        with pytest.raises(UnsupportedMediaType) as info:
            imspatch.patch_image(SAMPLE, b"[]", media_type="application/json", rules=rules)
        response = info.value.to_response()
        assert response.status == 415
        assert dict(response.headers)["Accept-Patch"] == imspatch.ACCEPT_PATCH
        assert info.value.accepted == tuple(sorted(imspatch.MEDIA_TYPES))


def test_messages_never_echo_large_input() -> None:
    huge = "x" * 1_000_000
    cases = [
        [{"op": huge, "path": "/a", "value": 1}],
        [{"op": "add", "path": "/" + huge, "value": 1}],
        [{"op": "add", "path": "/" + huge + "/", "value": 1}],
        [{"op": "add", "path": "/" + huge + "/x", "value": 1}],
        [{"op": "add", "path": "/k", "value": [huge]}],
        [{"op": "replace", "path": "/" + huge, "value": "v"}],
        [{"op": "replace", "path": "/min_ram", "value": huge}],
        [{"op": "add", "path": "/" + "~0" * 100 + huge, "value": 1}],
    ]
    for ops in cases:
        for rules in (imspatch.IMS, GLANCE):
            e = err(ops, rules=rules)
            assert len(e.message) < 400, (e.code, len(e.message))
            assert len(str(e)) < 600
            assert len(e.to_response().body) < 800
            assert len(json.dumps(e.to_dict())) < 1200


def test_excerpt() -> None:
    assert excerpt("abc") == '"abc"'
    assert excerpt("a\nb") == '"a\\nb"'
    assert excerpt("x" * 100) == '"' + "x" * 64 + '..."'
    assert excerpt([1, 2]) == "[1, 2]"
    assert excerpt(list(range(1000))).endswith("...")
    assert excerpt(object()) == "<object>"
