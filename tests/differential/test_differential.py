"""Differential suite: ``patch_image(..., rules=GLANCE)`` against real Glance 33.

Every generated request (media type, body bytes, image, admin flag) goes to
imspatch and to ``glance_oracle.py``, which runs upstream Glance's own
deserializer, controller, proxies and SQLAlchemy DB layer in a separate virtual
environment (``IMSPATCH_GLANCE_PYTHON``; ``run.sh`` builds it).  Status and
resulting image must agree, modulo ``updated_at``, tag order and upstream's
rendering of a null custom property as ``""``.

Where imspatch differs on purpose (SPEC 3, 6.1, 8), the case is excluded by a
named predicate in ``INTENTIONAL`` that checks both the request *and* the exact
answer imspatch gives, so everything else in such a request is still compared.
Hypothesis reports each kind of divergence (status pair) separately.

Budget: ``IMSPATCH_DIFFERENTIAL_EXAMPLES`` (default 2000) examples.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import imspatch

pytestmark = pytest.mark.differential

ORACLE_SCRIPT = Path(__file__).with_name("glance_oracle.py")
ORACLE_ENV = "IMSPATCH_GLANCE_PYTHON"
EXAMPLES_ENV = "IMSPATCH_DIFFERENTIAL_EXAMPLES"
V20 = "application/openstack-images-v2.0-json-patch"
V21 = "application/openstack-images-v2.1-json-patch"

# --------------------------------------------------------------------------
# The two engines
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One request: what both engines get."""

    media_type: str | None
    body: bytes
    image: dict[str, Any]
    admin: bool


@dataclass(frozen=True)
class Outcome:
    """An answer: status, resulting image on 200, and why otherwise."""

    status: int
    image: dict[str, Any] | None
    message: str = ""
    code: str | None = None  # imspatch's error code; None for upstream


