"""Interleaved A/B of two imspatch checkouts against the floor, in one process.

    python benchmarks/ab.py /tmp/base .                  # base tree, new tree
    python benchmarks/ab.py /tmp/base . --workloads b,d --rounds 40 --extras 0,1000

Each tree's package is imported under a name of its own, so both run in the
same process on the same bodies; every round times the floor, A and B once
each (CPU time, GC on, as ``run.py``), in turn, so a drift of the machine
hits all three alike.  For each workload, dialect and rule set it prints the
median and the minimum of A/floor and B/floor over the rounds, and B/A.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

import engines as engines_mod
import workloads as wl


def load_tree(root: Path, name: str) -> ModuleType:
    """The ``imspatch`` package of the checkout *root*, imported as *name*."""
    package = root.resolve() / "imspatch"
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _sample(run: object, loops: int) -> float:
    gc.collect()
    start = time.process_time()
    for _ in range(loops):
        run()  # type: ignore[operator]
    return (time.process_time() - start) / loops


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path, help="checkout A (the base)")
    parser.add_argument("b", type=Path, help="checkout B (the change)")
    parser.add_argument("--workloads", default="a,b,c,d")
    parser.add_argument("--extras", default="0")
    parser.add_argument("--dialects", default="v2.0,v2.1")
    parser.add_argument("--rules", default="ims,glance")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--sample", type=float, default=0.02, help="seconds per sample")
    args = parser.parse_args(argv)

    trees = {"A": load_tree(args.a, "imspatch_a"), "B": load_tree(args.b, "imspatch_b")}
    sizes = {k: v for k, v in wl.WORKLOADS.items() if k in args.workloads.split(",")}
    extras = tuple(int(n) for n in args.extras.split(","))
    floor = engines_mod.available({"floor"})[0][0]
    print(f"{'case':24} {'A/floor med':>11} {'min':>6} {'B/floor med':>11} {'min':>6} "
          f"{'B/A med':>8} {'min':>6}")  # fmt: skip
    for case in wl.cases(sizes, extras):
        for dialect in args.dialects.split(","):
            for rules_name in args.rules.split(","):
                body = case.bodies[dialect]
                media_type = wl.MEDIA_TYPES[dialect]
                runs = {"floor": floor.factory(case, dialect, None)}
                for key, lib in trees.items():
                    rules = getattr(lib, rules_name.upper())
                    patch = lib.patch_image

                    def run(
                        patch: object = patch,
                        rules: object = rules,
                        image: object = case.image,
                        body: bytes = body,
                        media_type: str = media_type,
                    ) -> object:
                        return patch(image, body, media_type=media_type, rules=rules)  # type: ignore[operator]

                    if run() != case.result:
                        raise SystemExit(f"{key} gave a wrong result on {case.workload}")
                    runs[key] = run
                once = max(_sample(r, 1) for r in runs.values())
                loops = max(1, int(args.sample / max(once, 1e-7)))
                samples: dict[str, list[float]] = {k: [] for k in runs}
                for _ in range(args.rounds):
                    for key, call in runs.items():
                        samples[key].append(_sample(call, loops))
                f, a, b = samples["floor"], samples["A"], samples["B"]
                ra = [x / y for x, y in zip(a, f, strict=True)]
                rb = [x / y for x, y in zip(b, f, strict=True)]
                ba = [x / y for x, y in zip(b, a, strict=True)]
                label = f"{case.workload}+{case.extras} {dialect}/{rules_name}"
                print(
                    f"{label:24} {statistics.median(ra):11.3f} {min(a) / min(f):6.3f} "
                    f"{statistics.median(rb):11.3f} {min(b) / min(f):6.3f} "
                    f"{statistics.median(ba):8.3f} {min(b) / min(a):6.3f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
