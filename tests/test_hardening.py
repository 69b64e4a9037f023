"""Issue 12, items 2-4: hostile images, the caller's mistakes, iter_errors at scale."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import imspatch
from imspatch import DEFAULT_LIMITS, GLANCE, IMS, Limits, MalformedPatch, PatchError, _apply

from .conftest import SAMPLE, V20, V21, r, rm

# ---------------------------------------------------------------- item 2: one snapshot


class Disagreeing(Mapping[str, Any]):
    """A mapping whose iteration names a key its __getitem__ does not have."""

    def __getitem__(self, key: str) -> Any:
        if key == "ghost":
            raise KeyError(key)
        return "v"

    def __iter__(self) -> Iterator[str]:
        return iter(["name", "ghost"])

    def __len__(self) -> int:
        return 2


class Raising(Mapping[str, Any]):
    """A mapping whose __getitem__ fails with something other than KeyError."""

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(["name"])

    def __len__(self) -> int:
        return 1


class Nosy(dict[str, Any]):
    """A dict that fails when asked about a key after it was copied."""

    def __contains__(self, key: object) -> bool:
        raise RuntimeError("__contains__")

    def get(self, key: str, default: Any = None) -> Any:
        raise RuntimeError("get")

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("__getitem__")


class BadHash:
    def __hash__(self) -> int:
        raise ValueError("no hash")


class BadEq:
    def __init__(self, like: str) -> None:
        self.like = like

    def __hash__(self) -> int:
        return hash(self.like)

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no eq")


class HostileKey(str):
    __hash__ = str.__hash__

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no eq")


def unreadable(call: Any) -> None:
    with pytest.raises(PatchError) as info:
        call()
    e = info.value
    assert (type(e), e.status, e.code, e.index, e.pointer) == (
        MalformedPatch,
        400,
        "invalid_image",
        None,
        None,
    )


HOSTILE = [
    ("mapping that disagrees", Disagreeing(), IMS, [r("/name", "x")]),
    ("mapping that raises", Raising(), IMS, [r("/name", "x")]),
    ("tag with a raising hash", {**SAMPLE, "tags": [BadHash()]}, IMS, [r("/tags", ["a"])]),
    ("tag with a raising eq", {**SAMPLE, "tags": [BadEq("a")]}, IMS, [r("/tags", ["a"])]),
    (
        "tag with a raising eq, 4-byte check",
        {**SAMPLE, "tags": [BadEq("\U0001f600")]},
        GLANCE,
        [r("/tags", ["\U0001f600"])],
    ),
    ("key with a raising eq", {HostileKey("name"): "n", "id": "i"}, IMS, [r("/name", "x")]),
    ("key with a raising eq, remove", {HostileKey("k"): "v"}, GLANCE, [rm("/k")]),
]


@pytest.mark.parametrize(
    ("image", "rules", "ops"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_an_image_that_cannot_be_read_is_invalid_image(image: Any, rules: Any, ops: Any) -> None:
    body = json.dumps(ops).encode()
    unreadable(lambda: imspatch.patch_image(image, body, media_type=V21, rules=rules))
    parsed = imspatch.parse_patch(body, media_type=V21, rules=rules)
    unreadable(lambda: imspatch.apply_patch(image, parsed, rules=rules))
    errors = list(imspatch.iter_errors(body, media_type=V21, rules=rules, image=image))
    assert [(e.code, e.index) for e in errors] == [("invalid_image", None)]


def test_an_engine_bug_on_a_json_image_shows_as_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain JSON runs no code of its own: only a non-JSON image makes invalid_image."""

    def bug(*args: Any) -> None:
        raise KeyError("the engine's bug")

    monkeypatch.setattr(_apply, "_check_four_byte", bug)  # finish calls it: tags changed
    body = json.dumps([r("/tags", ["a"])]).encode()
    ops = imspatch.parse_patch(body, media_type=V21, rules=GLANCE)
    for image in (SAMPLE, {**SAMPLE, "tags": ["a", ["b", {"c": 1.5}]]}):
        with pytest.raises(KeyError, match="the engine's bug"):
            imspatch.patch_image(image, body, media_type=V21, rules=GLANCE)
        with pytest.raises(KeyError, match="the engine's bug"):
            imspatch.apply_patch(image, ops, rules=GLANCE)
        with pytest.raises(KeyError, match="the engine's bug"):
            imspatch.iter_errors(body, media_type=V21, rules=GLANCE, image=image)
    hostile = [
        {**SAMPLE, HostileKey("k"): "v"},  # a key
        {**SAMPLE, "k": BadEq("v")},  # a value in the result
        {**SAMPLE, "tags": [BadEq("a")]},  # a value the request replaced
    ]
    for image in hostile:
        unreadable(lambda i=image: imspatch.patch_image(i, body, media_type=V21, rules=GLANCE))
        unreadable(lambda i=image: imspatch.apply_patch(i, ops, rules=GLANCE))


