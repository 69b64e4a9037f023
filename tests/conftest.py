"""Shared fixtures and helpers; hypothesis profiles "dev" (default) and "ci"."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import imspatch
from imspatch import PatchError

from . import both_ways

settings.register_profile(
    "dev", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# CI must be reproducible: the "ci" profile searches more, from a fixed seed.
settings.register_profile(
    "ci",
    max_examples=600,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# A standalone fuzzing script, not a test module (its import needs atheris).
collect_ignore = ["fuzz/atheris_harness.py"]


@pytest.fixture(autouse=True, scope="session")
def _fast_and_general_paths_agree() -> Any:
    """Every patch_image of the suite runs with the fast path off and on (tests/both_ways.py)."""
    both_ways.install()
    yield
    both_ways.uninstall()


ROOT = Path(__file__).resolve().parent.parent
V20 = "application/openstack-images-v2.0-json-patch"
V21 = "application/openstack-images-v2.1-json-patch"
SAMPLE: dict[str, Any] = json.loads((ROOT / "examples" / "ims-sample-image.json").read_text())


def load_file(name: str, path: Path) -> ModuleType:
    """Import a script that is not a package module (examples/, benchmarks/), once."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def image(**changes: Any) -> dict[str, Any]:
    """The IMS sample image with *changes* (a value of ... deletes the key)."""
    result = dict(SAMPLE)
    for key, value in changes.items():
        if value is ...:
            del result[key]
        else:
            result[key] = value
    return result


def r(path: str, value: Any) -> dict[str, Any]:
    """A v2.1 replace operation."""
    return {"op": "replace", "path": path, "value": value}


def a(path: str, value: Any) -> dict[str, Any]:
    """A v2.1 add operation."""
    return {"op": "add", "path": path, "value": value}


def rm(path: str) -> dict[str, Any]:
    """A v2.1 remove operation."""
    return {"op": "remove", "path": path}


def body(*ops: dict[str, Any]) -> bytes:
    return json.dumps(list(ops)).encode()


def ok(
    ops: Any,
    img: dict[str, Any] | None = None,
    *,
    media_type: str = V21,
    rules: imspatch.Rules = imspatch.IMS,
    admin: bool = False,
) -> dict[str, Any]:
    """Apply and return the result, checking the input was not mutated."""
    img = SAMPLE if img is None else img
    before = json.dumps(img)
    data = ops if isinstance(ops, (bytes, str)) else body(*ops)
    result = imspatch.patch_image(img, data, media_type=media_type, rules=rules, admin=admin)
    assert json.dumps(img) == before
    return result


def err(
    ops: Any,
    img: dict[str, Any] | None = None,
    *,
    media_type: str | None = V21,
    rules: imspatch.Rules = imspatch.IMS,
    admin: bool = False,
) -> PatchError:
    """Apply, expecting exactly one PatchError, and return it."""
    img = SAMPLE if img is None else img
    data = ops if isinstance(ops, (bytes, str)) else body(*ops)
    with pytest.raises(PatchError) as info:
        imspatch.patch_image(img, data, media_type=media_type, rules=rules, admin=admin)
    return info.value


def where(e: PatchError) -> tuple[type, int, str, int | None, str | None]:
    return type(e), e.status, e.code, e.index, e.pointer
