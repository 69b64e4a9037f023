"""``python -m tests.mutants [--no-sweep] [--seeds 1 2] [--max-examples 200]``.

Runs ``conformance.check`` on every mutant and prints which are caught (and by
which rule), the kill rate and the time: the figures the README quotes.
``--no-sweep`` measures the random part alone.
"""

from __future__ import annotations

import argparse
import time

from imspatch import conformance

from . import MUTANTS


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutants")
    parser.add_argument("--no-sweep", action="store_true", help="the random part alone")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--max-examples", type=int, default=200)
    args = parser.parse_args()
    caught = runs = 0
    started = time.perf_counter()
    for mutant in MUTANTS:
        for seed in args.seeds:
            runs += 1
            began = time.perf_counter()
            try:
                conformance.check(
                    mutant.sut, rules=mutant.rules, admin=mutant.admin, seed=seed,
                    max_examples=args.max_examples, swept=not args.no_sweep,
                )  # fmt: skip
            except conformance.NonConformance as e:
                caught += 1
                took = time.perf_counter() - began
                print(f"caught  {mutant.name} (seed {seed}, {took:.1f} s): {e.mismatch.verdict}")
            else:
                print(f"MISSED  {mutant.name} (seed {seed})")
    took = time.perf_counter() - started
    part = "no sweep" if args.no_sweep else "the sweep"
    seeds = " ".join(map(str, args.seeds))
    print(
        f"{caught} of {runs} runs caught their mutant ({len(MUTANTS)} mutants, seeds {seeds}; "
        f"{part} and {args.max_examples} random requests) in {took:.0f} s"
    )
    return 0 if caught == runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