def test_a_dict_subclass_is_read_once_into_a_snapshot() -> None:
    image = Nosy({**SAMPLE, "k": "v"})
    body = json.dumps([r("/name", "x"), rm("/k"), {"op": "add", "path": "/j", "value": "w"}])
    expected = {**{k: v for k, v in SAMPLE.items() if k != "k"}, "name": "x", "j": "w"}
    for rules in (IMS, GLANCE):
        assert imspatch.patch_image(image, body, media_type=V21, rules=rules) == expected
        ops = imspatch.parse_patch(body, media_type=V21, rules=rules)
        assert imspatch.apply_patch(image, ops, rules=rules) == expected
        assert list(imspatch.iter_errors(body, media_type=V21, rules=rules, image=image)) == []
    assert dict.__getitem__(image, "k") == "v"  # and untouched


def test_an_unreadable_image_is_found_where_a_non_mapping_is() -> None:
    """Right after decoding, as on acc365c for an image that is no mapping at all."""
    body = json.dumps([r("/id", "x")]).encode()
    for image in (Raising(), [1]):
        unreadable(lambda image=image: imspatch.patch_image(image, body, media_type=V21))
        errors = list(imspatch.iter_errors(body, media_type=V21, image=image))
        assert [e.code for e in errors] == ["invalid_image"]
        with pytest.raises(PatchError) as info:
            imspatch.patch_image(image, b"[1,", media_type=V21)
        assert info.value.code == "invalid_json"


# ---------------------------------------------------------------- item 3: the caller's mistakes


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"max_operations": None}, TypeError),
        ({"max_operations": "100"}, TypeError),
        ({"max_depth": 3.0}, TypeError),
        ({"max_members": True}, TypeError),
        ({"max_body_bytes": -1}, ValueError),
        ({"max_string_length": -5}, ValueError),
        ({"max_depth": 0}, ValueError),
    ],
)
def test_bad_limits_are_refused_when_built(changes: dict[str, Any], error: type) -> None:
    name = next(iter(changes))
    with pytest.raises(error, match=f"Limits.{name} must be"):
        Limits(**changes)
    with pytest.raises(error, match=f"Limits.{name} must be"):
        DEFAULT_LIMITS.replace(**changes)


def test_zero_limits_are_limits() -> None:
    tight = Limits(max_operations=0, max_depth=1, max_members=0, max_pointer_length=0)
    assert imspatch.patch_image(SAMPLE, b"[]", media_type=V21, limits=tight) == SAMPLE
    with pytest.raises(imspatch.LimitExceeded):
        imspatch.patch_image(SAMPLE, b"[{}]", media_type=V21, limits=tight)


CALLS = {
    "patch_image": lambda **kw: imspatch.patch_image(SAMPLE, b"[]", media_type=V21, **kw),
    "parse_patch": lambda **kw: imspatch.parse_patch(b"[]", media_type=V21, **kw),
    "iter_errors": lambda **kw: imspatch.iter_errors(b"[]", media_type=V21, **kw),
    "apply_patch": lambda **kw: imspatch.apply_patch(SAMPLE, [], **kw),
}


