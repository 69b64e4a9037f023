"""Where imspatch's time goes: per-phase timings and a cProfile listing.

    python benchmarks/profile_imspatch.py b            # workload b, sample image, v2.1, ims
    python benchmarks/profile_imspatch.py d --dialect v2.0 --rules glance --extras 0
    python benchmarks/profile_imspatch.py a --top 25 --pyinstrument

The phase split reads the cumulative time of the core's phase functions
(decode, parse, apply, finish) from the profile, by name, when they exist; it
is a diagnostic for the core's author, not an API.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import pstats
import timeit
from pathlib import Path
from typing import Any

import engines as engines_mod
import workloads as wl

imspatch = wl.load_imspatch()
#: the core's phase functions, reported by cumulative time when present
PHASES = (
    "dialect_of",
    "decode_body",
    "_loads",
    "patch",
    "parse_element",
    "check_duplicates",
    "apply_step",
    "finish",
)
RULES = {"ims": imspatch.IMS, "glance": imspatch.GLANCE}


def _best(stmt: Any, budget: float = 0.3) -> float:
    timer = timeit.Timer(stmt)
    loops, _ = timer.autorange()
    loops = max(1, int(loops * budget / 0.2))
    return min(timer.repeat(repeat=5, number=loops)) / loops


def phases(case: wl.Case, dialect: str, rules: Any) -> list[tuple[str, float]]:
    """Best time of each phase, next to the floor's equivalents (µs)."""
    body = case.bodies[dialect]
    media_type = wl.MEDIA_TYPES[dialect]
    out: list[tuple[str, float]] = []
    floor = engines_mod.available({"floor"})[0][0].factory(case, dialect, rules)
    whole, loads = _best(floor), _best(lambda: json.loads(body))
    out.append(("floor: whole request", whole))
    out.append(("floor: json.loads", loads))
    out.append(("floor: the rest (whole - json.loads)", whole - loads))
    out.append(
        (
            "imspatch: patch_image",
            _best(
                lambda: imspatch.patch_image(case.image, body, media_type=media_type, rules=rules)
            ),
        )
    )
    decode_body = importlib.import_module("imspatch._decode").decode_body
    patch = importlib.import_module("imspatch._patch").patch
    limits = imspatch.DEFAULT_LIMITS
    decoded = decode_body(media_type, body, limits)
    out.append(("imspatch: decode_body", _best(lambda: decode_body(media_type, body, limits))))
    out.append(
        (
            "imspatch: parse, apply, finish in one pass (patch)",
            _best(lambda: patch(case.image, decoded, rules, limits, False)),
        )
    )
    ops = imspatch.parse_patch(body, media_type=media_type, rules=rules)
    out.append(
        (
            "imspatch: parse_patch (decode + parse)",
            _best(lambda: imspatch.parse_patch(body, media_type=media_type, rules=rules)),
        )
    )
    out.append(
        (
            "imspatch: apply_patch (re-check + apply)",
            _best(lambda: imspatch.apply_patch(case.image, ops, rules=rules)),
        )
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", choices=sorted(wl.WORKLOADS))
    parser.add_argument("--extras", type=int, default=0)
    parser.add_argument("--dialect", choices=sorted(wl.MEDIA_TYPES), default="v2.1")
    parser.add_argument("--rules", choices=sorted(RULES), default="ims")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=2.0, help="profiling time")
    parser.add_argument("--pyinstrument", action="store_true", help="also run pyinstrument")
    args = parser.parse_args(argv)

    case = next(wl.cases({args.workload: wl.WORKLOADS[args.workload]}, (args.extras,)))
    rules = RULES[args.rules]
    body = case.bodies[args.dialect]
    media_type = wl.MEDIA_TYPES[args.dialect]

    def run() -> dict[str, Any]:
        return imspatch.patch_image(case.image, body, media_type=media_type, rules=rules)

    assert run() == case.result
    print(
        f"# workload {args.workload} ({case.n_ops} ops), +{args.extras} props, "
        f"{args.dialect}, {args.rules}\n"
    )
    print("## phases (best of 5, µs)\n")
    for name, seconds in phases(case, args.dialect, rules):
        print(f"{name:<40} {seconds * 1e6:>12,.2f}")

    once = _best(run, 0.05)
    loops = max(1, int(args.seconds / once))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(loops):
        run()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    print("\n## phases by cumulative time (cProfile)\n")
    for (file, line, func), (_cc, nc, _tt, ct, _callers) in sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda kv: -kv[1][3],
    ):
        if func in PHASES and "imspatch" in file:
            print(
                f"{100 * ct / total:6.1f} %  {func} ({Path(file).name}:{line}), "
                f"{nc / loops:g} calls/patch"
            )
    print(f"\n## cProfile, {loops} calls, by own time (tottime)\n")
    print(f"{'own %':>6} {'cum %':>6} {'calls/patch':>12}  function")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])  # type: ignore[attr-defined]
    for (file, line, func), (_cc, nc, tt, ct, _callers) in rows[: args.top]:
        where = f"{Path(file).name}:{line}" if file != "~" else "builtin"
        print(
            f"{100 * tt / total:6.1f} {100 * ct / total:6.1f} {nc / loops:12.1f}  {func} ({where})"
        )
    if args.pyinstrument:
        try:
            pyinstrument = importlib.import_module("pyinstrument")
        except ImportError:
            print("\n(pyinstrument not installed)")
            return 0
        p = pyinstrument.Profiler(interval=0.0001)
        p.start()
        for _ in range(loops):
            run()
        p.stop()
        print(p.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
