"""Benchmark data: the images, the patch bodies, and the expected results.

Every workload is a *valid* request under both shipped rule sets and in both
dialects, on every image size, so all engines do the same, successful work:

* the image is the IMS documentation's sample image
  (``examples/ims-sample-image.json``) plus 0 to 10,000 extra custom
  properties ``prop_00000 ...`` (string values);
* ``a`` is one ``replace /name``;
* ``b`` is ten mixed operations on ``name``, ``__description`` and two custom
  properties that are added, replaced and removed again (see ``CYCLE``);
* ``c`` and ``d`` repeat the ``b`` cycle (with fresh values) to 1,000 and
  100,000 operations.

The custom properties a cycle adds are gone again at its end, so the result
never holds a name the input lacked: the property quota (128 by default) is
never triggered, even on an image already far above it, and no rule set has
to be loosened.  The body is the same for every image size, which is what
makes the cost-against-image-size comparison meaningful.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_IMAGE = ROOT / "examples" / "ims-sample-image.json"

#: workload name -> number of operations
WORKLOADS: dict[str, int] = {"a": 1, "b": 10, "c": 1_000, "d": 100_000}
#: ``--quick``: the same shapes, tiny sizes (the smoke test)
QUICK_WORKLOADS: dict[str, int] = {"a": 1, "b": 10, "c": 40, "d": 200}
EXTRAS: tuple[int, ...] = (0, 100, 1_000, 10_000)
QUICK_EXTRAS: tuple[int, ...] = (0, 20)

# Two custom names no image variant holds (the extras are ``prop_NNNNN``).
_K1 = "bench_prop_1"
_K2 = "bench_prop_2"

#: One cycle of ``b``: (op, name, value template or None).  ``{i}`` is the
#: cycle number, so ``c`` and ``d`` write fresh values in every cycle.
CYCLE: tuple[tuple[str, str, str | None], ...] = (
    ("replace", "name", "bench-image-{i}"),
    ("add", _K1, "value-{i}-1"),
    ("replace", "__description", "description {i}"),
    ("replace", _K1, "value-{i}-2"),
    ("add", _K2, "value-{i}-3"),
    ("replace", _K2, "value-{i}-4"),
    ("remove", _K1, None),
    ("replace", "name", "bench-image-{i}-b"),
    ("remove", _K2, None),
    ("replace", "__description", "description {i} final"),
)

MEDIA_TYPES = {
    "v2.0": "application/openstack-images-v2.0-json-patch",
    "v2.1": "application/openstack-images-v2.1-json-patch",
}


def load_imspatch() -> ModuleType:
    """``imspatch``, installed or else from this checkout."""
    try:
        return importlib.import_module("imspatch")
    except ImportError:
        sys.path.insert(0, str(ROOT))
        return importlib.import_module("imspatch")


def load_sample_image() -> dict[str, Any]:
    with SAMPLE_IMAGE.open(encoding="utf-8") as fh:
        image: dict[str, Any] = json.load(fh)
    return image


def make_image(extras: int, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sample image with *extras* extra custom string properties."""
    image = dict(base if base is not None else load_sample_image())
    for i in range(extras):
        image[f"prop_{i:05d}"] = f"value-{i:05d}"
    return image


def operations(workload: str, n_ops: int) -> list[tuple[str, str, str | None]]:
    """The dialect-neutral operations ``(op, name, value)`` of a workload."""
    if workload == "a":
        return [("replace", "name", "test01")][:n_ops]
    if n_ops % len(CYCLE):
        raise ValueError(f"workload {workload}: {n_ops} is not a whole number of cycles")
    ops: list[tuple[str, str, str | None]] = []
    cycle = 0
    while len(ops) < n_ops:
        for op, name, template in CYCLE:
            ops.append((op, name, None if template is None else template.format(i=cycle)))
        cycle += 1
    return ops


def _doc(ops: list[tuple[str, str, str | None]], dialect: str) -> list[dict[str, Any]]:
    doc: list[dict[str, Any]] = []
    for op, name, value in ops:
        path = "/" + name
        item: dict[str, Any] = {op: path} if dialect == "v2.0" else {"op": op, "path": path}
        if value is not None:
            item["value"] = value
        doc.append(item)
    return doc


def body(ops: list[tuple[str, str, str | None]], dialect: str) -> bytes:
    """The request body, as a client sends it (compact UTF-8 JSON)."""
    return json.dumps(_doc(ops, dialect), separators=(",", ":")).encode()


def expected(image: dict[str, Any], ops: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    new = dict(image)
    for op, name, value in ops:
        if op == "remove":
            del new[name]
        else:
            new[name] = value
    return new


@dataclass
class Case:
    """One workload on one image size: everything an engine needs."""

    workload: str
    n_ops: int
    extras: int
    image: dict[str, Any]
    bodies: dict[str, bytes]  # dialect -> body
    result: dict[str, Any]  # the expected new image
    ops: list[tuple[str, str, str | None]] = field(repr=False)

    @property
    def image_keys(self) -> int:
        return len(self.image)


def cases(workloads: dict[str, int], extras: tuple[int, ...]) -> Iterator[Case]:
    base = load_sample_image()
    images = {n: make_image(n, base) for n in extras}
    for workload, n_ops in workloads.items():
        ops = operations(workload, n_ops)
        bodies = {dialect: body(ops, dialect) for dialect in MEDIA_TYPES}
        for n in extras:
            image = images[n]
            yield Case(workload, n_ops, n, image, bodies, expected(image, ops), ops)
