"""imspatch.offline: errors every image gets, warnings with exact conditions (issue 10).

The oracle is the engine: ``patch_image`` on concrete images.  The property
tests search for an image on which a patch reported invalid succeeds, and
check every warning's condition both ways.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import imspatch
from imspatch import GLANCE, IMS, PatchError, offline
from imspatch.offline import (
    AllOf,
    Differs,
    Has,
    Lacks,
    LacksAny,
    MoreProperties,
    NotOneOf,
    TagsLack,
)

from .conftest import V20, V21, a, body, r, rm

EMOJI = "\U0001f600"
SMALL_GLANCE = GLANCE.replace(property_quota=2, tag_quota=2)
SMALL_IMS = IMS.replace(property_quota=2, tag_quota=2)


def review(ops: Any, *, rules: imspatch.Rules = IMS, media_type: str = V21, admin: bool = False):
    data = ops if isinstance(ops, (bytes, str)) else body(*ops)
    return offline.review(data, media_type=media_type, rules=rules, admin=admin)


def where(e: PatchError) -> tuple[type, int, str, int | None, str | None]:
    return type(e), e.status, e.code, e.index, e.pointer


# --- the cases: errors no image escapes ---------------------------------------


@pytest.mark.parametrize(
    ("ops", "rules", "expected"),
    [
        ([rm("/name")], IMS, (imspatch.ForbiddenChange, 403, "not_removable", 0, "/name")),
        ([rm("/name")], GLANCE, (imspatch.ForbiddenChange, 403, "not_removable", 0, "/name")),
        (
            [a("/locations/-", {"url": "http://a", "metadata": {}})],
            GLANCE,
            (imspatch.ForbiddenChange, 403, "locations_hidden", 0, "/locations/-"),
        ),
        (
            [r("/locations", [])],
            IMS,
            (imspatch.ForbiddenChange, 403, "locations_empty", 0, "/locations"),
        ),
        (
            [rm("/locations/0")],
            IMS,
            (imspatch.ForbiddenChange, 403, "locations_hidden", 0, "/locations/0"),
        ),
        (
            [r("/min_ram", -1)],
            GLANCE,
            (imspatch.MalformedPatch, 400, "negative_value", 0, "/min_ram"),
        ),
        (
            [r("/min_ram", 2**31)],
            GLANCE,
            (imspatch.MalformedPatch, 400, "out_of_range", 0, "/min_ram"),
        ),
        (
            [r("/owner", "x")],
            GLANCE,
            (imspatch.ForbiddenChange, 403, "owner_admin_only", 0, "/owner"),
        ),
        ([a("/owner", "x")], IMS, (imspatch.ForbiddenChange, 403, "owner_admin_only", 0, "/owner")),
        ([rm("/__os_type")], IMS, (imspatch.ForbiddenChange, 403, "protected", 0, "/__os_type")),
        ([rm("/min_ram")], IMS, (imspatch.ForbiddenChange, 403, "protected", 0, "/min_ram")),
        (
            [r("/image_id", "x")],
            GLANCE,
            (imspatch.ForbiddenChange, 403, "phantom_attribute", 0, "/image_id"),
        ),
        (
            [r("/tags", [str(i) for i in range(129)])],
            GLANCE,
            (imspatch.LimitExceeded, 413, "too_many_tags", 0, "/tags"),
        ),
        # a later operation sees what an earlier one did
        ([rm("/k"), rm("/k")], IMS, (imspatch.PatchConflict, 409, "no_such_property", 1, "/k")),
        (
            [a("/k", "v"), a("/k", "w"), rm("/k"), r("/k", "x")],
            IMS,
            (imspatch.PatchConflict, 409, "no_such_property", 3, "/k"),
        ),
        # the finishing check sees the final value, which the patch alone decides
        (
            [r("/min_ram", 2**31), r("/min_disk", 5)],
            GLANCE,
            (imspatch.MalformedPatch, 400, "out_of_range", 0, "/min_ram"),
        ),
    ],
)
def test_always_fails(ops: Any, rules: imspatch.Rules, expected: Any) -> None:
    result = review(ops, rules=rules)
    assert [where(e) for e in result.errors] == [expected]
    # iter_errors says the same, and so does the engine on any image
    errors = list(imspatch.iter_errors(body(*ops), media_type=V21, rules=rules))
    assert [where(e) for e in errors] == [expected]
    for image in ({}, {"name": "x", "k": "v", "min_ram": 2**31, "status": "queued"}):
        with pytest.raises(PatchError) as info:
            imspatch.patch_image(image, body(*ops), media_type=V21, rules=rules)
        assert info.value.status in (expected[1], 403, 409)


def test_v20_add_of_core_attribute_and_protected_extra() -> None:
    v20 = b'[{"add": "/name", "value": "x"}]'
    result = review(v20, media_type=V20)
    assert [where(e) for e in result.errors] == [
        (imspatch.PatchConflict, 409, "already_present", 0, "/name")
    ]
    # IMS: 403 unless the image has this very value, and then 409: every image fails
    result = review(b'[{"add": "/__os_type", "value": "Linux"}]', media_type=V20)
    assert [where(e) for e in result.errors] == [
        (imspatch.PatchConflict, 409, "already_present", 0, "/__os_type")
    ]
    assert [(where(w.error), w.condition) for w in result.warnings] == [
        (
            (imspatch.ForbiddenChange, 403, "protected", 0, "/__os_type"),
            Differs("__os_type", "Linux"),
        )
    ]


def test_parse_errors_come_first_and_alone() -> None:
    result = review([rm("/name"), r("/id", "x")])
    assert [where(e) for e in result.errors] == [
        (imspatch.ForbiddenChange, 403, "read_only", 1, "/id")
    ]
    assert result.warnings == []


def test_a_valid_patch_has_nothing_to_say() -> None:
    assert review([r("/name", "web-01")]).errors == []
    assert review([r("/name", "web-01")]).warnings == []
    assert review([]).warnings == []
    # an operation that can only succeed: v2.0 add after a remove that succeeded
    result = review(b'[{"remove": "/k"}, {"add": "/k", "value": "v"}]', media_type=V20)
    assert [w.condition for w in result.warnings] == [Lacks("k")]


# --- warnings: the condition is named ---------------------------------------------------


@pytest.mark.parametrize(
    ("ops", "rules", "expected"),
    [
        ([r("/k", "v")], IMS, [("no_such_property", 0, Lacks("k"), 'the image has no "k"')]),
        (
            [rm("/__description")],
            IMS,
            [("no_such_property", 0, Lacks("__description"), 'the image has no "__description"')],
        ),
        (
            [r("/min_ram", 5)],
            IMS,
            [("protected", 0, Differs("min_ram", 5), 'the image\'s "min_ram" is missing or not 5')],
        ),
        (
            [r("/tags", ["b", "a"])],
            IMS,
            [
                (
                    "protected",
                    0,
                    Differs("tags", ["b", "a"], as_set=True),
                    'the image\'s "tags" is missing or not the set ["b", "a"]',
                )
            ],
        ),
        (
            [r("/disk_format", "raw")],
            GLANCE,
            [
                (
                    "format_not_queued",
                    0,
                    NotOneOf("status", ("queued", "importing")),
                    'the image\'s "status" is not "queued" or "importing"',
                )
            ],
        ),
        (
            [r("/name", EMOJI)],
            GLANCE,
            [
                (
                    "four_byte_unicode",
                    0,
                    Differs("name", EMOJI),
                    'the image\'s "name" is missing or not "\\ud83d\\ude00"',
                )
            ],
        ),
        (
            [r("/tags", ["t", EMOJI])],
            GLANCE,
            [
                (
                    "four_byte_unicode",
                    0,
                    TagsLack("tags", (EMOJI,)),
                    'the image\'s "tags" do not already include "\\ud83d\\ude00"',
                )
            ],
        ),
        (
            [a("/a", "1"), a("/b", "2")],
            SMALL_GLANCE,
            [
                (
                    "too_many_properties",
                    None,
                    AllOf(
                        (
                            LacksAny(("a", "b")),
                            MoreProperties(0, frozenset({"a", "b"}), SMALL_GLANCE),
                        )
                    ),
                    'the image lacks one of "a", "b" and the image has more than 0 other properties',
                )
            ],
        ),
        (
            [a("/a", "1"), a("/b", "2"), a("/c", "3")],
            SMALL_GLANCE,
            [
                (
                    "too_many_properties",
                    None,
                    LacksAny(("a", "b", "c")),
                    'the image lacks one of "a", "b", "c"',
                )
            ],
        ),
    ],
)
def test_warnings_name_the_condition(ops: Any, rules: imspatch.Rules, expected: Any) -> None:
    result = review(ops, rules=rules)
    assert result.errors == []
    assert [
        (w.error.code, w.error.index, w.condition, str(w.condition)) for w in result.warnings
    ] == expected
    assert not any(w.always for w in result.warnings)
    for w in result.warnings:
        assert w.to_dict()["condition"] == str(w.condition)


def test_warning_then_error_at_one_operation() -> None:
    # IMS protects min_ram: 403 unless the image has -1; and then -1 is 400 anyway
    result = review([r("/min_ram", -1)])
    assert [where(e) for e in result.errors] == [
        (imspatch.MalformedPatch, 400, "negative_value", 0, "/min_ram")
    ]
    assert [w.condition for w in result.warnings] == [Differs("min_ram", -1)]


def test_quota_the_patch_alone_exceeds() -> None:
    ops = b"[" + b",".join(b'{"add": "/p%d", "value": "v"}' % i for i in range(129)) + b"]"
    result = review(ops, rules=GLANCE, media_type=V20)
    assert [where(e) for e in result.errors] == [
        (imspatch.LimitExceeded, 413, "too_many_properties", None, None)
    ]
    assert result.errors[0].message.endswith("Attempted: 129, Maximum: 128")
    assert len(result.warnings) == 129  # each v2.0 add: 409 if the image has that name


def test_messages_are_the_engines_and_bounded() -> None:
    long = "k" * 1000
    result = review([rm("/" + long)])
    (w,) = result.warnings
    assert w.error.message == f'Property "{"k" * 64}..." does not exist.'
    assert len(str(w.condition)) < 100


def test_an_engine_crash_on_a_probe_ends_the_analysis_quietly() -> None:
    # Every image that gets this far holds "k\U0001f600" (the replace needs it), and
    # the engine's finishing check raises KeyError on all of them (reported to the
    # core): the analysis must not turn that into a crash of iter_errors.
    # Once the engine is fixed, the out_of_range error every image gets shows.
    ops = [r("/k" + EMOJI, "v"), r("/min_ram", 2**31), rm("/k" + EMOJI)]
    assert [w.condition for w in review(ops, rules=GLANCE).warnings] == [Lacks("k" + EMOJI)]
    errors = list(imspatch.iter_errors(body(*ops), media_type=V21, rules=GLANCE))
    assert [e.code for e in errors] in ([], ["out_of_range"])


def test_condition_objects() -> None:
    assert Lacks("a") == Lacks("a")
    assert Lacks("a") != Has("a")
    assert repr(Differs("a", 1)) == "Differs(False, 'a', 1)"
    assert "rules=glance" in repr(MoreProperties(1, frozenset({"x"}), GLANCE))
    assert str(LacksAny(tuple("abcdefg"))) == (
        'the image lacks one of "a", "b", "c", "d", "e" (and 2 more)'
    )
    assert NotOneOf("status", ("queued",)).holds({})
    assert not NotOneOf("status", ("queued",)).holds({"status": "queued"})
    assert TagsLack("tags", ("x",)).holds({"tags": "x"})
    assert not TagsLack("tags", ("x",)).holds({"tags": ["x", "y"]})
    assert Differs("tags", ["a"], as_set=True).holds({"tags": [["unhashable"]]})


# --- properties: the engine on concrete images is the oracle ------------------------------

NAMES = (
    "a", "b", "k" + EMOJI, "__description", "__os_type", "max_ram", "name", "min_ram",
    "min_disk", "disk_format", "tags", "owner", "visibility", "member", "image_id", "locations",
)  # fmt: skip
STRINGS = st.sampled_from(("v", "w", "", EMOJI, "x" + EMOJI))
TAG_LISTS = st.lists(st.sampled_from(("t", "u", EMOJI)), max_size=3)
#: Values that mostly pass the value checks, so that most patches parse.
VALUES_OF = {
    "min_ram": st.sampled_from((0, 5, -1, 2**31)),
    "min_disk": st.sampled_from((0, 5, 2**31)),
    "disk_format": st.sampled_from(("raw", "qcow2", None)),
    "visibility": st.sampled_from(("public", "private")),
    "tags": TAG_LISTS,
    "owner": st.sampled_from(("v", None, EMOJI)),
    "locations": st.sampled_from(([], [{"url": "http://a", "metadata": {}}])),
}
ANY_VALUE = STRINGS | st.sampled_from((0, 5, -1, 2**31, None, True, "raw")) | TAG_LISTS


def values_of(name: str) -> st.SearchStrategy[Any]:
    """Values the name's rule mostly accepts: a patch that does not parse is not analysed."""
    return VALUES_OF.get(name, STRINGS)


