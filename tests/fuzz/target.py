"""The one check every fuzzer runs: a request in, the properties of issue 6 asserted.

A fuzz input is raw bytes: the first byte selects media type, rule set, image
and admin flag (see :func:`split`), the rest is the body.  The corpus in
``tests/corpus/`` is stored in the same format, so atheris, hypothesis and
the replay test share one decoder and one oracle.

Properties (any violation raises ``AssertionError``; any exception other than
``PatchError`` from a public function propagates as it is, which is the bug):

- only ``PatchError`` escapes ``patch_image``, ``parse_patch``,
  ``apply_patch``, ``iter_errors``, ``dump_patch`` and ``offline.review``;
- neither the image nor an already-decoded body is mutated;
- every error is well formed: status matches its code, the message is short,
  holds no raw control character and no large chunk of the input, and the
  error renders to a small JSON response;
- every reader agrees: a ``str`` body and a ``bytes`` body, an already-decoded
  list and its text, a cold and a warm rule-set cache, ``patch_image`` and
  ``parse_patch`` + ``apply_patch``, ``iter_errors``' first error and
  ``patch_image``'s error, and ``dump_patch`` round-trips what it parsed;
- the offline verdict (``offline.review`` and ``iter_errors`` without an
  image) names the engine's outcome on this image: the first warning whose
  condition the image meets, else the error every image gets, else success;
- CPU time and (optionally) traced memory stay within generous linear bounds.
"""

from __future__ import annotations

import copy
import json
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import imspatch
from imspatch import ERROR_CODES, GLANCE, IMS, PatchError, Rules, offline

V20, V21 = sorted(imspatch.MEDIA_TYPES)
ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"

#: Media types a selector byte can pick: the two real ones, spellings
#: imspatch accepts on purpose, and spellings it must refuse.
MEDIA_TYPES: tuple[str | None, ...] = (
    V21,
    V20,
    V21.upper() + "; charset=utf-8",
    f"  {V20}  ;q=1",
    "application/json-patch+json",
    None,
    V21 + "\x00",
    "application/openstack-images-v2.1-json-patch\u212a",  # KELVIN SIGN lower()s to "k"
)
UNLIMITED_GLANCE = GLANCE.replace(property_quota=-1)
UNLIMITED_IMS = IMS.replace(property_quota=-1)
RULES: tuple[Rules, ...] = (IMS, GLANCE, UNLIMITED_GLANCE, UNLIMITED_IMS)

_SAMPLE: dict[str, Any] = json.loads((ROOT / "examples" / "ims-sample-image.json").read_text())
#: Images a selector byte can pick: the IMS sample, a queued image with tags
#: and odd but JSON values, a near-empty image, one with hostile custom values.
IMAGES: tuple[dict[str, Any], ...] = (
    _SAMPLE,
    {
        "id": "q",
        "name": "queued",
        "status": "queued",
        "tags": ["a", "b", "\U0001f600"],
        "min_ram": 0,
        "min_disk": None,
        "owner": None,
        "disk_format": None,
        "k": None,
        "nested": {"a": [1, 2, {"b": None}]},
        "__description": "d",
    },
    {},
    {
        "name": "x" * 300,
        "status": "active",
        "tags": "not-a-list",
        "min_ram": "12",
        "x\u0000y": "\u2028",
        "os_glance_x": 1,
        "1e400": 1e300,
        "big": 10**40,
    },
)

#: Codes about the body as a whole, raised before operations are looked at.
BODY_CODES = frozenset(
    {
        "unsupported_media_type",
        "empty_body",
        "invalid_utf8",
        "invalid_json",
        "duplicate_member",
        "invalid_number",
        "lone_surrogate",
        "too_deep",
        "not_json",
        "unexpected_body_type",
        "not_an_array",
        "body_too_large",
        "too_many_operations",
        "string_too_long",
        "too_many_members",
    }
)

#: Longest acceptable ``message``: a sentence plus one escaped 64-character excerpt.
MAX_MESSAGE = 600
#: No run of this many characters of any input string may appear in a message.
MAX_ECHO = 128
#: Longest acceptable rendered error body.
MAX_RESPONSE = 2048
#: Error codes allowed to echo input raw or long: none since the issue 6 fixes
#: (kept as a named hook, so a regression can be pinned while it is fixed).
RAW_ECHO_CODES: frozenset[str] = frozenset()
LONG_ECHO_CODES: frozenset[str] = frozenset()


class Request(NamedTuple):
    media_type: str | None
    rules: Rules
    image: dict[str, Any]
    admin: bool
    body: bytes


