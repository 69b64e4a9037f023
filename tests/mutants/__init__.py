"""Systems under test that are the engine with one plausible bug each (issue 13).

Each mutant is what a careful implementer could get wrong: a limit off by
one on either side, a name class forgotten, the two dialects' ``add``
confused, a missing property ignored, a change kept from a failed request,
errors found in the wrong order, lax JSON, pointers decoded loosely, media
types matched too strictly or too loosely, the wrong status, keys lost or
altered on success.  They use only the public API: derived rule sets and
limits, and rewriting the request or the answer around ``patch_image``.

``tests/mutants/test_mutants.py`` asserts that a default ``conformance.check``
catches every one of them.
"""

from __future__ import annotations

import json
import math
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import imspatch
from imspatch import DEFAULT_LIMITS, GLANCE, IMS, Limits, PatchError, Rules
from imspatch.rules import Kind

Answer = tuple[int, dict[str, Any]]
Handler = Callable[[str | None, bytes, dict[str, Any]], Answer]
V20 = "application/openstack-images-v2.0-json-patch"
V21 = "application/openstack-images-v2.1-json-patch"


@dataclass(frozen=True)
class Mutant:
    """A system under test, the settings it claims to implement, and its bug."""

    name: str
    kind: str
    rules: Rules
    admin: bool
    sut: Handler

    def __repr__(self) -> str:
        return self.name


MUTANTS: list[Mutant] = []


def mutant(kind: str, rules: Rules = IMS, admin: bool = False) -> Callable[[Handler], Handler]:
    """Register the decorated handler as a mutant of *kind* claiming *rules*."""

    def register(handler: Handler) -> Handler:
        MUTANTS.append(Mutant(handler.__name__, kind, rules, admin, handler))
        return handler

    return register