@pytest.mark.parametrize("function", sorted(CALLS))
@pytest.mark.parametrize("rules", [None, "ims", imspatch.Field(("string",))])
def test_rules_of_the_wrong_type_are_a_type_error(function: str, rules: Any) -> None:
    with pytest.raises(TypeError, match="rules must be a Rules object"):
        CALLS[function](rules=rules)


@pytest.mark.parametrize("function", ["patch_image", "parse_patch", "iter_errors"])
@pytest.mark.parametrize("limits", [None, {"max_depth": 3}, 5])
def test_limits_of_the_wrong_type_are_a_type_error(function: str, limits: Any) -> None:
    with pytest.raises(TypeError, match="limits must be a Limits object"):
        CALLS[function](limits=limits)


def test_subclasses_of_rules_and_limits_are_accepted() -> None:
    class Mine(imspatch.Rules):
        __slots__ = ()

    class Tight(Limits):
        __slots__ = ()

    rules = Mine(name="mine")
    assert (
        imspatch.patch_image(SAMPLE, b"[]", media_type=V20, rules=rules, limits=Tight()) == SAMPLE
    )


# ---------------------------------------------------------------- item 4: iter_errors at scale


def test_collected_errors_keep_no_frames() -> None:
    """Each error kept its traceback, and so every frame that raised it: the
    cyclic GC walked them all, and the cost per operation grew with their number."""
    body = json.dumps([{"op": "bogus", "path": f"/k{i}"} for i in range(1000)])
    errors = list(imspatch.iter_errors(body, media_type=V21))
    assert len(errors) == 1000
    assert all(e.__traceback__ is None and e.__context__ is None for e in errors)
    gc.collect()
    tracked = len(gc.get_objects())
    del errors
    gc.collect()
    assert tracked - len(gc.get_objects()) < 3 * 1000  # about two objects per error


# ---------------------------------------------------------------- item 6: a short repr for rule sets


def test_a_rule_set_shows_its_name_and_what_differs_from_glance() -> None:
    assert repr(GLANCE) == "Rules(name='glance')"
    assert repr(IMS) == (
        "Rules(name='ims', fields=<GLANCE's with 'name', '__description'>, "
        "max_name_length=255, writable=frozenset({'__description', 'name'}), "
        "vendor_attributes=<frozenset of 6>, vendor_prefixes=('__',))"
    )
    assert repr(IMS.replace(property_quota=-1, hidden=frozenset())) == (
        "Rules(name='ims', hidden=frozenset(), fields=<GLANCE's with 'name', '__description'>, "
        "max_name_length=255, writable=frozenset({'__description', 'name'}), "
        "vendor_attributes=<frozenset of 6>, vendor_prefixes=('__',), property_quota=-1)"
    )
    fewer = dict(GLANCE.fields)
    del fewer["stores"]
    assert repr(GLANCE.replace(name="g", fields=fewer)) == (
        "Rules(name='g', fields=<GLANCE's without 'stores'>)"
    )
    # a field whose long value has no length (found in the final review: TypeError)
    narrow = imspatch.Field(("string",), max_length=10)
    assert (
        repr(GLANCE.replace(name="n", extra_field=narrow)) == "Rules(name='n', extra_field=<Field>)"
    )


@pytest.mark.parametrize(
    "function",
    [
        imspatch.patch_image,
        imspatch.parse_patch,
        imspatch.apply_patch,
        imspatch.iter_errors,
        imspatch.diff_images,
        imspatch.iter_diff_errors,
    ],
)
def test_help_on_a_function_that_takes_rules_is_short(function: Any) -> None:
    import pydoc  # noqa: PLC0415 - only here

    assert len(pydoc.render_doc(function)) < 2000
