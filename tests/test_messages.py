"""Every error message is bounded after escaping (issue 12, item 1; SECURITY.md).

One request per error code, each echoing input that escapes as badly as it
can (an emoji is 12 characters as JSON escapes, a control character 6).  The
message, ``str(e)`` and the rendered response stay within the bounds that
SECURITY.md states, in both rule sets' styles.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

import imspatch
from imspatch import ERROR_CODES, GLANCE, IMS, Add, Limits, PatchError, Pointer
from imspatch.errors import excerpt

from .conftest import SAMPLE, V20, V21

#: SECURITY.md: a message is at most this many characters with the shipped
#: rule sets; ``str(e)`` adds the location; a response body is at most this many bytes.
MAX_MESSAGE = 256
MAX_STR = MAX_MESSAGE + 90
#: ``repr(e)``: the message's repr (at worst twice its length), the fields, a pointer's excerpt.
MAX_REPR = 2 * MAX_MESSAGE + 200
MAX_RESPONSE = 600
#: An excerpt of input: 64 characters of escaped text, quotes and an ellipsis.
MAX_EXCERPT = 64 + 5

EMOJI = "\U0001f600" * 70  # printable, 12 characters each when escaped
CONTROL = "\x01" * 70  # not printable, 6 characters each when escaped


def patch(ops: Any, *, rules: imspatch.Rules = IMS, media_type: str = V21, **kw: Any) -> None:
    body = ops if isinstance(ops, (bytes, str)) else json.dumps(ops).encode()
    imspatch.patch_image(kw.pop("image", SAMPLE), body, media_type=media_type, rules=rules, **kw)


def at_quota() -> dict[str, Any]:
    image = dict(SAMPLE)
    for i in range(200):
        image[f"k{i}"] = "v"
    return image


def nested(depth: int) -> bytes:
    return b'[{"op":"remove","path":"/k","value":' + b"[" * depth + b"]" * depth + b"}]"


REQUESTS: dict[str, Callable[[], object]] = {
    "unsupported_media_type": lambda: patch([], media_type=EMOJI),
    "empty_body": lambda: patch(b"  "),
    "invalid_utf8": lambda: patch(b"[\xff" + EMOJI.encode()),
    "invalid_json": lambda: patch(b'["' + EMOJI.encode() + b'"'),
    "duplicate_member": lambda: patch(
        '[{"op": "remove", "path": "/k", "E": 1, "E": 2}]'.replace("E", EMOJI)
    ),
    "invalid_number": lambda: patch(b'[{"op": "remove", "path": "/k", "value": 1e999}]'),
    "lone_surrogate": lambda: patch(b'[{"op": "remove", "path": "/\\ud800"}]'),
    "too_deep": lambda: patch(nested(40)),
    "not_json": lambda: imspatch.patch_image(
        SAMPLE, [{"op": "add", "path": "/k", "value": {EMOJI}}], media_type=V21
    ),
    "unexpected_body_type": lambda: patch(json.dumps(EMOJI)),
    "not_an_array": lambda: patch(json.dumps({EMOJI: EMOJI})),
    "operation_not_object": lambda: patch([EMOJI]),
    "body_too_large": lambda: patch([EMOJI], limits=Limits(max_body_bytes=10)),
    "too_many_operations": lambda: patch([EMOJI, EMOJI], limits=Limits(max_operations=1)),
    "too_many_tags": lambda: patch(
        [{"op": "replace", "path": "/tags", "value": [EMOJI] * 129}], rules=GLANCE
    ),
    "too_many_properties": lambda: patch(
        [{"op": "add", "path": "/" + EMOJI[:60], "value": "v"}], rules=GLANCE, image=at_quota()
    ),
    "string_too_long": lambda: patch(
        [{"op": "add", "path": "/k", "value": EMOJI}], limits=Limits(max_string_length=10)
    ),
    "pointer_too_long": lambda: patch(
        [{"op": "add", "path": "/" + EMOJI, "value": "v"}], limits=Limits(max_pointer_length=10)
    ),
    "too_many_members": lambda: patch(
        [{"op": "add", "path": "/k", "value": {EMOJI: 1, CONTROL: 2}}],
        limits=Limits(max_members=1),
    ),
    "missing_op": lambda: patch([{"path": "/" + EMOJI}]),
    "invalid_op": lambda: patch([{"op": EMOJI, "path": "/x"}]),
    "several_ops": lambda: patch([{"add": "/" + EMOJI, "remove": "/x"}], media_type=V20),
    "missing_path": lambda: patch([{"op": "add", "value": EMOJI}]),
    "path_not_string": lambda: patch([{"op": "add", "path": [EMOJI, CONTROL], "value": 1}]),
    "missing_value": lambda: patch([{"op": "add", "path": "/" + EMOJI}]),
    "invalid_operation": lambda: imspatch.apply_patch(SAMPLE, [EMOJI]),  # type: ignore[list-item]
    "pointer_no_slash": lambda: patch([{"op": "remove", "path": EMOJI}]),
    "pointer_adjacent_slash": lambda: patch([{"op": "remove", "path": "/" + EMOJI + "//x"}]),
    "pointer_trailing_slash": lambda: patch([{"op": "remove", "path": "/" + EMOJI + "/"}]),
    "pointer_no_token": lambda: patch([{"op": "remove", "path": "/ / "}]),
    "pointer_bad_escape": lambda: patch([{"op": "remove", "path": "/" + EMOJI + "~2"}]),
    "invalid_path": lambda: patch([{"op": "remove", "path": "/a/" + EMOJI}]),
    "invalid_value": lambda: patch(
        [{"op": "replace", "path": "/visibility", "value": EMOJI}], rules=GLANCE
    ),
    "property_name_too_long": lambda: patch([{"op": "add", "path": "/" + "x" * 300, "value": ""}]),
    "IMG.0002": lambda: patch([{"op": "replace", "path": "/name", "value": EMOJI * 2}]),
    "IMG.0003": lambda: patch([{"op": "replace", "path": "/name", "value": EMOJI}]),
    "IMG.0004": lambda: patch([{"op": "add", "path": "/__description", "value": EMOJI * 15}]),
    "IMG.0054": lambda: patch([{"op": "add", "path": "/__description", "value": CONTROL + "<"}]),
    "negative_value": lambda: patch(
        [{"op": "replace", "path": "/min_ram", "value": -(10**4000)}], rules=GLANCE
    ),
    "out_of_range": lambda: patch(
        [{"op": "replace", "path": "/min_ram", "value": 10**4000}], rules=GLANCE
    ),
    "four_byte_unicode": lambda: patch(
        [{"op": "add", "path": "/" + CONTROL + EMOJI, "value": "v"}], rules=GLANCE
    ),
    "read_only": lambda: patch([{"op": "remove", "path": "/id"}]),
    "reserved": lambda: patch([{"op": "remove", "path": "/os_glance_" + EMOJI}]),
    "not_removable": lambda: patch([{"op": "remove", "path": "/name"}], rules=GLANCE),
    "owner_admin_only": lambda: patch(
        [{"op": "replace", "path": "/owner", "value": EMOJI}], rules=GLANCE
    ),
    "format_not_queued": lambda: patch(
        [{"op": "replace", "path": "/disk_format", "value": "raw"}], rules=GLANCE
    ),
    "locations_hidden": lambda: patch(
        [{"op": "add", "path": "/locations/-", "value": {"url": EMOJI, "metadata": {}}}],
        rules=GLANCE,
    ),
    "locations_empty": lambda: patch(
        [{"op": "replace", "path": "/locations", "value": []}], rules=GLANCE
    ),
    "protected": lambda: patch([{"op": "add", "path": "/__" + EMOJI, "value": "v"}]),
    "phantom_attribute": lambda: patch(
        [{"op": "replace", "path": "/image_id", "value": EMOJI}], rules=GLANCE
    ),
    "no_such_property": lambda: patch([{"op": "remove", "path": "/" + EMOJI}]),
    "already_present": lambda: patch(
        [{"add": "/" + EMOJI, "value": "v"}], media_type=V20, image={**SAMPLE, EMOJI: "v"}
    ),
    "invalid_image": lambda: patch([], image=[EMOJI]),
    "not_expressible": lambda: imspatch.dump_patch([Add(Pointer.of(EMOJI), 1)], media_type=V20),
}


def test_every_code_has_a_request() -> None:
    assert set(REQUESTS) == set(ERROR_CODES)


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_message_is_bounded_after_escaping(code: str) -> None:
    with pytest.raises(PatchError) as info:
        REQUESTS[code]()
    e = info.value
    assert e.code == code
    assert len(e.message) <= MAX_MESSAGE, (len(e.message), e.message[:100])
    assert len(str(e)) <= MAX_STR, len(str(e))
    assert len(repr(e)) <= MAX_REPR, len(repr(e))
    assert e.args == (e.message,)
    for style in ("ims", "glance"):
        assert len(e.to_response(style).body) <= MAX_RESPONSE
    assert len(json.dumps(e.to_dict(), ensure_ascii=False).encode()) <= 2 * MAX_RESPONSE


@pytest.mark.parametrize(
    "text", [EMOJI, CONTROL, "\u00e9" * 70, '"' * 70, "\\" * 70, "a" * 63 + EMOJI, "\ud800" * 70]
)
def test_an_excerpt_is_bounded_after_escaping_and_cut_between_characters(text: str) -> None:
    shown = excerpt(text)
    assert len(shown) <= MAX_EXCERPT
    assert shown.isascii()
    assert shown.startswith('"')
    assert shown.endswith('..."')
    # the cut falls between two characters: what is shown reads back as a prefix
    assert text.startswith(json.loads(shown[:-4] + '"'))


def test_a_short_excerpt_is_shown_whole() -> None:
    assert excerpt("\U0001f600" * 5) == json.dumps("\U0001f600" * 5)
    assert excerpt("x" * 64) == '"' + "x" * 64 + '"'
    assert excerpt("x" * 65) == '"' + "x" * 64 + '..."'


@pytest.mark.parametrize(
    ("pointer", "code"),
    [
        ("/" + "k" * 5000, "pointer_too_long"),
        ("/" + "k" * 4000, "no_such_property"),
        ("/" + EMOJI, "no_such_property"),
        ("/" + CONTROL, "no_such_property"),
    ],
    ids=["5000", "4000", "emoji", "control"],
)
def test_repr_shows_a_long_or_unprintable_pointer_as_str_does(pointer: str, code: str) -> None:
    with pytest.raises(PatchError) as info:
        patch([{"op": "remove", "path": pointer}])
    e = info.value
    assert (e.code, e.pointer) == (code, pointer)
    assert repr(e) == (
        f"{type(e).__name__}({e.message!r}, code={code!r}, index=0, pointer={excerpt(pointer)})"
    )
    assert len(repr(e)) <= MAX_REPR


def test_repr_shows_a_short_printable_pointer_as_it_is() -> None:
    with pytest.raises(PatchError) as info:
        patch([{"op": "remove", "path": "/\u00e9t\u00e9 '\\"}])
    assert repr(info.value).endswith(', pointer="/\u00e9t\u00e9 \'\\\\")')


def test_the_longest_message_of_the_shipped_rule_sets() -> None:
    """An excerpt and Glance's longest enum (disk_format): still within the bound."""
    with pytest.raises(PatchError) as info:
        patch(
            [{"op": "replace", "path": "/disk_format", "value": EMOJI}],
            rules=GLANCE,
            image={**SAMPLE, "status": "queued"},
        )
    assert info.value.code == "invalid_value"
    assert 200 < len(info.value.message) <= MAX_MESSAGE
