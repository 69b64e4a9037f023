"""The fast path is an optimisation of the general path, and cannot drift from it.

Every ``patch_image`` of the suite already runs both ways (``tests/both_ways.py``
compares them).  This file makes sure the comparison is not empty (the fast
path does take the common operations) and adds the cases at its edges:
limits tight enough to switch it off, values at the string limit, shapes it
must leave to the general path, rule sets whose names it must not take.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import imspatch
from imspatch import GLANCE, IMS, Field, Limits, PatchError, _patch

from . import both_ways
from .conftest import SAMPLE, V20, V21, a, r, rm

WORKLOAD_B = [
    r("/name", "n1"), a("/k1", "v1"), r("/__description", "d1"), r("/k1", "v2"), a("/k2", "v3"),
    r("/k2", "v4"), rm("/k1"), r("/name", "n2"), rm("/k2"), r("/__description", "d2"),
]  # fmt: skip


def test_the_fast_path_takes_the_common_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = IMS.replace()
    body = json.dumps(WORKLOAD_B).encode()
    first = imspatch.patch_image(SAMPLE, body, media_type=V21, rules=rules)
    compared = both_ways.COUNTS["compared"]
    assert compared > 0  # every request of the suite is compared
    calls: list[str] = []
    parse_element, apply_step = _patch.parse_element, _patch.apply_step
    monkeypatch.setattr(
        _patch, "parse_element", lambda *a: calls.append("parse") or parse_element(*a)
    )
    monkeypatch.setattr(_patch, "apply_step", lambda *a: calls.append("apply") or apply_step(*a))
    with both_ways.one_way():
        assert imspatch.patch_image(SAMPLE, body, media_type=V21, rules=rules) == first
    assert calls == []  # no operation left the fast path
    assert both_ways.COUNTS["compared"] == compared


def test_the_general_path_alone_gives_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Switched off, patch_image is parse_patch's phase, then apply_patch's."""
    body = json.dumps(WORKLOAD_B).encode()
    fast = imspatch.patch_image(SAMPLE, body, media_type=V21)
    calls: list[str] = []
    parse_body, apply_steps = _patch.parse_body, _patch.apply_steps
    monkeypatch.setattr(_patch, "parse_body", lambda *a: calls.append("parse") or parse_body(*a))
    monkeypatch.setattr(_patch, "apply_steps", lambda *a: calls.append("apply") or apply_steps(*a))
    monkeypatch.setattr(_patch, "FAST_PATH", False)
    with both_ways.one_way():
        general = imspatch.patch_image(SAMPLE, body, media_type=V21)
    assert calls == ["parse", "apply"]
    assert general == fast
    assert list(general) == list(fast)


def outcome(image: Any, body: Any, **kw: Any) -> Any:
    try:
        return imspatch.patch_image(image, body, **kw)
    except PatchError as exc:
        return (type(exc), exc.status, exc.code, exc.index, exc.pointer, exc.message)


# a rule set whose custom properties take arrays, and names the fast path must not take
ODD = GLANCE.replace(
    name="odd",
    extra_field=Field(("string", "array")),
    fields={**GLANCE.fields, "count": Field(("integer",))},
    admin_only=frozenset({"owner", "boss"}),
    int32=("min_disk", "min_ram", "count"),
    property_quota=3,
)
ASTRAL = "\U0001f600"

