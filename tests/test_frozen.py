"""The frozen value classes (no dataclasses) and what importing the engine loads."""

from __future__ import annotations

import copy
import pickle
import subprocess
import sys
from typing import Any

import pytest

import imspatch
from imspatch import (
    DEFAULT_LIMITS,
    GLANCE,
    IMS,
    Add,
    Field,
    Limits,
    Pointer,
    Remove,
    Replace,
    Rules,
)
from imspatch.errors import HTTPResponse

from .conftest import ROOT, SAMPLE, V21

NAME = Pointer.of("name")


def samples() -> list[Any]:
    return [
        NAME,
        Add(NAME, ["a"], True),
        Remove(NAME),
        Replace(NAME, {"k": 1}),
        Limits(max_depth=4),
        Field(("string",), max_length=3),
        IMS,
    ]


@pytest.mark.parametrize("obj", samples(), ids=lambda obj: type(obj).__name__)
def test_fields_cannot_be_assigned_or_deleted(obj: Any) -> None:
    field = obj.__match_args__[0]
    before = repr(obj)
    with pytest.raises(AttributeError, match="cannot assign to field"):
        setattr(obj, field, None)
    with pytest.raises(AttributeError, match="cannot delete field"):
        delattr(obj, field)
    with pytest.raises(AttributeError):
        obj.no_such_field = 1
    assert repr(obj) == before


def test_repr_is_in_the_dataclass_style() -> None:
    assert repr(Pointer.parse("/ a")) == "Pointer(parts=('a',), text='/ a')"
    assert repr(Add(NAME, 1)) == (
        "Add(path=Pointer(parts=('name',), text='/name'), value=1, if_absent=False)"
    )
    assert repr(Remove(NAME)) == "Remove(path=Pointer(parts=('name',), text='/name'))"
    assert repr(Replace(NAME, "x")).startswith("Replace(path=Pointer(")
    assert repr(Limits()) == (
        "Limits(max_body_bytes=16777216, max_operations=100000, max_depth=32, "
        "max_string_length=1048576, max_pointer_length=4096, max_members=1000)"
    )
    assert repr(Field(("boolean",))) == (
        "Field(types=('boolean',), enum=None, min_length=0, max_length=None, pattern=None, "
        "items=None, properties={}, required=(), additional=True, code='invalid_value', "
        "message=None, length_code=None, length_message=None)"
    )
    shown = repr(IMS)  # short since issue 12: what differs from GLANCE (test_hardening.py)
    assert shown.startswith("Rules(name='ims', fields=")
    assert shown.endswith("vendor_prefixes=('__',))")
    assert "_names" not in shown
    assert "_plans" not in shown


def test_equality_and_hash_follow_the_compared_fields() -> None:
    # a pointer compares and hashes on its tokens, not on the text it was read from
    assert Pointer.parse("/ name") == NAME
    assert hash(Pointer.parse("/ name")) == hash(NAME)
    # operations compare their values but do not hash them (they need not be hashable)
    assert Add(NAME, ["a"]) == Add(Pointer.parse("/ name"), ["a"])
    assert Add(NAME, ["a"]) != Add(NAME, ["b"])
    assert Add(NAME, ["a"]) != Add(NAME, ["a"], if_absent=True)
    assert hash(Add(NAME, ["a"])) == hash(Add(NAME, ["b"]))
    assert hash(Add(NAME, 1)) != hash(Add(NAME, 1, if_absent=True))
    assert hash(Replace(NAME, {})) == hash(Replace(NAME, []))
    assert len({Remove(NAME), Remove(Pointer.parse("/name"))}) == 1
    # only instances of the same class are equal
    assert Add(NAME, 1) != Replace(NAME, 1)
    assert Remove(NAME) != NAME
    assert Add(NAME, 1).__eq__((NAME, 1, False)) is NotImplemented
    assert Limits(max_depth=4) == Limits(max_depth=4)
    assert Limits(max_depth=4) != DEFAULT_LIMITS
    assert hash(Limits()) == hash(DEFAULT_LIMITS)
    assert Field(("string",), max_length=3) == Field(("string",), max_length=3)
    assert Field(("string",), max_length=3) != Field(("string",), max_length=4)
    with pytest.raises(TypeError):  # its properties are a dict, as with the dataclass
        hash(Field(("string",)))


def test_rule_sets_are_equal_only_to_themselves() -> None:
    twin = IMS.replace()
    assert twin is not IMS
    assert twin != IMS
    assert IMS == IMS
    assert len({IMS, twin, GLANCE}) == 3


def test_match_args_are_the_constructor_fields() -> None:
    match Add(NAME, 1, True):
        case Add(Pointer(parts), value, if_absent):
            assert (parts, value, if_absent) == (("name",), 1, True)
        case _:  # pragma: no cover
            pytest.fail("no match")
    assert Rules.__match_args__[:2] == ("name", "read_only")
    assert Field.__match_args__[-1] == "length_message"


