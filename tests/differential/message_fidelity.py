"""Message fidelity figure: how often imspatch's refusal text is upstream Glance's.

Draws random requests with the differential suite's strategies, sends each to
``imspatch.patch_image(..., rules=GLANCE)`` and to upstream Glance 33 (the
oracle), and, for every request both refuse with the same status, compares
the message.  Upstream's text is the webob body's detail, without the generic
status sentence webob puts in front of some statuses (a proxy adds that
sentence itself, through webob or as webob does).

Three figures per error code:

- ``equal``: the two texts are the same;
- ``1st line``: equal, or (``invalid_value``) equal to the first line of
  jsonschema's report, which is all imspatch gives of it;
- ``documented``: equal, or the difference is one that README's list of
  intentional differences names (``MESSAGE_INTENTIONAL`` in
  ``test_differential.py``, each with its reason): the schema dump, the
  escaped excerpt of a long or unprintable input, strict JSON's and the
  limits' own refusals, the 4-byte check of unchanged values, the admin
  check on ``add /owner``.  The differential suite fails on any other.

Usage, from a checkout with its venv (the Glance venv as for run.sh)::

    IMSPATCH_GLANCE_PYTHON=.venv-glance/bin/python \\
        .venv/bin/python tests/differential/message_fidelity.py 1500 [--seed 0] [--show 3] [--reproduce]

It is a measuring tool, not a test: it prints the figures and the first
differences of each code, and exits 0.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(HERE), str(ROOT)]

import test_differential as td  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("examples", type=int, nargs="?", default=1500)
    parser.add_argument("--show", type=int, default=3, help="differences shown per code")
    parser.add_argument("--seed", type=int, default=0, help="the same seed draws the same cases")
    parser.add_argument(
        "--reproduce", action="store_true", help="show whole requests, not only the two texts"
    )
    args = parser.parse_args()
    python = os.environ.get(td.ORACLE_ENV) or str(ROOT / ".venv-glance" / "bin" / "python")
    oracle = td.Oracle(python)
    refused: collections.Counter[str] = collections.Counter()
    equal: collections.Counter[str] = collections.Counter()
    first: collections.Counter[str] = collections.Counter()
    documented: collections.Counter[str] = collections.Counter()
    reasons: collections.Counter[str] = collections.Counter()
    differences: dict[str, list[tuple[str, str, str]]] = collections.defaultdict(list)

    @settings(
        max_examples=args.examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(args.seed)
    @given(case=td.cases())
    def measure(case: td.Case) -> None:
        up, us = oracle.patch(case), td.ours(case)
        if 200 in (up.status, us.status) or up.status != us.status:
            return
        code = us.code or "?"
        refused[code] += 1
        theirs, mine = td.upstream_detail(up.message), us.message.strip()  # as the suite does
        if theirs == mine:
            equal[code] += 1
            first[code] += 1
            documented[code] += 1
            return
        reason = next(
            (d.name for d in td.MESSAGE_INTENTIONAL if d.applies(case, theirs, mine, code)), None
        )
        if reason is not None:
            documented[code] += 1
            first[code] += code == "invalid_value" and td.first_line(theirs) == mine
            reasons[f"{code}: {reason}"] += 1
        else:
            differences[code].append((theirs, mine, td.reproducer(case, up, us)))

    try:
        measure()
    finally:
        oracle.close()
    total = sum(refused.values())
    print(f"{'code':28} {'refused':>7} {'equal':>7} {'1st line':>8} {'documented':>10}")
    for code in sorted(refused, key=lambda c: -refused[c]):
        row = f"{refused[code]:7} {equal[code]:7} {first[code]:8} {documented[code]:10}"
        print(f"{code:28} {row}")
    sums = [sum(c.values()) for c in (equal, first, documented)]
    print(f"{'all':28} {total:7} {sums[0]:7} {sums[1]:8} {sums[2]:10}")
    shares = ", ".join(
        f"{name} {n / max(1, total):.1%}"
        for name, n in zip(("equal", "equal on the first line", "as documented"), sums, strict=True)
    )
    print(f"of {total} refusals with the same status: {shares}")
    print("\ndocumented differences:")
    for reason, count in reasons.most_common():
        print(f"  {count:5}  {reason}")
    for code, items in sorted(differences.items(), key=lambda kv: -len(kv[1])):
        print(f"== {code}: {len(items)} undocumented")
        for theirs, mine, whole in items[: args.show]:
            if args.reproduce:
                print("  " + whole.replace("\n", "\n  "))
                continue
            print("  upstream:", repr(theirs)[:240])
            print("  imspatch:", repr(mine)[:240])


if __name__ == "__main__":
    main()