def split(data: bytes) -> Request:
    """Decode a fuzz input: selector byte, then the body."""
    selector = data[0] if data else 0
    return Request(
        media_type=MEDIA_TYPES[selector & 7],
        rules=RULES[(selector >> 3) & 3],
        image=IMAGES[(selector >> 5) & 3],
        admin=bool(selector & 0x80),
        body=data[1:],
    )


def join(
    body: bytes, *, media: int = 0, rules: int = 0, image: int = 0, admin: bool = False
) -> bytes:
    """The inverse of :func:`split`: indices into the tables above, then the body."""
    return bytes([(media & 7) | (rules & 3) << 3 | (image & 3) << 5 | admin << 7]) + body


Outcome = tuple[Any, ...]


def outcome(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Outcome, Any]:
    """Call *fn*; return a comparable outcome and the raw result or error."""
    try:
        result = fn(*args, **kwargs)
    except PatchError as exc:
        return ("error", exc.status, exc.code, exc.index, exc.pointer), exc
    return ("ok", _canonical(result)), result


def _canonical(value: Any) -> Any:
    """Equality that also sees key order and bool/int/float distinctions."""
    return json.dumps(value, sort_keys=False, default=repr, allow_nan=True)


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a decoded JSON value, member names included."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _control(ch: str) -> bool:
    code = ord(ch)
    return (
        code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029) or 0xD800 <= code <= 0xDFFF
    )


def check_error(exc: PatchError, inputs: list[str], *, strict: bool = False) -> None:
    """An error is well formed and echoes no more than a short, escaped excerpt.

    Not *strict*: the known bugs in ``RAW_ECHO_CODES`` / ``LONG_ECHO_CODES``
    are tolerated (so the fuzzers keep looking for new ones).
    """
    assert type(exc) is not PatchError
    assert isinstance(exc, PatchError)
    assert ERROR_CODES.get(exc.code) == exc.status == type(exc).status, (exc.code, exc.status)
    assert isinstance(exc.message, str)
    if strict or exc.code not in LONG_ECHO_CODES:
        for text in (exc.message, str(exc)):
            assert len(text) <= MAX_MESSAGE + 300, (exc.code, len(text), text[:200])
        assert len(exc.message) <= MAX_MESSAGE, (exc.code, len(exc.message), exc.message[:200])
    if strict or exc.code not in RAW_ECHO_CODES:
        for text in (exc.message, str(exc)):
            bad = [hex(ord(c)) for c in text if _control(c)]
            assert not bad, (exc.code, bad[:5], text[:200])
    for source in inputs if strict or exc.code not in LONG_ECHO_CODES else ():
        if len(source) < MAX_ECHO:
            continue
        message = exc.message
        for start in range(len(message) - MAX_ECHO + 1):
            assert message[start : start + MAX_ECHO] not in source, (exc.code, message[:200])
    as_dict = exc.to_dict()
    json.dumps(as_dict)
    assert as_dict["pointer"] is None or len(as_dict["pointer"]) <= 4 * 64 + 3
    for style in ("ims", "glance"):
        response = exc.to_response(style)
        assert response.status == exc.status
        if strict or exc.code not in LONG_ECHO_CODES:
            assert len(response.body) <= MAX_RESPONSE, (exc.code, len(response.body))
        json.loads(response.body)
    assert any(name == "Accept-Patch" for name, _ in exc.headers) == (exc.status == 415)


