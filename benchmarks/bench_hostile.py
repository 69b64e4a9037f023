"""Hostile inputs cost time linear in their size (issue 6); stdlib only.

For each case, time ``patch_image`` on sizes n, 2n, 4n, 8n and print the CPU
time per size and the ratio t(8n) / t(n): about 8 for linear cost, 64 for
quadratic.  ``tests/test_hostile.py`` runs the same cases with a generous
bound (ratio < 30).

    python benchmarks/bench_hostile.py            # every case at its full size
    python benchmarks/bench_hostile.py --quick    # n / 8 for a smoke run
    python benchmarks/bench_hostile.py --memory   # also the tracemalloc peak at 8n
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import imspatch
from imspatch import GLANCE, IMS, Limits, PatchError

V20, V21 = sorted(imspatch.MEDIA_TYPES)
UNLIMITED = GLANCE.replace(property_quota=-1)
RAISED = Limits(max_pointer_length=2**24)
IMAGE: dict[str, Any] = {"id": "i", "name": "x", "status": "active", "min_ram": 0, "k": "v"}


class Case(NamedTuple):
    """A body builder for size *n*; *n8* is the full size (the 8n of the series)."""

    name: str
    n8: int
    build: Callable[[int], bytes]
    rules: imspatch.Rules = IMS
    limits: Limits = imspatch.DEFAULT_LIMITS
    media_type: str = V21
    expect: str = "ok"  # "ok" or the error code the case must end with
    #: "patch_image", or "iter_errors" (which reports every operation's error)
    function: str = "patch_image"


def _ops(items: Any) -> bytes:
    return json.dumps(items, separators=(",", ":")).encode()


def _one_key(n: int) -> bytes:
    return _ops([{"op": "replace", "path": "/name", "value": "x"}] * n)


def _new_keys(n: int) -> bytes:
    return _ops([{"op": "add", "path": f"/k{i}", "value": "v"} for i in range(n)])


def _new_keys_v20(n: int) -> bytes:
    return _ops([{"add": f"/k{i}", "value": "v"} for i in range(n)])


def _pointer(n: int) -> bytes:
    return _ops([{"op": "add", "path": "/" + "p" * n, "value": "v"}])


def _value(n: int) -> bytes:
    return _ops([{"op": "add", "path": "/k", "value": "v" * n}])


def _brackets(n: int) -> bytes:
    return b"[" * n + b"]" * n


def _brackets_in_value(n: int) -> bytes:
    return b'[{"op":"remove","path":"/k","value":' + b"[" * n + b"]" * n + b"}]"


def _digits(n: int) -> bytes:
    return b'[{"op":"add","path":"/k","value":' + b"7" * n + b"}]"


def _fraction_digits(n: int) -> bytes:
    return b'[{"op":"add","path":"/k","value":0.' + b"7" * n + b"}]"


def _pointer_escapes(n: int) -> bytes:
    return _ops([{"op": "add", "path": "/" + "~0~1" * (n // 2), "value": "v"}])


def _json_escapes(n: int) -> bytes:
    return b'[{"op":"add","path":"/' + b"\\u00e9" * n + b'","value":"v"}]'


def _value_containers(n: int) -> bytes:
    return b'[{"op":"add","path":"/k","value":[' + b",".join([b"{}"] * n) + b"]}]"


def _members(n: int) -> bytes:
    return _ops([{"op": "add", "path": "/k", "value": {f"m{i}": i for i in range(n)}}])


def _unique_paths_removed(n: int) -> bytes:
    return _ops([{"op": "remove", "path": f"/absent{i}"} for i in range(n)])


def _colons(n: int) -> bytes:  # colons in strings: the duplicate check counts them
    return _ops([{"op": "replace", "path": "/k", "value": "a:b"}] * n)


def _escaped_colons(n: int) -> bytes:  # escaped, they make it scan the text again
    return b"[" + b",".join([b'{"op":"replace","path":"/k","value":"a\\u003ab"}'] * n) + b"]"


def _invalid_ops(n: int) -> bytes:  # an error per operation, every one reported
    return _ops([{"op": "bogus", "path": f"/k{i}"} for i in range(n)])


def _late_duplicate(n: int) -> bytes:
    last = b'{"op":"replace","path":"/k","value":"a","value":"b"}'
    return _ops([{"op": "replace", "path": "/k", "value": "v"}] * (n - 1))[:-1] + b"," + last + b"]"


CASES: tuple[Case, ...] = (
    Case("100k operations on one key", 100_000, _one_key),
    Case("100k new keys (v2.1, quota -1)", 100_000, _new_keys, UNLIMITED),
    Case("100k new keys (v2.0, quota -1)", 100_000, _new_keys_v20, UNLIMITED, media_type=V20),
    Case("1 MB pointer (raised limit)", 1_000_000, _pointer, UNLIMITED, RAISED),
    Case("1 MB pointer (default limit)", 1_000_000, _pointer, expect="pointer_too_long"),
    Case("1 MB value", 1_000_000, _value, UNLIMITED),
    Case("100k nested brackets", 100_000, _brackets, expect="too_deep"),
    Case("100k brackets in a remove's value", 100_000, _brackets_in_value, expect="too_deep"),
    Case("1M-digit integer", 1_000_000, _digits, UNLIMITED, expect="invalid_number"),
    Case("1M-digit fraction", 1_000_000, _fraction_digits, UNLIMITED, expect="invalid_value"),
    Case("100k ~0~1 escapes in a pointer", 100_000, _pointer_escapes, UNLIMITED, RAISED),
    Case("100k \\u escapes in a pointer", 100_000, _json_escapes, UNLIMITED, RAISED),
    Case("500k {} in one value", 500_000, _value_containers, UNLIMITED, expect="invalid_value"),
    Case("1000 members in one value", 1000, _members, UNLIMITED, expect="invalid_value"),
    Case("100k removes of absent keys", 100_000, _unique_paths_removed, expect="no_such_property"),
    Case("100k values with a colon", 100_000, _colons),
    Case("100k values with an escaped colon", 100_000, _escaped_colons),
    Case(
        "a duplicate member after 100k operations",
        100_000,
        _late_duplicate,
        expect="duplicate_member",
    ),
    Case(
        "iter_errors: 100k invalid operations",
        100_000,
        _invalid_ops,
        expect="invalid_op",
        function="iter_errors",
    ),
)


def run_once(case: Case, body: bytes) -> str:
    """One call; the outcome ("ok" or the (first) error code)."""
    if case.function == "iter_errors":
        errors = list(
            imspatch.iter_errors(
                body, media_type=case.media_type, rules=case.rules, limits=case.limits
            )
        )
        return errors[0].code if errors else "ok"
    try:
        imspatch.patch_image(
            IMAGE, body, media_type=case.media_type, rules=case.rules, limits=case.limits
        )
    except PatchError as exc:
        return exc.code
    return "ok"


def cpu_time(case: Case, body: bytes, *, min_total: float = 0.02, batches: int = 3) -> float:
    """CPU seconds per call: the best of *batches*, each repeating until *min_total*."""
    best = float("inf")
    for _ in range(batches):
        calls = 0
        start = time.process_time()
        while True:
            outcome = run_once(case, body)
            calls += 1
            spent = time.process_time() - start
            if spent >= min_total:
                break
        best = min(best, spent / calls)
    if outcome != case.expect:
        msg = f"{case.name}: expected {case.expect}, got {outcome}"
        raise AssertionError(msg)
    return best


def series(case: Case, n8: int | None = None, **timing: Any) -> list[tuple[int, int, float]]:
    """(n, body bytes, CPU seconds per call) for n8/8, n8/4, n8/2, n8."""
    top = n8 or case.n8
    rows = []
    for factor in (8, 4, 2, 1):
        n = top // factor
        body = case.build(n)
        rows.append((n, len(body), cpu_time(case, body, **timing)))
    return rows


def peak_memory(case: Case, n: int) -> tuple[int, int]:
    """(body bytes, tracemalloc peak bytes) of one call at size *n*."""
    body = case.build(n)
    tracemalloc.start()
    try:
        run_once(case, body)
        return len(body), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes divided by 8")
    parser.add_argument("--memory", action="store_true", help="also the tracemalloc peak at 8n")
    parser.add_argument("-k", default="", help="only cases whose name contains this")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, imspatch {imspatch.__version__}; CPU s per call")
    print(f"{'case':38} {'n':>9} {'t(n)':>9} {'t(2n)':>9} {'t(4n)':>9} {'t(8n)':>9} {'8n/n':>6}"
          + ("  peak@8n (x body)" if args.memory else ""))  # fmt: skip
    worst = 0.0
    for case in CASES:
        if args.k not in case.name:
            continue
        top = case.n8 // 8 if args.quick else case.n8
        rows = series(case, top)
        ratio = rows[-1][2] / rows[0][2]
        worst = max(worst, ratio)
        line = f"{case.name:38} {rows[0][0]:>9} " + " ".join(f"{t:9.5f}" for _, _, t in rows)
        line += f" {ratio:6.1f}"
        if args.memory:
            size, peak = peak_memory(case, top)
            line += f"  {peak / 2**20:7.1f} MiB ({peak / size:5.1f}x)"
        print(line, flush=True)
    print(f"worst ratio {worst:.1f} (linear ~8, quadratic ~64)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
