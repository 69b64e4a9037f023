"""The engines under test, each as a factory of a zero-argument callable.

Every callable does the whole request: body bytes in, new image out, the
input image untouched.  Peers that only speak RFC 6902 (v2.1-like) are run on
the equivalent v2.1 body whatever the dialect; their numbers are therefore
shared by both dialects.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workloads import MEDIA_TYPES, ROOT, Case

Run = Callable[[], Any]
Factory = Callable[[Case, str, Any], Run]


@dataclass(frozen=True)
class Engine:
    key: str  # stable id in results.json
    label: str  # shown in tables and plots
    factory: Factory
    dialects: tuple[str, ...]  # bodies it reads natively
    per_rules: bool  # does the result depend on the rule set?
    version: str = ""


# --- the floor: decode, copy, assign; no checks at all --------------------


def _floor(case: Case, dialect: str, rules: Any) -> Run:
    image = case.image
    body = case.bodies[dialect]
    loads = json.loads
    if dialect == "v2.1":

        def run() -> dict[str, Any]:
            new = dict(image)
            for op in loads(body):
                if op["op"] == "remove":
                    del new[op["path"][1:]]
                else:
                    new[op["path"][1:]] = op["value"]
            return new

        return run

    def run20() -> dict[str, Any]:
        new = dict(image)
        for op in loads(body):
            if "replace" in op:
                new[op["replace"][1:]] = op["value"]
            elif "add" in op:
                new[op["add"][1:]] = op["value"]
            else:
                del new[op["remove"][1:]]
        return new

    return run20


# --- imspatch ---------------------------------------------------------------


def _imspatch(case: Case, dialect: str, rules: Any) -> Run:
    patch_image = importlib.import_module("imspatch").patch_image

    image = case.image
    body = case.bodies[dialect]
    media_type = MEDIA_TYPES[dialect]

    def run() -> dict[str, Any]:
        return patch_image(image, body, media_type=media_type, rules=rules)

    return run


# --- python-json-patch and fastjsonpatch (Rust, "the API of jsonpatch") ----


def _rfc6902(module: str, *, in_place: bool) -> Factory:
    """A peer with jsonpatch's ``apply_patch``: on its own deep copy of the
    image, or in place on a shallow one."""

    def factory(case: Case, dialect: str, rules: Any) -> Run:
        apply = importlib.import_module(module).apply_patch
        image = case.image
        body = case.bodies["v2.1"]
        loads = json.loads

        def run_in_place() -> Any:
            return apply(dict(image), loads(body), in_place=True)

        def run_copy() -> Any:
            return apply(image, loads(body))  # deep-copies the image

        return run_in_place if in_place else run_copy

    return factory


def schema_for(rules: Any) -> tuple[dict[str, Any], str]:
    """The rule set's value schema: ``schemas/`` if there, else generated."""
    name = getattr(rules, "name", "ims")
    directory = ROOT / "schemas"
    if directory.is_dir():
        for path in sorted(directory.glob("*.json")):
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(doc, dict) and str(doc.get("$id", "")).endswith(f"/{name}-values.json"):
                return doc, str(Path("schemas") / path.name)
    return rules.value_schema(), f"imspatch.{name.upper()}.value_schema()"


def _jsonpatch_jsonschema(case: Case, dialect: str, rules: Any) -> Run:
    """What a user would assemble: check each written value, then jsonpatch.

    The schema describes "a partial image {name: value} per operation, as
    Glance validates it", so each add/replace is validated as a one-member
    image, then the patch is applied in place on a shallow copy.
    """
    jsonpatch = importlib.import_module("jsonpatch")
    jsonschema = importlib.import_module("jsonschema")

    schema, _ = schema_for(rules)
    validate = jsonschema.Draft202012Validator(schema).validate  # compiled once
    image = case.image
    body = case.bodies["v2.1"]
    loads = json.loads
    apply = jsonpatch.apply_patch

    def run() -> Any:
        ops = loads(body)
        for op in ops:
            if op["op"] != "remove":
                validate({op["path"][1:]: op["value"]})
        return apply(dict(image), ops, in_place=True)

    return run


# --- pyjsonpatch ------------------------------------------------------------


def _pyjsonpatch_inplace(case: Case, dialect: str, rules: Any) -> Run:
    # Its safe mode (mutate=False) deep-copies the document once per
    # operation: quadratic, so only the in-place mode is measured.
    pyjsonpatch = importlib.import_module("pyjsonpatch")

    image = case.image
    body = case.bodies["v2.1"]
    loads = json.loads
    apply = pyjsonpatch.apply_patch

    def run() -> Any:
        return apply(dict(image), loads(body)).obj

    return run


BOTH = ("v2.0", "v2.1")
V21 = ("v2.1",)

#: (engine, modules it needs)
CANDIDATES: tuple[tuple[Engine, tuple[str, ...]], ...] = (
    (Engine("floor", "floor", _floor, BOTH, per_rules=False), ()),
    (Engine("imspatch", "imspatch", _imspatch, BOTH, per_rules=True), ("imspatch",)),
    (
        Engine(
            "jsonpatch_copy",
            "jsonpatch (copy)",
            _rfc6902("jsonpatch", in_place=False),
            V21,
            per_rules=False,
        ),
        ("jsonpatch",),
    ),
    (
        Engine(
            "jsonpatch_inplace",
            "jsonpatch (in place)",
            _rfc6902("jsonpatch", in_place=True),
            V21,
            per_rules=False,
        ),
        ("jsonpatch",),
    ),
    (
        Engine(
            "jsonpatch_jsonschema",
            "jsonpatch + jsonschema",
            _jsonpatch_jsonschema,
            V21,
            per_rules=True,
        ),
        ("jsonpatch", "jsonschema"),
    ),
    (
        Engine(
            "pyjsonpatch_inplace",
            "pyjsonpatch (in place)",
            _pyjsonpatch_inplace,
            V21,
            per_rules=False,
        ),
        ("pyjsonpatch",),
    ),
    (
        Engine(
            "fastjsonpatch_copy",
            "fastjsonpatch (copy)",
            _rfc6902("fastjsonpatch", in_place=False),
            V21,
            per_rules=False,
        ),
        ("fastjsonpatch",),
    ),
    (
        Engine(
            "fastjsonpatch_inplace",
            "fastjsonpatch (in place)",
            _rfc6902("fastjsonpatch", in_place=True),
            V21,
            per_rules=False,
        ),
        ("fastjsonpatch",),
    ),
)

#: what each distribution is called on the package index
_DISTRIBUTIONS = {"imspatch": "imspatch", "pyjsonpatch": "pyjsonpatch"}


def _version(module: str) -> str:
    try:
        return importlib.metadata.version(_DISTRIBUTIONS.get(module, module))
    except importlib.metadata.PackageNotFoundError:
        mod = importlib.import_module(module)
        return str(getattr(mod, "__version__", "?"))


def available(wanted: set[str] | None = None) -> tuple[list[Engine], dict[str, str]]:
    """The engines that can run here, and why the others cannot."""
    engines: list[Engine] = []
    skipped: dict[str, str] = {}
    for engine, modules in CANDIDATES:
        if wanted is not None and engine.key not in wanted:
            continue
        versions: list[str] = []
        try:
            for module in modules:
                importlib.import_module(module)
                versions.append(f"{module} {_version(module)}")
        except ImportError as exc:
            skipped[engine.key] = f"not installed ({exc.name})"
            continue
        engines.append(
            Engine(
                engine.key,
                engine.label,
                engine.factory,
                engine.dialects,
                engine.per_rules,
                ", ".join(versions),
            )
        )
    return engines, skipped
