"""Benchmark imspatch against the floor and its peers; check the targets.

    python benchmarks/run.py                 # full run, a few minutes on 2 cores
    python benchmarks/run.py --quick         # tiny sizes, seconds (the smoke test)
    python benchmarks/run.py --out DIR --no-plots --engines floor,imspatch

Writes ``results.md``, ``results.json`` and PNG plots (if matplotlib is
installed) to ``benchmarks/results/`` or ``--out``, and prints every target
with PASS/MISS and the measured ratio.  Stdlib only; the peers (jsonpatch,
jsonschema, pyjsonpatch, fastjsonpatch) and matplotlib are used where
installed and skipped otherwise.  Exit status 0, or 1 with ``--strict`` if a
target is missed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import engines as engines_mod
import harness
import report
import workloads as wl

HERE = Path(__file__).resolve().parent
imspatch = wl.load_imspatch()
RULES = {"ims": imspatch.IMS, "glance": imspatch.GLANCE}


#: the targets rest on these: at least 3 samples everywhere.  To keep a full
#: run to a few minutes, the peers get one sample where a call takes over a
#: second, and run on the largest workload only on the smallest and the
#: largest image.
ESSENTIAL = ("floor", "imspatch")


def _series(
    case: wl.Case, engines: list[engines_mod.Engine], skip_peers: bool = False
) -> list[harness.Series]:
    out: list[harness.Series] = []
    for engine in engines:
        essential = engine.key in ESSENTIAL
        if skip_peers and not essential:
            continue
        for dialect in engine.dialects:
            for rules_name in RULES if engine.per_rules else ("-",):
                rules = RULES["ims" if rules_name == "-" else rules_name]
                run = engine.factory(case, dialect, rules)
                out.append(
                    harness.Series(engine.key, engine.label, dialect, rules_name, run, essential)
                )
    return out


def _verify(case: wl.Case, series: list[harness.Series]) -> None:
    """Every engine must return the expected image and leave the input alone."""
    snapshot = dict(case.image)
    for s in series:
        s.first, result = harness.timed(s.run)
        if result != case.result:
            raise SystemExit(
                f"{s.label} ({s.dialect}, {s.rules}) gave a wrong result on "
                f"{case.workload}+{case.extras}"
            )
        if result is case.image or case.image != snapshot or list(case.image) != list(snapshot):
            raise SystemExit(f"{s.label} ({s.dialect}, {s.rules}) touched the input image")


def _ratio_target(
    name: str, values: list[tuple[float, str]], threshold: float, *, at_most: bool
) -> dict[str, Any]:
    """A target over several measurements; the worst one decides."""
    worst, where = (max if at_most else min)(values)
    passed = worst <= threshold if at_most else worst >= threshold
    return {
        "name": name,
        "measured": worst,
        "measured_text": f"{worst:.2f}{report.X} (worst: {where})",
        "threshold": threshold,
        "threshold_text": ("≤ " if at_most else "≥ ") + f"{threshold:g}{report.X}",
        "passed": passed,
    }


def targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    res = report.Results(data)
    views = report.VIEWS
    extras_all: list[int] = data["extras"]
    big = max(extras_all)
    out: list[dict[str, Any]] = []

    def ims_over(engine: str, workload: str, extras: int, d: str, r: str) -> float | None:
        ims = res.us("imspatch", workload, extras, d, r)
        other = res.us(engine, workload, extras, d, r)
        return None if ims is None or other is None else ims / other

    for workloads, limit in ((("a", "b"), 1.3), (("c", "d"), 1.5)):
        for workload in workloads:
            values = [
                (ratio, f"{d}/{r}/+{n}")
                for d, r in views
                for n in extras_all
                if (ratio := ims_over("floor", workload, n, d, r)) is not None
            ]
            if values:
                out.append(
                    _ratio_target(f"imspatch / floor, {workload}", values, limit, at_most=True)
                )
    for peer, limit in (
        ("jsonpatch_inplace", 3),
        ("jsonpatch_copy", 10),
        ("jsonpatch_jsonschema", 20),
    ):
        values = [
            (1 / ratio, f"{d}/{r}")
            for d, r in views
            if (ratio := ims_over(peer, "b", 0, d, r)) is not None
        ]
        if values:
            out.append(
                _ratio_target(
                    f"{res.labels[peer]} / imspatch, b, sample image", values, limit, at_most=False
                )
            )
    # linear in operations: d / c
    n_c, n_d = data["workloads"].get("c"), data["workloads"].get("d")
    if n_c and n_d:
        expect = n_d / n_c
        values = []
        floors = []  # the floor's own d / c: what CPython gives 100x the objects
        for d, r in views:
            tc, td = res.us("imspatch", "c", 0, d, r), res.us("imspatch", "d", 0, d, r)
            fc, fd = res.us("floor", "c", 0, d, r), res.us("floor", "d", 0, d, r)
            if tc and td:
                values.append((td / tc, f"{d}/{r}"))
            if fc and fd:
                floors.append(fd / fc)
        if values:
            lo, hi = min(values), max(values)
            floor_text = f"; the floor's: {min(floors):.1f} to {max(floors):.1f}" if floors else ""
            out.append(
                {
                    "name": "imspatch linear in operations: d / c, sample image",
                    "measured": [lo[0], hi[0]],
                    "measured_text": f"{lo[0]:.1f} ({lo[1]}) to {hi[0]:.1f} ({hi[1]}){floor_text}",
                    "threshold": [0.8 * expect, 1.2 * expect],
                    "threshold_text": f"{0.8 * expect:g} to {1.2 * expect:g}",
                    "passed": 0.8 * expect <= lo[0] and hi[0] <= 1.2 * expect,
                }
            )
    # independent of image size beyond the shallow copy: compare the slopes
    if big > 0:
        for workload in ("a", "b"):
            values = []
            for d, r in views:
                i0, i1 = (
                    res.us("imspatch", workload, 0, d, r),
                    res.us("imspatch", workload, big, d, r),
                )
                f0, f1 = res.us("floor", workload, 0, d, r), res.us("floor", workload, big, d, r)
                if i0 and i1 and f0 and f1 and f1 > f0:
                    values.append(((i1 - i0) / (f1 - f0), f"{d}/{r}"))
            if values:
                t = _ratio_target(
                    f"imspatch size cost / floor size cost (+0 → +{big:,} props), {workload}",
                    values,
                    1.25,
                    at_most=True,
                )
                out.append(t)
    if data.get("memory"):
        values = [
            (m["vs_floor"], f"{m['dialect']}/{m['rules']}/+{m['extras']}")
            for m in data["memory"]
            if m["engine"] == "imspatch"
        ]
        if values:
            out.append(_ratio_target("imspatch peak memory / floor's, d", values, 2, at_most=True))
    imp = data.get("import")
    if imp:
        extra = imp["extra_min_ms"]
        out.append(
            {
                "name": "from imspatch import patch_image, minus import json",
                "measured": extra,
                "measured_text": f"{extra:+.1f} ms (min; median {imp['extra_median_ms']:+.1f} ms)",
                "threshold": 15,
                "threshold_text": "≤ 15 ms",
                "passed": extra <= 15,
            }
        )
    return out


def _memory(cases: list[wl.Case], engines: list[engines_mod.Engine]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for case in cases:
        keep = [e for e in engines if e.key in ESSENTIAL]
        series = _series(case, keep)
        peaks = {(s.engine, s.dialect, s.rules): harness.peak_memory(s.run) for s in series}
        for (engine, dialect, rules), peak in peaks.items():
            floor = peaks[("floor", dialect, "-")]
            rows.append(
                {
                    "workload": case.workload,
                    "extras": case.extras,
                    "engine": engine,
                    "dialect": dialect,
                    "rules": rules,
                    "peak_bytes": peak,
                    "vs_floor": peak / floor,
                }
            )
    return rows


def _commit() -> str:
    """The checkout's commit (``+dirty`` when the core has local changes)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=wl.ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "imspatch"],
            cwd=wl.ROOT,
            check=False,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return (head or "?") + ("+dirty" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one sample (smoke)")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    parser.add_argument("--no-plots", action="store_true")
    parser.add_argument("--engines", help="comma-separated engine keys (default: all installed)")
    parser.add_argument("--workloads", help="comma-separated workloads, e.g. a,b")
    parser.add_argument(
        "--clock",
        choices=sorted(harness.CLOCKS),
        default="cpu",
        help="cpu: the process's CPU time (default; robust on a busy machine); wall: wall time",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    args = parser.parse_args(argv)

    harness.use_clock(args.clock)
    sizes = wl.QUICK_WORKLOADS if args.quick else wl.WORKLOADS
    if args.workloads:
        sizes = {k: v for k, v in sizes.items() if k in args.workloads.split(",")}
    extras = wl.QUICK_EXTRAS if args.quick else wl.EXTRAS
    budget = (
        harness.Budget(0.0, 1, quick=True)
        if args.quick
        else harness.Budget(min_sample=0.02, max_repeats=7)
    )
    wanted = set(args.engines.split(",")) | {"floor"} if args.engines else None
    engines, skipped = engines_mod.available(wanted)
    print(f"engines: {', '.join(e.label for e in engines)}", file=sys.stderr)
    for key, why in skipped.items():
        print(f"skipped {key}: {why}", file=sys.stderr)

    timings: list[dict[str, Any]] = []
    memory_cases: list[wl.Case] = []
    largest = max(sizes, key=lambda k: sizes[k])
    for case in wl.cases(sizes, extras):
        skip = case.workload == largest and case.extras not in (min(extras), max(extras))
        series = _series(case, engines, skip_peers=skip and not args.quick)
        _verify(case, series)
        harness.measure(series, budget)
        for s in series:
            timings.append(
                {
                    "workload": case.workload,
                    "n_ops": case.n_ops,
                    "extras": case.extras,
                    "image_keys": case.image_keys,
                    "engine": s.engine,
                    "dialect": s.dialect,
                    "rules": s.rules,
                    "median_us": s.median * 1e6,
                    "best_us": s.best * 1e6,
                    "samples": len(s.samples),
                    "loops": s.loops,
                    "patches_per_s": 1 / s.median,
                    "ops_per_s": case.n_ops / s.median,
                }
            )
        ims = [s for s in series if s.engine == "imspatch"]
        floor = {s.dialect: s.median for s in series if s.engine == "floor"}
        print(
            f"{case.workload} ({case.n_ops} ops) +{case.extras:<6} "
            + "  ".join(
                f"ims {s.dialect}/{s.rules}: {s.median * 1e6:,.1f} µs "
                f"({s.median / floor[s.dialect]:.2f}{report.X} floor)"
                for s in ims
            ),
            file=sys.stderr,
        )
        if case.workload == largest and case.extras in (0, max(extras)):
            memory_cases.append(case)

    data: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": "python " + shlex.join(["benchmarks/run.py", *(argv or sys.argv[1:])]),
        "quick": args.quick,
        "clock": args.clock,
        "machine": harness.machine(),
        "imspatch": {"version": getattr(imspatch, "__version__", "?"), "commit": _commit()},
        "workloads": sizes,
        "extras": list(extras),
        "engine_order": [e.key for e in engines],
        "labels": {e.key: e.label for e in engines},
        "versions": {e.key: e.version for e in engines},
        "per_rules": [e.key for e in engines if e.per_rules],
        "skipped": skipped,
        "schemas": {name: engines_mod.schema_for(rules)[1] for name, rules in RULES.items()}
        if any(e.key == "jsonpatch_jsonschema" for e in engines)
        else {},
        "timings": timings,
    }
    if any(e.key == "imspatch" for e in engines):
        print("measuring peak memory ...", file=sys.stderr)
        data["memory"] = _memory(memory_cases, engines)
        print("measuring import time ...", file=sys.stderr)
        data["import"] = harness.import_times(
            "imspatch",
            "json",
            3 if args.quick else 25,
            module_code="from imspatch import patch_image",
        )
    data["targets"] = targets(data)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    data["plots"] = [] if args.no_plots else report.plots(data, out)
    (out / "results.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    (out / "results.md").write_text(report.markdown(data), encoding="utf-8")

    print()
    print(
        "\n".join(report.headline(report.Results(data), "b", "v2.1", "ims")) if "b" in sizes else ""
    )
    print()
    if args.quick:
        print("(quick mode: the numbers below are not meaningful)")
    for t in data["targets"]:
        status = "PASS" if t["passed"] else "MISS"
        print(f"[{status}] {t['name']}: {t['measured_text']} (target {t['threshold_text']})")
    print(
        f"\nwrote {out / 'results.md'}, {out / 'results.json'}"
        + "".join(f", {out / p}" for p in data["plots"])
    )
    missed = [t for t in data["targets"] if not t["passed"]]
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