class Oracle:
    """Client of ``glance_oracle.py --serve`` (one Glance process, JSON lines)."""

    def __init__(self, python: str) -> None:
        self._proc = subprocess.Popen(
            [python, str(ORACLE_SCRIPT), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def _ask(self, request: dict[str, Any]) -> Any:
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.write(json.dumps(request) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            msg = f"the Glance oracle exited with status {self._proc.wait()}"
            raise RuntimeError(msg)
        return json.loads(line)

    def patch(self, case: Case) -> Outcome:
        answer = self._ask(
            {
                "command": "patch",
                "media_type": case.media_type,
                "body": base64.b64encode(case.body).decode("ascii"),
                "image": case.image,
                "admin": case.admin,
            },
        )
        return Outcome(answer["status"], answer["image"], answer["message"])

    def phantoms(self) -> frozenset[str]:
        return frozenset(self._ask({"command": "phantoms"}))

    def close(self) -> None:
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        self._proc.stdin.close()
        self._proc.wait(timeout=30)
        self._proc.stdout.close()


def ours(case: Case) -> Outcome:
    """imspatch with the GLANCE rule set (any non-PatchError escapes: a bug)."""
    try:
        result = imspatch.patch_image(
            case.image,
            case.body,
            media_type=case.media_type,
            rules=imspatch.GLANCE,
            admin=case.admin,
        )
    except imspatch.PatchError as exc:
        return Outcome(exc.status, None, exc.message, exc.code)
    return Outcome(200, result)


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    python = os.environ.get(ORACLE_ENV, "")
    if not python or not Path(python).is_file():
        pytest.skip(f"{ORACLE_ENV} does not name a Python with glance==33.0.0 (see run.sh)")
    client = Oracle(python)
    yield client
    client.close()


@pytest.fixture(scope="module")
def phantoms(oracle: Oracle) -> frozenset[str]:
    return oracle.phantoms()


# --------------------------------------------------------------------------
# Glance's reading of a request, for the exclusion predicates only
# --------------------------------------------------------------------------

OP_KEYS = ("add", "remove", "replace")


def glance_name(path: object) -> str | None:
    """The first token Glance decodes from *path* (reference 5.2), or None."""
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    token = path.lstrip("/").split("/")[0]
    return token.replace("~1", "/").replace("~0", "~").strip()


@contextlib.contextmanager
def deep_recursion() -> Iterator[None]:
    """Let ``json`` parse the deepest generated body (3,000 levels)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)


def parse(body: bytes, **hooks: Any) -> Any:
    """*body* as Python's ``json`` (Glance's parser) reads it; ValueError if it can't."""
    with deep_recursion():
        return json.loads(body.decode("utf-8"), **hooks)


def loads_lenient(body: bytes) -> Any:
    """The body as Glance's parser reads it, or None."""
    try:
        return parse(body)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        return None


def operations(body: bytes) -> list[dict[str, Any]]:
    doc = loads_lenient(body)
    if not isinstance(doc, list):
        return []
    return [op for op in doc if isinstance(op, dict)]


def paths(case: Case) -> Iterator[tuple[str, str]]:
    """(op, name) for every operation, read in both dialects' ways."""
    for raw in operations(case.body):
        if isinstance(raw.get("op"), str):
            name = glance_name(raw.get("path"))
            if name is not None:
                yield raw["op"], name
        for key in OP_KEYS:
            name = glance_name(raw.get(key))
            if name is not None:
                yield key, name


def has_duplicate_members(body: bytes) -> bool:
    found = False

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        found = found or len({key for key, _ in pairs}) < len(pairs)
        return dict(pairs)

    try:
        parse(body, object_pairs_hook=hook)
    except ValueError:
        return False
    return found


def has_non_finite(body: bytes) -> bool:
    """NaN / Infinity literals, or a number that overflows a double (1e400)."""
    found = False

    def constant(_text: str) -> float:
        nonlocal found
        found = True
        return 0.0

    def number(text: str) -> float:
        nonlocal found
        value = float(text)
        found = found or not math.isfinite(value)
        return value

    try:
        parse(body, parse_constant=constant, parse_float=number)
    except ValueError:
        return False
    return found


def strings(doc: Any) -> Iterator[str]:
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            yield node
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())


def has_lone_surrogate(body: bytes) -> bool:
    return any(
        any(0xD800 <= ord(char) <= 0xDFFF for char in text) for text in strings(loads_lenient(body))
    )


def nesting(body: bytes) -> int:
    """Bracket depth of the body text (strings skipped), as a parser sees it."""
    depth = deepest = 0
    in_string = escaped = False
    for char in body.decode("utf-8", "replace"):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def has_4byte(doc: Any) -> bool:
    return any(any(ord(char) > 0xFFFF for char in text) for text in strings(doc))


def only_unchanged_4byte(image: dict[str, Any], result: dict[str, Any]) -> bool:
    """Every 4-byte character of *result* sits in a member *image* has unchanged."""
    carriers = [key for key, value in result.items() if has_4byte(key) or has_4byte(value)]
    return bool(carriers) and all(
        key in image and same_json(image[key], result[key]) for key in carriers
    )


def lenient_media_type(media_type: str | None) -> bool:
    """Differs from an accepted type only in case or surrounding whitespace."""
    if media_type is None:
        return False
    essence = media_type.split(";", 1)[0]
    return essence not in (V20, V21) and essence.strip().lower() in (V20, V21)


# --------------------------------------------------------------------------
# Intentional differences (SPEC 3, 6.1, 8), each a named predicate
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Intentional:
    name: str
    reason: str
    applies: Callable[[Case, Outcome, Outcome, frozenset[str]], bool]


INTENTIONAL: tuple[Intentional, ...] = (
    Intentional(
        "duplicate-members",
        "SPEC 3: duplicate member names are 400; Glance keeps the last one",
        lambda c, _up, us, _ph: us.code == "duplicate_member" and has_duplicate_members(c.body),
    ),
    Intentional(
        "non-finite-numbers",
        "SPEC 3: NaN/Infinity are not JSON, and 1e400 overflows a double (400); Glance "
        "parses them (to nan/inf)",
        lambda c, _up, us, _ph: us.code == "invalid_number" and has_non_finite(c.body),
    ),
    Intentional(
        "lone-surrogates",
        "SPEC 3: lone surrogates are 400 (I-JSON); Glance stores them or fails with 500",
        lambda c, _up, us, _ph: us.code == "lone_surrogate" and has_lone_surrogate(c.body),
    ),
    Intentional(
        "nesting-limit",
        "SPEC 3/8: nesting deeper than Limits.max_depth is 400; Glance has no limit (500 "
        "only on RecursionError)",
        lambda c, _up, us, _ph: (
            us.code == "too_deep" and nesting(c.body) > imspatch.DEFAULT_LIMITS.max_depth
        ),
    ),
    Intentional(
        "non-string-path",
        "SPEC 4/8: a non-string path is 400; Glance crashes with 500",
        lambda _c, up, us, _ph: up.status == 500 and us.code == "path_not_string",
    ),
    Intentional(
        "lenient-media-type",
        "SPEC 2/8: media types compare case-insensitively, surrounding whitespace ignored; "
        "Glance compares exactly (415)",
        lambda c, up, _us, _ph: up.status == 415 and lenient_media_type(c.media_type),
    ),
    Intentional(
        "admin-check-on-add-owner",
        "SPEC 6.1/8: add /owner needs the admin flag (403) like replace; Glance checks "
        "replace only (v2.1 add: 200, v2.0 add: 409)",
        lambda c, _up, us, _ph: (
            not c.admin and us.code == "owner_admin_only" and ("add", "owner") in set(paths(c))
        ),
    ),
    Intentional(
        "4-byte-unchanged-values",
        "SPEC 6.1/8: 4-byte characters are checked only in changed values; Glance's DB "
        "layer re-checks the whole row",
        lambda c, up, us, _ph: (
            up.status == 400
            and "4 byte" in up.message
            and us.image is not None
            and only_unchanged_4byte(c.image, us.image)
        ),
    ),
    Intentional(
        "no-authorization",
        "SPEC 8: who may patch which image is the server's business; Glance's DB layer "
        "refuses non-admins on an image without an owner",
        lambda c, up, _us, _ph: (
            not c.admin
            and not c.image.get("owner")
            and up.status == 403
            and "do not own" in up.message
        ),
    ),
    Intentional(
        "unsettable-phantoms",
        "README: names Glance takes for attributes because hasattr() finds them on its "
        "image proxy, and that it cannot set (image_id: 404; extra_properties, base, "
        "__class__, __dict__, __weakref__: 500), are 403 phantom_attribute. Upstream's "
        "state after such a write is corrupt, so whatever it answers (a later operation "
        "may see extra_properties replaced by a string and answer 409) is excluded",
        lambda c, up, us, ph: (
            us.code == "phantom_attribute" and any(name in ph for _op, name in paths(c))
        ),
    ),
)


def excluded(case: Case, up: Outcome, us: Outcome, phantom: frozenset[str]) -> str | None:
    for difference in INTENTIONAL:
        if difference.applies(case, up, us, phantom):
            return difference.name
    return None


# --------------------------------------------------------------------------
# Intentional message differences (README), each a named predicate
# --------------------------------------------------------------------------

#: The generic sentences webob writes before Glance's detail text (a 415 names
#: the request's media type, ``${CONTENT_TYPE}`` when there is none).  A proxy
#: answering as glance-api adds them itself, so only the detail is compared.
WEBOB_SENTENCE = re.compile(
    r"(There was a conflict when trying to complete your request\."
    r"|Access was denied to this resource\."
    r"|The resource could not be found\."
    r"|The request media type .*? is not supported by this server\.)\s*",
    re.S,
)
FOUR_BYTE = re.compile(r"(?:(.*) )?can't contain 4 byte unicode characters\.")


def upstream_detail(message: str) -> str:
    """Glance's own text of an error: the oracle's message without webob's sentence."""
    text = message.strip()
    generic = WEBOB_SENTENCE.match(text)
    return text[generic.end() :] if generic else text


def first_line(detail: str) -> str:
    """*detail* without jsonschema's report after its first line (lines joined by spaces)."""
    return re.split(r"\s+Failed validating ", detail, maxsplit=1)[0]


def shows_excerpt(up: str, us: str) -> bool:
    """imspatch shows a long or unprintable input as its escaped excerpt; upstream raw."""
    return ("\\" in us or "..." in us) and (not up.isprintable() or len(up) > len(us))


def unchanged_four_byte(case: Case, up: str) -> bool:
    """Upstream names a value with a 4-byte character that the request did not write."""
    named = FOUR_BYTE.fullmatch(up)
    written = {name for _op, name in paths(case)}
    return named is not None and any(
        key.title() == (named[1] or "") and key not in written and has_4byte(value)
        for key, value in case.image.items()
    )


@dataclass(frozen=True)
class MessageDifference:
    name: str
    reason: str
    #: (case, upstream's detail, imspatch's message, imspatch's code)
    applies: Callable[[Case, str, str, str], bool]


MESSAGE_INTENTIONAL: tuple[MessageDifference, ...] = (
    MessageDifference(
        "schema-report",
        "README: of jsonschema's report imspatch gives the first line only (no schema dump)",
        lambda _c, up, us, code: (
            code == "invalid_value"
            and first_line(up) != up
            and (first_line(up) == us or shows_excerpt(first_line(up), us))
        ),
    ),
    MessageDifference(
        "strict-json",
        "SPEC 3/8: imspatch says what it refuses that upstream's json.loads accepts",
        lambda _c, _up, us, code: (
            code in ("duplicate_member", "invalid_number", "lone_surrogate")
            and us.startswith("Malformed JSON in request body: ")
        ),
    ),
    MessageDifference(
        "nesting-limit",
        "SPEC 3/8: the nesting limit, a body-level check, beats every operation's error",
        lambda _c, _up, _us, code: code == "too_deep",
    ),
    MessageDifference(
        "escaped-excerpt",
        "SECURITY.md: a long or unprintable input is shown as its escaped, cut excerpt",
        lambda _c, up, us, _code: shows_excerpt(up, us),
    ),
    MessageDifference(
        "4-byte-unchanged-values",
        "SPEC 6.1/8: upstream re-checks unchanged values for 4-byte characters first",
        lambda c, up, _us, _code: unchanged_four_byte(c, up),
    ),
    MessageDifference(
        "admin-check-on-add-owner",
        "SPEC 6.1/8: add /owner needs the admin flag; upstream goes on to a later error",
        lambda c, _up, _us, code: (
            code == "owner_admin_only" and not c.admin and ("add", "owner") in set(paths(c))
        ),
    ),
)


def message_excluded(case: Case, up: Outcome, us: Outcome) -> str | None:
    """None if the two refusals say the same, else the name of the documented difference.

    Raises a ``Divergence`` when they differ in a way README does not list.
    """
    # The oracle strips each line of upstream's body, so ours is compared stripped
    # too: "".title() + " can't contain 4 byte ..." starts with a space in both.
    theirs, mine = upstream_detail(up.message), us.message.strip()
    if theirs == mine:
        return None
    for difference in MESSAGE_INTENTIONAL:
        if difference.applies(case, theirs, mine, us.code or ""):
            return difference.name
    raise divergence(f"message_{us.code}")(f"message differs\n{reproducer(case, up, us)}")


# --------------------------------------------------------------------------
# Comparing results
# --------------------------------------------------------------------------

#: Keys Glance always renders; absent from an input image they are "present
#: but unknown" (SPEC 6.1), so they are compared only where imspatch wrote them.
GLANCE_RENDERED = frozenset(
    {
        "name",
        "disk_format",
        "container_format",
        "visibility",
        "size",
        "virtual_size",
        "status",
        "checksum",
        "protected",
        "min_ram",
        "min_disk",
        "owner",
        "os_hidden",
        "os_hash_algo",
        "os_hash_value",
        "id",
        "created_at",
        "updated_at",
        "tags",
        "self",
        "file",
        "schema",
    },
)


def same_json(a: Any, b: Any) -> bool:
    """Equality of JSON values that tells ``true`` from ``1`` and ``1`` from ``1.0``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=False))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    return bool(a == b)


def image_differences(
    case: Case,
    upstream: dict[str, Any],
    result: dict[str, Any],
) -> list[str]:
    """Keys on which the two resulting images disagree, described."""
    problems = []
    for key in sorted(set(upstream) | set(result)):
        if key == "updated_at":
            continue
        if key not in result:
            if key in GLANCE_RENDERED and key not in case.image:
                continue
            problems.append(f"{key!r}: upstream {upstream[key]!r}, imspatch has no such key")
            continue
        if key not in upstream:
            problems.append(f"{key!r}: imspatch {result[key]!r}, upstream has no such key")
            continue
        mine, theirs = result[key], upstream[key]
        if key == "tags" and isinstance(mine, list) and isinstance(theirs, list):
            if set(mine) != set(theirs) or len(set(mine)) != len(mine):
                problems.append(f"tags: upstream {sorted(theirs)!r}, imspatch {mine!r}")
        elif key not in GLANCE_RENDERED and mine is None and theirs == "":
            continue  # upstream renders a null custom property as ""
        elif not same_json(mine, theirs):
            problems.append(f"{key!r}: upstream {theirs!r}, imspatch {mine!r}")
    return problems


class Divergence(AssertionError):
    """imspatch and upstream Glance disagree (subclassed per status pair)."""


_divergence_kinds: dict[str, type[Divergence]] = {}


def divergence(kind: str) -> type[Divergence]:
    """One exception class per kind, so Hypothesis reports each kind separately."""
    if kind not in _divergence_kinds:
        _divergence_kinds[kind] = type(f"Divergence_{kind}", (Divergence,), {})
    return _divergence_kinds[kind]


def reproducer(case: Case, up: Outcome, us: Outcome) -> str:
    return "\n".join(
        [
            f"media type: {case.media_type!r}",
            f"body:       {case.body!r}",
            f"admin:      {case.admin}",
            f"image:      {json.dumps(case.image, ensure_ascii=False)}",
            f"upstream:   {up.status} {up.message[:300]}",
            f"imspatch:   {us.status} {us.code or ''} {us.message[:300]}",
        ],
    )


def compare(case: Case, up: Outcome, us: Outcome, phantom: frozenset[str]) -> str:
    """Raise a ``Divergence`` unless the answers agree; say how the case ended."""
    assert up.status != 0, f"the oracle could not store the generated image: {up.message}"
    reason = excluded(case, up, us, phantom)
    if reason is not None:
        return f"excluded: {reason}"
    if up.status != us.status:
        kind = f"{up.status}_vs_{us.status}"
        raise divergence(kind)(f"status differs\n{reproducer(case, up, us)}")
    if up.status != 200:
        message = message_excluded(case, up, us)
        return f"status {up.status}" + (f", message: {message}" if message else "")
    assert up.image is not None
    assert us.image is not None
    problems = image_differences(case, up.image, us.image)
    if problems:
        raise divergence("image")(
            "resulting images differ:\n  "
            + "\n  ".join(problems)
            + "\n"
            + reproducer(case, up, us),
        )
    return f"status {up.status}"


# --------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------

T = TypeVar("T")


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """Draw from one of *choices*, each with its weight (shrinks to the first)."""
    return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(lambda s: s)


def rarely(percent: int) -> st.SearchStrategy[bool]:
    """True with about *percent* % probability; shrinks (and zero-fills) to False."""
    return st.integers(0, 99).map(lambda n: n >= 100 - percent)


OWNER = "0b1e494e2660441a957313163095fe5c"
IMAGE_IDS = ("33ad552d-1149-471c-8190-ff6776174a00", "2b8e5f0a-7c3d-4e1f-9a6b-0c1d2e3f4a5b")
TIMESTAMP = "2015-12-04T09:45:33Z"
STATUSES = (
    "queued",
    "saving",
    "active",
    "killed",
    "deleted",
    "pending_delete",
    "deactivated",
    "uploading",
    "importing",
)
VISIBILITIES = ("public", "private", "shared", "community")
DISK_FORMATS = (
    "ami",
    "ari",
    "aki",
    "vhd",
    "vhdx",
    "vmdk",
    "raw",
    "qcow2",
    "vdi",
    "iso",
    "ploop",
)
CONTAINER_FORMATS = (
    "ami",
    "ari",
    "aki",
    "bare",
    "ovf",
    "ova",
    "docker",
    "compressed",
)
WRITABLE = (
    "name",
    "visibility",
    "protected",
    "os_hidden",
    "min_ram",
    "min_disk",
    "owner",
    "disk_format",
    "container_format",
    "tags",
)
READ_ONLY = (
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "id",
    "os_hash_algo",
    "os_hash_value",
)
RESERVED = (
    "location",
    "deleted",
    "deleted_at",
    "os_glance",
    "os_glance_",
    "os_glancefoo",
    "os_glance_import_task",
)
OTHER = (
    "locations",
    "stores",
    "image",
    "_status",
    "valid_state_targets",
    "kernel_id",
    "OS_GLANCE_x",
)
IMS_NAMES = (
    "__os_bit",
    "__description",
    "__imagetype",
    "__data_origin",
    "virtual_env_type",
    "hw_firmware_type",
)
CUSTOM = ("foo", "bar", "", "a/b", "a~b", "x y", "\u00fc", "\u200bzw", "x" * 256, "\U0001f600")
#: A few of Glance's proxy artifacts, drawn rarely to keep their predicate honest.
ARTIFACTS = (
    "__abstractmethods__",
    "image_id",
    "member",
    "extra_properties",
    "base",
    "__class__",
    "__doc__",
    "__weakref__",
)
STRING_SAMPLES = (
    "",
    " ",
    "x",
    "bogus",
    "x" * 255,
    "x" * 256,
    "\U0001f600",
    "a\U0001f600",
    "\x00",
    "\u00fc",
)

json_strings = weighted(
    (3, st.text(max_size=6)),
    (2, st.sampled_from(STRING_SAMPLES)),
    (1, st.sampled_from((*VISIBILITIES, *DISK_FORMATS, *CONTAINER_FORMATS, OWNER))),
)
json_numbers = weighted(
    (3, st.integers(-3, 3)),
    (2, st.sampled_from((2**31 - 1, 2**31, -(2**31), 10**20, 1024))),
    (2, st.sampled_from((0.0, -0.0, 1.0, 1.5, -1.0, 1e2, 2.0**31))),
)
json_scalars = st.one_of(st.none(), st.booleans(), json_numbers, json_strings)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=5,
)


@dataclass(frozen=True)
class Raw:
    """JSON text used verbatim: numbers Python would print otherwise, deep nesting."""

    text: str


#: Number texts Python's json would not print (1e400 parses to infinity).
raw_numbers = st.sampled_from(tuple(map(Raw, ("1e400", "-1e400", "-0", "1E2", "10e-1", "5e-324"))))
tag_lists = weighted(
    (6, st.lists(st.sampled_from(("a", "b", "c", "ims", "")), max_size=4)),
    (2, st.lists(json_strings, max_size=3)),
    (1, st.integers(126, 130).map(lambda n: [f"t{i}" for i in range(n)])),
    (1, st.integers(127, 130).map(lambda n: ["dup"] * n)),
)
LIKELY: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(st.none(), json_strings),
    "visibility": st.sampled_from((*VISIBILITIES, "bogus", None)),
    "protected": st.booleans(),
    "os_hidden": st.booleans(),
    "min_ram": json_numbers,
    "min_disk": json_numbers,
    "owner": st.sampled_from((OWNER, "other-project", "", None, "\U0001f600")),
    "disk_format": st.sampled_from((*DISK_FORMATS, None, "bogus")),
    "container_format": st.sampled_from((*CONTAINER_FORMATS, None, "bogus")),
    "tags": tag_lists,
}


def values_for(name: str) -> st.SearchStrategy[Any]:
    """A value for *name*: mostly one that makes sense, sometimes anything."""
    return weighted((16, LIKELY.get(name, json_strings)), (3, json_values), (1, raw_numbers))


def escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


QUIRKY_POINTERS = (
    "/",
    "/ ",
    "///x",
    "/a//b",
    "/      /      ",
    "/ /x",
    "",
    "/tags/0",
    "/tags/-",
    "/locations/0",
    "/locations/-",
    "/locations",
    "/~01",
    "/~10",
)


def pointers(name: str) -> st.SearchStrategy[str]:
    """Pointers Glance decodes to *name*, and near misses (reference 5)."""
    token = escape(name)
    variants = (f"/ {token} ", f"/\t{token}", f"//{token}", f"/{token}\u00a0", f"/\u3000{token}")
    misses = (f"/{token}/", token, f"/{token}/x", f"/{name}", f"/{token}~", f"/{token}~2")
    return weighted(
        (17, st.just(f"/{token}")),
        (1, st.sampled_from(variants)),
        (1, st.sampled_from(misses)),
        (1, st.sampled_from(QUIRKY_POINTERS)),
    )


def names_for(image: dict[str, Any]) -> st.SearchStrategy[str]:
    return weighted(
        (14, st.sampled_from(sorted(set(image) - {*READ_ONLY, *RESERVED}))),
        (12, st.sampled_from(WRITABLE)),
        (8, st.sampled_from((*IMS_NAMES, *CUSTOM))),
        (2, st.sampled_from((*READ_ONLY, *RESERVED, *OTHER))),
        (2, st.text(max_size=5)),
        (1, st.sampled_from(ARTIFACTS)),
    )


Member = tuple[str, Any]


def render(members: list[Member], *, ascii_only: bool) -> str:
    """A JSON object text; *members* may repeat a name (duplicate keys)."""

    def dump(value: Any) -> str:
        return value.text if isinstance(value, Raw) else json.dumps(value, ensure_ascii=ascii_only)

    return "{" + ", ".join(f"{dump(key)}: {dump(value)}" for key, value in members) + "}"


@st.composite
def operation_members(draw: st.DrawFn, image: dict[str, Any], dialect: str) -> list[Member]:
    """One operation object as a member list, in *dialect*'s shape or a broken one."""
    name = draw(names_for(image))
    path: Any = draw(pointers(name))
    if draw(rarely(2)):
        path = draw(st.sampled_from((None, 1, ["/name"], {"a": 1}, True)))
    op = draw(st.sampled_from(OP_KEYS))
    shape = draw(st.sampled_from((dialect,) * 19 + ("v2.1" if dialect == "v2.0" else "v2.0",)))
    members: list[Member]
    if shape == "v2.1":
        op_value: Any = op
        if draw(rarely(3)):
            op_value = draw(st.sampled_from(("test", "move", "ADD", None, ["add"], 1, "")))
        members = [("op", op_value), ("path", path)]
    else:
        members = [(op, path)]
        if draw(rarely(3)):
            members.append((draw(st.sampled_from(OP_KEYS)), path))
    if not draw(rarely(4)):
        members.append(("value", draw(values_for(name))))
    if draw(rarely(2)):  # deep nesting inside the value (SPEC 3)
        depth = draw(st.sampled_from((30, 31, 32, 40, 3000)))
        members = [*members[:2], ("value", Raw("[" * depth + "]" * depth))]
    if draw(rarely(4)):  # members of the other dialect, or none
        other = ("add", "/x") if shape == "v2.1" else ("op", "add")
        members.append(draw(st.sampled_from((("from", "/x"), other))))
    if draw(rarely(2)):  # a duplicate member (SPEC 3)
        members.append(draw(st.sampled_from(members)))
    return draw(st.permutations(members)) if draw(st.booleans()) else members


RAW_BODIES = (
    b"",
    b"  ",
    b"\xef\xbb\xbf[]",
    b"\xff",
    b"[",
    b"[] x",
    b"{}",
    b'"x"',
    b"1",
    b"null",
    b"[1]",
    b"[[]]",
    b'["x"]',
    b"[null]",
    b'[{"op":"add","path":"/foo","value":NaN}]',
    b'[{"op":"remove","path":"/foo","value":Infinity}]',
    b'[{"op":"add","path":"/foo","value":"\\ud800"}]',
    b'[{"op":"add","path":"/\\ud800","value":"x"}]',
    b'[{"op":"remove","path":"/\\udfff"}]',
    b'[{"op":"add","op":"remove","path":"/foo","value":"x"}]',
    b'[{"add":"/a","add":"/b","value":"x"}]',
)


@st.composite
def bodies(draw: st.DrawFn, image: dict[str, Any], dialect: str) -> bytes:
    if draw(rarely(3)):
        return draw(st.sampled_from(RAW_BODIES))
    size = draw(weighted((1, st.just(0)), (12, st.integers(1, 2)), (3, st.integers(3, 4))))
    ops = [draw(operation_members(image, dialect)) for _ in range(size)]
    ascii_only = draw(st.booleans())
    texts = [render(members, ascii_only=ascii_only) for members in ops]
    text = "[" + ", ".join(texts) + "]"
    if draw(rarely(2)):  # not an array of objects
        text = texts[0] if texts else draw(st.sampled_from(("{}", "[1]", '"x"')))
    return text.encode("utf-8")


@st.composite
def media_types(draw: st.DrawFn, dialect: str) -> str | None:
    exact = V20 if dialect == "v2.0" else V21
    return draw(
        weighted(
            (68, st.just(exact)),
            (2, st.sampled_from((f"{exact}; charset=utf-8", f"{exact};", f"{exact} ; q=1"))),
            (2, st.sampled_from((exact.upper(), f" {exact}", f"{exact} ", exact.title()))),
            (2, st.sampled_from((None, "", "application/json", "application/json-patch+json"))),
        ),
    )


PROPERTY_NAMES = weighted(
    (4, st.sampled_from((*IMS_NAMES, "foo", "bar", "stores", "os_glance_x"))),
    (1, st.sampled_from(("", " foo", "a/b", "a~b", "x" * 256, "OS_GLANCE_x", "image"))),
    (3, st.text(alphabet="abcxyz_", min_size=1, max_size=6)),
)
PROPERTY_VALUES: st.SearchStrategy[str | None] = weighted(
    (4, st.text(max_size=6)),
    (2, st.none()),
    (1, st.sampled_from(("", "64", "true", "x" * 300))),
)


@st.composite
def images(draw: st.DrawFn) -> dict[str, Any]:
    """An image in the API's JSON shape, as Glance would render it."""
    image_id = draw(st.sampled_from(IMAGE_IDS))
    image: dict[str, Any] = {
        "id": image_id,
        "name": draw(st.sampled_from(("ims_test", None, "", "x" * 255))),
        "disk_format": draw(st.sampled_from((None, *DISK_FORMATS[:8]))),
        "container_format": draw(st.sampled_from((None, *CONTAINER_FORMATS[:4]))),
        "visibility": draw(st.sampled_from(VISIBILITIES)),
        "size": draw(st.sampled_from((None, 0, 2, 449261568))),
        "virtual_size": draw(st.sampled_from((None, 0, 1073741824))),
        "status": draw(weighted((3, st.just("active")), (3, st.sampled_from(STATUSES)))),
        "checksum": draw(st.sampled_from((None, "99914b932bd37a50b983c5e7c90ae93b"))),
        "protected": draw(st.booleans()),
        "min_ram": draw(st.sampled_from((0, 1024, 2**31 - 1))),
        "min_disk": draw(st.sampled_from((0, 40, 2**31 - 1))),
        "owner": draw(weighted((12, st.just(OWNER)), (2, st.just("other")), (1, st.none()))),
        "os_hidden": draw(st.booleans()),
        "os_hash_algo": draw(st.sampled_from((None, "sha512"))),
        "os_hash_value": draw(st.sampled_from((None, "ab" * 64))),
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "tags": draw(
            weighted(
                (
                    12,
                    st.lists(
                        st.sampled_from(("a", "b", "ims", "x" * 255)), unique=True, max_size=3
                    ),
                ),
                (1, st.integers(126, 128).map(lambda n: [f"t{i}" for i in range(n)])),
            ),
        ),
    }
    properties: dict[str, str | None]
    if draw(rarely(7)):  # at the property quota
        properties = {f"p{i:03}": "v" for i in range(draw(st.integers(126, 129)))}
    else:
        properties = draw(st.dictionaries(PROPERTY_NAMES, PROPERTY_VALUES, max_size=4))
    for key, value in properties.items():
        image.setdefault(key, value)
    if draw(rarely(5)):  # SPEC 8: unchanged 4-byte values are not checked
        image[draw(st.sampled_from(("__os_version", "name", "owner")))] = "Ubuntu \U0001f600"
    if draw(st.booleans()):
        image["self"] = f"/v2/images/{image_id}"
        image["file"] = f"/v2/images/{image_id}/file"
        image["schema"] = "/v2/schemas/image"
    if draw(rarely(25)):  # IMS images carry these DB columns
        image["deleted"] = False
        image["deleted_at"] = None
    if draw(rarely(10)):  # SPEC 6.1: a core attribute missing from the dict
        for key in draw(st.sets(st.sampled_from(("name", "os_hidden", "min_ram", "tags")))):
            image.pop(key, None)
    return image


@st.composite
def cases(draw: st.DrawFn) -> Case:
    image = draw(images())
    dialect = draw(st.sampled_from(("v2.0", "v2.1")))
    return Case(
        media_type=draw(media_types(dialect)),
        body=draw(bodies(image, dialect)),
        image=image,
        admin=draw(st.booleans()),
    )


# --------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------

EXAMPLES = int(os.environ.get(EXAMPLES_ENV, "2000"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=(HealthCheck.too_slow, HealthCheck.data_too_large),
)
@given(case=cases())
def test_imspatch_agrees_with_glance(oracle: Oracle, phantoms: frozenset[str], case: Case) -> None:
    event(compare(case, oracle.patch(case), ours(case), phantoms))


SAMPLE = json.loads(
    (Path(__file__).parents[2] / "examples" / "ims-sample-image.json").read_text("utf-8"),
)


def add(path: str, value: Any) -> dict[str, Any]:
    return {"op": "add", "path": path, "value": value}


def replace(path: str, value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value}


def remove(path: str) -> dict[str, Any]:
    return {"op": "remove", "path": path}


AT_QUOTA = {**SAMPLE, **{f"p{i:03}": "v" for i in range(128 - 15)}}  # the sample has 15
OVER_QUOTA = {**AT_QUOTA, "p999": "v"}
QUEUED = {**SAMPLE, "status": "queued", "disk_format": None, "container_format": None}
PUBLIC = {**SAMPLE, "visibility": "public"}
NULLS = {**SAMPLE, "__data_origin": None, "os_glance_x": None}

#: Corners that random generation reaches rarely: (id, media type, patch, image, admin).
TARGETED = [
    (
        "v20-remove-then-add",
        V20,
        [{"remove": "/__os_bit"}, {"add": "/__os_bit", "value": "x"}],
        SAMPLE,
        False,
    ),
    ("v20-add-then-remove", V20, [{"add": "/n", "value": "x"}, {"remove": "/n"}], SAMPLE, False),
    ("quota-add-new", V21, [add("/new", "x")], AT_QUOTA, False),
    ("quota-replace", V21, [replace("/p000", "y")], OVER_QUOTA, False),
    ("quota-add-existing", V21, [add("/p000", "y")], OVER_QUOTA, False),
    ("quota-remove-add", V21, [remove("/p000"), add("/new", "x")], AT_QUOTA, False),
    (
        "quota-remove-two-add",
        V21,
        [remove("/p000"), remove("/p001"), add("/new", "x")],
        OVER_QUOTA,
        False,
    ),
    ("quota-add-remove-new", V21, [add("/new", "x"), remove("/new")], OVER_QUOTA, False),
    (
        "quota-os-glance-ignored",
        V21,
        [add("/new", "x")],
        {**AT_QUOTA, "p000": None, "os_glance_a": "x"},
        True,
    ),
    ("tags-128", V21, [replace("/tags", [f"t{i}" for i in range(128)])], SAMPLE, False),
    ("tags-129-dups", V21, [replace("/tags", ["t"] * 129)], SAMPLE, False),
    ("tags-dedup", V21, [replace("/tags", ["b", "a", "b"])], SAMPLE, False),
    ("tags-4byte", V21, [replace("/tags", ["\U0001f600"])], SAMPLE, False),
    ("tags-256", V21, [replace("/tags", ["x" * 256])], SAMPLE, False),
    (
        "min-ram-final-value",
        V21,
        [replace("/min_ram", 2**31), replace("/min_ram", 5)],
        SAMPLE,
        False,
    ),
    (
        "min-disk-before-min-ram",
        V21,
        [replace("/min_ram", 2**31), replace("/min_disk", 2**31)],
        SAMPLE,
        False,
    ),
    ("min-ram-float", V21, [replace("/min_ram", 1.0)], SAMPLE, False),
    ("min-ram-neg-float", V21, [replace("/min_ram", -1.0)], SAMPLE, False),
    ("min-ram-neg-zero", V21, [replace("/min_ram", -0.0)], SAMPLE, False),
    (
        "range-and-4byte",
        V21,
        [replace("/min_ram", 2**31), replace("/name", "\U0001f600")],
        SAMPLE,
        False,
    ),
    ("4byte-property-name", V21, [add("/\U0001f600", "x")], SAMPLE, False),
    ("4byte-value-at-quota", V21, [add("/new", "\U0001f600")], AT_QUOTA, False),
    ("owner-admin-empty", V21, [replace("/owner", "")], SAMPLE, True),
    ("owner-admin-null", V21, [replace("/owner", None)], SAMPLE, True),
    ("owner-admin-add", V21, [add("/owner", "other")], SAMPLE, True),
    ("owner-v20-add-admin", V20, [{"add": "/owner", "value": "other"}], SAMPLE, True),
    (
        "formats-queued",
        V21,
        [replace("/disk_format", "raw"), replace("/container_format", None)],
        QUEUED,
        False,
    ),
    (
        "formats-importing",
        V21,
        [replace("/disk_format", "raw")],
        {**SAMPLE, "status": "importing"},
        False,
    ),
    ("formats-v20-add-queued", V20, [{"add": "/disk_format", "value": "raw"}], QUEUED, False),
    ("publicize", V21, [replace("/visibility", "public")], SAMPLE, False),
    ("community-add", V21, [add("/visibility", "community")], PUBLIC, False),
    ("null-property-replace", V21, [replace("/__data_origin", "x")], NULLS, False),
    ("null-property-untouched", V21, [replace("/name", "y")], NULLS, False),
    ("null-property-remove", V21, [remove("/__data_origin")], NULLS, False),
    ("empty-name-property", V21, [add("/", "x")], SAMPLE, False),
    ("stores-property", V21, [add("/stores", "x")], SAMPLE, False),
    ("name-255", V21, [replace("/name", "x" * 255)], SAMPLE, False),
    ("name-256", V21, [replace("/name", "x" * 256)], SAMPLE, False),
    ("name-null", V21, [replace("/name", None)], SAMPLE, False),
    ("protected-image-rename", V21, [replace("/name", "y")], {**SAMPLE, "protected": True}, False),
    ("deleted-status-rename", V21, [replace("/name", "y")], {**SAMPLE, "status": "deleted"}, False),
    (
        "missing-core-replace",
        V21,
        [replace("/os_hidden", True)],
        {k: v for k, v in SAMPLE.items() if k != "os_hidden"},
        False,
    ),
    (
        "missing-core-v20-add",
        V20,
        [{"add": "/min_ram", "value": 1}],
        {k: v for k, v in SAMPLE.items() if k != "min_ram"},
        False,
    ),
    (
        "missing-core-remove",
        V21,
        [remove("/tags")],
        {k: v for k, v in SAMPLE.items() if k != "tags"},
        False,
    ),
    ("parse-beats-apply", V21, [remove("/missing"), replace("/x", 1)], SAMPLE, False),
    ("whitespace-pointer", V21, [replace("/ name\t", "y")], SAMPLE, False),
    ("nbsp-pointer", V21, [replace("/\u00a0name", "y")], SAMPLE, False),
    ("zwsp-not-stripped", V21, [replace("/\u200bname", "y")], SAMPLE, False),
    ("double-slash", V21, [replace("//name", "y")], SAMPLE, False),
    ("escapes", V21, [add("/a~1b~0c", "y"), add("/~01", "z")], SAMPLE, False),
]

#: Refusals whose text must be upstream's exactly (issue 14, item 4).
MESSAGE_TARGETED = [
    ("pointer-backticks", V21, [remove("/a~1b/")], SAMPLE, False),
    ("invalid-op-repr", V21, [{"op": ["add"], "path": "/x"}], SAMPLE, False),
    ("enum-repr", V21, [replace("/visibility", "bogus")], SAMPLE, False),
    ("nested-value-repr", V21, [add("/k", {"a": [1.5, "\u00e9", None, True]})], SAMPLE, False),
    ("control-value-repr", V21, [replace("/protected", "x\x01y")], SAMPLE, False),
    ("4byte-empty-name", V21, [add("/", "\U0001f600")], SAMPLE, False),
    ("tags-last-bad-item", V21, [replace("/tags", ["x" * 256, 1, True])], SAMPLE, False),
    ("location-nearest-error", V21, [replace("/locations", [1, {"url": 1}])], SAMPLE, True),
    (
        "location-extra-members",
        V21,
        [add("/locations/-", {"url": "x", "metadata": {}, "validation_data": {"z": 1, "a": 2}})],
        SAMPLE,
        True,
    ),
]

#: Bodies whose refusal text must be upstream's (SPEC 3; issue 14, item 4).
RAW_MESSAGES = (
    b"",
    b" \n\t",
    b"[] x",
    b"[",
    b"\xef\xbb\xbf[]",
    b"[\xff]",
    b"[" + b"1" * 5000 + b"]",
)


@pytest.mark.parametrize(
    ("media_type", "patch", "image", "admin"),
    [pytest.param(*rest, id=name) for name, *rest in TARGETED],
)
def test_targeted_cases_agree(
    oracle: Oracle,
    phantoms: frozenset[str],
    media_type: str,
    patch: list[Any],
    image: dict[str, Any],
    admin: bool,
) -> None:
    case = Case(media_type, json.dumps(patch).encode(), image, admin)
    compare(case, oracle.patch(case), ours(case), phantoms)


@pytest.mark.parametrize(
    ("media_type", "patch", "image", "admin"),
    [pytest.param(*rest, id=name) for name, *rest in MESSAGE_TARGETED],
)
def test_refusals_say_what_upstream_says(
    oracle: Oracle,
    phantoms: frozenset[str],
    media_type: str,
    patch: list[Any],
    image: dict[str, Any],
    admin: bool,
) -> None:
    case = Case(media_type, json.dumps(patch).encode(), image, admin)
    up, us = oracle.patch(case), ours(case)
    assert us.status == up.status == 400
    assert us.message.strip() == first_line(upstream_detail(up.message))


@pytest.mark.parametrize("body", RAW_MESSAGES)
def test_body_refusals_say_what_upstream_says(oracle: Oracle, body: bytes) -> None:
    case = Case(V21, body, SAMPLE, admin=False)
    up, us = oracle.patch(case), ours(case)
    assert us.status == up.status == 400
    assert us.message == upstream_detail(up.message)


#: Facts of reference/glance-behaviour.md that the oracle must reproduce: if
#: one fails, the oracle (not imspatch) is wrong or Glance changed.
KNOWN = [
    (V21, [{"op": "replace", "path": "/id", "value": "x"}], False, 403),
    (V21, [{"op": "remove", "path": "/ os_glance_x"}], False, 403),
    (V20, [{"add": "/name", "value": "x"}], False, 409),
    (V20, [{"add": "/__os_bit", "value": "x"}], False, 409),
    (V21, [{"op": "add", "path": "/__os_bit", "value": "x"}], False, 200),
    (V21, [{"op": "replace", "path": "/missing", "value": "x"}], False, 409),
    (V21, [{"op": "remove", "path": "/name"}], False, 403),
    (V21, [{"op": "replace", "path": "/tags", "value": ["x"] * 129}], False, 413),
    (V21, [{"op": "replace", "path": "/min_ram", "value": -1}], False, 400),
    (V21, [{"op": "replace", "path": "/min_ram", "value": 2**31}], False, 400),
    (
        V21,
        [
            {"op": "replace", "path": "/min_ram", "value": 2**31},
            {"op": "replace", "path": "/min_ram", "value": 5},
        ],
        False,
        200,
    ),
    (V21, [{"op": "replace", "path": "/name", "value": "\U0001f600"}], False, 400),
    (V21, [{"op": "replace", "path": "/owner", "value": "x"}], False, 403),
    (V21, [{"op": "replace", "path": "/owner", "value": "x"}], True, 200),
    (V21, [{"op": "replace", "path": "/disk_format", "value": "raw"}], True, 403),
    (V20, [{"add": "/disk_format", "value": "raw"}], True, 409),
    (V21, [{"op": "replace", "path": "/image_id", "value": "x"}], False, 404),
    (V21, [{"op": "replace", "path": "/base", "value": "x"}], False, 500),
    (V21, [{"op": "add", "path": "/foo", "value": 1}], False, 400),
    (V21, [{"op": "replace", "path": "/locations", "value": []}], False, 403),
    (
        V21,
        [{"op": "add", "path": "/locations/-", "value": {"url": "x", "metadata": {}}}],
        True,
        403,
    ),
    (
        V21,
        [{"op": "remove", "path": "/missing"}, {"op": "replace", "path": "/id", "value": 1}],
        False,
        403,
    ),
    (V21, [], False, 200),
    ("application/json", [], False, 415),
    (V21.upper(), [], False, 415),
    (f"{V21}; charset=utf-8", [], False, 200),
]


@pytest.mark.parametrize(("media_type", "patch", "admin", "status"), KNOWN)
def test_oracle_reproduces_reference(
    oracle: Oracle,
    media_type: str,
    patch: list[Any],
    admin: bool,
    status: int,
) -> None:
    case = Case(media_type, json.dumps(patch).encode(), SAMPLE, admin)
    assert oracle.patch(case).status == status


def test_oracle_raw_bodies(oracle: Oracle) -> None:
    statuses = {
        raw: oracle.patch(Case(V21, raw, SAMPLE, admin=False)).status
        for raw in (b"", b"\xef\xbb\xbf[]", b"{}", b"1", b"[1]", b"[" * 5000)
    }
    assert statuses == {
        b"": 400,
        b"\xef\xbb\xbf[]": 400,
        b"{}": 400,
        b"1": 400,
        b"[1]": 400,
        b"[" * 5000: 500,
    }


def test_oracle_renders_null_property_as_empty_string(oracle: Oracle) -> None:
    image = {**SAMPLE, "tags": ["b", "a"]}
    outcome = oracle.patch(
        Case(V21, b'[{"op":"replace","path":"/name","value":"y"}]', image, False)
    )
    assert outcome.status == 200
    assert outcome.image is not None
    assert outcome.image["__data_origin"] == ""
    assert outcome.image["name"] == "y"
    assert sorted(outcome.image["tags"]) == ["a", "b"]
    assert outcome.image["deleted"] is False
    assert outcome.image["self"] == SAMPLE["self"]


def test_every_phantom_name_agrees(oracle: Oracle, phantoms: frozenset[str]) -> None:
    """remove, v2.0 add, v2.1 add and replace of each name hasattr() finds upstream."""
    divergences = []
    for name in sorted(phantoms):
        path = "/" + escape(name)
        for media_type, patch in (
            (V21, [remove(path)]),
            (V20, [{"add": path, "value": "x"}]),
            (V21, [add(path, "x")]),
            (V21, [replace(path, "x")]),
        ):
            case = Case(media_type, json.dumps(patch).encode(), SAMPLE, admin=False)
            try:
                compare(case, oracle.patch(case), ours(case), phantoms)
            except Divergence as exc:
                divergences.append(str(exc).splitlines()[0] + f": {name!r} {patch}")
    assert not divergences, "\n".join(divergences)


#: The non-dunder artifacts of reference 8 (dunders depend on the Python version).
ARTIFACT_NAMES = frozenset(
    {
        "image_id",
        "member",
        "extra_properties",
        "base",
        "helper",
        "context",
        "notifier",
        "repo",
        "delete",
        "deactivate",
        "reactivate",
        "get_data",
        "set_data",
        "get_payload",
        "get_super_class",
        "send_notification",
        "_format_image_send",
        "_format_import_properties",
        "_get_chunk_data_iterator",
        "_abc_impl",
    },
)


def test_phantom_names_are_as_documented(phantoms: frozenset[str]) -> None:
    dunders = {name for name in phantoms if name.startswith("__") and name.endswith("__")}
    assert phantoms - dunders == ARTIFACT_NAMES
    assert {"__class__", "__dict__", "__doc__", "__init__", "__weakref__"} <= dunders