def engine(
    media_type: str | None,
    body: bytes | list[Any],
    image: dict[str, Any],
    *,
    rules: Rules = IMS,
    admin: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Answer:
    """The correct engine as a handler (the image unchanged on an error)."""
    try:
        return 200, imspatch.patch_image(
            image, body, media_type=media_type, rules=rules, admin=admin, limits=limits
        )
    except PatchError as e:
        return e.status, image


def engine_error(
    media_type: str | None, body: Any, image: dict[str, Any], rules: Rules = IMS
) -> PatchError | None:
    try:
        imspatch.patch_image(image, body, media_type=media_type, rules=rules)
    except PatchError as e:
        return e
    return None


class _Strict(Exception):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len({k for k, _ in pairs}) != len(pairs):
        raise _Strict
    return dict(pairs)


def _no_constant(_: str) -> Any:
    raise _Strict


def strict_ops(body: bytes) -> list[Any] | None:
    """The operations of a well-formed body (strict JSON, an array), else None."""
    try:
        doc = json.loads(
            body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except (_Strict, ValueError, RecursionError):
        return None
    if not isinstance(doc, list) or "\\ud" in body.decode("utf-8").lower():
        return None  # lone surrogates are the engine's to refuse
    return doc


def rewritten(body: bytes, change: Callable[[dict[str, Any]], dict[str, Any]]) -> bytes:
    """*body* with *change* applied to each operation object (a malformed body as is)."""
    ops = strict_ops(body)
    if ops is None:
        return body
    return json.dumps([change(op) if isinstance(op, dict) else op for op in ops]).encode()


def path_of(op: Any) -> Any:
    if not isinstance(op, dict):
        return None
    if "path" in op:
        return op["path"]
    for verb in ("add", "remove", "replace"):
        if verb in op:
            return op[verb]
    return None


def with_path(op: dict[str, Any], change: Callable[[str], str]) -> dict[str, Any]:
    key = (
        "path" if "path" in op else next((v for v in ("add", "remove", "replace") if v in op), None)
    )
    if key is None or not isinstance(op[key], str):
        return op
    return {**op, key: change(op[key])}


def field(rules: Rules, name: str, **changes: Any) -> Rules:
    """*rules* with the value rule of *name* changed."""
    return rules.replace(fields={**rules.fields, name: rules.fields[name].replace(**changes)})


def rules_mutant(kind: str, name: str, rules: Rules, claimed: Rules = IMS) -> None:
    """A mutant that implements *rules* while claiming *claimed*."""

    def handler(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
        return engine(media_type, body, image, rules=rules)

    handler.__name__ = name
    mutant(kind, claimed)(handler)


def limits_mutant(name: str, **changes: int) -> None:
    limits = DEFAULT_LIMITS.replace(**changes)

    def handler(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
        return engine(media_type, body, image, limits=limits)

    handler.__name__ = name
    mutant("request limits")(handler)


# --- limits, both sides -------------------------------------------------------------------

rules_mutant("limits", "ims_name_max_127", field(IMS, "name", max_length=127))
rules_mutant("limits", "ims_name_max_129", field(IMS, "name", max_length=129))
rules_mutant("limits", "ims_description_max_1023", field(IMS, "__description", max_length=1023))
rules_mutant("limits", "ims_description_max_1025", field(IMS, "__description", max_length=1025))
rules_mutant("limits", "ims_property_quota_127", IMS.replace(property_quota=127))
rules_mutant("limits", "ims_property_quota_129", IMS.replace(property_quota=129))
rules_mutant("limits", "ims_property_name_max_254", IMS.replace(max_name_length=254))
rules_mutant("limits", "ims_property_name_max_256", IMS.replace(max_name_length=256))
rules_mutant("limits", "glance_tag_quota_127", GLANCE.replace(tag_quota=127), GLANCE)
rules_mutant("limits", "glance_tag_quota_129", GLANCE.replace(tag_quota=129), GLANCE)
rules_mutant("limits", "glance_name_max_254", field(GLANCE, "name", max_length=254), GLANCE)
rules_mutant(
    "limits",
    "glance_tag_length_256",
    field(GLANCE, "tags", items=GLANCE.fields["tags"].items.replace(max_length=256)),  # type: ignore[union-attr]
    GLANCE,
)
rules_mutant("limits", "glance_negative_allowed", GLANCE.replace(non_negative=frozenset()), GLANCE)
rules_mutant("limits", "glance_no_int32_limit", GLANCE.replace(int32=()), GLANCE)
limits_mutant("max_depth_31", max_depth=31)
limits_mutant("max_depth_33", max_depth=33)
limits_mutant("max_operations_99999", max_operations=99_999)
limits_mutant("max_body_bytes_minus_1", max_body_bytes=DEFAULT_LIMITS.max_body_bytes - 1)
limits_mutant("max_string_length_plus_1", max_string_length=DEFAULT_LIMITS.max_string_length + 1)
limits_mutant("max_members_999", max_members=999)
limits_mutant("max_pointer_length_4095", max_pointer_length=4095)


@mutant("limits", GLANCE)
def glance_int32_limit_minus_1(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """min_ram of 2147483647 refused: the check is >= rather than >."""
    status, after = engine(media_type, body, image, rules=GLANCE)
    if status == 200 and any(
        after.get(n) == 2**31 - 1 and image.get(n) != 2**31 - 1 for n in GLANCE.int32
    ):
        return 400, image
    return status, after


@mutant("limits", GLANCE)
def glance_zero_refused(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """min_ram 0 refused as "not positive"."""
    ops = strict_ops(body) or []
    for op in ops:
        path = path_of(op)
        name = path.strip("/ ") if isinstance(path, str) else None
        zero = name in GLANCE.non_negative and isinstance(op, dict) and op.get("value") == 0
        if zero and engine_error(media_type, body, image, GLANCE) is None:
            return 400, image
    return engine(media_type, body, image, rules=GLANCE)


# --- name classes ---------------------------------------------------------------------------

rules_mutant(
    "name classes",
    "ims_visibility_writable",
    IMS.replace(writable=IMS.writable | {"visibility"}),  # type: ignore[operator]
)
rules_mutant("name classes", "ims_vendor_prefix_unprotected", IMS.replace(vendor_prefixes=()))
rules_mutant(
    "name classes",
    "ims_hw_firmware_type_unprotected",
    IMS.replace(vendor_attributes=IMS.vendor_attributes - {"hw_firmware_type"}),
)
rules_mutant("name classes", "ims_description_protected", IMS.replace(writable=frozenset({"name"})))
rules_mutant(
    "name classes",
    "glance_os_hash_value_writable",
    GLANCE.replace(read_only=GLANCE.read_only - {"os_hash_value"}),
    GLANCE,
)
rules_mutant(
    "name classes",
    "glance_os_glance_exact_only",
    GLANCE.replace(reserved_prefixes=(), reserved=GLANCE.reserved | {"os_glance"}),
    GLANCE,
)
rules_mutant(
    "name classes",
    "glance_deleted_at_not_reserved",
    GLANCE.replace(reserved=GLANCE.reserved - {"deleted_at"}),
    GLANCE,
)
rules_mutant(
    "name classes",
    "glance_phantoms_are_properties",
    GLANCE.replace(phantoms=frozenset(), unsettable=frozenset()),
    GLANCE,
)


@mutant("name classes")
def reserved_prefix_case_insensitive(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """OS_GLANCE_x refused as reserved: the prefix compared without case."""
    for op in strict_ops(body) or []:
        path = path_of(op)
        if isinstance(path, str) and path.strip("/ ").lower().startswith("os_glance"):
            return 403, image
    return engine(media_type, body, image)


@mutant("name classes")
def remove_of_protected_absent_is_409(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """Existence checked before protection on remove: remove of an absent __x is 409."""
    error = engine_error(media_type, body, image)
    if error is not None and error.code == "protected" and error.pointer is not None:
        ops = strict_ops(body) or []
        index = error.index if error.index is not None and error.index < len(ops) else None
        op = None if index is None else ops[index]
        removes = isinstance(op, dict) and (op.get("op") == "remove" or "remove" in op)
        if error.pointer.strip("/ ") not in image and removes:
            return 409, image
    return engine(media_type, body, image)


# --- v2.0 / v2.1 add, existence ----------------------------------------------------------


@mutant("dialects")
def v20_add_overwrites(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """v2.0 add of an existing name overwrites it, as v2.1 add does."""
    if media_type != V20:
        return engine(media_type, body, image)
    ops = strict_ops(body)
    if ops is None or not all(
        isinstance(op, dict) and len({"add", "remove", "replace"} & set(op)) == 1 for op in ops
    ):
        return engine(media_type, body, image)
    converted = []
    for op in ops:
        verb = next(v for v in ("add", "remove", "replace") if v in op)
        rest = {k: v for k, v in op.items() if k != verb}
        converted.append({"op": verb, "path": op[verb], **rest})
    return engine(V21, json.dumps(converted).encode(), image)


@mutant("dialects")
def v21_add_conflicts(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """v2.1 add of an existing name is 409, as v2.0 add is."""
    if media_type != V21:
        return engine(media_type, body, image)
    error = engine_error(media_type, body, image)
    if error is not None:
        return engine(media_type, body, image)
    for op in strict_ops(body) or []:
        if isinstance(op, dict) and op.get("op") == "add":
            name = str(op.get("path", "")).strip("/ ")
            if name in image and IMS.info(name).kind is Kind.EXTRA:
                return 409, image
    return engine(media_type, body, image)


@mutant("existence")
def remove_missing_ignored(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """remove of a missing property succeeds (it is gone either way)."""
    for _ in range(20):
        error = engine_error(media_type, body, image)
        ops = strict_ops(body)
        if error is None or error.code != "no_such_property" or ops is None:
            break
        op = ops[error.index or 0]
        if not (isinstance(op, dict) and (op.get("op") == "remove" or "remove" in op)):
            break
        body = json.dumps(ops[: error.index] + ops[(error.index or 0) + 1 :]).encode()
    return engine(media_type, body, image)


@mutant("existence")
def replace_missing_creates(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """replace of a missing property creates it."""
    for _ in range(20):
        error = engine_error(media_type, body, image)
        ops = strict_ops(body)
        if error is None or error.code != "no_such_property" or ops is None:
            break
        op = ops[error.index or 0]
        if media_type == V20 and isinstance(op, dict) and "replace" in op:
            op = {"add": op.pop("replace"), **op}
        elif isinstance(op, dict) and op.get("op") == "replace":
            op = {**op, "op": "add"}
        else:
            break
        ops[error.index or 0] = op
        body = json.dumps(ops).encode()
    return engine(media_type, body, image)


@mutant("existence")
def v20_existence_against_the_original(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """v2.0 add checks existence in the stored image, not as earlier operations left it."""
    status, after = engine(media_type, body, image)
    if media_type != V20 or status != 200:
        return status, after
    for op in strict_ops(body) or []:
        if (
            isinstance(op, dict)
            and isinstance(op.get("add"), str)
            and op["add"].strip("/ ") in image
        ):
            return 409, image
    return status, after


# --- atomicity, precedence -------------------------------------------------------------------


def _prefix_result(media_type: str | None, body: bytes, image: dict[str, Any], index: int) -> Any:
    ops = strict_ops(body)
    if ops is None:
        return image
    status, after = engine(media_type, json.dumps(ops[:index]).encode(), image)
    return after if status == 200 else image


@mutant("atomicity")
def keeps_changes_before_an_apply_error(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """The operations before the one that failed in the apply phase stay applied."""
    error = engine_error(media_type, body, image)
    if error is None or error.index is None or error.status not in (403, 409):
        return engine(media_type, body, image)
    return error.status, _prefix_result(media_type, body, image, error.index)


@mutant("atomicity")
def keeps_changes_after_a_finishing_error(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """A finishing error (quota, range, 4-byte) comes after the changes were saved."""
    error = engine_error(media_type, body, image)
    if error is None or error.code not in (
        "too_many_properties",
        "out_of_range",
        "four_byte_unicode",
    ):
        return engine(media_type, body, image)
    ops = strict_ops(body) or []
    return error.status, _prefix_result(media_type, body, image, len(ops) - 1)


@mutant("precedence")
def one_operation_at_a_time(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """Each operation is parsed and applied before the next is read."""
    ops = strict_ops(body)
    if ops is None or not ops:
        return engine(media_type, body, image)
    state = image
    for op in ops:
        status, state = engine(media_type, json.dumps([op]).encode(), state)
        if status != 200:
            return status, image
    return 200, state


@mutant("precedence")
def ims_protection_before_values(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """A protected attribute is refused (403) before its value is checked (400)."""
    error = engine_error(media_type, body, image)
    if error is not None and error.status == 400 and error.pointer is not None:
        name = error.pointer.strip("/ ")
        if IMS.info(name).protected and error.code not in ("missing_value", "invalid_path"):
            return 403, image
    return engine(media_type, body, image)


@mutant("precedence")
def quota_checked_per_operation(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """The property quota is checked after each operation, not on the final count."""
    ops = strict_ops(body)
    status, after = engine(media_type, body, image)
    if ops is None or status != 200:
        return status, after
    unlimited = IMS.replace(property_quota=-1)
    for k in range(1, len(ops) + 1):
        partial, state = engine(media_type, json.dumps(ops[:k]).encode(), image, rules=unlimited)
        if partial == 200 and sum(IMS.is_counted(n) for n in state) > IMS.property_quota:
            return 413, image
    return status, after


@mutant("precedence")
def quota_checked_without_new_names(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """The property quota is checked on every change, even when no name is new."""
    status, after = engine(media_type, body, image)
    if (
        status == 200
        and after != image
        and sum(IMS.is_counted(n) for n in after) > IMS.property_quota
    ):
        return 413, image
    return status, after


# --- lax JSON ----------------------------------------------------------------------------------


def _lax(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"))


@mutant("lax JSON")
def duplicate_members_last_wins(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """json.loads: a repeated member name keeps the last value."""
    try:
        doc = _lax(body)
    except (ValueError, RecursionError):
        return engine(media_type, body, image)
    if strict_ops(body) is None and isinstance(doc, list):
        return engine(media_type, json.dumps(doc).encode(), image)
    return engine(media_type, body, image)


@mutant("lax JSON")
def nan_accepted(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """NaN and Infinity read as numbers (and pass where nothing checks them)."""
    try:
        doc = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (_Strict, ValueError, RecursionError):
        return engine(media_type, body, image)

    def finite(node: Any) -> Any:
        if isinstance(node, float) and not math.isfinite(node):
            return 0.5  # a number nothing that checks types lets through where a string goes
        if isinstance(node, list):
            return [finite(n) for n in node]
        if isinstance(node, dict):
            return {k: finite(v) for k, v in node.items()}
        return node

    return engine(media_type, json.dumps(finite(doc)).encode(), image)


@mutant("lax JSON")
def bom_tolerated(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """A UTF-8 byte order mark is skipped."""
    return engine(media_type, body.removeprefix(b"\xef\xbb\xbf"), image)


@mutant("lax JSON")
def lone_surrogate_accepted(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """ "\\ud800" is taken as a character."""
    return engine(media_type, body.replace(b"\\ud800", b"\\ufffd"), image)


@mutant("lax JSON")
def trailing_garbage_ignored(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """raw_decode: what follows the JSON value is ignored."""
    try:
        doc, _ = json.JSONDecoder().raw_decode(body.decode("utf-8").lstrip())
    except (ValueError, RecursionError):
        return engine(media_type, body, image)
    if isinstance(doc, list) and strict_ops(json.dumps(doc).encode()) is not None:
        return engine(media_type, json.dumps(doc).encode(), image)
    return engine(media_type, body, image)


@mutant("lax JSON")
def empty_body_is_empty_list(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """No body means no operations."""
    return engine(media_type, body if body.strip() else b"[]", image)


@mutant("lax JSON")
def object_body_is_one_operation(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """A single operation object is taken for an array of one."""
    try:
        doc = json.loads(
            body.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant
        )
    except (_Strict, ValueError, RecursionError):
        return engine(media_type, body, image)
    if isinstance(doc, dict):
        return engine(media_type, json.dumps([doc]).encode(), image)
    return engine(media_type, body, image)


# --- pointers ----------------------------------------------------------------------------------


def path_mutant(name: str, change: Callable[[str], str | None]) -> None:
    """A mutant that reads each path as *change* says (None: refuses it, 400)."""

    def handler(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
        ops = strict_ops(body)
        if ops is None:
            return engine(media_type, body, image)
        for op in ops:
            path = path_of(op)
            if isinstance(path, str) and change(path) is None:
                return 400, image
        return engine(
            media_type, rewritten(body, lambda op: with_path(op, lambda p: change(p) or p)), image
        )

    handler.__name__ = name
    mutant("pointers")(handler)


path_mutant("tilde_1_not_unescaped", lambda p: p.replace("~1", "~01"))
path_mutant("tilde_unescaped_in_the_wrong_order", lambda p: p.replace("~01", "~1"))
path_mutant(
    "trailing_slash_tolerated", lambda p: p.rstrip("/") if len(p) > 1 and p.strip("/") else p
)
path_mutant(
    "white_space_in_a_token_refused",
    lambda p: None if any(t != t.strip() for t in p.split("/")[1:]) else p,
)
path_mutant("double_slash_refused", lambda p: None if p.startswith("//") else p)
path_mutant("empty_name_refused", lambda p: None if not p.strip("/ ") and p.startswith("/") else p)
path_mutant("tilde_2_tolerated", lambda p: p.replace("~2", "~02"))


# --- media types -------------------------------------------------------------------------------


def media_mutant(name: str, change: Callable[[str | None], str | None]) -> None:
    def handler(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
        return engine(change(media_type), body, image)

    handler.__name__ = name
    mutant("media types")(handler)


media_mutant("charset_parameter_refused", lambda m: None if m and ";" in m else m)
media_mutant(
    "media_type_case_sensitive",
    lambda m: m if m in (V20, V21) or (m and m.partition(";")[0] in (V20, V21)) else None,
)
media_mutant("missing_media_type_is_v21", lambda m: V21 if m is None else m)
media_mutant("application_json_is_v21", lambda m: V21 if m == "application/json" else m)
media_mutant("v22_is_v21", lambda m: V21 if m and "v2.2" in m else m)


# --- wrong statuses ----------------------------------------------------------------------------


def status_mutant(name: str, wrong: int, right: int, code: str | None = None) -> None:
    def handler(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
        error = engine_error(media_type, body, image)
        if error is not None and error.status == wrong and (code is None or error.code == code):
            return right, image
        return engine(media_type, body, image)

    handler.__name__ = name
    mutant("status codes")(handler)


status_mutant("conflict_is_400", 409, 400)
status_mutant("too_large_is_400", 413, 400)
status_mutant("protected_is_400", 403, 400, "protected")
status_mutant("unsupported_is_400", 415, 400)
status_mutant("read_only_is_400", 403, 400, "read_only")
status_mutant("reserved_is_409", 403, 409, "reserved")
status_mutant("not_removable_is_409", 403, 409, "not_removable")
status_mutant("pointer_error_is_403", 400, 403, "invalid_path")


# --- operation objects ---------------------------------------------------------------------------


def op_mutant(name: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
    """A mutant that reads each operation object as *change* says (None: refuses it, 400)."""

    def handler(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
        ops = strict_ops(body)
        if ops is None:
            return engine(media_type, body, image)
        if any(isinstance(op, dict) and change(op) is None for op in ops):
            return 400, image
        return engine(media_type, rewritten(body, lambda op: change(op) or op), image)

    handler.__name__ = name
    mutant("operation objects")(handler)


op_mutant(
    "missing_value_is_empty_string",
    lambda op: (
        {**op, "value": ""}
        if "value" not in op
        and (op.get("op") in ("add", "replace") or "add" in op or "replace" in op)
        else op
    ),
)
op_mutant(
    "op_case_folded",
    lambda op: {**op, "op": op["op"].lower()} if isinstance(op.get("op"), str) else op,
)
op_mutant(
    "extra_members_refused",
    lambda op: None if set(op) - {"op", "path", "value", "add", "remove", "replace"} else op,
)
op_mutant(
    "value_on_remove_refused",
    lambda op: None if "value" in op and (op.get("op") == "remove" or "remove" in op) else op,
)
op_mutant(
    "op_member_stripped",
    lambda op: {**op, "op": op["op"].strip()} if isinstance(op.get("op"), str) else op,
)


@mutant("operation objects")
def empty_list_refused(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """[] is refused as "no operations"."""
    if strict_ops(body) == []:
        return 400, image
    return engine(media_type, body, image)


# --- IMS protection details --------------------------------------------------------------------


@mutant("protection")
def no_unchanged_value_exemption(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """Any add or replace of a protected attribute is 403, even with its current value."""
    status, after = engine(media_type, body, image)
    if status == 200:
        for op in strict_ops(body) or []:
            path = path_of(op)
            if isinstance(path, str) and IMS.info(path.strip("/ ")).protected:
                return 403, image
    return status, after


@mutant("protection")
def tags_exemption_compares_lists(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """The unchanged-value exemption compares tags as lists: another order is a change."""
    status, after = engine(media_type, body, image)
    if status == 200:
        for op in strict_ops(body) or []:
            if (
                isinstance(op, dict)
                and str(path_of(op)).strip("/ ") == "tags"
                and op.get("value") != image.get("tags")
            ):
                return 403, image
    return status, after


# --- results --------------------------------------------------------------------------------------


def result_mutant(
    name: str, change: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
) -> None:
    def handler(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
        status, after = engine(media_type, body, image)
        return status, change(image, after) if status == 200 else after

    handler.__name__ = name
    mutant("results")(handler)


result_mutant(
    "null_properties_dropped",
    lambda _, a: {k: v for k, v in a.items() if v is not None or k in GLANCE.core},
)
result_mutant(
    "null_properties_rendered_empty",
    lambda _, a: {k: "" if v is None and k not in GLANCE.core else v for k, v in a.items()},
)
result_mutant(
    "values_stripped",
    lambda i, a: {
        k: v.strip() if isinstance(v, str) and i.get(k) != v else v for k, v in a.items()
    },
)
result_mutant(
    "vendor_properties_lost_on_change",
    lambda i, a: (
        a
        if a == i
        else {k: v for k, v in a.items() if not k.startswith("__") or k == "__description"}
    ),
)
result_mutant(
    "empty_values_dropped", lambda i, a: {k: v for k, v in a.items() if v != "" or k in i}
)


@mutant("results", GLANCE)
def glance_tags_not_deduplicated(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """Tags stored as sent, duplicates included."""
    status, after = engine(media_type, body, image, rules=GLANCE)
    if status == 200:
        for op in strict_ops(body) or []:
            if (
                isinstance(op, dict)
                and str(path_of(op)).strip("/ ") == "tags"
                and isinstance(op.get("value"), list)
            ):
                after = {**after, "tags": list(op["value"])}
    return status, after


# --- finishing checks, policy --------------------------------------------------------------------


@mutant("finishing checks")
def four_byte_unchecked(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """4-byte characters are stored."""
    error = engine_error(media_type, body, image)
    if error is not None and error.code == "four_byte_unicode":
        return 200, _apply_anyway(media_type, strict_ops(body) or [], image)
    return engine(media_type, body, image)


def _apply_anyway(media_type: str | None, ops: list[Any], image: dict[str, Any]) -> dict[str, Any]:
    """The result the engine would give without its 4-byte check."""
    result = dict(image)
    for op in imspatch.parse_patch(json.dumps(ops), media_type=media_type):  # type: ignore[arg-type]
        name = op.path.parts[0]
        if isinstance(op, imspatch.Remove):
            result.pop(name, None)
        else:
            result[name] = op.value
    return result


@mutant("finishing checks")
def four_byte_checked_on_unchanged_values(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """Every stored value is checked for 4-byte characters, changed or not."""
    status, after = engine(media_type, body, image)
    if (
        status == 200
        and strict_ops(body)
        and any(isinstance(v, str) and any(ord(c) > 0xFFFF for c in v) for v in after.values())
    ):
        return 400, image
    return status, after


@mutant("policy", GLANCE)
def owner_checked_on_replace_only(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """v2.1 add /owner by a non-admin is let through (upstream's hole)."""
    error = engine_error(media_type, body, image, GLANCE)
    if error is not None and error.code == "owner_admin_only":
        op = (strict_ops(body) or [{}])[error.index or 0]
        if isinstance(op, dict) and op.get("op") == "add":
            return engine(media_type, body, image, rules=GLANCE, admin=True)
    return engine(media_type, body, image, rules=GLANCE)


rules_mutant(
    "policy",
    "glance_formats_on_queued_only",
    GLANCE.replace(status_gated={"disk_format": ("queued",), "container_format": ("queued",)}),
    GLANCE,
)
rules_mutant("policy", "glance_formats_ungated", GLANCE.replace(status_gated={}), GLANCE)
rules_mutant(
    "policy", "glance_owner_not_admin_only", GLANCE.replace(admin_only=frozenset()), GLANCE
)


# --- more of the same kinds: characters, bytes, copies ----------------------------------------

rules_mutant(
    "value rules",
    "ims_name_cjk_up_to_9fa5",  # an older table of CJK ideographs
    field(IMS, "name", pattern=IMS.fields["name"].pattern.replace("9fff", "9fa5")),  # type: ignore[union-attr]
)
rules_mutant(
    "value rules",
    "ims_description_refuses_control_characters",
    field(IMS, "__description", pattern="^[^\\x00-\\x1f<>]*(?![\\s\\S])"),
)


def _written(body: bytes) -> list[tuple[str, Any]]:
    """``(name, value)`` of each add or replace of a well-formed body."""
    found = []
    for op in strict_ops(body) or []:
        path = path_of(op)
        removes = isinstance(op, dict) and (op.get("op") == "remove" or "remove" in op)
        if isinstance(op, dict) and "value" in op and isinstance(path, str) and not removes:
            found.append((path.strip("/ "), op["value"]))
    return found


@mutant("limits")
def ims_name_length_in_bytes(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """The name limit counts UTF-8 bytes: 128 CJK characters are too long."""
    status, after = engine(media_type, body, image)
    for name, value in _written(body):
        if (
            status == 200
            and name == "name"
            and isinstance(value, str)
            and len(value.encode()) > 128
        ):
            return 400, image
    return status, after


@mutant("limits")
def property_name_length_in_bytes(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """The property name limit counts UTF-8 bytes."""
    status, after = engine(media_type, body, image)
    if status == 200 and any(len(n.encode()) > 255 for n, _ in _written(body)):
        return 400, image
    return status, after


@mutant("limits")
def quota_counts_reserved_names(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """The property quota counts os_glance* names too."""
    status, after = engine(media_type, body, image)
    counted = [n for n in after if IMS.is_counted(n) or n.startswith("os_glance")]
    if status == 200 and set(after) - set(image) and len(counted) > IMS.property_quota:
        return 413, image
    return status, after


@mutant("atomicity")
def in_place_apply(media_type: str | None, body: bytes, image: dict[str, Any]) -> Answer:
    """Operations change the stored image one by one; a failure leaves the earlier ones."""
    ops = strict_ops(body)
    if not ops:
        return engine(media_type, body, image)
    for op in ops:
        status, state = engine(media_type, json.dumps([op]).encode(), image)
        if status != 200:
            return status, image  # the caller's dict, changed so far
        image.clear()
        image.update(state)
    return 200, image


path_mutant("percent_decoded_pointers", urllib.parse.unquote)


@mutant("existence")
def v20_add_of_a_core_attribute_missing_from_the_image(
    media_type: str | None, body: bytes, image: dict[str, Any]
) -> Answer:
    """v2.0 add of a core attribute the stored image lacks is taken as new (200)."""
    error = engine_error(media_type, body, image)
    ops = strict_ops(body)
    if media_type == V20 and error is not None and error.code == "already_present" and ops:
        name = str(error.pointer).strip("/ ")
        if name in IMS.core and name not in image:
            op = ops[error.index or 0]
            ops[error.index or 0] = {"op": "add", "path": op["add"], "value": op.get("value")}
            v21 = [
                o if "op" in o else {"op": next(iter(o)), "path": next(iter(o.values())), **o}
                for o in ops
            ]
            return engine(V21, json.dumps(v21).encode(), image)
    return engine(media_type, body, image)