EDGES: list[tuple[str, Any, dict[str, Any], Any]] = [
    ("tight depth", [r("/name", "x")], {"limits": Limits(max_depth=1)}, SAMPLE),
    ("two members", [r("/name", "x")], {"limits": Limits(max_members=2)}, SAMPLE),
    ("short strings", [r("/name", "xy")], {"limits": Limits(max_string_length=2)}, SAMPLE),
    ("short pointers", [r("/name", "x")], {"limits": Limits(max_pointer_length=4)}, SAMPLE),
    ("string limit bites", [a("/k", "v")] * 20 + [a("/k", "v" * 301)], {"limits": Limits(max_string_length=300)}, SAMPLE),
    ("string limit holds", [a("/k", "v" * 300)] * 5, {"limits": Limits(max_string_length=300)}, SAMPLE),
    ("extra member", [{**r("/name", "x"), "from": "/id"}], {}, SAMPLE),
    ("value on remove", [a("/k", "v"), {**rm("/k"), "value": 1}], {}, SAMPLE),
    ("missing value", [r("/name", "x"), {"op": "replace", "path": "/name"}], {}, SAMPLE),
    ("unhashable path", [r("/name", "x"), {"op": "replace", "path": ["/name"], "value": 1}], {}, SAMPLE),
    ("not objects", [r("/name", "x"), "r", ["op"], 5, None], {}, SAMPLE),
    ("nested value", [a("/k", "v"), a("/k", {"a": 1})], {}, SAMPLE),
    ("apply error, then a parse error", [rm("/nope"), r("/name", "x"), r("/id", 1)], {}, SAMPLE),
    ("apply error, then a duplicate", '[{"op":"remove","path":"/nope"},{"op":"add","path":"/k","value":1,"value":2}]', {}, SAMPLE),
    ("astral value", [a("/k", "v"), a("/k", ASTRAL), r("/name", "n" + ASTRAL)], {"rules": GLANCE}, SAMPLE),
    ("astral name", [a("/" + ASTRAL, "v")], {"rules": GLANCE}, SAMPLE),
    ("astral, unchanged", [r("/k", ASTRAL)], {"rules": GLANCE}, {**SAMPLE, "k": ASTRAL}),
    ("quota", [a("/k1", "v"), a("/k2", "v"), rm("/k1"), a("/k1", "v")], {"rules": ODD}, {"id": "i", "a": "1", "b": "2"}),
    ("quota, back to the same", [rm("/a"), a("/a", "v")], {"rules": ODD}, {"a": "1", "b": "2", "c": "3", "d": "4"}),
    ("arrays are copied", [a("/k", ["x"]), a("/k", ["y"])], {"rules": ODD}, {"id": "i"}),
    ("deep array", [a("/k", ["x"]), a("/k", [[["x"]]])], {"rules": ODD, "limits": Limits(max_depth=3)}, {"id": "i"}),
    ("wide array", [a("/k", ["x"]), a("/k", [{"a": 1, "b": 2}])], {"rules": ODD, "limits": Limits(max_members=1)}, {"id": "i"}),
    ("admin-only custom name", [a("/boss", "me")], {"rules": ODD}, {"id": "i"}),
    ("int32 custom name", [a("/count", 2**40)], {"rules": ODD}, {"id": "i"}),
    ("v2.0 add of an existing name", [{"add": "/k", "value": "v"}] * 2, {"media_type": V20}, SAMPLE),
    ("v2.0 several ops", [{"add": "/k", "value": "v"}, {"add": "/k", "remove": "/k", "value": "v"}], {"media_type": V20}, SAMPLE),
    ("v2.0 no op", [{"add": "/k", "value": "v"}, {"value": "v"}], {"media_type": V20}, SAMPLE),
    ("core attribute missing", [r("/name", "x")], {}, {"id": "i"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("ops", "options", "image"), [e[1:] for e in EDGES], ids=[e[0] for e in EDGES]
)
@pytest.mark.parametrize("decoded", [False, True], ids=["bytes", "decoded"])
def test_edges(ops: Any, options: dict[str, Any], image: Any, decoded: bool) -> None:
    """Cold, then warm, then warmed under the default limits: both_ways compares
    the two paths on every call, and the three must agree."""
    options = {"media_type": V21, **options}
    options["rules"] = options.get("rules", IMS).replace()  # a cold cache first
    if isinstance(ops, str):
        body: Any = ops.encode()
    else:
        body = ops if decoded else json.dumps(ops).encode()
    cold = outcome(image, body, **options)
    assert outcome(image, body, **options) == cold
    outcome(image, body, **{**options, "limits": imspatch.DEFAULT_LIMITS})
    assert outcome(image, body, **options) == cold
