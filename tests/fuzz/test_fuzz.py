"""Hypothesis fuzzing of the public API with hostile input (issue 6).

Bounded: part of the default run (about 150 examples per test under the
"dev" profile).  Every example goes through :func:`tests.fuzz.target.check`,
which asserts that only ``PatchError`` escapes, nothing is mutated, errors
are short and escaped, every reader agrees, and CPU and memory stay bounded.
"""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from imspatch import strategies as ims_st

from . import target
from .mutations import MUTATORS, mutate
from .target import IMAGES, MEDIA_TYPES, RULES, Request, check

RULE_INDEX = st.integers(0, len(RULES) - 1)
MEDIA_INDEX = st.integers(0, len(MEDIA_TYPES) - 1)
SETTINGS = settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _request(media: int, rules: int, image: dict[str, Any], admin: bool, body: bytes) -> Request:
    return Request(MEDIA_TYPES[media], RULES[rules], image, admin, body)


@SETTINGS
@given(st.data(), RULE_INDEX, st.booleans())
def test_valid_requests(data: st.DataObject, rules: int, admin: bool) -> None:
    media_type, body, image = data.draw(ims_st.requests(rules=RULES[rules]))
    check(Request(media_type, RULES[rules], image, admin, body))


@SETTINGS
@given(st.data(), RULE_INDEX, MEDIA_INDEX, st.integers(0, 2**32 - 1), st.booleans())
def test_mutated_requests(
    data: st.DataObject, rules: int, media: int, seed: int, admin: bool
) -> None:
    _, body, image = data.draw(ims_st.requests(rules=RULES[rules]))
    if data.draw(st.booleans()):
        image = data.draw(st.sampled_from(IMAGES))
    hostile = mutate(body, random.Random(seed))
    check(_request(media, rules, image, admin, hostile))


@SETTINGS
@given(st.data(), st.sampled_from(MUTATORS), st.integers(0, 2**32 - 1))
def test_each_mutator(data: st.DataObject, mutator: Any, seed: int) -> None:
    """Each mutator on its own, on the dialect-correct media type."""
    rules = data.draw(RULE_INDEX)
    media_type, body, image = data.draw(ims_st.requests(rules=RULES[rules], min_size=1))
    check(Request(media_type, RULES[rules], image, False, mutator(body, random.Random(seed))))


@SETTINGS
@given(st.binary(max_size=300))
@example(b"\x00")
@example(b"\x00[" + b"[" * 100_000)
@example(b"\x00\xef\xbb\xbf[]")
@example(b'\x00[{"op":"add","op":"remove","path":"/name"}]')
def test_random_bytes(data: bytes) -> None:
    check(target.split(data))


_KEYS = st.sampled_from(("op", "path", "value", "add", "remove", "replace", "from", "x", ""))
_HOSTILE_TEXT = st.text(
    st.characters(codec=None, exclude_categories=()), max_size=40
) | st.sampled_from(
    (
        "add",
        "remove",
        "replace",
        "/name",
        "/ name",
        "//name",
        "/",
        "/tags",
        "/locations/-",
        "/__description",
        "/os_glance_x",
        "/\u00a0x\u3000",
        "/a\nb",
        "/a\x00b",
        "/~0~1",
        "\ud800",
        "/\ud800",
        "/" + "\u2028" * 10,
        "/" + "x" * 300,
        "x" * 5000,
        "/" + "\x1b[31m" * 200,
    )
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _HOSTILE_TEXT
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_HOSTILE_TEXT, inner, max_size=4),
    max_leaves=12,
)
_OPERATION = st.dictionaries(_KEYS, _VALUES, max_size=4) | _VALUES


@SETTINGS
@given(st.lists(_OPERATION, max_size=6), MEDIA_INDEX, RULE_INDEX, st.sampled_from(IMAGES))
# an op echoed in invalid_op's message, which escaping made 10 times longer on acc365c
@example([{"op": "/" + "\x1b[31m" * 200, "path": "/x"}], 0, 0, IMAGES[0])
def test_random_json(doc: list[Any], media: int, rules: int, image: dict[str, Any]) -> None:
    """Random JSON with operation-like keys and hostile text anywhere."""
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    check(_request(media, rules, image, False, body))
    ascii_body = json.dumps(doc).encode()  # lone surrogates spelt as escapes
    check(_request(media, rules, image, False, ascii_body))


@settings(
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.data(), RULE_INDEX, st.integers(0, 2**32 - 1))
def test_memory_stays_bounded(data: st.DataObject, rules: int, seed: int) -> None:
    """tracemalloc peak of patch_image stays under 4 MiB + 100x the body size."""
    media_type, body, image = data.draw(ims_st.requests(rules=RULES[rules]))
    hostile = mutate(body, random.Random(seed), rounds=data.draw(st.integers(0, 4)))
    check(Request(media_type, RULES[rules], image, False, hostile), memory=True)