RULE_SETS = st.sampled_from((IMS, GLANCE, SMALL_IMS, SMALL_GLANCE))


@st.composite
def patches(draw: st.DrawFn) -> tuple[imspatch.Rules, str, bool, list[dict[str, Any]]]:
    rules = draw(RULE_SETS)
    media_type = draw(st.sampled_from((V20, V21)))
    admin = draw(st.booleans())
    raw = []
    # a few names, so that operations meet on the same one (remove then add, ...)
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(("add", "remove", "replace")))
        name = draw(st.sampled_from(names))
        path = "/" + name + ("/-" if name == "locations" and op != "replace" else "")
        item: dict[str, Any] = {"op": op, "path": path} if media_type == V21 else {op: path}
        if op != "remove":
            if name == "locations" and op != "replace":
                item["value"] = {"url": "http://a", "metadata": {}}
            else:
                item["value"] = draw(values_of(name))
        raw.append(item)
    return rules, media_type, admin, raw


@st.composite
def images(draw: st.DrawFn, ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Images built from the patch's own names and values, so that its checks can pass."""
    written = [op["value"] for op in ops if "value" in op]
    # the patch's own values, and its lists reordered or repeated (tags compare as sets)
    variants = [*written, *(v[::-1] for v in written if isinstance(v, list))]
    variants += [v + v[:1] for v in written if isinstance(v, list) and v]
    values = ANY_VALUE | st.sampled_from(variants) if variants else ANY_VALUE
    image: dict[str, Any] = {}
    paths = [op.get("path") or op.get("add") or op.get("remove") or op["replace"] for op in ops]
    named = sorted({path[1:].split("/")[0] for path in paths})
    pool = st.sampled_from(named) | st.sampled_from(NAMES) if named else st.sampled_from(NAMES)
    for name in draw(st.lists(pool, max_size=6, unique=True)):
        image[name] = draw(values)
    if draw(st.booleans()):
        image["status"] = draw(st.sampled_from(("queued", "active", "importing", None)))
    for i in range(draw(st.integers(0, 3))):
        image[f"other{i}"] = "x"
    return image


def test_quota_counts_what_the_patch_removes() -> None:
    ops = [rm("/b"), a("/a", "v")]
    (w,) = review(ops, rules=SMALL_GLANCE).warnings[1:]
    assert w.condition == AllOf(
        (LacksAny(("a",)), MoreProperties(1, frozenset({"a", "b"}), SMALL_GLANCE))
    )
    # b is removed: with one other property the result has two, within the quota of 2
    assert not w.condition.holds({"b": "v", "other": "x"})
    imspatch.patch_image({"b": "v", "other": "x"}, body(*ops), media_type=V21, rules=SMALL_GLANCE)
    assert w.condition.holds({"b": "v", "o1": "x", "o2": "x"})


def test_ims_tags_compare_as_sets() -> None:
    (w,) = review([r("/tags", ["t", "u"])]).warnings
    assert w.condition == Differs("tags", ["t", "u"], as_set=True)
    assert not w.condition.holds({"tags": ["u", "t", "u"]})
    imspatch.patch_image({"tags": ["u", "t"]}, body(r("/tags", ["t", "u"])), media_type=V21)


def outcome(image: dict[str, Any], data: bytes, rules: Any, media_type: str, admin: bool) -> Any:
    try:
        imspatch.patch_image(image, data, media_type=media_type, rules=rules, admin=admin)
    except PatchError as exc:
        return exc
    except KeyError:
        # The engine leaks KeyError when a 4-byte-named property the image has is
        # written and then removed (_apply._check_four_byte); reported to the core.
        # On such a patch imspatch.offline stops where its probe meets the crash.
        assume(False)
    return None


def first_holding(findings: tuple[offline.Finding, ...], image: dict[str, Any]) -> Any:
    return next((f for f in findings if f.condition is None or f.condition.holds(image)), None)


def same_failure(actual: PatchError, finding: offline.Finding) -> bool:
    expected = finding.error
    if (actual.status, actual.code) != (expected.status, expected.code):
        return False
    # Among several changed 4-byte values the engine reports the first in the
    # image's key order; which one that is, the patch alone cannot say.
    return expected.code == "four_byte_unicode" or (actual.index, actual.pointer) == (
        expected.index,
        expected.pointer,
    )


@pytest.mark.property
@given(st.data(), patches())
def test_the_findings_predict_the_engine_on_every_image(data: st.DataObject, patch: Any) -> None:
    """On any image, the first finding whose condition holds is the engine's answer."""
    rules, media_type, admin, raw = patch
    text = json.dumps(raw).encode()
    try:
        ops = imspatch.parse_patch(text, media_type=media_type, rules=rules)
    except PatchError:
        assume(False)
    findings = offline.analyse(ops, rules=rules, admin=admin)
    assert all(f.always for f in findings[-1:]) or not any(f.always for f in findings)
    for image in data.draw(st.lists(images(raw), min_size=1, max_size=12)):
        actual = outcome(image, text, rules, media_type, admin)
        expected = first_holding(findings, image)
        if expected is None:
            assert actual is None, (findings, image, actual)
        else:
            assert actual is not None, (expected, image)
            assert same_failure(actual, expected), (expected, image, actual)


@pytest.mark.property
@settings(suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(st.data(), patches())
def test_no_image_escapes_an_error(data: st.DataObject, patch: Any) -> None:
    """Search for an image on which a patch reported invalid without one succeeds."""
    rules, media_type, admin, raw = patch
    text = json.dumps(raw).encode()
    try:
        imspatch.parse_patch(text, media_type=media_type, rules=rules)
    except PatchError:
        assume(False)
    errors = list(imspatch.iter_errors(text, media_type=media_type, rules=rules, admin=admin))
    assume(errors)  # an apply or finishing error every image gets
    event(errors[0].code)
    for image in data.draw(st.lists(images(raw), min_size=1, max_size=20)):
        assert outcome(image, text, rules, media_type, admin) is not None, (errors, image)


@pytest.mark.property
@given(st.data(), patches())
def test_each_warning_both_ways(data: st.DataObject, patch: Any) -> None:
    """An image meeting a warning's condition fails as it says; one that does not, not so.

    Both among images that meet no earlier finding's condition (an image that
    does fails there first).
    """
    rules, media_type, admin, raw = patch
    text = json.dumps(raw).encode()
    try:
        ops = imspatch.parse_patch(text, media_type=media_type, rules=rules)
    except PatchError:
        assume(False)
    findings = offline.analyse(ops, rules=rules, admin=admin)
    assume(any(not f.always for f in findings))
    pool = data.draw(st.lists(images(raw), min_size=4, max_size=16))
    for number, finding in enumerate(findings):
        if finding.always:
            continue
        assert finding.condition is not None
        earlier = findings[:number]
        for image in pool:
            if any(f.condition is not None and f.condition.holds(image) for f in earlier):
                continue
            actual = outcome(image, text, rules, media_type, admin)
            if finding.condition.holds(image):
                event(f"{finding.error.code}: an image that meets it")
                assert actual is not None, (finding, image)
                assert same_failure(actual, finding), (finding, image, actual)
            else:
                event(f"{finding.error.code}: an image that does not")
                assert actual is None or (actual.code, actual.index) != (
                    finding.error.code,
                    finding.error.index,
                ), (finding, image, actual)