def _decoded(body: bytes) -> tuple[str | None, Any]:
    """The body as text and as Python's lenient ``json`` reads it (None if it cannot)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, None
    try:
        return text, json.loads(text)
    except (ValueError, RecursionError):
        return text, None


def check(request: Request, *, cpu_budget: float | None = None, memory: bool = False) -> Outcome:
    """Run every public function on *request* and assert the issue-6 properties.

    *cpu_budget*: seconds of CPU the whole check may take, default generous
    and linear in the body size.  *memory*: also bound the traced peak of
    ``patch_image`` (slower; tracemalloc slows allocation down).
    """
    media_type, rules, image, admin, body = request
    if cpu_budget is None:
        cpu_budget = 5.0 + 2e-6 * len(body)
    frozen = copy.deepcopy(image)
    frozen_text = _canonical(image)
    started = time.process_time()

    if memory:
        tracemalloc.start()
    try:
        first, raw = outcome(
            imspatch.patch_image, image, body, media_type=media_type, rules=rules, admin=admin
        )
    finally:
        if memory:
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    if memory:
        # The decoded tree of a small hostile body costs up to ~50x its size.
        assert peak <= 4 * 2**20 + 100 * len(body), (peak, len(body))
    assert image == frozen, "the input image was mutated"
    assert _canonical(image) == frozen_text, "the input image was mutated"

    text, lenient = _decoded(body)
    inputs = [body.decode("utf-8", "replace")]
    if lenient is not None:
        inputs.extend(s for s in strings_in(lenient) if len(s) >= MAX_ECHO)
    if isinstance(raw, PatchError):
        check_error(raw, inputs)
        # Every image here is JSON: an unreadable one would be an engine bug
        # turned into 400 (the engine reads a failing image as invalid_image).
        assert raw.code != "invalid_image", raw
    else:
        assert isinstance(raw, dict)
        json.dumps(raw, allow_nan=False)

    # The same text as str reads the same.
    if text is not None:
        again, _ = outcome(
            imspatch.patch_image, image, text, media_type=media_type, rules=rules, admin=admin
        )
        assert again == first, (again, first)

    # A cold rule-set cache reads the same as the warm one.
    cold = rules.replace()
    again, _ = outcome(
        imspatch.patch_image, image, body, media_type=media_type, rules=cold, admin=admin
    )
    assert again == first, ("cold cache", again, first)

    # The already-decoded list reads the same, unless the text itself was refused.
    if isinstance(lenient, list) and (first[0] == "ok" or first[2] not in BODY_CODES):
        doc_before = _canonical(lenient)
        again, _ = outcome(
            imspatch.patch_image, image, lenient, media_type=media_type, rules=rules, admin=admin
        )
        assert again == first, ("decoded list", again, first)
        assert _canonical(lenient) == doc_before, "the decoded body was mutated"

    # iter_errors agrees with patch_image about the first error.
    errors = list(
        imspatch.iter_errors(body, media_type=media_type, rules=rules, image=image, admin=admin)
    )
    for error in errors:
        assert isinstance(error, PatchError)
        check_error(error, inputs)
    if first[0] == "ok":
        assert errors == [], [repr(e) for e in errors]
    else:
        assert errors, "iter_errors found nothing"
        head = errors[0]
        assert (head.status, head.code, head.index, head.pointer) == first[1:], (head, first)

    # parse + apply is patch_image; dump round-trips.
    parsed, ops = outcome(imspatch.parse_patch, body, media_type=media_type, rules=rules)
    if parsed[0] == "ok":
        applied, _ = outcome(imspatch.apply_patch, image, ops, rules=rules, admin=admin)
        assert applied == first, ("parse+apply", applied, first)
        assert media_type is not None
        canonical = imspatch.MEDIA_TYPES[media_type.partition(";")[0].strip().lower()]
        dumped, dumped_body = outcome(
            imspatch.dump_patch, ops, media_type=V20 if canonical == "v2.0" else V21
        )
        if dumped[0] == "ok":
            reparsed, ops_again = outcome(
                imspatch.parse_patch, dumped_body, media_type=media_type, rules=rules
            )
            assert reparsed[0] == "ok", reparsed
            assert list(ops_again) == list(ops), reparsed
        else:
            check_error(dumped_body, inputs)
    else:
        assert first[0] == "error"
        assert isinstance(ops, PatchError)
        check_error(ops, inputs)
        # parse-phase and body-level errors are the same error in patch_image
        assert parsed == first, ("parse_patch", parsed, first)
    assert image == frozen, "the input image was mutated"

    check_offline(request, first)

    spent = time.process_time() - started
    assert spent <= cpu_budget, (spent, len(body))
    return first


def check_offline(request: Request, first: Outcome) -> None:
    """The offline verdict (no image) agrees with what the engine did on this image.

    Walk the warnings in order: the first whose condition the image meets
    names the engine's error; if none does, the errors (what fails on every
    image) name it, and with no error either the engine must have succeeded.
    """
    media_type, rules, image, admin, body = request
    verdict = offline.review(body, media_type=media_type, rules=rules, admin=admin)
    for error in [*verdict.errors, *(finding.error for finding in verdict.warnings)]:
        assert isinstance(error, PatchError)
        check_error(error, [body.decode("utf-8", "replace")])
    without = list(imspatch.iter_errors(body, media_type=media_type, rules=rules, admin=admin))
    assert [_key(e) for e in without] == [_key(e) for e in verdict.errors]
    expected = next(
        (f.error for f in verdict.warnings if f.condition is not None and f.condition.holds(image)),
        verdict.errors[0] if verdict.errors else None,
    )
    if expected is None:
        assert first[0] == "ok", ("offline saw no failure", first, verdict)
    else:
        assert first[1:] == _key(expected), ("offline predicted", _key(expected), first, verdict)


def _key(error: PatchError) -> tuple[Any, ...]:
    return (error.status, error.code, error.index, error.pointer)