def test_mutable_defaults_are_fresh_per_instance() -> None:
    one, two = Rules(name="one"), Rules(name="two")
    assert one.fields == two.fields == GLANCE.fields
    assert one.fields is not two.fields
    assert one.path_depth is not two.path_depth
    assert one.status_gated is not two.status_gated
    assert Field(("object",)).properties is not Field(("object",)).properties
    assert one.extra_field is two.extra_field  # frozen, so shared like a dataclass default


def test_rules_replace_has_its_own_empty_caches() -> None:
    imspatch.patch_image(
        SAMPLE, [{"op": "replace", "path": "/name", "value": "x"}], media_type=V21, rules=IMS
    )
    assert IMS._names
    assert IMS.plans(False)
    lenient = IMS.replace(writable=None, property_quota=-1)
    assert type(lenient) is Rules
    assert (lenient.writable, lenient.property_quota) == (None, -1)
    assert (lenient.name, lenient.fields) == (IMS.name, IMS.fields)
    assert lenient._names == {}
    assert lenient._names is not IMS._names
    assert lenient.plans(False) == {}
    assert lenient.plans(True) == {}
    assert lenient.plans(False) is not IMS.plans(False)
    assert not lenient.info("visibility").protected
    assert IMS.info("visibility").protected
    assert IMS.replace().writable == IMS.writable


def test_replace_refuses_unknown_and_derived_names() -> None:
    for obj, name in [
        (IMS, "no_such_field"),
        (IMS, "_names"),
        (DEFAULT_LIMITS, "max_bytes"),
        (Field(("string",)), "plain_types"),
    ]:
        with pytest.raises(TypeError, match=name):
            obj.replace(**{name: 1})


def test_limits_and_field_replace() -> None:
    tight = DEFAULT_LIMITS.replace(max_depth=4, max_members=3)
    assert tight == Limits(max_depth=4, max_members=3)
    assert DEFAULT_LIMITS.max_depth == 32
    rule = Field(("string",), max_length=3)
    assert rule.accepts("abc")
    longer = rule.replace(max_length=5)
    assert longer == Field(("string",), max_length=5)
    assert longer.accepts("abcde")  # the derived fast-path data follows the change
    assert not rule.accepts("abcde")


@pytest.mark.skipif(sys.version_info < (3, 13), reason="copy.replace is new in 3.13")
def test_copy_replace() -> None:
    replace: Any = getattr(copy, "replace")  # noqa: B009 - absent before 3.13
    assert replace(DEFAULT_LIMITS, max_depth=4) == Limits(max_depth=4)
    derived = replace(IMS, tag_quota=1)
    assert (type(derived), derived.tag_quota, derived._names) == (Rules, 1, {})
    assert replace(Add(NAME, 1), value=2) == Add(NAME, 2)


@pytest.mark.parametrize("obj", samples(), ids=lambda obj: type(obj).__name__)
def test_copies_and_pickles_read_the_same(obj: Any) -> None:
    fields = obj.__match_args__
    for again in (copy.copy(obj), copy.deepcopy(obj), pickle.loads(pickle.dumps(obj))):
        assert type(again) is type(obj)
        assert [getattr(again, f) for f in fields] == [getattr(obj, f) for f in fields]
        if not isinstance(obj, Rules):  # equal only to itself
            assert again == obj


def test_named_tuples_keep_their_fields() -> None:
    response = HTTPResponse(403, [], b"{}")
    assert response == (403, [], b"{}")
    assert (response.status, response.headers, response.body) == (403, [], b"{}")
    assert repr(response) == "HTTPResponse(status=403, headers=[], body=b'{}')"
    assert HTTPResponse.__module__ == "imspatch.errors"
    assert HTTPResponse._fields == ("status", "headers", "body")
    assert pickle.loads(pickle.dumps(response)) == response
    info = IMS.info("name")
    kind, protected, rule = info
    assert info._replace(protected=True).protected
    assert (kind, protected, rule) == (info.kind, info.protected, info.field)


def test_the_engine_imports_no_dataclasses_typing_or_inspect() -> None:
    """Issue 4: these cost more to import than the engine itself.  Nor does a
    request that copies a container value need ``copy``."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from imspatch import patch_image, Rules, Limits, Pointer, Add, HTTPResponse, GLANCE\n"
        'body = b\'[{"op": "replace", "path": "/tags", "value": ["a"]}]\'\n'
        "media_type = 'application/openstack-images-v2.1-json-patch'\n"
        "patch_image({'tags': []}, body, media_type=media_type, rules=GLANCE)\n"
        "patch_image({'tags': []}, [{'op': 'add', 'path': '/k', 'value': 'v'}],"
        " media_type=media_type, rules=GLANCE)\n"
        "loaded = set(sys.modules) - before\n"
        "assert 'imspatch.rules' in loaded, loaded\n"
        "print(sorted({'dataclasses', 'typing', 'inspect', 'copy'} & loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
